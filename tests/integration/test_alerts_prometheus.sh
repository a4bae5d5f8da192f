#!/usr/bin/env bash
# The alert rules and the metric probe against a real Prometheus server
# (Debian's prometheus, the one promtool comes with), not an evaluator
# written in the test: it scrapes a bundled cluster's five nodes with the
# rule file ci/alerts/ledger-dr.rules.yml, and
# - in steady state every target is up and no alert is pending or firing;
# - after a quorum loss (three of five nodes crash) LedgerNoLeader goes
#   pending, then firing, for each survivor (node 3 and node 4);
# - drillrig's `metric` probe asks the same server's query API: a true
#   expectation passes, a false one and a malformed query fail the drill
#   with the server's own answer.
# The rules are the shipped file with only its `for:` durations shortened
# to 4 s (sed), so the test waits seconds, not minutes; the expressions,
# labels and annotations are the file's.
set -uo pipefail

# shellcheck source-path=SCRIPTDIR source=../lib/cases.sh
. "$(dirname "${BASH_SOURCE[0]}")/../lib/cases.sh"
# shellcheck source-path=SCRIPTDIR source=../lib/cluster.sh
. "$(dirname "${BASH_SOURCE[0]}")/../lib/cluster.sh"

src=${DRILLRIG_SRC:-.}
build=${DRILLRIG_BUILD:-$src/build}
drillrig=${DRILLRIG_BIN:-$build/drillrig}

case_begin setup
command -v prometheus >/dev/null 2>&1 ||
	cases_skip_all setup "prometheus is not installed (ci/install-deps.sh installs Debian's prometheus)"
command -v jq >/dev/null 2>&1 || cases_skip_all setup "jq is not installed (apt-get install jq)"
root=$(mktemp -d "${TMPDIR:-/tmp}/drillrig-prom.XXXXXX")
prom_pid=
cleanup() {
	[ -n "$prom_pid" ] && kill "$prom_pid" 2>/dev/null && wait "$prom_pid" 2>/dev/null
	"$drillrig" cluster down --cluster "$root/c" >/dev/null 2>&1 || true
	[ -n "${KEEP_TMP:-}" ] || rm -rf "$root"
}
trap cleanup EXIT

"$drillrig" cluster up --cluster "$root/c" --timing 300ms/30ms >"$root/up" 2>&1 ||
	fatal "drillrig cluster up failed: $(cat "$root/up")"
wait_cluster_settled "$drillrig" "$root/c" 30 ||
	fatal "the cluster never said Fully replicated with every member reachable within 30 s"
targets=$(jq -r '[.nodes[].http_address | "\"" + . + "\""] | join(", ")' "$root/c/cluster.json")
port=$(/usr/bin/python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
prom="http://127.0.0.1:$port"
sed -E 's/^( +for: ).*/\14s/' "$src/ci/alerts/ledger-dr.rules.yml" >"$root/rules.yml"
grep -q 'for: 4s' "$root/rules.yml" || fatal "no 'for:' shortened in the rule file copy"
cat >"$root/prometheus.yml" <<EOF
global:
  scrape_interval: 250ms
  scrape_timeout: 200ms
  evaluation_interval: 250ms
rule_files: ["$root/rules.yml"]
scrape_configs:
  - job_name: ledger
    static_configs:
      - targets: [$targets]
EOF
prometheus --config.file="$root/prometheus.yml" --storage.tsdb.path="$root/tsdb" \
	--web.listen-address="127.0.0.1:$port" >"$root/prometheus.log" 2>&1 &
prom_pid=$!
ready=
for _ in $(seq 1 150); do
	curl -sf "$prom/-/ready" >/dev/null 2>&1 && ready=1 && break
	kill -0 "$prom_pid" 2>/dev/null || break
	sleep 0.1
done
[ -n "$ready" ] || fatal "prometheus did not get ready within 15 s: $(tail -5 "$root/prometheus.log")"
case_end

# alerts: "name node state" lines from the server, sorted.
alerts() {
	curl -sf "$prom/api/v1/alerts" |
		jq -r '.data.alerts[] | "\(.labels.alertname) \(.labels.node) \(.state)"' | sort
}

case_begin steady-state-every-target-up-no-alert
up=
for _ in $(seq 1 100); do
	up=$(curl -sf "$prom/api/v1/targets" | jq -r '[.data.activeTargets[] | select(.health == "up")] | length')
	[ "$up" = 5 ] && break
	sleep 0.1
done
[ "$up" = 5 ] || fail "only ${up:-0} of 5 ledgerd targets are up in prometheus after 10 s"
# a few evaluations after every target answered
sleep_polls=0
while [ "$sleep_polls" -lt 8 ]; do
	got=$(curl -sf "$prom/api/v1/query?query=count(ledger_raft_leader%20%3D%3D%201)" |
		jq -r '.data.result[0].value[1] // "0"')
	[ "$got" = 5 ] && break
	sleep_polls=$((sleep_polls + 1))
	sleep 0.25
done
[ "$got" = 5 ] || fail "prometheus sees ${got} nodes that know a leader, not 5"
a=$(alerts)
[ -z "$a" ] || fail "alerts in steady state: $a"
rules=$(curl -sf "$prom/api/v1/rules" | jq -r '[.data.groups[].rules[] | select(.health == "ok")] | length')
[ "$rules" = 3 ] || fail "prometheus evaluates $rules healthy rules, not the file's 3: $(curl -sf "$prom/api/v1/rules")"

case_begin metric-probe-asks-the-query-api
cat >"$root/probes.yaml" <<EOF
version: 1
name: prometheus-probes
description: drillrig's metric probe against a real Prometheus
target: local
deadline: 2m
workload: {enabled: false}
steps:
  - name: every-node-knows-the-leader
    action: probe
    probe: {type: metric, url: "$prom", query: "count(ledger_raft_leader == 1)", op: eq, value: 5, retries: 10, interval: 250ms}
  - name: one-leader
    action: probe
    probe: {type: metric, url: "$prom/api/v1/query", query: "sum(ledger_raft_is_leader)", op: eq, value: 1}
EOF
"$drillrig" run "$root/probes.yaml" --cluster "$root/c" --no-results --json >"$root/probes.out" 2>&1
rc=$?
[ "$rc" -eq 0 ] || fail "metric probes that hold exited $rc: $(tail -5 "$root/probes.out")"
grep -qF '"message":"count(ledger_raft_leader == 1) is 5, expected == 5"' "$root/probes.out" ||
	fail "the probe does not report the server's 5: $(grep -m3 every-node "$root/probes.out")"
sed -e 's/op: eq, value: 5/op: eq, value: 6/' -e 's/retries: 10/retries: 0/' \
	"$root/probes.yaml" >"$root/probes-false.yaml"
"$drillrig" run "$root/probes-false.yaml" --cluster "$root/c" --no-results >"$root/false.out" 2>&1
rc=$?
[ "$rc" -eq 1 ] || fail "a metric probe expecting 6 leader-knowing nodes of 5 exited $rc, not 1"
sed -e 's/count(ledger_raft_leader == 1)/count(ledger_raft_leader ==/' -e 's/retries: 10/retries: 0/' \
	"$root/probes.yaml" >"$root/probes-bad.yaml"
"$drillrig" run "$root/probes-bad.yaml" --cluster "$root/c" --no-results >"$root/bad.out" 2>&1
rc=$?
[ "$rc" -eq 1 ] || fail "a malformed PromQL query exited $rc, not 1"
grep -q "HTTP 400" "$root/bad.out" || fail "the malformed query's failure does not quote the server: $(grep -m2 -i query "$root/bad.out")"

case_begin quorum-loss-no-leader-pending-then-firing
for n in 1 2 5; do
	"$drillrig" cluster stop --cluster "$root/c" "$n" --signal KILL >/dev/null 2>&1 ||
		fail "cannot stop node $n"
done
# Each survivor on its own: they notice the lost leader at different
# moments, so one may fire while the other is still pending.
pending3=''
pending4=''
firing=''
for _ in $(seq 1 250); do
	a=$(alerts)
	grep -q '^LedgerNoLeader 3 pending$' <<<"$a" && pending3=1
	grep -q '^LedgerNoLeader 4 pending$' <<<"$a" && pending4=1
	if [ "$(grep -c '^LedgerNoLeader [34] firing$' <<<"$a")" = 2 ]; then
		firing=1
		break
	fi
	sleep 0.1
done
if [ -z "$pending3" ] || [ -z "$pending4" ]; then
	fail "LedgerNoLeader was not seen pending for both survivors (node 3: ${pending3:-no}, node 4: ${pending4:-no}) before firing (its for: is 4 s): $a"
fi
[ -n "$firing" ] || fail "LedgerNoLeader did not fire for both survivors within 25 s: $a"
others=$(grep -v '^LedgerNoLeader [34] firing$' <<<"$a" | grep -v '^$')
[ -z "$others" ] || fail "besides LedgerNoLeader for nodes 3 and 4: $others"
cases_done
