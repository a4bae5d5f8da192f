# shellcheck shell=bash
# tests/lib/cases.sh: named test cases for shell tests.  Source it, then
#
#   case_begin NAME        start a case (ends the open one, if any)
#   fail MESSAGE...        the open case fails; the script goes on
#   fatal MESSAGE...       the open case fails; the script stops (exit 1)
#   case_end               the open case passes, unless it failed
#   case_pass NAME         a case that passed, in one call
#   case_fail NAME MSG...  a case that failed, in one call (the script goes on)
#   case_skip NAME WHY...  a case that could not run, and why
#   cases_skip_all NAME WHY...
#                          the whole script cannot run (a tool is missing):
#                          records the skip and exits 77
#   cases_done             ends the open case, prints a summary line and
#                          returns 0 when no case failed, 1 otherwise: call
#                          it last, so its status is the script's
#
# A failure outside any case belongs to a case named "outside-cases".
# Case names are words of letters, digits and . _ : / - (no spaces).
#
# tests/run-tests.sh counts these cases (never the script's output): it
# names a file in DRILLRIG_TEST_CASES and each call above appends a record
# "KIND<TAB>NAME[<TAB>TEXT]" to it (KIND: begin, pass, fail, skip).  A case
# that began and never ended (the script died in it) counts as failed.  The
# variable is taken out of the environment here, so a child process cannot
# write to the file.  Run alone (no DRILLRIG_TEST_CASES), a script prints
# the same lines and exits with the same status.  See docs/testing.md.

if [ -z "${_cases_loaded:-}" ]; then
	_cases_loaded=1
	_cases_file=${DRILLRIG_TEST_CASES:-}
	unset DRILLRIG_TEST_CASES
	_case_open=       # the open case's name
	_case_failed=0    # the open case has failed
	_cases_pass=0
	_cases_fail=0
	_cases_skip=0
	declare -A _cases_seen=()
fi

# _cases_record KIND NAME [TEXT...]: one line in the cases file.
_cases_record() {
	local kind=$1 name=$2 text
	shift 2
	text=$*
	text=${text//$'\t'/ }
	text=${text//$'\n'/ | }
	[ -n "$_cases_file" ] || return 0
	if [ -n "$text" ]; then
		printf '%s\t%s\t%s\n' "$kind" "$name" "$text" >>"$_cases_file"
	else
		printf '%s\t%s\n' "$kind" "$name" >>"$_cases_file"
	fi
}

# _cases_name NAME: NAME when valid and new, else records a failure for it
# and returns 1.
_cases_name() {
	local name=$1
	if [[ ! $name =~ ^[A-Za-z0-9._:/-]+$ ]]; then
		echo "FAIL: invalid case name '$name' (letters, digits and . _ : / - only)"
		_cases_record fail "invalid-case-name" "invalid case name '$name'"
		_cases_fail=$((_cases_fail + 1))
		return 1
	fi
	if [ -n "${_cases_seen[$name]+set}" ]; then
		echo "FAIL: case '$name' reported twice"
		_cases_record fail "$name#dup" "case '$name' reported twice"
		_cases_fail=$((_cases_fail + 1))
		return 1
	fi
	_cases_seen[$name]=1
}

case_begin() {
	[ -n "$_case_open" ] && case_end
	_cases_name "$1" || return 0
	_case_open=$1
	_case_failed=0
	_cases_record begin "$_case_open"
}

case_end() {
	[ -n "$_case_open" ] || return 0
	if [ "$_case_failed" -eq 0 ]; then
		echo "ok: $_case_open"
		_cases_record pass "$_case_open"
		_cases_pass=$((_cases_pass + 1))
	fi
	_case_open=
	_case_failed=0
}

# fail MESSAGE...: prints it; the open case (or "outside-cases") fails
# once, however many of its checks fail.  Returns 0, so `check || fail ...`
# goes on even under set -e.
fail() {
	if [ -z "$_case_open" ]; then
		if [ -z "${_cases_seen[outside-cases]+set}" ]; then
			case_begin outside-cases
		else
			_case_open=outside-cases # failed before: counted once
			_case_failed=1
		fi
	fi
	echo "FAIL: $_case_open: $*"
	if [ "$_case_failed" -eq 0 ]; then
		_case_failed=1
		_cases_fail=$((_cases_fail + 1))
		_cases_record fail "$_case_open" "$*"
	fi
	return 0
}

fatal() {
	fail "$@"
	cases_done
	exit 1
}

case_pass() {
	[ -n "$_case_open" ] && case_end
	_cases_name "$1" || return 0
	echo "ok: $1"
	_cases_record pass "$1"
	_cases_pass=$((_cases_pass + 1))
}

case_fail() {
	local name=$1
	shift
	[ -n "$_case_open" ] && case_end
	_cases_name "$name" || return 0
	echo "FAIL: $name: $*"
	_cases_record fail "$name" "$*"
	_cases_fail=$((_cases_fail + 1))
}

case_skip() {
	local name=$1
	shift
	[ -n "$_case_open" ] && case_end
	_cases_name "$name" || return 0
	echo "SKIP: $name: $*"
	_cases_record skip "$name" "$*"
	_cases_skip=$((_cases_skip + 1))
}

cases_skip_all() {
	case_skip "$@"
	exit 77
}

# (It returns instead of exiting: shellcheck takes a script that ends in a
# function that always exits for one whose EXIT trap never runs.)
cases_done() {
	[ -n "$_case_open" ] && case_end
	echo "cases: $_cases_pass passed, $_cases_fail failed, $_cases_skip skipped"
	if [ "$_cases_fail" -gt 0 ]; then
		return 1
	fi
	if [ $((_cases_pass + _cases_skip)) -eq 0 ]; then
		echo "FAIL: no case was reported"
		return 1
	fi
	return 0
}
