#!/usr/bin/env bash
# The bundled cluster through a client drillrig did not write, built the way
# a Python team would build one: stubs generated from the project's .proto
# files with Debian's python3-grpc-tools (grpc_tools.protoc), used through
# Debian's python3-grpcio.  It appends and reads, reads the cluster status,
# transfers leadership, writes and lists ledger.v1 entities, gets the
# right status codes for bad input, is refused every admin and debug call
# without the cluster's admin token (DIR/admin-token), and sees 16 concurrent writers each get
# their own entry back when ledgerd commits them in groups (tests/support/ledger_stub_client.py).
set -uo pipefail

# shellcheck source-path=SCRIPTDIR source=../lib/cases.sh
. "$(dirname "${BASH_SOURCE[0]}")/../lib/cases.sh"
# shellcheck source-path=SCRIPTDIR source=../lib/cluster.sh
. "$(dirname "${BASH_SOURCE[0]}")/../lib/cluster.sh"

src=${DRILLRIG_SRC:-.}
build=${DRILLRIG_BUILD:-$src/build}
drillrig=${DRILLRIG_BIN:-$build/drillrig}
py=/usr/bin/python3   # Debian's, where python3-grpcio lives

case_begin setup
"$py" -c 'import grpc, grpc_tools, google.protobuf' 2>/dev/null ||
	cases_skip_all setup "python3-grpcio, python3-grpc-tools or python3-protobuf is not installed (ci/install-deps.sh installs them)"
root=$(mktemp -d "${TMPDIR:-/tmp}/drillrig-stubs.XXXXXX")
cleanup() { "$drillrig" cluster down --cluster "$root/c" >/dev/null 2>&1 || true; rm -rf "$root"; }
trap cleanup EXIT

case_begin stubs-generate
mkdir -p "$root/stubs"
# struct.proto (imported by the native API) comes with libprotobuf-dev.
protos=()
while IFS= read -r f; do protos+=("${f#"$src"/ledger/proto/}"); done \
	< <(find "$src/ledger/proto" -name '*.proto' | sort)
(cd "$src/ledger/proto" && "$py" -m grpc_tools.protoc -I. -I/usr/include \
	--python_out="$root/stubs" --grpc_python_out="$root/stubs" "${protos[@]}") 2>"$root/protoc.err" ||
	fatal "grpc_tools.protoc failed: $(cat "$root/protoc.err")"
for m in ledger/v1/ledger_pb2_grpc.py inferadb/ledger/v1/ledger_pb2_grpc.py grpc/health/v1/health_pb2.py; do
	[ -s "$root/stubs/$m" ] || fail "no $m generated"
done

case_begin cluster-up
"$drillrig" cluster up --cluster "$root/c" --topology primary=2,dr=1 --enable-debug >/dev/null 2>&1 ||
	fatal "drillrig cluster up failed"
wait_cluster_settled "$drillrig" "$root/c" 30 ||
	fatal "the cluster never said Fully replicated with every member reachable within 30 s"
"$drillrig" cluster status --cluster "$root/c" --json >"$root/status.json" ||
	fatal "drillrig cluster status --json failed"
case_end

timeout 120 "$py" "$src/tests/support/ledger_stub_client.py" "$root/stubs" "$root/c/cluster.json" \
	"$root/status.json" >"$root/cases" 2>"$root/err"
rc=$?
while IFS=$'\t' read -r tag name verdict why; do
	[ "$tag" = CASE ] || continue
	if [ "$verdict" = pass ]; then
		case_pass "$name"
	else
		case_fail "$name" "$why"
	fi
done <"$root/cases"
[ "$rc" -eq 0 ] || case_fail stub-client "ledger_stub_client.py exited $rc: $(tail -5 "$root/err")"
[ "$(grep -c $'^CASE\t' "$root/cases")" -eq 8 ] ||
	case_fail all-checks-ran "expected 8 checks, got: $(cut -f2,3 "$root/cases" | tr '\n' ' ')"
cases_done
