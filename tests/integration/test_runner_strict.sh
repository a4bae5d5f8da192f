#!/usr/bin/env bash
# tests/run-tests.sh itself, on fake test programs in a temporary tests/
# tree: a program that prints nothing and exits 0, one that hangs (tiny
# DRILLRIG_TEST_TIMEOUT), a cmocka binary whose cases all skip, and one that
# exits 77 under CI=true are each failures; a hung program's children,
# including one in a session of its own, are gone after the timeout; a
# passing script with 3 cases counts 3, whatever "[  PASSED  ]" lines it
# prints; exit 77 without CI is one skip with its reason; an allowed skip
# passes under CI=true; a child process cannot add cases; a process left
# running fails its program.  The cmocka cases compile tiny programs with cc
# and pkg-config (make deps installs both).
set -uo pipefail

# shellcheck source-path=SCRIPTDIR source=../lib/cases.sh
. "$(dirname "${BASH_SOURCE[0]}")/../lib/cases.sh"

src=${DRILLRIG_SRC:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}
runner=$src/tests/run-tests.sh
lib=$src/tests/lib/cases.sh
tmp=$(mktemp -d "${TMPDIR:-/tmp}/drillrig-runner-test.XXXXXX")
fake=$tmp/tests/fake

cleanup() {
	# Whatever the runner under test missed: the fakes wrote their pids.
	cat "$tmp"/*.pids 2>/dev/null | while read -r p; do
		kill -KILL "$p" 2>/dev/null
	done
	rm -rf "$tmp"
}
trap cleanup EXIT
mkdir -p "$fake"

# gone PID: the process no longer runs (a zombie waiting for its parent
# counts as gone).
gone() {
	[ ! -e "/proc/$1/stat" ] || awk '{ exit !($3 == "Z") }' "/proc/$1/stat" 2>/dev/null
}

# runner NAME [VAR=VALUE...] -- PROGRAM...: runs the runner under test with
# a clean CI and timeout environment plus the given variables; sets rc and
# out (stdout and stderr), and took (seconds).
runner() {
	local name=$1 t0
	local -a vars=()
	shift
	while [ "$1" != -- ]; do
		vars+=("$1")
		shift
	done
	shift
	t0=$SECONDS
	env -u CI -u DRILLRIG_TEST_TIMEOUT -u DRILLRIG_TEST_KILL_GRACE -u DRILLRIG_TEST_ALLOWED_SKIPS \
		${vars[@]+"${vars[@]}"} timeout 120 "$runner" "$@" >"$tmp/$name.out" 2>&1
	rc=$?
	took=$((SECONDS - t0))
	out=$(cat "$tmp/$name.out")
}

# expect_summary LINE: the runner's last line is exactly LINE.
expect_summary() {
	local last
	last=$(tail -n 1 <<<"$out")
	[ "$last" = "$1" ] || fail "summary '$last', expected '$1'; output:
$out"
}

# expect_rc N
expect_rc() {
	[ "$rc" -eq "$1" ] || fail "the runner exited $rc, expected $1"
}

# expect_line ERE: a line of the runner's output matches.
expect_line() {
	grep -qE -- "$1" <<<"$out" || fail "no line matching '$1' in:
$out"
}

# ---- fakes ---------------------------------------------------------------------
cat >"$fake/three.sh" <<EOF
. "$lib"
case_begin first
echo "[  PASSED  ] 50 test(s)."
case_end
case_pass second
case_begin third
echo "[  FAILED  ] 0 test(s), listed below:"
echo "[  PASSED  ] 7 test(s)."
cases_done
EOF
printf 'exit 0\n' >"$fake/silent.sh"
# Not a script (no .sh): run as a cmocka program, prints cmocka's lines.
printf '#!/bin/sh\necho "[  PASSED  ] 5 test(s)."\nexit 0\n' >"$fake/prints_passed"
chmod +x "$fake/prints_passed"
cat >"$fake/hang.sh" <<EOF
sleep 300 &
echo \$! >>"$tmp/hang.pids"
setsid sleep 301 &
echo \$! >>"$tmp/hang.pids"
sleep 302
EOF
cat >"$fake/skip77.sh" <<EOF
. "$lib"
cases_skip_all frob-installed "frob is not installed (apt-get install frob)"
EOF
printf 'echo "needs a frobnicator"\nexit 77\n' >"$fake/raw77.sh"
cat >"$fake/mixed.sh" <<EOF
. "$lib"
case_pass a
case_fail b "b went wrong"
case_begin c
exit 3
EOF
# A child process (even one that sources the library) adds no case.
cat >"$tmp/child_inner.sh" <<EOF
. "$lib"
case_pass from-child
case_pass from-child-2
cases_done
EOF
cat >"$fake/child.sh" <<EOF
. "$lib"
bash "$tmp/child_inner.sh"
case_pass from-parent
cases_done
EOF
cat >"$fake/leaves.sh" <<EOF
. "$lib"
setsid sleep 303 &
echo \$! >>"$tmp/leaves.pids"
case_pass leaves-a-process
cases_done
EOF

# ---- cases -----------------------------------------------------------------------
case_begin passing-script-counts-its-three-cases
runner three -- "$fake/three.sh"
expect_rc 0
expect_summary "tests: 3 passed, 0 failed, 0 skipped"
expect_line '^--- fake/three\.sh: 3 passed, 0 failed, 0 skipped, [0-9]+ s$'

case_begin silent-script-is-a-failure
runner silent -- "$fake/silent.sh"
expect_rc 1
expect_summary "tests: 0 passed, 1 failed, 0 skipped"
expect_line 'fake/silent\.sh: reported no test case'

case_begin printed-passed-lines-count-for-nothing
runner prints -- "$fake/prints_passed"
expect_rc 1
expect_summary "tests: 0 passed, 1 failed, 0 skipped"
expect_line 'fake/prints_passed: reported no test case'

case_begin hung-program-times-out-and-its-children-die
: >"$tmp/hang.pids"
runner hang DRILLRIG_TEST_TIMEOUT=2 DRILLRIG_TEST_KILL_GRACE=2 -- "$fake/hang.sh" "$fake/three.sh"
expect_rc 1
expect_summary "tests: 3 passed, 1 failed, 0 skipped"
expect_line '^\[  FAILED  \] fake/hang\.sh: timed out after 2 s'
expect_line '^  fake/hang\.sh: timed out after 2 s'
[ "$took" -lt 60 ] || fail "the runner took $took s for a 2 s timeout"
[ "$(wc -l <"$tmp/hang.pids")" -eq 2 ] || fail "the hung fake did not start its 2 children"
while read -r p; do
	gone "$p" || fail "pid $p (a child of the hung program) still runs: $(tr '\0' ' ' <"/proc/$p/cmdline")"
done <"$tmp/hang.pids"

case_begin leftover-process-is-a-failure-and-is-killed
: >"$tmp/leaves.pids"
runner leaves -- "$fake/leaves.sh"
expect_rc 1
expect_summary "tests: 1 passed, 1 failed, 0 skipped"
expect_line 'fake/leaves\.sh: left 1 process\(es\) running'
while read -r p; do
	gone "$p" || fail "pid $p (left by the program) still runs"
done <"$tmp/leaves.pids"

case_begin exit-77-is-a-skip-with-its-reason
runner skip77 -- "$fake/skip77.sh" "$fake/raw77.sh"
expect_rc 0
expect_summary "tests: 0 passed, 0 failed, 2 skipped"
expect_line '^  fake/skip77\.sh: frob-installed: frob is not installed \(apt-get install frob\)$'
expect_line '^  fake/raw77\.sh: \(exit-77\): needs a frobnicator$'

case_begin exit-77-is-a-failure-under-ci
runner skip77-ci CI=true -- "$fake/skip77.sh"
expect_rc 1
expect_summary "tests: 0 passed, 1 failed, 0 skipped"
expect_line 'fake/skip77\.sh: frob-installed: skipped under CI=true'

case_begin allowed-skip-passes-under-ci
printf '# test list\nfake/skip77.sh frob-installed\n' >"$tmp/allowed"
runner skip77-allowed CI=true "DRILLRIG_TEST_ALLOWED_SKIPS=$tmp/allowed" -- "$fake/skip77.sh" "$fake/raw77.sh"
expect_rc 1
expect_summary "tests: 0 passed, 1 failed, 1 skipped"
expect_line 'fake/raw77\.sh: \(exit-77\): skipped under CI=true'

case_begin failed-and-unfinished-cases-are-failures
runner mixed -- "$fake/mixed.sh"
expect_rc 1
expect_summary "tests: 1 passed, 2 failed, 0 skipped"
expect_line '^  fake/mixed\.sh: b: b went wrong$'
expect_line '^  fake/mixed\.sh: c: the case did not finish'

case_begin a-child-process-adds-no-case
runner child -- "$fake/child.sh"
expect_rc 0
expect_summary "tests: 1 passed, 0 failed, 0 skipped"

case_begin bad-timeout-is-a-usage-error
runner badtimeout DRILLRIG_TEST_TIMEOUT=soon -- "$fake/three.sh"
expect_rc 2
expect_line 'DRILLRIG_TEST_TIMEOUT must be a positive number of seconds'

# ---- cmocka programs ---------------------------------------------------------
why=
if ! command -v cc >/dev/null 2>&1; then
	why="cc not installed (apt-get install gcc)"
elif ! pkg-config --exists cmocka 2>/dev/null; then
	why="cmocka not found by pkg-config (apt-get install pkg-config libcmocka-dev)"
fi
cmocka_cases=(cmocka-all-skipped-is-a-failure cmocka-cases-counted-from-xml-not-output
	cmocka-failures-counted-with-their-message)
if [ -n "$why" ]; then
	for c in "${cmocka_cases[@]}"; do
		case_skip "$c" "$why"
	done
else
	case_begin cmocka-programs-compile
	# cmocka PROGRAM BODY: a cmocka program whose tests t1 and t2 run BODY
	# (with the test's number as n).
	cmocka() {
		local name=$1 body=$2
		cat >"$tmp/$name.c" <<EOF
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <stdio.h>
#include <cmocka.h>
static void run(int n) { $body }
static void t1(void **state) { (void)state; run(1); }
static void t2(void **state) { (void)state; run(2); }
int main(void)
{
	const struct CMUnitTest tests[] = { cmocka_unit_test(t1), cmocka_unit_test(t2) };
	return cmocka_run_group_tests(tests, NULL, NULL);
}
EOF
		# shellcheck disable=SC2046 # pkg-config's flags are words
		cc -o "$fake/$name" "$tmp/$name.c" $(pkg-config --cflags --libs cmocka) ||
			fail "cannot compile $name.c"
	}
	cmocka all_skip 'printf("frob missing\n"); (void)n; skip();'
	cmocka prints 'printf("[  PASSED  ] 40 test(s).\n"); assert_true(n > 0);'
	cmocka one_fails 'assert_int_equal(n, 1);'

	case_begin cmocka-all-skipped-is-a-failure
	runner allskip -- "$fake/all_skip"
	expect_rc 1
	expect_summary "tests: 0 passed, 1 failed, 2 skipped"
	expect_line 'fake/all_skip: every case was skipped'
	expect_line '^\[ SKIPPED  \] t1'

	case_begin cmocka-cases-counted-from-xml-not-output
	runner cmprints -- "$fake/prints"
	expect_rc 0
	expect_summary "tests: 2 passed, 0 failed, 0 skipped"
	expect_line '^\[       OK \] t2$'

	case_begin cmocka-failures-counted-with-their-message
	runner cmfails -- "$fake/one_fails"
	expect_rc 1
	expect_summary "tests: 1 passed, 1 failed, 0 skipped"
	expect_line '^  fake/one_fails: t2: 0x2 != 0x1'
fi

cases_done
