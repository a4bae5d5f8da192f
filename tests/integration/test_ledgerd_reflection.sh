#!/usr/bin/env bash
# ledgerd's gRPC server reflection (grpc.reflection.v1alpha), checked with
# a client drillrig did not write: Debian's python3-grpcio and the
# reflection messages as gRPC defines them
# (tests/support/ledgerd_reflection_check.py), against a bundled cluster.
# It lists the services, fetches files by symbol and by name (protoc's own
# bytes, imports included), makes real calls with a descriptor pool built
# from nothing but reflected bytes (what grpcurl does without -proto
# files), and sends what a server must survive: unknown names, malformed
# bytes, many requests on one stream, half-close, cancellation, deadlines,
# more idle streams than the unary pool has workers, an idle client.
# Then tests/support/grpc_call.py, the grpcurl-like CLI other tests use.
set -uo pipefail

# shellcheck source-path=SCRIPTDIR source=../lib/cases.sh
. "$(dirname "${BASH_SOURCE[0]}")/../lib/cases.sh"

B=${DRILLRIG_BIN:?DRILLRIG_BIN not set}
L=${LEDGERD_BIN:?LEDGERD_BIN not set}
src=${DRILLRIG_SRC:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}
build=${DRILLRIG_BUILD:-$src/build}
py=/usr/bin/python3
check=$src/tests/support/ledgerd_reflection_check.py
call=$src/tests/support/grpc_call.py
if [ ! -x "$B" ] || [ ! -x "$L" ]; then
	cases_skip_all binaries-built "drillrig or ledgerd not built ($B, $L): make builds them"
fi
if ! "$py" -c 'import grpc, google.protobuf' 2>/dev/null; then
	cases_skip_all python3-grpcio "Debian's python3-grpcio is not installed (apt-get install python3-grpcio)"
fi
export http_proxy=http://127.0.0.1:9 HTTP_PROXY=http://127.0.0.1:9 all_proxy=http://127.0.0.1:9
root=$(mktemp -d /dev/shm/drillrig-reflection-XXXXXX 2>/dev/null || mktemp -d)
D=$root/c
I=$root/idle
cleanup() {
	for c in "$D" "$I"; do
		[ -f "$c/cluster.json" ] && "$B" cluster down --cluster "$c" >/dev/null 2>&1
	done
	rm -rf "$root"
}
trap cleanup EXIT

# The gRPC address of the cluster's leader (or of node N), from its status.
node_addr() {
	"$B" cluster status --cluster "$1" --json 2>/dev/null |
		"$py" -c 'import json, sys
s = json.load(sys.stdin)
want = sys.argv[1]
if want == "leader":
    print(s["leader"]["address"])
else:
    print([m for m in s["members"] if str(m["id"]) == want][0]["address"])' "$2"
}

# scenario NAME ADDR [ARG]: one check of ledgerd_reflection_check.py.
scenario() {
	local out
	out=$("$py" "$check" "$@" 2>&1) || fail "${out:-the check exited non-zero without a word}"
}

case_begin cluster-up
"$B" cluster up --cluster "$D" --topology primary=2,dr=1 --ledgerd "$L" >"$root/up" 2>&1 ||
	fatal "cluster up failed: $(cat "$root/up"; tail -5 "$D"/supervisor.log 2>/dev/null)"
leader=$(node_addr "$D" leader)
[ -n "$leader" ] || fatal "no leader address in the cluster's status"
follower=
for id in 1 2 3; do
	a=$(node_addr "$D" "$id")
	[ -n "$a" ] && [ "$a" != "$leader" ] && follower=$a && break
done
[ -n "$follower" ] || fatal "no follower address in the cluster's status"

# First, while no other stream is open: the bound counts every stream.
case_begin idle-streams-are-bounded-and-leave-the-unary-pool-alone
scenario bounded "$leader"
case_begin list-services-is-the-exact-set
scenario list "$leader"
case_begin list-services-on-a-follower
scenario list "$follower"
case_begin files-by-symbol-and-name-are-protocs-bytes
[ -f "$build/gen/ledger.protoset" ] || fail "no $build/gen/ledger.protoset (make builds it)"
scenario files "$leader" "$build/gen/ledger.protoset"
case_begin calls-with-only-reflected-descriptors
scenario calls "$leader" "$D/admin-token"
case_begin not-found-is-an-error-response-and-the-stream-goes-on
scenario errors "$leader"
case_begin malformed-request-is-invalid-argument
scenario malformed "$leader"
case_begin several-requests-then-half-close
scenario many "$leader"
case_begin client-cancel-and-deadline
scenario cancel "$leader"

case_begin idle-stream-is-cancelled-by-the-server
LEDGERD_REFLECTION_IDLE_MS=500 "$B" cluster up --cluster "$I" --topology primary=1 \
	--ledgerd "$L" >"$root/up-idle" 2>&1 || fatal "cluster up (idle) failed: $(cat "$root/up-idle")"
scenario idle "$(node_addr "$I" leader)"

# grpc_call.py, the grpcurl-like CLI, on the same cluster.
case_begin grpc_call-list
out=$("$py" "$call" -plaintext "$leader" list 2>&1) || fail "list exited non-zero: $out"
want='grpc.health.v1.Health
grpc.reflection.v1alpha.ServerReflection
inferadb.ledger.v1.Admin
inferadb.ledger.v1.Ledger
ledger.v1.AdminService
ledger.v1.HealthService
ledger.v1.ReadService
ledger.v1.WriteService'
[ "$out" = "$want" ] || fail "list printed: $out"
out=$("$py" "$call" "$leader" list inferadb.ledger.v1.Ledger 2>&1) || fail "list SERVICE: $out"
[ "$out" = $'inferadb.ledger.v1.Ledger.Append\ninferadb.ledger.v1.Ledger.Read' ] ||
	fail "list inferadb.ledger.v1.Ledger printed: $out"

case_begin grpc_call-describe
out=$("$py" "$call" "$leader" describe ledger.v1.WriteService 2>&1) || fail "describe: $out"
grep -qx 'ledger.v1.WriteService is a service:' <<<"$out" || fail "describe printed: $out"
grep -qxF '  rpc Write ( .ledger.v1.WriteRequest ) returns ( .ledger.v1.WriteResponse );' \
	<<<"$out" || fail "describe printed no Write method: $out"
out=$("$py" "$call" "$leader" describe inferadb.ledger.v1.AppendRequest 2>&1) || fail "$out"
grep -qxF '  string client_id = 1;' <<<"$out" || fail "describe AppendRequest printed: $out"

case_begin grpc_call-unary-calls-print-proto3-json
out=$("$py" "$call" -H 'x-drillrig-test: reflection' \
	-H "authorization: Bearer $(cat "$D/admin-token")" "$leader" \
	inferadb.ledger.v1.Admin/GetClusterStatus 2>&1) || fail "GetClusterStatus: $out"
grep -q '"commit_index": "[0-9]*"' <<<"$out" || fail "GetClusterStatus printed: $out"
out=$("$py" "$call" -d '{"client_id": "grpc-call", "sequence": 1, "payload": "p"}' "$leader" \
	inferadb.ledger.v1.Ledger/Append 2>&1) || fail "Append: $out"
grep -q '"index": "[1-9][0-9]*"' <<<"$out" || fail "Append printed: $out"
out=$(printf '{"from_index": 1}' | "$py" "$call" -d @ "$leader" inferadb.ledger.v1.Ledger.Read 2>&1) ||
	fail "Read with -d @: $out"
grep -q '"client_id": "grpc-call"' <<<"$out" || fail "Read printed: $out"

case_begin grpc_call-errors-as-grpcurl-prints-them
"$py" "$call" -d '{"client_id": "", "sequence": 1}' "$leader" \
	inferadb.ledger.v1.Ledger/Append >"$root/out" 2>"$root/err"
rc=$?
[ "$rc" -eq 1 ] || fail "a refused Append exited $rc, expected 1"
[ ! -s "$root/out" ] || fail "a refused Append printed on stdout: $(cat "$root/out")"
[ "$(head -2 "$root/err")" = $'ERROR:\n  Code: InvalidArgument' ] ||
	fail "a refused Append printed: $(cat "$root/err")"
grep -q '^  Message: .*client_id' "$root/err" || fail "no message: $(cat "$root/err")"
"$py" "$call" "$leader" no.such.Service/Call >/dev/null 2>"$root/err"
rc=$?
if [ "$rc" -ne 1 ] || ! grep -qx '  Code: NotFound' "$root/err"; then
	fail "an unknown service: exit $rc, $(cat "$root/err")"
fi
"$py" "$call" "$leader" >/dev/null 2>&1
rc=$?
[ "$rc" -eq 2 ] || fail "no verb exited $rc, expected 2 (usage)"

case_begin nodes-stayed-up
status=$("$B" cluster status --cluster "$D" --json 2>&1) || fail "cluster status: $status"
grep -qE '"restarts": [1-9]' <<<"$status" && fail "a node restarted: $status"

case_begin stops-cleanly-with-a-stream-open
"$py" "$check" hold "$leader" >"$root/hold" 2>&1 &
hold_pid=$!
for _ in $(seq 1 100); do
	grep -q '^holding' "$root/hold" && break
	sleep 0.1
done
grep -q '^holding' "$root/hold" || fail "the held stream did not open: $(cat "$root/hold")"
"$B" cluster down --cluster "$D" >/dev/null 2>&1 || fail "cluster down failed"
"$B" cluster down --cluster "$I" >/dev/null 2>&1 || fail "cluster down (idle) failed"
for _ in $(seq 1 200); do
	kill -0 "$hold_pid" 2>/dev/null || break
	sleep 0.1
done
if kill -0 "$hold_pid" 2>/dev/null; then
	kill "$hold_pid"
	fail "the held stream was still open 20 s after the cluster went down"
fi
wait "$hold_pid" || fail "held stream: $(cat "$root/hold")"
for log in "$D"/n*.log "$I"/n*.log; do
	grep -q 'stopped cleanly' "$log" || fail "$(basename "$log") has no 'stopped cleanly': $(tail -3 "$log")"
done

# A sanitized ledgerd (SANITIZE=address,undefined) writes its reports,
# leaks at exit included, to the node's log; a plain one never does.
case_begin no-sanitizer-report-in-the-node-logs
if grep -lE 'ERROR: (Address|Leak)Sanitizer|runtime error:' "$D"/n*.log "$I"/n*.log 2>/dev/null; then
	fail "sanitizer reports in the node logs: $(grep -hE -A12 'ERROR: (Address|Leak)Sanitizer|runtime error:' "$D"/n*.log "$I"/n*.log | head -60)"
fi

cases_done
