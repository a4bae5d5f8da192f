#!/usr/bin/python3
"""Checks of ledgerd's server reflection with an independent client:
Debian's python3-grpcio, and the reflection messages as gRPC defines them
(reflection_pb.py), no code of drillrig's.

    ledgerd_reflection_check.py SCENARIO ADDR [PROTOSET]

ADDR is a node's gRPC address.  Each scenario checks one concern and exits
0, or prints 'FAIL: <scenario>: <what>' and exits 1 at the first mismatch
(2 on usage errors).  tests/integration/test_ledgerd_reflection.sh runs
them against a bundled cluster.  Every wait is bounded.
"""

import os
import queue
import sys
import threading
import time

import grpc
from google.protobuf import descriptor_pb2, descriptor_pool, json_format

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
sys.dont_write_bytecode = True  # no __pycache__ in the source tree
import reflection_pb  # noqa: E402  (this folder)

NOT_FOUND, UNIMPLEMENTED = 5, 12
SERVICES = {
    "inferadb.ledger.v1.Ledger", "inferadb.ledger.v1.Admin",
    "ledger.v1.WriteService", "ledger.v1.ReadService", "ledger.v1.AdminService",
    "ledger.v1.HealthService", "grpc.health.v1.Health",
    "grpc.reflection.v1alpha.ServerReflection",
}
# The server's bound on concurrent reflection streams (reflection.h).
MAX_STREAMS = 32
TIMEOUT = 10.0


class Mismatch(Exception):
    pass


def check(cond, what):
    if not cond:
        raise Mismatch(what)


def ser(m):
    return m.SerializeToString()


class Stream:
    """One ServerReflectionInfo stream: put requests, take answers."""

    def __init__(self, channel, timeout=TIMEOUT, raw=False):
        self.requests = queue.Queue()
        rpc = channel.stream_stream(reflection_pb.METHOD,
                                    request_serializer=None if raw else ser,
                                    response_deserializer=reflection_pb.Response.FromString)
        self.call = rpc(iter(self.requests.get, None), timeout=timeout)

    def send(self, request):
        self.requests.put(request)

    def ask(self, **fields):
        self.send(reflection_pb.Request(**fields))
        return next(self.call)

    def close(self):
        """Half-close; the answers still unread, and the status."""
        self.requests.put(None)
        rest = list(self.call)
        return rest, self.call.code()


def files_of(answer):
    check(answer.HasField("file_descriptor_response"),
          "expected a file_descriptor_response, got %s" % answer)
    return [descriptor_pb2.FileDescriptorProto.FromString(b)
            for b in answer.file_descriptor_response.file_descriptor_proto]


def error_of(answer, code, what):
    check(answer.HasField("error_response"), "%s: expected an error_response, got %s"
          % (what, answer))
    check(answer.error_response.error_code == code, "%s: error_code %d, expected %d (%s)"
          % (what, answer.error_response.error_code, code, answer.error_response.error_message))


def declares(fd, symbol):
    """Whether fd declares a service, method or message type named symbol."""
    pkg = fd.package + "." if fd.package else ""
    names = set()
    for s in fd.service:
        names.add(pkg + s.name)
        names.update(pkg + s.name + "." + m.name for m in s.method)

    def walk(prefix, msgs):
        for m in msgs:
            names.add(prefix + m.name)
            walk(prefix + m.name + ".", m.nested_type)
    walk(pkg, fd.message_type)
    names.update(pkg + e.name for e in fd.enum_type)
    return symbol in names


def scenario_list(ch, args):
    s = Stream(ch)
    answer = s.ask(list_services="*")
    names = [x.name for x in answer.list_services_response.service]
    check(len(names) == len(set(names)), "a service is listed twice: %s" % names)
    check(set(names) == SERVICES, "services %s, expected %s (missing %s, extra %s)"
          % (sorted(names), sorted(SERVICES), sorted(SERVICES - set(names)),
             sorted(set(names) - SERVICES)))
    check(answer.original_request.list_services == "*", "original_request not echoed")
    # Every listed service is described by the first file answered for it.
    for name in names:
        fds = files_of(s.ask(file_containing_symbol=name))
        check(declares(fds[0], name), "first file for %s is %s, which does not declare it"
              % (name, fds[0].name))
    rest, code = s.close()
    check(not rest and code == grpc.StatusCode.OK, "half-close: %s %s" % (rest, code))


def scenario_files(ch, args):
    s = Stream(ch)
    fds = files_of(s.ask(file_containing_symbol="ledger.v1.WriteService"))
    check(fds[0].name == "ledger/v1/ledger.proto", "WriteService in %s" % fds[0].name)
    svc = [x for x in fds[0].service if x.name == "WriteService"]
    check(svc and [m.name for m in svc[0].method] == ["Write"],
          "ledger/v1/ledger.proto has no WriteService.Write")
    fds = files_of(s.ask(file_containing_symbol="inferadb.ledger.v1.Admin"))
    names = [f.name for f in fds]
    check(names[0] == "inferadb/ledger/v1/ledger.proto", "Admin in %s" % names[0])
    # The import comes along (grpcurl needs the closure), and only once.
    check(sorted(names) == ["google/protobuf/struct.proto", "inferadb/ledger/v1/ledger.proto"],
          "Admin's file and its imports: %s" % names)
    for sym, want in (("inferadb.ledger.v1.Admin.GetClusterStatus",
                       "inferadb/ledger/v1/ledger.proto"),
                      ("inferadb.ledger.v1.AppendRequest", "inferadb/ledger/v1/ledger.proto"),
                      ("inferadb.ledger.v1.AppendRequest.client_id",
                       "inferadb/ledger/v1/ledger.proto"),
                      ("ledger.v1.WriteService.Write", "ledger/v1/ledger.proto"),
                      ("google.protobuf.Struct", "google/protobuf/struct.proto"),
                      ("google.protobuf.NullValue", "google/protobuf/struct.proto"),
                      ("google.protobuf.NULL_VALUE", "google/protobuf/struct.proto"),
                      ("grpc.health.v1.HealthCheckResponse.ServingStatus",
                       "grpc/health/v1/health.proto"),
                      ("grpc.reflection.v1alpha.ServerReflection",
                       "grpc/reflection/v1alpha/reflection.proto")):
        got = files_of(s.ask(file_containing_symbol=sym))[0].name
        check(got == want, "symbol %s: file %s, expected %s" % (sym, got, want))
    fds = files_of(s.ask(file_by_filename="grpc/health/v1/health.proto"))
    check([f.name for f in fds] == ["grpc/health/v1/health.proto"],
          "file_by_filename health.proto: %s" % [f.name for f in fds])
    # The bytes are protoc's own, file by file (the build's descriptor set).
    if len(args) > 1:
        with open(args[1], "rb") as f:
            raw = protoc_files(f.read())
        check(raw, "the build's descriptor set is empty")
        for blob in raw:
            name = descriptor_pb2.FileDescriptorProto.FromString(blob).name
            answer = s.ask(file_by_filename=name)
            served = answer.file_descriptor_response.file_descriptor_proto[0]
            check(served == blob, "%s: served bytes differ from protoc's" % name)
    s.close()


def protoc_files(data):
    """The FileDescriptorProto records of a serialized FileDescriptorSet, as
    they are in it (field 1, length-delimited), without parsing them."""
    files, i = [], 0
    while i < len(data):
        check(data[i] == 0x0a, "descriptor set: field tag %#x" % data[i])
        i, n, shift = i + 1, 0, 0
        while True:
            b = data[i]
            i, n, shift = i + 1, n | (b & 0x7f) << shift, shift + 7
            if b < 0x80:
                break
        files.append(data[i:i + n])
        i += n
    return files


def pool_from_reflection(s, services):
    """A descriptor pool built from nothing but reflected bytes, as grpcurl
    builds one without -proto files."""
    files = {}
    for name in services:
        for fd in files_of(s.ask(file_containing_symbol=name)):
            files.setdefault(fd.name, fd)
    pool = descriptor_pool.DescriptorPool()
    added = set()

    def add(name):
        if name in added:
            return
        check(name in files, "import %s did not come with its file" % name)
        for dep in files[name].dependency:
            add(dep)
        pool.Add(files[name])
        added.add(name)
    for name in files:
        add(name)
    return pool


def scenario_calls(ch, args):
    # args: ADDR [TOKEN_FILE]: the cluster's admin token, for GetClusterStatus
    auth_md = []
    if len(args) > 1:
        with open(args[1]) as f:
            auth_md = [("authorization", "Bearer " + f.read().strip())]
    s = Stream(ch)
    pool = pool_from_reflection(s, ["inferadb.ledger.v1.Admin", "inferadb.ledger.v1.Ledger"])
    s.close()

    def unary(service, method, body):
        md = pool.FindServiceByName(service).methods_by_name[method]
        req_cls = reflection_pb.message_class(pool, md.input_type.full_name)
        resp_cls = reflection_pb.message_class(pool, md.output_type.full_name)
        req = json_format.Parse(body, req_cls(), descriptor_pool=pool)
        rpc = ch.unary_unary("/%s/%s" % (service, method), request_serializer=ser,
                             response_deserializer=resp_cls.FromString)
        return json_format.MessageToDict(rpc(req, timeout=TIMEOUT, metadata=auth_md),
                                         preserving_proto_field_name=True,
                                         descriptor_pool=pool)

    status = unary("inferadb.ledger.v1.Admin", "GetClusterStatus", "{}")
    check(status.get("leader", {}).get("address"), "GetClusterStatus has no leader: %s" % status)
    check(status.get("members"), "GetClusterStatus has no members: %s" % status)
    client = "reflection-%d" % os.getpid()
    first = unary("inferadb.ledger.v1.Ledger", "Append",
                  '{"client_id": "%s", "sequence": 1, "payload": "hello"}' % client)
    check(int(first.get("index", 0)) > 0, "Append answered no index: %s" % first)
    again = unary("inferadb.ledger.v1.Ledger", "Append",
                  '{"client_id": "%s", "sequence": 1, "payload": "hello"}' % client)
    check(again.get("index") == first["index"],
          "a repeated Append answered %s, the first %s" % (again, first))
    page = unary("inferadb.ledger.v1.Ledger", "Read",
                 '{"from_index": %s, "limit": 1}' % first["index"])
    entries = page.get("entries", [])
    check(entries and entries[0].get("payload") == "hello" and
          entries[0].get("client_id") == client, "Read back %s" % page)


def scenario_errors(ch, args):
    s = Stream(ch)
    error_of(s.ask(file_containing_symbol="ledger.v1.NoSuchService"), NOT_FOUND,
             "unknown symbol")
    error_of(s.ask(file_containing_symbol="ledger.v1"), NOT_FOUND, "a package is no symbol")
    error_of(s.ask(file_by_filename="no/such.proto"), NOT_FOUND, "unknown file")
    error_of(s.ask(file_containing_extension=reflection_pb.ExtensionRequest(
        containing_type="inferadb.ledger.v1.AppendRequest", extension_number=100)),
        NOT_FOUND, "file_containing_extension")
    error_of(s.ask(all_extension_numbers_of_type="ledger.v1.NoSuchMessage"), NOT_FOUND,
             "extension numbers of an unknown type")
    answer = s.ask(all_extension_numbers_of_type="inferadb.ledger.v1.AppendRequest")
    check(answer.HasField("all_extension_numbers_response") and
          answer.all_extension_numbers_response.base_type_name ==
          "inferadb.ledger.v1.AppendRequest" and
          not answer.all_extension_numbers_response.extension_number,
          "extension numbers of a proto3 message: %s" % answer)
    error_of(s.ask(host="example"), UNIMPLEMENTED, "a request that asks nothing")
    # The stream goes on after the errors.
    answer = s.ask(list_services="", host="ledgerd.example")
    check(len(answer.list_services_response.service) == len(SERVICES),
          "list after errors: %s" % answer)
    check(answer.valid_host == "ledgerd.example", "valid_host %r" % answer.valid_host)
    rest, code = s.close()
    check(not rest and code == grpc.StatusCode.OK, "half-close after errors: %s %s"
          % (rest, code))


def scenario_malformed(ch, args):
    s = Stream(ch, raw=True)
    # Field 4 (a string) whose length runs past the end of the message.
    s.send(b"\x22\x7f" + b"x")
    try:
        answer = next(s.call)
        raise Mismatch("a malformed request was answered: %s" % answer)
    except grpc.RpcError as e:
        check(e.code() == grpc.StatusCode.INVALID_ARGUMENT,
              "malformed request: %s %s" % (e.code(), e.details()))
    s.requests.put(None)
    # The node still answers, on a new stream.
    answer = Stream(ch).ask(list_services="")
    check(len(answer.list_services_response.service) == len(SERVICES),
          "no list after a malformed request")


def scenario_many(ch, args):
    """Several requests before the half-close: every answer, in order, then OK."""
    s = Stream(ch)
    syms = ["inferadb.ledger.v1.Ledger", "ledger.v1.ReadService", "grpc.health.v1.Health"]
    for sym in syms:
        s.send(reflection_pb.Request(file_containing_symbol=sym))
    s.send(reflection_pb.Request(list_services=""))
    rest, code = s.close()
    check(code == grpc.StatusCode.OK, "status %s" % code)
    check(len(rest) == len(syms) + 1, "%d answers to %d requests" % (len(rest), len(syms) + 1))
    for sym, answer in zip(syms, rest):
        check(answer.original_request.file_containing_symbol == sym and
              declares(files_of(answer)[0], sym), "answer out of order for %s" % sym)
    check(rest[-1].HasField("list_services_response"), "last answer: %s" % rest[-1])


def scenario_cancel(ch, args):
    # Cancelled by the client between two requests.
    s = Stream(ch)
    s.ask(list_services="")
    s.call.cancel()
    check(s.call.code() == grpc.StatusCode.CANCELLED, "cancel: %s" % s.call.code())
    s.requests.put(None)
    # The client's deadline passes while the server waits for a request.
    s = Stream(ch, timeout=0.5)
    start = time.monotonic()
    try:
        next(s.call)
        raise Mismatch("a stream without requests was answered")
    except grpc.RpcError as e:
        check(e.code() == grpc.StatusCode.DEADLINE_EXCEEDED, "deadline: %s" % e.code())
    check(time.monotonic() - start < 5, "the deadline took %.1f s" % (time.monotonic() - start))
    s.requests.put(None)
    answer = Stream(ch).ask(list_services="")
    check(answer.HasField("list_services_response"), "no list after cancel and deadline")


def scenario_bounded(ch, args):
    """More idle streams than the unary pool has workers (64): the server
    keeps MAX_STREAMS, refuses the rest, and unary calls go on."""
    n = 70
    streams = [Stream(ch, timeout=60) for _ in range(n)]
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        refused = [x for x in streams if x.call.done()]
        if len(refused) >= n - MAX_STREAMS:
            break
        time.sleep(0.1)
    refused = [x for x in streams if x.call.done()]
    check(len(refused) == n - MAX_STREAMS, "%d of %d idle streams ended, expected %d"
          % (len(refused), n, n - MAX_STREAMS))
    for x in refused:
        check(x.call.code() == grpc.StatusCode.RESOURCE_EXHAUSTED,
              "a refused stream: %s %s" % (x.call.code(), x.call.details()))
    health = ch.unary_unary("/grpc.health.v1.Health/Check", request_serializer=None,
                            response_deserializer=None)
    for _ in range(5):
        t = time.monotonic()
        health(b"", timeout=5)
        check(time.monotonic() - t < 2, "Health/Check took %.1f s with idle streams open"
              % (time.monotonic() - t))
    held = [x for x in streams if not x.call.done()]
    answer = held[0].ask(list_services="")
    check(answer.HasField("list_services_response"), "a held stream does not answer")
    for x in held:
        x.call.cancel()
        x.requests.put(None)
    for x in refused:
        x.requests.put(None)
    # The slots come back once the cancelled streams are gone.
    deadline = time.monotonic() + 10
    while True:
        probe = Stream(ch)
        try:
            probe.ask(list_services="")
            probe.close()
            return
        except grpc.RpcError as e:
            check(e.code() == grpc.StatusCode.RESOURCE_EXHAUSTED, "probe: %s" % e.code())
            check(time.monotonic() < deadline, "slots not freed 10 s after the cancels")
            probe.requests.put(None)
            time.sleep(0.1)


def scenario_idle(ch, args):
    """Against a node started with LEDGERD_REFLECTION_IDLE_MS=500: a stream
    that stops asking is cancelled by the server."""
    s = Stream(ch, timeout=30)
    s.ask(list_services="")
    start = time.monotonic()
    done = threading.Event()
    result = {}

    def wait():
        try:
            result["rest"] = list(s.call)
        except grpc.RpcError as e:
            result["code"] = e.code()
        done.set()
    threading.Thread(target=wait, daemon=True).start()
    check(done.wait(10), "an idle stream still open after 10 s")
    took = time.monotonic() - start
    check(result.get("code") == grpc.StatusCode.DEADLINE_EXCEEDED,
          "idle stream ended with %s" % result)
    check(took >= 0.4, "idle stream ended after %.2f s, before its 0.5 s" % took)
    s.requests.put(None)


def scenario_hold(ch, args):
    """Holds a stream open while the node is stopped (the shell test runs
    it in the background and takes the cluster down): the node must end
    the stream and still stop cleanly."""
    s = Stream(ch, timeout=60)
    s.ask(list_services="")
    print("holding", flush=True)
    try:
        rest = list(s.call)
        raise Mismatch("the stream ended with OK and %d answers while held" % len(rest))
    except grpc.RpcError as e:
        check(e.code() != grpc.StatusCode.DEADLINE_EXCEEDED,
              "the node did not end the held stream within 60 s")
    s.requests.put(None)


SCENARIOS = {name[len("scenario_"):]: fn for name, fn in globals().items()
             if name.startswith("scenario_")}


def main(argv):
    if len(argv) < 2 or argv[0] not in SCENARIOS:
        print("usage: ledgerd_reflection_check.py {%s} ADDR [PROTOSET]"
              % "|".join(sorted(SCENARIOS)), file=sys.stderr)
        return 2
    # Directly, whatever proxy the environment names (CI runners set one).
    with grpc.insecure_channel(argv[1], options=[("grpc.enable_http_proxy", 0)]) as ch:
        try:
            SCENARIOS[argv[0]](ch, argv[1:])
        except Mismatch as e:
            print("FAIL: %s: %s" % (argv[0], e))
            return 1
        except grpc.RpcError as e:
            print("FAIL: %s: unexpected gRPC error %s: %s" % (argv[0], e.code(), e.details()))
            return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
