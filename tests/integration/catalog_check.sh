#!/usr/bin/env bash
# Shared by tests/integration/test_catalog_*.sh: runs the drills named as
# arguments through ci/drill-all.sh on the bundled cluster with short
# timeouts, in both ledger dialects; every one must pass, report its
# figures, and leave no process behind.  Not a test itself (the runner
# only picks up test_*.sh).  Cases:
# drill-all, drill:<plan> for each plan (then the same with /ledger.v1),
# nothing-left-behind.
set -uo pipefail

# shellcheck source-path=SCRIPTDIR source=../lib/cases.sh
. "$(dirname "${BASH_SOURCE[0]}")/../lib/cases.sh"

plans=("$@")
bin=${DRILLRIG_BIN:?DRILLRIG_BIN not set}
src=${DRILLRIG_SRC:?DRILLRIG_SRC not set}
tmp=$(mktemp -d /dev/shm/drillrig-catalog.XXXXXX 2>/dev/null || mktemp -d)

# Whatever went wrong, no ledgerd or supervisor of ours outlives the test:
# every cluster lives under $tmp, so its processes name $tmp.
cleanup() {
	local pids
	pids=$(pgrep -f -- "$tmp/" || true)
	if [ -n "$pids" ]; then
		# shellcheck disable=SC2086 # one pid per word
		kill -9 $pids 2>/dev/null || true
	fi
	rm -rf "$tmp"
}
trap cleanup EXIT

cd "$src" || fatal "cannot cd to $src"
# A plan written NAME@API runs in that dialect only (a drill whose point is
# the kernel's fault, not the ledger's API, need not cost two runs).
all_plans=("${plans[@]}")

# Every drill in both of the bundled ledger's dialects (CATALOG_APIS to
# narrow it): the runbook's native services and the public ledger.v1.
for api in ${CATALOG_APIS:-runbook ledger.v1}; do
	tag=
	[ "$api" = runbook ] || tag="/$api"
	mkdir -p "$tmp/$api"
	plans=()
	args=()
	for p in "${all_plans[@]}"; do
		if [[ $p == *@* && ${p#*@} != "$api" ]]; then
			continue
		fi
		plans+=("${p%@*}")
		args+=("drills/${p%@*}.yaml")
	done
	case_begin "drill-all$tag"
	DRILLRIG=$bin DRILLRIG_CLUSTER_ROOT=$tmp/clusters timeout 170 \
		ci/drill-all.sh --results-repo "$tmp/$api/results" --artifacts "$tmp/$api/artifacts" \
		--summary "$tmp/$api/summary.md" --timing 300ms/30ms --api "$api" "${args[@]}" >"$tmp/$api/out" 2>&1
	rc=$?
	cat "$tmp/$api/out"
	[ "$rc" -eq 0 ] || fail "drill-all exited $rc, expected 0"
	grep -q "^${#plans[@]} drills: ${#plans[@]} passed, 0 failed$" "$tmp/$api/out" ||
		fail "the summary line does not say every drill passed"

	for p in "${plans[@]}"; do
		case_begin "drill:$p$tag"
		row=$(grep -E "^$p +passed +0 " "$tmp/$api/out" || true)
		[ -n "$row" ] || fail "$p: no passing row in the summary table"
		# RTO and RPO come from the results index: numbers (or n/a), never '-'.
		rto=$(awk '{print $4}' <<<"$row")
		[[ $rto =~ ^([0-9]+(\.[0-9]+)?|n/a)$ ]] || fail "$p: RTO column '$rto'"
		for f in journal.json junit.xml report.md; do
			[ -s "$tmp/$api/artifacts/$p/$f" ] || fail "$p: artifact $f missing"
		done
		if command -v xmllint >/dev/null 2>&1; then
			xmllint --noout --schema "$src/tests/data/junit/jenkins-junit.xsd" \
				"$tmp/$api/artifacts/$p/junit.xml" >"$tmp/$api/xsd" 2>&1 ||
				fail "$p: junit.xml does not follow the Jenkins JUnit schema: $(cat "$tmp/$api/xsd")"
		fi
		grep -q '"status": *"passed"' "$tmp/$api/artifacts/$p/journal.json" ||
			fail "$p: journal.json does not record a pass"
		grep -q "\"api\": *\"$api\"" "$tmp/$api/artifacts/$p/journal.json" ||
			fail "$p: journal.json does not record the $api dialect"
		if [ "$p" = quorum-loss ]; then
			# The unsafe promotion's writes at risk, in ledger indexes:
			# the chosen node's ledger index from its replayed log (not
			# its Raft index), the highest acknowledged one, and the
			# report saying which writes could be lost.
			python3 - "$tmp/$api/artifacts/$p/journal.json" >"$tmp/$api/ql" 2>&1 <<-'PY' ||
				import json, sys
				j = json.load(open(sys.argv[1]))
				u = j["measurements"]["unsafe_promotion"]
				step = [s for s in j["steps"] if s["name"] == "force-dr-promotion"][0]
				chosen = step["data"]["chosen"]
				assert u and u["step"] == "force-dr-promotion", u
				assert abs(u["t_ms"] - step["start_ms"]) < 0.01, (u, step["start_ms"])
				for k in ("dr_last_index", "primary_acked_index", "writes_at_risk", "writes_lost"):
				    assert isinstance(u[k], int), (k, u)
				key = "block_height" if j["target"]["api"] == "ledger.v1" else "ledger_last_index"
				assert u["dr_last_index"] == chosen[key], (u, chosen)
				assert u["writes_lost"] == j["measurements"]["writes"]["lost"], u
				assert 0 <= u["writes_at_risk"] <= max(0, u["primary_acked_index"] - u["dr_last_index"]), u
				assert u["writes_lost"] <= u["writes_at_risk"], u
				# The promotion is the leader the forced election made, not
				# the handover leader seen while the primary stopped.
				prom = j["measurements"]["promotion_ms"]
				assert prom is not None and prom >= step["start_ms"] - j["fault_start_ms"], \
				    ("promotion", prom, step["start_ms"], j["fault_start_ms"])
			PY
				fail "$p: measurements.unsafe_promotion: $(cat "$tmp/$api/ql")"
			# The backquotes are markdown, not a command substitution.
			# shellcheck disable=SC2016
			grep -q '^\*\*Unsafe promotion\*\* at `force-dr-promotion`' "$tmp/$api/artifacts/$p/report.md" ||
				fail "$p: report.md does not show the unsafe promotion's indexes"
			grep -q '^| At risk (acknowledged above the DR index) | [0-9]' "$tmp/$api/artifacts/$p/report.md" ||
				fail "$p: report.md does not count the writes at risk"
		fi
		grep -q "| $p | passed | 0 |" "$tmp/$api/summary.md" || fail "$p: not in the markdown summary table"
		[ "$(grep -c "^# $p: PASSED" "$tmp/$api/summary.md")" -eq 1 ] ||
			fail "$p: its markdown summary is not in the summary file exactly once"
	done
done

# Bounded poll: cluster teardown is synchronous, but give stragglers 5 s.
case_begin nothing-left-behind
for _ in $(seq 50); do
	pgrep -f -- "$tmp/clusters" >/dev/null || break
	sleep 0.1
done
if pgrep -f -- "$tmp/clusters" >/dev/null; then
	fail "processes left running: $(pgrep -af -- "$tmp/clusters")"
fi
if [ -d "$tmp/clusters" ] && [ -n "$(ls -A "$tmp/clusters")" ]; then
	fail "cluster directories left behind: $(ls "$tmp/clusters")"
fi

cases_done
