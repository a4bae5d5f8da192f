#!/usr/bin/env bash
# `drillrig report` end to end on a fresh results repository: publish the
# fixture journals, list (history newest first), show, compare, the
# staleness check, the regression gate's exit code, render, and git's own
# view of the result (fsck, clean status, log).
set -uo pipefail

DRILLRIG=${DRILLRIG_BIN:-build/drillrig}
SRC=${DRILLRIG_SRC:-.}
J=$SRC/tests/data/journals
T=$(mktemp -d /dev/shm/dr-reportcli-XXXXXX 2>/dev/null || mktemp -d)
trap 'rm -rf "$T"' EXIT
printf 'leak:libpcre2-8.so\n' > "$T/lsan.supp" # libgit2 1.5's pcre2 leak (SANITIZE builds)
export LSAN_OPTIONS="suppressions=$T/lsan.supp${LSAN_OPTIONS:+:$LSAN_OPTIONS}"
export DRILLRIG_GIT_AUTHOR="Drill Bot <drill-bot@example.com>" HOME=$T/home
mkdir -p "$T/home"
fail() { echo "FAIL: $*"; exit 1; }
ok() { echo "ok: $*"; }
cd "$T" || exit 1

# list on a missing repository: empty, and nothing gets created.
out=$("$DRILLRIG" report list 2>&1) || fail "list on nothing: $out"
[ ! -e drill-results ] || fail "list created ./drill-results"
"$DRILLRIG" report list --stale 35d > /dev/null 2>&1 && fail "--stale on an empty history must exit 1"
ok "empty history"

# Default repository ./drill-results, created and git init-ed on first use;
# the last line printed is the report's path.
for f in passed failed-lost-write aborted kubernetes; do
	out=$("$DRILLRIG" report publish "$J/$f.json" 2>&1) || fail "publish $f: $out"
	last=$(echo "$out" | tail -n 1)
	[ -f "$last" ] || fail "last line is not the report path: $last"
	case $last in "$T"/drill-results/dr-drill-results/20*/*/report.md) ;; *) fail "report path $last" ;; esac
done
[ "$(git -C drill-results rev-list --count HEAD)" = 4 ] || fail "expected 4 commits"
[ -z "$(git -C drill-results status --porcelain --untracked-files=all)" ] || fail "dirty work tree"
git -C drill-results fsck --strict --no-dangling > /dev/null 2>&1 || fail "git fsck"
log=$(git -C drill-results log --format=%s)
grep -qx "drill: region-failover FAILED rto=2.42s rpo=1" <<< "$log" || fail "git log: $log"
ok "publish x4 into ./drill-results"

# Two drills finishing together on one machine share ./drill-results: the
# repository lock makes them take turns, and both land.
sed -e 's/"started_at": "2026-11-27T14:44:20.123Z"/"started_at": "2026-11-20T01:00:00.000Z"/' "$J/passed.json" > c1.json
sed -e 's/"started_at": "2026-11-27T14:44:20.123Z"/"started_at": "2026-11-20T02:00:00.000Z"/' "$J/passed.json" > c2.json
"$DRILLRIG" report publish c1.json > c1.out 2>&1 & pa=$!
"$DRILLRIG" report publish c2.json > c2.out 2>&1 & pb=$!
wait $pa || fail "concurrent local publish 1: $(cat c1.out)"
wait $pb || fail "concurrent local publish 2: $(cat c2.out)"
[ "$(git -C drill-results rev-list --count HEAD)" = 6 ] || fail "expected 6 commits after the concurrent pair"
[ -z "$(git -C drill-results status --porcelain --untracked-files=all)" ] || fail "dirty after the concurrent pair"
git -C drill-results reset -q --hard HEAD~2 # back to the 4 fixture runs for the checks below
ok "two concurrent local publishes"

out=$("$DRILLRIG" report list) || fail "list"
[ "$(echo "$out" | wc -l)" = 5 ] || fail "list should print a header and 4 rows: $out"
sed -n 2p <<< "$out" | grep -q "k8s-region-failover" || fail "newest first: $out"
ok "list"

out=$("$DRILLRIG" report show 20261128T030005Z-region-failover) || fail "show"
head -1 <<< "$out" | grep -q "^# region-failover: FAILED" || fail "show title: $out"
grep -q "^\*\*FAILED:\*\* objective rpo failed" <<< "$out" || fail "show reason"
"$DRILLRIG" report show no-such-run > /dev/null 2>&1 && fail "show of a missing run must fail"
out=$("$DRILLRIG" report show latest) || fail "show latest"
head -1 <<< "$out" | grep -q "k8s-region-failover: PASSED" || fail "latest: $out"
ok "show"

out=$("$DRILLRIG" report compare 20261127T144420Z-region-failover 20261128T030005Z-region-failover) || fail "compare"
grep -E "^rto \[pass/FAIL\] +ms +1420.500 +2420.500 +\+1000.000" <<< "$out" > /dev/null || fail "compare rto: $out"
ok "compare"

# Staleness: a drill whose last pass is long ago is listed; exit 1.
sed -e 's/"started_at": "2026-11-27T14:44:20.123Z"/"started_at": "2025-01-05T03:00:00.000Z"/' \
    -e '0,/"name": "region-failover"/s//"name": "old-drill"/' "$J/passed.json" > old.json
"$DRILLRIG" report publish old.json > /dev/null 2>&1 || fail "publish old.json"
out=$("$DRILLRIG" report list --stale 35d); rc=$?
[ $rc -eq 1 ] || fail "--stale should exit 1, got $rc"
grep -q "^stale: old-drill last passed 2025-01-05" <<< "$out" || fail "stale line: $out"
grep -q "stale: region-failover" <<< "$out" && fail "region-failover is not stale: $out"
ok "stale check"

# Regression gate: 3 earlier comparable passes around 1.4 s, then 5 s.
for d in 01 02 03; do
	sed -e "s/\"started_at\": \"2026-11-27T14:44:20.123Z\"/\"started_at\": \"2026-10-${d}T03:00:00.000Z\"/" \
		"$J/passed.json" > "r$d.json"
	"$DRILLRIG" report publish --results-repo gate "r$d.json" > /dev/null 2>&1 || fail "publish r$d"
done
sed -e 's/"started_at": "2026-11-27T14:44:20.123Z"/"started_at": "2026-10-09T03:00:00.000Z"/' \
    -e 's/"rto_ms": 1420.5/"rto_ms": 5000.0/' "$J/passed.json" > slow.json
out=$("$DRILLRIG" report publish --results-repo gate --fail-on-regression 20 slow.json 2>&1); rc=$?
[ $rc -eq 1 ] || fail "regression gate should exit 1, got $rc: $out"
report=$(echo "$out" | tail -n 1)
grep -q "RTO regression check:\*\* \*\*REGRESSED" "$report" || fail "report does not say it regressed"
ok "regression gate"

"$DRILLRIG" report render "$J/aborted.json" rendered > /dev/null || fail "render"
for f in journal.json report.md junit.xml latency.svg; do [ -s "rendered/$f" ] || fail "render: $f"; done
if command -v xmllint > /dev/null; then
	xmllint --noout rendered/junit.xml rendered/latency.svg drill-results/dr-drill-results/rto-trend.svg ||
		fail "xmllint"
else
	echo "note: xmllint not installed, skipping XML validation"
fi
ok "render"
"$DRILLRIG" report bogus > /dev/null 2>&1; [ $? -eq 2 ] || fail "unknown subcommand should exit 2"
echo PASS
