#!/usr/bin/env bash
# The project's own mutation check (`make mutants`; docs/testing.md, "The
# mutation check").  For each mutant of the list (tests/mutants/mutants.list:
# a file, an exact snippet, its replacement, the behaviour it breaks) it
# changes a scratch copy of the tree, never the tree itself, rebuilds what
# the unit tests need, runs the unit test programs (build/tests/unit/*) with
# a timeout, then the integration tests its entry names (`integration:`, for
# a mutant only real processes can catch), and records whether one of them
# failed (killed) or all passed (survived).  At the end: the kill rate and
# the survivors.
#
#   tests/mutants/run-mutants.sh [--list FILE] [--only NAME,NAME] [--jobs N]
#                                [--scratch DIR] [--seed-build DIR]
#                                [--tests PROG,PROG] [--timeout SECONDS]
#   tests/mutants/run-mutants.sh --check [--list FILE]
#
# --check     only parse the list and find every snippet (nothing is built)
# --only      run these mutants of the list (make mutants MUTANTS=a,b)
# --jobs      mutants checked in parallel, each in its own copy (default 2)
# --scratch   where the copies go (default build/mutants; emptied first)
# --seed-build a build directory whose objects the copies start from, so
#             only what a mutant touches is rebuilt (default build)
# --tests     only these unit test programs (the tool's own test uses it;
#             an entry's integration: tests still run)
# --timeout   seconds one test program may run (default 60)
#
# Exit status: 0 when every mutant was killed or survived with the reason
# its entry gives (`survives:`); 1 when a mutant survived unexplained, an
# explained one was killed after all, or a mutant did not compile; 2 when
# the list or the tree is wrong (a snippet not found exactly once, an
# unknown name, an integration: test that does not exist, unit or named
# integration tests that fail without any mutant).
set -uo pipefail
shopt -u patsub_replacement 2>/dev/null || true

src=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
list=$src/tests/mutants/mutants.list
only=""
jobs=2
scratch=""
seed=$src/build
only_tests=""
test_timeout=60
check_only=0

die() {
	printf 'run-mutants: %s\n' "$*" >&2
	exit 2
}

while [ $# -gt 0 ]; do
	case $1 in
	--list) list=${2:?--list needs a file}; shift 2 ;;
	--only) only=${2-}; shift 2 ;;
	--jobs) jobs=${2:?--jobs needs a number}; shift 2 ;;
	--scratch) scratch=${2:?--scratch needs a directory}; shift 2 ;;
	--seed-build) seed=${2:?--seed-build needs a directory}; shift 2 ;;
	--tests) only_tests=${2-}; shift 2 ;;
	--timeout) test_timeout=${2:?--timeout needs seconds}; shift 2 ;;
	--check) check_only=1; shift ;;
	-h | --help) sed -n '2,32p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; exit 0 ;;
	*) die "unknown option '$1' (--help lists them)" ;;
	esac
done
[[ $jobs =~ ^[1-9][0-9]*$ ]] || die "--jobs wants a positive number, got '$jobs'"
[[ $test_timeout =~ ^[1-9][0-9]*$ ]] || die "--timeout wants seconds, got '$test_timeout'"
[ -f "$list" ] || die "no mutant list '$list'"
scratch=$(realpath -m "${scratch:-$src/build/mutants}")
case $scratch/ in
"$src"/build/*) ;;
"$src"/*) die "--scratch '$scratch' is inside the tree: the copies would be copied" ;;
esac
# make runs this from a recipe: the copies' builds are not part of that make.
unset MAKEFLAGS MFLAGS MAKELEVEL

# ---- the list -----------------------------------------------------------
# Records of "key: value" lines; `find:` and `replace:` are followed by the
# snippet's lines, each written as "| " and the line itself (a lone "|" is
# an empty line); blank lines and lines starting with '#' are comments.

names=() files=() breaks=() hints=() integs=() finds=() repls=() survives=()

parse_list() {
	local line n=-1 mode="" first=0 lineno=0 key value sep

	while IFS= read -r line || [ -n "$line" ]; do
		lineno=$((lineno + 1))
		if [[ $line == "|"* ]]; then
			[ -n "$mode" ] || die "$list:$lineno: a '|' line outside find: or replace:"
			value=${line#|}
			value=${value# }
			sep=$'\n'
			[ "$first" = 1 ] && sep=""
			first=0
			if [ "$mode" = find ]; then
				finds[n]+=$sep$value
			else
				repls[n]+=$sep$value
			fi
			continue
		fi
		mode=""
		[[ -z ${line//[[:space:]]/} || $line == "#"* ]] && continue
		[[ $line =~ ^([a-z]+):[[:space:]]*(.*)$ ]] ||
			die "$list:$lineno: expected 'key: value', got '$line'"
		key=${BASH_REMATCH[1]}
		value=${BASH_REMATCH[2]}
		case $key in
		mutant)
			[[ $value =~ ^[a-z0-9][a-z0-9-]*$ ]] ||
				die "$list:$lineno: a mutant's name is lowercase letters, digits and '-': '$value'"
			for k in "${names[@]}"; do
				[ "$k" != "$value" ] || die "$list:$lineno: mutant '$value' is listed twice"
			done
			n=$((n + 1))
			names[n]=$value files[n]="" breaks[n]="" hints[n]="" integs[n]="" finds[n]=""
			repls[n]="" survives[n]=""
			;;
		file | breaks | tests | integration | survives | find | replace)
			[ $n -ge 0 ] || die "$list:$lineno: '$key:' before the first 'mutant:'"
			case $key in
			file) files[n]=$value ;;
			breaks) breaks[n]=$value ;;
			tests) hints[n]=$value ;;
			integration) integs[n]=$value ;;
			survives) survives[n]=$value ;;
			find | replace)
				[ -z "$value" ] || die "$list:$lineno: the snippet goes on '| ' lines below '$key:'"
				mode=$key
				first=1
				;;
			esac
			;;
		*) die "$list:$lineno: unknown key '$key' (mutant, file, breaks, tests, integration, survives, find, replace)" ;;
		esac
	done <"$list"
	for i in "${!names[@]}"; do
		[ -n "${files[i]}" ] || die "mutant '${names[i]}' has no file:"
		[ -n "${breaks[i]}" ] || die "mutant '${names[i]}' does not say what it breaks (breaks:)"
		[ -n "${finds[i]}" ] || die "mutant '${names[i]}' has no find: snippet"
		[ "${finds[i]}" != "${repls[i]}" ] || die "mutant '${names[i]}' replaces its snippet by itself"
	done
}

parse_list
[ ${#names[@]} -gt 0 ] || die "'$list' lists no mutant"

# --only: a subset, in the list's order.
selected=("${!names[@]}")
if [ -n "$only" ]; then
	selected=()
	IFS=', ' read -r -a wanted <<<"$only"
	for w in "${wanted[@]}"; do
		found=""
		for i in "${!names[@]}"; do
			[ "${names[i]}" = "$w" ] && found=$i
		done
		[ -n "$found" ] || die "no mutant named '$w' in $list"
	done
	for i in "${!names[@]}"; do
		for w in "${wanted[@]}"; do
			[ "${names[i]}" = "$w" ] && selected+=("$i")
		done
	done
fi

# read_file VAR FILE: the file's content into VAR, trailing newlines
# included (a command substitution would drop them).
read_file() {
	local c
	c=$(cat "$2" && printf x) || return 1
	printf -v "$1" '%s' "${c%x}"
}

# How often needle occurs in hay (literally).
occurrences() {
	local hay=$1 needle=$2 n=0
	while [[ $hay == *"$needle"* ]]; do
		hay=${hay#*"$needle"}
		n=$((n + 1))
	done
	echo "$n"
}

# integ_path NAME: how an integration test named in a list entry runs from
# the top of a copy: build/tests/integration/NAME (tests/integration/NAME.c)
# or tests/integration/NAME.sh; nothing when there is neither.
integ_path() {
	if [ -f "$src/tests/integration/$1.c" ]; then
		echo "build/tests/integration/$1"
	elif [ -f "$src/tests/integration/$1.sh" ]; then
		echo "tests/integration/$1.sh"
	fi
}

# Every snippet must be in the tree exactly once, and every integration
# test named must exist, before anything is built.
content=""
for i in "${selected[@]}"; do
	for t in ${integs[i]}; do
		[[ $t =~ ^test_[A-Za-z0-9_]+$ && -n $(integ_path "$t") ]] ||
			die "mutant '${names[i]}': no integration test '$t' (tests/integration/$t.c or $t.sh)"
	done
	f=$src/${files[i]}
	[ -f "$f" ] || die "mutant '${names[i]}': no file '${files[i]}'"
	read_file content "$f" || die "cannot read '$f'"
	count=$(occurrences "$content" "${finds[i]}")
	[ "$count" -eq 1 ] ||
		die "mutant '${names[i]}': its snippet is found $count times in ${files[i]} (must be exactly once):
${finds[i]}"
done

if [ "$check_only" = 1 ]; then
	printf 'mutants: %d entries of %s, every snippet found once\n' "${#selected[@]}" "${list#"$src"/}"
	exit 0
fi

# ---- the copies -----------------------------------------------------------

start=$EPOCHREALTIME
mkdir -p "$scratch" || die "cannot create '$scratch'"
rm -rf "${scratch:?}"/w[0-9]* "$scratch/logs" "$scratch/results"
mkdir -p "$scratch/logs" "$scratch/results"

copy_tree() { # copy_tree DEST: the sources (no build, no .git), times kept
	mkdir -p "$1"
	if git -C "$src" rev-parse --is-inside-work-tree >/dev/null 2>&1; then
		(cd "$src" && git ls-files -z -co --exclude-standard) |
			(cd "$src" && tar --null --ignore-failed-read -T - -cf - 2>/dev/null) | tar -xf - -C "$1"
	else
		tar -C "$src" --exclude=./build --exclude=./.git -cf - . | tar -xf - -C "$1"
	fi
}

w1=$scratch/w1
copy_tree "$w1" || die "cannot copy the tree to '$w1'"
# What a unit test links, from the seed build: only changed files rebuild.
if [ -d "$seed/obj" ]; then
	mkdir -p "$w1/build"
	parts=()
	for p in obj lib libtestsupport.a tests/unit tests/doubles; do
		[ -e "$seed/$p" ] && parts+=("$p")
	done
	tar -C "$seed" --exclude=./mutants -cf - "${parts[@]}" | tar -xf - -C "$w1/build" ||
		die "cannot copy the seed build '$seed'"
fi

unit_tests=()
if [ -n "$only_tests" ]; then
	IFS=', ' read -r -a unit_tests <<<"$only_tests"
	for t in "${unit_tests[@]}"; do
		[ -f "$w1/tests/unit/$t.c" ] || die "no unit test tests/unit/$t.c"
	done
else
	for t in "$w1"/tests/unit/test_*.c; do
		t=${t##*/}
		unit_tests+=("${t%.c}")
	done
fi
targets=(build/tests/doubles/kubectl)
for t in "${unit_tests[@]}"; do
	targets+=("build/tests/unit/$t")
done
# The integration tests any selected entry names: run once unmutated, then
# with the mutants that name them.
integ_tests=()
for i in "${selected[@]}"; do
	for t in ${integs[i]}; do
		[[ " ${integ_tests[*]} " == *" $t "* ]] || integ_tests+=("$t")
	done
done
# integ_targets TEST...: what those tests need built, the binaries they
# start included (nothing for none).
integ_targets() {
	local t p
	[ $# -gt 0 ] || return 0
	echo build/ledgerd build/drillrig
	for t in "$@"; do
		p=$(integ_path "$t")
		[[ $p == build/* ]] && echo "$p"
	done
}

# The copies build into their own build/, with the seed's sanitizers when
# SANITIZE is set (make test SANITIZE=... exports it; the seed is then
# build/sanitize).
sanitize=()
[ -n "${SANITIZE:-}" ] && sanitize=("SANITIZE=$SANITIZE")
build() { # build DIR JOBS LOG [TARGET...]: the unit tests and these
	local dir=$1 j=$2 log=$3
	shift 3
	make -C "$dir" -j"$j" --no-print-directory WERROR= BUILD=build "${sanitize[@]}" \
		"${targets[@]}" "$@" >>"$log" 2>&1
}

# run_one DIR LOG NAME PROGRAM...: run one test program in the copy DIR.
# Prints nothing when it passes (or exits 77), else "killed NAME" or
# "killed NAME (timeout)".
run_one() {
	local dir=$1 log=$2 name=$3 rc
	shift 3
	printf '\n==== %s\n' "$name" >>"$log"
	(cd "$dir" && DRILLRIG_SRC=$dir DRILLRIG_BUILD=$dir/build DRILLRIG_BIN=$dir/build/drillrig \
		LEDGERD_BIN=$dir/build/ledgerd DRILLRIG_STATE_DIR=$dir/state \
		timeout -k 5 "$test_timeout" "$@") >>"$log" 2>&1 </dev/null
	rc=$?
	case $rc in
	0 | 77) ;;
	124 | 137) echo "killed $name (timeout)" ;;
	*) echo "killed $name" ;;
	esac
}

# run_tests DIR LOG HINTS INTEGS: the unit tests, hinted ones first, then
# the named integration tests, until one fails.  Prints "killed PROGRAM",
# "killed PROGRAM (timeout)" or "survived".
run_tests() {
	local dir=$1 log=$2 order=() t h p verdict
	for h in $3; do
		for t in "${unit_tests[@]}"; do
			[ "$t" = "$h" ] && order+=("$t")
		done
	done
	for t in "${unit_tests[@]}"; do
		[[ " ${order[*]} " == *" $t "* ]] || order+=("$t")
	done
	for t in "${order[@]}"; do
		verdict=$(run_one "$dir" "$log" "$t" "build/tests/unit/$t")
		[ -z "$verdict" ] || { echo "$verdict"; return; }
	done
	for t in $4; do
		p=$(integ_path "$t")
		if [[ $p == *.sh ]]; then
			verdict=$(run_one "$dir" "$log" "$t" bash "$p")
		else
			verdict=$(run_one "$dir" "$log" "$t" "$p")
		fi
		[ -z "$verdict" ] || { echo "$verdict"; return; }
	done
	echo survived
}

printf 'mutants: %d of %s, %d at a time, unit tests: %d programs%s; copies in %s\n' \
	"${#selected[@]}" "${list#"$src"/}" "$jobs" "${#unit_tests[@]}" \
	"${integ_tests[*]:+, integration tests named by entries: ${integ_tests[*]}}" "$scratch"
base_log=$scratch/logs/baseline.log
# shellcheck disable=SC2046 # target names have no spaces
if ! build "$w1" "$jobs" "$base_log" $(integ_targets "${integ_tests[@]}"); then
	die "the unmutated copy does not build: $base_log"
fi
verdict=$(run_tests "$w1" "$base_log" "" "${integ_tests[*]}")
[ "$verdict" = survived ] ||
	die "the unit or named integration tests fail without any mutant (${verdict#killed }): fix that first; $base_log"
for ((k = 2; k <= jobs; k++)); do
	cp -a "$w1" "$scratch/w$k" || die "cannot copy '$w1'"
done

# ---- the mutants ------------------------------------------------------------

secs_since() {
	local t=$EPOCHREALTIME
	echo $(((10#${t//[.,]/} - 10#${1//[.,]/}) / 1000000))
}

check_mutant() { # check_mutant WORKDIR INDEX: one line in results, one printed
	local dir=$1 i=$2 name=${names[$2]} f="$1/${files[$2]}" t0=$EPOCHREALTIME
	local log=$scratch/logs/${names[$2]}.log original="" count status detail
	: >"$log"
	read_file original "$f"
	count=$(occurrences "$original" "${finds[i]}")
	if [ "$count" -ne 1 ]; then
		status=error detail="snippet found $count times in ${files[i]}"
	else
		printf '%s%s%s' "${original%%"${finds[i]}"*}" "${repls[i]}" "${original#*"${finds[i]}"}" >"$f"
		# shellcheck disable=SC2046,SC2086 # names without spaces, split on purpose
		if ! build "$dir" 1 "$log" $(integ_targets ${integs[i]}); then
			status=broken detail="does not compile (see $log)"
		else
			detail=$(run_tests "$dir" "$log" "${hints[i]}" "${integs[i]}")
			status=${detail%% *}
			detail=${detail#"$status"}
			detail=${detail# }
		fi
		# Back to the original, with a new time: make rebuilds what the
		# mutant touched before the next one.
		printf '%s' "$original" >"$f"
	fi
	printf '%s\t%s\t%s\t%s\n' "$name" "$status" "$detail" "$(secs_since "$t0")" \
		>>"$scratch/results/$(basename "$dir")"
	case $status in
	killed) printf 'killed    %-36s by %s (%ss)\n' "$name" "$detail" "$(secs_since "$t0")" ;;
	survived)
		printf 'SURVIVED  %-36s every unit test%s passed (%ss)\n' "$name" \
			"${integs[i]:+ and ${integs[i]// /, }}" "$(secs_since "$t0")"
		;;
	*) printf '%-9s %-36s %s\n' "${status^^}" "$name" "$detail" ;;
	esac
}

worker() { # worker K: every jobs-th selected mutant, from the K-th
	local k=$1 n=0 i
	for i in "${selected[@]}"; do
		if [ $((n % jobs + 1)) -eq "$k" ]; then
			check_mutant "$scratch/w$k" "$i"
		fi
		n=$((n + 1))
	done
}

pids=()
trap 'kill "${pids[@]}" 2>/dev/null; exit 130' INT TERM
for ((k = 1; k <= jobs; k++)); do
	worker "$k" &
	pids+=($!)
done
wait "${pids[@]}"
trap - INT TERM

# ---- the summary --------------------------------------------------------------

declare -A status_of detail_of
while IFS=$'\t' read -r name status detail _; do
	status_of[$name]=$status
	detail_of[$name]=$detail
done < <(cat "$scratch"/results/w* 2>/dev/null)

killed=0 survived=0 other=0 bad=0
survivor_lines=() problem_lines=()
for i in "${selected[@]}"; do
	name=${names[i]}
	case ${status_of[$name]:-missing} in
	killed)
		killed=$((killed + 1))
		if [ -n "${survives[i]}" ]; then
			bad=1
			problem_lines+=("  $name: killed by ${detail_of[$name]}, yet its entry says it survives: update the list")
		fi
		;;
	survived)
		survived=$((survived + 1))
		if [ -n "${survives[i]}" ]; then
			survivor_lines+=("  $name (${files[i]}): ${breaks[i]}" "      explained: ${survives[i]}")
		else
			bad=1
			survivor_lines+=("  $name (${files[i]}): ${breaks[i]}" "      NOT EXPLAINED: add a unit test that fails (or an integration: test, when only real processes can catch it), or say why none can (survives:)")
		fi
		;;
	*)
		other=$((other + 1))
		bad=1
		problem_lines+=("  $name: ${status_of[$name]:-no result} ${detail_of[$name]:-}")
		;;
	esac
done
total=${#selected[@]}
rate=$(awk -v k="$killed" -v n="$total" 'BEGIN { printf "%.1f", n ? 100 * k / n : 0 }')
elapsed=$(secs_since "$start")
printf '\nmutants: %d killed, %d survived, %d not run of %d (kill rate %s %%) in %dm%02ds\n' \
	"$killed" "$survived" "$other" "$total" "$rate" $((elapsed / 60)) $((elapsed % 60))
if [ ${#survivor_lines[@]} -gt 0 ]; then
	echo "survivors:"
	printf '%s\n' "${survivor_lines[@]}"
fi
if [ ${#problem_lines[@]} -gt 0 ]; then
	echo "problems:"
	printf '%s\n' "${problem_lines[@]}"
fi
echo "logs: $scratch/logs/<mutant>.log"
exit "$bad"
