#!/usr/bin/env bash
# make-seeds.sh OUTDIR: writes the seed corpus of every fuzz target to
# OUTDIR/<target>/, from the hand-written seeds in tests/fuzz/seeds/<target>/
# and from the project's test data (plans, the drill catalog, journals), so
# the corpora follow the test data as it grows.
set -euo pipefail

src=$(cd "$(dirname "$0")/../.." && pwd)
out=$1
mkdir -p "$out"

for dir in "$src"/tests/fuzz/seeds/*/; do
	t=$(basename "$dir")
	mkdir -p "$out/$t"
	cp "$dir"* "$out/$t/" 2>/dev/null || true
done

mkdir -p "$out/plan_yaml" "$out/plan_json" "$out/expect" "$out/duration"
n=0
for f in "$src"/tests/data/plans/*/*.yaml "$src"/tests/data/plans/*/*.yml "$src"/drills/*.yaml; do
	[ -f "$f" ] || continue
	n=$((n + 1))
	cp "$f" "$out/plan_yaml/data-$n-$(basename "$f")"
done
for f in "$src"/tests/data/plans/*/*.json; do
	[ -f "$f" ] || continue
	n=$((n + 1))
	cp "$f" "$out/plan_json/data-$n-$(basename "$f")"
done
# Journals: JSON path lookups over real documents.
paths=('$.schema_version' 'verdict' 'steps[0].name' 'objectives[1].measured' '$.plan["name"]' 'steps[2].result.status')
for f in "$src"/tests/data/journals/*.json; do
	[ -f "$f" ] || continue
	i=0
	for p in "${paths[@]}"; do
		i=$((i + 1))
		{ printf 'p%s\n' "$p"; cat "$f"; } >"$out/expect/journal-$i-$(basename "$f")"
	done
	# The same documents as (invalid) plans.
	cp "$f" "$out/plan_json/journal-$(basename "$f")"
done
# Every duration the plans use.
i=0
grep -ohE '\b[0-9]+(\.[0-9]+)?(ns|us|ms|s|m|h)\b' "$src"/tests/data/plans/*/* "$src"/drills/*.yaml 2>/dev/null |
	sort -u | head -n 200 | while read -r d; do
	i=$((i + 1))
	printf '%s' "$d" >"$out/duration/data-$i"
done
