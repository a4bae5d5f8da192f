#!/usr/bin/env bash
# run-fuzz.sh SECONDS BUILD_DIR TARGET...: runs each libFuzzer target
# BUILD_DIR/fuzz_<t> for SECONDS on BUILD_DIR/corpus/<t> (seeded by
# make-seeds.sh; libFuzzer adds what it finds), with ASan leak checks on.
# A crash, leak or timeout leaves its reproducer in tests/fuzz/crashes/<t>/
# and fails the run.  Prints one line per target and a summary table with
# executions per second (the figures docs/security.md quotes).
set -uo pipefail

secs=$1
build=$2
shift 2
src=$(cd "$(dirname "$0")/../.." && pwd)
seeds=$(mktemp -d)
trap 'rm -rf "$seeds"' EXIT
"$src/tests/fuzz/make-seeds.sh" "$seeds" || exit 1

failed=0
table=()
for t in "$@"; do
	corpus="$build/corpus/$t"
	crashes="$src/tests/fuzz/crashes/$t"
	log="$build/log/$t.log"
	mkdir -p "$corpus" "$crashes" "$(dirname "$log")"
	dict=()
	[ -f "$src/tests/fuzz/$t.dict" ] && dict=(-dict="$src/tests/fuzz/$t.dict")
	echo "fuzz: $t for ${secs}s"
	ASAN_OPTIONS=detect_leaks=1:abort_on_error=0 \
	UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
		"$build/fuzz_$t" -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 \
		-max_len=65536 -print_final_stats=1 -artifact_prefix="$crashes/" \
		"${dict[@]}" "$corpus" "$seeds/$t" >"$log" 2>&1
	rc=$?
	execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
	rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -1)
	rss=$(sed -n 's/^stat::peak_rss_mb: *//p' "$log" | tail -1)
	cov=$(grep -oE 'cov: [0-9]+' "$log" | tail -1 | cut -d' ' -f2)
	units=$(find "$corpus" -type f | wc -l)
	status=ok
	if [ "$rc" -ne 0 ]; then
		status="FAILED (exit $rc; see $log and $crashes/)"
		grep -E '^==[0-9]+==ERROR|^SUMMARY|runtime error|ERROR: libFuzzer' "$log" | head -5
		failed=1
	fi
	table+=("$(printf '%-16s %10s %10s %8s %8s %8s  %s' "$t" "${execs:-?}" "${rate:-?}" \
		"${cov:-?}" "$units" "${rss:-?}" "$status")")
done
printf '\n%-16s %10s %10s %8s %8s %8s  %s\n' target execs exec/s cov corpus rss_mb status
printf '%s\n' "${table[@]}"
exit $failed
