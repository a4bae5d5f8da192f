#!/usr/bin/env bash
# The harness under valgrind: `drillrig run drills/region-failover.yaml`
# (the real drill on the bundled cluster) and `drillrig validate` on the
# plan corpus, each with --leak-check=full; any definite leak or memory
# error (invalid read/write, use of uninitialised memory) fails.  Only the
# drillrig process itself is checked: the cluster supervisor and ledgerd
# are started with posix_spawn and run natively (--trace-children=no).
# Skipped (exit 77, with the reason) when valgrind is not installed or the
# build is a sanitizer build (ASan and valgrind do not mix; the sanitizer
# build's skip is the one tests/ci-allowed-skips allows).
set -uo pipefail

# shellcheck source-path=SCRIPTDIR source=../lib/cases.sh
. "$(dirname "${BASH_SOURCE[0]}")/../lib/cases.sh"

bin=${DRILLRIG_BIN:?DRILLRIG_BIN not set}
src=${DRILLRIG_SRC:?DRILLRIG_SRC not set}
build=${DRILLRIG_BUILD:-}
if ! command -v valgrind >/dev/null 2>&1; then
	cases_skip_all valgrind-installed "valgrind is not installed (apt-get install valgrind)"
fi
case "$build" in
*sanitize*) cases_skip_all sanitizer-build "sanitizer build ($build); valgrind runs on the plain build" ;;
esac
tmp=$(mktemp -d /dev/shm/drillrig-valgrind.XXXXXX 2>/dev/null || mktemp -d)
vg_pid=
cleanup() {
	[ -n "$vg_pid" ] && kill -TERM "$vg_pid" 2>/dev/null
	rm -rf "$tmp"
}
trap cleanup EXIT

vg=(valgrind --leak-check=full --show-leak-kinds=definite --errors-for-leak-kinds=definite
    --error-exitcode=99 --trace-children=no --child-silent-after-fork=yes
    --num-callers=30)

# check LOG WHAT: no definite leak, no error in a valgrind log.
check() {
	local log=$1 what=$2 lost errs
	if ! grep -q "ERROR SUMMARY" "$log"; then
		fail "$what: valgrind wrote no summary"
		tail -20 "$log"
		return
	fi
	lost=$(sed -n 's/.*definitely lost: \([0-9,]*\) bytes.*/\1/p' "$log" | tr -d , | head -1)
	errs=$(sed -n 's/.*ERROR SUMMARY: \([0-9,]*\) errors.*/\1/p' "$log" | tr -d , | tail -1)
	echo "$what: definitely lost ${lost:-0} bytes, ${errs:-?} errors"
	if [ "${lost:-0}" -ne 0 ] || [ "${errs:-1}" -ne 0 ]; then
		fail "$what: valgrind found problems:"
		grep -E "definitely lost|Invalid|uninitialised|at 0x|by 0x" "$log" | head -40
	fi
}

# 1. validate over the plan corpus (every good and bad plan: all error paths).
case_begin validate-plan-corpus-under-valgrind
"${vg[@]}" --log-file="$tmp/validate.vg" "$bin" validate "$src"/tests/data/plans/*/*.yaml \
	"$src"/tests/data/plans/*/*.json "$src"/drills/*.yaml >"$tmp/validate.out" 2>&1
rc=$?
[ "$rc" -eq 99 ] && fail "validate: valgrind exit 99"
check "$tmp/validate.vg" "drillrig validate (plan corpus)"

# 2. the real drill.
case_begin region-failover-under-valgrind
mkdir -p "$tmp/work"
cd "$tmp/work" || fatal "cannot cd to $tmp/work"
# The plan's 2 s baseline shortened: the baseline code runs, briefly.
"${vg[@]}" --log-file="$tmp/run.vg" "$bin" run "$src/drills/region-failover.yaml" \
	--baseline 300ms --json --results-repo "$tmp/results" >"$tmp/run.out" 2>"$tmp/run.err" &
vg_pid=$!
for _ in $(seq 1 1800); do
	kill -0 "$vg_pid" 2>/dev/null || break
	sleep 0.1
done
if kill -0 "$vg_pid" 2>/dev/null; then
	fail "drillrig run under valgrind still running after 180 s"
	kill -TERM "$vg_pid"
fi
wait "$vg_pid"
rc=$?
vg_pid=
echo "drillrig run under valgrind exited $rc"
# The drill's verdict may suffer from valgrind's slowness (exit 1); it must
# still run to the end and write its report.
case "$rc" in
0 | 1) ;;
*) fail "drillrig run under valgrind exited $rc"; tail -5 "$tmp/run.err" ;;
esac
grep -q '"event":"report"' "$tmp/run.out" || fail "the drill under valgrind wrote no report"
check "$tmp/run.vg" "drillrig run region-failover"

cases_done
