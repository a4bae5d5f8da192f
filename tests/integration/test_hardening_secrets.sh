#!/usr/bin/env bash
# Secrets end to end: runs the region-failover drill for real with one
# planted secret of every kind, then searches every artefact for each
# planted value: the run directory (journal.json, report.md, junit.xml,
# latency.svg, history.ndjson), every commit message and every object of
# the results repository, drillrig's stdout and stderr, and every other
# file the run left in its working directory (cluster logs).
#
# Kinds planted (each value random, so a hit cannot be a coincidence):
#   env        DRILLRIG_GIT_TOKEN, MY_API_PASSWORD, SOME_SECRET (printed
#              into the journal by an exec step running printenv)
#   var-cli    a plan variable marked secret, set with --var-file (out of
#              argv: the running drill's command line is checked), used in
#              an exec argv and env
#   var-plan   a plan variable marked secret whose default is in the plan
#   url-pass   credentials in an http probe URL (user:pass@host)
#   auth       an Authorization: Bearer header of an http probe
#   header-*   similar headers of the same probe: X-Api-Key, and
#              Proxy-Authorization: Basic
#   webhook    --notify-webhook-file FILE (the URL), and a notify step's
#              url from a var
#
# Any hit fails the test: there is no list of tolerated leaks.
set -uo pipefail

# shellcheck source-path=SCRIPTDIR source=../lib/cases.sh
. "$(dirname "${BASH_SOURCE[0]}")/../lib/cases.sh"

bin=${DRILLRIG_BIN:?DRILLRIG_BIN not set}
src=${DRILLRIG_SRC:?DRILLRIG_SRC not set}
tmp=$(mktemp -d /dev/shm/drillrig-secrets.XXXXXX 2>/dev/null || mktemp -d)
drill_pid=
cleanup() {
	# SIGTERM makes drillrig run its rollback and tear its cluster down.
	if [ -n "$drill_pid" ] && kill -0 "$drill_pid" 2>/dev/null; then
		kill -TERM "$drill_pid" 2>/dev/null
		for _ in $(seq 1 100); do kill -0 "$drill_pid" 2>/dev/null || break; sleep 0.1; done
		kill -KILL "$drill_pid" 2>/dev/null
	fi
	rm -rf "$tmp"
}
trap cleanup EXIT
[ -n "${KEEP_TMP:-}" ] && trap - EXIT

rnd() { od -An -N8 -tx1 /dev/urandom | tr -d ' \n'; }
net="127.$((RANDOM % 250 + 1)).$((RANDOM % 250 + 1))"
declare -A secret
secret[env-git-token]="gittok$(rnd)"
secret[env-password]="apipw$(rnd)"
secret[env-secret]="envsec$(rnd)"
secret[var-cli]="varcli$(rnd)"
secret[var-plan]="varplan$(rnd)"
secret[url-pass]="urlpw$(rnd)"
secret[auth]="bearer$(rnd)"
secret[header-apikey]="apikey$(rnd)"
secret[header-proxy]="proxybasic$(rnd)"
secret[webhook]="hook$(rnd)"
secret[webhook-var]="hookvar$(rnd)"

# A port on the random network where nothing listens: probes and webhooks
# fail fast with "connection refused" (their error messages are artefacts
# too).
dead_port=1
mkdir -p "$tmp/work"
plan="$tmp/secret-failover.yaml"
# The drill catalog's region-failover with a vars block, three steps that
# use secrets before the fault and a failing http probe with credentials
# after the restore.
{
	sed -n '1,/^deadline:/p' "$src/drills/region-failover.yaml" | sed '$d'
	cat <<PLAN
vars:
  api_secret: {secret: true, description: set with --var}
  plan_secret: {default: "${secret[var-plan]}", secret: true}
  hook_url: {default: "http://${net}.1:${dead_port}/services/${secret[webhook-var]}", secret: true}

PLAN
	sed -n '/^deadline:/,/^steps:/p' "$src/drills/region-failover.yaml"
	cat <<PLAN
  - name: exec-with-secret-args
    action: exec
    argv: [echo, "arg=\${api_secret}", "default=\${plan_secret}"]
    env: {EXTRA_VALUE: "\${api_secret}"}

  - name: print-secret-env
    action: exec
    argv: [printenv, DRILLRIG_GIT_TOKEN, MY_API_PASSWORD, SOME_SECRET]

  - name: notify-secret-url
    action: notify
    url: "\${hook_url}"
    message: "drill starting"

PLAN
	sed -n '/^steps:/,$p' "$src/drills/region-failover.yaml" | sed '1d'
	# Last, as it fails (nothing listens): the whole failover runs first.
	cat <<PLAN

  - name: http-with-credentials
    action: probe
    probe:
      type: http
      url: "http://drilluser:${secret[url-pass]}@${net}.1:${dead_port}/health"
      headers: {Authorization: "Bearer ${secret[auth]}", X-Api-Key: "${secret[header-apikey]}", Proxy-Authorization: "Basic ${secret[header-proxy]}"}
      retries: 0
      timeout: 1s
PLAN
} >"$plan"

case_begin secret-plan-validates
if ! "$bin" validate "$plan" >"$tmp/validate.out" 2>&1 && ! grep -q "api_secret" "$tmp/validate.out"; then
	cat "$tmp/validate.out"
	fail "the secret plan does not validate"
fi

case_begin drill-runs-to-the-end
results="$tmp/results"
cd "$tmp/work" || fatal "cannot cd to $tmp/work"
# Secrets from files, not argv, which every local user can read (ps).
printf '%s\n' "${secret[var-cli]}" >"$tmp/api_secret"
printf '%s\n' "http://${net}.1:${dead_port}/hooks/${secret[webhook]}" >"$tmp/hook"
DRILLRIG_GIT_TOKEN="${secret[env-git-token]}" MY_API_PASSWORD="${secret[env-password]}" \
SOME_SECRET="${secret[env-secret]}" \
	"$bin" run "$plan" --json --results-repo "$results" --commit-history \
	--var-file "api_secret=$tmp/api_secret" --notify-webhook-file "$tmp/hook" \
	>"$tmp/stdout" 2>"$tmp/stderr" &
drill_pid=$!
sleep_until_cmdline=0
for _ in $(seq 1 50); do
	[ -r "/proc/$drill_pid/cmdline" ] && sleep_until_cmdline=1 && break
	sleep 0.1
done
if [ "$sleep_until_cmdline" = 1 ]; then
	cmdline=$(tr '\0' ' ' <"/proc/$drill_pid/cmdline")
	for k in var-cli webhook; do
		if grep -qF -- "${secret[$k]}" <<<"$cmdline"; then
			fail "the running drill's command line holds the $k secret: $cmdline"
		fi
	done
fi
# Bounded wait (the drill has a 5m deadline of its own; it takes ~30 s).
for _ in $(seq 1 1800); do
	kill -0 "$drill_pid" 2>/dev/null || break
	sleep 0.1
done
if kill -0 "$drill_pid" 2>/dev/null; then
	fail "drillrig still running after 180 s"
	kill -TERM "$drill_pid"
fi
wait "$drill_pid"
rc=$?
drill_pid=
echo "drillrig run exited $rc"
# The credential probe fails on purpose (nothing listens), so the drill
# fails: exit 1, never 0.
if [ "$rc" -ne 1 ]; then
	fail "drillrig run exited $rc (expected 1: the credential probe fails on purpose)"
	tail -20 "$tmp/stderr"
fi

# What the run produced.
case_begin run-wrote-every-artefact
run_dir=$(find "$results" -name journal.json -not -path '*/.git/*' -printf '%h\n' | head -1)
if [ -z "$run_dir" ]; then
	fail "no journal.json in the results repository"
	run_dir=$results
fi
for f in journal.json report.md junit.xml latency.svg history.ndjson; do
	[ -s "$run_dir/$f" ] || fail "the run wrote no $f"
done
# The steps with secrets ran (else the scan proves nothing): their results,
# not their names, which a skipped step has too.
if ! command -v jq >/dev/null 2>&1; then
	case_skip secret-steps-ran "jq is not installed (apt-get install jq)"
else
	case_begin secret-steps-ran
	# step NAME FIELD: FIELD (a jq path) of step NAME in the journal, "" if none.
	step() {
		jq -r --arg n "$1" "[.steps[] | select(.name == \$n)][0] | $2 // \"\"" \
			"$run_dir/journal.json" 2>&1
	}
	# expect_step NAME RESULT ERE: the step ended with RESULT, its message matching ERE.
	expect_step() {
		local result message
		result=$(step "$1" .result)
		message=$(step "$1" .message)
		if [ "$result" != "$2" ] || ! grep -qE -- "$3" <<<"$message"; then
			fail "step $1: result '$result' ($message), expected $2 with a message matching /$3/"
		fi
	}
	expect_step exec-with-secret-args ok "exited with 0"
	expect_step print-secret-env ok "exited with 0"
	# Nothing listens on the dead port: these two ran and were refused.
	expect_step notify-secret-url failed "webhook notification failed"
	expect_step http-with-credentials failed "request failed"
	# The secrets reached the programs (redacted on their way out).
	out=$(step exec-with-secret-args .data.data.stdout)
	[ "$out" = "arg=[REDACTED] default=[REDACTED]" ] ||
		fail "exec-with-secret-args printed '$out', expected both variables redacted"
	out=$(step print-secret-env .data.data.stdout)
	[ "$out" = $'[REDACTED]\n[REDACTED]\n[REDACTED]' ] ||
		fail "print-secret-env printed '$out', expected three redacted values"
fi

# Everything to search, as files under $tmp/scan.
case_begin results-repository-readable
scan="$tmp/scan"
mkdir -p "$scan/git-objects"
cp "$tmp/stdout" "$scan/drillrig.stdout"
cp "$tmp/stderr" "$scan/drillrig.stderr"
git -C "$results" log --all --format='%H%n%an <%ae>%n%B' >"$scan/git-log" 2>&1 ||
	fail "cannot read the results repository's log"
git -C "$results" cat-file --batch-all-objects --batch-check='%(objectname)' 2>/dev/null |
while read -r oid; do
	git -C "$results" cat-file -p "$oid" >"$scan/git-objects/$oid" 2>/dev/null
done
nobj=$(find "$scan/git-objects" -type f | wc -l)
[ "$nobj" -ge 5 ] || fail "only $nobj objects in the results repository"

case_begin no-secret-in-any-artefact
leaks=0
for kind in "${!secret[@]}"; do
	value=${secret[$kind]}
	# Files of the scan dir, of the results work tree and of the working
	# directory (cluster data and logs), not the packed .git objects.
	hits=$( (cd "$tmp" && grep -rlF -- "$value" scan results work 2>/dev/null) |
		grep -v '^results/\.git/' | sort)
	[ -n "$hits" ] || continue
	while IFS= read -r h; do
		line=$(grep -nF -m1 -- "$value" "$tmp/$h" | cut -c1-300)
		echo "LEAK: $kind (${value}) in $h: $line"
		leaks=$((leaks + 1))
	done <<<"$hits"
done
[ "$leaks" -eq 0 ] || fail "$leaks secret leak(s)"
echo "scanned ${#secret[@]} kinds, $nobj git objects"

cases_done
