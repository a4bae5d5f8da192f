#!/usr/bin/env bash
# Replays every fuzz target's seed corpus (tests/fuzz/make-seeds.sh: the
# hand-written seeds plus the plans, drills and journals of the test data)
# and every saved crash reproducer (tests/fuzz/crashes/<target>/) through
# the targets built with the project's compiler (replay_<target>), so a
# regression of a fixed crash fails `make test`, and under
# SANITIZE=address,undefined the seeds run with the sanitizers on.
set -uo pipefail

src=${DRILLRIG_SRC:?DRILLRIG_SRC not set}
build=${DRILLRIG_BUILD:?DRILLRIG_BUILD not set}
tmp=$(mktemp -d /dev/shm/drillrig-fuzzreplay.XXXXXX 2>/dev/null || mktemp -d)
trap 'rm -rf "$tmp"' EXIT
failures=0

"$src/tests/fuzz/make-seeds.sh" "$tmp/seeds" || { echo "FAIL: make-seeds.sh"; exit 1; }
targets=0
for f in "$src"/tests/fuzz/fuzz_*.c; do
	t=$(basename "$f" .c)
	t=${t#fuzz_}
	bin="$build/tests/fuzz/replay_$t"
	targets=$((targets + 1))
	if [ ! -x "$bin" ]; then
		echo "FAIL: $bin is not built (make test builds it)"
		failures=$((failures + 1))
		continue
	fi
	inputs=()
	[ -d "$tmp/seeds/$t" ] && inputs+=("$tmp/seeds/$t")
	[ -d "$src/tests/fuzz/crashes/$t" ] && inputs+=("$src/tests/fuzz/crashes/$t")
	if [ ${#inputs[@]} -eq 0 ]; then
		echo "FAIL: no seeds for fuzz target '$t' (add tests/fuzz/seeds/$t/)"
		failures=$((failures + 1))
		continue
	fi
	out=$("$bin" "${inputs[@]}" 2>&1)
	rc=$?
	n=$(printf '%s\n' "$out" | sed -n 's/.*: \([0-9][0-9]*\) inputs replayed$/\1/p')
	if [ "$rc" -ne 0 ]; then
		echo "FAIL: replay_$t exited $rc:"
		printf '%s\n' "$out" | tail -20
		failures=$((failures + 1))
	elif [ "${n:-0}" -lt 3 ]; then
		echo "FAIL: replay_$t ran only ${n:-0} inputs"
		failures=$((failures + 1))
	else
		echo "ok: $t: $n inputs"
	fi
done
[ "$targets" -ge 6 ] || { echo "FAIL: only $targets fuzz targets found"; failures=$((failures + 1)); }
[ "$failures" -eq 0 ] || { echo "$failures failure(s)"; exit 1; }
echo "all fuzz seeds and reproducers replayed"
