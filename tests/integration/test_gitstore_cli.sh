#!/usr/bin/env bash
# `drillrig report` end to end on a fresh results repository: publish the
# fixture journals, list (history newest first), show, compare, the
# staleness check, the regression gate's exit code, render, and git's own
# view of the result (fsck, clean status, log).
# A failed check stops the script: each case builds on the repository the
# ones before it left.
set -uo pipefail

# shellcheck source-path=SCRIPTDIR source=../lib/cases.sh
. "$(dirname "${BASH_SOURCE[0]}")/../lib/cases.sh"

DRILLRIG=${DRILLRIG_BIN:-build/drillrig}
SRC=${DRILLRIG_SRC:-.}
J=$SRC/tests/data/journals
T=$(mktemp -d /dev/shm/dr-reportcli-XXXXXX 2>/dev/null || mktemp -d)
trap 'rm -rf "$T"' EXIT
printf 'leak:libpcre2-8.so\n' > "$T/lsan.supp" # libgit2 1.5's pcre2 leak (SANITIZE builds)
export LSAN_OPTIONS="suppressions=$T/lsan.supp${LSAN_OPTIONS:+:$LSAN_OPTIONS}"
export DRILLRIG_GIT_AUTHOR="Drill Bot <drill-bot@example.com>" HOME=$T/home
mkdir -p "$T/home"
# ok: the open case passed (every check before it held).
ok() { case_end; }
cd "$T" || fatal "cannot cd to $T"

# list on a missing repository: empty, and nothing gets created.
case_begin empty-history
out=$("$DRILLRIG" report list 2>&1) || fatal "list on nothing: $out"
[ ! -e drill-results ] || fatal "list created ./drill-results"
"$DRILLRIG" report list --stale 35d > /dev/null 2>&1 && fatal "--stale on an empty history must exit 1"
ok

# Default repository ./drill-results, created and git init-ed on first use;
# the last line printed is the report's path.
case_begin publish-four-journals
for f in passed failed-lost-write aborted kubernetes; do
	out=$("$DRILLRIG" report publish "$J/$f.json" 2>&1) || fatal "publish $f: $out"
	last=$(echo "$out" | tail -n 1)
	[ -f "$last" ] || fatal "last line is not the report path: $last"
	case $last in "$T"/drill-results/dr-drill-results/20*/*/report.md) ;; *) fatal "report path $last" ;; esac
done
[ "$(git -C drill-results rev-list --count HEAD)" = 4 ] || fatal "expected 4 commits"
[ -z "$(git -C drill-results status --porcelain --untracked-files=all)" ] || fatal "dirty work tree"
git -C drill-results fsck --strict --no-dangling > /dev/null 2>&1 || fatal "git fsck"
log=$(git -C drill-results log --format=%s)
grep -qx "drill: region-failover FAILED rto=2.42s rpo=1" <<< "$log" || fatal "git log: $log"
ok

# The failed run's report opens with the previous run of its drill, as a
# link that leads to that run's report in the repository, and the README
# has one row per drill above the run table.
case_begin headline-and-readme
R=drill-results/dr-drill-results
run=$R/2026/11/20261128T030005Z-region-failover
link=$(grep -o "^Previous run: \[2026-11-27 14:44:20 UTC\]([^)]*)" "$run/report.md" | sed 's/.*(\(.*\))/\1/')
[ -n "$link" ] || fatal "no previous run in the headline: $(head -15 "$run/report.md")"
[ -f "$run/$link" ] || fatal "the previous run's link $link leads nowhere"
grep -q "^| RTO | 2.42 s | 5.00 s | 1.42 s | +1.00 s (+70.4 %) |$" "$run/report.md" ||
	fatal "RTO change in the headline: $(head -15 "$run/report.md")"
grep -q '"earlier_runs"' "$run/journal.json" || fatal "journal.json lacks earlier_runs"
# Last run failed, the one before it aborted; the aborted one has no RTO.
grep -q "^| region-failover | local | ❌ FAILED 2026-11-28 03:00:05 UTC .* | 2026-11-27 14:44:20 UTC .* | ❌ 2 failures | 1.92 s (2 of 3 measured) | 5.00 s |$" "$R/README.md" ||
	fatal "README drill row: $(cat "$R/README.md")"
grep -q "^## Drills (2)$" "$R/README.md" || fatal "README drill count"
ok

# Two drills finishing together on one machine share ./drill-results: the
# repository lock makes them take turns, and both land.
case_begin two-concurrent-local-publishes
sed -e 's/"started_at": "2026-11-27T14:44:20.123Z"/"started_at": "2026-11-20T01:00:00.000Z"/' "$J/passed.json" > c1.json
sed -e 's/"started_at": "2026-11-27T14:44:20.123Z"/"started_at": "2026-11-20T02:00:00.000Z"/' "$J/passed.json" > c2.json
"$DRILLRIG" report publish c1.json > c1.out 2>&1 & pa=$!
"$DRILLRIG" report publish c2.json > c2.out 2>&1 & pb=$!
wait $pa || fatal "concurrent local publish 1: $(cat c1.out)"
wait $pb || fatal "concurrent local publish 2: $(cat c2.out)"
[ "$(git -C drill-results rev-list --count HEAD)" = 6 ] || fatal "expected 6 commits after the concurrent pair"
[ -z "$(git -C drill-results status --porcelain --untracked-files=all)" ] || fatal "dirty after the concurrent pair"
git -C drill-results reset -q --hard HEAD~2 # back to the 4 fixture runs for the checks below
ok

case_begin list
out=$("$DRILLRIG" report list) || fatal "list"
[ "$(echo "$out" | wc -l)" = 5 ] || fatal "list should print a header and 4 rows: $out"
sed -n 2p <<< "$out" | grep -q "k8s-region-failover" || fatal "newest first: $out"
ok

case_begin show
out=$("$DRILLRIG" report show 20261128T030005Z-region-failover) || fatal "show"
head -1 <<< "$out" | grep -q "^# region-failover: FAILED" || fatal "show title: $out"
grep -q "^\*\*FAILED:\*\* objective rpo failed" <<< "$out" || fatal "show reason"
"$DRILLRIG" report show no-such-run > /dev/null 2>&1 && fatal "show of a missing run must fail"
out=$("$DRILLRIG" report show latest) || fatal "show latest"
head -1 <<< "$out" | grep -q "k8s-region-failover: PASSED" || fatal "latest: $out"
# Options before or after the run name mean the same.
after=$("$DRILLRIG" report show latest --results-repo drill-results) || fatal "show latest --results-repo: $after"
before=$("$DRILLRIG" report show --results-repo drill-results latest) || fatal "show --results-repo latest"
if [ "$after" != "$out" ] || [ "$before" != "$out" ]; then
	fatal "option order changed show's answer"
fi
"$DRILLRIG" report show latest --results-repo no-such-repo > /dev/null 2>&1 &&
	fatal "an option after the run name was ignored (no-such-repo must fail)"
ok

case_begin compare
out=$("$DRILLRIG" report compare 20261127T144420Z-region-failover 20261128T030005Z-region-failover) || fatal "compare"
# The lost write fails rpo in B only; RTO grew by a second within its
# limit, which B tightened from 60 s to 5 s: each figure beside its run's.
grep -E "^rpo \[pass/FAIL\] +writes +0.000 <=0 +1.000 <=0 +\+1.000" <<< "$out" > /dev/null || fatal "compare rpo: $out"
grep -E "^rto \[pass/pass\] +ms +1420.500 <=60000 +2420.500 <=5000 +\+1000.000" <<< "$out" > /dev/null || fatal "compare rto: $out"
grep -E "^availability +percent +87.409 >=85 +76.458 >=75 " <<< "$out" > /dev/null || fatal "compare availability: $out"
grep -E "^unavailable +ms +1420.500 - +2656.000 - " <<< "$out" > /dev/null || fatal "compare without a limit: $out"
# Runs of one drill: no warning.
"$DRILLRIG" report compare 20261127T144420Z-region-failover 20261128T030005Z-region-failover 2>&1 > /dev/null |
	grep -q warning && fatal "compare warned about runs of the same drill"
ok

# Runs of two different drills: a warning on stderr, the table still printed.
case_begin compare-different-drills
err=$("$DRILLRIG" report compare 20261127T144420Z-region-failover 20261201T030000Z-k8s-region-failover 2>&1 > /dev/null) ||
	fatal "compare of two drills: $err"
grep -q "warning: the runs are of different drills ('region-failover' and 'k8s-region-failover')" <<< "$err" ||
	fatal "no different-drills warning: $err"
ok

# Staleness: a drill whose last pass is long ago is listed; exit 1.
case_begin stale-check
sed -e 's/"started_at": "2026-11-27T14:44:20.123Z"/"started_at": "2025-01-05T03:00:00.000Z"/' \
    -e '0,/"name": "region-failover"/s//"name": "old-drill"/' "$J/passed.json" > old.json
"$DRILLRIG" report publish old.json > /dev/null 2>&1 || fatal "publish old.json"
out=$("$DRILLRIG" report list --stale 35d); rc=$?
[ $rc -eq 1 ] || fatal "--stale should exit 1, got $rc"
grep -q "^stale: old-drill last passed 2025-01-05" <<< "$out" || fatal "stale line: $out"
# region-failover passed within the window, but its latest run failed.
grep -q "^stale: region-failover's latest run failed (2026-11-28T03:00:05.500Z); it last passed 2026-11-27T14:44:20.123Z$" <<< "$out" ||
	fatal "region-failover's failed latest run: $out"
grep -q "stale: k8s-region-failover" <<< "$out" && fatal "k8s-region-failover is not stale: $out"
ok

# A drill that passed recently but whose latest run failed is flagged too.
case_begin stale-when-the-latest-run-failed
passed_at=$(date -u -d '2 minutes ago' +%Y-%m-%dT%H:%M:%S)
failed_at=$(date -u -d '1 minute ago' +%Y-%m-%dT%H:%M:%S)
sed -e "s/\"started_at\": \"2026-11-27T14:44:20.123Z\"/\"started_at\": \"${passed_at}.000Z\"/" \
    -e '0,/"name": "region-failover"/s//"name": "flaky-drill"/' "$J/passed.json" > flaky-pass.json
"$DRILLRIG" report publish flaky-pass.json > /dev/null 2>&1 || fatal "publish flaky-pass.json"
out=$("$DRILLRIG" report list --stale 35d)
grep -q "stale: flaky-drill" <<< "$out" && fatal "a drill that just passed is not stale: $out"
sed -e "s/\"status\": \"passed\"/\"status\": \"failed\"/" \
    -e "s/\"started_at\": \"${passed_at}.000Z\"/\"started_at\": \"${failed_at}.000Z\"/" flaky-pass.json > flaky-fail.json
grep -q '"status": "failed"' flaky-fail.json || fatal "fixture: no status to flip"
"$DRILLRIG" report publish flaky-fail.json > /dev/null 2>&1 || fatal "publish flaky-fail.json"
out=$("$DRILLRIG" report list --stale 35d); rc=$?
[ $rc -eq 1 ] || fatal "--stale should exit 1, got $rc"
grep -q "^stale: flaky-drill's latest run failed (${failed_at}.000Z); it last passed ${passed_at}.000Z" <<< "$out" ||
	fatal "the failed latest run is not flagged: $out"
ok

# A gate with nothing to compare with says it was not evaluated, on the
# console and in the report, and does not fail the run.
case_begin regression-gate-not-evaluated
out=$("$DRILLRIG" report publish --results-repo lonely --fail-on-regression 20 "$J/passed.json" 2>&1); rc=$?
[ $rc -eq 0 ] || fatal "a gate without earlier runs should not fail, got $rc: $out"
grep -q "regression gate not evaluated: 0 of 3 comparable runs" <<<"$out" || fatal "console: $out"
report=$(echo "$out" | tail -n 1)
grep -q "RTO regression check:\*\* gate not evaluated: 0 of 3 comparable runs (not enough comparable earlier runs)" "$report" ||
	fatal "the report does not say the gate was not evaluated: $(grep -n 'regression' "$report")"
ok

# Regression gate: 3 earlier comparable passes around 1.4 s, then 5 s.
case_begin regression-gate
for d in 01 02 03; do
	sed -e "s/\"started_at\": \"2026-11-27T14:44:20.123Z\"/\"started_at\": \"2026-10-${d}T03:00:00.000Z\"/" \
		"$J/passed.json" > "r$d.json"
	"$DRILLRIG" report publish --results-repo gate "r$d.json" > /dev/null 2>&1 || fatal "publish r$d"
done
sed -e 's/"started_at": "2026-11-27T14:44:20.123Z"/"started_at": "2026-10-09T03:00:00.000Z"/' \
    -e 's/"rto_ms": 1420.5/"rto_ms": 5000.0/' "$J/passed.json" > slow.json
out=$("$DRILLRIG" report publish --results-repo gate --fail-on-regression 20 slow.json 2>&1); rc=$?
[ $rc -eq 1 ] || fatal "regression gate should exit 1, got $rc: $out"
report=$(echo "$out" | tail -n 1)
grep -q "RTO regression check:\*\* \*\*REGRESSED" "$report" || fatal "report does not say it regressed"
ok

case_begin render
"$DRILLRIG" report render "$J/aborted.json" rendered > /dev/null || fatal "render"
for f in journal.json report.md junit.xml latency.svg; do [ -s "rendered/$f" ] || fatal "render: $f"; done
ok
if command -v xmllint > /dev/null; then
	case_begin rendered-xml-is-valid
	xmllint --noout rendered/latency.svg drill-results/dr-drill-results/rto-trend.svg ||
		fatal "xmllint"
	# The Jenkins JUnit schema's rules (tests/data/junit/jenkins-junit.xsd).
	xmllint --noout --schema "$SRC/tests/data/junit/jenkins-junit.xsd" rendered/junit.xml ||
		fatal "junit.xml does not follow the Jenkins JUnit schema"
	ok
else
	case_skip rendered-xml-is-valid "xmllint not installed (apt-get install libxml2-utils)"
fi
case_begin unknown-subcommand-exits-2
"$DRILLRIG" report bogus > /dev/null 2>&1; [ $? -eq 2 ] || fatal "unknown subcommand should exit 2"
cases_done
