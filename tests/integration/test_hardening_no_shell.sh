#!/usr/bin/env bash
# No shell, no banned string functions: fails when the source (common/
# harness/ assertions/ reports/ ledger/ tests/doubles/, and the C files and
# shell scripts in ci/) calls system(), popen(), a shell with -c
# (sh/bash/dash/zsh -c, as a string or as an argv pair "sh", "-c"), or any
# of sprintf, vsprintf, strcpy, strcat, strtok, atoi, gets (git's banned.h
# set; snprintf, strtok_r, fgets stay allowed).  Matches are whole words
# outside comments; calls are also looked for outside string literals so a
# message that mentions "system" is fine.  The scanner first proves it
# catches a planted file of every kind, so an empty scan cannot pass by
# accident.
set -uo pipefail

# shellcheck source-path=SCRIPTDIR source=../lib/cases.sh
. "$(dirname "${BASH_SOURCE[0]}")/../lib/cases.sh"

src=${DRILLRIG_SRC:?DRILLRIG_SRC not set}
tmp=$(mktemp -d /dev/shm/drillrig-noshell.XXXXXX 2>/dev/null || mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# scan FILE...: prints "file:line: what" for every violation.
scan() {
	perl -e '
use strict; use warnings;
my @banned = qw(system popen sprintf vsprintf strcpy strcat strtok atoi gets);
my $alt = join("|", @banned);
my $call = qr/(?<![\w.>])($alt)\s*\(/;
my $shell = qr/\b(?:sh|bash|dash|zsh|ksh)\s+-c\b/;
my $argv_shell = qr/"(?:\/bin\/|\/usr\/bin\/)?(?:sh|bash|dash|zsh|ksh)"\s*,\s*"-c"/;
for my $file (@ARGV) {
	open(my $fh, "<", $file) or die "cannot open $file: $!\n";
	local $/; my $text = <$fh>; close $fh;
	my $lines = sub { my $s = shift; (my $t = $s) =~ tr/\n//cd; $t };
	if ($file =~ /\.(c|h)$/) {
		# Drop comments, keep strings (and line numbers).
		my $code = $text;
		$code =~ s{(/\*.*?\*/)|(//[^\n]*)|("(?:\\.|[^"\\\n])*")|(\x27(?:\\.|[^\x27\\\n])*\x27)}
			  { defined $1 ? $lines->($1) : defined $2 ? "" : defined $3 ? $3 : $4 }gse;
		# The same without string contents, for calls.
		(my $bare = $code) =~ s{"(?:\\.|[^"\\\n])*"}{""}g;
		my @code = split /\n/, $code, -1;
		my @bare = split /\n/, $bare, -1;
		for my $i (0 .. $#bare) {
			while ($bare[$i] =~ /$call/g) {
				print "$file:", $i + 1, ": calls $1()\n";
			}
			print "$file:", $i + 1, ": runs a shell with -c\n"
				if $code[$i] =~ $shell || $code[$i] =~ $argv_shell;
		}
	} else {
		# Shell scripts: strip comments (a # at the start of a word).
		my @l = split /\n/, $text, -1;
		for my $i (0 .. $#l) {
			(my $c = $l[$i]) =~ s/(^|\s)#.*//;
			print "$file:", $i + 1, ": runs a shell with -c\n" if $c =~ $shell;
			print "$file:", $i + 1, ": uses eval\n" if $c =~ /(^|[;&|(]\s*|\s)eval\s/;
		}
	}
}' "$@"
}

# 1. The scanner catches each kind (and ignores comments and messages).
case_begin scanner-catches-every-planted-kind
mkdir -p "$tmp/planted"
i=0
for call in 'system("ls")' 'popen("ls", "r")' 'sprintf(buf, "%d", 1)' 'vsprintf(buf, f, ap)' \
	    'strcpy(a, b)' 'strcat(a, b)' 'strtok(s, ",")' 'atoi(s)' 'gets(buf)' \
	    'proc_run(x, (const char *[]){ "sh", "-c", cmd, NULL })' \
	    'proc_run(x, (const char *[]){ "/bin/bash", "-c", cmd, NULL })' \
	    'run("sh -c true")'; do
	i=$((i + 1))
	printf '/* a comment: system("x") */\nstatic int f%d(void)\n{\n\treturn %s;\n}\n' "$i" "$call" \
		>"$tmp/planted/p$i.c"
	out=$(scan "$tmp/planted/p$i.c")
	case "$out" in
	*"p$i.c:4:"*) ;;
	*) fail "scanner missed: $call (got: $out)" ;;
	esac
done
printf '#!/bin/sh\nbash -c "echo hi"\n' >"$tmp/planted/s1.sh"
# shellcheck disable=SC2016 # the planted script's own $x
printf '#!/bin/sh\nx=1; eval "$x"\n' >"$tmp/planted/s2.sh"
for s in s1 s2; do
	[ -n "$(scan "$tmp/planted/$s.sh")" ] || fail "scanner missed $s.sh"
done
# Allowed: comments, messages, snprintf, strtok_r, fgets, a field named system.
case_begin scanner-allows-comments-messages-and-safe-calls
cat >"$tmp/planted/ok.c" <<'EOF'
/* never system(), popen() or sprintf(): see banned.h
 * sh -c is not used either */
static int ok(char *buf, size_t n, char *s, char **save, FILE *f, struct t *t)
{
	const char *msg = "the system() call is banned"; // atoi(x) in a comment
	snprintf(buf, n, "%s", msg);
	(void)strtok_r(s, ",", save);
	(void)fgets(buf, (int)n, f);
	return t->system + t->gets;
}
EOF
out=$(scan "$tmp/planted/ok.c")
[ -z "$out" ] || fail "false positives in allowed code: $out"

# 2. The project's source.
case_begin source-files-found
files=()
for d in common harness assertions reports ledger tests/doubles; do
	[ -d "$src/$d" ] || continue
	while IFS= read -r -d '' f; do files+=("$f"); done \
		< <(find "$src/$d" -type f \( -name '*.c' -o -name '*.h' \) -print0)
done
while IFS= read -r -d '' f; do files+=("$f"); done \
	< <(find "$src/ci" -type f \( -name '*.c' -o -name '*.h' -o -name '*.sh' -o -name '*.bash' \) -print0 2>/dev/null)
if [ ${#files[@]} -lt 50 ]; then
	fail "only ${#files[@]} source files found under $src"
fi
case_begin no-shell-no-banned-call-in-source
out=$(cd "$src" && scan "${files[@]#"$src/"}")
if [ -n "$out" ]; then
	fail "banned calls in the source:"
	printf '  %s\n' "$out"
fi
echo "scanned ${#files[@]} files"
cases_done
