#!/usr/bin/env bash
# The mutation check's tool (tests/mutants/run-mutants.sh, `make mutants`) on
# a list of its own, limited to two unit test programs so it stays quick: a
# mutant the unit tests kill is reported killed by the right program; a
# harmless one (only a comment changes) survives and is named as an
# unexplained survivor (exit 1), and with a reason in its entry it passes
# (exit 0); an entry's integration: test runs after the unit tests (its
# output in the mutant's log); a snippet not found exactly once, an unknown
# name or an integration: test that does not exist stops the tool before
# anything is copied or built (exit 2); the tree is never changed.
set -uo pipefail

# shellcheck source-path=SCRIPTDIR source=../lib/cases.sh
. "$(dirname "${BASH_SOURCE[0]}")/../lib/cases.sh"

src=${DRILLRIG_SRC:?DRILLRIG_SRC not set}
build=${DRILLRIG_BUILD:?DRILLRIG_BUILD not set}
tool=$src/tests/mutants/run-mutants.sh
[ -x "$build/tests/unit/test_promtext" ] ||
	cases_skip_all unit-tests-built "the unit tests are not built ($build/tests/unit/test_promtext)"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

target=assertions/promtext.c
before=$(sha256sum "$src/$target")

# The list: one mutant the unit tests kill, one that changes only a comment.
# $1: a survives: line for the harmless one (or nothing); $2: an
# integration: line for it (or nothing).
write_list() {
	cat >"$tmp/list" <<EOF
# the tool's own test list
mutant: minus-inf-is-plus-inf
file: $target
breaks: -Inf parses as +Inf
tests: test_promtext
find:
| *out = -INFINITY;
replace:
| *out = INFINITY;

mutant: harmless-comment
file: $target
breaks: nothing: only a comment changes
$1
${2-}
find:
| /* A sample value: a float, +Inf, -Inf, NaN (any case, as Go parses). */
replace:
| /* A sample value. */
EOF
}

# run_tool ARGS...: sets rc and out (stdout and stderr).
run_tool() {
	out=$(timeout 300 "$tool" --scratch "$tmp/scratch" --seed-build "$build" \
		--tests test_promtext,test_exit_codes "$@" 2>&1)
	rc=$?
}

case_begin killed-and-survived-are-told-apart
write_list ""
run_tool --list "$tmp/list" --jobs 2
[ "$rc" -eq 1 ] || fail "exit $rc with an unexplained survivor, expected 1: $out"
grep -qE '^killed +minus-inf-is-plus-inf +by test_promtext \([0-9]+s\)$' <<<"$out" ||
	fail "the killed mutant is not reported killed by test_promtext: $out"
grep -qE '^SURVIVED +harmless-comment +every unit test passed' <<<"$out" ||
	fail "the harmless mutant is not reported as a survivor: $out"
grep -qE '^mutants: 1 killed, 1 survived, 0 not run of 2 \(kill rate 50\.0 %\) in [0-9]+m[0-9]{2}s$' <<<"$out" ||
	fail "no summary line with the kill rate: $out"
grep -q '^      NOT EXPLAINED: ' <<<"$out" || fail "the survivor is not listed as unexplained: $out"
grep -q '^  harmless-comment (assertions/promtext.c): nothing: only a comment changes$' <<<"$out" ||
	fail "the survivor's entry is not named with its file and behaviour: $out"
grep -q 'minus-inf-is-plus-inf' <<<"$(sed -n '/^survivors:$/,$p' <<<"$out")" &&
	fail "the killed mutant is listed among the survivors: $out"
grep -q 'isinf(v) && v < 0' "$tmp/scratch/logs/minus-inf-is-plus-inf.log" ||
	fail "the killed mutant's log does not show the failing assertion"

case_begin the-tree-is-never-changed
[ "$(sha256sum "$src/$target")" = "$before" ] || fail "$target changed in the tree"
for w in w1 w2; do
	[ -f "$tmp/scratch/$w/$target" ] || fail "no copy $w of $target in the scratch directory"
	cmp -s "$src/$target" "$tmp/scratch/$w/$target" || fail "copy $w was left mutated"
done

# One run for two cases (each run copies and builds the tree: 10 s): an
# explained survivor passes, and its entry's integration test (a fast one,
# run once unmutated and once with the mutant, with the copy's own ledgerd)
# runs.
case_begin an-explained-survivor-passes
write_list "survives: a comment is not behaviour" "integration: test_ledgerd_snapshot_resync"
run_tool --list "$tmp/list" --only harmless-comment --jobs 1
[ "$rc" -eq 0 ] || fail "exit $rc with only an explained survivor, expected 0: $out"
grep -q '^      explained: a comment is not behaviour$' <<<"$out" || fail "the reason is not shown: $out"
grep -qE '^mutants: 0 killed, 1 survived, 0 not run of 1 ' <<<"$out" || fail "summary: $out"

case_begin an-integration-test-runs-for-its-entry
grep -qE '^SURVIVED +harmless-comment +every unit test and test_ledgerd_snapshot_resync passed' <<<"$out" ||
	fail "the survivor line does not name the integration test: $out"
for log in baseline harmless-comment; do
	grep -q '^==== test_ledgerd_snapshot_resync$' "$tmp/scratch/logs/$log.log" ||
		fail "the integration test did not run in the $log run"
	grep -q "resynced [0-9]* ms" "$tmp/scratch/logs/$log.log" ||
		fail "the integration test's output is not in the $log log"
done

case_begin a-snippet-not-found-once-stops-before-building
sed 's/^| \*out = -INFINITY;$/| *out = -INFINITY; \/\* not in the file \*\//' "$tmp/list" >"$tmp/list-bad"
rm -rf "$tmp/scratch"
run_tool --list "$tmp/list-bad"
[ "$rc" -eq 2 ] || fail "exit $rc for a snippet that is not in the file, expected 2: $out"
grep -q "mutant 'minus-inf-is-plus-inf': its snippet is found 0 times in $target" <<<"$out" ||
	fail "the message does not name the mutant and the count: $out"
[ -e "$tmp/scratch/w1" ] && fail "the tool copied the tree before checking the list"
printf 'mutant: twice\nfile: %s\nbreaks: b\nfind:\n| return\nreplace:\n| return 0 ||\n' "$target" \
	>"$tmp/list-twice"
run_tool --list "$tmp/list-twice"
[ "$rc" -eq 2 ] || fail "exit $rc for a snippet found many times, expected 2: $out"
grep -qE "its snippet is found [0-9]+ times" <<<"$out" || fail "message: $out"

case_begin an-unknown-name-is-refused
run_tool --list "$tmp/list" --only no-such-mutant
[ "$rc" -eq 2 ] || fail "exit $rc for an unknown mutant, expected 2: $out"
grep -q "no mutant named 'no-such-mutant'" <<<"$out" || fail "message: $out"
write_list "" "integration: test_no_such_program"
rm -rf "$tmp/scratch"
run_tool --list "$tmp/list"
[ "$rc" -eq 2 ] || fail "exit $rc for an integration test that does not exist, expected 2: $out"
grep -q "mutant 'harmless-comment': no integration test 'test_no_such_program'" <<<"$out" ||
	fail "the message does not name the mutant and the test: $out"
[ -e "$tmp/scratch/w1" ] && fail "the tool copied the tree before checking the integration test"

case_begin the-project-list-is-well-formed
# Every entry of the real list parses and its snippet is in its file
# exactly once (--check builds nothing).
out=$("$tool" --check 2>&1)
rc=$?
[ "$rc" -eq 0 ] || fail "tests/mutants/mutants.list: $out"
grep -qE '^mutants: [0-9]+ entries of tests/mutants/mutants.list, every snippet found once$' <<<"$out" ||
	fail "--check says: $out"

cases_done
