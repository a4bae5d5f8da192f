#!/usr/bin/env bash
# ci/restore-primary.sh after a runner was killed in the middle of a fault:
# region-failover's runner gets SIGKILL right after it scaled the primary
# region to 0, so its undo never ran; the script finds the drill's cluster
# under DRILLRIG_CLUSTER_ROOT, `drillrig recover` scales the primary back,
# waits for "Fully replicated" and takes the cluster down; nothing is left
# running.
set -uo pipefail

# shellcheck source-path=SCRIPTDIR source=../lib/cases.sh
. "$(dirname "${BASH_SOURCE[0]}")/../lib/cases.sh"

bin=${DRILLRIG_BIN:?DRILLRIG_BIN not set}
src=${DRILLRIG_SRC:?DRILLRIG_SRC not set}
tmp=$(mktemp -d /dev/shm/drillrig-ci-restore.XXXXXX 2>/dev/null || mktemp -d)
runner=

cleanup() {
	local pids
	if [ -n "$runner" ]; then
		kill -9 "$runner" 2>/dev/null || true
	fi
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
mkdir -p "$tmp/clusters"

case_begin runner-killed-after-the-fault
"$bin" run drills/region-failover.yaml --json --no-results >"$tmp/events" 2>"$tmp/err" &
runner=$!
# Bounded poll for the end of the fault step (30 s).
for _ in $(seq 300); do
	grep -q '"step":"scale-primary-to-zero".*"event":"step_end"' "$tmp/events" && break
	sleep 0.1
done
if ! grep -q '"step":"scale-primary-to-zero".*"event":"step_end"' "$tmp/events"; then
	fatal "the drill never finished its fault step: $(tail -n 3 "$tmp/events") $(tail -n 3 "$tmp/err")"
fi
kill -9 "$runner"
wait "$runner" 2>/dev/null
runner=

ls "$tmp"/clusters/drillrig-region-failover-*/cluster.json >/dev/null 2>&1 ||
	fail "the killed drill left no cluster to recover"

case_begin restore-primary-recovers-the-cluster
timeout 120 ci/restore-primary.sh >"$tmp/out" 2>&1
rc=$?
cat "$tmp/out"
[ "$rc" -eq 0 ] || fail "restore-primary.sh exited $rc"
grep -q 'recovering the cluster in' "$tmp/out" || fail "restore-primary.sh did not find the cluster"

case_begin nothing-left-running
for _ in $(seq 50); do
	pgrep -f -- "$tmp/clusters" >/dev/null || break
	sleep 0.1
done
if pgrep -f -- "$tmp/clusters" >/dev/null; then
	fail "processes left running after recovery: $(pgrep -af -- "$tmp/clusters")"
fi

cases_done
