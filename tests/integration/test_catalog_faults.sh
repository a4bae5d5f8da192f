#!/usr/bin/env bash
# Runs the machine-loss drills: pod, node and zone failure
# through tests/integration/catalog_check.sh (the shared checks).
set -uo pipefail
exec bash "$(dirname "$0")/catalog_check.sh" pod-failure node-failure zone-failure
