#!/usr/bin/env bash
# The CI scripts: clean under shellcheck (when installed), `set -euo
# pipefail`, executable; usage errors exit 2; ci/dr-drill.sh runs a drill,
# copies its journal and JUnit, appends its summary to $GITHUB_STEP_SUMMARY
# and passes a failed drill's exit status on (a failed drill fails the job);
# verify-dr-health.sh and restore-primary.sh on the local target, and
# restore-primary.sh on Kubernetes through the kubectl test double.
# (tests/integration/test_catalog_workflows.c parses the workflows.)
# The lint also covers the test runner and every shell test.
set -uo pipefail

# shellcheck source-path=SCRIPTDIR source=../lib/cases.sh
. "$(dirname "${BASH_SOURCE[0]}")/../lib/cases.sh"
# shellcheck source-path=SCRIPTDIR source=../lib/cluster.sh
. "$(dirname "${BASH_SOURCE[0]}")/../lib/cluster.sh"

bin=${DRILLRIG_BIN:?DRILLRIG_BIN not set}
src=${DRILLRIG_SRC:?DRILLRIG_SRC not set}
tmp=$(mktemp -d /dev/shm/drillrig-ci-assets.XXXXXX 2>/dev/null || mktemp -d)

cleanup() {
	local pids
	pids=$(pgrep -f -- "$tmp/" || true)
	if [ -n "$pids" ]; then
		# shellcheck disable=SC2086 # one pid per word
		kill -9 $pids 2>/dev/null || true
	fi
	rm -rf "$tmp"
}
trap cleanup EXIT

cd "$src" || fatal "cannot cd to $src"
export DRILLRIG=$bin DRILLRIG_CLUSTER_ROOT=$tmp/clusters

case_begin ci-scripts-executable-and-strict
scripts=(ci/*.sh)
for s in "${scripts[@]}"; do
	[ -x "$s" ] || fail "$s is not executable"
	grep -q '^set -euo pipefail$' "$s" || fail "$s does not set -euo pipefail"
done
case_begin runbook-scripts-present
for s in ci/dr-drill.sh ci/verify-dr-health.sh ci/restore-primary.sh ci/drill-all.sh; do
	[ -f "$s" ] || fail "$s is missing"
done
if command -v shellcheck >/dev/null 2>&1; then
	case_begin shellcheck
	# -x follows tests/lib/cases.sh from the scripts that source it.
	shellcheck -x "${scripts[@]}" tests/run-tests.sh tests/lib/*.sh tests/integration/*.sh \
		tests/fuzz/*.sh || fail "shellcheck"
else
	case_skip shellcheck "shellcheck not installed (apt-get install shellcheck)"
fi

# Usage errors.
case_begin usage-errors-exit-2
ci/drill-all.sh --no-such-option >/dev/null 2>&1
[ $? -eq 2 ] || fail "drill-all.sh: an unknown option does not exit 2"
TARGET=mars ci/dr-drill.sh region-failover >/dev/null 2>&1
[ $? -eq 2 ] || fail "dr-drill.sh: an unknown TARGET does not exit 2"
TARGET=kubernetes TARGET_CONFIG='' ci/dr-drill.sh region-failover >/dev/null 2>&1 &&
	fail "dr-drill.sh: kubernetes without TARGET_CONFIG succeeded"

# verify-dr-health: the local plan validates; a broken plan does not.
case_begin verify-dr-health
ci/verify-dr-health.sh region-failover >"$tmp/out" 2>&1 || fail "verify-dr-health.sh: $(cat "$tmp/out")"
printf 'version: 1\nname: broken\nsteps: []\n' >"$tmp/broken.yaml"
ci/verify-dr-health.sh "$tmp/broken.yaml" >/dev/null 2>&1
[ $? -eq 2 ] || fail "verify-dr-health.sh: an invalid plan does not exit 2"

# restore-primary: nothing left behind, nothing to do.
case_begin restore-primary-with-nothing-to-restore
mkdir -p "$tmp/clusters"
ci/restore-primary.sh >"$tmp/out" 2>&1 || fail "restore-primary.sh with nothing to restore: $(cat "$tmp/out")"
grep -q 'nothing to restore' "$tmp/out" || fail "restore-primary.sh: $(cat "$tmp/out")"

# dr-drill: a passing drill ...
case_begin dr-drill-passing-drill
summary=$tmp/summary.md
: >"$summary"
ARTIFACTS_DIR=$tmp/art GITHUB_STEP_SUMMARY=$summary RESULTS_REPO=$tmp/results \
	timeout 120 ci/dr-drill.sh manual-failover >"$tmp/out" 2>&1
rc=$?
[ "$rc" -eq 0 ] || fail "dr-drill.sh manual-failover exited $rc: $(tail -n 5 "$tmp/out")"
for f in journal.json junit.xml report.md; do
	[ -s "$tmp/art/$f" ] || fail "dr-drill.sh: artifact $f missing"
done
[ "$(grep -c '^# manual-failover: PASSED' "$summary")" -eq 1 ] ||
	fail "dr-drill.sh: GITHUB_STEP_SUMMARY does not hold the drill's summary exactly once: $(cat "$summary")"
# The summary compares with the results repository's history, as the
# committed report does: this is the drill's first run there.
grep -qF "First run of \`manual-failover\` on this kind of target" "$summary" ||
	fail "dr-drill.sh: the step summary does not say what the earlier runs were: $(cat "$summary")"
# ... and a failing one: its exit status 1 reaches the job.
case_begin dr-drill-failing-drill-fails-the-job
cat >"$tmp/fails.yaml" <<'PLAN'
version: 1
name: fails
workload: {enabled: false}
steps:
  - {name: must-fail, action: exec, argv: ["false"]}
PLAN
: >"$summary"
ARTIFACTS_DIR=$tmp/art2 GITHUB_STEP_SUMMARY=$summary RESULTS_REPO=$tmp/results \
	timeout 60 ci/dr-drill.sh "$tmp/fails.yaml" >"$tmp/out" 2>&1
rc=$?
[ "$rc" -eq 1 ] || fail "dr-drill.sh with a failing drill exited $rc, expected 1"
[ "$(grep -c '^# fails: FAILED' "$summary")" -eq 1 ] || fail "dr-drill.sh: the failed drill's summary is not there once"
[ -s "$tmp/art2/junit.xml" ] || fail "dr-drill.sh: a failed drill's JUnit is missing"
# Both drills' JUnit follows the Jenkins JUnit schema's rules (CI installs
# xmllint: make deps).
if command -v xmllint >/dev/null 2>&1; then
	for x in "$tmp/art/junit.xml" "$tmp/art2/junit.xml"; do
		xmllint --noout --schema "$src/tests/data/junit/jenkins-junit.xsd" "$x" >"$tmp/xsd" 2>&1 ||
			fail "dr-drill.sh: $x does not follow the Jenkins JUnit schema: $(cat "$tmp/xsd")"
	done
fi

# restore-primary on Kubernetes (the kubectl test double over a bundled
# cluster): nothing was left pending, so recover has nothing to do and
# preflight finds every StatefulSet at its normal size.
case_begin restore-primary-on-kubernetes
double_dir=${DRILLRIG_BUILD:-$src/build}/tests/doubles
if [ -x "$double_dir/kubectl" ]; then
	"$bin" cluster up --cluster "$tmp/k8s" --timing 300ms/30ms --no-admin-token >/dev/null 2>&1 ||
		fail "cluster up for the kubernetes restore-primary case"
	# restore-primary checks a settled cluster.
	wait_cluster_settled "$bin" "$tmp/k8s" 30 || fail "the cluster for the kubernetes restore-primary case never said Fully replicated with every member reachable within 30 s"
	PATH="$double_dir:$PATH" KUBECTL_DOUBLE_IMAGE_TOOLS=1 KUBECTL_DOUBLE_CLUSTER=$tmp/k8s TARGET=kubernetes \
		TARGET_CONFIG=tests/data/k8s/double.yaml timeout 120 ci/restore-primary.sh >"$tmp/out" 2>&1 ||
		fail "restore-primary.sh on kubernetes: $(cat "$tmp/out")"
	grep -q 'back at its normal size and healthy' "$tmp/out" || fail "restore-primary.sh on kubernetes: $(cat "$tmp/out")"
	"$bin" cluster down --cluster "$tmp/k8s" >/dev/null 2>&1 || true
else
	fail "the kubectl test double is not built at $double_dir"
fi

cases_done
