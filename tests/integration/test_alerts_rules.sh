#!/usr/bin/env bash
# ci/alerts/ledger-dr.rules.yml: valid for `promtool check rules`, and its
# unit tests (ci/alerts/ledger-dr.test.yml) pass under `promtool test rules`;
# the three runbook alerts are there with their severities.  promtool comes
# from Debian's `prometheus` package (make deps installs it); without it
# only the grep checks run, and the test says so.
set -uo pipefail

src=${DRILLRIG_SRC:?DRILLRIG_SRC not set}
failures=0

fail() {
	echo "FAIL: $*"
	failures=$((failures + 1))
}

cd "$src/ci/alerts" || exit 1

for alert in LedgerNoLeader LedgerReplicationLagHigh LedgerPeersBelowQuorum; do
	grep -q "alert: $alert\$" ledger-dr.rules.yml || fail "alert $alert missing"
	grep -q "alertname: $alert" ledger-dr.test.yml || fail "no promtool test for $alert"
done
# The runbook's thresholds and severities.
grep -A3 'alert: LedgerNoLeader$' ledger-dr.rules.yml | grep -q 'for: 30s' || fail "LedgerNoLeader: not for 30s"
grep -A4 'alert: LedgerNoLeader$' ledger-dr.rules.yml | grep -q 'severity: critical' || fail "LedgerNoLeader: not critical"
grep -A3 'alert: LedgerReplicationLagHigh$' ledger-dr.rules.yml | grep -q 'for: 2m' || fail "lag: not for 2m"
grep -A4 'alert: LedgerReplicationLagHigh$' ledger-dr.rules.yml | grep -q 'severity: warning' || fail "lag: not a warning"
grep -A3 'alert: LedgerPeersBelowQuorum$' ledger-dr.rules.yml | grep -q 'severity: critical' || fail "peers: not critical"

if command -v promtool >/dev/null 2>&1; then
	promtool check rules ledger-dr.rules.yml || fail "promtool check rules"
	promtool test rules ledger-dr.test.yml || fail "promtool test rules"
	# The tests can fail: a rule that always fires breaks them.
	tmp=$(mktemp -d)
	trap 'rm -rf "$tmp"' EXIT
	sed 's/expr: ledger_raft_leader == 0/expr: ledger_raft_leader >= 0/' ledger-dr.rules.yml >"$tmp/ledger-dr.rules.yml"
	cp ledger-dr.test.yml "$tmp/"
	if promtool test rules "$tmp/ledger-dr.test.yml" >/dev/null 2>&1; then
		fail "promtool test rules passes a rule that fires on a healthy cluster"
	fi
else
	echo "# note: promtool not installed (apt-get install prometheus): rule checks skipped"
fi

[ "$failures" -eq 0 ] || { echo "$failures failure(s)"; exit 1; }
echo "ok: alert rules"
