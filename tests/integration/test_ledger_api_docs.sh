#!/usr/bin/env bash
# docs/ledger-api.md promises grpcurl examples that work against
# `drillrig cluster up`: run each one against a real cluster, through
# tests/support/grpc_call.py (grpcurl's arguments on Debian's
# python3-grpcio, resolving everything by server reflection), and check
# the answer against what the page shows (tests/support/docs_grpcurl.py).
# One case per example, named doc:line:method.
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
"$py" -c 'import grpc, google.protobuf' 2>/dev/null ||
	cases_skip_all setup "python3-grpcio and python3-protobuf are not installed (ci/install-deps.sh installs them)"
root=$(mktemp -d "${TMPDIR:-/tmp}/drillrig-api-docs.XXXXXX")
cleanup() { "$drillrig" cluster down --cluster "$root/c1" >/dev/null 2>&1 || true; rm -rf "$root"; }
trap cleanup EXIT
# The page's own command: the default topology, debug faults on.
"$drillrig" cluster up --cluster "$root/c1" --enable-debug >/dev/null 2>&1 ||
	fatal "drillrig cluster up failed"
wait_cluster_settled "$drillrig" "$root/c1" 30 ||
	fatal "the cluster never said Fully replicated with every member reachable within 30 s"
case_end

"$py" "$src/tests/support/docs_grpcurl.py" "$src/docs/ledger-api.md" "$root/c1" "$drillrig" \
	>"$root/cases" 2>"$root/err"
rc=$?
while IFS=$'\t' read -r tag name verdict why; do
	[ "$tag" = CASE ] || continue
	if [ "$verdict" = pass ]; then
		case_pass "$name"
	else
		case_fail "$name" "$why"
	fi
done <"$root/cases"
[ "$rc" -eq 0 ] || case_fail docs-runner "docs_grpcurl.py exited $rc: $(cat "$root/err")"
cases_done
