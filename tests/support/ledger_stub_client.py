#!/usr/bin/python3
"""An independent client of the bundled ledger on generated stubs: the
project's .proto files compiled by python3-grpc-tools (grpc_tools.protoc)
into ledger_pb2 / ledger_pb2_grpc modules, used through the stubs Python
programmers write against (LedgerStub, AdminStub, WriteServiceStub, ...).
No drillrig code and no descriptor set: what any Python shop would do with
the ledger's .proto files.

usage: ledger_stub_client.py STUB_DIR CLUSTER_JSON STATUS_JSON

STUB_DIR holds the generated modules (the test runs grpc_tools.protoc);
STATUS_JSON is `drillrig cluster status --json` (to find the leader).
Prints "CASE<TAB>name<TAB>pass|fail<TAB>why" per check, exits 0.
"""
import importlib.util
import json
import os
import sys
import threading
import time
import urllib.error
import urllib.request
import uuid

import grpc

sys.path.insert(0, sys.argv[1])
from inferadb.ledger.v1 import ledger_pb2 as native  # noqa: E402
from inferadb.ledger.v1 import ledger_pb2_grpc as native_grpc  # noqa: E402
from ledger.v1 import ledger_pb2 as v1  # noqa: E402
from ledger.v1 import ledger_pb2_grpc as v1_grpc  # noqa: E402

OPTIONS = [("grpc.enable_http_proxy", 0)]


class Bearer(grpc.UnaryUnaryClientInterceptor):
    """Sends the cluster's admin token with every call, as an operator's
    client does (`drillrig cluster up` writes it to DIR/admin-token)."""

    def __init__(self, token):
        self.md = ("authorization", "Bearer " + token)

    def intercept_unary_unary(self, continuation, details, request):
        md = list(details.metadata or []) + [self.md]
        return continuation(details._replace(metadata=md), request)


def health_messages(stub_dir):
    """grpc/health/v1/health_pb2.py by path: its package name is the grpc
    library's own, so it cannot be imported as grpc.health.v1 (nor can its
    _grpc module, which imports it that way); the call goes through the
    channel with its message classes instead."""
    path = os.path.join(stub_dir, "grpc", "health", "v1", "health_pb2.py")
    spec = importlib.util.spec_from_file_location("generated_health_pb2", path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


health_pb2 = health_messages(sys.argv[1])
results = []


def case(name, fn):
    try:
        why = fn()
    except grpc.RpcError as e:
        why = "unexpected %s: %s" % (e.code().name, e.details())
    except Exception as e:  # a broken check is a failed case, named
        why = "%s: %s" % (type(e).__name__, e)
    print("CASE\t%s\t%s\t%s" % (name, "fail" if why else "pass", why or ""))
    sys.stdout.flush()


def code_of(fn):
    try:
        fn()
    except grpc.RpcError as e:
        return e.code()
    return grpc.StatusCode.OK


def main():
    with open(sys.argv[2]) as f:
        cluster = json.load(f)["nodes"]
    nodes = [n["address"] for n in cluster]
    with open(sys.argv[3]) as f:
        leader = json.load(f)["leader"]["address"]
    follower = next(a for a in nodes if a != leader)
    with open(os.path.join(os.path.dirname(sys.argv[2]), "admin-token")) as f:
        token = f.read().strip()

    def channel(address):
        return grpc.intercept_channel(grpc.insecure_channel(address, options=OPTIONS),
                                      Bearer(token))
    raw = grpc.insecure_channel(leader, options=OPTIONS)  # no token
    lch = channel(leader)
    fch = channel(follower)
    ledger, admin = native_grpc.LedgerStub(lch), native_grpc.AdminStub(lch)
    cid = "stubs-%d" % int(time.time() * 1000)

    def append_and_read():
        a = ledger.Append(native.AppendRequest(client_id=cid, sequence=1, payload="one"), timeout=5)
        b = ledger.Append(native.AppendRequest(client_id=cid, sequence=2, payload="two"), timeout=5)
        again = ledger.Append(native.AppendRequest(client_id=cid, sequence=1, payload="one"),
                              timeout=5)
        if not (a.index > 0 and b.index == a.index + 1):
            return "indexes %d, %d are not consecutive" % (a.index, b.index)
        if again.index != a.index:
            return "a repeated (client, sequence) answered index %d, not %d" % (again.index, a.index)
        page = ledger.Read(native.ReadRequest(from_index=a.index, limit=2), timeout=5)
        got = [(e.client_id, e.sequence, e.payload) for e in page.entries]
        if got != [(cid, 1, "one"), (cid, 2, "two")]:
            return "Read answered %s" % got
        return None
    case("native-append-and-read", append_and_read)

    def status():
        st = admin.GetClusterStatus(native.GetClusterStatusRequest(), timeout=5)
        if st.leader.address != leader or len(st.members) != len(nodes) or not st.quorum:
            return "leader %s, %d members, quorum %s" % (st.leader.address, len(st.members), st.quorum)
        via = native_grpc.AdminStub(fch).GetClusterStatus(native.GetClusterStatusRequest(), timeout=5)
        if via.leader.id != st.leader.id:
            return "a follower reported leader %d, the leader %d" % (via.leader.id, st.leader.id)
        return None
    case("native-cluster-status", status)

    def follower_refuses():
        try:
            native_grpc.LedgerStub(fch).Append(
                native.AppendRequest(client_id=cid, sequence=3, payload="x"), timeout=5)
        except grpc.RpcError as e:
            md = dict(e.trailing_metadata() or ())
            if e.code() != grpc.StatusCode.UNAVAILABLE or md.get("ledger-code") != "NOT_LEADER":
                return "%s with ledger-code %s" % (e.code().name, md.get("ledger-code"))
            raw = md.get("grpc-status-details-bin")
            if not raw:
                return "no ErrorDetails in the status details"
            d = v1.ErrorDetails.FromString(raw)
            if d.context.get("leader_endpoint") != leader:
                return "ErrorDetails names %s, the leader is %s" % (
                    d.context.get("leader_endpoint"), leader)
            return None
        return "a follower acknowledged a write"
    case("follower-names-the-leader", follower_refuses)

    def bad_input():
        wrong = []
        checks = [
            ("empty client_id", grpc.StatusCode.INVALID_ARGUMENT,
             lambda: ledger.Append(native.AppendRequest(client_id="", sequence=1), timeout=5)),
            ("limit out of range", grpc.StatusCode.INVALID_ARGUMENT,
             lambda: ledger.Read(native.ReadRequest(limit=10001), timeout=5)),
            ("over 1 MiB", grpc.StatusCode.RESOURCE_EXHAUSTED,
             lambda: ledger.Append(native.AppendRequest(client_id=cid, sequence=9,
                                                        payload="x" * (2 << 20)), timeout=5)),
            ("Write without a vault", grpc.StatusCode.INVALID_ARGUMENT,
             lambda: v1_grpc.WriteServiceStub(lch).Write(v1.WriteRequest(), timeout=5)),
            ("unknown method", grpc.StatusCode.UNIMPLEMENTED,
             lambda: lch.unary_unary("/inferadb.ledger.v1.Ledger/Nope")(b"", timeout=5)),
            ("bytes that are no message", grpc.StatusCode.INVALID_ARGUMENT,
             lambda: lch.unary_unary("/inferadb.ledger.v1.Ledger/Append")(b"\xff\xff\xff",
                                                                          timeout=5)),
        ]
        for what, want, fn in checks:
            got = code_of(fn)
            if got != want:
                wrong.append("%s: %s, want %s" % (what, got.name, want.name))
        # ... and the node still serves afterwards
        check = lch.unary_unary("/grpc.health.v1.Health/Check",
                                request_serializer=health_pb2.HealthCheckRequest.SerializeToString,
                                response_deserializer=health_pb2.HealthCheckResponse.FromString)
        if check(health_pb2.HealthCheckRequest(), timeout=5).status != \
                health_pb2.HealthCheckResponse.SERVING:
            wrong.append("the leader no longer says SERVING")
        return "; ".join(wrong) or None
    case("bad-input-gets-its-status", bad_input)

    def v1_write_and_list():
        ws = v1_grpc.WriteServiceStub(lch)
        key = "stubs/%s/" % cid
        req = v1.WriteRequest(organization=v1.OrganizationSlug(slug=1),
                              vault=v1.VaultSlug(slug=1), client_id=v1.ClientId(id=cid),
                              idempotency_key=uuid.uuid4().bytes, caller=v1.UserSlug(slug=1))
        req.operations.add().set_entity.CopyFrom(v1.SetEntity(key=key + "a", value=b"A"))
        first = ws.Write(req, timeout=5)
        retry = ws.Write(req, timeout=5)
        if not first.HasField("success"):
            return "Write answered %s" % first
        if not (retry.HasField("error") and
                retry.error.code == v1.WRITE_ERROR_CODE_ALREADY_COMMITTED and
                retry.error.committed_block_height == first.success.block_height):
            return "a retry with the same idempotency key answered %s" % retry
        listed = v1_grpc.ReadServiceStub(lch).ListEntities(
            v1.ListEntitiesRequest(organization=v1.OrganizationSlug(slug=1),
                                   vault=v1.VaultSlug(slug=1), key_prefix=key,
                                   consistency=v1.READ_CONSISTENCY_LINEARIZABLE,
                                   caller=v1.UserSlug(slug=1)), timeout=5)
        got = [(e.key, e.value, e.version) for e in listed.entities]
        if got != [(key + "a", b"A", first.success.block_height)]:
            return "ListEntities answered %s" % got
        return None
    case("v1-write-and-list", v1_write_and_list)

    def admin_needs_the_token():
        # issue 17: any local process could take the leader away (a fifo
        # handed to RestoreFromSnapshot) or plant a lost write (DropEntry).
        # Without the cluster's token every admin and debug call is refused,
        # before any of it runs; the ledger API itself stays open.
        fifo = os.path.join(os.path.dirname(sys.argv[2]), "attack.fifo")
        if not os.path.exists(fifo):
            os.mkfifo(fifo)
        wrong = []
        checks = [
            ("RestoreFromSnapshot of a fifo", lambda: raw.unary_unary(
                "/inferadb.ledger.v1.Admin/RestoreFromSnapshot",
                request_serializer=native.RestoreFromSnapshotRequest.SerializeToString)(
                    native.RestoreFromSnapshotRequest(path=fifo), timeout=5)),
            ("GetClusterStatus", lambda: native_grpc.AdminStub(raw).GetClusterStatus(
                native.GetClusterStatusRequest(), timeout=5)),
            ("TransferLeadership", lambda: v1_grpc.AdminServiceStub(raw).TransferLeadership(
                v1.TransferLeadershipRequest(target_node_id=2), timeout=5)),
            ("a wrong token", lambda: native_grpc.AdminStub(raw).GetClusterStatus(
                native.GetClusterStatusRequest(), timeout=5,
                metadata=[("authorization", "Bearer " + "0" * len(token))])),
        ]
        for what, fn in checks:
            got = code_of(fn)
            if got != grpc.StatusCode.UNAUTHENTICATED:
                wrong.append("%s without the token: %s" % (what, got.name))
        http = next(n["http_address"] for n in cluster if n["address"] == leader)
        for method, body in (("DropEntry", b'{"client_id":"%s","sequence":1}' % cid.encode()),
                             ("Partition", b'{"peers":[2]}')):
            req = urllib.request.Request("http://%s/inferadb.ledger.v1.Debug/%s" % (http, method),
                                         data=body, headers={"Content-Type": "application/json"})
            try:
                urllib.request.urlopen(req, timeout=5)
                wrong.append("Debug/%s without the token was accepted" % method)
            except urllib.error.HTTPError as e:
                answer = json.loads(e.read() or b"{}")
                if e.code != 401 or answer.get("code") != "UNAUTHENTICATED":
                    wrong.append("Debug/%s without the token: HTTP %d %s" % (method, e.code, answer))
        # the ledger API needs no token, and the appended entry is still there
        page = ledger.Read(native.ReadRequest(from_index=1, limit=100), timeout=5)
        if not any(e.client_id == cid and e.sequence == 1 for e in page.entries):
            wrong.append("entry %s/1 is gone from reads" % cid)
        if admin.GetClusterStatus(native.GetClusterStatusRequest(), timeout=5).leader.address \
                != leader:
            wrong.append("the leader moved")
        return "; ".join(wrong) or None
    case("admin-and-debug-need-the-token", admin_needs_the_token)

    def concurrent_appends():
        # 16 writers at once, as a busy service would: ledgerd proposes the
        # appends that queue up together as one Raft entry (group commit).
        # Each writer must still get its own entry back, at the index a
        # Read then shows it, with nothing lost, doubled or out of order.
        writers, per_writer = 16, 60
        answers, errors = {}, []

        def writer(w):
            wid = "%s-w%d" % (cid, w)
            try:
                for seq in range(1, per_writer + 1):
                    a = ledger.Append(native.AppendRequest(client_id=wid, sequence=seq,
                                                           payload="p%d.%d" % (w, seq)), timeout=10)
                    answers[(wid, seq)] = a.index
            except grpc.RpcError as e:
                errors.append("%s: %s %s" % (wid, e.code(), e.details()))
        threads = [threading.Thread(target=writer, args=(w,)) for w in range(writers)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        if errors:
            return "appends failed: %s" % "; ".join(errors[:3])
        if len(set(answers.values())) != writers * per_writer:
            return "%d appends answered only %d distinct indexes" % (
                writers * per_writer, len(set(answers.values())))
        seen, at = {}, min(answers.values())
        while True:
            page = ledger.Read(native.ReadRequest(from_index=at, limit=500), timeout=10)
            for e in page.entries:
                seen[(e.client_id, e.sequence)] = (e.index, e.payload)
            if not page.entries or page.entries[-1].index >= page.last_index:
                break
            at = page.entries[-1].index + 1
        for (wid, seq), index in answers.items():
            w = int(wid.rsplit("-w", 1)[1])
            if seen.get((wid, seq)) != (index, "p%d.%d" % (w, seq)):
                return "%s/%d was answered index %d, Read shows %s" % (
                    wid, seq, index, seen.get((wid, seq)))
        for wid in {k[0] for k in answers}:
            order = [answers[(wid, s)] for s in range(1, per_writer + 1)]
            if order != sorted(order):
                return "%s's appends landed out of order: %s" % (wid, order[:10])
        http = next(n["http_address"] for n in cluster if n["address"] == leader)
        text = urllib.request.urlopen("http://%s/metrics" % http, timeout=5).read().decode()
        batched = [float(line.rsplit(" ", 1)[1]) for line in text.splitlines()
                   if line.startswith("ledger_appends_batched_total{")]
        if not batched or batched[0] <= 0:
            return ("16 concurrent writers never shared a Raft entry "
                    "(ledger_appends_batched_total %s on the leader)" % batched)
        return None
    case("concurrent-appends-share-entries", concurrent_appends)

    def transfers():
        info = v1_grpc.AdminServiceStub(lch).GetClusterInfo(v1.GetClusterInfoRequest(), timeout=5)
        me = next(m for m in info.members if m.is_leader)
        to = next(m for m in info.members if not m.is_leader and
                  m.role == v1.CLUSTER_MEMBER_ROLE_VOTER)
        ans = v1_grpc.AdminServiceStub(lch).TransferLeadership(
            v1.TransferLeadershipRequest(target_node_id=to.node_id, timeout_ms=10000), timeout=15)
        if not ans.success or ans.new_leader_id != to.node_id:
            return "TransferLeadership to %d answered %s" % (to.node_id, ans)
        back_ch = channel(to.address)
        back = native_grpc.AdminStub(back_ch).RequestLeaderTransfer(
            native.RequestLeaderTransferRequest(node_id=me.node_id), timeout=15)
        if back.leader.id != me.node_id:
            return "RequestLeaderTransfer back to %d answered %s" % (me.node_id, back)
        return None
    case("transfers-in-both-dialects", transfers)
    return 0


if __name__ == "__main__":
    sys.exit(main())
