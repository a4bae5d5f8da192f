#!/usr/bin/env bash
# The runbook's "Verify DR health" step: is the target ready for (or back
# from) a drill?  Kubernetes: `drillrig preflight` (tools, contexts, RBAC,
# a leader and full replication).  Local: the plan validates, and with
# CLUSTER_DIR a running bundled cluster answers `drillrig cluster status`.
#
# usage: ci/verify-dr-health.sh [DRILL]   (default $DRILL, else region-failover)
# Environment: TARGET (local|kubernetes), TARGET_CONFIG, CLUSTER_DIR,
# DRILLRIG (default build/drillrig).
# Exit status: 0 healthy, 2 usage or invalid plan, 3 unhealthy or unreachable.
set -euo pipefail

drillrig=${DRILLRIG:-build/drillrig}
drill=${1:-${DRILL:-region-failover}}
target=${TARGET:-local}

plan=$drill
if [ ! -f "$plan" ]; then
	plan=drills/$drill.yaml
fi
"$drillrig" validate --target "$target" "$plan"

case $target in
kubernetes)
	: "${TARGET_CONFIG:?TARGET_CONFIG must name the Kubernetes target configuration}"
	"$drillrig" preflight --target kubernetes --target-config "$TARGET_CONFIG" --plan "$plan"
	;;
local)
	if [ -n "${CLUSTER_DIR:-}" ]; then
		"$drillrig" cluster status --cluster "$CLUSTER_DIR" || exit 3
	else
		echo "verify-dr-health: local target: the drill starts its own cluster; plan $plan is valid"
	fi
	;;
*)
	echo "verify-dr-health: unknown TARGET '$target' (local or kubernetes)" >&2
	exit 2
	;;
esac
