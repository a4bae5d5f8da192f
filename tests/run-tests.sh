#!/usr/bin/env bash
# Runs each test program (cmocka executables and *.sh scripts), shows its
# output, and ends with one summary line counting test cases.  Exits
# non-zero when any test case or any program failed.
set -uo pipefail

passed=0
failed=0
failed_programs=()
log=$(mktemp)
trap 'rm -f "$log"' EXIT

for prog in "$@"; do
	name=${prog##*/tests/}
	echo "=== $name"
	start=$(date +%s)
	# Drill state (Kubernetes pending undos) per program: never the user's
	# ~/.local/state, never shared with a concurrent run.
	DRILLRIG_STATE_DIR=$(mktemp -d "${TMPDIR:-/tmp}/drillrig-test-state.XXXXXX")
	export DRILLRIG_STATE_DIR
	if [[ $prog == *.sh ]]; then
		bash "$prog" 2>&1 | tee "$log"
	else
		"$prog" 2>&1 | tee "$log"
	fi
	rc=${PIPESTATUS[0]}
	rm -rf "$DRILLRIG_STATE_DIR"
	end=$(date +%s)
	# cmocka: "[  PASSED  ] 7 test(s)." / "[  FAILED  ] 1 test(s), listed below:"
	p=$(grep -aoE '^\[  PASSED  \] [0-9]+' "$log" | awk '{s+=$NF} END {print s+0}')
	f=$(grep -aoE '^\[  FAILED  \] [0-9]+' "$log" | awk '{s+=$NF} END {print s+0}')
	if [ "$p" -eq 0 ] && [ "$f" -eq 0 ]; then
		# A script without cmocka output counts as one case.
		if [ "$rc" -eq 0 ]; then p=1; else f=1; fi
	elif [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then
		f=1 # crashed or exited non-zero after its last summary
	fi
	passed=$((passed + p))
	failed=$((failed + f))
	if [ "$rc" -ne 0 ] || [ "$f" -ne 0 ]; then
		failed_programs+=("$name (exit $rc)")
	fi
	echo "--- $name: $p passed, $f failed, $((end - start)) s"
done

echo
if [ ${#failed_programs[@]} -gt 0 ]; then
	echo "failed programs:"
	printf '  %s\n' "${failed_programs[@]}"
fi
echo "tests: $passed passed, $failed failed"
[ "$failed" -eq 0 ] && [ ${#failed_programs[@]} -eq 0 ]
