#!/usr/bin/env bash
# Measurement truth against a client drillrig did not write: while a drill
# SIGKILLs the leader of a real bundled cluster, an independent gRPC client
# (tests/support/independent_writer.py on Debian's python3-grpcio) writes
# to the same cluster and measures its own outage by the same definition.
# drillrig's longest measured outage must agree with the independent
# client's within max(10 %, 100 ms), in each dialect the ledger serves.
# Cases: setup, then agreement/<api> for each dialect.
set -uo pipefail

# shellcheck source-path=SCRIPTDIR source=../lib/cases.sh
. "$(dirname "${BASH_SOURCE[0]}")/../lib/cases.sh"
# shellcheck source-path=SCRIPTDIR source=../lib/cluster.sh
. "$(dirname "${BASH_SOURCE[0]}")/../lib/cluster.sh"

src=${DRILLRIG_SRC:-.}
build=${DRILLRIG_BUILD:-$src/build}
drillrig=${DRILLRIG_BIN:-$build/drillrig}
# Debian's interpreter, where python3-grpcio lives (a python3 earlier in
# PATH, say pyenv's, does not have it).
py=/usr/bin/python3

case_begin setup
"$py" -c 'import grpc, google.protobuf' 2>/dev/null ||
	cases_skip_all setup "python3-grpcio and python3-protobuf are not installed (ci/install-deps.sh installs them)"
[ -s "$build/gen/ledger.protoset" ] || fatal "no $build/gen/ledger.protoset (make builds it)"

root=$(mktemp -d "${TMPDIR:-/tmp}/drillrig-agreement.XXXXXX")
writer_pid=
cleanup() {
	[ -n "$writer_pid" ] && kill "$writer_pid" 2>/dev/null
	"$drillrig" cluster down --cluster "$root/cluster" >/dev/null 2>&1 || true
	rm -rf "$root"
}
trap cleanup EXIT

"$drillrig" cluster up --cluster "$root/cluster" --timing 300ms/30ms >/dev/null ||
	fatal "drillrig cluster up failed"
wait_cluster_settled "$drillrig" "$root/cluster" 30 ||
	fatal "the cluster never said Fully replicated with every member reachable within 30 s"

# agree API: one drill with the independent writer alongside.
agree() {
	local api=$1 out=$root/$1 rc report journal ours theirs
	mkdir -p "$out"
	"$py" "$src/tests/support/independent_writer.py" --protoset "$build/gen/ledger.protoset" \
		--cluster "$root/cluster" --api "$api" --stop "$out/stop" --ready "$out/ready" \
		--out "$out/independent.json" 2>"$out/writer.err" &
	writer_pid=$!
	for _ in $(seq 100); do
		[ -e "$out/ready" ] && break
		kill -0 "$writer_pid" 2>/dev/null || break
		sleep 0.1
	done
	if [ ! -e "$out/ready" ]; then
		cat "$out/writer.err"
		fail "the independent writer had no 20 writes acknowledged within 10 s"
		return
	fi
	"$drillrig" run "$src/tests/data/plans/precision/leader-kill.yaml" --cluster "$root/cluster" \
		--api "$api" --no-results >"$out/drill.out" 2>&1
	rc=$?
	touch "$out/stop"
	for _ in $(seq 100); do
		kill -0 "$writer_pid" 2>/dev/null || break
		sleep 0.1
	done
	kill -0 "$writer_pid" 2>/dev/null && { fail "the independent writer did not stop within 10 s"; return; }
	wait "$writer_pid"
	writer_pid=
	if [ "$rc" -ne 0 ]; then
		cat "$out/drill.out"
		fail "the leader-kill drill exited $rc, expected 0"
		return
	fi
	report=$(tail -n 1 "$out/drill.out")
	journal=$(dirname "$report")/journal.json
	[ -s "$journal" ] || { fail "no journal next to '$report'"; return; }
	[ -s "$out/independent.json" ] || { cat "$out/writer.err"; fail "the independent writer wrote no result"; return; }
	# The leader kill's outage is the longest for both (a snapshot pause
	# can add short ones); compare those.
	ours=$(jq '[.measurements.outages[].duration_ms] | max // 0' "$journal")
	theirs=$(jq '[.outages[].duration_ms] | max // 0' "$out/independent.json")
	echo "$api: drillrig measured ${ours} ms, the independent client ${theirs} ms" \
		"($(jq .acks "$out/independent.json") independent writes acknowledged)"
	awk -v a="$ours" -v b="$theirs" 'BEGIN {
		d = a - b; if (d < 0) d = -d
		m = (a > b ? a : b) * 0.10; if (m < 100) m = 100
		exit !(a > 0 && b > 0 && d <= m)
	}' || fail "$api: outages disagree: drillrig ${ours} ms, independent ${theirs} ms (allowed: max(10 %, 100 ms), both > 0)"
	rm -rf "$(dirname "$report")"
}

for api in ${AGREEMENT_APIS:-runbook ledger.v1}; do
	case_begin "agreement/$api"
	agree "$api"
	wait_cluster_settled "$drillrig" "$root/cluster" 30 ||
		fatal "the cluster did not settle after the $api drill"
done
cases_done
