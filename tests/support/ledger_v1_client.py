#!/usr/bin/python3
"""An independent gRPC client of the bundled ledger: Debian's python3-grpcio
with message classes built at run time from the descriptor set `make` writes
(build/gen/ledger.protoset), no code of drillrig's.

    ledger_v1_client.py --protoset P --token-file F --http H1,H2,H3 SCENARIO A1 A2 A3

A1..An are the nodes' gRPC addresses (node i+1 at Ai), H1..Hn their HTTP
listeners (Debug/Digest).  Each scenario checks one concern of the ledger.v1
dialect (or the native one) against a running cluster and exits 0, or prints
'FAIL: <scenario>: <what>' and exits 1 at the first mismatch; 2 on usage
errors.  tests/integration/test_ledgerd_v1.c runs every scenario in order
against one cluster.  Waits are bounded polls.
"""

import argparse
import base64
import json
import os
import sys
import time
import urllib.request
import uuid

import grpc
from google.protobuf import descriptor_pb2, descriptor_pool, message_factory

V1 = "/ledger.v1."
NATIVE = "/inferadb.ledger.v1."


class Mismatch(Exception):
    pass


def check(cond, what):
    if not cond:
        raise Mismatch(what)


class Ledger:
    def __init__(self, protoset, addrs, http, token):
        fds = descriptor_pb2.FileDescriptorSet()
        with open(protoset, "rb") as f:
            fds.ParseFromString(f.read())
        self.pool = descriptor_pool.DescriptorPool()
        for fd in fds.file:
            self.pool.Add(fd)
        self.factory = message_factory.MessageFactory(self.pool)
        self.addrs = addrs
        self.http = http
        self.token = token
        self.channels = [grpc.insecure_channel(a) for a in addrs]

    def msg(self, name, **fields):
        desc = self.pool.FindMessageTypeByName(name)
        if hasattr(message_factory, "GetMessageClass"):
            cls = message_factory.GetMessageClass(desc)
        else:
            cls = self.factory.GetPrototype(desc)
        return cls(**fields)

    def cls(self, name):
        return type(self.msg(name))

    def call(self, node, path, req, resp, admin=False, token=None, timeout=10.0):
        """The answer of node (0-based) to path; raises grpc.RpcError."""
        md = []
        if admin or token is not None:
            md.append(("authorization", "Bearer " + (self.token if token is None else token)))
        fn = self.channels[node].unary_unary(
            path, request_serializer=lambda m: m.SerializeToString(),
            response_deserializer=self.cls(resp).FromString)
        return fn(req, timeout=timeout, metadata=md)

    def raw(self, node, path, data, admin=False, timeout=10.0):
        """Send raw bytes as the request message."""
        md = [("authorization", "Bearer " + self.token)] if admin else []
        fn = self.channels[node].unary_unary(path, request_serializer=None,
                                             response_deserializer=None)
        return fn(data, timeout=timeout, metadata=md)

    def error(self, fn, code, fragment=None):
        """Run fn, which must fail with code (and fragment in its message)."""
        try:
            fn()
        except grpc.RpcError as e:
            check(e.code() == code, "expected %s, got %s: %s" % (code, e.code(), e.details()))
            if fragment:
                check(fragment in (e.details() or ""),
                      "expected '%s' in the message, got '%s'" % (fragment, e.details()))
            return e
        raise Mismatch("expected %s, the call succeeded" % code)

    # ---- ledger.v1 helpers ----

    def health(self, node):
        return self.call(node, V1 + "HealthService/Check", self.msg("ledger.v1.HealthCheckRequest"),
                         "ledger.v1.HealthCheckResponse")

    def cluster_info(self, node):
        return self.call(node, V1 + "AdminService/GetClusterInfo",
                         self.msg("ledger.v1.GetClusterInfoRequest"),
                         "ledger.v1.GetClusterInfoResponse", admin=True)

    def write_req(self, org, vault, client, idem, sets):
        req = self.msg("ledger.v1.WriteRequest", idempotency_key=idem)
        req.organization.slug = org
        req.vault.slug = vault
        req.client_id.id = client
        for s in sets:
            op = req.operations.add()
            op.set_entity.key = s[0]
            op.set_entity.value = s[1]
            if len(s) > 2:
                op.set_entity.expires_at = s[2]
        return req

    def write(self, node, org, vault, client, idem, sets):
        return self.call(node, V1 + "WriteService/Write",
                         self.write_req(org, vault, client, idem, sets), "ledger.v1.WriteResponse")

    def list(self, node, org, vault, **kw):
        req = self.msg("ledger.v1.ListEntitiesRequest", **kw)
        req.organization.slug = org
        req.vault.slug = vault
        return self.call(node, V1 + "ReadService/ListEntities", req,
                         "ledger.v1.ListEntitiesResponse")

    def list_all(self, node, org, vault, limit, **kw):
        """Every page; the list of pages."""
        pages, token = [], ""
        for _ in range(1000):
            r = self.list(node, org, vault, limit=limit, page_token=token, **kw)
            pages.append(r)
            token = r.next_page_token
            if not token:
                return pages
        raise Mismatch("paging never ended")

    def digest(self, node):
        req = urllib.request.Request(
            "http://%s/inferadb.ledger.v1.Debug/Digest" % self.http[node], data=b"{}",
            headers={"Content-Type": "application/json", "Authorization": "Bearer " + self.token})
        with urllib.request.urlopen(req, timeout=5) as r:
            return json.loads(r.read())["digest"]


def wait_until(fn, seconds, what):
    """fn() until it returns a true value (exceptions count as not yet)."""
    deadline = time.monotonic() + seconds
    last = None
    while time.monotonic() < deadline:
        try:
            v = fn()
            if v:
                return v
        except (grpc.RpcError, Mismatch, OSError) as e:
            last = e
        time.sleep(0.05)
    raise Mismatch("%s: not within %.0f s (last: %s)" % (what, seconds, last))


def agreed_leader(L):
    """The leader every node names in GetClusterInfo (node id), else None."""
    ids = set()
    for i in range(len(L.addrs)):
        r = L.cluster_info(i)
        if not r.leader_id:
            return None
        ids.add(r.leader_id)
    return ids.pop() if len(ids) == 1 else None


def healthy(L, node):
    h = L.health(node)
    return h.status == L.pool.FindEnumTypeByName("ledger.v1.HealthStatus").values_by_name[
        "HEALTH_STATUS_HEALTHY"].number


def leader_of(L):
    """The agreed leader (0-based), once it is ready (HEALTHY: a new leader
    answers UNAVAILABLE until its post-election barrier is applied)."""
    leader = wait_until(lambda: agreed_leader(L), 15, "nodes agree on a leader") - 1
    wait_until(lambda: healthy(L, leader), 15, "the leader is HEALTHY")
    return leader


def idem():
    return uuid.uuid4().bytes


def details_of(err):
    """The ErrorDetails in an error's grpc-status-details-bin (raw bytes, as
    the public ledger sends them)."""
    for k, v in err.trailing_metadata() or ():
        if k == "grpc-status-details-bin":
            return v
    raise Mismatch("no grpc-status-details-bin in the trailing metadata")


def check_leader_hint(L, err, leader):
    """An UNAVAILABLE that names the leader (id, endpoint, term)."""
    check(err.code() == grpc.StatusCode.UNAVAILABLE, "not UNAVAILABLE: %s" % err.code())
    md = dict(err.trailing_metadata() or ())
    check(md.get("ledger-code") == "NOT_LEADER", "ledger-code is %r" % md.get("ledger-code"))
    d = L.cls("ledger.v1.ErrorDetails").FromString(details_of(err))
    term = L.cluster_info(leader).term
    check(d.error_code == "2000", "error_code %r" % d.error_code)
    check(d.is_retryable, "not retryable")
    check(d.context["leader_id"] == str(leader + 1),
          "leader_id %r, leader is node %d" % (d.context["leader_id"], leader + 1))
    check(d.context["leader_endpoint"] == L.addrs[leader],
          "leader_endpoint %r, expected %r" % (d.context["leader_endpoint"], L.addrs[leader]))
    check(d.context["leader_term"] == str(term), "leader_term %r, term is %d" %
          (d.context["leader_term"], term))


# ---- scenarios -------------------------------------------------------------


def s_wait(L):
    """Every node HEALTHY, naming the same leader."""
    def ok():
        if not all(healthy(L, i) for i in range(len(L.addrs))):
            return False
        return len({L.health(i).details["leader_id"] for i in range(len(L.addrs))}) == 1
    wait_until(ok, 20, "every node HEALTHY with one leader")


def s_cluster_info(L):
    leader = leader_of(L)
    voter = L.pool.FindEnumTypeByName("ledger.v1.ClusterMemberRole").values_by_name[
        "CLUSTER_MEMBER_ROLE_VOTER"].number
    terms = set()
    for i in range(len(L.addrs)):
        r = L.cluster_info(i)
        ids = sorted(m.node_id for m in r.members)
        check(ids == list(range(1, len(L.addrs) + 1)), "node %d lists members %s" % (i + 1, ids))
        for m in r.members:
            check(m.address == L.addrs[m.node_id - 1],
                  "member %d address %r" % (m.node_id, m.address))
            check(m.role == voter, "member %d role %d" % (m.node_id, m.role))
            check(m.is_leader == (m.node_id == leader + 1), "member %d is_leader %s" %
                  (m.node_id, m.is_leader))
        check(r.leader_id == leader + 1, "node %d names leader %d" % (i + 1, r.leader_id))
        check(r.term >= 1, "term %d" % r.term)
        terms.add(r.term)
    check(len(terms) == 1, "terms differ: %s" % terms)


def s_health(L):
    healthy = L.pool.FindEnumTypeByName("ledger.v1.HealthStatus").values_by_name[
        "HEALTH_STATUS_HEALTHY"].number
    leader = leader_of(L)
    for i in range(len(L.addrs)):
        h = L.health(i)
        check(h.status == healthy, "node %d status %d (%s)" % (i + 1, h.status, h.message))
        check(h.message, "node %d: empty message" % (i + 1))
        check(h.details["leader_id"] == str(leader + 1), "node %d leader_id %r" %
              (i + 1, h.details["leader_id"]))
        check(h.details["is_leader"] == ("true" if i == leader else "false"), "is_leader")
        check(int(h.details["member_count"]) == len(L.addrs), "member_count")
        # and the standard service Kubernetes probes call
        g = L.call(i, "/grpc.health.v1.Health/Check", L.msg("grpc.health.v1.HealthCheckRequest"),
                   "grpc.health.v1.HealthCheckResponse")
        check(g.status == 1, "grpc.health.v1 status %d on node %d" % (g.status, i + 1))


def digests_equal(L):
    d = {L.digest(i) for i in range(len(L.addrs))}
    return len(d) == 1


def s_write(L):
    leader = leader_of(L)
    org, vault = 7, 3
    heights, seqs = [], []
    for n in range(12):
        r = L.write(leader, org, vault, "py", idem(), [("item:%02d" % n, b"value %d" % n)])
        check(r.WhichOneof("result") == "success", "write %d: %s" % (n, r))
        check(len(r.success.tx_id.id) == 16, "tx_id of %d bytes" % len(r.success.tx_id.id))
        heights.append(r.success.block_height)
        seqs.append(r.success.assigned_sequence)
    check(all(b == a + 1 for a, b in zip(heights, heights[1:])),
          "block heights not dense: %s" % heights)
    check(all(b == a + 1 for a, b in zip(seqs, seqs[1:])), "sequences not dense: %s" % seqs)
    # a multi-operation write is one block: every entity gets its height
    r = L.write(leader, org, vault, "py", idem(),
                [("multi:a", b"A"), ("multi:b", b"B"), ("multi:c", b"C")])
    multi = r.success.block_height
    check(multi == heights[-1] + 1, "multi-op write at height %d" % multi)
    # a retried write (same idempotency key, same payload) is applied once
    key = idem()
    first = L.write(leader, org, vault, "py", key, [("retry:1", b"once")])
    check(first.WhichOneof("result") == "success", "first write: %s" % first)
    again = L.write(leader, org, vault, "py", key, [("retry:1", b"once")])
    check(again.WhichOneof("result") == "error", "the retry succeeded again: %s" % again)
    e = again.error
    code = L.pool.FindEnumTypeByName("ledger.v1.WriteErrorCode").values_by_number[e.code].name
    check(code == "WRITE_ERROR_CODE_ALREADY_COMMITTED", "retry answered %s" % code)
    check(e.committed_block_height == first.success.block_height,
          "committed_block_height %d, original %d" %
          (e.committed_block_height, first.success.block_height))
    check(e.assigned_sequence == first.success.assigned_sequence, "assigned_sequence differs")
    check(e.committed_tx_id.id == first.success.tx_id.id, "committed_tx_id differs")
    # ... and reusing the key with another payload is refused
    reused = L.write(leader, org, vault, "py", key, [("retry:1", b"twice")])
    code = L.pool.FindEnumTypeByName("ledger.v1.WriteErrorCode").values_by_number[
        reused.error.code].name
    check(code == "WRITE_ERROR_CODE_IDEMPOTENCY_KEY_REUSED", "reused key answered %s" % code)
    # the state shows one application: one entity, its first value and
    # version, and the next write's block follows the original directly
    ents = L.list(leader, org, vault, key_prefix="retry:", consistency=2).entities
    check(len(ents) == 1 and ents[0].value == b"once", "retry entities: %s" % ents)
    check(ents[0].version == first.success.block_height, "version %d" % ents[0].version)
    nxt = L.write(leader, org, vault, "py", idem(), [("after:1", b"x")])
    check(nxt.success.block_height == first.success.block_height + 1,
          "next block %d after %d: a retry was applied" %
          (nxt.success.block_height, first.success.block_height))
    check(nxt.success.assigned_sequence == first.success.assigned_sequence + 1,
          "next sequence %d after %d" % (nxt.success.assigned_sequence,
                                         first.success.assigned_sequence))
    # retries racing each other (both may pass the leader's check before
    # either is applied): one block, every other answer names it
    req = L.write_req(org, vault, "racer", idem(), [("race:1", b"one")])
    fn = L.channels[leader].unary_unary(V1 + "WriteService/Write",
                                        request_serializer=lambda m: m.SerializeToString(),
                                        response_deserializer=L.cls("ledger.v1.WriteResponse")
                                        .FromString)
    answers = [f.result() for f in [fn.future(req, timeout=10) for _ in range(8)]]
    wins = [a.success for a in answers if a.WhichOneof("result") == "success"]
    check(len(wins) == 1, "%d of 8 racing retries succeeded" % len(wins))
    for a in answers:
        if a.WhichOneof("result") == "error":
            check(a.error.committed_block_height == wins[0].block_height and
                  a.error.committed_tx_id.id == wins[0].tx_id.id,
                  "a racing retry names another block: %s" % a)
    ents = L.list(leader, org, vault, key_prefix="race:", consistency=2).entities
    check(len(ents) == 1 and ents[0].version == wins[0].block_height, "race entities %s" % ents)
    all_ents = {x.key: x for x in L.list(leader, org, vault, consistency=2, limit=1000).entities}
    for k in ("multi:a", "multi:b", "multi:c"):
        check(all_ents[k].version == multi, "%s version %d, block %d" % (k, all_ents[k].version,
                                                                          multi))
    check(all_ents["item:05"].value == b"value 5", "item:05 value")
    # every replica applied the same: equal digests
    wait_until(lambda: digests_equal(L), 10, "equal digests on every node")
    # the write is remembered for the transfer scenario's cross-failover retry
    with open(os.environ.get("LEDGER_V1_STATE", "/dev/null"), "w") as f:
        json.dump({"idem": base64.b64encode(key).decode(), "height": first.success.block_height,
                   "seq": first.success.assigned_sequence}, f)


def s_list(L):
    leader = leader_of(L)
    follower = (leader + 1) % len(L.addrs)
    org, vault = 8, 1
    now = int(time.time())
    order = [(n * 7) % 25 for n in range(25)]
    versions = {}
    for n in order:
        r = L.write(leader, org, vault, "lister", idem(), [("item:%02d" % n, b"v%d" % n)])
        versions["item:%02d" % n] = r.success.block_height
    last = L.write(leader, org, vault, "lister", idem(),
                   [("item:zz-expired", b"old", now - 100), ("item:zz-future", b"new", now + 3600),
                    ("other:1", b"o")])
    expect = sorted(versions) + ["item:zz-future"]
    # pages of 7 in key order, the last one short, then no token
    pages = L.list_all(leader, org, vault, 7, key_prefix="item:", consistency=2)
    sizes = [len(p.entities) for p in pages]
    check(sizes == [7, 7, 7, 5], "page sizes %s" % sizes)
    keys = [e.key for p in pages for e in p.entities]
    check(keys == expect, "keys %s" % keys)
    check(all(p.next_page_token for p in pages[:-1]) and not pages[-1].next_page_token,
          "next_page_token not set on every page but the last")
    for p in pages:
        check(p.block_height >= last.success.block_height, "block_height %d" % p.block_height)
        for e in p.entities:
            want = versions.get(e.key, last.success.block_height)
            check(e.version == want, "%s version %d, written at %d" % (e.key, e.version, want))
    fut = pages[-1].entities[-1]
    check(fut.expires_at == now + 3600 and fut.value == b"new", "item:zz-future: %s" % fut)
    # expired entities only with include_expired
    keys = [e.key for p in L.list_all(leader, org, vault, 10, key_prefix="item:",
                                      include_expired=True) for e in p.entities]
    check("item:zz-expired" in keys and len(keys) == 27, "with include_expired: %d keys" %
          len(keys))
    # a prefix bounds the listing; limit 0 is the default page (100)
    keys = [e.key for e in L.list(leader, org, vault, key_prefix="item:1").entities]
    check(keys == ["item:%02d" % n for n in range(10, 20)], "prefix item:1: %s" % keys)
    r = L.list(leader, org, vault)
    check(len(r.entities) == 27 and not r.next_page_token, "default page: %d entities, token %r" %
          (len(r.entities), r.next_page_token))
    # a token belongs to its query
    tok = L.list(leader, org, vault, key_prefix="item:", limit=3).next_page_token
    L.error(lambda: L.list(leader, org, vault, key_prefix="other:", limit=3, page_token=tok),
            grpc.StatusCode.INVALID_ARGUMENT, "page_token")
    L.error(lambda: L.list(leader, org, vault, page_token="garbage"),
            grpc.StatusCode.INVALID_ARGUMENT, "page_token")
    L.error(lambda: L.list(leader, org, vault, key_prefix="_sys"),
            grpc.StatusCode.INVALID_ARGUMENT, "key_prefix")
    # an unknown namespace is empty
    check(not L.list(leader, org, 99).entities, "vault 99 has entities")
    # LINEARIZABLE on a follower: UNAVAILABLE with the leader hint;
    # EVENTUAL there reads its own state, which catches up
    err = L.error(lambda: L.list(follower, org, vault, consistency=2),
                  grpc.StatusCode.UNAVAILABLE)
    check_leader_hint(L, err, leader)
    wait_until(lambda: len(L.list(follower, org, vault, consistency=1, limit=100).entities) == 27,
               10, "the follower's EVENTUAL read shows every entity")


def s_follower(L):
    leader = leader_of(L)
    follower = (leader + 1) % len(L.addrs)
    err = L.error(lambda: L.write(follower, 7, 3, "py", idem(), [("f:1", b"x")]),
                  grpc.StatusCode.UNAVAILABLE)
    check_leader_hint(L, err, leader)
    req = L.msg("ledger.v1.TransferLeadershipRequest", target_node_id=leader + 1)
    err = L.error(lambda: L.call(follower, V1 + "AdminService/TransferLeadership", req,
                                 "ledger.v1.TransferLeadershipResponse", admin=True),
                  grpc.StatusCode.UNAVAILABLE)
    check_leader_hint(L, err, leader)
    # nothing was written by the refused write
    check(not L.list(leader, 7, 3, key_prefix="f:", consistency=2).entities,
          "the follower's write was applied")


def transfer(L, node, target, timeout_ms=5000):
    req = L.msg("ledger.v1.TransferLeadershipRequest", target_node_id=target,
                timeout_ms=timeout_ms)
    return L.call(node, V1 + "AdminService/TransferLeadership", req,
                  "ledger.v1.TransferLeadershipResponse", admin=True, timeout=30)


def s_transfer(L):
    leader = leader_of(L)
    target = (leader + 1) % len(L.addrs)
    r = transfer(L, leader, target + 1)
    check(r.success and r.new_leader_id == target + 1, "transfer to %d: %s" % (target + 1, r))
    wait_until(lambda: agreed_leader(L) == target + 1, 10, "every node names node %d" %
               (target + 1))
    wait_until(lambda: healthy(L, target), 10, "the new leader is HEALTHY")
    # the new leader still knows a write acknowledged before the transfer
    path = os.environ.get("LEDGER_V1_STATE")
    if path and os.path.getsize(path):
        with open(path) as f:
            st = json.load(f)
        r2 = L.write(target, 7, 3, "py", base64.b64decode(st["idem"]), [("retry:1", b"once")])
        check(r2.WhichOneof("result") == "error" and r2.error.committed_block_height ==
              st["height"] and r2.error.assigned_sequence == st["seq"],
              "retry on the new leader: %s" % r2)
    # target 0: the leader picks; leadership moves elsewhere
    r = transfer(L, target, 0, timeout_ms=120000)  # capped at 60000
    check(r.success and r.new_leader_id not in (0, target + 1), "transfer to any: %s" % r)
    new = r.new_leader_id - 1
    wait_until(lambda: agreed_leader(L) == new + 1, 10, "every node names node %d" % (new + 1))
    wait_until(lambda: healthy(L, new), 10, "the new leader is HEALTHY")
    # no eligible target: itself, a node that does not exist
    L.error(lambda: transfer(L, new, new + 1), grpc.StatusCode.FAILED_PRECONDITION,
            "no eligible transfer target")
    L.error(lambda: transfer(L, new, 99), grpc.StatusCode.FAILED_PRECONDITION,
            "no eligible transfer target")
    # writes work on the new leader
    w = L.write(new, 7, 3, "py", idem(), [("post-transfer:1", b"x")])
    check(w.WhichOneof("result") == "success", "write after transfer: %s" % w)


def s_snapshot_backup(L):
    leader = leader_of(L)
    L.write(leader, 9, 9, "snap", idem(), [("snap:1", b"in the snapshot")])
    r = L.call(leader, V1 + "AdminService/CreateSnapshot", L.msg("ledger.v1.CreateSnapshotRequest"),
               "ledger.v1.CreateSnapshotResponse", admin=True)
    h = int(L.health(leader).details["block_height"])
    check(r.block_height == h, "snapshot at height %d, node at %d" % (r.block_height, h))
    with open(r.snapshot_path, "rb") as f:
        body = f.read()
    check(body.startswith(b"LEDGERD-SNAPSHOT 1 "), "not a snapshot file")
    check(b"snap:1" in body and b'"version":2' in body, "the snapshot lacks the entities")
    b = L.call(leader, V1 + "AdminService/CreateBackup", L.msg("ledger.v1.CreateBackupRequest",
                                                                tag="nightly"),
               "ledger.v1.CreateBackupResponse", admin=True)
    check(b.backup_id and os.path.exists(b.backup_path), "backup %s at %s" % (b.backup_id,
                                                                          b.backup_path))
    check(os.path.getsize(b.backup_path) == b.size_bytes, "size_bytes %d, file %d" %
          (b.size_bytes, os.path.getsize(b.backup_path)))
    check("/backups/" in b.backup_path, "backup outside the backups directory: %s" % b.backup_path)
    s = L.call(leader, V1 + "AdminService/RestoreBackup",
               L.msg("ledger.v1.RestoreBackupRequest", backup_id=b.backup_id),
               "ledger.v1.RestoreBackupResponse", admin=True)
    with open(os.path.join(s.staging_dir, "snapshot.ledgersnap"), "rb") as f:
        staged = f.read()
    with open(b.backup_path, "rb") as f:
        check(staged == f.read(), "the staged snapshot differs from the backup")
    with open(os.path.join(s.staging_dir, "manifest.json")) as f:
        m = json.load(f)
    check(m["backup_id"] == b.backup_id and m["tag"] == "nightly", "manifest %s" % m)
    # the live state is untouched: writes go on
    w = L.write(leader, 9, 9, "snap", idem(), [("snap:2", b"after")])
    check(w.WhichOneof("result") == "success", "write after restore: %s" % w)
    # an archive whose bytes changed does not verify, and is not staged
    with open(b.backup_path, "rb") as f:
        data = bytearray(f.read())
    data[data.index(b"snap:1")] ^= 0x20
    bad = os.path.join(os.path.dirname(b.backup_path), "backup-tampered-1.ledgersnap")
    with open(bad, "wb") as f:
        f.write(bytes(data))
    L.error(lambda: L.call(leader, V1 + "AdminService/RestoreBackup",
                           L.msg("ledger.v1.RestoreBackupRequest", backup_id="tampered-1"),
                           "ledger.v1.RestoreBackupResponse", admin=True),
            grpc.StatusCode.FAILED_PRECONDITION, "does not verify")
    check(not os.path.exists(os.path.join(os.path.dirname(s.staging_dir), "tampered-1")),
          "a tampered backup was staged")
    L.error(lambda: L.call(leader, V1 + "AdminService/RestoreBackup",
                           L.msg("ledger.v1.RestoreBackupRequest", backup_id="no-such-backup"),
                           "ledger.v1.RestoreBackupResponse", admin=True),
            grpc.StatusCode.NOT_FOUND, "no-such-backup")
    L.error(lambda: L.call(leader, V1 + "AdminService/RestoreBackup",
                           L.msg("ledger.v1.RestoreBackupRequest", backup_id="../../etc"),
                           "ledger.v1.RestoreBackupResponse", admin=True),
            grpc.StatusCode.INVALID_ARGUMENT, "backup_id")


def s_bad_input(L):
    leader = leader_of(L)
    W = V1 + "WriteService/Write"
    # bytes that are no WriteRequest
    L.error(lambda: L.raw(leader, W, b"\xff\xff\xff\xff"), grpc.StatusCode.INVALID_ARGUMENT)
    # a string field that is not UTF-8 (client_id.id = ff fe)
    L.error(lambda: L.raw(leader, W, b"\x1a\x04\x0a\x02\xff\xfe"),
            grpc.StatusCode.INVALID_ARGUMENT)
    # unknown methods and services
    L.error(lambda: L.raw(leader, V1 + "WriteService/Nope", b""), grpc.StatusCode.UNIMPLEMENTED)
    L.error(lambda: L.raw(leader, "/ledger.v1.NopeService/Write", b""),
            grpc.StatusCode.UNIMPLEMENTED)
    # over 1 MiB
    L.error(lambda: L.write(leader, 7, 3, "py", idem(), [("big:1", b"x" * (1536 * 1024))]),
            grpc.StatusCode.RESOURCE_EXHAUSTED)
    # admin calls without the token, or with a wrong one
    for call in (lambda tok: L.call(leader, V1 + "AdminService/GetClusterInfo",
                                    L.msg("ledger.v1.GetClusterInfoRequest"),
                                    "ledger.v1.GetClusterInfoResponse", token=tok),
                 lambda tok: L.call(leader, V1 + "AdminService/CreateBackup",
                                    L.msg("ledger.v1.CreateBackupRequest"),
                                    "ledger.v1.CreateBackupResponse", token=tok)):
        L.error(lambda: call(None), grpc.StatusCode.UNAUTHENTICATED)
        L.error(lambda: call("wrong-token"), grpc.StatusCode.UNAUTHENTICATED)
    # malformed fields, each named
    L.error(lambda: L.write(leader, 7, 3, "py", b"abc", [("k", b"v")]),
            grpc.StatusCode.INVALID_ARGUMENT, "idempotency_key")
    L.error(lambda: L.write(leader, 7, 3, "py", idem(), [("has space", b"v")]),
            grpc.StatusCode.INVALID_ARGUMENT, "operations[0].set_entity.key")
    L.error(lambda: L.write(leader, 0, 3, "py", idem(), [("k", b"v")]),
            grpc.StatusCode.INVALID_ARGUMENT, "organization")
    L.error(lambda: L.write(leader, 7, 3, "py", idem(), []),
            grpc.StatusCode.INVALID_ARGUMENT, "operations")
    req = L.write_req(7, 3, "py", idem(), [("k", b"v")])
    req.operations.add()  # an operation with nothing set
    L.error(lambda: L.call(leader, W, req, "ledger.v1.WriteResponse"),
            grpc.StatusCode.INVALID_ARGUMENT, "operations[1]")
    L.error(lambda: L.list(leader, 0, 0), grpc.StatusCode.INVALID_ARGUMENT, "organization")
    # the node is still up and answers correctly
    s_health(L)
    r = L.write(leader, 7, 3, "py", idem(), [("after-bad:1", b"ok")])
    check(r.WhichOneof("result") == "success", "write after bad input: %s" % r)
    ents = L.list(leader, 7, 3, key_prefix="after-bad:", consistency=2).entities
    check([(e.key, e.value) for e in ents] == [("after-bad:1", b"ok")], "read back %s" % ents)
    check(not L.list(leader, 7, 3, key_prefix="big:", consistency=2).entities,
          "the oversized write was applied")


def s_native(L):
    """The native dialect from the same client."""
    leader = leader_of(L)
    follower = (leader + 1) % len(L.addrs)
    A = NATIVE + "Ledger/Append"
    req = L.msg("inferadb.ledger.v1.AppendRequest", client_id="py-native", sequence=1,
                payload="hello from python")
    a = L.call(leader, A, req, "inferadb.ledger.v1.AppendResponse")
    check(a.index >= 1 and a.term >= 1, "append: %s" % a)
    again = L.call(leader, A, req, "inferadb.ledger.v1.AppendResponse")
    check(again.index == a.index, "a repeated append got index %d, original %d" %
          (again.index, a.index))
    rd = L.call(leader, NATIVE + "Ledger/Read",
                L.msg("inferadb.ledger.v1.ReadRequest", from_index=a.index, limit=10),
                "inferadb.ledger.v1.ReadResponse")
    mine = [e for e in rd.entries if e.client_id == "py-native"]
    check(len(mine) == 1 and mine[0].payload == "hello from python" and mine[0].index == a.index,
          "read back %s" % mine)
    err = L.error(lambda: L.call(follower, A, L.msg("inferadb.ledger.v1.AppendRequest",
                                                     client_id="py-native", sequence=2,
                                                     payload="x"),
                                 "inferadb.ledger.v1.AppendResponse"),
                  grpc.StatusCode.UNAVAILABLE)
    check_leader_hint(L, err, leader)
    st = L.call(follower, NATIVE + "Admin/GetClusterStatus",
                L.msg("inferadb.ledger.v1.GetClusterStatusRequest"),
                "inferadb.ledger.v1.ClusterStatus", admin=True)
    check(st.leader.id == leader + 1 and len(st.members) == len(L.addrs),
          "status: leader %d, %d members" % (st.leader.id, len(st.members)))
    L.error(lambda: L.call(leader, NATIVE + "Admin/GetClusterStatus",
                           L.msg("inferadb.ledger.v1.GetClusterStatusRequest"),
                           "inferadb.ledger.v1.ClusterStatus"), grpc.StatusCode.UNAUTHENTICATED)
    t = L.call(leader, NATIVE + "Admin/RequestLeaderTransfer",
               L.msg("inferadb.ledger.v1.RequestLeaderTransferRequest", node_id=follower + 1),
               "inferadb.ledger.v1.RequestLeaderTransferResponse", admin=True, timeout=30)
    check(t.transferred and t.leader.id == follower + 1, "transfer: %s" % t)
    wait_until(lambda: agreed_leader(L) == follower + 1, 10,
               "every node names node %d" % (follower + 1))
    g = L.call(follower, "/grpc.health.v1.Health/Check",
               L.msg("grpc.health.v1.HealthCheckRequest"), "grpc.health.v1.HealthCheckResponse")
    check(g.status == 1, "grpc.health.v1 status %d" % g.status)


def s_no_leader(L):
    """Run against one node whose peers are gone: UNAVAILABLE health, and
    writes refused with UNAVAILABLE (no leader to name)."""
    unavailable = L.pool.FindEnumTypeByName("ledger.v1.HealthStatus").values_by_name[
        "HEALTH_STATUS_UNAVAILABLE"].number
    h = wait_until(lambda: (lambda h: h if h.status == unavailable else None)(L.health(0)), 15,
                   "HEALTH_STATUS_UNAVAILABLE without a quorum")
    check(h.message and "leader_id" not in h.details, "health %s" % h)
    L.error(lambda: L.write(0, 7, 3, "py", idem(), [("nq:1", b"x")]), grpc.StatusCode.UNAVAILABLE)
    r = L.list(0, 7, 3, key_prefix="item:0")
    check(len(r.entities) == 10, "EVENTUAL read without a leader: %d entities" % len(r.entities))


SCENARIOS = {
    "wait": s_wait,
    "cluster-info": s_cluster_info,
    "health": s_health,
    "write": s_write,
    "list": s_list,
    "follower": s_follower,
    "transfer": s_transfer,
    "snapshot-backup": s_snapshot_backup,
    "bad-input": s_bad_input,
    "native": s_native,
    "no-leader": s_no_leader,
}


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--protoset", required=True)
    p.add_argument("--token-file", required=True)
    p.add_argument("--http", required=True, help="HTTP listeners, comma-separated")
    p.add_argument("scenario", choices=sorted(SCENARIOS))
    p.add_argument("addrs", nargs="+")
    a = p.parse_args()
    with open(a.token_file) as f:
        token = f.read().strip()
    http = a.http.split(",")
    if len(http) != len(a.addrs):
        p.error("--http must name one listener per address")
    L = Ledger(a.protoset, a.addrs, http, token)
    try:
        SCENARIOS[a.scenario](L)
    except Mismatch as e:
        print("FAIL: %s: %s" % (a.scenario, e))
        return 1
    except grpc.RpcError as e:
        print("FAIL: %s: unexpected %s: %s" % (a.scenario, e.code(), e.details()))
        return 1
    print("ok: %s" % a.scenario)
    return 0


if __name__ == "__main__":
    sys.exit(main())
