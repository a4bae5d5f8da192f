#!/usr/bin/env bash
# A cut network does not outlast itself (ledger/daemon/transport_connect.c).
# The kernel retries an unanswered SYN after 1, 3, 7 s ... and unacknowledged
# data with a backoff that doubles, so without ledgerd's own limit a node cut
# off for a few seconds heard from its peers again only at the kernel's next
# retry, long after the heal (12 s cut: caught up 2.1 s after it; now
# 0.2-0.4 s).  Here a DR follower is cut off by nftables for 3 s under the
# workload, then healed:
#
#   stalled-stream-is-made-again  the leader's stream to the cut node was
#                                 dropped while the cut lasted (nothing was
#                                 acknowledged for 1 s, twice the election
#                                 timeout at least): the leader connected
#                                 again and
#                                 gave that connect up unanswered
#                                 (ledger_raft_connect_timeouts_total >= 1;
#                                 without TCP_USER_TIMEOUT the old stream
#                                 stays, retransmitting, and the leader
#                                 never connects during the cut)
#   unanswered-connects-are-retried
#                                 the cut node's connects to the others were
#                                 given up and made again while the cut
#                                 lasted
#   caught-up-after-the-heal      the drill passes: the cut node is "Fully
#                                 replicated" after the heal, nothing
#                                 acknowledged is lost
#
# No timed assertion: how soon it catches up is a figure, not a test (the
# soak and the catalog's partition drills show it).  Needs root and nftables.
set -uo pipefail

# shellcheck source-path=SCRIPTDIR source=../lib/cases.sh
. "$(dirname "$0")/../lib/cases.sh"
# shellcheck source-path=SCRIPTDIR source=../lib/cluster.sh
. "$(dirname "$0")/../lib/cluster.sh"

bin=${DRILLRIG_BIN:?DRILLRIG_BIN not set}

[ "$(id -u)" = 0 ] || cases_skip_all partition-heal "needs root: nftables cuts the network"
nft list tables >/dev/null 2>&1 || cases_skip_all partition-heal "nftables is not usable here"

tmp=$(mktemp -d /tmp/drillrig-heal.XXXXXX)
cleanup() {
	local d
	for d in "$tmp"/clusters/*/; do
		[ -f "$d/cluster.json" ] && "$bin" cluster down --cluster "$d" >/dev/null 2>&1
	done
	rm -rf "$tmp"
}
trap cleanup EXIT
mkdir -p "$tmp/clusters"

# Node ids: primary 1-2, dr 3-4, witness 5; the leader stays in primary,
# so node 4 is a follower.
cat >"$tmp/cut.yaml" <<'YAML'
version: 1
name: cut-follower-then-heal
target: local
topology:
  regions:
    - {name: primary, role: primary, size: 2}
    - {name: dr, role: dr, size: 2}
    - {name: witness, role: witness, size: 1}
  timing: {election_timeout: 300ms, heartbeat: 30ms}
objectives: {rpo: 0}
workload: {enabled: true, rate: 0, timeout: 200ms}
steps:
  - {name: leads, action: await_leader, region: primary, timeout: 10s}
  - name: cut-node-4
    action: partition
    what: node
    node: "4"
    method: nftables
    fault: true
    undo: {action: heal}
  - {name: cut-lasts, action: sleep, duration: 3s}
  - {name: heal, action: heal}
  - {name: caught-up, action: await_replicated, timeout: 60s}
YAML

DRILLRIG_CLUSTER_ROOT=$tmp/clusters timeout 120 "$bin" run "$tmp/cut.yaml" --no-results \
	--keep-cluster >"$tmp/run.out" 2>&1
rc=$?
dir=$(find "$tmp/clusters" -mindepth 1 -maxdepth 1 -type d | head -n 1)
if [ -z "$dir" ] || [ ! -f "$dir/cluster.json" ]; then
	fatal "no kept cluster (exit $rc): $(tail -n 20 "$tmp/run.out")"
fi

leader=$(grep -oE 'leads: ok in [0-9.]+s: leader [0-9]+' "$tmp/run.out" | awk '{print $NF}')
[ -n "$leader" ] || fatal "no leader named by the drill: $(tail -n 20 "$tmp/run.out")"

metric() { # NODE NAME: the node's counter, empty when it has none
	node_metric "$(cluster_node_field "$dir" "$1" http_address)" "$2"
}

case_begin stalled-stream-is-made-again
timeouts=$(metric "$leader" ledger_raft_connect_timeouts_total)
[ "${timeouts:-0}" -ge 1 ] 2>/dev/null ||
	fail "leader $leader's ledger_raft_connect_timeouts_total is '${timeouts:-absent}': it never connected to node 4 during the 3 s cut (its stalled stream was kept)"

case_begin unanswered-connects-are-retried
timeouts=$(metric 4 ledger_raft_connect_timeouts_total)
[ "${timeouts:-0}" -ge 1 ] 2>/dev/null ||
	fail "node 4's ledger_raft_connect_timeouts_total is '${timeouts:-absent}': none of its connects during the 3 s cut was given up"

case_begin caught-up-after-the-heal
[ "$rc" -eq 0 ] || fail "the drill exited $rc: $(tail -n 20 "$tmp/run.out")"
grep -q "caught-up: ok" "$tmp/run.out" || fail "node 4 did not catch up: $(tail -n 20 "$tmp/run.out")"
grep -qE "rpo +0 writes" "$tmp/run.out" || fail "acknowledged writes lost: $(grep rpo "$tmp/run.out")"

cases_done
