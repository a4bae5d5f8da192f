#!/usr/bin/python3
"""An independent ledger client: writes to the bundled cluster over gRPC
with Debian's python3-grpcio (no drillrig code), and measures its own
outages the way docs/measurement.md defines them, so a test can hold
drillrig's measurement against it.

usage: independent_writer.py --protoset FILE --cluster DIR --stop FILE
                             --out FILE [--ready FILE] [--api runbook|ledger.v1]
                             [--timeout-ms 200]

Closed loop, one write at a time, each with the per-call timeout as its
deadline.  A write that fails for any reason is retried with the same
sequence on the next node (a follower answers UNAVAILABLE; the next node
round-robin finds the leader within one pass).  --ready is created after
the first 20 acknowledged writes; writing stops once --stop exists, and
--out then gets {"acks", "attempts", "outages": [{"start", "end",
"duration_ms"}]} (times in seconds of CLOCK_MONOTONIC).
"""
import argparse
import json
import os
import sys
import time
import uuid

import grpc
from google.protobuf import descriptor_pb2, descriptor_pool, message_factory


def load_pool(path):
    fds = descriptor_pb2.FileDescriptorSet()
    with open(path, "rb") as f:
        fds.ParseFromString(f.read())
    pool = descriptor_pool.DescriptorPool()
    for fd in fds.file:
        pool.Add(fd)
    return pool


def unary(channel, pool, factory, full_method):
    service, method = full_method.rsplit("/", 1)
    m = pool.FindServiceByName(service).FindMethodByName(method)
    response = factory.GetPrototype(m.output_type)
    return (factory.GetPrototype(m.input_type),
            channel.unary_unary("/" + full_method,
                                request_serializer=lambda x: x.SerializeToString(),
                                response_deserializer=response.FromString))


def outages(attempts, timeout_s):
    """Unavailable spans of docs/measurement.md: a bad attempt b spans
    [b.invoke, completion of the first good attempt invoked at or after
    b.invoke]; overlapping spans merge."""
    spans = []
    for i, (inv, comp, ok) in enumerate(attempts):
        if ok and comp - inv <= timeout_s:
            continue
        end = None
        for inv2, comp2, ok2 in attempts[i:]:
            if inv2 >= inv and ok2 and comp2 - inv2 <= timeout_s:
                end = comp2 if end is None else min(end, comp2)
                break
        if end is None:
            end = attempts[-1][1]
        if spans and inv <= spans[-1][1]:
            spans[-1][1] = max(spans[-1][1], end)
        else:
            spans.append([inv, end])
    return [{"start": s, "end": e, "duration_ms": (e - s) * 1000.0} for s, e in spans]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--protoset", required=True)
    ap.add_argument("--cluster", required=True)
    ap.add_argument("--stop", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--ready")
    ap.add_argument("--api", default="runbook", choices=["runbook", "ledger.v1"])
    ap.add_argument("--timeout-ms", type=int, default=200)
    a = ap.parse_args()

    pool = load_pool(a.protoset)
    factory = message_factory.MessageFactory(pool)
    with open(os.path.join(a.cluster, "cluster.json")) as f:
        nodes = [n["address"] for n in json.load(f)["nodes"]]
    # Reconnect quickly, never retry behind our back: what any client that
    # wants to see a failover as it happens sets.
    options = [("grpc.initial_reconnect_backoff_ms", 5), ("grpc.min_reconnect_backoff_ms", 5),
               ("grpc.max_reconnect_backoff_ms", 100), ("grpc.enable_retries", 0),
               ("grpc.use_local_subchannel_pool", 1)]
    calls = []
    for addr in nodes:
        ch = grpc.insecure_channel(addr, options=options)
        method = ("inferadb.ledger.v1.Ledger/Append" if a.api == "runbook"
                  else "ledger.v1.WriteService/Write")
        calls.append(unary(ch, pool, factory, method))
    client_id = "independent-%d" % os.getpid()
    timeout_s = a.timeout_ms / 1000.0
    attempts, acks, seq, cur = [], 0, 1, 0
    while not os.path.exists(a.stop):
        req_type, call = calls[cur]
        if a.api == "runbook":
            req = req_type(client_id=client_id, sequence=seq, payload="independent")
        else:
            req = req_type()
            req.organization.slug = 1
            req.vault.slug = 1
            req.caller.slug = 1
            req.client_id.id = client_id
            # One key per logical write: a retry is the same write.
            req.idempotency_key = uuid.uuid5(uuid.NAMESPACE_OID, "%s/%d" % (client_id, seq)).bytes
            op = req.operations.add()
            op.set_entity.key = "independent/%s/%020d" % (client_id, seq)
            op.set_entity.value = b"independent"
        inv = time.monotonic()
        ok = False
        try:
            ans = call(req, timeout=timeout_s)
            ok = a.api == "runbook" or ans.HasField("success") or \
                (ans.HasField("error") and ans.error.code == 5)  # ALREADY_COMMITTED
        except grpc.RpcError:
            pass
        comp = time.monotonic()
        attempts.append((inv, comp, ok))
        if ok:
            acks += 1
            seq += 1
            if a.ready and acks == 20:
                open(a.ready, "w").close()
        else:
            cur = (cur + 1) % len(calls)
    result = {"acks": acks, "attempts": len(attempts), "outages": outages(attempts, timeout_s)}
    tmp = a.out + ".tmp"
    with open(tmp, "w") as f:
        json.dump(result, f)
    os.rename(tmp, a.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
