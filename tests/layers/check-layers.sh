#!/usr/bin/env bash
# The layering check (tests/layers/README.md): reads tests/layers/layers.rules,
# then
#   - every #include line of every .c and .h of the tree (arrows between
#     folders, target internals, restricted system headers, include cycles);
#   - with a build, every object's undefined symbols (nm): an object may use
#     symbols of its own folder and of folders to its right in each binary's
#     link list.
# Prints one line per violation, `file:line: what (rule: ..., rules:line)`
# (for symbols, `object: symbol defined in <folder> (...)`), and exits 1 when
# there is any, 0 when there is none, 2 on a usage or rule-file error.
#
# usage: tests/layers/check-layers.sh [--root DIR] [--rules FILE]
#                                     [--build DIR] [--no-symbols]
#   --root DIR    the tree to check (default: the tree holding this script)
#   --rules FILE  the rule file (default: tests/layers/layers.rules)
#   --build DIR   the build directory for the symbol check (default:
#                 $DRILLRIG_BUILD, else ROOT/build); the symbol check is
#                 skipped, with a note on stderr, when it holds no objects
#   --no-symbols  the include check only
# Needs bash, find, sort, awk (POSIX: mawk or gawk) and, for the symbol
# check, nm (binutils).
set -uo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/../.." && pwd)
rules=
build=${DRILLRIG_BUILD:-}
symbols=1

usage() {
	sed -n '/^# usage:/,/^#   --no-symbols/p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//' >&2
	exit 2
}
while [ $# -gt 0 ]; do
	case $1 in
	--root) [ $# -ge 2 ] || usage; root=$(cd "$2" && pwd) || exit 2; shift 2 ;;
	--rules) [ $# -ge 2 ] || usage; rules=$2; shift 2 ;;
	--build) [ $# -ge 2 ] || usage; build=$2; shift 2 ;;
	--no-symbols) symbols=0; shift ;;
	-h | --help) usage ;;
	*) echo "check-layers: unknown argument '$1'" >&2; usage ;;
	esac
done
rules=${rules:-$root/tests/layers/layers.rules}
[ -f "$rules" ] || { echo "check-layers: no rule file $rules" >&2; exit 2; }
rules=$(cd "$(dirname "$rules")" && pwd)/$(basename "$rules")
# Violations name the rule file relative to the tree when it is inside it.
rules_name=${rules#"$root"/}
build=${build:-$root/build}

tmp=$(mktemp -d "${TMPDIR:-/tmp}/check-layers.XXXXXX") || exit 2
trap 'rm -rf "$tmp"' EXIT

cd "$root" || exit 2

# Every .c and .h of the tree, sorted so the output is stable.  Build
# directories, hidden directories and drill results hold no sources.
find . \( -path ./build -o -path ./drill-results -o -name '.?*' \) -prune -o \
	-type f \( -name '*.c' -o -name '*.h' \) -print |
	sed 's|^\./||' | LC_ALL=C sort >"$tmp/files"

# ---------------------------------------------------------------------------
# The rule file, parsed once for both checks.  Shared by both awk programs.
read -r -d '' RULES_AWK <<'EOF'
function rules_error(msg) {
	printf "%s:%d: %s\n", rules_name, rl, msg > "/dev/stderr"
	rules_bad = 1
}
function need_folder(f) {
	if (!(f in isfolder)) rules_error("'" f "' is not declared with `folder`")
}
# " a b c" -> "a, b and c"
function words(l,   w, n, i, s) {
	n = split(l, w, " "); s = ""
	for (i = 1; i <= n; i++) s = s (i == 1 ? "" : i == n ? " and " : ", ") w[i]
	return s
}
function is_free(p,   i) {
	for (i = 1; i <= nfree; i++)
		if (p == freep[i] || index(p, freep[i] "/") == 1) return i
	return 0
}
function read_rules(   line, n, w, i, kw, subj, j, seen_by, nlayer, k) {
	rl = 0; nfree = 0; nlayer = 0; npriv = 0; nbin = 0; nocycles_line = 0
	while ((getline line < rules) > 0) {
		rl++
		sub(/#.*/, "", line)
		n = split(line, w, /[ \t]+/)
		# split() keeps a leading empty field when the line starts with blanks
		k = 0
		for (i = 1; i <= n; i++) if (w[i] != "") ww[++k] = w[i]
		n = k
		if (n == 0) continue
		kw = ww[1]
		if (kw == "folder") {
			if (n < 2) rules_error("`folder` names no folder")
			for (i = 2; i <= n; i++) { isfolder[ww[i]] = rl; if (!folder_line) folder_line = rl }
		} else if (kw == "free") {
			for (i = 2; i <= n; i++) { freep[++nfree] = ww[i]; free_line[nfree] = rl }
		} else if (kw == "layer") {
			nlayer++
			for (i = 2; i <= n; i++) {
				need_folder(ww[i])
				if (ww[i] in layer) rules_error("'" ww[i] "' is in two layers")
				layer[ww[i]] = nlayer; layer_line[ww[i]] = rl
			}
		} else if (kw == "only") {
			subj = ww[2]
			if (subj !~ /:$/) { rules_error("`only F: G...` needs the colon"); continue }
			sub(/:$/, "", subj); need_folder(subj)
			only_line[subj] = rl
			for (i = 3; i <= n; i++) { need_folder(ww[i]); only_ok[subj, ww[i]] = 1; only_list[subj] = only_list[subj] " " ww[i] }
		} else if (kw == "private") {
			subj = ww[2]
			if (subj !~ /:$/ || n < 5 || ww[4] != "by") { rules_error("`private F: H by G...` expected"); continue }
			sub(/:$/, "", subj); need_folder(subj)
			npriv++; priv_folder[npriv] = subj; priv_pub[npriv] = ww[3]; priv_line[npriv] = rl
			if (index(ww[3], subj "/") != 1) rules_error("the public header " ww[3] " is not in " subj)
			for (i = 5; i <= n; i++) { need_folder(ww[i]); priv_user[npriv, ww[i]] = 1; priv_users[npriv] = priv_users[npriv] " " ww[i] }
		} else if (kw == "header") {
			subj = ww[2]
			if (subj !~ /:$/) { rules_error("`header H: G...` needs the colon"); continue }
			sub(/:$/, "", subj)
			hdr_line[subj] = rl
			for (i = 3; i <= n; i++) { hdr_ok[subj, ww[i]] = 1; hdr_users[subj] = hdr_users[subj] " " ww[i] }
		} else if (kw == "no-cycles") {
			nocycles_line = rl
		} else if (kw == "link") {
			subj = ww[2]
			if (subj !~ /:$/ || n < 3) { rules_error("`link B: F...` expected"); continue }
			sub(/:$/, "", subj)
			nbin++; bin[nbin] = subj; bin_line[nbin] = rl; bin_n[nbin] = n - 2
			for (i = 3; i <= n; i++) {
				need_folder(ww[i])
				if ((nbin, ww[i]) in bin_pos) rules_error("'" ww[i] "' twice in the link list of " subj)
				bin_pos[nbin, ww[i]] = i - 2; bin_folder[nbin, i - 2] = ww[i]
			}
		} else {
			rules_error("unknown rule '" kw "'")
		}
	}
	close(rules)
	if (rl == 0) { rl = 0; rules_error("empty or unreadable rule file") }
	# An `only` list must agree with the order: no entry above its folder.
	for (k in only_ok) {
		split(k, w, SUBSEP)
		if ((w[1] in layer) && (w[2] in layer) && layer[w[2]] <= layer[w[1]]) {
			rl = only_line[w[1]]
			rules_error("`only " w[1] "` names " w[2] ", which is not below it in the layers")
		}
	}
}
EOF

# ---------------------------------------------------------------------------
# The include check.
read -r -d '' INCLUDE_AWK <<'EOF'
function dirname(p) { if (match(p, /.*\//)) return substr(p, 1, RLENGTH - 1); return "." }
function stem(p) { sub(/\.[ch]$/, "", p); sub(/_impl$/, "", p); return p }
function norm(p,   n, part, out, m, i, s) {
	n = split(p, part, "/"); m = 0
	for (i = 1; i <= n; i++) {
		if (part[i] == "" || part[i] == ".") continue
		if (part[i] == ".." && m > 0 && out[m] != "..") { m--; continue }
		out[++m] = part[i]
	}
	s = ""
	for (i = 1; i <= m; i++) s = s (i > 1 ? "/" : "") out[i]
	return s
}
function under(p, f) { return p == f || index(p, f "/") == 1 }
# The line without its comments; carries block-comment state across lines
# and skips string and character literals ("dir/*.yaml" opens no comment).
function strip(s,   out, i, n, c, c2, q) {
	out = ""; n = length(s); i = 1
	while (i <= n) {
		c = substr(s, i, 1); c2 = substr(s, i, 2)
		if (incomment) {
			if (c2 == "*/") { incomment = 0; i += 2; out = out " " } else i++
			continue
		}
		if (c2 == "/*") { incomment = 1; i += 2; continue }
		if (c2 == "//") break
		if (c == "\"" || c == "'") {
			q = c; out = out c; i++
			while (i <= n) {
				c = substr(s, i, 1)
				if (c == "\\") { out = out substr(s, i, 2); i += 2; continue }
				out = out c; i++
				if (c == q) break
			}
			continue
		}
		out = out c; i++
	}
	return out
}
function violation(file, line, what, rule, rline) {
	nviol++
	printf "%s:%d: %s (rule: %s, %s:%d)\n", file, line, what, rule, rules_name, rline
}
function rel_sort(arr, n,   i, j, t) {   # insertion sort of arr[1..n]
	for (i = 2; i <= n; i++) {
		t = arr[i]
		for (j = i - 1; j >= 1 && arr[j] > t; j--) arr[j + 1] = arr[j]
		arr[j + 1] = t
	}
}

BEGIN {
	read_rules()
	if (rules_bad) exit 2
	while ((getline f < filelist) > 0) exists[f] = 1
	close(filelist)
}

FNR == 1 {
	cur = FILENAME; curdir = dirname(cur); incomment = 0
	curfree = is_free(cur)
	if (!curfree) {
		units[stem(cur)] = 1
		if (!(curdir in isfolder))
			violation(cur, 1, "a source in " curdir ", which is not a folder of sources: add it to the rules and the Makefile's MODULES, or move the file", "folder", folder_line)
	}
}

{
	s = $0
	if (incomment || index(s, "/*") || index(s, "//")) s = strip(s)
	if (s !~ /^[ \t]*#[ \t]*include[ \t]*[<"]/) next
	sub(/^[ \t]*#[ \t]*include[ \t]*/, "", s)
	angle = substr(s, 1, 1) == "<"
	s = substr(s, 2)
	e = index(s, angle ? ">" : "\"")
	if (e == 0) next
	name = substr(s, 1, e - 1)
	check_include(cur, FNR, name, angle)
}

function check_include(cur, ln, name, angle,   path, c, A, B, i, P, txt, u, v) {
	# Where the compiler finds it: a quoted name next to the including file
	# first, then from the top of the tree (-I.).  A name that is in no file
	# of the tree is a system or library header, unless it is in a declared
	# folder (generated code, say ledger/proto).
	path = ""
	c = norm(curdir "/" name)
	if (!angle && (c in exists)) path = c
	else {
		c = norm(name)
		if ((c in exists) || (!angle && (dirname(c) in isfolder))) path = c
	}
	if (curfree) return
	A = curdir
	txt = angle ? "<" name ">" : "\"" name "\""
	if (path == "") {
		if ((name in hdr_line) && !((name, A) in hdr_ok) && !((name, cur) in hdr_ok))
			violation(cur, ln, "includes " txt ", which only " words(hdr_users[name]) " may include", "header " name, hdr_line[name])
		return
	}
	B = dirname(path)
	# The unit graph for the cycle check: A.c or A.h includes B.h.
	if (path ~ /\.h$/ && !is_free(path) && stem(path) != stem(cur)) {
		u = stem(cur); v = stem(path)
		if (!((u, v) in edge)) { edge[u, v] = cur ":" ln " includes " path; edge_file[u, v] = cur; edge_ln[u, v] = ln; adj[u, ++nadj[u]] = v }
	}
	if (!(A in isfolder)) return         # reported once per file above
	if (i = is_free(path)) {
		violation(cur, ln, "includes " path ", which belongs to " freep[i] "/: nothing outside it may include it", "free " freep[i], free_line[i]); return
	}
	if (!(B in isfolder)) {
		violation(cur, ln, "includes " path ", in " B ", which is not a folder of sources", "folder", folder_line); return
	}
	if (A != B) {
		if (A in only_line) {
			if (!((A, B) in only_ok)) {
				violation(cur, ln, A " includes " path ": " A " may include only " words(" itself" only_list[A]), "only " A, only_line[A]); return
			}
		}
		if ((A in layer) && (B in layer)) {
			if (layer[B] < layer[A]) {
				violation(cur, ln, A " includes " path ": an upward arrow, " B " is above " A " in the layers", "layer " A, layer_line[A]); return
			}
			if (layer[B] == layer[A]) {
				violation(cur, ln, A " includes " path ": " B " is its sibling in the layers; siblings never include each other", "layer " A, layer_line[A]); return
			}
		} else if (!(A in only_line)) {
			if (!(A in layer))
				violation(cur, ln, A " includes " path ": " A " is in no layer and has no `only` line", "layer", folder_line)
			else
				violation(cur, ln, A " includes " path ": " B " is in no layer, and " A " has no `only` line naming it", "layer " A, layer_line[A])
			return
		}
	}
	for (i = 1; i <= npriv; i++) {
		P = priv_folder[i]
		if (!under(path, P) || under(A, P)) continue
		if (path != priv_pub[i]) {
			violation(cur, ln, "includes " path ", an internal of " P ": from outside " P " only " priv_pub[i] " may be included", "private " P, priv_line[i]); return
		}
		if (!((i, A) in priv_user)) {
			violation(cur, ln, "includes " path ": only " words(priv_users[i]) " may include " P "'s public header", "private " P, priv_line[i]); return
		}
	}
	if ((name in hdr_line) && angle && !((name, A) in hdr_ok) && !((name, cur) in hdr_ok))
		violation(cur, ln, "includes " txt ", which only " words(hdr_users[name]) " may include", "header " name, hdr_line[name])
}

# Tarjan's strongly connected components, then every elementary cycle of
# each component (cycles through a node that sorts first, so each is
# printed once, starting at its smallest unit).
function strong(v,   i, w) {
	idx[v] = low[v] = ++counter; stk[++sp] = v; onstk[v] = 1
	for (i = 1; i <= nadj[v]; i++) {
		w = adj[v, i]
		if (!(w in idx)) { strong(w); if (low[w] < low[v]) low[v] = low[w] }
		else if (onstk[w] && idx[w] < low[v]) low[v] = idx[w]
	}
	if (low[v] == idx[v]) {
		ncomp++
		do { w = stk[sp--]; onstk[w] = 0; comp[w] = ncomp; csize[ncomp]++ } while (w != v)
	}
}
function cycles_from(v, depth,   i, w, k, msg, chain) {
	if (ncycles_comp >= 50) return
	for (i = 1; i <= nadj[v]; i++) {
		w = adj[v, i]
		if (comp[w] != comp[start] || rank[w] < rank[start]) continue
		if (w == start) {
			path[depth + 1] = w; msg = ""; chain = path[1]
			for (k = 1; k <= depth; k++) {
				msg = msg (k > 1 ? "; " : "") edge[path[k], path[k + 1]]
				chain = chain " -> " path[k + 1]
			}
			violation(edge_file[path[1], path[2]], edge_ln[path[1], path[2]],
				"include cycle " chain ": " msg, "no-cycles", nocycles_line)
			ncycles_comp++
			continue
		}
		if (onpath[w]) continue
		onpath[w] = 1; path[depth + 1] = w
		cycles_from(w, depth + 1)
		onpath[w] = 0
	}
}

END {
	if (rules_bad) exit 2
	if (nocycles_line) {
		n = 0
		for (u in units) nodes[++n] = u
		rel_sort(nodes, n)
		for (i = 1; i <= n; i++) rank[nodes[i]] = i
		for (i = 1; i <= n; i++) if (!(nodes[i] in idx)) strong(nodes[i])
		for (i = 1; i <= n; i++) {
			start = nodes[i]
			if (csize[comp[start]] < 2) continue
			if (!(comp[start] in comp_seen)) { comp_seen[comp[start]] = 1; comp_cycles[comp[start]] = 0 }
			ncycles_comp = comp_cycles[comp[start]]
			path[1] = start; onpath[start] = 1
			cycles_from(start, 1)
			onpath[start] = 0
			comp_cycles[comp[start]] = ncycles_comp
		}
	}
	print nviol + 0 > countfile
	exit (nviol > 0)
}
EOF

# ---------------------------------------------------------------------------
# The symbol check: reads `nm -A -g` of every object of every folder.
read -r -d '' SYMBOL_AWK <<'EOF'
BEGIN { read_rules(); if (rules_bad) exit 2 }
{
	c = index($0, ":"); obj = substr($0, 1, c - 1)
	f = obj; sub(/^.*\/obj\//, "", f); sub(/\/[^\/]*$/, "", f)
	folder[obj] = f
	type = $(NF - 1); sym = $NF
	if (type == "U") { nu++; u_obj[nu] = obj; u_sym[nu] = sym }
	else if (type ~ /^[A-Z]$/ && !((sym, f) in def)) { def[sym, f] = 1; defs[sym] = defs[sym] " " f }
}
END {
	if (rules_bad) exit 2
	for (b = 1; b <= nbin; b++) {
		for (i = 1; i <= nu; i++) {
			obj = u_obj[i]; sym = u_sym[i]; f = folder[obj]
			if (!((b, f) in bin_pos) || !(sym in defs)) continue
			me = bin_pos[b, f]
			n = split(defs[sym], d, " ")
			ok = 0; left = ""; outside = ""
			for (k = 1; k <= n; k++) {
				if (!((b, d[k]) in bin_pos)) { outside = d[k]; continue }
				if (bin_pos[b, d[k]] >= me) ok = 1; else left = d[k]
			}
			if (ok) continue
			shown = obj
			if (index(shown, build_prefix) == 1) shown = substr(shown, length(build_prefix) + 1)
			if (left != "")
				what = sym " defined in " left " (to the left of " f " in " bin[b] "'s link list)"
			else
				what = sym " defined in " outside " (not in " bin[b] "'s link list)"
			key = obj SUBSEP sym SUBSEP what
			if (key in seen) continue
			seen[key] = 1; nviol++
			printf "%s: %s (rule: link %s, %s:%d)\t%s\n", shown, what, bin[b], rules_name, bin_line[b], obj
		}
	}
	print nviol + 0 > countfile
	exit (nviol > 0)
}
EOF

status=0
# shellcheck disable=SC2046 # one file a word; the tree's paths hold no blanks
awk -v rules="$rules" -v rules_name="$rules_name" -v filelist="$tmp/files" \
	-v countfile="$tmp/n_includes" "$RULES_AWK
$INCLUDE_AWK" $(cat "$tmp/files") </dev/null
rc=$?
[ $rc -eq 2 ] && exit 2
[ $rc -ne 0 ] && status=1
n_includes=$(cat "$tmp/n_includes" 2>/dev/null || echo 0)

n_symbols=0
if [ $symbols -eq 1 ]; then
	objs=()
	while read -r f; do
		for c in "$f"/*.c; do
			[ -f "$c" ] || continue
			o=$build/obj/${c%.c}.o
			[ -f "$o" ] && objs+=("$o")
		done
	done < <(awk '{ sub(/#.*/, "") } $1 == "folder" { for (i = 2; i <= NF; i++) print $i }' "$rules")
	if [ ${#objs[@]} -eq 0 ]; then
		echo "check-layers: no objects under $build/obj: symbol check skipped (run make first)" >&2
	else
		nm -A -g "${objs[@]}" >"$tmp/nm" 2>"$tmp/nm.err" ||
			{ echo "check-layers: nm failed: $(head -3 "$tmp/nm.err")" >&2; exit 2; }
		awk -v rules="$rules" -v rules_name="$rules_name" -v countfile="$tmp/n_symbols" \
			-v build_prefix="$root/" "$RULES_AWK
$SYMBOL_AWK" "$tmp/nm" >"$tmp/symbols"
		rc=$?
		[ $rc -eq 2 ] && exit 2
		[ $rc -ne 0 ] && status=1
		n_symbols=$(cat "$tmp/n_symbols" 2>/dev/null || echo 0)
		# Where the object uses the symbol: nm -l reads the debug lines.
		while IFS=$'\t' read -r line obj; do
			sym=${line#*: }; sym=${sym%% *}
			at=$(nm -A -l "$obj" 2>/dev/null |
				awk -v s="$sym" '$(NF-2) == "U" && $(NF-1) == s { print $NF; exit }')
			at=${at#"$root"/}
			case $at in *:0 | *:\?) at= ;; esac
			echo "$line${at:+ [used at $at]}"
		done <"$tmp/symbols"
	fi
fi

echo "check-layers: $n_includes include violation(s), $n_symbols symbol violation(s)" >&2
exit $status
