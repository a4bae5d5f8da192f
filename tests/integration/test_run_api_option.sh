#!/usr/bin/env bash
# drillrig run --api: the dialect option is checked before anything runs.
# An unknown name, a target without dialects (etcd) and a Kubernetes
# configuration that says the cluster speaks the other dialect are usage
# errors (exit 2) that say why and start nothing; --help documents it.
set -uo pipefail

# shellcheck source-path=SCRIPTDIR source=../lib/cases.sh
. "$(dirname "${BASH_SOURCE[0]}")/../lib/cases.sh"

src=${DRILLRIG_SRC:-.}
build=${DRILLRIG_BUILD:-$src/build}
drillrig=${DRILLRIG_BIN:-$build/drillrig}
root=$(mktemp -d "${TMPDIR:-/tmp}/drillrig-api-option.XXXXXX")
trap 'rm -rf "$root"' EXIT

# expect_usage NAME MESSAGE ARGS...: exit 2 and MESSAGE on stderr.
expect_usage() {
	local name=$1 message=$2 rc
	shift 2
	case_begin "$name"
	DRILLRIG_CLUSTER_ROOT=$root/clusters "$drillrig" run "$@" --no-results >"$root/out" 2>&1
	rc=$?
	[ "$rc" -eq 2 ] || fail "exit $rc, expected 2: $(cat "$root/out")"
	grep -qF -- "$message" "$root/out" || fail "no '$message' in: $(cat "$root/out")"
	# A usage error starts nothing: no cluster directory was made.
	[ ! -d "$root/clusters" ] || [ -z "$(ls -A "$root/clusters")" ] ||
		fail "a cluster directory was created: $(ls "$root/clusters")"
}

expect_usage unknown-api "--api: unknown ledger API 'grpc' (expected runbook or ledger.v1)" \
	"$src/drills/region-failover.yaml" --api grpc
expect_usage etcd-has-no-dialects "--api: the etcd target does not speak the ledger API" \
	"$src/drills/pod-failure.yaml" --target etcd --api ledger.v1
expect_usage kubernetes-config-wins \
	"api ledger.v1, but '$src/tests/data/k8s/double.yaml' says the cluster speaks runbook" \
	"$src/drills/pod-failure.yaml" --target kubernetes \
	--target-config "$src/tests/data/k8s/double.yaml" --api ledger.v1 --dry-run

case_begin kubernetes-matching-api-accepted
"$drillrig" run "$src/drills/pod-failure.yaml" --target kubernetes \
	--target-config "$src/tests/data/k8s/double-ledger-v1.yaml" --api ledger.v1 --dry-run \
	--no-results >"$root/out" 2>&1
rc=$?
[ "$rc" -eq 0 ] || fail "a matching --api on a dry run exited $rc: $(cat "$root/out")"

case_begin help-documents-api
"$drillrig" run --help >"$root/help" 2>&1
grep -q -- "--api API .*runbook or ledger.v1" "$root/help" || fail "run --help does not document --api"
cases_done
