#!/usr/bin/env bash
# drillrig validate and list: output format and exit codes (0 valid, 2
# invalid plan or usage error).
set -uo pipefail

# shellcheck source-path=SCRIPTDIR source=../lib/cases.sh
. "$(dirname "${BASH_SOURCE[0]}")/../lib/cases.sh"

bin=${DRILLRIG_BIN:?DRILLRIG_BIN not set}
src=${DRILLRIG_SRC:?DRILLRIG_SRC not set}
tmp=$(mktemp -d /dev/shm/drillrig-validate.XXXXXX 2>/dev/null || mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# run CMD...: sets rc, out (stdout) and err (stderr)
run() {
	"$@" >"$tmp/out" 2>"$tmp/err"
	rc=$?
	out=$(cat "$tmp/out")
	err=$(cat "$tmp/err")
}

expect_rc() {
	local want=$1 what=$2
	[ "$rc" -eq "$want" ] || fail "$what: exit $rc, expected $want (stdout: $out; stderr: $err)"
}

cd "$src" || fatal "cannot cd to $src"

case_begin valid-drill
run "$bin" validate drills/region-failover.yaml
expect_rc 0 "valid drill"
[[ $out =~ ^ok:\ drills/region-failover\.yaml\ \([0-9]+\ steps\)$ ]] || fail "ok line: '$out'"

run "$bin" validate --target etcd drills/region-failover.yaml
expect_rc 0 "valid drill on etcd"

case_begin invalid-plan-error-line
run "$bin" validate tests/data/plans/bad/unknown-key.yaml
expect_rc 2 "invalid plan"
grep -q "^tests/data/plans/bad/unknown-key.yaml:6:5: steps\[0\].timout: unknown key 'timout' for action 'sleep' (did you mean 'timeout'?)$" "$tmp/err" ||
	fail "error line format: $err"

# Every error of every file, valid ones still reported ok; exit 2.
case_begin every-error-of-every-file
run "$bin" validate drills/region-failover.yaml tests/data/plans/bad/several-errors.yaml \
	tests/data/plans/good/all-probes.json
expect_rc 2 "mixed plans"
[ "$(grep -c '^tests/data/plans/bad/several-errors.yaml:[0-9]*:[0-9]*: ' "$tmp/err")" -eq 12 ] ||
	fail "several-errors should print 12 errors: $err"
grep -q "^ok: tests/data/plans/good/all-probes.json (1 step)$" "$tmp/out" || fail "ok for json: $out"

case_begin local-only-actions-on-kubernetes
run "$bin" validate --target kubernetes tests/data/plans/good/all-actions.yaml
expect_rc 2 "local-only actions against kubernetes"
grep -q "target 'kubernetes' cannot run action 'stop'" "$tmp/err" || fail "target message: $err"

case_begin kubernetes-refuses-kernel-partition-args
# Chaos Mesh cuts both ways and every packet: a one-way cut or a loss rate
# is refused before anything runs, naming the step.
run "$bin" run drills/partition-one-way.yaml --target kubernetes \
	--target-config tests/data/k8s/double-chaos-mesh.yaml --dry-run
expect_rc 2 "partition-one-way on kubernetes"
grep -q "step 'primary-goes-mute': partition on Kubernetes is a Chaos Mesh NetworkChaos, both ways and every packet: direction, loss and method are for the local target (nftables)" "$tmp/err" ||
	fail "refusal: $err"

case_begin vars
run "$bin" validate --var suffix=x tests/data/plans/good/vars.yaml
expect_rc 0 "--var"
run "$bin" validate --var nosuch=x tests/data/plans/good/vars.yaml
expect_rc 2 "--var undeclared"
grep -q "vars.yaml: --var: variable 'nosuch' is not declared" "$tmp/err" || fail "--var msg: $err"

case_begin timing
run "$bin" validate --timing 300ms/30ms drills/region-failover.yaml
expect_rc 0 "--timing"
run "$bin" validate --timing fast drills/region-failover.yaml
expect_rc 2 "bad --timing"

case_begin usage-errors
run "$bin" validate
expect_rc 2 "no plan"
run "$bin" validate --bogus drills/region-failover.yaml
expect_rc 2 "unknown option"
run "$bin" validate "$tmp/missing.yaml"
expect_rc 2 "missing file"
grep -q "cannot" "$tmp/err" || fail "missing file message: $err"
run "$bin" validate --help
expect_rc 0 "--help"

# list: the catalog, and invalid plans flagged.
case_begin list
run "$bin" list
expect_rc 0 "list"
grep -Eq '^region-failover +local +[0-9]+  Scale the primary region' "$tmp/out" || fail "list row: $out"
run "$bin" list tests/data/plans/bad
expect_rc 0 "list bad dir"
grep -Eq '^unknown-key.yaml +- +- +INVALID \(1 error; first: 6:5 ' "$tmp/out" || fail "invalid row: $out"
run "$bin" list "$tmp/none"
expect_rc 2 "list missing dir"

# The installed layout: PREFIX/bin/drillrig finds PREFIX/share/drillrig/drills.
case_begin list-installed-catalog
mkdir -p "$tmp/prefix/bin" "$tmp/prefix/share/drillrig/drills" "$tmp/elsewhere"
cp "$bin" "$tmp/prefix/bin/drillrig"
cp drills/region-failover.yaml "$tmp/prefix/share/drillrig/drills/"
(cd "$tmp/elsewhere" && "$tmp/prefix/bin/drillrig" list >"$tmp/out" 2>"$tmp/err")
rc=$?
out=$(cat "$tmp/out")
err=$(cat "$tmp/err")
expect_rc 0 "list installed catalog"
grep -q '^region-failover' "$tmp/out" || fail "installed catalog: $out"

cases_done
