#!/usr/bin/env bash
# Runs the machine-loss drills: pod, node and zone failure
# through tests/integration/catalog_check.sh (the shared checks), and the
# full disk where it can be injected (root: each node's data directory is
# its own tmpfs, so the fill never reaches the host's disk).
set -uo pipefail
plans=(pod-failure node-failure zone-failure)
if [ "$(id -u)" -eq 0 ]; then
	# One dialect: the kernel's fault is the point, not the API.
	plans+=(disk-full@runbook)
else
	echo "not run: disk-full needs root (a tmpfs per node; uid $(id -u))"
fi
exec bash "$(dirname "$0")/catalog_check.sh" "${plans[@]}"
