/* JSON <-> protobuf-c messages, through the generated descriptors.
 *
 * The ledger's services keep their logic on JSON documents (jansson), as
 * they did over HTTP; the gRPC layers on both sides convert at the edge,
 * generically, from the .proto files' descriptors (ledger/proto/).  The
 * JSON is proto3's JSON mapping:
 *   - keys are the proto field names; lowerCamelCase is accepted on input
 *     (grpcurl's -d bodies use it);
 *   - 64-bit integers are JSON integers when they fit, decimal strings
 *     otherwise; both are accepted on input;
 *   - enums by name (numbers accepted on input); bytes as base64;
 *   - google.protobuf.Struct as a JSON object; map<string,string> as an
 *     object; a oneof only with the member that is set.
 * Unknown keys, wrong types and out-of-range numbers are errors, named by
 * their key path. */
#ifndef DR_LEDGER_CLIENT_PBJSON_H
#define DR_LEDGER_CLIENT_PBJSON_H

#include <jansson.h>
#include <protobuf-c/protobuf-c.h>

#include "common/error.h"

/* Every field on output, zero values included and absent messages as null
 * (what the JSON services answered over HTTP).  Without it, proto3's rule:
 * fields at their zero value are left out. */
#define PBJSON_EMIT_DEFAULTS 0x1u

/* A new message of type d from the JSON object j.  0 with *out (free with
 * protobuf_c_message_free_unpacked(*out, NULL)); -1 with err naming the
 * offending key, *out NULL. */
int pbjson_to_message(ProtobufCMessage **out, const ProtobufCMessageDescriptor *d, const json_t *j,
		      struct dr_error *err);

/* The JSON object of m (new reference). */
json_t *pbjson_from_message(const ProtobufCMessage *m, unsigned flags);

/* Serialize j as a message of type d into a heap buffer (*data, *len; free
 * it).  0, or -1 with err. */
int pbjson_pack(void **data, size_t *len, const ProtobufCMessageDescriptor *d, const json_t *j,
		struct dr_error *err);
/* Parse bytes as a message of type d into JSON.  0 with *out, or -1 with
 * err when the bytes are not such a message. */
int pbjson_unpack(json_t **out, const ProtobufCMessageDescriptor *d, const void *data, size_t len,
		  unsigned flags, struct dr_error *err);

#endif
