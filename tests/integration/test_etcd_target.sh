#!/usr/bin/env bash
# The etcd target end to end with Debian's etcd-server: the monthly region
# failover drill (5 members: primary 2, dr 2, witness 1) and a 3-member
# kill-the-leader drill both pass with --target etcd, measure their RTO and
# RPO through the etcd data path, and leave no etcd process or data behind.
set -uo pipefail

# shellcheck source-path=SCRIPTDIR source=../lib/cases.sh
. "$(dirname "${BASH_SOURCE[0]}")/../lib/cases.sh"

bin=${DRILLRIG_BIN:?DRILLRIG_BIN not set}
src=${DRILLRIG_SRC:?DRILLRIG_SRC not set}

# Every member's argv names its data directory under $tmp: whatever went
# wrong, nothing of ours outlives the test (never kill by program name).
cleanup() {
	local pids
	pids=$(pgrep -f -- "$tmp/" || true)
	if [ -n "$pids" ]; then
		# shellcheck disable=SC2086 # one pid per word
		kill -9 $pids 2>/dev/null || true
	fi
	rm -rf "$tmp"
}

# Skipped without etcd (a failure under CI=true, where make deps installs it).
if ! command -v etcd >/dev/null 2>&1; then
	cases_skip_all etcd-installed "etcd is not installed (apt-get install etcd-server)"
fi
tmp=$(mktemp -d /dev/shm/drillrig-etcdtest.XXXXXX 2>/dev/null || mktemp -d)
trap cleanup EXIT

cat >"$tmp/kill-leader.yaml" <<'PLAN'
version: 1
name: etcd-kill-leader
description: kill -9 the leader of a 3-member etcd cluster; a new leader, the old one back
topology:
  regions:
    - {name: east, role: primary, size: 1}
    - {name: west, role: dr, size: 2}
  timing:
    election_timeout: 300ms
    heartbeat: 30ms
objectives:
  rto: 10s
  rpo: 0
workload:
  rate: 0
  timeout: 200ms
steady_state:
  - type: cluster_status
    name: leader-and-replicated
    expect: {leader: true, replicated: true}
steps:
  - name: kill-leader
    action: kill
    what: leader
    fault: true
  # Any member may win: the killed one is restarted at once, like a pod.
  - name: new-leader
    action: await_leader
    timeout: 10s
  - name: killed-member-back
    action: await_healthy
    timeout: 20s
  - name: caught-up
    action: await_replicated
    timeout: 20s
  # The workload stops with the last step: give it an observation window
  # after recovery, so its first acknowledged write after the outage (the
  # end of the RTO) falls inside the drill.
  - name: observe
    action: sleep
    duration: 1s
PLAN

run_drill() { # name plan
	local name=$1 plan=$2
	mkdir -p "$tmp/$name"
	DRILLRIG_CLUSTER_ROOT=$tmp/clusters timeout 100 "$bin" run "$plan" --target etcd \
		--results-repo "$tmp/$name/results" >"$tmp/$name/out" 2>"$tmp/$name/err"
	local rc=$?
	cat "$tmp/$name/out" "$tmp/$name/err"
	[ "$rc" -eq 0 ] || fail "$name: drillrig exited $rc, expected 0"
	grep -q "verdict: passed" "$tmp/$name/out" || fail "$name: no passing verdict"
	grep -Eq "ok +rto +[0-9.]+ (ms|s)" "$tmp/$name/out" || fail "$name: no measured RTO"
	grep -Eq "ok +rpo +0 writes" "$tmp/$name/out" || fail "$name: RPO is not 0 writes"
	local journal
	journal=$(find "$tmp/$name/results" -name journal.json | head -n 1)
	if [ -z "$journal" ]; then
		fail "$name: no journal.json"
		return
	fi
	grep -q '"kind": *"etcd"' "$journal" || fail "$name: the journal's target is not etcd"
	# The workload wrote through etcd: acknowledged writes were counted.
	grep -Eq "Writes ok \| [1-9][0-9]* \|" "$(dirname "$journal")/report.md" ||
		fail "$name: the report shows no acknowledged write"
}

cd "$src" || fatal "cannot cd to $src"
# A dry run starts no member and passes no verdict: each step says what it
# would do, and the last line says the dry run completed.
case_begin dry-run-on-etcd
mkdir -p "$tmp/dry"
DRILLRIG_CLUSTER_ROOT=$tmp/clusters timeout 100 "$bin" run drills/region-failover.yaml --target etcd \
	--dry-run --results-repo "$tmp/dry/results" >"$tmp/dry/out" 2>"$tmp/dry/err"
rc=$?
[ "$rc" -eq 0 ] || fail "dry run: drillrig exited $rc, expected 0: $(cat "$tmp/dry/err")"
steps=$(grep -cE '^ +[a-z0-9-]+( [a-z0-9-]+)?: ok in [0-9.]+s: ' "$tmp/dry/out")
would=$(grep -cE '^ +[a-z0-9-]+( [a-z0-9-]+)?: ok in [0-9.]+s: would run ' "$tmp/dry/out")
if [ "$steps" -lt 7 ] || [ "$steps" -ne "$would" ]; then
	fail "dry run: $would of $steps steps say 'would run':
$(cat "$tmp/dry/out")"
fi
grep -q ': would run scale .* on the etcd cluster$' "$tmp/dry/out" ||
	fail "dry run: the scale is not described as the etcd cluster's"
grep -q '^verdict' "$tmp/dry/out" && fail "dry run: a verdict was printed"
[ "$(tail -n 1 "$tmp/dry/out")" = "dry run complete (exit 0): nothing was touched" ] ||
	fail "dry run: last line '$(tail -n 1 "$tmp/dry/out")'"
[ -e "$tmp/dry/results" ] && fail "dry run: a results repository was made"
left=$(pgrep -f -- "$tmp/clusters" || true)
[ -z "$left" ] || fail "dry run: etcd members were started: $left"

case_begin region-failover-on-etcd
run_drill region-failover drills/region-failover.yaml
grep -q "leader [0-9]* in region dr" "$tmp/region-failover/out" ||
	fail "region-failover: the DR region did not take over"
# Like a StatefulSet (and the local target): highest ordinal first.
order=$(python3 - "$(find "$tmp/region-failover/results" -name journal.json | head -n 1)" <<'PY'
import json, sys
for s in json.load(open(sys.argv[1])).get("steps", []):
    d = s.get("data") or {}
    if s.get("name") == "scale-primary-to-zero" and "stopped_ids" in d:
        print(" ".join(str(i) for i in d["stopped_ids"]))
PY
)
read -r -a ids <<<"$order"
if [ "${#ids[@]}" -ne 2 ] || [ "${ids[0]}" -le "${ids[1]}" ]; then
	fail "region-failover: the primary members stopped in the order '$order', expected the highest ordinal first"
fi
case_begin kill-leader-on-etcd
run_drill kill-leader "$tmp/kill-leader.yaml"
grep -q "sent SIGKILL to member" "$tmp/kill-leader/out" || fail "kill-leader: no member was killed"

# Teardown is synchronous: nothing may be left running or on disk.
case_begin nothing-left-behind
left=$(pgrep -f -- "$tmp/clusters" || true)
[ -z "$left" ] || fail "etcd processes left running: $left"
if compgen -G "$tmp/clusters/drillrig-etcd-*" >/dev/null; then
	fail "etcd data directories left behind: $(echo "$tmp"/clusters/drillrig-etcd-*)"
fi

cases_done
