#!/usr/bin/env bash
# Runs the failover drills: region failover (graceful) and region crash,
# manual failover, failback through tests/integration/catalog_check.sh (the
# shared checks).
set -uo pipefail
exec bash "$(dirname "$0")/catalog_check.sh" region-failover region-crash manual-failover failback
