#!/usr/bin/env bash
# The drill catalog: every plan validates (no warnings), has a description
# and objectives, is listed by `drillrig list`, is named after its file, and
# is run by one of the test_catalog_*.sh groups; every runbook scenario of
# issue 7 has its drill; region-failover keeps the step names tests rely on.
set -uo pipefail

# shellcheck source-path=SCRIPTDIR source=../lib/cases.sh
. "$(dirname "${BASH_SOURCE[0]}")/../lib/cases.sh"

bin=${DRILLRIG_BIN:?DRILLRIG_BIN not set}
src=${DRILLRIG_SRC:?DRILLRIG_SRC not set}
tmp=$(mktemp -d /dev/shm/drillrig-catalog-validate.XXXXXX 2>/dev/null || mktemp -d)
trap 'rm -rf "$tmp"' EXIT

cd "$src" || fatal "cannot cd to $src"

case_begin runbook-scenarios-have-drills
required=(pod-failure node-failure zone-failure region-failover manual-failover failback
	backup-restore network-partition quorum-loss)
for d in "${required[@]}"; do
	[ -f "drills/$d.yaml" ] || fail "drills/$d.yaml is missing"
done

case_begin every-plan-validates
plans=(drills/*.yaml)
"$bin" validate "${plans[@]}" >"$tmp/out" 2>"$tmp/err"
rc=$?
[ "$rc" -eq 0 ] || fail "validate exited $rc: $(cat "$tmp/err")"
[ "$(grep -c '^ok: ' "$tmp/out")" -eq ${#plans[@]} ] || fail "not every plan validated: $(cat "$tmp/out")"
# quorum-loss has force_election with allow_data_loss, so no plan warns.
[ ! -s "$tmp/err" ] || fail "validate printed warnings: $(cat "$tmp/err")"

case_begin list-shows-no-invalid-plan
"$bin" list drills >"$tmp/list" 2>&1 || fail "drillrig list exited non-zero"
grep -q INVALID "$tmp/list" && fail "drillrig list shows an invalid plan: $(cat "$tmp/list")"

for plan in "${plans[@]}"; do
	name=$(basename "$plan" .yaml)
	case_begin "plan:$name"
	grep -qE "^name: $name\$" "$plan" || fail "$plan: 'name:' is not '$name'"
	grep -qE '^description: \|' "$plan" || fail "$plan: no description block"
	grep -qE '^objectives:' "$plan" || fail "$plan: no objectives"
	grep -qE '^  rpo: [0-9]+' "$plan" || fail "$plan: the objectives do not state the RPO"
	grep -qE "^$name( |\$)" "$tmp/list" || fail "$plan: not in drillrig list"
	# A group names its plans on its exec line, or in a plans=(...) list
	# it passes on (a plan that needs root is added where it can run).
	grep -lE "^(exec bash .*catalog_check\\.sh\"|plans=\\(|	plans\\+=\\().*\\b$name\\b" \
		tests/integration/test_catalog_*.sh >/dev/null ||
		fail "$plan: no tests/integration/test_catalog_*.sh group runs it"
done

case_begin region-failover-keeps-its-step-names
for step in scale-primary-to-zero dr-promoted connectivity restore-primary primary-resynced; do
	grep -qE "^  - name: $step\$" drills/region-failover.yaml ||
		fail "region-failover lost its step '$step'"
done
# quorum-loss states the loss it accepts: a non-zero RPO and a window.
case_begin quorum-loss-states-its-loss
grep -qE '^  rpo: [1-9]' drills/quorum-loss.yaml || fail "quorum-loss: no acceptable RPO"
grep -qE '^  rpo_window: ' drills/quorum-loss.yaml || fail "quorum-loss: no rpo_window"
grep -qE 'allow_data_loss: true' drills/quorum-loss.yaml || fail "quorum-loss: no unsafe promotion"

cases_done
