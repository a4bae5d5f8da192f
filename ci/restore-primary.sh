#!/usr/bin/env bash
# The runbook's "Restore primary" step, for when the drill could not finish
# its own rollback (the runner was killed or cancelled, or drillrig exited
# 4 or 5): `drillrig recover` runs the drill's pending undos (scale the
# primary back, heal, start), waits for "Fully replicated" and, for the
# local target, takes down the cluster the drill had started.
#
# Kubernetes: `drillrig recover --target kubernetes` runs the pending undos
# the drill left in the runner's state directory (or, from another
# machine, on its Lease), uncordons what it
# cordoned and releases its Lease; then `drillrig preflight` checks the
# StatefulSets are back at their normal size and Ready.
#
# usage: ci/restore-primary.sh
# Environment: TARGET (local|kubernetes), TARGET_CONFIG, DRILLRIG_CLUSTER_ROOT
# (where local drills keep their clusters; default $TMPDIR or /tmp),
# DRILLRIG (default build/drillrig).
# Exit status: 0 restored or nothing to restore, else drillrig recover's.
set -euo pipefail

drillrig=${DRILLRIG:-build/drillrig}
target=${TARGET:-local}

case $target in
kubernetes)
	: "${TARGET_CONFIG:?TARGET_CONFIG must name the Kubernetes target configuration}"
	# The job has no terminal: --yes.  Exit 3 here means another drill
	# holds the Lease (it is named); that drill will restore its own.
	rc=0
	"$drillrig" recover --target kubernetes --target-config "$TARGET_CONFIG" --yes || rc=$?
	if [ "$rc" -ne 0 ]; then
		echo "restore-primary: drillrig recover exited $rc" >&2
		exit "$rc"
	fi
	# What restoring means here: every region's StatefulSet back at its
	# normal size and Ready, a leader, replication caught up.
	if "$drillrig" preflight --target-config "$TARGET_CONFIG"; then
		echo "restore-primary: the Kubernetes target is back at its normal size and healthy"
		exit 0
	fi
	echo "restore-primary: the Kubernetes target is not restored: scale the primary" \
		"StatefulSet back to its normal size (runbook: Monthly DR Drills, step 6)" >&2
	exit 3
	;;
local)
	root=${DRILLRIG_CLUSTER_ROOT:-${TMPDIR:-/tmp}}
	rc=0
	found=0
	shopt -s nullglob
	for dir in "$root"/drillrig-*/; do
		if [ -f "$dir/cluster.json" ]; then
			found=1
			echo "restore-primary: recovering the cluster in ${dir%/}"
			"$drillrig" recover --cluster "${dir%/}" || rc=$?
		fi
	done
	if [ "$found" -eq 0 ]; then
		echo "restore-primary: no drill cluster left under $root: nothing to restore"
	fi
	exit "$rc"
	;;
*)
	echo "restore-primary: unknown TARGET '$target' (local or kubernetes)" >&2
	exit 2
	;;
esac
