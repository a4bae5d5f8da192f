#!/usr/bin/env bash
# The kubectl test double itself (tests/doubles/kubectl_double*.c) behaves
# like a production Kubernetes with the distroless ledger image, checked
# against a bundled cluster with a client drillrig did not write (Debian's
# python3-grpcio, tests/support/grpc_call.py):
#   - port-forward relays gRPC to the pod's node, many calls at once, and
#     ends with "lost connection to pod" (exit 1) when the pod is force
#     deleted; kubectl's errors for a missing pod, a Pending pod and a port
#     in use; SIGTERM ends it quietly;
#   - exec and cp fail as on a distroless image, unless image tools are on,
#     and then `kill -9 1` from inside the pod does nothing;
#   - a denied verb fails with the API server's Forbidden;
#   - a scale's status lags, then shows the pods as they are;
#   - Leases keep a resourceVersion: a stale one is a Conflict, an unknown
#     field is rejected;
#   - Chaos Mesh objects exist only with KUBECTL_DOUBLE_CHAOS_MESH=1: a
#     PodChaos pod-kill recreates the pod, a NetworkChaos partition cuts a
#     region off until it is deleted.
set -uo pipefail

# shellcheck source-path=SCRIPTDIR source=../lib/cases.sh
. "$(dirname "${BASH_SOURCE[0]}")/../lib/cases.sh"
# shellcheck source-path=SCRIPTDIR source=../lib/cluster.sh
. "$(dirname "${BASH_SOURCE[0]}")/../lib/cluster.sh"

B=${DRILLRIG_BIN:?DRILLRIG_BIN not set}
src=${DRILLRIG_SRC:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}
build=${DRILLRIG_BUILD:-$src/build}
py=/usr/bin/python3
call=$src/tests/support/grpc_call.py
double_dir=$build/tests/doubles
[ -x "$B" ] || cases_skip_all binaries-built "drillrig not built at $B: make builds it"
[ -x "$double_dir/kubectl" ] || cases_skip_all double-built "the kubectl double is not built at $double_dir (make test builds it)"
if ! "$py" -c 'import grpc, google.protobuf' 2>/dev/null; then
	cases_skip_all python3-grpcio "Debian's python3-grpcio is not installed (apt-get install python3-grpcio)"
fi

root=$(mktemp -d "${TMPDIR:-/tmp}/drillrig-kubectl-double.XXXXXX")
D=$root/cluster
forwards=()
cleanup() {
	local p
	for p in "${forwards[@]}"; do
		kill "$p" 2>/dev/null
	done
	"$B" cluster down --cluster "$D" >/dev/null 2>&1
	rm -rf "$root"
}
trap cleanup EXIT

export PATH="$double_dir:$PATH" KUBECTL_DOUBLE_CLUSTER=$D
unset KUBECTL_DOUBLE_IMAGE_TOOLS KUBECTL_DOUBLE_DENY KUBECTL_DOUBLE_FAIL
K=(kubectl --context drill-primary -n inferadb)
k() { "${K[@]}" "$@"; }

# json_get FILE EXPR: a Python expression over the JSON in FILE as d.
json_get() {
	"$py" -c 'import json, sys
d = json.load(open(sys.argv[1]))
print(eval(sys.argv[2]))' "$1" "$2"
}

# node_pid ID: the pid cluster.json names for node ID.
node_pid() {
	json_get "$D/cluster.json" "[n['pid'] for n in d['nodes'] if n['id'] == $1][0]"
}

# forward POD OUT: starts `kubectl port-forward POD :50051` in the
# background (stdout OUT, stderr OUT.err), sets fwd_pid and fwd_port once it
# says "Forwarding from", or returns 1 after 10 s.
forward() {
	local i
	# The double itself in the background (a function would run in a
	# subshell: $! would be the subshell's).
	"${K[@]}" port-forward "$1" :50051 >"$2" 2>"$2.err" &
	fwd_pid=$!
	forwards+=("$fwd_pid")
	fwd_port=
	for ((i = 0; i < 100; i++)); do
		fwd_port=$(sed -n 's/^Forwarding from 127\.0\.0\.1:\([0-9]*\) -> 50051$/\1/p' "$2")
		[ -n "$fwd_port" ] && return 0
		kill -0 "$fwd_pid" 2>/dev/null || return 1
		sleep 0.1
	done
	return 1
}

# exited_within PID SECONDS: bounded poll until PID is gone; its exit
# status in fwd_rc.
exited_within() {
	local i
	for ((i = 0; i < $2 * 10; i++)); do
		if ! kill -0 "$1" 2>/dev/null; then
			wait "$1"
			fwd_rc=$?
			return 0
		fi
		sleep 0.1
	done
	return 1
}

# pod_is_running POD: the pod's container runs now (the pod in $root/pod.json).
pod_is_running() {
	k get pod "$1" -o json >"$root/pod.json" 2>/dev/null &&
		[ "$(json_get "$root/pod.json" "d['status']['phase']")" = Running ] &&
		[ "$(json_get "$root/pod.json" "'running' in d['status']['containerStatuses'][0]['state']")" = True ]
}

# pod_running POD SECONDS: bounded poll until the pod's container runs.
pod_running() {
	local i
	for ((i = 0; i < $2 * 10; i++)); do
		pod_is_running "$1" && return 0
		sleep 0.1
	done
	return 1
}

case_begin setup
# Debug faults on: NetworkChaos partitions through ledgerd's Debug/Partition.
"$B" cluster up --cluster "$D" --timing 300ms/30ms --enable-debug --no-admin-token >/dev/null || fatal "drillrig cluster up failed"
wait_cluster_settled "$B" "$D" 30 || fatal "the cluster never settled within 30 s"

case_begin port-forward-relays-grpc
if forward inferadb-ledger-0 "$root/fwd0"; then
	out=$("$py" "$call" -plaintext "127.0.0.1:$fwd_port" ledger.v1.HealthService/Check 2>&1) ||
		fail "HealthService/Check through the forward: $out"
	grep -q '"HEALTH_STATUS_HEALTHY"' <<<"$out" || fail "HealthService/Check through the forward: $out"
	out=$("$py" "$call" "127.0.0.1:$fwd_port" grpc.health.v1.Health/Check 2>&1) ||
		fail "Health/Check through the forward: $out"
	grep -q '"SERVING"' <<<"$out" || fail "Health/Check through the forward: $out"
	# Many at once: each is its own connection and HTTP/2 session.
	pids=()
	for i in 1 2 3 4 5 6 7 8; do
		"$py" "$call" "127.0.0.1:$fwd_port" ledger.v1.AdminService/GetClusterInfo >"$root/many$i" 2>&1 &
		pids+=($!)
	done
	for i in 1 2 3 4 5 6 7 8; do
		wait "${pids[$((i - 1))]}" || fail "concurrent call $i failed: $(cat "$root/many$i")"
		grep -q '"members"' "$root/many$i" || fail "concurrent call $i: $(cat "$root/many$i")"
	done
	[ "$(grep -c "^Handling connection for $fwd_port\$" "$root/fwd0")" -ge 10 ] ||
		fail "the forward did not say 'Handling connection' per connection: $(cat "$root/fwd0")"
else
	fail "port-forward did not start: $(cat "$root/fwd0" "$root/fwd0.err")"
fi

case_begin port-forward-port-in-use
if [ -n "${fwd_port:-}" ]; then
	err=$(k port-forward inferadb-ledger-1 "$fwd_port:50051" 2>&1 >/dev/null)
	rc=$?
	[ "$rc" -eq 1 ] || fail "a taken local port exited $rc, expected 1"
	grep -qF "Unable to listen on port $fwd_port: Listeners failed to create with the following errors: [unable to create listener: Error listen tcp4 127.0.0.1:$fwd_port: bind: address already in use]" <<<"$err" ||
		fail "no 'address already in use': $err"
	grep -qF "error: unable to listen on any of the requested ports: [{$fwd_port 50051}]" <<<"$err" ||
		fail "no 'unable to listen on any of the requested ports': $err"
else
	fail "no forward to collide with"
fi

case_begin port-forward-sigterm-exits-0
if [ -n "${fwd_pid:-}" ]; then
	kill -TERM "$fwd_pid"
	exited_within "$fwd_pid" 5 || fail "the forward did not exit within 5 s of SIGTERM"
	[ "${fwd_rc:-}" = 0 ] || fail "SIGTERM: the forward exited ${fwd_rc:-?}, expected 0"
	[ ! -s "$root/fwd0.err" ] || fail "SIGTERM: the forward said: $(cat "$root/fwd0.err")"
fi

case_begin port-forward-missing-pod
err=$(k port-forward pod/inferadb-ledger-9 :50051 2>&1 >/dev/null)
rc=$?
[ "$rc" -eq 1 ] || fail "a missing pod exited $rc"
grep -qF 'Error from server (NotFound): pods "inferadb-ledger-9" not found' <<<"$err" || fail "missing pod: $err"

case_begin force-delete-ends-the-forward
if forward inferadb-ledger-1 "$root/fwd1"; then
	uid=$(k get pod inferadb-ledger-1 -o json | "$py" -c 'import json, sys; print(json.load(sys.stdin)["metadata"]["uid"])')
	out=$(k delete pod inferadb-ledger-1 --force --grace-period=0 2>"$root/del.err")
	rc=$?
	[ "$rc" -eq 0 ] || fail "force delete exited $rc: $(cat "$root/del.err")"
	[ "$out" = 'pod "inferadb-ledger-1" force deleted' ] || fail "force delete said: $out"
	grep -qF 'Warning: Immediate deletion does not wait for confirmation' "$root/del.err" ||
		fail "no immediate-deletion warning: $(cat "$root/del.err")"
	if exited_within "$fwd_pid" 5; then
		[ "$fwd_rc" -eq 1 ] || fail "the forward exited $fwd_rc after its pod went, expected 1"
		grep -q 'portforward.go:[0-9]*\] an error occurred forwarding [0-9]* -> 50051: .*lost connection to pod' "$root/fwd1.err" ||
			fail "no 'lost connection to pod' line: $(cat "$root/fwd1.err")"
		grep -qx 'error: lost connection to pod' "$root/fwd1.err" || fail "no final error line: $(cat "$root/fwd1.err")"
	else
		fail "the forward still runs 5 s after its pod was force deleted"
	fi
	# The StatefulSet recreates the pod: a new uid, running again.
	if pod_running inferadb-ledger-1 15; then
		[ "$(json_get "$root/pod.json" "d['metadata']['uid']")" != "$uid" ] || fail "the recreated pod kept uid $uid"
		[ "$(json_get "$root/pod.json" "d['status']['containerStatuses'][0]['restartCount']")" = 0 ] ||
			fail "a recreated pod starts with restartCount 0: $(cat "$root/pod.json")"
	else
		fail "inferadb-ledger-1 was not recreated within 15 s"
	fi
else
	fail "port-forward did not start: $(cat "$root/fwd1" "$root/fwd1.err")"
fi

case_begin port-forward-pending-pod
out=$(KUBECTL_DOUBLE_RECREATE_MS=5000 k delete pod/inferadb-ledger-1 --force 2>/dev/null)
[ "$out" = 'pod "inferadb-ledger-1" force deleted' ] || fail "force delete said: $out"
err=$(k port-forward inferadb-ledger-1 :50051 2>&1 >/dev/null)
rc=$?
[ "$rc" -eq 1 ] || fail "a Pending pod exited $rc"
grep -qF 'error: unable to forward port because pod is not running. Current status=Pending' <<<"$err" ||
	fail "Pending pod: $err"
pod_running inferadb-ledger-1 20 || fail "inferadb-ledger-1 was not recreated within 20 s"
wait_cluster_settled "$B" "$D" 30 || fail "the cluster did not settle again"

case_begin distroless-exec-and-cp
err=$(k exec inferadb-ledger-0 -- grpcurl -plaintext localhost:50051 list 2>&1 >/dev/null)
rc=$?
[ "$rc" -eq 1 ] || fail "exec on a distroless pod exited $rc"
grep -qF "OCI runtime exec failed: exec failed: unable to start container process: exec: \"grpcurl\": executable file not found in \$PATH: unknown" <<<"$err" ||
	fail "distroless exec: $err"
err=$(k cp "$root/pod.json" inferadb-ledger-0:/var/lib/ledger/x 2>&1 >/dev/null)
rc=$?
[ "$rc" -eq 1 ] || fail "cp to a distroless pod exited $rc"
grep -qF "exec: \"tar\": executable file not found in \$PATH" <<<"$err" || fail "distroless cp: $err"

case_begin image-tools-kill-9-pid1-does-nothing
before=$(node_pid 1)
KUBECTL_DOUBLE_IMAGE_TOOLS=1 k exec inferadb-ledger-0 -- kill -9 1 || fail "kill -9 1 exited non-zero"
KUBECTL_DOUBLE_IMAGE_TOOLS=1 k exec inferadb-ledger-0 -- kill -KILL 1 || fail "kill -KILL 1 exited non-zero"
out=$(KUBECTL_DOUBLE_IMAGE_TOOLS=1 k exec inferadb-ledger-0 -- grpcurl -plaintext localhost:50051 grpc.health.v1.Health/Check 2>&1) ||
	fail "grpcurl with image tools: $out"
[ "$(node_pid 1)" = "$before" ] || fail "kill -9 1 from inside the pod killed PID 1"
KUBECTL_DOUBLE_IMAGE_TOOLS=1 k exec inferadb-ledger-0 -- kill -TERM 1 || fail "kill -TERM 1 exited non-zero"
for ((i = 0; i < 100; i++)); do
	now=$(node_pid 1)
	[ "$now" != "$before" ] && [ "$now" != 0 ] && break
	sleep 0.1
done
[ "$(node_pid 1)" != "$before" ] || fail "kill -TERM 1 did not restart the container within 10 s"

case_begin denied-verbs-are-forbidden
err=$(KUBECTL_DOUBLE_DENY="create pods/portforward" k port-forward inferadb-ledger-0 :50051 2>&1 >/dev/null)
rc=$?
[ "$rc" -eq 1 ] || fail "a denied port-forward exited $rc"
grep -qF 'pods "inferadb-ledger-0" is forbidden: User "drill" cannot create resource "pods/portforward" in API group "" in the namespace "inferadb"' <<<"$err" ||
	fail "denied port-forward: $err"
[ "$(KUBECTL_DOUBLE_DENY="create pods/portforward" k auth can-i create pods/portforward)" = no ] ||
	fail "auth can-i create pods/portforward does not say no"
err=$(KUBECTL_DOUBLE_DENY="patch statefulsets/scale" k scale statefulset/inferadb-ledger --replicas=1 2>&1 >/dev/null)
rc=$?
[ "$rc" -eq 1 ] || fail "a denied scale exited $rc"
grep -qF 'Error from server (Forbidden): statefulsets.apps "inferadb-ledger" is forbidden: User "drill" cannot patch resource "statefulsets/scale" in API group "apps" in the namespace "inferadb"' <<<"$err" ||
	fail "denied scale: $err"
[ "$(json_get "$D/cluster.json" "[r['replicas'] for r in d['regions'] if r['name'] == 'primary'][0]")" = 2 ] ||
	fail "a denied scale scaled"
err=$(KUBECTL_DOUBLE_DENY="delete pods" k delete pod inferadb-ledger-0 2>&1 >/dev/null)
rc=$?
[ "$rc" -eq 1 ] || fail "a denied delete exited $rc"
grep -qF 'Error from server (Forbidden): pods "inferadb-ledger-0" is forbidden' <<<"$err" || fail "denied delete: $err"

case_begin scale-status-lags-then-catches-up
k get statefulset inferadb-ledger -o json >"$root/sts0.json" || fail "get statefulset"
gen0=$(json_get "$root/sts0.json" "d['metadata']['generation']")
KUBECTL_DOUBLE_STATUS_LAG_MS=1500 k scale statefulset/inferadb-ledger --replicas=1 >/dev/null || fail "scale to 1"
KUBECTL_DOUBLE_STATUS_LAG_MS=1500 k get statefulset inferadb-ledger -o json >"$root/sts1.json"
[ "$(json_get "$root/sts1.json" "d['metadata']['generation']")" = $((gen0 + 1)) ] || fail "generation did not move at once"
[ "$(json_get "$root/sts1.json" "d['status']['observedGeneration']")" = "$gen0" ] ||
	fail "observedGeneration caught up at once: $(cat "$root/sts1.json")"
ok=
for ((i = 0; i < 100; i++)); do
	KUBECTL_DOUBLE_STATUS_LAG_MS=1500 k get statefulset inferadb-ledger -o json >"$root/sts2.json"
	if [ "$(json_get "$root/sts2.json" "d['status']['observedGeneration']")" = $((gen0 + 1)) ] &&
		[ "$(json_get "$root/sts2.json" "d['status']['replicas']")" = 1 ]; then
		ok=1
		break
	fi
	sleep 0.1
done
[ -n "$ok" ] || fail "the status never caught up with the scale: $(cat "$root/sts2.json")"
k scale statefulset/inferadb-ledger --replicas=2 >/dev/null || fail "scale back to 2"
ok=
for ((i = 0; i < 300; i++)); do
	k get statefulset inferadb-ledger -o json >"$root/sts3.json"
	if [ "$(json_get "$root/sts3.json" "d['status'].get('readyReplicas', 0)")" = 2 ]; then
		ok=1
		break
	fi
	sleep 0.1
done
[ -n "$ok" ] || fail "readyReplicas never came back to 2: $(cat "$root/sts3.json")"

case_begin lease-resource-version-and-strict-fields
lease='{"apiVersion":"coordination.k8s.io/v1","kind":"Lease","metadata":{"name":"t"},"spec":{"holderIdentity":"a","leaseDurationSeconds":30}}'
k create -f - -o json <<<"$lease" >"$root/l0.json" || fail "create lease"
rv=$(json_get "$root/l0.json" "d['metadata']['resourceVersion']")
out=$(k patch lease t --type merge -p "{\"metadata\":{\"resourceVersion\":\"$rv\"},\"spec\":{\"holderIdentity\":\"b\"}}") ||
	fail "patch at the current resourceVersion: $out"
err=$(k patch lease t --type merge -p "{\"metadata\":{\"resourceVersion\":\"$rv\"},\"spec\":{\"holderIdentity\":\"c\"}}" 2>&1 >/dev/null)
rc=$?
[ "$rc" -eq 1 ] || fail "a stale resourceVersion exited $rc"
grep -qF 'Error from server (Conflict): Operation cannot be fulfilled on leases.coordination.k8s.io "t": the object has been modified' <<<"$err" ||
	fail "a stale resourceVersion: $err"
k get lease t -o json >"$root/l1.json"
[ "$(json_get "$root/l1.json" "d['spec']['holderIdentity']")" = b ] || fail "the conflicting patch was applied"
err=$(k create -f - <<<'{"apiVersion":"coordination.k8s.io/v1","kind":"Lease","metadata":{"name":"u"},"spec":{"foo":1}}' 2>&1 >/dev/null)
rc=$?
[ "$rc" -eq 1 ] || fail "an unknown field exited $rc"
grep -qF 'Error from server (BadRequest): error when creating "STDIN": Lease in version "v1" cannot be handled as a Lease: strict decoding error: unknown field "spec.foo"' <<<"$err" ||
	fail "an unknown field: $err"

case_begin chaos-mesh-needs-its-crds
podchaos='{"apiVersion":"chaos-mesh.org/v1alpha1","kind":"PodChaos","metadata":{"name":"kill-1"},"spec":{"action":"pod-kill","mode":"one","selector":{"namespaces":["inferadb"],"labelSelectors":{"statefulset.kubernetes.io/pod-name":"inferadb-ledger-1"}}}}'
err=$(k create -f - <<<"$podchaos" 2>&1 >/dev/null)
rc=$?
[ "$rc" -eq 1 ] || fail "a PodChaos without Chaos Mesh exited $rc"
grep -qF 'no matches for kind "PodChaos" in version "chaos-mesh.org/v1alpha1"' <<<"$err" || fail "no CRDs: $err"
grep -qF 'ensure CRDs are installed first' <<<"$err" || fail "no CRDs: $err"

case_begin chaos-mesh-pod-kill-recreates-the-pod
export KUBECTL_DOUBLE_CHAOS_MESH=1
pod_running inferadb-ledger-1 20 || fail "inferadb-ledger-1 is not running"
uid=$(json_get "$root/pod.json" "d['metadata']['uid']")
out=$(k create -f - <<<"$podchaos" 2>&1) || fail "create PodChaos: $out"
ok=
for ((i = 0; i < 200; i++)); do
	if pod_is_running inferadb-ledger-1 && [ "$(json_get "$root/pod.json" "d['metadata']['uid']")" != "$uid" ]; then
		ok=1
		break
	fi
	sleep 0.1
done
[ -n "$ok" ] || fail "the pod-kill did not bring a new inferadb-ledger-1 within 20 s"
k get podchaos kill-1 -o json >"$root/chaos.json" || fail "get podchaos"
[ "$(json_get "$root/chaos.json" "d['status']['experiment']['containerRecords'][0]['id']")" = inferadb/inferadb-ledger-1 ] ||
	fail "the PodChaos does not record its pod: $(cat "$root/chaos.json")"
k delete podchaos kill-1 >/dev/null || fail "delete podchaos"
k delete podchaos kill-1 --ignore-not-found || fail "delete --ignore-not-found of a deleted PodChaos"
wait_cluster_settled "$B" "$D" 30 || fail "the cluster did not settle after the pod-kill"

case_begin chaos-mesh-partition-until-deleted
netchaos='{"apiVersion":"chaos-mesh.org/v1alpha1","kind":"NetworkChaos","metadata":{"name":"cut-primary"},"spec":{"action":"partition","mode":"all","direction":"both","selector":{"namespaces":["inferadb"],"labelSelectors":{"app.kubernetes.io/name":"inferadb-ledger"}}}}'
out=$(k create -f - <<<"$netchaos" 2>&1) || fail "create NetworkChaos: $out"
ok=
for ((i = 0; i < 100; i++)); do
	if [ "$("$B" cluster status --cluster "$D" 2>/dev/null | grep -cE '^[0-9]+ +primary .* unreachable ')" -eq 2 ]; then
		ok=1
		break
	fi
	sleep 0.1
done
[ -n "$ok" ] || fail "the primary pods were not cut off within 10 s: $("$B" cluster status --cluster "$D" 2>&1)"
k delete networkchaos cut-primary >/dev/null || fail "delete networkchaos"
wait_cluster_settled "$B" "$D" 30 || fail "the cluster did not heal after the NetworkChaos was deleted"
unset KUBECTL_DOUBLE_CHAOS_MESH

case_begin version-from-the-environment
out=$(KUBECTL_DOUBLE_VERSION=v1.30.2 k version -o json) || fail "version"
grep -q '"gitVersion": "v1.30.2"' <<<"$out" || fail "version: $out"

cases_done
