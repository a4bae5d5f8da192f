/* The ledger's protocol as protoc compiled it: the FileDescriptorSet of
 * every file under ledger/proto and of the files they import
 * (build/gen/ledger.protoset, protoc --include_imports), compiled into the
 * program by the Makefile (build/gen/ledger_protoset.c).  ledgerd serves
 * these bytes by server reflection (ledger/daemon/reflection.h). */
#ifndef DR_LEDGER_PROTO_PROTOSET_H
#define DR_LEDGER_PROTO_PROTOSET_H

#include <stddef.h>

extern const unsigned char ledger_protoset[];
extern const size_t ledger_protoset_len;

#endif
