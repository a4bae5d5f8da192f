#!/usr/bin/env bash
# A results repository that cannot take the drill's report is found before
# the drill touches anything (issue 17: the whole drill ran, printed
# "verdict: passed (exit 0)", exited 3 and kept no report): a changed
# tracked file, a detached HEAD, a file where the repository should be, a
# read-only repository (as root, a read-only bind mount) each exit 3 with
# "nothing was run" and no step.  A commit that still fails after the drill
# keeps the report in a temporary folder, prints its path, and the verdict
# line names the exit code the process ends with.
set -uo pipefail

# shellcheck source-path=SCRIPTDIR source=../lib/cases.sh
. "$(dirname "${BASH_SOURCE[0]}")/../lib/cases.sh"

DRILLRIG=${DRILLRIG_BIN:-build/drillrig}
SRC=${DRILLRIG_SRC:-.}
PLAN=$SRC/drills/region-failover.yaml
T=$(mktemp -d /dev/shm/dr-preflight-XXXXXX 2>/dev/null || mktemp -d)
cleanup() {
	mountpoint -q "$T/ro" 2>/dev/null && umount "$T/ro"
	rm -rf "$T"
}
trap cleanup EXIT
printf 'leak:libpcre2-8.so\n' > "$T/lsan.supp" # libgit2 1.5's pcre2 leak (SANITIZE builds)
export LSAN_OPTIONS="suppressions=$T/lsan.supp${LSAN_OPTIONS:+:$LSAN_OPTIONS}"
export DRILLRIG_GIT_AUTHOR="Drill Bot <drill-bot@example.com>" HOME=$T/home
mkdir -p "$T/home"
cd "$T" || fatal "cannot cd to $T"

# A repository with one run in it (README, index and trend tracked).
seed() {
	"$DRILLRIG" report publish --results-repo "$1" "$SRC/tests/data/journals/passed.json" \
		> /dev/null 2>&1 || fatal "cannot seed $1"
}

# run REPO: drillrig run into REPO; exit status in $rc, output in out/err.
run() {
	"$DRILLRIG" run "$PLAN" --results-repo "$1" > out 2> err
	rc=$?
}

refused_before_fault() {
	[ "$rc" -eq 3 ] || fail "exit $rc, wanted 3: $(cat err)"
	grep -q "nothing was run" err || fail "no 'nothing was run': $(cat err)"
	grep -qE "^(steps|  ok   steady state|target:)" out && fail "the drill started: $(cat out)"
	grep -q "$1" err || fail "the reason '$1' is not named: $(cat err)"
}

case_begin changed-file-refused-before-fault
seed changed
echo "local note" >> changed/dr-drill-results/README.md
run "$T/changed"
refused_before_fault "dr-drill-results/README.md"
case_end

case_begin detached-head-refused-before-fault
seed detached
git -C detached checkout -q --detach || fatal "cannot detach"
run "$T/detached"
refused_before_fault "another branch checked out"
case_end

case_begin file-where-the-repository-should-be
echo "not a repository" > afile
run "$T/afile"
refused_before_fault "afile"
case_end

case_begin read-only-repository-refused-before-fault
if [ "$(id -u)" -ne 0 ]; then
	case_skip read-only-repository-refused-before-fault "needs root for a read-only bind mount"
else
	seed rw
	mkdir ro
	if ! { mount --bind "$T/rw" "$T/ro" && mount -o remount,bind,ro "$T/ro"; }; then
		fatal "cannot make a read-only bind mount"
	fi
	run "$T/ro"
	refused_before_fault "not writable\|cannot open\|Read-only"
	umount "$T/ro"
	case_end
fi

# The repository breaks while the drill runs: the commit fails, the report
# is kept and named, and the verdict line says exit 3.
case_begin commit-failure-keeps-the-report
seed late
"$DRILLRIG" run "$PLAN" --results-repo "$T/late" > out 2> err &
pid=$!
for _ in $(seq 1 300); do
	grep -q "steady state before" out && break
	sleep 0.1
done
grep -q "steady state before" out || fatal "the drill never started: $(cat out err)"
echo "changed during the drill" >> late/dr-drill-results/README.md
wait "$pid"
rc=$?
[ "$rc" -eq 3 ] || fail "exit $rc, wanted 3: $(tail -5 out) $(cat err)"
grep -qE "^verdict: [a-z]+ \(exit 3\)" out || fail "verdict line does not say exit 3: $(grep verdict out)"
kept=$(sed -n 's/^drillrig: the report was not committed; it is kept in //p' err)
if [ -z "$kept" ] || [ ! -f "$kept/report.md" ] || [ ! -f "$kept/journal.json" ]; then
	fail "no kept report: $(cat err)"
fi
[ "$(tail -n 1 out)" = "$kept/report.md" ] || fail "last line is not the kept report: $(tail -n 1 out)"
rm -rf "$kept"
case_end

cases_done
