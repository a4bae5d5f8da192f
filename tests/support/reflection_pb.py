"""The messages of gRPC's server reflection protocol
(grpc.reflection.v1alpha, gRPC's src/proto/grpc/reflection/v1alpha/
reflection.proto) as Python classes, for the test clients in this folder.

Debian ships no grpcio-reflection, and a reflection client must know this
protocol before it can learn anything else, as grpcurl has it compiled in.
So the file's descriptor is written out here, field by field as gRPC
defines it; it is kept apart from ledger/proto so a mistake in the
server's copy cannot hide behind the same mistake in the client's (it was
checked equal to the descriptor compiled into Debian's
libgrpc++_reflection.so.1.51).
"""

from google.protobuf import descriptor_pb2, descriptor_pool, message_factory, text_format

METHOD = "/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo"

_FILE = """
name: "reflection_pb/grpc/reflection/v1alpha/reflection.proto"
package: "grpc.reflection.v1alpha"
syntax: "proto3"
message_type {
  name: "ServerReflectionRequest"
  field { name: "host" number: 1 label: LABEL_OPTIONAL type: TYPE_STRING }
  field { name: "file_by_filename" number: 3 label: LABEL_OPTIONAL type: TYPE_STRING
          oneof_index: 0 }
  field { name: "file_containing_symbol" number: 4 label: LABEL_OPTIONAL type: TYPE_STRING
          oneof_index: 0 }
  field { name: "file_containing_extension" number: 5 label: LABEL_OPTIONAL type: TYPE_MESSAGE
          type_name: ".grpc.reflection.v1alpha.ExtensionRequest" oneof_index: 0 }
  field { name: "all_extension_numbers_of_type" number: 6 label: LABEL_OPTIONAL
          type: TYPE_STRING oneof_index: 0 }
  field { name: "list_services" number: 7 label: LABEL_OPTIONAL type: TYPE_STRING
          oneof_index: 0 }
  oneof_decl { name: "message_request" }
}
message_type {
  name: "ExtensionRequest"
  field { name: "containing_type" number: 1 label: LABEL_OPTIONAL type: TYPE_STRING }
  field { name: "extension_number" number: 2 label: LABEL_OPTIONAL type: TYPE_INT32 }
}
message_type {
  name: "ServerReflectionResponse"
  field { name: "valid_host" number: 1 label: LABEL_OPTIONAL type: TYPE_STRING }
  field { name: "original_request" number: 2 label: LABEL_OPTIONAL type: TYPE_MESSAGE
          type_name: ".grpc.reflection.v1alpha.ServerReflectionRequest" }
  field { name: "file_descriptor_response" number: 4 label: LABEL_OPTIONAL type: TYPE_MESSAGE
          type_name: ".grpc.reflection.v1alpha.FileDescriptorResponse" oneof_index: 0 }
  field { name: "all_extension_numbers_response" number: 5 label: LABEL_OPTIONAL
          type: TYPE_MESSAGE type_name: ".grpc.reflection.v1alpha.ExtensionNumberResponse"
          oneof_index: 0 }
  field { name: "list_services_response" number: 6 label: LABEL_OPTIONAL type: TYPE_MESSAGE
          type_name: ".grpc.reflection.v1alpha.ListServiceResponse" oneof_index: 0 }
  field { name: "error_response" number: 7 label: LABEL_OPTIONAL type: TYPE_MESSAGE
          type_name: ".grpc.reflection.v1alpha.ErrorResponse" oneof_index: 0 }
  oneof_decl { name: "message_response" }
}
message_type {
  name: "FileDescriptorResponse"
  field { name: "file_descriptor_proto" number: 1 label: LABEL_REPEATED type: TYPE_BYTES }
}
message_type {
  name: "ExtensionNumberResponse"
  field { name: "base_type_name" number: 1 label: LABEL_OPTIONAL type: TYPE_STRING }
  field { name: "extension_number" number: 2 label: LABEL_REPEATED type: TYPE_INT32 }
}
message_type {
  name: "ListServiceResponse"
  field { name: "service" number: 1 label: LABEL_REPEATED type: TYPE_MESSAGE
          type_name: ".grpc.reflection.v1alpha.ServiceResponse" }
}
message_type {
  name: "ServiceResponse"
  field { name: "name" number: 1 label: LABEL_OPTIONAL type: TYPE_STRING }
}
message_type {
  name: "ErrorResponse"
  field { name: "error_code" number: 1 label: LABEL_OPTIONAL type: TYPE_INT32 }
  field { name: "error_message" number: 2 label: LABEL_OPTIONAL type: TYPE_STRING }
}
service {
  name: "ServerReflection"
  method { name: "ServerReflectionInfo"
           input_type: ".grpc.reflection.v1alpha.ServerReflectionRequest"
           output_type: ".grpc.reflection.v1alpha.ServerReflectionResponse"
           client_streaming: true server_streaming: true }
}
"""

FILE = text_format.Parse(_FILE, descriptor_pb2.FileDescriptorProto())
_pool = descriptor_pool.DescriptorPool()
_pool.Add(FILE)


def message_class(pool, name):
    """The class of message type name in pool (protobuf 3.x and 4.x)."""
    desc = pool.FindMessageTypeByName(name)
    if hasattr(message_factory, "GetMessageClass"):
        return message_factory.GetMessageClass(desc)
    return message_factory.MessageFactory(pool).GetPrototype(desc)


Request = message_class(_pool, "grpc.reflection.v1alpha.ServerReflectionRequest")
Response = message_class(_pool, "grpc.reflection.v1alpha.ServerReflectionResponse")
ExtensionRequest = message_class(_pool, "grpc.reflection.v1alpha.ExtensionRequest")
