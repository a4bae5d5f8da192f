#!/usr/bin/env bash
# The runbook's "Trigger DR failover" step: runs one drill with drillrig,
# which fails over, measures RTO/RPO, restores through its undos and commits
# the report to the results repository.
#
# usage: ci/dr-drill.sh [DRILL]       (default $DRILL, else region-failover)
# Environment (all optional):
#   TARGET          local (default) or kubernetes
#   TARGET_CONFIG   the Kubernetes target's configuration file
#   RESULTS_REPO    results repository path or URL (default ./drill-results)
#   PUSH            true: push the results commit (token: DRILLRIG_GIT_TOKEN)
#   ARTIFACTS_DIR   copy journal.json, junit.xml, report.md, latency.svg here
#   FAIL_ON_REGRESSION  percentage for drillrig's regression gate
#   GITHUB_STEP_SUMMARY  drillrig run appends the drill's markdown summary
#                        to it (this script adds a line when no report was written)
#   DRILLRIG        the drillrig binary (default build/drillrig)
# Exit status: drillrig run's (0 passed, 1 objective failed, 2 invalid plan,
# 3 infrastructure error, 4 aborted, 5 rollback failed).
set -euo pipefail

drillrig=${DRILLRIG:-build/drillrig}
drill=${1:-${DRILL:-region-failover}}
target=${TARGET:-local}
results=${RESULTS_REPO:-drill-results}

plan=$drill
if [ ! -f "$plan" ]; then
	plan=drills/$drill.yaml
fi
args=(run "$plan" --target "$target" --results-repo "$results")
case $target in
local) ;;
kubernetes)
	: "${TARGET_CONFIG:?TARGET_CONFIG must name the Kubernetes target configuration}"
	# A scheduled job cannot answer the confirmation prompt; the contexts
	# it may touch are the allow-list of TARGET_CONFIG.
	args+=(--target-config "$TARGET_CONFIG" --yes)
	;;
*)
	echo "dr-drill: unknown TARGET '$target' (local or kubernetes)" >&2
	exit 2
	;;
esac
if [ "${PUSH:-false}" = true ]; then
	args+=(--push)
fi
if [ -n "${FAIL_ON_REGRESSION:-}" ]; then
	args+=(--fail-on-regression "$FAIL_ON_REGRESSION")
fi

out=$(mktemp)
trap 'rm -f "$out"' EXIT
rc=0
"$drillrig" "${args[@]}" 2>&1 | tee "$out" || rc=${PIPESTATUS[0]}

# The last line names the report when the drill got far enough to write one.
report=$(tail -n 1 "$out" | grep -E '/report\.md$' || true)
if [ -n "$report" ]; then
	dir=$(dirname "$report")
	if [ -n "${ARTIFACTS_DIR:-}" ]; then
		mkdir -p "$ARTIFACTS_DIR"
		for f in journal.json junit.xml report.md latency.svg; do
			if [ -f "$dir/$f" ]; then
				cp "$dir/$f" "$ARTIFACTS_DIR/"
			fi
		done
	fi
elif [ -n "${GITHUB_STEP_SUMMARY:-}" ]; then
	# drillrig run appends the drill's summary to $GITHUB_STEP_SUMMARY
	# itself; without a report there may be none, so say why.
	echo "**DR drill $drill: no report (drillrig exited $rc before writing one)**" >>"$GITHUB_STEP_SUMMARY"
fi
exit "$rc"
