#!/usr/bin/env bash
# Partitions the kernel injects (nftables, issue 17) on a real bundled
# cluster, checked from outside drillrig: ss for the nodes' own source
# addresses, `nft -j` for the rules and what they dropped, each node's own
# /metrics for what it heard.  Needs root and nft; skipped otherwise.
# Cases:
#   raft-traffic-leaves-from-each-nodes-own-address
#   one-way-cut-is-the-kernels: the leader cannot send, still hears (its
#     own term follows the new leader's), the kernel dropped packets, and a
#     SIGINT's rollback removes the table
#   recover-removes-the-rules-a-killed-drill-left
#   cluster-down-drops-a-leftover-table
#   without-nftables-the-debug-hook-and-says-so
set -uo pipefail

# shellcheck source-path=SCRIPTDIR source=../lib/cases.sh
. "$(dirname "$0")/../lib/cases.sh"

bin=${DRILLRIG_BIN:?DRILLRIG_BIN not set}
if [ "$(id -u)" -ne 0 ] || ! nft list tables >/dev/null 2>&1; then
	cases_skip_all nftables-partitions "needs root and a working nft (uid $(id -u))"
fi
tmp=$(mktemp -d /dev/shm/drillrig-nft.XXXXXX 2>/dev/null || mktemp -d)
cluster=$tmp/c
cleanup() {
	"$bin" cluster down --cluster "$cluster" >/dev/null 2>&1
	[ -n "${table:-}" ] && nft delete table inet "$table" 2>/dev/null
	rm -rf "$tmp"
}
trap cleanup EXIT

# until SECONDS WHAT COMMAND...: poll COMMAND every 0.1 s until it succeeds.
until_ok() {
	local limit=$1 what=$2 i
	shift 2
	for ((i = 0; i < limit * 10; i++)); do
		"$@" && return 0
		sleep 0.1
	done
	fail "not within ${limit}s: $what"
	return 1
}

"$bin" cluster up --cluster "$cluster" --enable-debug >"$tmp/up.out" 2>&1 || fatal "cluster up: $(cat "$tmp/up.out")"
net=$(jq -r .network "$cluster/cluster.json")
table="drillrig_${net//./_}"
prefix=${net%.0}.
node_addr() { jq -r --argjson id "$1" '.nodes[] | select(.id == $id) | .http_address' "$cluster/cluster.json"; }
leader_id() { "$bin" cluster status --cluster "$cluster" --json 2>/dev/null | jq -r '.leader.id // empty'; }
table_exists() { nft list table inet "$table" >/dev/null 2>&1; }
table_gone() { ! table_exists; }
# The packets the table's rules have dropped so far.
dropped() { nft -j list table inet "$table" | jq '[.nftables[].rule.expr[]?.counter.packets // empty] | add // 0'; }
term_of() { curl -s "http://$(node_addr "$1")/metrics" | awk '/^ledger_raft_term[ {]/ {print $NF; exit}'; }

case_begin raft-traffic-leaves-from-each-nodes-own-address
# Every established connection to a node's raft port comes from another
# node's own address, none from 127.0.0.1 (libraft alone connects unbound).
# (Other clusters may run meanwhile: only connections to ours count.)
conns=$(ss -Htn state established "( dport = :7001 )" | awk -v p="$prefix" 'index($4, p) == 1 {print $3}')
[ -n "$conns" ] || fail "no raft connections: $(ss -tn)"
while read -r src; do
	[[ $src == "$prefix"* ]] || fail "a raft connection leaves from $src, not from a node's address ($prefix*)"
done <<<"$conns"

plan() { # plan FILE DIRECTION [METHOD]
	cat >"$1" <<YAML
version: 1
name: nft-check
description: |
  test plan
target: local
objectives: {rpo: 0}
workload: {enabled: true, rate: 50, timeout: 200ms}
steps:
  - name: mute-leader
    action: partition
    what: leader
    direction: $2
    method: ${3:-auto}
    fault: true
    undo: {action: heal}
  - name: hold
    action: sleep
    duration: 60s
  - name: heal
    action: heal
  - name: converged
    action: await_replicated
    timeout: 30s
YAML
}
run_bg() { # run_bg PLAN OUT: a drill on the attached cluster, in the background
	(exec "$bin" run "$1" --cluster "$cluster" --no-results --keep-cluster >"$2" 2>&1) &
	drill=$!
}
wait_line() { grep -q "$2" "$1"; }

case_begin one-way-cut-is-the-kernels
old=$(leader_id)
[ -n "$old" ] || fatal "no leader before the drill"
plan "$tmp/oneway.yaml" outbound
run_bg "$tmp/oneway.yaml" "$tmp/oneway.out"
until_ok 30 "the drill's partition step" wait_line "$tmp/oneway.out" "mute-leader: ok"
grep -q "node $old cannot send to the other 4 members, still hearing them (injected by nftables)" "$tmp/oneway.out" ||
	fail "the step does not say what was cut and by whom: $(cat "$tmp/oneway.out")"
table_exists || fail "no nftables table $table during the partition"
new_elected() { local l; l=$(leader_id); [ -n "$l" ] && [ "$l" != "$old" ]; }
until_ok 15 "a new leader other than node $old" new_elected
new=$(leader_id)
# One way: the muted node still hears the new leader, so its own term
# reaches the new leader's (with the cut both ways it would not).
same_term() { [ -n "$(term_of "$old")" ] && [ "$(term_of "$old")" = "$(term_of "$new")" ]; }
until_ok 10 "node $old's term to follow node $new's ($(term_of "$old") vs $(term_of "$new"))" same_term
kernel_dropped() { [ "$(dropped)" -gt 0 ]; }
until_ok 10 "the kernel to drop packets" kernel_dropped
kill -INT "$drill"
wait "$drill"
rc=$?
[ "$rc" -eq 4 ] || fail "the interrupted drill exited $rc, expected 4: $(tail -5 "$tmp/oneway.out")"
table_gone || fail "the rollback left the table $table: $(nft list table inet "$table")"
grep -q "undo mute-leader: ok in .*: healed 5 nodes; nftables rules removed (they dropped [1-9][0-9]* packets)" "$tmp/oneway.out" ||
	fail "the undo does not report the removed rules: $(grep undo "$tmp/oneway.out")"

case_begin recover-removes-the-rules-a-killed-drill-left
"$bin" cluster status --cluster "$cluster" >/dev/null 2>&1 || true
plan "$tmp/both.yaml" both nftables
run_bg "$tmp/both.yaml" "$tmp/both.out"
until_ok 30 "the drill's partition step" wait_line "$tmp/both.out" "mute-leader: ok"
grep -q "cut off from the other 4 members (injected by nftables)" "$tmp/both.out" ||
	fail "step message: $(cat "$tmp/both.out")"
kill -KILL "$drill"
wait "$drill" 2>/dev/null
table_exists || fail "the killed drill's rules are already gone: nothing for recover to do"
"$bin" recover --cluster "$cluster" --keep-cluster >"$tmp/recover.out" 2>&1
rc=$?
[ "$rc" -eq 0 ] || fail "recover exited $rc: $(cat "$tmp/recover.out")"
table_gone || fail "recover left the table $table"
replicated() { "$bin" cluster status --cluster "$cluster" 2>/dev/null | grep -q "Fully replicated"; }
until_ok 20 "the cluster to be fully replicated after recover" replicated

case_begin cluster-down-drops-a-leftover-table
printf 'table inet %s {\n\tchain output {\n\t\ttype filter hook output priority 0; policy accept;\n\t}\n}\n' "$table" | nft -f - ||
	fatal "cannot plant a table"
"$bin" cluster down --cluster "$cluster" >/dev/null 2>&1 || fail "cluster down"
table_gone || fail "cluster down left the table $table"
"$bin" cluster up --cluster "$cluster" --enable-debug >"$tmp/up.out" 2>&1 || fatal "cluster up again: $(cat "$tmp/up.out")"
net=$(jq -r .network "$cluster/cluster.json")
table="drillrig_${net//./_}"

case_begin without-nftables-the-debug-hook-and-says-so
# nft lives in /usr/sbin: without it on PATH, nftables cannot be used.
plan "$tmp/hook.yaml" both
sed -i 's/duration: 60s/duration: 1s/' "$tmp/hook.yaml"
PATH=/usr/bin:/bin "$bin" run "$tmp/hook.yaml" --cluster "$cluster" --no-results --keep-cluster >"$tmp/hook.out" 2>&1
rc=$?
[ "$rc" -eq 0 ] || fail "the debug-hook drill exited $rc: $(tail -5 "$tmp/hook.out")"
grep -q "cut off from the other 4 members (injected by ledgerd debug hook; nftables not usable: " "$tmp/hook.out" ||
	fail "the step does not say the debug hook cut it and why: $(grep mute-leader "$tmp/hook.out")"
table_gone || fail "a table appeared without nft"
plan "$tmp/hook1.yaml" outbound
PATH=/usr/bin:/bin "$bin" run "$tmp/hook1.yaml" --cluster "$cluster" --no-results --keep-cluster >"$tmp/hook1.out" 2>&1
rc=$?
# Known from the plan: an infrastructure error before anything runs.
[ "$rc" -eq 3 ] || fail "a one-way cut without nftables exited $rc, expected 3"
grep -q "this drill's partitions need nftables: " "$tmp/hook1.out" ||
	fail "no clear refusal: $(tail -3 "$tmp/hook1.out")"
grep -q "mute-leader" "$tmp/hook1.out" && fail "the drill ran steps: $(cat "$tmp/hook1.out")"

case_begin without-root-nothing-runs
# The plan says what it needs; a drill that cannot inject its faults is an
# infrastructure error before the cluster starts, and drill-all leaves it out.
src=${DRILLRIG_SRC:?DRILLRIG_SRC not set}
"$bin" validate "$src/drills/partition-one-way.yaml" | grep -q "(11 steps; needs root, nftables)$" ||
	fail "validate does not name the needs: $("$bin" validate "$src/drills/partition-one-way.yaml")"
mkdir -m 0777 "$tmp/nobody"
(cd "$tmp/nobody" && setpriv --reuid=65534 --regid=65534 --clear-groups env HOME="$tmp/nobody" \
	"$bin" run "$src/drills/partition-one-way.yaml" --no-results) >"$tmp/nobody.out" 2>&1
rc=$?
[ "$rc" -eq 3 ] || fail "as nobody: exit $rc, expected 3: $(tail -3 "$tmp/nobody.out")"
grep -q "this drill needs root (uid 65534): the kernel injects its partitions (nftables)" "$tmp/nobody.out" ||
	fail "no reason given: $(tail -3 "$tmp/nobody.out")"
grep -q "steady state" "$tmp/nobody.out" && fail "the drill got as far as its steady state"
(cd "$src" && setpriv --reuid=65534 --regid=65534 --clear-groups env HOME="$tmp/nobody" DRILLRIG="$bin" \
	bash ci/drill-all.sh --results-repo "$tmp/nobody/results" drills/partition-one-way.yaml) >"$tmp/all.out" 2>&1
rc=$?
[ "$rc" -eq 0 ] || fail "drill-all as nobody exited $rc: $(tail -3 "$tmp/all.out")"
grep -q "^0 drills: 0 passed, 0 failed; not run (need root): partition-one-way$" "$tmp/all.out" ||
	fail "drill-all does not name what it left out: $(tail -3 "$tmp/all.out")"

cases_done
