#!/usr/bin/env bash
# A Kubernetes target without a workload endpoint measures from the cluster
# status alone: region-failover (without write_read probes) passes through
# the kubectl test double, the journal says "status-only", and RTO and
# promotion are measured; a stated rpo objective fails as "not measured".
set -euo pipefail

# shellcheck source-path=SCRIPTDIR source=../lib/cases.sh
. "$(dirname "${BASH_SOURCE[0]}")/../lib/cases.sh"
# shellcheck source-path=SCRIPTDIR source=../lib/cluster.sh
. "$(dirname "${BASH_SOURCE[0]}")/../lib/cluster.sh"

src=${DRILLRIG_SRC:-.}
build=${DRILLRIG_BUILD:-$src/build}
drillrig=${DRILLRIG_BIN:-$build/drillrig}
double_dir=$build/tests/doubles
case_begin setup
[ -x "$double_dir/kubectl" ] || fatal "kubectl test double not built at $double_dir"

root=$(mktemp -d "${TMPDIR:-/tmp}/drillrig-k8s-status.XXXXXX")
cleanup() { "$drillrig" cluster down --cluster "$root/cluster" >/dev/null 2>&1 || true; rm -rf "$root"; }
trap cleanup EXIT

"$drillrig" cluster up --cluster "$root/cluster" --timing 300ms/30ms --enable-debug --no-admin-token >/dev/null ||
	fatal "drillrig cluster up failed"
# The drill's steady state wants a settled cluster.
wait_cluster_settled "$drillrig" "$root/cluster" 30 ||
	fatal "the cluster never said Fully replicated with every member reachable within 30 s"

case_begin status-only-drill-measures-rto-and-promotion
set +e
PATH="$double_dir:$PATH" KUBECTL_DOUBLE_IMAGE_TOOLS=1 KUBECTL_DOUBLE_CLUSTER="$root/cluster" \
	"$drillrig" run "$src/tests/data/plans/k8s/region-failover-status-only.yaml" \
	--target kubernetes --target-config "$src/tests/data/k8s/double-status-only.yaml" \
	--yes --no-results > "$root/out" 2>&1
rc=$?
set -e
report=$(tail -n 1 "$root/out")
journal=$(dirname "$report")/journal.json
[ "$rc" -eq 0 ] || { fail "drillrig exited $rc"; cat "$root/out"; }
grep -q '"workload_mode": *"status-only"' "$journal" || fail "journal does not say status-only"
grep -q '"rto_ms": *[0-9]' "$journal" || fail "no RTO measured from the status"
grep -q '"promotion_ms": *[0-9]' "$journal" || fail "no promotion measured"
grep -q 'measuring from the cluster status' "$root/out" || fail "the run did not say it measures from the status"
# A stated rpo cannot be measured without writes: it fails as "not
# measured" (exit 1) instead of passing silently.
case_begin stated-rpo-fails-as-not-measured
sed 's/^  rto: 60s$/  rto: 60s\n  rpo: 0/' "$src/tests/data/plans/k8s/region-failover-status-only.yaml" > "$root/rpo.yaml"
grep -q '^  rpo: 0$' "$root/rpo.yaml" || fail "could not add rpo: 0 to the plan"
set +e
PATH="$double_dir:$PATH" KUBECTL_DOUBLE_IMAGE_TOOLS=1 KUBECTL_DOUBLE_CLUSTER="$root/cluster" \
	"$drillrig" run "$root/rpo.yaml" --target kubernetes \
	--target-config "$src/tests/data/k8s/double-status-only.yaml" --yes --no-results > "$root/out-rpo" 2>&1
rc=$?
set -e
[ "$rc" -eq 1 ] || { fail "a stated rpo in status-only mode should exit 1, got $rc"; cat "$root/out-rpo"; }
grep -q 'FAIL rpo .*not measured' "$root/out-rpo" || { fail "the rpo objective does not say 'not measured'"; cat "$root/out-rpo"; }
cases_done
