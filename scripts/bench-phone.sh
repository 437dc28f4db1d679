#!/usr/bin/env bash
# bench-phone.sh runs issue 4's phone-leg load of docs/benchmarks.md with
# cmd/dialroom-load in phone mode: each set spawns its own server with SIP on a
# free loopback port (the tool writes the config and a dialplan in which
# 127.0.0.1 is a trunk and every issued number routes to its conference).
#
# The sets:
#   ramp   rooms of 10 (8 SIP/RTP phone legs + 2 pion browsers), one or two
#          phones talking per room at a time, the operator admitting every
#          phone over its WebSocket; steps of PHONES legs on one server. The
#          goal per step: media clock p99 lateness < 5 ms, no skipped ticks,
#          no phone frame lost; the ramp stops after the first step where the
#          server no longer keeps up (< 90% of frames, > 5% skipped ticks).
#          Reports server CPU
#          and memory per leg, clock lateness p50/p99, phone loss and the
#          phone → browser latency (tone onset → first Opus packet).
#   setup  SIPp UAC, INVITE → 200 → ACK → BYE on a direct route at SETUP_RATES
#          calls/s (callers wait in the lobby, nobody admits them), then the
#          same scenario against a SIPp UAS on the same machine.
#
# Usage: scripts/bench-phone.sh [ramp] [setup]   (default: both)
#   RUNS=3                       repeat (quote medians across runs)
#   PHONES=80,160,320,480,640,800,1000
#   SETUP_RATES=50,100,200,400,800,1600
#   DURATION=5s WINDOWS=3 WARMUP=3s
#   BENCH_DIR=.bench             where results go (the Makefile's)
#   DIALROOM_PPROF=127.0.0.1:6060  profile the spawned server (see docs/benchmarks.md)
#   SERVER_CPUS=1 LOAD_CPUS=0    pin the server (its GOMAXPROCS = its CPUs) and the
#                                load generator to disjoint CPUs: the ramp's capacity
#                                is then per server core, without the load competing
#                                (docs/benchmarks.md, "one server core"); empty: no pinning
#   LOAD_PROFILE=FILE            the load generator's own CPU profile (go tool pprof)
#   PHONE_CODEC=opus|pcmu        the spawned server's webrtc.phone_codec (default opus)
#   SERVER_NICE=0                the server's nice setting (-10: the kernel runs it before the
#                                load generator on shared cores; docs/benchmarks.md)
#   ICE_NETWORKS=127.0.0.1       the server's webrtc.ice_networks (default 127.0.0.1, the one
#                                address the simulated browsers reach; "" = every interface's)
#   PHONE_WIRE=pcmu|g722         what the simulated phones speak (default pcmu); g722
#                                makes every room wideband (docs/benchmarks.md)
#
# One pass takes 2–5 minutes on 2 cores (the ramp stops where the server
# saturates). Results: BENCH_DIR/phone-STAMP.txt (tables, markdown rows) and
# phone-STAMP.log (progress).
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."

GO=${GO:-go}
BENCH_DIR=${BENCH_DIR:-.bench}
RUNS=${RUNS:-1}
PHONES=${PHONES:-80,160,320,480,640,800,1000}
SETUP_RATES=${SETUP_RATES:-50,100,200,400,800,1600}
DURATION=${DURATION:-5s}
WINDOWS=${WINDOWS:-3}
WARMUP=${WARMUP:-3s}
SERVER_CPUS=${SERVER_CPUS:-}
LOAD_CPUS=${LOAD_CPUS:-}
LOAD_PROFILE=${LOAD_PROFILE:-}
PHONE_CODEC=${PHONE_CODEC:-opus}
PHONE_WIRE=${PHONE_WIRE:-pcmu}
ICE_NETWORKS=${ICE_NETWORKS-127.0.0.1}
SERVER_NICE=${SERVER_NICE:-0}

pin=()
if [[ -n $SERVER_CPUS ]]; then
	pin+=(--server-cpus "$SERVER_CPUS")
fi
if [[ -n $LOAD_CPUS ]]; then
	pin+=(--load-cpus "$LOAD_CPUS")
fi

sets=("$@")
if ((${#sets[@]} == 0)); then
	sets=(ramp setup)
fi

log() { printf 'bench-phone: %s\n' "$*" >&2; }

# Two sockets per leg on the server, one per 50 legs here, the browsers' own:
# 1,000 legs need a few thousand descriptors.
ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)"

mkdir -p "$BENCH_DIR" bin
stamp=$(date +%Y%m%d-%H%M%S)
out="$BENCH_DIR/phone-$stamp.txt"
progress="$BENCH_DIR/phone-$stamp.log"

log "building bin/dialroom and bin/dialroom-load"
"$GO" build -trimpath -o bin/dialroom ./cmd/dialroom
"$GO" build -trimpath -o bin/dialroom-load ./cmd/dialroom-load

{
	echo "# dialroom phone load, $(date -u '+%Y-%m-%d %H:%M UTC'), $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg)"
	echo "# $("$GO" version), commit $(git rev-parse --short HEAD 2>/dev/null || echo unknown)"
} >>"$out"

for run in $(seq "$RUNS"); do
	for set in "${sets[@]}"; do
		case $set in
		ramp)
			args=(--phones "$PHONES" --duration "$DURATION" --windows "$WINDOWS" --warmup "$WARMUP" --markdown
				--phone-codec "$PHONE_CODEC" --phone-wire "$PHONE_WIRE" --ice-networks "$ICE_NETWORKS" --server-nice "$SERVER_NICE" "${pin[@]}")
			if [[ -n $LOAD_PROFILE ]]; then
				args+=(--cpuprofile "$LOAD_PROFILE")
			fi ;;
		setup)
			if ! command -v sipp >/dev/null; then
				log "sipp not installed (make deps): setup rate skipped"
				continue
			fi
			args=(--sipp-rates "$SETUP_RATES" --sipp-duration "$DURATION" "${pin[@]}") ;;
		*)
			log "unknown set $set (ramp, setup)"; exit 2 ;;
		esac
		log "run $run/$RUNS: $set ${args[*]}"
		echo "## run $run: $set ${args[*]} (load average $(cut -d' ' -f1-3 /proc/loadavg))" >>"$out"
		bin/dialroom-load --spawn --build=false "${args[@]}" 2>>"$progress" | tee -a "$out"
	done
done
log "wrote $out"
