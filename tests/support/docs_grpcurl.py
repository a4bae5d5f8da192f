#!/usr/bin/python3
"""Runs every `$ grpcurl ...` example of a markdown file against a live
bundled cluster, through tests/support/grpc_call.py (grpcurl's arguments,
Debian's python3-grpcio), and checks each answer against what the file
shows after it.

usage: docs_grpcurl.py DOC CLUSTER_DIR DRILLRIG

$NODE is a follower and $LEADER the leader, both looked up again before
each example (a transfer in the examples moves the leader), and $AUTH the
header of the cluster's admin token (CLUSTER_DIR/admin-token).  An example
whose shown output starts with "ERROR:" must fail with the code shown;
one whose output is JSON must answer JSON with every key shown (values
are the cluster's own; zero values count, as with grpcurl -emit-defaults); a `list` must name exactly the services shown; any
other example must answer OK.  One line per example on stdout:
"CASE<TAB>name<TAB>pass|fail<TAB>why".
"""
import json
import os
import re
import shlex
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))


def examples(path):
    """(line number, command text, shown output lines) of each example."""
    lines = open(path).read().split("\n")
    out, i, in_code = [], 0, False
    while i < len(lines):
        line = lines[i]
        if line.startswith("```"):
            in_code = not in_code
            i += 1
            continue
        if not (in_code and line.startswith("$ grpcurl ")):
            i += 1
            continue
        start = i + 1
        cmd = line[2:]
        # Continuation: a trailing backslash, or a quote still open.
        while cmd.endswith("\\") or cmd.count("'") % 2:
            i += 1
            cmd = (cmd[:-1] if cmd.endswith("\\") else cmd + "\n") + lines[i].strip()
        i += 1
        shown = []
        while i < len(lines) and not lines[i].startswith("$ ") and not lines[i].startswith("```"):
            shown.append(lines[i])
            i += 1
        out.append((start, cmd, shown))
    return out


def cluster_roles(cluster_dir, drillrig):
    st = json.loads(subprocess.run([drillrig, "cluster", "status", "--cluster", cluster_dir,
                                    "--json"], capture_output=True, text=True, check=True,
                                   timeout=30).stdout)
    leader = st["leader"]["address"]
    followers = [m["address"] for m in st["members"]
                 if m["address"] != leader and m.get("state") == "follower"]
    return leader, followers[0]


def keys_of(text):
    """Top-level keys of the JSON the doc shows ('...' lines cut it short)."""
    return re.findall(r'^  "([a-z_]+)":', text, re.M)


def check(cmd, shown, leader, node, cluster_dir):
    cmd = re.sub(r"\s+#.*$", "", cmd)
    with open(os.path.join(cluster_dir, "admin-token")) as f:
        auth = "authorization: Bearer " + f.read().strip()
    # "$AUTH" is one word in the shell; substituted before splitting, the
    # quotes keep it one.
    argv = shlex.split(cmd.replace("$LEADER", leader).replace("$NODE", node)
                       .replace("$AUTH", auth))[1:]
    # proto3 JSON leaves zero values out (a transfer to where the leader
    # already is: no "transferred"); the keys are compared with them in.
    run = subprocess.run([sys.executable, os.path.join(HERE, "grpc_call.py"), "-emit-defaults"] + argv,
                         capture_output=True, text=True, timeout=60)
    text = "\n".join(shown).strip()
    if text.startswith("ERROR:"):
        want = re.search(r"Code: (\w+)", text).group(1)
        if run.returncode == 0:
            return "succeeded, the doc shows an error %s" % want
        if "Code: %s" % want not in run.stderr:
            return "failed with %s, the doc shows %s" % (run.stderr.strip(), want)
        return None
    if run.returncode != 0:
        return "exit %d: %s" % (run.returncode, run.stderr.strip())
    if argv[-1] == "list" or (len(argv) >= 2 and argv[-2] == "list"):
        got = sorted(run.stdout.split())
        if text and sorted(text.split()) != got:
            return "lists %s, the doc shows %s" % (got, sorted(text.split()))
        return None
    if text.startswith("{"):
        try:
            answer = json.loads(run.stdout)
        except ValueError:
            return "answered no JSON: %s" % run.stdout[:200]
        missing = [k for k in keys_of(text) if k not in answer]
        if missing:
            return "answer lacks %s shown in the doc: %s" % (missing, run.stdout[:300])
    return None


def main():
    doc, cluster_dir, drillrig = sys.argv[1:4]
    exs = examples(doc)
    if not exs:
        print("CASE\texamples-found\tfail\tno '$ grpcurl' example in %s" % doc)
        return 1
    print("CASE\texamples-found\tpass\t%d" % len(exs))
    for line, cmd, shown in exs:
        method = re.sub(r"\s+#.*$", "", cmd).split()[-1]
        name = "%s:%d:%s" % (os.path.basename(doc), line, re.sub(r"[^A-Za-z0-9._:/-]", "_", method))
        leader, node = cluster_roles(cluster_dir, drillrig)
        why = check(cmd, shown, leader, node, cluster_dir)
        print("CASE\t%s\t%s\t%s" % (name, "fail" if why else "pass", why or ""))
        sys.stdout.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main())
