#!/usr/bin/env bash
# Runs the drill catalog one drill after another (a drill takes the whole
# cluster; two at once would measure each other) and prints one summary
# table.  `make drill-all` and the pull-request gate call this.
#
# usage: ci/drill-all.sh [options] [PLAN...]      (default: drills/*.yaml)
#   --results-repo DIR   results repository (default ./drill-results)
#   --artifacts DIR      copy each run's journal.json, junit.xml, report.md
#                        and latency.svg into DIR/<drill>/
#   --summary FILE       append each drill's markdown summary and the
#                        catalog table to FILE (e.g. "$GITHUB_STEP_SUMMARY")
#   --timing E/H         passed to every run (e.g. 300ms/30ms)
#   --api API            passed to every run: runbook or ledger.v1, the
#                        ledger services the drills call
#   --fail-on-regression PCT
#                        passed to every run: exit 1 when a drill's RTO is
#                        PCT % worse than its recent median
#   --                   everything after is passed to every run
#
# Environment: DRILLRIG (default build/drillrig).
# Exit status: the highest exit status of any drill (drillrig's table:
# 0 passed, 1 objective failed, 2 invalid plan, 3 infrastructure, 4 aborted,
# 5 rollback failed), or 2 on a usage error.
set -euo pipefail

drillrig=${DRILLRIG:-build/drillrig}
results=drill-results
artifacts=
summary=
run_args=()
plans=()
api=

usage() {
	sed -n '6,20p' "$0" | sed 's/^# \{0,1\}//' >&2
	exit 2
}

while [ $# -gt 0 ]; do
	case $1 in
	--results-repo) results=${2:?--results-repo needs a directory}; shift 2 ;;
	--artifacts) artifacts=${2:?--artifacts needs a directory}; shift 2 ;;
	--summary) summary=${2:?--summary needs a file}; shift 2 ;;
	--timing) run_args+=(--timing "${2:?--timing needs E/H}"); shift 2 ;;
	--api) api=${2:?--api needs runbook or ledger.v1}; run_args+=(--api "$api"); shift 2 ;;
	--fail-on-regression) run_args+=(--fail-on-regression "${2:?--fail-on-regression needs a percentage}"); shift 2 ;;
	--) shift; run_args+=("$@"); break ;;
	-h | --help) usage ;;
	-*) echo "drill-all: unknown option '$1'" >&2; usage ;;
	*) plans+=("$1"); shift ;;
	esac
done

if [ ${#plans[@]} -eq 0 ]; then
	shopt -s nullglob
	plans=(drills/*.yaml)
	shopt -u nullglob
fi
if [ ${#plans[@]} -eq 0 ]; then
	echo "drill-all: no drill plans (run from the repository root or name them)" >&2
	exit 2
fi
if [ ! -x "$drillrig" ]; then
	echo "drill-all: '$drillrig' is not executable (build it with make, or set DRILLRIG)" >&2
	exit 3
fi

# Refuse the whole catalog up front when one plan is invalid: a typo should
# not cost the minutes the other drills take.
"$drillrig" validate -q "${plans[@]}" || exit 2

# drillrig run appends each drill's markdown summary to $GITHUB_STEP_SUMMARY
# itself; --summary points it (and the final table) at FILE.
if [ -n "$summary" ]; then
	export GITHUB_STEP_SUMMARY=$summary
fi

worst=0
not_run=()
names=()
codes=()
secs=()
reports=()
for plan in "${plans[@]}"; do
	name=$(basename "$plan" .yaml)
	name=${name%.json}
	# A drill whose faults the kernel injects needs root (validate says
	# "needs root"): without it, it is left out and named, not failed.
	if [ "$(id -u)" -ne 0 ] && "$drillrig" validate "$plan" 2>/dev/null | grep -q '; needs root'; then
		echo "=== drill $name ($plan): not run: it needs root (nftables or a tmpfs per node)"
		not_run+=("$name")
		continue
	fi
	echo "=== drill $name ($plan)"
	out=$(mktemp)
	start=$(date +%s)
	rc=0
	# Progress goes through as the drill runs; its last line names the
	# report.md when the drill got far enough to write one.
	"$drillrig" run "$plan" --results-repo "$results" "${run_args[@]}" 2>&1 | tee "$out" || rc=${PIPESTATUS[0]}
	end=$(date +%s)
	report=$(tail -n 1 "$out" | grep -E '/report\.md$' || true)
	rm -f "$out"
	names+=("$name")
	codes+=("$rc")
	secs+=("$((end - start))")
	reports+=("${report:--}")
	if [ "$rc" -gt "$worst" ]; then
		worst=$rc
	fi
	if [ -n "$report" ]; then
		dir=$(dirname "$report")
		if [ -n "$artifacts" ]; then
			mkdir -p "$artifacts/$name"
			for f in journal.json junit.xml report.md latency.svg; do
				if [ -f "$dir/$f" ]; then
					cp "$dir/$f" "$artifacts/$name/"
				fi
			done
		fi
	fi
done

verdict() {
	case $1 in
	0) echo passed ;;
	1) echo FAILED ;;
	2) echo invalid ;;
	3) echo infra-error ;;
	4) echo aborted ;;
	5) echo rollback-failed ;;
	*) echo "exit-$1" ;;
	esac
}

# RTO, RPO and promotion come from the results index, by run folder.
listing=$("$drillrig" report list --results-repo "$results" 2>/dev/null || true)
# figure RUN_ID BACK: the column BACK places before the last (RUN) in that
# run's row: 3 RTO, 2 RPO, 1 promotion.  Counted from the end because a
# drill that failed before its target was up has an empty TARGET column.
figure() {
	if [ "$1" = - ]; then
		echo -
		return
	fi
	awk -v run="$1" -v back="$2" '$NF == run { print $(NF - back); found = 1; exit }
		END { if (!found) print "-" }' <<<"$listing"
}

echo
echo "drill catalog summary${api:+ (api $api)}"
printf '%-22s %-16s %4s %9s %8s %6s %10s  %s\n' DRILL VERDICT EXIT "RTO (s)" RPO TIME "PROMO (s)" RUN
failed=0
rows=()
for i in "${!names[@]}"; do
	run=-
	if [ "${reports[$i]}" != - ]; then
		run=$(basename "$(dirname "${reports[$i]}")")
	fi
	rto=$(figure "$run" 3)
	rpo=$(figure "$run" 2)
	promo=$(figure "$run" 1)
	printf '%-22s %-16s %4s %9s %8s %5ss %10s  %s\n' "${names[$i]}" "$(verdict "${codes[$i]}")" \
		"${codes[$i]}" "$rto" "$rpo" "${secs[$i]}" "$promo" "$run"
	rows+=("| ${names[$i]} | $(verdict "${codes[$i]}") | ${codes[$i]} | $rto | $rpo | $promo | ${secs[$i]} s |")
	if [ "${codes[$i]}" -ne 0 ]; then
		failed=$((failed + 1))
	fi
done
echo "${#names[@]} drills: $((${#names[@]} - failed)) passed, $failed failed${not_run[*]:+; not run (need root): ${not_run[*]}}"
if [ -n "$summary" ]; then
	{
		echo "## Drill catalog${api:+ (api $api)}"
		echo
		echo "| drill | verdict | exit | RTO (s) | RPO | promotion (s) | time |"
		echo "|---|---|---:|---:|---:|---:|---:|"
		printf '%s\n' "${rows[@]}"
		echo
	} >>"$summary"
fi
exit "$worst"
