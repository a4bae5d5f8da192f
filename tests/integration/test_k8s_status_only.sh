#!/usr/bin/env bash
# A Kubernetes target without a workload endpoint measures from the cluster
# status alone: region-failover (without write_read probes) passes through
# the kubectl test double, the journal says "status-only", and RTO and
# promotion are measured; a stated rpo objective fails as "not measured".
set -euo pipefail

src=${DRILLRIG_SRC:-.}
build=${DRILLRIG_BUILD:-$src/build}
drillrig=${DRILLRIG_BIN:-$build/drillrig}
double_dir=$build/tests/doubles
[ -x "$double_dir/kubectl" ] || { echo "FAIL: kubectl test double not built at $double_dir"; exit 1; }

root=$(mktemp -d "${TMPDIR:-/tmp}/drillrig-k8s-status.XXXXXX")
cleanup() { "$drillrig" cluster down --cluster "$root/cluster" >/dev/null 2>&1 || true; rm -rf "$root"; }
trap cleanup EXIT

"$drillrig" cluster up --cluster "$root/cluster" --timing 300ms/30ms --enable-debug >/dev/null
set +e
PATH="$double_dir:$PATH" KUBECTL_DOUBLE_CLUSTER="$root/cluster" \
	"$drillrig" run "$src/tests/data/plans/k8s/region-failover-status-only.yaml" \
	--target kubernetes --target-config "$src/tests/data/k8s/double-status-only.yaml" \
	--yes --no-results > "$root/out" 2>&1
rc=$?
set -e
report=$(tail -n 1 "$root/out")
journal=$(dirname "$report")/journal.json
fail=0
[ "$rc" -eq 0 ] || { echo "FAIL: drillrig exited $rc"; cat "$root/out"; fail=1; }
grep -q '"workload_mode": *"status-only"' "$journal" || { echo "FAIL: journal does not say status-only"; fail=1; }
grep -q '"rto_ms": *[0-9]' "$journal" || { echo "FAIL: no RTO measured from the status"; fail=1; }
grep -q '"promotion_ms": *[0-9]' "$journal" || { echo "FAIL: no promotion measured"; fail=1; }
grep -q 'measuring from the cluster status' "$root/out" || { echo "FAIL: the run did not say it measures from the status"; fail=1; }
# A stated rpo cannot be measured without writes: it fails as "not
# measured" (exit 1) instead of passing silently.
sed 's/^  rto: 60s$/  rto: 60s\n  rpo: 0/' "$src/tests/data/plans/k8s/region-failover-status-only.yaml" > "$root/rpo.yaml"
grep -q '^  rpo: 0$' "$root/rpo.yaml" || { echo "FAIL: could not add rpo: 0 to the plan"; fail=1; }
set +e
PATH="$double_dir:$PATH" KUBECTL_DOUBLE_CLUSTER="$root/cluster" \
	"$drillrig" run "$root/rpo.yaml" --target kubernetes \
	--target-config "$src/tests/data/k8s/double-status-only.yaml" --yes --no-results > "$root/out-rpo" 2>&1
rc=$?
set -e
[ "$rc" -eq 1 ] || { echo "FAIL: a stated rpo in status-only mode should exit 1, got $rc"; cat "$root/out-rpo"; fail=1; }
grep -q 'FAIL rpo .*not measured' "$root/out-rpo" || { echo "FAIL: the rpo objective does not say 'not measured'"; cat "$root/out-rpo"; fail=1; }
[ "$fail" -eq 0 ] && echo "ok: status-only kubernetes drill passed with RTO and promotion from the status; a stated rpo fails as not measured"
exit "$fail"
