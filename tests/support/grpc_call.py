#!/usr/bin/python3
"""A small grpcurl for tests, on Debian's python3-grpcio: it knows nothing
of the server's protocol and learns everything through server reflection
(grpc.reflection.v1alpha), as grpcurl does without -proto files.

    grpc_call.py [-plaintext] [-H 'key: value']... [-d JSON|@] [-max-time S] ADDR list [SERVICE]
    grpc_call.py [options] ADDR describe [SYMBOL]
    grpc_call.py [options] ADDR SERVICE/METHOD

list        the services (sorted), or the methods of SERVICE
describe    a service, method, message or enum in .proto syntax (grpcurl's
            layout); every service without SYMBOL
SVC/METHOD  call a unary or server-streaming method with the request given
            as proto3 JSON by -d (`@`: read stdin; none: {}), and print each
            answer as proto3 JSON with the .proto field names

The channel ignores http_proxy and the like (the nodes are on loopback).
-H adds request metadata (to the reflection stream and to the call, like
grpcurl's -H); -max-time bounds the whole run (30 s by default, unlike
grpcurl, so a test never hangs); -plaintext is accepted for copied grpcurl
command lines (there is no TLS here).

Exit status: 0 when the call (or listing) succeeded; 1 on any gRPC error,
printed to stderr the way grpcurl prints it:

    ERROR:
      Code: InvalidArgument
      Message: client_id must be 1..256 bytes

(a reflection answer "not found" is Code: NotFound); 2 on usage errors.
"""

import argparse
import os
import queue
import signal
import sys
import time

import grpc
from google.protobuf import descriptor, descriptor_pb2, descriptor_pool, json_format

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
sys.dont_write_bytecode = True  # no __pycache__ in the source tree
import reflection_pb  # noqa: E402  (this folder)

# grpcurl prints Go's names of the codes.
CODE_NAMES = {
    0: "OK", 1: "Canceled", 2: "Unknown", 3: "InvalidArgument", 4: "DeadlineExceeded",
    5: "NotFound", 6: "AlreadyExists", 7: "PermissionDenied", 8: "ResourceExhausted",
    9: "FailedPrecondition", 10: "Aborted", 11: "OutOfRange", 12: "Unimplemented",
    13: "Internal", 14: "Unavailable", 15: "DataLoss", 16: "Unauthenticated",
}


# The ledger is dialled directly: a proxy from the environment (CI runners
# set one) cannot reach a node on loopback.
NO_PROXY = [("grpc.enable_http_proxy", 0)]


class CallError(Exception):
    """A gRPC error: a status code (number) and its message."""

    def __init__(self, code, message):
        super().__init__(message)
        self.code = code
        self.message = message

    @classmethod
    def of(cls, rpc_error):
        code = rpc_error.code()
        return cls(code.value[0] if code else 2, rpc_error.details() or "")


class Reflection:
    """One reflection stream, and a descriptor pool built from nothing but
    the FileDescriptorProtos it answers."""

    def __init__(self, channel, metadata, deadline):
        self._requests = queue.Queue()
        rpc = channel.stream_stream(reflection_pb.METHOD,
                                    request_serializer=lambda m: m.SerializeToString(),
                                    response_deserializer=reflection_pb.Response.FromString)
        self._answers = rpc(iter(self._requests.get, None), metadata=metadata,
                            timeout=max(deadline - time.monotonic(), 0.1))
        self.files = {}
        self._added = set()
        self.pool = descriptor_pool.DescriptorPool()

    def ask(self, **fields):
        self._requests.put(reflection_pb.Request(**fields))
        try:
            answer = next(self._answers)
        except grpc.RpcError as e:
            raise CallError.of(e) from None
        except StopIteration:
            raise CallError(2, "the reflection stream ended without an answer") from None
        if answer.HasField("error_response"):
            raise CallError(answer.error_response.error_code,
                            answer.error_response.error_message)
        return answer

    def close(self):
        """Half-close, then read the stream to its end (its status)."""
        self._requests.put(None)
        try:
            for _ in self._answers:
                pass
        except grpc.RpcError:
            pass

    def services(self):
        answer = self.ask(list_services="")
        return sorted(s.name for s in answer.list_services_response.service)

    def _take(self, answer):
        """Keep every file of a file_descriptor_response; the first one's name."""
        names = []
        for blob in answer.file_descriptor_response.file_descriptor_proto:
            fd = descriptor_pb2.FileDescriptorProto.FromString(blob)
            self.files.setdefault(fd.name, fd)
            names.append(fd.name)
        if not names:
            raise CallError(2, "the server answered no file")
        return names[0]

    def _add(self, name):
        """Add file name to the pool, its imports first (asked for by name
        when an answer did not bring them)."""
        if name in self._added:
            return
        if name not in self.files:
            self._take(self.ask(file_by_filename=name))
        fd = self.files[name]
        for dep in fd.dependency:
            self._add(dep)
        self.pool.Add(fd)
        self._added.add(name)

    def resolve(self, symbol):
        """Load the file that declares symbol (and its imports) into the pool."""
        self._add(self._take(self.ask(file_containing_symbol=symbol)))


def message_class(pool, desc):
    return reflection_pb.message_class(pool, desc.full_name)


def describe(pool, symbol):
    """symbol in grpcurl's `describe` layout."""
    for find, kind, show in ((pool.FindServiceByName, "a service", show_service),
                             (pool.FindMessageTypeByName, "a message", show_message),
                             (pool.FindEnumTypeByName, "an enum", show_enum),
                             (pool.FindMethodByName, "a method", show_method)):
        try:
            d = find(symbol)
        except KeyError:
            continue
        return "%s is %s:\n%s" % (symbol, kind, "\n".join(show(d, "")))
    raise CallError(5, "symbol '%s' is no service, message, enum or method" % symbol)


def show_method(m, indent):
    return ["%srpc %s ( %s.%s ) returns ( %s.%s );" % (
        indent, m.name, "stream " if m.client_streaming else "", m.input_type.full_name,
        "stream " if m.server_streaming else "", m.output_type.full_name)]


def show_service(s, indent):
    lines = ["%sservice %s {" % (indent, s.name)]
    for m in s.methods:
        lines += show_method(m, indent + "  ")
    return lines + [indent + "}"]


SCALARS = {v: k[len("TYPE_"):].lower() for k, v in vars(descriptor.FieldDescriptor).items()
           if k.startswith("TYPE_")}


def field_line(f, indent):
    if f.type in (f.TYPE_MESSAGE, f.TYPE_ENUM):
        t = "." + (f.message_type or f.enum_type).full_name
    else:
        t = SCALARS[f.type]
    if f.message_type and f.message_type.GetOptions().map_entry:
        k, v = f.message_type.fields_by_name["key"], f.message_type.fields_by_name["value"]
        t = "map<%s, %s>" % (field_line(k, "").split()[0], field_line(v, "").split()[0])
    elif f.label == f.LABEL_REPEATED:
        t = "repeated " + t
    return "%s%s %s = %d;" % (indent, t, f.name, f.number)


def show_message(m, indent):
    lines = ["%smessage %s {" % (indent, m.name)]
    inner = indent + "  "
    done = set()
    for f in m.fields:
        o = f.containing_oneof
        if o is None:
            lines.append(field_line(f, inner))
        elif o.name not in done:
            done.add(o.name)
            lines.append("%soneof %s {" % (inner, o.name))
            lines += [field_line(x, inner + "  ") for x in o.fields]
            lines.append(inner + "}")
    for n in m.nested_types:
        if not n.GetOptions().map_entry:
            lines += show_message(n, inner)
    for e in m.enum_types:
        lines += show_enum(e, inner)
    return lines + [indent + "}"]


def show_enum(e, indent):
    return (["%senum %s {" % (indent, e.name)] +
            ["%s  %s = %d;" % (indent, v.name, v.number) for v in e.values] + [indent + "}"])


def call(channel, refl, target, data, metadata, deadline, emit_defaults=False):
    if "/" in target:
        service, method = target.rsplit("/", 1)
    else:
        service, _, method = target.rpartition(".")
    if not service or not method:
        raise CallError(3, "'%s' is not SERVICE/METHOD" % target)
    refl.resolve(service)
    try:
        sd = refl.pool.FindServiceByName(service)
    except KeyError:
        raise CallError(5, "the server has no service '%s'" % service) from None
    md = sd.methods_by_name.get(method)
    if md is None:
        raise CallError(5, "service '%s' has no method '%s'" % (service, method))
    if md.client_streaming:
        raise CallError(12, "client-streaming methods are not supported here")
    request = message_class(refl.pool, md.input_type)()
    try:
        json_format.Parse(data or "{}", request, descriptor_pool=refl.pool)
    except json_format.ParseError as e:
        raise CallError(3, "bad request JSON for %s: %s" % (md.input_type.full_name, e)) \
            from None
    answer_cls = message_class(refl.pool, md.output_type)
    refl.close()
    kind = channel.unary_stream if md.server_streaming else channel.unary_unary
    rpc = kind("/%s/%s" % (service, method), request_serializer=lambda m: m.SerializeToString(),
               response_deserializer=answer_cls.FromString)
    timeout = max(deadline - time.monotonic(), 0.1)
    try:
        answers = rpc(request, metadata=metadata, timeout=timeout)
        for answer in (answers if md.server_streaming else [answers]):
            print(json_format.MessageToJson(answer, preserving_proto_field_name=True,
                                            including_default_value_fields=emit_defaults,
                                            descriptor_pool=refl.pool, ensure_ascii=False))
    except grpc.RpcError as e:
        raise CallError.of(e) from None


def parse_args(argv):
    usage = "\n  ".join(line.strip() for line in __doc__.split("\n\n")[1].splitlines())
    p = argparse.ArgumentParser(prog="grpc_call.py", usage=usage)
    p.add_argument("-plaintext", action="store_true")
    p.add_argument("-H", dest="headers", action="append", default=[])
    p.add_argument("-d", dest="data")
    p.add_argument("-max-time", dest="max_time", type=float, default=30.0)
    p.add_argument("-emit-defaults", dest="emit_defaults", action="store_true")
    p.add_argument("addr")
    p.add_argument("verb")
    p.add_argument("arg", nargs="?")
    args = p.parse_args(argv)
    metadata = []
    for h in args.headers:
        key, sep, value = h.partition(":")
        if not sep or not key.strip():
            p.error("-H wants 'key: value', not '%s'" % h)
        metadata.append((key.strip().lower(), value.strip()))
    args.metadata = metadata
    if args.data == "@":
        args.data = sys.stdin.read()
    return args


def main(argv):
    args = parse_args(argv)
    deadline = time.monotonic() + args.max_time
    channel = grpc.insecure_channel(args.addr, options=NO_PROXY)
    refl = Reflection(channel, args.metadata, deadline)
    try:
        if args.verb == "list":
            if args.arg:
                refl.resolve(args.arg)
                try:
                    methods = refl.pool.FindServiceByName(args.arg).methods
                except KeyError:
                    raise CallError(5, "'%s' is not a service" % args.arg) from None
                names = ["%s.%s" % (args.arg, m.name) for m in methods]
            else:
                names = refl.services()
            print("\n".join(sorted(names)))
        elif args.verb == "describe":
            symbols = [args.arg] if args.arg else refl.services()
            for s in symbols:
                refl.resolve(s)
                print(describe(refl.pool, s))
        else:
            if args.arg:
                print("grpc_call.py: unexpected argument '%s'" % args.arg, file=sys.stderr)
                return 2
            call(channel, refl, args.verb, args.data, args.metadata, deadline,
                 args.emit_defaults)
        return 0
    except CallError as e:
        print("ERROR:\n  Code: %s\n  Message: %s" % (CODE_NAMES.get(e.code, str(e.code)),
                                                    e.message), file=sys.stderr)
        return 1
    finally:
        refl.close()
        channel.close()


if __name__ == "__main__":
    signal.signal(signal.SIGPIPE, signal.SIG_DFL)  # `| head` ends us quietly
    sys.exit(main(sys.argv[1:]))
