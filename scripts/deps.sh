#!/usr/bin/env bash
# deps.sh installs the Debian packages that building and testing dialroom need,
# and checks that a recent enough Go is on PATH.
#
# It installs only what is missing (checked with dpkg-query), runs
# `apt-get update` at most once and only when something is missing, and works
# as root or through sudo. It never upgrades or removes anything.
#
# Usage: scripts/deps.sh [run|test] (from anywhere; test is the default)
#        DEPS_EXTRA="tshark" scripts/deps.sh   (add packages for one run)
set -euo pipefail

# The packages, one a line, each with the reason it is here. To add one, add a
# line; keep the reason. `run` packages build and serve; `test` packages are the
# real peers of the test suite. They are kept apart because some test peers are
# servers of their own: Debian may start a Kamailio service on 5060, the SIP
# port `dialroom serve` uses, so `make run` must not install it.
run_packages=(
	make            # the Makefile; minimal CI images lack it
	ca-certificates # HTTPS to the Go module proxy
	gcc             # cgo: libopus bindings and mattn/go-sqlite3
	pkg-config      # cgo: finds the libopus flags (#cgo pkg-config)
	libopus-dev     # Opus encoder/decoder for the media package
	libopusfile-dev # Opus file reading (prompts)
	poppler-utils   # pdftoppm: documents to page images (materials)
)
test_packages=(
	chromium        # the real browser peer of the e2e tests
	iproute2        # `ip link set lo up` inside the e2e network namespace
	util-linux      # unshare: the e2e network namespace
	sox             # makes and inspects test audio
	sip-tester      # SIPp: the phone callers of the sip package's tests
	baresip         # a real softphone for the telephone-side tests
	kamailio        # the carrier (registrar and proxy) of the telephone-side e2e tests
	kamailio-tls-modules # the carrier's SIP over TLS listener (tests of TLS trunks)
)

# Usage: scripts/deps.sh [run|test] — run: what building and serving need;
# test (the default): that plus the test peers.
profile=${1:-test}
case $profile in
run) packages=("${run_packages[@]}") ;;
test) packages=("${run_packages[@]}" "${test_packages[@]}") ;;
*)
	printf 'deps: unknown profile %q (want run or test)\n' "$profile" >&2
	exit 2
	;;
esac

# The minimum Go release (major.minor); go.mod asks for it.
readonly go_min_major=1 go_min_minor=26

log() { printf 'deps: %s\n' "$*" >&2; }
die() {
	log "error: $*"
	exit 1
}

# shellcheck disable=SC2206 # word splitting of DEPS_EXTRA is the point
packages+=(${DEPS_EXTRA:-})

missing=()
for p in "${packages[@]}"; do
	if ! dpkg-query -W -f='${db:Status-Status}' "$p" 2>/dev/null | grep -qx installed; then
		missing+=("$p")
	fi
done

if ((${#missing[@]} > 0)); then
	log "installing: ${missing[*]}"
	if [[ $(id -u) -eq 0 ]]; then
		as_root=()
	elif command -v sudo >/dev/null 2>&1; then
		as_root=(sudo)
	else
		die "not root and no sudo; install these packages by hand: ${missing[*]}"
	fi
	if ! command -v apt-get >/dev/null 2>&1; then
		die "apt-get not found (this script supports Debian and derivatives); install: ${missing[*]}"
	fi
	# The index may be stale or absent (fresh containers): refresh it once.
	"${as_root[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -qq
	"${as_root[@]}" env DEBIAN_FRONTEND=noninteractive \
		apt-get install -y -qq --no-install-recommends "${missing[@]}" </dev/null
	log "installed: ${missing[*]}"
else
	log "all ${#packages[@]} packages present"
fi

# Go is not a Debian package here: bookworm's golang is far too old.
if ! command -v go >/dev/null 2>&1; then
	die "go not found on PATH; install Go >= ${go_min_major}.${go_min_minor} from https://go.dev/dl/ (e.g. into /usr/local/go) and add its bin directory to PATH"
fi
gover=$(go env GOVERSION 2>/dev/null || true) # e.g. go1.26.8, go1.27rc1
if [[ ! $gover =~ ^go([0-9]+)\.([0-9]+) ]]; then
	die "cannot tell the Go version (go env GOVERSION said '${gover}'); need Go >= ${go_min_major}.${go_min_minor}"
fi
major=${BASH_REMATCH[1]} minor=${BASH_REMATCH[2]}
if ((major < go_min_major || (major == go_min_major && minor < go_min_minor))); then
	die "$(command -v go) is ${gover}; need Go >= ${go_min_major}.${go_min_minor} (https://go.dev/dl/)"
fi
log "go: ${gover} ($(command -v go))"
