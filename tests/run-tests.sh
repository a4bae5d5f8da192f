#!/usr/bin/env bash
# run-tests.sh PROGRAM...: runs each test program (cmocka executables and
# *.sh scripts) one at a time, shows its output, and ends with one line
#
#   tests: N passed, N failed, N skipped
#
# counting test cases.  Exits 1 when anything failed (2 on a usage error).
# docs/testing.md is the full description; in short:
#
#   - Cases are counted from a protocol, never from a program's output:
#     cmocka executables run with CMOCKA_MESSAGE_OUTPUT=xml and write their
#     results to CMOCKA_XML_FILE in a private directory; shell scripts
#     report their cases through tests/lib/cases.sh into the file named by
#     DRILLRIG_TEST_CASES.  Anything a program prints (for example a line
#     "[  PASSED  ] 7 test(s)." of a child) counts for nothing.
#   - A program fails when it exits non-zero (other than 77), crashes, times
#     out, reports no case at all, reports only skipped cases, leaves a case
#     unfinished, or leaves a process running.
#   - Exit status 77 means "cannot run here" (a tool is missing): the
#     program counts as skipped, with its reason.
#   - Under CI=true a skip is a failure, unless the skipped case is listed
#     in tests/ci-allowed-skips (CI installs every tool: make deps).
#   - Each program runs under a timeout of DRILLRIG_TEST_TIMEOUT seconds
#     (default 900; the slowest program takes about 30-90 s on 2 cores).
#     On timeout its process group gets SIGTERM, then SIGKILL
#     DRILLRIG_TEST_KILL_GRACE seconds (default 10) later, and it fails.
#   - Every process a program starts carries a marker in its environment;
#     after the program ends, any process still carrying it (a detached
#     supervisor, a ledgerd node: they start their own sessions, out of
#     reach of a process-group kill) is killed, and the program fails.
set -uo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
timeout_s=${DRILLRIG_TEST_TIMEOUT:-900}
grace_s=${DRILLRIG_TEST_KILL_GRACE:-10}
allowed_file=${DRILLRIG_TEST_ALLOWED_SKIPS:-$here/ci-allowed-skips}
ci=0
[ "${CI:-}" = true ] && ci=1

usage() {
	echo "run-tests.sh: $*" >&2
	echo "usage: run-tests.sh PROGRAM... (see docs/testing.md)" >&2
	exit 2
}
number_re='^[0-9]+(\.[0-9]+)?$'
if [[ ! $timeout_s =~ $number_re ]] || [[ $timeout_s =~ ^0+(\.0*)?$ ]]; then
	usage "DRILLRIG_TEST_TIMEOUT must be a positive number of seconds, not '$timeout_s'"
fi
[[ $grace_s =~ $number_re ]] ||
	usage "DRILLRIG_TEST_KILL_GRACE must be a number of seconds, not '$grace_s'"
[ $# -gt 0 ] || usage "no test program given"
for tool in timeout tail grep; do
	command -v "$tool" >/dev/null 2>&1 || usage "needs $tool (coreutils, grep)"
done

# Skips allowed under CI=true: "PROGRAM CASE" pairs, one a line, from
# tests/ci-allowed-skips (# starts a comment).
declare -A allowed=()
if [ -f "$allowed_file" ]; then
	while read -r a_prog a_case _; do
		[[ -z $a_prog || $a_prog == \#* ]] && continue
		allowed["$a_prog $a_case"]=1
	done <"$allowed_file"
fi

scratch=$(mktemp -d "${TMPDIR:-/tmp}/drillrig-tests.XXXXXX") || exit 2
current_pid= # the running program's timeout process (its process group)
current_mark=

total_passed=0
total_failed=0
total_skipped=0
fail_lines=()
skip_lines=()

# marked_pids MARK: the live processes whose environment holds MARK=1.  A
# zombie's environment reads empty, so zombies never match.
marked_pids() {
	local f pid
	while IFS= read -r f; do
		pid=${f#/proc/}
		pid=${pid%/environ}
		[ "$pid" != "$$" ] && echo "$pid"
	done < <(grep -lzxF -- "$1=1" /proc/[0-9]*/environ 2>/dev/null)
}

# describe_pids PID...: "pid command line" for each.
describe_pids() {
	local p cmd
	for p in "$@"; do
		cmd=$(tr '\0' ' ' <"/proc/$p/cmdline" 2>/dev/null) || cmd=
		echo "$p ${cmd% }"
	done
}

# wait_gone MARK TENTHS: a bounded poll until no process carries MARK.
wait_gone() {
	local i
	for ((i = 0; i < $2; i++)); do
		[ -z "$(marked_pids "$1")" ] && return 0
		sleep 0.1
	done
	[ -z "$(marked_pids "$1")" ]
}

# kill_marked MARK: SIGTERM, then SIGKILL (a supervisor may restart its
# nodes meanwhile, so every round looks again), until none is left.
kill_marked() {
	local mark=$1 round pids
	for round in 1 2 3 4 5 6 7 8 9 10; do
		mapfile -t pids < <(marked_pids "$mark")
		[ ${#pids[@]} -eq 0 ] && return 0
		if [ "$round" -eq 1 ]; then
			kill -TERM "${pids[@]}" 2>/dev/null
		else
			kill -KILL "${pids[@]}" 2>/dev/null
		fi
		wait_gone "$mark" 20 && return 0
	done
	return 1
}

on_signal() {
	trap - INT TERM
	echo
	echo "run-tests.sh: interrupted; stopping the running program"
	if [ -n "$current_pid" ]; then
		kill -TERM -- "-$current_pid" 2>/dev/null
		kill -TERM "$current_pid" 2>/dev/null
	fi
	[ -n "$current_mark" ] && kill_marked "$current_mark"
	rm -rf "$scratch"
	exit 130
}
trap on_signal INT TERM
trap 'rm -rf "$scratch"' EXIT

# Per program: case names in order, and per name its status and message.
names=()
declare -A status=() message=()

# add_case NAME STATUS [MESSAGE]: STATUS is pass, fail, skip or begin (a
# shell case that started; it stays a failure unless it ends).
add_case() {
	local name=$1 st=$2 msg=${3:-}
	if [ -z "${status[$name]+set}" ]; then
		names+=("$name")
		status[$name]=$st
		message[$name]=$msg
		return
	fi
	# A failure is final; otherwise the latest record wins.
	[ "${status[$name]}" = fail ] && return
	status[$name]=$st
	message[$name]=$msg
}

# read_cases FILE: records of tests/lib/cases.sh, "KIND<TAB>NAME[<TAB>TEXT]".
read_cases() {
	local kind name text
	while IFS=$'\t' read -r kind name text; do
		case $kind in
		begin | pass | fail | skip) add_case "$name" "$kind" "$text" ;;
		*) add_case "(protocol)" fail "malformed record in the cases file: $kind $name" ;;
		esac
	done <"$1"
}

# read_cmocka DIR: cmocka's XML reports (CMOCKA_MESSAGE_OUTPUT=xml), one per
# group.  Case names and results come from <testcase> elements (text inside
# CDATA sections, a failure's message, is never taken for markup); the
# counts must agree with the <testsuite> attributes.
read_cmocka() {
	local f line rest seg in_cdata cur st msg
	local want_tests=0 want_fail=0 want_skip=0 got_tests=0 got_fail=0 got_skip=0
	for f in "$1"/*.xml; do
		[ -e "$f" ] || continue
		in_cdata=0
		cur=
		st=pass
		msg=
		while IFS= read -r line || [ -n "$line" ]; do
			rest=$line
			while :; do
				if [ "$in_cdata" -eq 1 ]; then
					if [[ $rest == *']]>'* ]]; then
						msg+=${rest%%']]>'*}
						rest=${rest#*']]>'}
						in_cdata=0
						continue
					fi
					msg+=$rest$'\n'
					break
				fi
				if [[ $rest == *'<![CDATA['* ]]; then
					seg=${rest%%'<![CDATA['*}
					rest=${rest#*'<![CDATA['}
					in_cdata=1
				else
					seg=$rest
					rest=
				fi
				if [[ $seg =~ \<testsuite\ .*tests=\"([0-9]+)\"\ failures=\"([0-9]+)\"\ errors=\"([0-9]+)\"\ skipped=\"([0-9]+)\" ]]; then
					want_tests=$((want_tests + BASH_REMATCH[1]))
					want_fail=$((want_fail + BASH_REMATCH[2] + BASH_REMATCH[3]))
					want_skip=$((want_skip + BASH_REMATCH[4]))
				fi
				if [[ $seg =~ \<testcase\ name=\"([^\"]*)\" ]]; then
					cur=${BASH_REMATCH[1]}
					st=pass
					msg=
				fi
				[[ $seg == *'<failure'* || $seg == *'<error'* ]] && st=fail
				[[ $seg == *'<skipped'* ]] && st=skip
				if [[ $seg == *'</testcase>'* ]] && [ -n "$cur" ]; then
					got_tests=$((got_tests + 1))
					[ "$st" = fail ] && got_fail=$((got_fail + 1))
					[ "$st" = skip ] && got_skip=$((got_skip + 1))
					# A group may run a test name twice: keep both.
					local key=$cur n=2
					while [ -n "${status[$key]+set}" ]; do
						key="$cur#$n"
						n=$((n + 1))
					done
					msg=${msg%$'\n'}
					add_case "$key" "$st" "${msg//$'\n'/ | }"
					cur=
				fi
				[ -z "$rest" ] && break
			done
		done <"$f"
	done
	if [ "$got_tests" -ne "$want_tests" ] || [ "$got_fail" -ne "$want_fail" ] ||
		[ "$got_skip" -ne "$want_skip" ]; then
		add_case "(cmocka-xml)" fail "the XML report does not add up: $got_tests cases ($got_fail failed, $got_skip skipped) vs the suites' tests=$want_tests failures+errors=$want_fail skipped=$want_skip"
	fi
}

# run_program PROG: runs one program and adds its counts to the totals.
run_program() {
	local prog=$1 name work rc t0 t1 secs shell=0 tail_pid timed_out=0
	local p=0 f=0 s=0 n st msg left reason
	local -a cmd leftover
	# The path under the last tests/ (build/tests/unit/test_x: unit/test_x).
	if [[ $prog =~ ^(.*/)?tests/(.+)$ ]]; then
		name=${BASH_REMATCH[2]}
	else
		name=$prog
	fi
	[[ $prog == *.sh ]] && shell=1
	echo "=== $name"

	work=$(mktemp -d "$scratch/prog.XXXXXX")
	mkdir "$work/state" "$work/cmocka"
	: >"$work/cases"
	: >"$work/out"
	# The marker: a variable of its own (not a value), so a runner nested
	# in a test keeps the outer marker on its programs too.
	current_mark="DRILLRIG_TEST_MARK_${$}_${RANDOM}${RANDOM}"
	# Drill state (Kubernetes pending undos) per program: never the user's
	# ~/.local/state, never shared with a concurrent run.
	# (env: its -u options come before the assignments.)
	if [ "$shell" -eq 1 ]; then
		cmd=(env -u CMOCKA_MESSAGE_OUTPUT -u CMOCKA_XML_FILE "$current_mark=1"
			"DRILLRIG_STATE_DIR=$work/state" "DRILLRIG_TEST_CASES=$work/cases" bash "$prog")
	else
		cmd=(env -u DRILLRIG_TEST_CASES "$current_mark=1" "DRILLRIG_STATE_DIR=$work/state"
			CMOCKA_MESSAGE_OUTPUT=xml "CMOCKA_XML_FILE=$work/cmocka/%g.xml" "$prog")
	fi

	t0=${EPOCHREALTIME/,/.}
	# timeout puts itself and the program in a process group of their own
	# and signals the whole group; its exit status is the program's.
	timeout --kill-after="$grace_s" "$timeout_s" "${cmd[@]}" >"$work/out" 2>&1 </dev/null &
	current_pid=$!
	tail -n +1 -f -s 0.1 --pid="$current_pid" "$work/out" &
	tail_pid=$!
	wait "$current_pid"
	rc=$?
	wait "$tail_pid"
	current_pid=
	t1=${EPOCHREALTIME/,/.}
	secs=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.0f", b - a }')
	if { [ "$rc" -eq 124 ] || [ "$rc" -eq 137 ]; } &&
		awk -v a="$t0" -v b="$t1" -v t="$timeout_s" 'BEGIN { exit !(b - a >= t) }'; then
		timed_out=1
	fi

	# Processes the program left behind (detached from its group).
	mapfile -t leftover < <(marked_pids "$current_mark")
	if [ ${#leftover[@]} -gt 0 ] && [ "$timed_out" -eq 0 ]; then
		# A teardown may still be finishing: a bounded poll (5 s) first.
		wait_gone "$current_mark" 50
		mapfile -t leftover < <(marked_pids "$current_mark")
	fi
	left=
	if [ ${#leftover[@]} -gt 0 ]; then
		left=$(describe_pids "${leftover[@]}" | head -n 10 | sed 's/^/      /')
		kill_marked "$current_mark" ||
			left+=$'\n'"      (some could not be killed: $(marked_pids "$current_mark" | tr '\n' ' '))"
	fi
	current_mark=

	names=()
	status=()
	message=()
	if [ "$shell" -eq 1 ]; then
		read_cases "$work/cases"
	else
		read_cmocka "$work/cmocka"
	fi
	for n in ${names[@]+"${names[@]}"}; do
		if [ "${status[$n]}" = begin ]; then
			status[$n]=fail
			message[$n]="the case did not finish (the script exited $rc in it)"
		elif [ "${status[$n]}" = skip ] && [ -z "${message[$n]}" ]; then
			# cmocka's skip() carries no reason: the test prints it.
			message[$n]="no reason given (see the program's output)"
		fi
	done

	# Program-level verdicts.
	local prog_fail=
	if [ "$timed_out" -eq 1 ]; then
		prog_fail="timed out after $timeout_s s (DRILLRIG_TEST_TIMEOUT) and was killed"
	elif [ "$rc" -eq 77 ]; then
		if [ ${#names[@]} -eq 0 ] || ! printf '%s\n' "${status[@]}" | grep -qx skip; then
			reason=$(grep -v '^[[:space:]]*$' "$work/out" | tail -n 1 | cut -c1-200)
			add_case "(exit-77)" skip "${reason:-exited 77 (skipped) without a reason}"
		fi
	elif [ "$rc" -gt 128 ] && [ "$rc" -lt 160 ]; then
		prog_fail="killed by signal $((rc - 128))"
	elif [ "$rc" -ne 0 ] && ! printf '%s\n' "${status[@]}" | grep -qx fail; then
		# (with a failed case, a non-zero exit needs no line of its own)
		prog_fail="exited with status $rc"
	fi
	if [ -n "$left" ]; then
		prog_fail+="${prog_fail:+; }left ${#leftover[@]} process(es) running (killed now):"$'\n'"$left"
	fi
	for n in ${names[@]+"${names[@]}"}; do
		if [ "${status[$n]}" = skip ] && [ "$ci" -eq 1 ] && [ -z "${allowed["$name $n"]+set}" ]; then
			status[$n]=fail
			message[$n]="skipped under CI=true (not in tests/ci-allowed-skips): ${message[$n]}"
		fi
		case ${status[$n]} in
		pass) p=$((p + 1)) ;;
		fail) f=$((f + 1)) ;;
		skip) s=$((s + 1)) ;;
		esac
	done
	if [ -z "$prog_fail" ] && [ "$rc" -ne 77 ]; then
		if [ ${#names[@]} -eq 0 ]; then
			prog_fail="reported no test case (exit $rc)"
		elif [ "$p" -eq 0 ] && [ "$f" -eq 0 ]; then
			prog_fail="every case was skipped; a program that cannot run exits 77"
		fi
	fi

	# What happened, case by case: cmocka's own output is silent in XML
	# mode, so its cases are listed here; a script has printed its own.
	for n in ${names[@]+"${names[@]}"}; do
		st=${status[$n]}
		msg=${message[$n]}
		if [ "$shell" -eq 0 ] && [ "$st" = pass ]; then
			echo "[       OK ] $n"
		elif [ "$st" = fail ]; then
			echo "[  FAILED  ] $n${msg:+: $msg}"
			fail_lines+=("$name: $n${msg:+: $msg}")
		elif [ "$st" = skip ]; then
			echo "[ SKIPPED  ] $n${msg:+: $msg}"
			skip_lines+=("$name: $n${msg:+: $msg}")
		fi
	done
	if [ -n "$prog_fail" ]; then
		echo "[  FAILED  ] $name: $prog_fail"
		fail_lines+=("$name: $prog_fail")
		# One failed case for the program itself, unless a case of it
		# already failed (a crash inside a case, a timeout inside one).
		[ "$f" -eq 0 ] && f=1
	fi
	total_passed=$((total_passed + p))
	total_failed=$((total_failed + f))
	total_skipped=$((total_skipped + s))
	echo "--- $name: $p passed, $f failed, $s skipped, $secs s"
	rm -rf "$work"
}

for prog in "$@"; do
	run_program "$prog"
done

echo
if [ ${#skip_lines[@]} -gt 0 ]; then
	echo "skipped:"
	printf '  %s\n' "${skip_lines[@]}"
fi
if [ ${#fail_lines[@]} -gt 0 ]; then
	echo "failed:"
	printf '  %s\n' "${fail_lines[@]}"
fi
echo "tests: $total_passed passed, $total_failed failed, $total_skipped skipped"
[ "$total_failed" -eq 0 ]
