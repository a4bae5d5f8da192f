#!/usr/bin/env bash
# drillrig soak on a real bundled cluster:
#   - 10 iterations with a fixed seed pass: no lost or duplicated write,
#     equal digests after every iteration, a "fault applied" line while each
#     fault is held and a line per iteration after it, the table;
#   - --replay repeats the saved schedule, fault for fault;
#   - a planted loss (drop-entry) is caught: exit 1, the seed and the
#     schedule are printed, the schedule file replays the same failure;
#   - usage errors exit 2 and name the problem;
#   - nothing keeps running afterwards.
#   - a restarted follower resyncs quickly over 45 seeded iterations (the
#     30 s snapshot stall, fixed);
#   - a leadership handover to a just-restarted node lands: an expected
#     failure (libraft 0.15, issue 19) that fails once it always lands.
set -uo pipefail

# shellcheck source-path=SCRIPTDIR source=../lib/cases.sh
. "$(dirname "${BASH_SOURCE[0]}")/../lib/cases.sh"

bin=${DRILLRIG_BIN:?DRILLRIG_BIN not set}
tmp=$(mktemp -d /dev/shm/drillrig-soak.XXXXXX 2>/dev/null || mktemp -d)
SEED=20261127

cleanup() {
	# A failed run may have left a cluster: take down whatever is in our root.
	for d in "$tmp"/drillrig-*/; do
		[ -f "$d/cluster.json" ] && "$bin" cluster down --cluster "$d" >/dev/null 2>&1
	done
	rm -rf "$tmp"
}
trap cleanup EXIT

# run CMD...: sets rc, out (stdout) and err (stderr); bounded by timeout.
run() {
	(cd "$tmp" && DRILLRIG_CLUSTER_ROOT="$tmp" timeout 150 "$@") >"$tmp/out" 2>"$tmp/err"
	rc=$?
	out=$(cat "$tmp/out")
	err=$(cat "$tmp/err")
}

expect_rc() {
	local want=$1 what=$2
	[ "$rc" -eq "$want" ] || fail "$what: exit $rc, expected $want
--- stdout
$out
--- stderr
$err"
}

# No process may still run with our directory on its command line.
expect_nothing_running() {
	local left
	left=$(pgrep -f -- "$tmp/drillrig-" || true)
	[ -z "$left" ] || fail "$1: processes still running: $(ps -o pid=,args= -p "${left//$'\n'/,}")"
}

# The fault kinds of the iteration lines (not their note or "fault applied"
# lines), in order.
kinds() {
	grep -E '^soak +[0-9]+/[0-9]+  [a-z-]+ .* hold [0-9]' <<<"$1" | grep -v '  fault applied: ' |
		awk '{print $3}'
}

# "fault applied" and iteration lines as "applied N KIND TARGET" and "done N
# KIND TARGET", in output order (TARGET without the column padding).
fault_events() {
	sed -nE -e 's/^soak +([0-9]+)\/[0-9]+  fault applied: ([a-z-]+) (.*) in [0-9.]+s(.*)?, holding [0-9.]+m?s$/applied \1 \2 \3/p' \
		-e 's/^soak +([0-9]+)\/[0-9]+  ([a-z-]+) (.*[^ ]) +hold [0-9].*$/done \1 \2 \3/p' <<<"$1"
}

# wait_for_line FILE ERE SECONDS PID WHAT: a bounded poll until a line of FILE
# matches ERE.  Fails naming WHAT, with FILE's text, when SECONDS pass or
# PID exits first.  Returns 0 once the line is there.
wait_for_line() {
	local file=$1 re=$2 secs=$3 pid=$4 what=$5 deadline=$((SECONDS + $3))
	until grep -qE -- "$re" "$file" 2>/dev/null; do
		if ! kill -0 "$pid" 2>/dev/null; then
			grep -qE -- "$re" "$file" 2>/dev/null && return 0
			fail "$what: the soak exited without printing it:
$(cat "$file" 2>/dev/null)"
			return 1
		fi
		if [ "$SECONDS" -ge "$deadline" ]; then
			fail "$what: not printed within $secs s:
$(cat "$file" 2>/dev/null)"
			return 1
		fi
		sleep 0.05
	done
}

# line_no FILE ERE: the number of the first line of FILE matching ERE (empty: none).
line_no() {
	grep -nE -m1 -- "$2" "$1" | cut -d: -f1
}

# ---- 10 iterations, fixed seed ------------------------------------------------
case_begin ten-iterations-fixed-seed
start=$(date +%s)
run "$bin" soak --iterations 10 --seed $SEED --timing 300ms/30ms --hold 200ms/1500ms \
	--schedule-out "$tmp/ten.json"
expect_rc 0 "10 iterations"
echo "$out"
# "ok, ANOMALY" is a transfer that ended with another leader: reported, not
# a failure without --strict (see transfer_to_restarted_node_lands below).
[ "$(grep -cE '^soak +[0-9]+/10  .* writes ok [1-9][0-9]* lost 0 dup 0  digests equal \(5 nodes, index [0-9]+\)  ok(, ANOMALY)?$' <<<"$out")" -eq 10 ] ||
	fail "expected 10 passing iteration lines with acknowledged writes and equal digests"
grep -q "^soak: seed $SEED, 10 iterations, topology primary:primary=2/2,dr:dr=2/2,witness:witness=1/2, timing 300ms/30ms$" <<<"$out" ||
	fail "header line"
grep -qE '^  lost acknowledged writes: 0   duplicated: 0   other violations: 0$' <<<"$out" || fail "summary: violations"
grep -qE '^  digests equal: 10 of 10 compared$' <<<"$out" || fail "summary: digests"
grep -qE '^  iterations passed: 10 of 10$' <<<"$out" || fail "summary: passed"
grep -qE '^  all +10 +[0-9.]+s +[0-9.]+s +[0-9.]+s +([0-9.]+s|-)$' <<<"$out" || fail "summary: recovery row"
grep -q '^verdict: passed (exit 0)$' <<<"$out" || fail "verdict line"
# Each fault is announced while it is held: "applied N" right before "done N",
# naming the same fault and target.
expected_events=$(for i in $(seq 1 10); do
	grep -E "^done $i " <<<"$(fault_events "$out")" | sed 's/^done/applied/'
	grep -E "^done $i " <<<"$(fault_events "$out")"
done)
{ [ "$(grep -c '^done ' <<<"$(fault_events "$out")")" -eq 10 ] && [ "$(fault_events "$out")" = "$expected_events" ]; } ||
	fail "a 'fault applied' line before each iteration line, naming its fault:
$(fault_events "$out")"
[ -f "$tmp/ten.json" ] || fail "--schedule-out wrote no file"
[ "$(jq '.faults | length' "$tmp/ten.json" 2>/dev/null || python3 -c 'import json,sys; print(len(json.load(open(sys.argv[1]))["faults"]))' "$tmp/ten.json")" = 10 ] ||
	fail "the schedule holds 10 faults"
ls "$tmp"/*.history.ndjson >/dev/null 2>&1 && fail "passing iterations keep no history files"
expect_nothing_running "after the soak"
first_kinds=$(kinds "$out")
echo "--- 10 iterations took $(( $(date +%s) - start )) s"

# ---- replay: the same faults in the same order -------------------------------
case_begin replay-repeats-the-schedule
run "$bin" soak --replay "$tmp/ten.json" --iterations 3
expect_rc 0 "replay of 3"
[ "$(kinds "$out")" = "$(head -3 <<<"$first_kinds")" ] ||
	fail "replay ran other faults: $(kinds "$out" | tr '\n' ' ') vs $(head -3 <<<"$first_kinds" | tr '\n' ' ')"
grep -q "^soak: seed $SEED, 3 iterations, .*, replaying $tmp/ten.json$" <<<"$out" || fail "replay header: $out"
expect_nothing_running "after the replay"

# ---- a planted loss is caught, reported and replayable -----------------------
case_begin planted-loss-is-caught-and-reported
run "$bin" soak --iterations 3 --seed 5 --faults drop-entry --hold 0ms/200ms
expect_rc 1 "planted loss"
grep -qE '^soak 1/3  drop-entry node [0-9]+ seq 1 .* lost 1 dup 0 .* VIOLATION$' <<<"$out" ||
	fail "the iteration line reports the lost write: $out"
grep -q '^soak 1/3  history: 1 lost, 0 duplicated, 0 other violations; history: ./soak-iteration-1.history.ndjson$' <<<"$out" ||
	fail "the note names the loss and the kept history: $out"
grep -q '^soak FAILED at iteration 1 of 3 (seed 5)$' <<<"$out" || fail "failure line with the seed"
grep -q '^  1. drop-entry hold [0-9]*ms (pick [0-9]*)$' <<<"$out" || fail "the schedule is printed"
grep -q '^replay:   drillrig soak --replay soak-schedule-5.json$' <<<"$out" || fail "the replay command"
[ -s "$tmp/soak-schedule-5.json" ] || fail "the schedule file was not written"
[ -s "$tmp/soak-iteration-1.history.ndjson" ] || fail "the failing iteration's history was not kept"
{ [ -s "$tmp/soak-cluster-5/supervisor.log" ] && [ -s "$tmp/soak-cluster-5/n1.log" ]; } ||
	fail "the failed cluster's logs were not kept: $err"
grep -q "^drillrig soak: the cluster's logs are kept in './soak-cluster-5'$" <<<"$err" || fail "logs message: $err"
ls -d "$tmp"/drillrig-soak-* >/dev/null 2>&1 && fail "the failed cluster's directory was not removed"
expect_nothing_running "after the planted loss"

case_begin planted-loss-replays
run "$bin" soak --replay soak-schedule-5.json
expect_rc 1 "replay of the planted loss"
grep -qE '^soak 1/1  drop-entry .* lost 1 .* VIOLATION$' <<<"$out" || fail "replay repeats the failure: $out"
expect_nothing_running "after replaying the planted loss"

# ---- a leadership handover to a node restarted a moment ago lands -----------
# Replaying kill-leader then transfer-leader (to the killed node, back after
# its restart): the target campaigns at once, and the other followers' votes
# must reach its new process.  With libraft 0.15's transport alone they went
# into the followers' streams to the old process and were lost, so another
# node won the next term (17-33 % of attempts on the 2-core machine; the
# soak still passed, as the drill's transfer asks again).  ledgerd now
# notices the dead stream and reconnects before the next message
# (ledger/daemon/transport_links.c, issue 19), so every attempt must land.
# The miss shows in the nodes' logs: a handover to the restarted node
# ("leadership transfer to node N started", or a witness "transferring
# leadership to node N") followed by another node's "became leader".
# $handover_attempts attempts of about 3 s each; tests/integration/
# test_raft_votes.c checks the lost vote itself.
handover_attempts=6
cat >"$tmp/handover.awk" <<'AWK'
# Node logs sorted by time; n: the restarted node.  Prints "missed M" when a
# handover to n after its restart ended with node M leading, else "landed".
$0 ~ ("ledgerd\\[" n "\\] raft started") { starts++; next }
starts >= 2 && ($0 ~ ("leadership transfer to node " n " started") ||
		$0 ~ ("transferring leadership to node " n "$")) { pending = 1; next }
pending && / became leader at term / {
	if ($0 !~ ("ledgerd\\[" n "\\] became")) {
		match($0, /ledgerd\[[0-9]+\]/)
		missed = substr($0, RSTART + 8, RLENGTH - 9)
	}
	pending = 0
}
END { print (missed != "" ? "missed " missed : "landed") }
AWK
transfer_to_restarted_node_lands() {
	local attempt node dir seen
	cat >"$tmp/transfer.json" <<-'EOF'
	{"version": 1, "seed": "20261127", "topology": "primary:primary=2/2,dr:dr=2/2,witness:witness=1/2",
	 "timing": "300ms/30ms", "faults": [
	  {"fault": "kill-leader", "pick": 386, "hold_ms": 724},
	  {"fault": "transfer-leader", "pick": 117, "hold_ms": 208}]}
	EOF
	for attempt in $(seq 1 "$handover_attempts"); do
		run "$bin" soak --replay "$tmp/transfer.json" --strict --rate 1 --keep-cluster
		dir=$(find "$tmp" -maxdepth 1 -name 'drillrig-soak-*' -type d | head -n 1)
		node=$(sed -nE 's/^soak 2\/2  transfer-leader to node ([0-9]+) .*/\1/p' <<<"$out")
		seen=
		[ -n "$dir" ] && [ -n "$node" ] &&
			seen=$(sort -n "$dir"/n*.log | awk -v n="$node" -f "$tmp/handover.awk")
		if [ -n "$dir" ]; then
			"$bin" cluster down --cluster "$dir" >/dev/null 2>&1
			rm -rf "$dir"
		fi
		expect_rc 0 "transfer_to_restarted_node_lands (attempt $attempt)"
		[ "$rc" -eq 0 ] || return
		if [ -z "$dir" ] || [ -z "$node" ] || [ -z "$seen" ]; then
			fail "attempt $attempt: no kept cluster, transfer line or logs to read: $out"
			return
		fi
		if [ "$seen" != landed ]; then
			fail "attempt $attempt: a handover to node $node just after its restart ended with node ${seen#missed } leading (a vote lost in a stream to the node's old process?)"
			return
		fi
	done
	echo "every handover to a just-restarted node landed ($handover_attempts attempts)"
}
case_begin transfer_to_restarted_node_lands
transfer_to_restarted_node_lands
expect_nothing_running "after transfer_to_restarted_node_lands"

# ---- regression: a restarted follower waited 30 s for a lost snapshot --------
# Seed 4242 regenerates the schedule of a 150-iteration soak whose iteration
# 45 (scale-region primary) left node 1 at its own snapshot for 30 s while
# node 2 got the leader's snapshot in 1.5 s: libraft's default
# install-snapshot timeout (30 s, ledgerd did not set it) after a lost
# InstallSnapshot.  Fixed: ledgerd sets the timeout to 5 election timeouts.
# The loss is timing-dependent (about 1 in 50-100 iterations), so a soak
# guards it only by chance: the deterministic guard is
# test_ledgerd_snapshot_resync (Debug/DropInstallSnapshot loses the
# snapshot on purpose; the mutants list names it).  Here the seeded
# schedule's first 15 iterations, the snapshot-heavy region scalings
# among them, must each recover within 10 s (0.38 s at most, measured
# over 45).  The kinds are named so the schedule stays the one measured,
# with or without the kernel's faults in the default mix; the holds are
# shorter than the default 3 s (the same faults, drawn the same way, held
# 0.2-1 s: the test took 35 s, make test was over its 10 minutes).
case_begin restarted_follower_resyncs_quickly
run "$bin" soak --seed 4242 --iterations 15 --recovery-timeout 10s --hold 200ms/1s \
	--faults kill-leader,kill-follower,scale-region,partition-region,pause-node,transfer-leader
expect_rc 0 "restarted_follower_resyncs_quickly"
expect_nothing_running "after restarted_follower_resyncs_quickly"

# ---- the kernel's faults: nftables cuts, one way and lossy -------------------
if [ "$(id -u)" -eq 0 ] && nft list tables >/dev/null 2>&1; then
	case_begin kernel-faults-are-injected-by-nftables
	run "$bin" soak --iterations 4 --seed 9 --faults mute-leader,lossy-region --hold 300ms/600ms
	expect_rc 0 "kernel faults"
	[ "$(grep -cE '^soak [1-4]/4  (mute-leader node [0-9]+ \(leader\) cannot send|lossy-region region [a-z]+ loses 30%) \(nftables\) .* lost 0 dup 0  digests equal .*  ok$' <<<"$out")" -eq 4 ] ||
		fail "expected 4 passing iterations injected by nftables: $out"
	# (That the rules go with a heal, a rollback, recover and cluster down
	# is test_partition_nft.sh's: the machine's table list is shared with
	# whatever else runs, so it is not checked here.)
else
	case_skip kernel-faults-are-injected-by-nftables "needs root and nft (uid $(id -u))"
fi
case_begin kernel-faults-without-nftables-stop-before-any-fault
PATH=/usr/bin:/bin run "$bin" soak --iterations 2 --seed 9 --faults mute-leader
expect_rc 3 "mute-leader without nft"
grep -q "mute-leader (iteration 1) needs nftables, which cannot be used here" <<<"$err" || fail "message: $err"
grep -q "^soak 1/2" <<<"$out" && fail "a fault was injected without nftables"

# ---- attach: --cluster uses a running cluster and leaves it running ----------
case_begin attach-refuses-a-cluster-without-debug-endpoints
"$bin" cluster up --cluster "$tmp/drillrig-plain" >/dev/null 2>&1 || fail "cluster up (plain)"
run "$bin" soak --cluster "$tmp/drillrig-plain" --iterations 2 --seed 1
expect_rc 3 "attached cluster without debug endpoints"
grep -q "a soak needs ledgerd's debug endpoints: drillrig cluster up --enable-debug" <<<"$err" ||
	fail "preflight message: $err"
grep -q "^soak 1/2" <<<"$out" && fail "no fault may be injected into a cluster that cannot be checked"
"$bin" cluster down --cluster "$tmp/drillrig-plain" >/dev/null 2>&1

case_begin attached-soak-leaves-the-cluster-running
"$bin" cluster up --cluster "$tmp/drillrig-debug" --enable-debug >/dev/null 2>&1 || fail "cluster up (debug)"
run "$bin" soak --cluster "$tmp/drillrig-debug" --iterations 2 --seed 11 --hold 200ms/400ms
expect_rc 0 "attached soak"
[ "$(grep -cE '^soak [12]/2  .*  ok(, ANOMALY)?$' <<<"$out")" -eq 2 ] || fail "attached soak lines: $out"
"$bin" cluster status --cluster "$tmp/drillrig-debug" >/dev/null 2>&1 ||
	fail "the soak took down a cluster it attached to"

# ---- SIGINT during a fault: it is healed, the soak stops with exit 4 ------
# The signal is sent once the soak says the first fault is in place (a bounded
# poll on its "fault applied" line), so it lands in the 20 s hold; the output
# must show it in that order: fault applied, interrupted, healed, the checked
# iteration, the verdict.
# --foreground: timeout passes a SIGINT on to its child AND to its process
# group, so the soak would often count two (the second one stops the
# recovery wait); with --foreground it forwards exactly one.
case_begin sigint-during-a-fault-heals-and-exits-4
sigint_start=$EPOCHREALTIME
(cd "$tmp" && exec timeout --foreground 120 "$bin" soak --cluster "$tmp/drillrig-debug" --iterations 20 --seed 12 \
	--faults partition-region,pause-node --hold 20s/20s >"$tmp/int.out" 2>"$tmp/int.err") &
soak_pid=$!
applied_re='^soak  1/20  fault applied: (partition-region|pause-node) .* in [0-9.]+s, holding 20s$'
if wait_for_line "$tmp/int.out" "$applied_re" 60 $soak_pid "the first fault's 'fault applied' line"; then
	# The fault is really in place: the cluster is not fully replicated
	# while it is held (bounded poll; the workload keeps writing).
	for _ in $(seq 1 100); do
		st=$("$bin" cluster status --cluster "$tmp/drillrig-debug" 2>&1)
		grep -q "Fully replicated" <<<"$st" || break
		sleep 0.1
	done
	grep -q "Fully replicated" <<<"$st" &&
		fail "the cluster stayed fully replicated for 10 s during the fault: $(cat "$tmp/int.out")"
fi
kill -INT $soak_pid
for _ in $(seq 1 600); do kill -0 $soak_pid 2>/dev/null || break; sleep 0.1; done
if kill -0 $soak_pid 2>/dev/null; then
	fail "the soak did not stop within 60 s of SIGINT"
	kill -KILL $soak_pid
fi
wait $soak_pid
rc=$?
[ "$rc" -eq 4 ] || fail "SIGINT: exit $rc, expected 4: $(cat "$tmp/int.out" "$tmp/int.err")"
applied_line=$(line_no "$tmp/int.out" "$applied_re")
int_line=$(line_no "$tmp/int.out" '^soak  1/20  interrupted after [0-9.]+s of the 20s hold$')
# Both faults of this schedule need an undo (heal, resume): it must be named.
fault=$(sed -nE 's/^soak  1\/20  fault applied: (.*) in [0-9.]+s, holding 20s$/\1/p' "$tmp/int.out")
healed_line=$(line_no "$tmp/int.out" "^soak  1/20  healed ${fault}; waiting for recovery")
checked_line=$(line_no "$tmp/int.out" '^soak  1/20  (partition-region|pause-node) .* hold [0-9.]+m?s .*  ok$')
verdict_line=$(line_no "$tmp/int.out" '^verdict: interrupted \(exit 4\)$')
{ [ -n "$applied_line" ] && [ -n "$int_line" ] && [ -n "$healed_line" ] && [ -n "$checked_line" ] &&
	[ -n "$verdict_line" ] && [ "$applied_line" -lt "$int_line" ] && [ "$int_line" -lt "$healed_line" ] &&
	[ "$healed_line" -lt "$checked_line" ] && [ "$checked_line" -lt "$verdict_line" ]; } ||
	fail "SIGINT during the fault: expected 'fault applied', 'interrupted after', 'healed $fault', the checked iteration ('ok') and the verdict, in that order:
$(cat "$tmp/int.out")"
grep -q '^soak  2/20' "$tmp/int.out" && fail "no iteration starts after SIGINT"
grep -qE "^soak  1/20  .* hold 20" "$tmp/int.out" && fail "SIGINT did not cut the hold short"
status=$("$bin" cluster status --cluster "$tmp/drillrig-debug" 2>&1)
grep -q "Fully replicated" <<<"$status" || fail "the fault was not healed after SIGINT: $status"
"$bin" cluster down --cluster "$tmp/drillrig-debug" >/dev/null 2>&1
echo "--- SIGINT during a fault took $(awk -v a="$sigint_start" -v b="$EPOCHREALTIME" 'BEGIN {printf "%.1f", b - a}') s"

# ---- usage errors ----------------------------------------------------------------
case_begin usage-errors
run "$bin" soak --replay "$tmp/ten.json" --seed 3
expect_rc 2 "--replay with --seed"
grep -q "replay takes seed, topology, timing and faults from the schedule" <<<"$err" || fail "message: $err"
run "$bin" soak --faults kill-everything
expect_rc 2 "unknown fault kind"
grep -q "unknown fault kind 'kill-everything'" <<<"$err" || fail "message: $err"
run "$bin" soak --hold 3s/1s
expect_rc 2 "hold range"
run "$bin" soak --topology primary=1 --faults scale-region
expect_rc 2 "impossible fault"
grep -q "none of the requested faults is possible" <<<"$err" || fail "message: $err"
run "$bin" soak --replay "$tmp/missing.json"
expect_rc 2 "missing schedule"
grep -q "cannot read the schedule '$tmp/missing.json'" <<<"$err" || fail "message: $err"
echo '{"version":1,"seed":"1","topology":"primary=2,dr=2,witness=1","timing":"300ms/30ms","faults":[{"fault":"nope","pick":0,"hold_ms":1}]}' >"$tmp/bad.json"
run "$bin" soak --replay "$tmp/bad.json"
expect_rc 2 "bad schedule"
grep -q "schedule '$tmp/bad.json': faults\[0\].fault: unknown fault 'nope'" <<<"$err" || fail "message: $err"
run "$bin" soak --cluster "$tmp/no-such-cluster"
expect_rc 3 "attach to nothing"
grep -q "no cluster in '$tmp/no-such-cluster'" <<<"$err" || fail "message: $err"

cases_done
