#!/usr/bin/env bash
# ci/alerts/ledger-dr.rules.yml: valid for `promtool check rules`, and its
# unit tests (ci/alerts/ledger-dr.test.yml) pass under `promtool test rules`;
# the three runbook alerts are there with their severities.  promtool comes
# from Debian's `prometheus` package (make deps installs it); without it
# only the grep checks run and the promtool cases are reported skipped.
set -uo pipefail

# shellcheck source-path=SCRIPTDIR source=../lib/cases.sh
. "$(dirname "${BASH_SOURCE[0]}")/../lib/cases.sh"

src=${DRILLRIG_SRC:?DRILLRIG_SRC not set}

cd "$src/ci/alerts" || fatal "cannot cd to $src/ci/alerts"

case_begin runbook-alerts-and-their-tests
for alert in LedgerNoLeader LedgerReplicationLagHigh LedgerPeersBelowQuorum; do
	grep -q "alert: $alert\$" ledger-dr.rules.yml || fail "alert $alert missing"
	grep -q "alertname: $alert" ledger-dr.test.yml || fail "no promtool test for $alert"
done
# The runbook's thresholds and severities.
case_begin runbook-thresholds-and-severities
grep -A3 'alert: LedgerNoLeader$' ledger-dr.rules.yml | grep -q 'for: 30s' || fail "LedgerNoLeader: not for 30s"
grep -A4 'alert: LedgerNoLeader$' ledger-dr.rules.yml | grep -q 'severity: critical' || fail "LedgerNoLeader: not critical"
grep -A3 'alert: LedgerReplicationLagHigh$' ledger-dr.rules.yml | grep -q 'for: 2m' || fail "lag: not for 2m"
grep -A4 'alert: LedgerReplicationLagHigh$' ledger-dr.rules.yml | grep -q 'severity: warning' || fail "lag: not a warning"
grep -A3 'alert: LedgerPeersBelowQuorum$' ledger-dr.rules.yml | grep -q 'severity: critical' || fail "peers: not critical"

if command -v promtool >/dev/null 2>&1; then
	case_begin promtool-check-rules
	promtool check rules ledger-dr.rules.yml || fail "promtool check rules"
	case_begin promtool-test-rules
	promtool test rules ledger-dr.test.yml || fail "promtool test rules"
	# The tests can fail: a rule that always fires breaks them.
	case_begin promtool-tests-catch-a-broken-rule
	tmp=$(mktemp -d)
	trap 'rm -rf "$tmp"' EXIT
	sed 's/expr: ledger_raft_leader == 0/expr: ledger_raft_leader >= 0/' ledger-dr.rules.yml >"$tmp/ledger-dr.rules.yml"
	cp ledger-dr.test.yml "$tmp/"
	if promtool test rules "$tmp/ledger-dr.test.yml" >/dev/null 2>&1; then
		fail "promtool test rules passes a rule that fires on a healthy cluster"
	fi
else
	why="promtool not installed (apt-get install prometheus)"
	case_skip promtool-check-rules "$why"
	case_skip promtool-test-rules "$why"
	case_skip promtool-tests-catch-a-broken-rule "$why"
fi

cases_done
