#!/usr/bin/env bash
# Runs the recovery drills: network partition, quorum loss, backup and restore
# through tests/integration/catalog_check.sh (the shared checks), and the
# one-way partition where the kernel can inject it (root and nft: it is
# method: nftables on purpose, so it never falls back to the debug hook).
set -uo pipefail
plans=(network-partition quorum-loss backup-restore)
if [ "$(id -u)" -eq 0 ] && nft list tables >/dev/null 2>&1; then
	# One dialect: the kernel's fault is the point, not the API.
	plans+=(partition-one-way@runbook)
else
	echo "not run: partition-one-way needs root and nftables (uid $(id -u))"
fi
exec bash "$(dirname "$0")/catalog_check.sh" "${plans[@]}"
