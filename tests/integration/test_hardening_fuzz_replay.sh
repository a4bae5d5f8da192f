#!/usr/bin/env bash
# Replays every fuzz target's seed corpus (tests/fuzz/make-seeds.sh: the
# hand-written seeds plus the plans, drills and journals of the test data)
# and every saved crash reproducer (tests/fuzz/crashes/<target>/) through
# the targets built with the project's compiler (replay_<target>), so a
# regression of a fixed crash fails `make test`, and under
# SANITIZE=address,undefined the seeds run with the sanitizers on.
# Cases: make-seeds, replay:<target> for each target, enough-targets.
set -uo pipefail

# shellcheck source-path=SCRIPTDIR source=../lib/cases.sh
. "$(dirname "${BASH_SOURCE[0]}")/../lib/cases.sh"

src=${DRILLRIG_SRC:?DRILLRIG_SRC not set}
build=${DRILLRIG_BUILD:?DRILLRIG_BUILD not set}
tmp=$(mktemp -d /dev/shm/drillrig-fuzzreplay.XXXXXX 2>/dev/null || mktemp -d)
trap 'rm -rf "$tmp"' EXIT

case_begin make-seeds
"$src/tests/fuzz/make-seeds.sh" "$tmp/seeds" || fatal "make-seeds.sh"
targets=0
for f in "$src"/tests/fuzz/fuzz_*.c; do
	t=$(basename "$f" .c)
	t=${t#fuzz_}
	case_begin "replay:$t"
	bin="$build/tests/fuzz/replay_$t"
	targets=$((targets + 1))
	if [ ! -x "$bin" ]; then
		fail "$bin is not built (make test builds it)"
		continue
	fi
	inputs=()
	[ -d "$tmp/seeds/$t" ] && inputs+=("$tmp/seeds/$t")
	[ -d "$src/tests/fuzz/crashes/$t" ] && inputs+=("$src/tests/fuzz/crashes/$t")
	if [ ${#inputs[@]} -eq 0 ]; then
		fail "no seeds for fuzz target '$t' (add tests/fuzz/seeds/$t/)"
		continue
	fi
	out=$("$bin" "${inputs[@]}" 2>&1)
	rc=$?
	n=$(printf '%s\n' "$out" | sed -n 's/.*: \([0-9][0-9]*\) inputs replayed$/\1/p')
	if [ "$rc" -ne 0 ]; then
		fail "replay_$t exited $rc:"
		printf '%s\n' "$out" | tail -20
	elif [ "${n:-0}" -lt 3 ]; then
		fail "replay_$t ran only ${n:-0} inputs"
	else
		echo "$t: $n inputs"
	fi
done
case_begin enough-targets
[ "$targets" -ge 6 ] || fail "only $targets fuzz targets found"
cases_done
