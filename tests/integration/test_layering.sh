#!/usr/bin/env bash
# The layering check (tests/layers/README.md, issue 14):
#   1. the tree keeps every rule of tests/layers/layers.rules, both in its
#      #include lines and, with a build, in its objects' symbols (nm);
#   2. the rule file's link lists and folders are the Makefile's;
#   3. on a scratch copy of the sources (the real tree is never touched),
#      each kind of wrong arrow is caught, naming its file, line and rule:
#      reports/ including harness/, a cycle between two harness/plan units,
#      a target's internal header included from harness/run, <getopt.h> in
#      harness/run, and an object whose symbol comes from an archive to its
#      left.  Each of these runs again with its rule deleted from a copy of
#      the rule file and must then go unreported: the rule, not something
#      else, is what catches it.
set -uo pipefail

# shellcheck source-path=SCRIPTDIR source=../lib/cases.sh
. "$(dirname "${BASH_SOURCE[0]}")/../lib/cases.sh"

src=${DRILLRIG_SRC:?DRILLRIG_SRC not set}
build=${DRILLRIG_BUILD:-$src/build}
check=$src/tests/layers/check-layers.sh
rules=$src/tests/layers/layers.rules
tmp=$(mktemp -d "${TMPDIR:-/tmp}/drillrig-layering.XXXXXX") || exit 1
trap 'rm -rf "$tmp"' EXIT

have_objects=0
[ -f "$build/obj/common/error.o" ] && have_objects=1
if [ $have_objects -eq 0 ]; then
	case_skip tree-keeps-the-symbol-rules "no objects under $build/obj (run make first)"
	case_skip symbol-to-the-left "no objects under $build/obj (run make first)"
fi

# --- 1. The tree keeps the rules ---------------------------------------------
case_begin tree-keeps-the-rules
if [ $have_objects -eq 1 ]; then
	"$check" --root "$src" --rules "$rules" --build "$build" >"$tmp/tree.out" 2>&1
else
	"$check" --root "$src" --rules "$rules" --no-symbols >"$tmp/tree.out" 2>&1
fi
rc=$?
if [ $rc -ne 0 ]; then
	cat "$tmp/tree.out"
	fail "the tree breaks the layering rules (exit $rc; violations above)"
fi

# --- 2. The rule file and the Makefile agree ---------------------------------
case_begin rules-match-the-makefile
# The value of a Makefile variable set with := on one or more lines.
make_var() {
	awk -v name="$1" '
		!on && $1 == name && $2 == ":=" { on = 1; sub(/^[^=]*=/, "") }
		on { cont = sub(/\\$/, ""); v = v " " $0; if (!cont) exit }
		END { n = split(v, w, /[ \t]+/); s = ""
		      for (i = 1; i <= n; i++) if (w[i] != "") s = s (s == "" ? "" : " ") w[i]
		      print s }' "$src/Makefile"
}
rule_list() { # the words after the keyword (and its subject) of matching lines
	awk -v kw="$1" -v subj="$2" '{ sub(/#.*/, "") }
		$1 == kw && (subj == "" || $2 == subj) { for (i = (subj == "" ? 2 : 3); i <= NF; i++) print $i }' "$rules"
}
for pair in drillrig:DRILLRIG_MODULES ledgerd:LEDGERD_MODULES; do
	bin=${pair%%:*} var=${pair#*:}
	want=$(make_var "$var")
	got=$(rule_list link "$bin:" | tr '\n' ' ' | sed 's/ $//')
	[ -n "$want" ] || fail "Makefile: no $var"
	[ "$got" = "$want" ] || fail "layers.rules 'link $bin:' is '$got', the Makefile's $var is '$want'"
done
for m in $(make_var MODULES); do
	rule_list folder "" | grep -qxF "$m" || fail "the Makefile's module $m is no 'folder' in layers.rules"
done

# --- 3. Wrong arrows are caught, on a scratch copy ---------------------------
case_begin scratch-copy-of-the-sources
tree=$tmp/tree
mkdir -p "$tree"
(cd "$src" && find common assertions reports ledger harness -type f -name '*.[ch]' -print0 |
	tar --null -T - -cf -) | (cd "$tree" && tar -xf -) || fail "copying the sources"

# Appends a line to a scratch file; prints the line's number.
append() {
	printf '%s\n' "$2" >>"$tree/$1"
	wc -l <"$tree/$1" | tr -d ' '
}

# The lines of file $1 that hold every string of ${want[@]}, into $tmp/match;
# false when there is none.
want=()
match() {
	local w
	cp "$1" "$tmp/match"
	for w in "${want[@]}"; do
		grep -F -- "$w" "$tmp/match" >"$tmp/match.next"
		mv "$tmp/match.next" "$tmp/match"
	done
	[ -s "$tmp/match" ]
}

# negative NAME RULE_LINE_REGEX [CHECKER ARGS...] -- WANTED...
#   Runs the checker on the scratch tree: it must exit 1 and print a line
#   holding every WANTED string.  Then runs it with the rule file's lines
#   matching RULE_LINE_REGEX deleted: that line must be gone.
negative() {
	local name=$1 rule_re=$2 args=() rc
	shift 2
	case_begin "$name"
	while [ $# -gt 0 ] && [ "$1" != -- ]; do args+=("$1"); shift; done
	shift
	"$check" --root "$tree" --rules "$rules" "${args[@]}" >"$tmp/$name.out" 2>&1
	rc=$?
	[ $rc -eq 1 ] || fail "$name: the checker exited $rc, not 1"
	want=("$@")
	if match "$tmp/$name.out"; then
		echo "ok: $name: $(head -1 "$tmp/match")"
	else
		fail "$name: no violation holding: $(printf '[%s] ' "${want[@]}")"
		sed 's/^/    /' "$tmp/$name.out"
	fi
	grep -Ev "$rule_re" "$rules" >"$tmp/layers.rules"
	cmp -s "$rules" "$tmp/layers.rules" && fail "$name: no rule line matches /$rule_re/"
	"$check" --root "$tree" --rules "$tmp/layers.rules" "${args[@]}" >"$tmp/$name.norule.out" 2>&1
	[ $? -le 1 ] || fail "$name: the checker failed without the rule: $(cat "$tmp/$name.norule.out")"
	if match "$tmp/$name.norule.out"; then
		fail "$name: still reported with /$rule_re/ deleted from the rules: $(head -1 "$tmp/match")"
	fi
	case_end
}

# Each case edits copies of the files it names and puts them back after.
save() { for f; do cp "$tree/$f" "$tmp/saved.${f//\//_}"; done; }
restore() { for f; do cp "$tmp/saved.${f//\//_}" "$tree/$f"; done; }

# reports/ includes harness/: the arrow issue 14 names.
f=reports/render_util.c
save "$f"
n=$(append "$f" '#include "harness/core/target.h"')
negative reports-to-harness '^only reports:' --no-symbols -- \
	"$f:$n: reports includes harness/core/target.h:" "(rule: only reports,"
restore "$f"

# A cycle between two harness/plan units: both files and lines reported.
a=harness/plan/duration.c b=harness/plan/vars.c
save "$a" "$b"
na=$(append "$a" '#include "harness/plan/vars.h"')
nb=$(append "$b" '#include "harness/plan/duration.h"')
negative plan-cycle '^no-cycles' --no-symbols -- \
	"include cycle harness/plan/duration -> harness/plan/vars -> harness/plan/duration:" \
	"$a:$na includes harness/plan/vars.h" "$b:$nb includes harness/plan/duration.h" "(rule: no-cycles,"
restore "$a" "$b"

# A target's internal header from harness/run (the order alone allows it).
f=harness/run/runner.c
save "$f"
n=$(append "$f" '#include "harness/target/k8s/k8s_impl.h"')
negative target-internal '^private harness/target/k8s:' --no-symbols -- \
	"$f:$n: includes harness/target/k8s/k8s_impl.h, an internal of harness/target/k8s" \
	"(rule: private harness/target/k8s,"
restore "$f"

# <getopt.h> outside harness/cli.
f=harness/run/runner.c
save "$f"
n=$(append "$f" '#include <getopt.h>')
negative getopt-in-run '^header getopt\.h:' --no-symbols -- \
	"$f:$n: includes <getopt.h>" "(rule: header getopt.h,"
restore "$f"

# An object of harness/core using a function of harness/cli, to its left in
# drillrig's link list: the real objects (symbolic links) plus one compiled
# here into a scratch build directory.
if [ $have_objects -eq 1 ]; then
	case_begin symbol-probe-object
	sym=$(nm -g --defined-only "$build"/obj/harness/cli/*.o 2>/dev/null |
		awk '$2 == "T" && $3 != "main" && $3 !~ /^_/ { print $3; exit }')
	mkdir -p "$tmp/build"
	cp -rs "$build/obj" "$tmp/build/" || fail "linking the objects"
	printf 'void layers_probe(void);\nextern void %s(void);\nvoid layers_probe(void) { %s(); }\n' \
		"$sym" "$sym" >"$tree/harness/core/layers_probe.c"
	if [ -z "$sym" ]; then
		fail "no function defined in $build/obj/harness/cli"
	elif ! ${CC:-cc} -c -o "$tmp/build/obj/harness/core/layers_probe.o" "$tree/harness/core/layers_probe.c"; then
		fail "compiling the probe object"
	else
		case_end
		negative symbol-to-the-left '^link drillrig:' --build "$tmp/build" -- \
			"$tmp/build/obj/harness/core/layers_probe.o: $sym defined in harness/cli (to the left" \
			"(rule: link drillrig,"
	fi
	rm -f "$tree/harness/core/layers_probe.c"
fi

cases_done
