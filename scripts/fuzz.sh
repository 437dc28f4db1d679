#!/usr/bin/env bash
# fuzz.sh runs short fuzz sessions, one fuzz target at a time (go test accepts
# only one package and one target per -fuzz run).
#
# Usage: scripts/fuzz.sh FUZZTIME PKG:FuzzName...
#   e.g. scripts/fuzz.sh 10s ./dialplan:FuzzLoad ./configs:FuzzLoad
#
# A target that does not exist fails the run: `go test -fuzz` itself only
# warns, and a renamed target would otherwise stop being fuzzed unnoticed.
# New corpus entries go to the Go build cache (testdata/fuzz is only written
# when a failure is found), so the repository stays clean.
set -euo pipefail

if (($# < 1)); then
	echo "usage: $0 FUZZTIME PKG:FuzzName..." >&2
	exit 2
fi
fuzztime=$1
shift

failed=()
for target in "$@"; do
	pkg=${target%%:*}
	name=${target#*:}
	if [[ $pkg == "$target" || -z $pkg || -z $name ]]; then
		echo "fuzz: bad target '$target' (want PKG:FuzzName)" >&2
		failed+=("$target")
		continue
	fi
	echo "fuzz: $pkg $name for $fuzztime"
	out=$(mktemp)
	# -fuzzminimizetime 100x: minimising a new input may otherwise run past the
	# deadline on a loaded machine and stall the run.
	run() { go test -run '^$' -fuzz "^${name}\$" -fuzztime "$fuzztime" -fuzzminimizetime 100x "$pkg" 2>&1 | tee "$out"; }
	ok=true
	if ! run; then
		ok=false
		# Go's fuzzing engine sometimes ends a run with "context deadline
		# exceeded" when the time is up while a worker is busy; a real failure
		# always writes its input under testdata/fuzz ("Failing input written").
		# Such a run is retried, at most twice; a real failure is never retried.
		for retry in 1 2; do
			grep -q 'context deadline exceeded' "$out" && ! grep -q 'Failing input written' "$out" || break
			echo "fuzz: $pkg $name: the fuzzing engine timed out without a failing input; retry $retry" >&2
			if run; then
				ok=true
				break
			fi
		done
	fi
	if ! $ok; then
		failed+=("$target")
	elif grep -q 'no fuzz tests to fuzz' "$out"; then
		echo "fuzz: $pkg has no fuzz target $name" >&2
		failed+=("$target")
	fi
	rm -f "$out"
done

if ((${#failed[@]} > 0)); then
	echo "fuzz: FAILED: ${failed[*]}" >&2
	exit 1
fi
