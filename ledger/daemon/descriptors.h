/* The proto files ledgerd describes by server reflection: protoc's
 * FileDescriptorSet of ledger/proto (ledger/proto/protoset.h) split into
 * each file's serialized FileDescriptorProto, byte for byte as protoc wrote
 * it, with lookups by file name, by symbol and by extension.
 *
 * Names are fully qualified without the leading dot
 * ("ledger.v1.WriteService", "inferadb.ledger.v1.Admin.GetClusterStatus").
 * An index is read-only once loaded: any number of threads may look up. */
#ifndef DR_LEDGER_DAEMON_DESCRIPTORS_H
#define DR_LEDGER_DAEMON_DESCRIPTORS_H

#include <stddef.h>
#include <stdint.h>

#include "common/error.h"
#include "google/protobuf/descriptor.pb-c.h"

struct ledgerd_proto_file {
	const char *name;        /* "inferadb/ledger/v1/ledger.proto" (in fd) */
	const uint8_t *data;     /* its FileDescriptorProto as protoc serialized it */
	size_t len;              /*   (points into the set given to _load) */
	Google__Protobuf__FileDescriptorProto *fd; /* the same, unpacked (owned) */
};

struct ledgerd_descriptors {
	struct ledgerd_proto_file *files;  /* in the set's order: imports first */
	size_t n;
};

#define LEDGERD_DESCRIPTORS_INIT { NULL, 0 }

/* Index the serialized FileDescriptorSet set[0..len), which must outlive the
 * index (files point into it).  -1 with err set when it does not parse;
 * *out is then empty. */
int ledgerd_descriptors_load(struct ledgerd_descriptors *out, const uint8_t *set, size_t len,
			     struct dr_error *err);
void ledgerd_descriptors_release(struct ledgerd_descriptors *d);

/* The file named name ("ledger/v1/ledger.proto"), or NULL. */
const struct ledgerd_proto_file *ledgerd_descriptors_file(const struct ledgerd_descriptors *d,
							  const char *name);

/* The file that declares symbol: a service, a method, a message (nested
 * ones too), a field, a oneof, an enum, an enum value or an extension.
 * NULL when no file does. */
const struct ledgerd_proto_file *ledgerd_descriptors_symbol(const struct ledgerd_descriptors *d,
							    const char *symbol);

/* Whether symbol names a message type. */
int ledgerd_descriptors_is_message(const struct ledgerd_descriptors *d, const char *symbol);

/* The file that declares extension number of message type extendee, or NULL. */
const struct ledgerd_proto_file *ledgerd_descriptors_extension(const struct ledgerd_descriptors *d,
							       const char *extendee, int32_t number);

/* The numbers of every extension of message type extendee, up to max into
 * out; returns how many there are (may exceed max). */
size_t ledgerd_descriptors_extension_numbers(const struct ledgerd_descriptors *d,
					     const char *extendee, int32_t *out, size_t max);

/* f and every file it imports, directly or not, each once, f first (the
 * order reflection clients expect), into out (room for d->n entries).
 * Returns how many. */
size_t ledgerd_descriptors_closure(const struct ledgerd_proto_file **out,
				   const struct ledgerd_descriptors *d,
				   const struct ledgerd_proto_file *f);

#endif
