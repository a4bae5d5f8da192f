#!/usr/bin/env bash
# The results repository over smart HTTP: `git http-backend` behind lighttpd
# with basic auth on a random loopback address.  Checks the token path
# (DRILLRIG_GIT_TOKEN, never printed), a rejected token, and two concurrent
# pushes from the same tip that both land (libgit2's local transport has no
# compare-and-swap on refs, so only a real server proves this).  Skipped
# (exit 77) without lighttpd; a failed check stops the script.
set -uo pipefail

# shellcheck source-path=SCRIPTDIR source=../lib/cases.sh
. "$(dirname "${BASH_SOURCE[0]}")/../lib/cases.sh"

DRILLRIG=${DRILLRIG_BIN:-build/drillrig}
SRC=${DRILLRIG_SRC:-.}
J=$SRC/tests/data/journals

lighttpd_bin=$(command -v lighttpd || { [ -x /usr/sbin/lighttpd ] && echo /usr/sbin/lighttpd; })
backend=$(git --exec-path 2>/dev/null)/git-http-backend
if [ -z "$lighttpd_bin" ] || [ ! -x "$backend" ]; then
	cases_skip_all lighttpd-and-git-http-backend \
		"needs lighttpd and git-http-backend (apt-get install lighttpd git)"
fi

T=$(mktemp -d /dev/shm/dr-githttp-XXXXXX 2>/dev/null || mktemp -d)
server_pid=
cleanup() {
	if [ -n "$server_pid" ]; then kill "$server_pid" 2>/dev/null; wait "$server_pid" 2>/dev/null; fi
	rm -rf "$T"
}
trap cleanup EXIT

# Under SANITIZE builds: Debian's libgit2 1.5 leaks a pcre2 match block per
# regex non-match in git_remote_lookup; that is not drillrig's leak.
printf 'leak:libpcre2-8.so\n' > "$T/lsan.supp"
export LSAN_OPTIONS="suppressions=$T/lsan.supp${LSAN_OPTIONS:+:$LSAN_OPTIONS}"

# ok: the open case passed (every check before it held).
ok() { case_end; }

TOKEN="tok-$RANDOM$RANDOM-secret"
export DRILLRIG_GIT_AUTHOR="Drill Bot <drill-bot@example.com>"
export HOME=$T/home XDG_CACHE_HOME=$T/cache
mkdir -p "$T/home" "$T/srv" "$T/www" "$T/barrier"

case_begin server-up
git init -q --bare -b main "$T/srv/results.git" || fatal "git init --bare"
git --git-dir "$T/srv/results.git" config http.receivepack true
printf 'x-access-token:%s\n' "$TOKEN" > "$T/users"

start_server() {
	local a b port
	for _ in $(seq 1 20); do
		a=$((RANDOM % 250 + 1)); b=$((RANDOM % 250 + 1))
		port=$((20000 + RANDOM % 30000))
		IP=127.$a.$b.1
		cat > "$T/lighttpd.conf" <<CONF
server.document-root = "$T/www"
server.bind = "$IP"
server.port = $port
server.errorlog = "$T/lighttpd.err"
server.modules = ("mod_alias", "mod_setenv", "mod_cgi", "mod_auth", "mod_authn_file")
alias.url = ("/git" => "$backend")
\$HTTP["url"] =~ "^/git" {
	cgi.assign = ("" => "")
	setenv.add-environment = ("GIT_PROJECT_ROOT" => "$T/srv", "GIT_HTTP_EXPORT_ALL" => "")
	auth.backend = "plain"
	auth.backend.plain.userfile = "$T/users"
	auth.require = ("" => ("method" => "basic", "realm" => "git", "require" => "valid-user"))
}
CONF
		"$lighttpd_bin" -D -f "$T/lighttpd.conf" > "$T/lighttpd.out" 2>&1 &
		server_pid=$!
		# Bounded poll: the server answers, or it died (port taken: retry).
		for _ in $(seq 1 100); do
			if ! kill -0 "$server_pid" 2>/dev/null; then break; fi
			code=$(curl -s -o /dev/null -w '%{http_code}' -u "x-access-token:$TOKEN" \
				"http://$IP:$port/git/results.git/info/refs?service=git-upload-pack")
			if [ "$code" = 200 ]; then URL="http://$IP:$port/git/results.git"; return 0; fi
			sleep 0.05
		done
		kill "$server_pid" 2>/dev/null; wait "$server_pid" 2>/dev/null; server_pid=
	done
	cat "$T/lighttpd.err" "$T/lighttpd.out" 2>/dev/null
	return 1
}
start_server || fatal "lighttpd did not come up"
echo "git http-backend at $URL"
ok

# 1. No token: the clone is refused (401), exit 3, nothing printed of a token.
case_begin no-token-refused
out=$(env -u DRILLRIG_GIT_TOKEN "$DRILLRIG" report publish --results-repo "$URL" \
	--cache-dir "$T/c0" --push "$J/passed.json" 2>&1); rc=$?
[ $rc -eq 3 ] || fatal "publish without a token exited $rc: $out"
ok

# 2. Wrong token: refused, and the wrong token is never printed.
case_begin wrong-token-refused-and-not-printed
WRONG="wrong-$RANDOM$RANDOM-token"
out=$(DRILLRIG_GIT_TOKEN=$WRONG "$DRILLRIG" report publish --results-repo "$URL" \
	--cache-dir "$T/c0" --push "$J/passed.json" 2>&1); rc=$?
[ $rc -eq 3 ] || fatal "publish with a wrong token exited $rc: $out"
case $out in *"$WRONG"*) fatal "the token appears in the output: $out" ;; esac
ok

export DRILLRIG_GIT_TOKEN=$TOKEN
# 3. The token path: clone, commit, push.
case_begin token-push
out=$("$DRILLRIG" report publish --results-repo "$URL" --cache-dir "$T/c1" --push \
	"$J/passed.json" 2>&1); rc=$?
[ $rc -eq 0 ] || fatal "publish with the token exited $rc: $out"
case $out in *"$TOKEN"*) fatal "the token appears in the output" ;; esac
echo "$out" | grep -q "pushed after 1 attempt" || fatal "not pushed: $out"
[ "$(git --git-dir "$T/srv/results.git" rev-list --count main)" = 1 ] || fatal "remote has no commit"
ok

# 4. Two drills finishing together, from the same tip, both land.
case_begin two-concurrent-pushes-both-land
"$DRILLRIG" report list --results-repo "$URL" --cache-dir "$T/c2" > /dev/null || fatal "clone c2"
"$DRILLRIG" report list --results-repo "$URL" --cache-dir "$T/c3" > /dev/null || fatal "clone c3"
DRILLRIG_TEST_PUSH_BARRIER=$T/barrier "$DRILLRIG" report publish --results-repo "$URL" \
	--cache-dir "$T/c2" --push "$J/failed-lost-write.json" > "$T/p2.out" 2>&1 &
p2=$!
DRILLRIG_TEST_PUSH_BARRIER=$T/barrier "$DRILLRIG" report publish --results-repo "$URL" \
	--cache-dir "$T/c3" --push "$J/kubernetes.json" > "$T/p3.out" 2>&1 &
p3=$!
wait $p2; rc2=$?
wait $p3; rc3=$?
[ $rc2 -eq 0 ] || fatal "concurrent publish 1 exited $rc2: $(cat "$T/p2.out")"
[ $rc3 -eq 0 ] || fatal "concurrent publish 2 exited $rc3: $(cat "$T/p3.out")"
cat "$T/p2.out" "$T/p3.out" | grep -q "pushed after 2 attempts" ||
	fatal "no push was rejected and retried: $(cat "$T/p2.out" "$T/p3.out")"
idx=$(git --git-dir "$T/srv/results.git" show main:dr-drill-results/index.ndjson)
[ "$(echo "$idx" | grep -c '"dir"')" = 3 ] || fatal "remote index should list 3 runs: $idx"
readme=$(git --git-dir "$T/srv/results.git" show main:dr-drill-results/README.md)
[ "$(echo "$readme" | grep -c '/report.md) |')" = 3 ] || fatal "README should have 3 rows"
log=$(git --git-dir "$T/srv/results.git" log --format='%an|%s' main)
[ "$(echo "$log" | grep -c '^Drill Bot|drill: ')" = 3 ] || fatal "git log: $log"
ok

case_begin clean-repositories-token-written-nowhere
git --git-dir "$T/srv/results.git" fsck --strict --no-dangling > /dev/null 2>&1 || fatal "git fsck on the remote"
for c in c1 c2 c3; do
	git -C "$T/cache/$c" status >/dev/null 2>&1 || true
	[ -z "$(git -C "$T/$c" status --porcelain)" ] || fatal "$c work tree is dirty"
	git -C "$T/$c" fsck --strict --no-dangling > /dev/null 2>&1 || fatal "git fsck in $c"
done
grep -rqF "$TOKEN" "$T/c1" "$T/c2" "$T/c3" "$T/srv" && fatal "the token was written somewhere"
ok
cases_done
