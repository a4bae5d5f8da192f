#!/usr/bin/env bash
# `drillrig cluster ...` as a user runs it: exit codes, messages on stderr,
# the members table, --json, a node-forwarded unsafe promotion
# (ForceLeaderElection on a DR node), and `down` leaving no process.
set -uo pipefail

# shellcheck source-path=SCRIPTDIR source=../lib/cases.sh
. "$(dirname "${BASH_SOURCE[0]}")/../lib/cases.sh"

B=${DRILLRIG_BIN:?}
L=${LEDGERD_BIN:?}
if [ ! -x "$B" ] || [ ! -x "$L" ]; then
	cases_skip_all binaries-built "drillrig or ledgerd not built ($B, $L): make builds them"
fi
# Regression: a proxy in the environment (CI runners set one) must not
# catch the loopback calls of drillrig or of the nodes (gRPC reads grpc_proxy
# first, then https_proxy and http_proxy).  Port 9 is closed.
export http_proxy=http://127.0.0.1:9 HTTP_PROXY=http://127.0.0.1:9 all_proxy=http://127.0.0.1:9 \
	grpc_proxy=http://127.0.0.1:9 https_proxy=http://127.0.0.1:9
root=$(mktemp -d /dev/shm/drillrig-cli-XXXXXX 2>/dev/null || mktemp -d)
D=$root/c
# die MESSAGE: the open case fails, the supervisor's log is shown, and the
# script stops (later cases need the cluster this one failed to set up).
die() {
	fail "$*"
	[ -f "$D/supervisor.log" ] && tail -20 "$D/supervisor.log"
	cases_done
	exit 1
}
cleanup() {
	[ -f "$D/cluster.json" ] && "$B" cluster down --cluster "$D" >/dev/null 2>&1
	rm -rf "$root"
}
trap cleanup EXIT

# expect CODE CMD...: run, check the exit code, keep stderr in $err
expect() {
	local want=$1
	shift
	"$@" >"$root/out" 2>"$root/err"
	local rc=$?
	err=$(cat "$root/err")
	[ "$rc" -eq "$want" ] || die "'$*' exited $rc, expected $want; stderr: $err"
}

# usage errors: 2, with a message naming the problem
case_begin usage-errors-exit-2
expect 2 "$B" cluster up --cluster "$D" --topology primary=0
grep -q "count '0'" <<<"$err" || die "bad count not named: $err"
expect 2 "$B" cluster up --cluster "$D" --topology dr=2
grep -q "no region with role primary" <<<"$err" || die "missing primary not named: $err"
expect 2 "$B" cluster up --cluster "$D" --timing 30ms/300ms
grep -q "at least twice" <<<"$err" || die "bad timing not named: $err"
expect 2 "$B" cluster status
grep -q "needs --cluster" <<<"$err" || die "missing --cluster not named: $err"
expect 2 "$B" cluster frobnicate --cluster "$D"
# no cluster there: infrastructure error 3
case_begin no-cluster-exits-3
expect 3 "$B" cluster status --cluster "$D"
grep -q "no supervisor answers" <<<"$err" || die "no-cluster message: $err"

case_begin up-and-status
expect 0 "$B" cluster up --cluster "$D" --topology primary=3,dr=2 --timing 300ms/30ms
grep -q "^leader " "$root/out" || die "up printed no leader line: $(cat "$root/out")"
expect 0 "$B" cluster status --cluster "$D"
[ "$(grep -cE '^[0-9]+ +(primary|dr) ' "$root/out")" -eq 5 ] || die "table has not 5 rows: $(cat "$root/out")"
expect 0 "$B" cluster status --cluster "$D" --json
grep -q '^  "leader": {' "$root/out" || die "status --json has no leader: $(cat "$root/out")"
grep -qE '^  "supervisor_pid": [1-9]' "$root/out" || die "status --json has no supervisor pid"
# members (5) and nodes (5) each carry a live pid
[ "$(grep -cE '^      "pid": [1-9]' "$root/out")" -eq 10 ] || die "status --json pids: $(cat "$root/out")"
# the admin token: 64 hex digits in a 0600 file, never in cluster.json, a
# log or a process's arguments (only the file's path is passed)
tok=$(cat "$D/admin-token" 2>/dev/null) || die "cluster up wrote no $D/admin-token"
[ "$(stat -c %a "$D/admin-token")" = 600 ] || die "admin-token mode $(stat -c %a "$D/admin-token")"
grep -qxE '[0-9a-f]{64}' <<<"$tok" || die "admin-token holds no 64-digit hex token"
if grep -rqF "$tok" "$D"/cluster.json "$D"/*.log; then die "the admin token is in cluster.json or a log"; fi
if pgrep -f -- "$tok" >/dev/null; then die "the admin token is in a process's arguments"; fi
pgrep -f -- "--admin-token-file $D/admin-token" >/dev/null ||
	die "no node was started with --admin-token-file $D/admin-token"
# A node whose process runs but does not answer (stopped behind the
# supervisor's back, as a node drowned in connections looks): status says
# its view is partial and names the node (issue 17, finding 10).
case_begin status-says-when-its-view-is-partial
expect 0 "$B" cluster status --cluster "$D" --json
[ "$(jq -r .coverage.view "$root/out")" = complete ] ||
	die "a healthy cluster's status view is not complete: $(jq -c .coverage "$root/out")"
hung=$(jq -r '.nodes[] | select(.id == 4) | .pid' "$D/cluster.json")
kill -STOP "$hung"
expect 0 "$B" cluster status --cluster "$D" --json
cov=$(jq -c .coverage "$root/out")
expect 0 "$B" cluster status --cluster "$D"
kill -CONT "$hung"
jq -e '.view == "partial" and .asked == 5 and .answered == 4 and (.unanswered | length) == 1 and
	.unanswered[0].id == 4' <<<"$cov" >/dev/null || die "status of a cluster with node 4 hung: coverage $cov"
grep -q "^view partial: node 4's process runs but it did not answer" "$root/out" ||
	die "the status table does not say node 4 did not answer: $(cat "$root/out")"
case_begin kill-scale-promote-refusals
expect 2 "$B" cluster kill --cluster "$D" 1 --signal NOPE
expect 2 "$B" cluster stop --cluster "$D" 1 --signal HUP
grep -q "must be TERM or KILL" <<<"$err" || die "stop --signal HUP not refused by name: $err"
expect 2 "$B" cluster kill --cluster "$D" one
expect 3 "$B" cluster kill --cluster "$D" 42
grep -q "no node 42" <<<"$err" || die "unknown node not named: $err"
expect 2 "$B" cluster scale --cluster "$D" primary
expect 3 "$B" cluster scale --cluster "$D" mars=1
expect 2 "$B" cluster promote --cluster "$D" --region dr
grep -q "allow-data-loss" <<<"$err" || die "promote without --allow-data-loss: $err"

# A healthy cluster is never promoted unsafely: it would fence the primary
# region and lose what only it holds.  Refused, and nothing changed.
case_begin promote-refused-while-quorum-alive
expect 2 "$B" cluster promote --cluster "$D" --region dr --allow-data-loss
grep -q "quorum is alive" <<<"$err" || die "promote with a live quorum: $err"
expect 0 "$B" cluster status --cluster "$D" --json
grep -q '"fenced": true' "$root/out" && die "a node was fenced: $(cat "$root/out")"
[ "$(grep -cE '^      "pid": [1-9]' "$root/out")" -eq 10 ] || die "members down after a refused promote: $(cat "$root/out")"

# lose the primary region: dr (2 of 5) has no quorum; ask a DR node for an
# unsafe election, which it forwards to the supervisor.  The call is gRPC,
# made as the runbook makes it (grpcurl in a pod of the region), through
# the kubectl test double, whose grpcurl calls the node's gRPC address.
case_begin forwarded-unsafe-promotion
double_dir=${DRILLRIG_BUILD:-$(dirname "$B")}/tests/doubles
[ -x "$double_dir/kubectl" ] || die "kubectl test double not built at $double_dir"
expect 0 "$B" cluster scale --cluster "$D" primary=0
ok=
for _ in $(seq 1 100); do
	if PATH="$double_dir:$PATH" KUBECTL_DOUBLE_IMAGE_TOOLS=1 KUBECTL_DOUBLE_CLUSTER=$D \
		kubectl --context drill-dr -n inferadb exec inferadb-ledger-0 -- grpcurl -plaintext \
		-H "authorization: Bearer $(cat "$D/admin-token")" \
		-d '{"region":"dr","allowDataLoss":true}' localhost:50051 \
		inferadb.ledger.v1.Admin/ForceLeaderElection >"$root/fle" 2>&1 &&
		grep -q '"unsafe": *true' "$root/fle"; then
		ok=1
		break
	fi
	sleep 0.1
done
[ -n "$ok" ] || die "ForceLeaderElection was not accepted: $(cat "$root/fle" 2>/dev/null)"
ok=
for _ in $(seq 1 300); do
	if "$B" cluster status --cluster "$D" >"$root/st" 2>/dev/null &&
		grep -qE '^leader [0-9]+ \(dr,' "$root/st"; then
		ok=1
		break
	fi
	sleep 0.1
done
[ -n "$ok" ] || die "no leader in dr after the forwarded promotion"
grep -q "fenced" "$D/cluster.json" || die "no fenced node"
expect 3 "$B" cluster start --cluster "$D" 1
grep -q "fenced" <<<"$err" || die "starting a fenced node: $err"
case_begin primary-rejoins-and-resyncs
expect 0 "$B" cluster scale --cluster "$D" primary=normal
ok=
for _ in $(seq 1 300); do
	if "$B" cluster status --cluster "$D" >"$root/st" 2>/dev/null && grep -q "^Fully replicated" "$root/st" &&
		[ "$(grep -cE ' (leader|follower) ' "$root/st")" -eq 5 ]; then
		ok=1
		break
	fi
	sleep 0.1
done
[ -n "$ok" ] || die "not fully replicated after re-adding primary: $(cat "$root/st")"

case_begin attach-after-the-supervisor-died
# The supervisor killed (the OOM killer, a stray kill -9): its nodes run
# on unsupervised.  `up` refuses (it would start an empty cluster), and
# `attach` puts a new supervisor over the same data.
idx() { python3 -c 'import json,sys; d=json.load(sys.stdin); print(d["cluster_id"], d["commit_index"])'; }
expect 0 "$B" cluster status --cluster "$D" --json
read -r cid0 commit0 < <(idx <"$root/out")
sup=$(grep -oE '"supervisor_pid": [1-9][0-9]*' "$D/cluster.json" | grep -oE '[0-9]+$')
old=$(grep -oE '"pid": [1-9][0-9]*' "$D/cluster.json" | grep -oE '[0-9]+$' | sort)
if [ -z "$sup" ] || [ "$(wc -w <<<"$old")" -ne 5 ]; then
	die "cluster.json names no supervisor or not 5 nodes"
fi
kill -9 "$sup"
expect 3 "$B" cluster status --cluster "$D"
expect 3 "$B" cluster up --cluster "$D" --topology primary=3,dr=2
grep -q "still runs" <<<"$err" || die "up over orphaned nodes: $err"
expect 0 "$B" cluster attach --cluster "$D"
grep -q "supervised again" <<<"$err" || die "attach: $err"
new=$(grep -oE '"pid": [1-9][0-9]*' "$D/cluster.json" | grep -oE '[0-9]+$' | sort)
[ "$(wc -w <<<"$new")" -eq 5 ] || die "after attach cluster.json names $(wc -w <<<"$new") nodes, not 5"
for p in $old; do
	if grep -qx "$p" <<<"$new"; then
		fail "node pid $p was not replaced: the new supervisor does not own it"
	elif [ -e "/proc/$p/stat" ] && ! awk '{exit !($3=="Z")}' "/proc/$p/stat"; then
		fail "orphaned node pid $p still runs after attach"
	fi
done
ok=
for _ in $(seq 1 300); do
	if "$B" cluster status --cluster "$D" --json >"$root/st" 2>/dev/null &&
		"$B" cluster status --cluster "$D" 2>/dev/null | grep -q "^Fully replicated"; then
		ok=1
		break
	fi
	sleep 0.1
done
[ -n "$ok" ] || die "not fully replicated after attach: $(cat "$root/st")"
read -r cid1 commit1 < <(idx <"$root/st")
[ "$cid1" = "$cid0" ] || fail "attach changed the cluster id: $cid0 -> $cid1 (the data was not kept)"
[ "$commit1" -ge "$commit0" ] || fail "commit index went back from $commit0 to $commit1 (the log was not kept)"

case_begin down-leaves-no-process
pids=$(grep -oE '"(supervisor_)?pid": [1-9][0-9]*' "$D/cluster.json" | grep -oE '[0-9]+$')
[ "$(wc -w <<<"$pids")" -eq 6 ] || die "cluster.json does not name 6 processes: $pids"
expect 0 "$B" cluster down --cluster "$D"
for p in $pids; do
	if [ -e "/proc/$p/stat" ] && ! awk '{exit !($3=="Z")}' "/proc/$p/stat"; then
		fail "pid $p still runs after down"
	fi
done
expect 3 "$B" cluster status --cluster "$D"
cases_done
