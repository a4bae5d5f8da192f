/* One raw unary gRPC call (tests/support/grpc_raw.h). */
#include "tests/support/grpc_raw.h"

#include <stdlib.h>
#include <string.h>

#include <grpc/byte_buffer.h>
#include <grpc/byte_buffer_reader.h>
#include <grpc/grpc.h>
#include <grpc/grpc_security.h>
#include <grpc/support/alloc.h>
#include <grpc/support/time.h>

#include "common/strbuf.h"

static int slice_is(grpc_slice s, const char *text)
{
	size_t n = strlen(text);

	return GRPC_SLICE_LENGTH(s) == n && memcmp(GRPC_SLICE_START_PTR(s), text, n) == 0;
}

static void slice_copy(char *buf, size_t len, grpc_slice s)
{
	size_t n = GRPC_SLICE_LENGTH(s);

	if (n >= len)
		n = len - 1;
	memcpy(buf, GRPC_SLICE_START_PTR(s), n);
	buf[n] = '\0';
}

static unsigned char *slice_dup(size_t *len, grpc_slice s)
{
	unsigned char *p = xmalloc(GRPC_SLICE_LENGTH(s) + 1);

	memcpy(p, GRPC_SLICE_START_PTR(s), GRPC_SLICE_LENGTH(s));
	*len = GRPC_SLICE_LENGTH(s);
	return p;
}

int grpc_raw_call(struct grpc_raw_result *out, const char *address, const char *path,
		  const void *req, size_t len, const struct grpc_raw_opts *opts)
{
	static const struct grpc_raw_opts defaults = GRPC_RAW_OPTS_INIT;
	grpc_arg args[] = {
		{ GRPC_ARG_INTEGER, (char *)GRPC_ARG_ENABLE_HTTP_PROXY, { .integer = 0 } },
		{ GRPC_ARG_INTEGER, (char *)GRPC_ARG_ENABLE_RETRIES, { .integer = 0 } },
		/* Room for a test's oversized requests: the server's own limit
		 * is what is under test. */
		{ GRPC_ARG_INTEGER, (char *)GRPC_ARG_MAX_SEND_MESSAGE_LENGTH, { .integer = -1 } },
		{ GRPC_ARG_INTEGER, (char *)GRPC_ARG_MAX_RECEIVE_MESSAGE_LENGTH, { .integer = -1 } },
		{ GRPC_ARG_INTEGER, (char *)GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, { .integer = 1 } },
	};
	grpc_channel_args cargs = { sizeof(args) / sizeof(args[0]), args };
	grpc_channel_credentials *creds;
	grpc_channel *ch;
	grpc_completion_queue *cq;
	grpc_call *call;
	grpc_metadata md[1];
	grpc_metadata_array initial, trailing;
	grpc_byte_buffer *send_bb, *recv_bb = NULL;
	grpc_status_code status = GRPC_STATUS_UNKNOWN;
	grpc_slice details = grpc_empty_slice(), payload, method;
	gpr_timespec deadline;
	grpc_op ops[6];
	size_t nmd = 0;
	int rc = 0;

	memset(out, 0, sizeof(*out));
	if (!opts)
		opts = &defaults;
	if (opts->use_proxy_env)
		args[0].value.integer = 1;
	grpc_init();
	creds = grpc_insecure_credentials_create();
	ch = grpc_channel_create(address, creds, &cargs);
	grpc_channel_credentials_release(creds);
	cq = grpc_completion_queue_create_for_pluck(NULL);
	deadline = gpr_time_add(gpr_now(GPR_CLOCK_MONOTONIC),
				gpr_time_from_nanos(opts->timeout_ns, GPR_TIMESPAN));
	method = grpc_slice_from_copied_string(path);
	call = grpc_channel_create_call(ch, NULL, GRPC_PROPAGATE_DEFAULTS, cq, method, NULL, deadline,
					NULL);
	grpc_slice_unref(method);
	payload = grpc_slice_from_copied_buffer(req ? req : "", len);
	send_bb = grpc_raw_byte_buffer_create(&payload, 1);
	grpc_slice_unref(payload);
	if (opts->authorization) {
		md[0].key = grpc_slice_from_static_string("authorization");
		md[0].value = grpc_slice_from_copied_string(opts->authorization);
		nmd = 1;
	}
	grpc_metadata_array_init(&initial);
	grpc_metadata_array_init(&trailing);
	memset(ops, 0, sizeof(ops));
	ops[0].op = GRPC_OP_SEND_INITIAL_METADATA;
	ops[0].data.send_initial_metadata.count = nmd;
	ops[0].data.send_initial_metadata.metadata = nmd ? md : NULL;
	ops[1].op = GRPC_OP_SEND_MESSAGE;
	ops[1].data.send_message.send_message = send_bb;
	ops[2].op = GRPC_OP_SEND_CLOSE_FROM_CLIENT;
	ops[3].op = GRPC_OP_RECV_INITIAL_METADATA;
	ops[3].data.recv_initial_metadata.recv_initial_metadata = &initial;
	ops[4].op = GRPC_OP_RECV_MESSAGE;
	ops[4].data.recv_message.recv_message = &recv_bb;
	ops[5].op = GRPC_OP_RECV_STATUS_ON_CLIENT;
	ops[5].data.recv_status_on_client.trailing_metadata = &trailing;
	ops[5].data.recv_status_on_client.status = &status;
	ops[5].data.recv_status_on_client.status_details = &details;
	if (grpc_call_start_batch(call, ops, 6, (void *)1, NULL) != GRPC_CALL_OK)
		rc = -1;
	else
		grpc_completion_queue_pluck(cq, (void *)1, gpr_inf_future(GPR_CLOCK_REALTIME), NULL);
	out->status = (int)status;
	slice_copy(out->message, sizeof(out->message), details);
	for (size_t i = 0; i < trailing.count; i++) {
		if (slice_is(trailing.metadata[i].key, "ledger-code"))
			slice_copy(out->ledger_code, sizeof(out->ledger_code), trailing.metadata[i].value);
		else if (slice_is(trailing.metadata[i].key, "grpc-status-details-bin"))
			out->details = slice_dup(&out->details_len, trailing.metadata[i].value);
	}
	if (recv_bb) {
		grpc_byte_buffer_reader reader;

		if (grpc_byte_buffer_reader_init(&reader, recv_bb)) {
			grpc_slice all = grpc_byte_buffer_reader_readall(&reader);

			out->answer = slice_dup(&out->answer_len, all);
			grpc_slice_unref(all);
			grpc_byte_buffer_reader_destroy(&reader);
		}
		grpc_byte_buffer_destroy(recv_bb);
	}
	for (size_t i = 0; i < nmd; i++)
		grpc_slice_unref(md[i].value);
	grpc_metadata_array_destroy(&initial);
	grpc_metadata_array_destroy(&trailing);
	grpc_slice_unref(details);
	grpc_byte_buffer_destroy(send_bb);
	grpc_call_unref(call);
	grpc_completion_queue_shutdown(cq);
	while (grpc_completion_queue_pluck(cq, NULL, gpr_inf_future(GPR_CLOCK_REALTIME), NULL).type !=
	       GRPC_QUEUE_SHUTDOWN)
		;
	grpc_completion_queue_destroy(cq);
	grpc_channel_destroy(ch);
	grpc_shutdown();
	return rc;
}

void grpc_raw_result_release(struct grpc_raw_result *r)
{
	free(r->details);
	free(r->answer);
	r->details = r->answer = NULL;
}

const char *grpc_raw_status_name(int status)
{
	static const char *const names[] = { "OK", "CANCELLED", "UNKNOWN", "INVALID_ARGUMENT",
		"DEADLINE_EXCEEDED", "NOT_FOUND", "ALREADY_EXISTS", "PERMISSION_DENIED",
		"RESOURCE_EXHAUSTED", "FAILED_PRECONDITION", "ABORTED", "OUT_OF_RANGE",
		"UNIMPLEMENTED", "INTERNAL", "UNAVAILABLE", "DATA_LOSS", "UNAUTHENTICATED" };

	return status >= 0 && status < (int)(sizeof(names) / sizeof(names[0])) ? names[status] : "?";
}
