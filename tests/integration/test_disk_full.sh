#!/usr/bin/env bash
# disk_full (issue 17, faults the kernel injects): a node's data directory,
# its own size-limited tmpfs, filled until ENOSPC.  Root only (mount(2)).
#
#   up-mounts                  cluster up --disk-limit: one tmpfs per node,
#                              recorded in cluster.json
#   refused-when-not-limited   disk_full on a cluster without the limit
#                              fails and says why (nothing filled)
#   lone-node-refuses          a node that cannot hand over (a 1-node
#                              cluster) answers RESOURCE_EXHAUSTED "no space
#                              left on device" and ledger_disk_full 1
#   lone-node-recovers         disk_free: the same process serves writes
#                              again, every acknowledged write reads back
#   leader-hands-over          the disk-full catalog drill (leader filled
#                              while the workload writes): passes (exit 0:
#                              RPO 0, no history violation), the filled
#                              leader refused and handed over, a quorum of
#                              the others served the writes
#   follower-write-failed-restarts
#                              a full follower written past its preallocated
#                              segments: its log write fails; freed, it
#                              restarts (exit 75) and catches up
#   interrupted-then-recover   the runner killed (-9) after the fill: the
#                              fill stays, `drillrig recover` frees it
#   down-unmounts              cluster down leaves no tmpfs mounted
set -uo pipefail

# shellcheck source-path=SCRIPTDIR source=../lib/cases.sh
. "$(dirname "$0")/../lib/cases.sh"
# shellcheck source-path=SCRIPTDIR source=../lib/cluster.sh
. "$(dirname "$0")/../lib/cluster.sh"

bin=${DRILLRIG_BIN:?DRILLRIG_BIN not set}
src=${DRILLRIG_SRC:?DRILLRIG_SRC not set}
py=/usr/bin/python3 # Debian's, where python3-grpcio lives
call=$src/tests/support/grpc_call.py

[ "$(id -u)" = 0 ] || cases_skip_all disk-full "needs root: each node's data directory is mounted as its own tmpfs"
"$py" -c 'import grpc' 2>/dev/null || cases_skip_all disk-full "needs python3-grpcio"

tmp=$(mktemp -d /tmp/drillrig-disk.XXXXXX)
cleanup() {
	local d pids
	for d in "$tmp"/c*; do
		[ -f "$d/cluster.json" ] && "$bin" cluster down --cluster "$d" >/dev/null 2>&1
	done
	pids=$(pgrep -f -- "$tmp/" || true)
	# shellcheck disable=SC2086 # one pid per word
	[ -n "$pids" ] && kill -9 $pids 2>/dev/null
	# A mount left by a failed case must not make rm -rf fail half-way.
	grep -o " $tmp/[^ ]*" /proc/mounts | while read -r m; do umount -l "$m"; done
	rm -rf "$tmp"
}
trap cleanup EXIT

leader_id() { # DIR
	"$bin" cluster status --cluster "$1" 2>/dev/null | awk '$5 == "leader" {print $1; exit}'
}
append() { # ADDR SEQ  (client "disk-test")
	"$py" "$call" -max-time 5 -d "{\"client_id\":\"disk-test\",\"sequence\":$2,\"payload\":\"p$2\"}" \
		"$1" inferadb.ledger.v1.Ledger/Append
}

# A plan with one disk_full of the leader (no undo: the fill stays after
# the run) or one disk_free step, and nothing else, run against an attached
# cluster.
cat >"$tmp/fill.yaml" <<'YAML'
version: 1
name: disk-fill-only
target: local
workload: {enabled: false}
steps:
  - {name: fill, action: disk_full, what: leader, fault: true}
YAML
cat >"$tmp/fill-follower.yaml" <<'YAML'
version: 1
name: disk-fill-node
target: local
vars: {NODE: "1"}
workload: {enabled: false}
steps:
  - {name: fill, action: disk_full, what: node, node: "${NODE}", fault: true}
YAML
cat >"$tmp/free.yaml" <<'YAML'
version: 1
name: disk-free-only
target: local
workload: {enabled: false}
steps:
  - {name: free, action: disk_free}
YAML
run_plan() { # PLAN DIR [--var ...]
	local plan=$1 dir=$2
	shift 2
	"$bin" run "$plan" --cluster "$dir" --no-results "$@" >"$tmp/run.out" 2>&1
}

cd "$src" || fatal "cannot cd to $src"

case_begin up-mounts
c1=$tmp/c1
"$bin" cluster up --cluster "$c1" --topology primary=1 --disk-limit 32 >"$tmp/up1.out" 2>&1 ||
	fatal "cluster up --disk-limit 32 failed: $(cat "$tmp/up1.out")"
grep -q "^drillrig-disk $c1/n1 tmpfs .*size=32768k" /proc/mounts ||
	fail "no 32 MiB tmpfs on $c1/n1: $(grep "$tmp" /proc/mounts)"
grep -q '"disk_limit_mb": 32' "$c1/cluster.json" || fail "cluster.json does not record the limit"
case_end

case_begin refused-when-not-limited
c0=$tmp/c0
"$bin" cluster up --cluster "$c0" --topology primary=1 >"$tmp/up0.out" 2>&1 ||
	fatal "cluster up failed: $(cat "$tmp/up0.out")"
run_plan "$tmp/fill.yaml" "$c0"
rc=$?
[ "$rc" -eq 1 ] || fail "disk_full without a disk limit exited $rc, expected 1: $(cat "$tmp/run.out")"
grep -q "never a real disk" "$tmp/run.out" || fail "the refusal does not say why: $(cat "$tmp/run.out")"
[ ! -e "$c0/n1/drillrig-disk-full.fill" ] || fail "a fill was written on a real disk"
"$bin" cluster down --cluster "$c0" >/dev/null 2>&1
case_end

case_begin lone-node-refuses
addr=$(cluster_node_field "$c1" 1 address)
http=$(cluster_node_field "$c1" 1 http_address)
pid=$(cluster_node_field "$c1" 1 pid)
acked=0
for seq in 1 2 3; do
	append "$addr" "$seq" >"$tmp/a.out" 2>&1 || fatal "append $seq before the fill: $(cat "$tmp/a.out")"
	acked=$((acked + 1))
done
run_plan "$tmp/fill.yaml" "$c1" || fatal "disk_full failed: $(cat "$tmp/run.out")"
[ -e "$c1/n1/drillrig-disk-full.fill" ] || fail "no fill file in n1"
# The node reads its free space every tick: a bounded poll for the refusal.
refused=
for _ in $(seq 50); do
	if ! append "$addr" 100 >"$tmp/a.out" 2>&1; then
		refused=1
		break
	fi
	sleep 0.1
done
[ -n "$refused" ] || fail "writes were still acknowledged with a full disk"
grep -q "Code: ResourceExhausted" "$tmp/a.out" || fail "not RESOURCE_EXHAUSTED: $(cat "$tmp/a.out")"
grep -q "no space left on device" "$tmp/a.out" || fail "the error does not say why: $(cat "$tmp/a.out")"
[ "$(node_metric "$http" ledger_disk_full)" = 1 ] || fail "ledger_disk_full is not 1 while full"
case_end

case_begin lone-node-recovers
run_plan "$tmp/free.yaml" "$c1" || fatal "disk_free failed: $(cat "$tmp/run.out")"
[ ! -e "$c1/n1/drillrig-disk-full.fill" ] || fail "the fill file is still there"
ok=
for _ in $(seq 50); do
	if append "$addr" 101 >"$tmp/a.out" 2>&1; then
		ok=1
		break
	fi
	sleep 0.1
done
[ -n "$ok" ] || fail "writes are still refused after disk_free: $(cat "$tmp/a.out")"
acked=$((acked + 1))
[ "$(cluster_node_field "$c1" 1 pid)" = "$pid" ] || fail "the node restarted (pid $pid -> $(cluster_node_field "$c1" 1 pid)): expected to serve again without one"
[ "$(node_metric "$http" ledger_disk_full)" = 0 ] || fail "ledger_disk_full is not 0 after disk_free"
"$py" "$call" -max-time 5 -d '{"from_index":1,"limit":1000}' "$addr" inferadb.ledger.v1.Ledger/Read >"$tmp/read.out" 2>&1 ||
	fail "read back failed: $(cat "$tmp/read.out")"
n=$(grep -c '"clientId": "disk-test"\|"client_id": "disk-test"' "$tmp/read.out")
[ "$n" -eq "$acked" ] || fail "read back $n entries of disk-test, acknowledged $acked"
"$bin" cluster down --cluster "$c1" >/dev/null 2>&1
case_end

case_begin leader-hands-over
c2=$tmp/c2
"$bin" cluster up --cluster "$c2" --disk-limit 64 >"$tmp/up2.out" 2>&1 ||
	fatal "cluster up failed: $(cat "$tmp/up2.out")"
wait_cluster_settled "$bin" "$c2" 30 || fatal "the cluster did not settle"
before=$(leader_id "$c2")
"$bin" run drills/disk-full.yaml --cluster "$c2" --no-results --json >"$tmp/drill.out" 2>&1
rc=$?
[ "$rc" -eq 0 ] || fail "the disk-full drill exited $rc: $(tail -n 30 "$tmp/drill.out")"
"$py" - "$tmp/drill.out" "$before" >"$tmp/check.out" 2>&1 <<'PY' || fail "drill result: $(cat "$tmp/check.out")"
import json, re, sys
events = [json.loads(l) for l in open(sys.argv[1]) if l.startswith("{")]
ends = {e["step"]: e for e in events if e.get("event") == "step_end"}
fill = ends["fill-leader-disk"]
assert fill["result"] == "ok", fill
filled = re.match(r"disk of node (\d+) full", fill["message"])
assert filled and filled.group(1) == sys.argv[2], ("filled", fill["message"], "leader before", sys.argv[2])
for name in ("leader-elsewhere", "writes-served-by-the-others", "free-disk", "resynced"):
    assert ends[name]["result"] == "ok", ends[name]
PY
log=$c2/n$before.log
grep -q "no space left on device" "$log" || fail "the filled leader never saw its disk full: $(tail -n 5 "$log")"
grep -q "disk full: transferring leadership" "$log" || fail "the filled leader did not hand over: $(tail -n 5 "$log")"
case_end

case_begin follower-write-failed-restarts
# Past its preallocated segments (3 x 4 MiB) a full follower's raft log
# write fails; libraft 0.15 then never writes those entries again (it stayed
# 43 entries behind for good in a run without the restart), so once the
# space is back the node exits 75 and the supervisor restarts it.
wait_cluster_settled "$bin" "$c2" 30 || fatal "the cluster did not settle after the drill"
lead=$(leader_id "$c2")
for f in 2 3 4 5 1; do [ "$f" != "$lead" ] && break; done
fpid=$(cluster_node_field "$c2" "$f" pid)
run_plan "$tmp/fill-follower.yaml" "$c2" --var "NODE=$f" || fatal "disk_full of node $f: $(cat "$tmp/run.out")"
"$py" - "$(cluster_node_field "$c2" "$lead" address)" >"$tmp/big.out" 2>&1 <<'PY' || fail "big writes: $(cat "$tmp/big.out")"
import sys, grpc
def varint(n):
    out = b""
    while True:
        b, n = n & 0x7f, n >> 7
        if n:
            out += bytes([b | 0x80])
        else:
            return out + bytes([b])
def field(num, data):
    return varint(num << 3 | 2) + varint(len(data)) + data
ch = grpc.insecure_channel(sys.argv[1], options=[("grpc.enable_http_proxy", 0)])
append = ch.unary_unary("/inferadb.ledger.v1.Ledger/Append")
for seq in range(1, 81):  # 80 x 200 KB: past the follower's 12 MiB
    req = field(1, b"disk-big") + varint(2 << 3) + varint(seq) + field(3, b"x" * 200000)
    append(req, timeout=10)
print("acked 80")
PY
grep -q "raft log write failed: no space left on device" "$c2/n$f.log" ||
	fail "node $f's log write never failed: $(tail -n 3 "$c2/n$f.log")"
run_plan "$tmp/free.yaml" "$c2" || fatal "disk_free failed: $(cat "$tmp/run.out")"
wait_cluster_settled "$bin" "$c2" 30 || fail "node $f did not catch up: $("$bin" cluster status --cluster "$c2")"
[ "$(cluster_node_field "$c2" "$f" pid)" != "$fpid" ] || fail "node $f was not restarted"
grep -q "exit 75" "$c2/supervisor.log" || fail "the supervisor saw no exit 75"
case_end

case_begin interrupted-then-recover
cat >"$tmp/interrupted.yaml" <<'YAML'
version: 1
name: disk-interrupted
target: local
workload: {enabled: false}
steps:
  - {name: fill, action: disk_full, what: follower, fault: true, undo: {action: disk_free}}
  - {name: hold, action: sleep, duration: 2m}
YAML
"$bin" run "$tmp/interrupted.yaml" --cluster "$c2" --no-results >"$tmp/int.out" 2>&1 &
runner=$!
filled=
for _ in $(seq 150); do
	filled=$(find "$c2" -maxdepth 2 -name drillrig-disk-full.fill 2>/dev/null | head -n 1)
	[ -n "$filled" ] && grep -q "fill: ok" "$tmp/int.out" && break
	filled=
	sleep 0.1
done
[ -n "$filled" ] || fail "no node was filled within 15 s: $(cat "$tmp/int.out")"
kill -9 "$runner" 2>/dev/null
wait "$runner" 2>/dev/null
[ -e "$filled" ] || fail "the fill went away without recover"
grep -q '"disk_free"' "$c2/drill.state.json" || fail "the state file holds no disk_free undo"
"$bin" recover --cluster "$c2" >"$tmp/rec.out" 2>&1
rc=$?
[ "$rc" -eq 0 ] || fail "recover exited $rc: $(cat "$tmp/rec.out")"
[ ! -e "$filled" ] || fail "recover left the fill $filled"
[ ! -e "$c2/drill.state.json" ] || fail "recover left the state file"
case_end

case_begin down-unmounts
"$bin" cluster down --cluster "$c2" >"$tmp/down.out" 2>&1 || fail "cluster down: $(cat "$tmp/down.out")"
if grep -q " $tmp/" /proc/mounts; then
	fail "tmpfs left mounted: $(grep " $tmp/" /proc/mounts)"
fi
case_end

cases_done
