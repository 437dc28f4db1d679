#!/usr/bin/env bash
# bench-sfu.sh runs the standard SFU load set of docs/benchmarks.md with
# cmd/dialroom-load in spawn mode: every set starts its own server (fresh data
# directory, free loopback port), measures, and stops it.
#
# The set, at 50 Opus-sized packets/s from every member:
#   rooms of 2, 5 and 10 at 10 and 20 participants (how cost grows with room size),
#   rooms of 10 at 10, 50 and 100 participants (how it grows with room count,
#   and where loss starts on this machine).
# Each set is one server; its steps add rooms, so the step-to-step growth is
# the cost of the added participants.
#
# Usage: scripts/bench-sfu.sh [extra dialroom-load flags, e.g. --video]
#   RUNS=3 scripts/bench-sfu.sh         repeat the whole set (quote medians)
#   DURATION=5s WINDOWS=3 WARMUP=2s     per-step measurement (the defaults)
#   BENCH_DIR=.bench                    where results go (the Makefile's)
#
# One pass takes about 3 minutes on 2 cores. Results: BENCH_DIR/sfu-STAMP.txt
# (summaries and markdown rows) and sfu-STAMP.log (progress, server PIDs).
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."

GO=${GO:-go}
BENCH_DIR=${BENCH_DIR:-.bench}
RUNS=${RUNS:-1}
DURATION=${DURATION:-5s}
WINDOWS=${WINDOWS:-3}
WARMUP=${WARMUP:-2s}

sets=(
	"--size 2 --rooms 5,10"
	"--size 5 --rooms 2,4"
	"--size 10 --rooms 1,5,10"
)

log() { printf 'bench-sfu: %s\n' "$*" >&2; }

mkdir -p "$BENCH_DIR" bin
stamp=$(date +%Y%m%d-%H%M%S)
out="$BENCH_DIR/sfu-$stamp.txt"
progress="$BENCH_DIR/sfu-$stamp.log"

log "building bin/dialroom and bin/dialroom-load"
"$GO" build -trimpath -o bin/dialroom ./cmd/dialroom
"$GO" build -trimpath -o bin/dialroom-load ./cmd/dialroom-load

{
	echo "# dialroom SFU load, $(date -u '+%Y-%m-%d %H:%M UTC'), $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg)"
	echo "# $("$GO" version), commit $(git rev-parse --short HEAD 2>/dev/null || echo unknown)"
} >>"$out"

for run in $(seq "$RUNS"); do
	for set in "${sets[@]}"; do
		log "run $run/$RUNS: $set $*"
		echo "## run $run: $set $*" >>"$out"
		# shellcheck disable=SC2086 # $set is a list of flags on purpose
		bin/dialroom-load --spawn --build=false --markdown \
			--duration "$DURATION" --windows "$WINDOWS" --warmup "$WARMUP" $set "$@" \
			2>>"$progress" | tee -a "$out"
	done
done
log "wrote $out"
