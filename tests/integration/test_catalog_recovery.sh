#!/usr/bin/env bash
# Runs the recovery drills: network partition, quorum loss, backup and restore
# through tests/integration/catalog_check.sh (the shared checks).
set -uo pipefail
exec bash "$(dirname "$0")/catalog_check.sh" network-partition quorum-loss backup-restore
