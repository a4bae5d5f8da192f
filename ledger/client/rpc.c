/* One unary gRPC call to a ledger node (ledger/client/rpc.h). */
#include "ledger/client/rpc.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <grpc/byte_buffer.h>
#include <grpc/byte_buffer_reader.h>
#include <grpc/grpc.h>
#include <grpc/grpc_security.h>
#include <grpc/support/alloc.h>
#include <grpc/support/time.h>

#include "common/clock.h"
#include "common/numparse.h"
#include "common/strbuf.h"
#include "ledger/client/methods.h"
#include "ledger/client/pbjson.h"
#include "ledger/v1/ledger.pb-c.h"

/* Reconnect quickly after a node comes back: gRPC's defaults (1 s,
 * growing to 120 s) would hide the moment a failover ended. */
#define RECONNECT_INITIAL_MS 5
#define RECONNECT_MIN_MS 5
#define RECONNECT_MAX_MS 100
/* A Read page of 10000 entries of 512 KiB each would not fit anyway; this
 * bounds what a misbehaving node can make us allocate. */
#define MAX_ANSWER_BYTES (64 * 1024 * 1024)

struct ledger_channel {
	grpc_channel *channel;
	char *address;
};

static pthread_once_t init_once = PTHREAD_ONCE_INIT;
static atomic_int grpc_started;

static void init_grpc(void)
{
	grpc_init();
	atomic_store(&grpc_started, 1);
}

int ledger_channel_open(struct ledger_channel **out, const char *address, struct dr_error *err)
{
	grpc_arg args[] = {
		{ GRPC_ARG_INTEGER, (char *)GRPC_ARG_INITIAL_RECONNECT_BACKOFF_MS,
		  { .integer = RECONNECT_INITIAL_MS } },
		{ GRPC_ARG_INTEGER, (char *)GRPC_ARG_MIN_RECONNECT_BACKOFF_MS,
		  { .integer = RECONNECT_MIN_MS } },
		{ GRPC_ARG_INTEGER, (char *)GRPC_ARG_MAX_RECONNECT_BACKOFF_MS,
		  { .integer = RECONNECT_MAX_MS } },
		{ GRPC_ARG_INTEGER, (char *)GRPC_ARG_ENABLE_RETRIES, { .integer = 0 } },
		/* A channel whose connects were refused re-resolves its address
		 * before it tries again, and the resolver waits 30 s between
		 * resolutions by default: a node back from a restart was found
		 * only ~4.4 s later (measured), which a drill would have counted
		 * as outage. */
		{ GRPC_ARG_INTEGER, (char *)GRPC_ARG_DNS_MIN_TIME_BETWEEN_RESOLUTIONS_MS,
		  { .integer = RECONNECT_MIN_MS } },
		{ GRPC_ARG_INTEGER, (char *)GRPC_ARG_ENABLE_HTTP_PROXY, { .integer = 0 } },
		{ GRPC_ARG_INTEGER, (char *)GRPC_ARG_MAX_RECEIVE_MESSAGE_LENGTH,
		  { .integer = MAX_ANSWER_BYTES } },
		/* Each client its own connection, as a separate process would
		 * have: threads of a benchmark do not share one socket. */
		{ GRPC_ARG_INTEGER, (char *)GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, { .integer = 1 } },
	};
	grpc_channel_args cargs = { sizeof(args) / sizeof(args[0]), args };
	grpc_channel_credentials *creds;
	struct ledger_channel *ch;
	const char *target = address;

	*out = NULL;
	if (!address || !*address)
		return dr_error_set(err, "no ledger address");
	if (strncmp(target, "http://", 7) == 0)
		target += 7;
	pthread_once(&init_once, init_grpc);
	creds = grpc_insecure_credentials_create();
	ch = xcalloc(1, sizeof(*ch));
	ch->address = xstrdup(target);
	ch->channel = grpc_channel_create(ch->address, creds, &cargs);
	grpc_channel_credentials_release(creds);
	if (!ch->channel) {
		free(ch->address);
		free(ch);
		return dr_error_set(err, "cannot create a gRPC channel to '%s'", address);
	}
	*out = ch;
	return 0;
}

void ledger_channel_close(struct ledger_channel *ch)
{
	if (!ch)
		return;
	grpc_channel_destroy(ch->channel);
	free(ch->address);
	free(ch);
}

const char *ledger_channel_address(const struct ledger_channel *ch)
{
	return ch->address;
}

void ledger_rpc_shutdown(void)
{
	/* A program that never opened a channel never started gRPC: do not
	 * start it only to stop it. */
	if (atomic_exchange(&grpc_started, 0))
		grpc_shutdown();
}

void ledger_rpc_result_release(struct ledger_rpc_result *res)
{
	json_decref(res->body);
	res->body = NULL;
}

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

/* The leader hint of a NOT_LEADER answer: ledger.v1.ErrorDetails in
 * grpc-status-details-bin, as the public ledger sends it. */
static void read_details(struct ledger_rpc_result *res, grpc_slice bin)
{
	struct dr_error err = DR_ERROR_INIT;
	json_t *d = NULL, *ctx;

	if (pbjson_unpack(&d, &ledger__v1__error_details__descriptor, GRPC_SLICE_START_PTR(bin),
			  GRPC_SLICE_LENGTH(bin), 0, &err) != 0)
		return;
	ctx = json_object_get(d, "context");
	if (json_string_value(json_object_get(ctx, "leader_endpoint")))
		str_copy(res->leader, sizeof(res->leader),
			 json_string_value(json_object_get(ctx, "leader_endpoint")));
	if (json_string_value(json_object_get(ctx, "leader_id")))
		parse_uint64(&res->leader_id, json_string_value(json_object_get(ctx, "leader_id")), 0,
			     UINT64_MAX);
	if (json_string_value(json_object_get(ctx, "leader_term")))
		parse_uint64(&res->leader_term, json_string_value(json_object_get(ctx, "leader_term")), 0,
			     UINT64_MAX);
	json_decref(d);
}

static void read_trailers(struct ledger_rpc_result *res, const grpc_metadata_array *md)
{
	for (size_t i = 0; i < md->count; i++) {
		char value[64];

		if (slice_is(md->metadata[i].key, "ledger-code")) {
			slice_copy(value, sizeof(value), md->metadata[i].value);
			res->code = ledger_code_parse(value);
		} else if (slice_is(md->metadata[i].key, "grpc-status-details-bin")) {
			read_details(res, md->metadata[i].value);
		}
	}
}

/* A call no node answered: was the request provably never sent?  Only when
 * no connection could be made, as gRPC's own error string says; anything
 * else may have reached the node.  A status that came from a peer (a proxy
 * in front of a node, a server going away) proves the request reached
 * something, whatever its message says ("... Connection refused" from an
 * upstream), so the status message is never read here. */
static int never_sent(const char *error_string)
{
	static const char *const refused[] = {
		"failed to connect", "Failed to connect", "Connection refused",
		"connections to all backends failing", "No route to host",
		"Network is unreachable", "DNS resolution failed",
	};

	if (!error_string || strstr(error_string, "Error received from peer"))
		return 0;
	for (size_t i = 0; i < sizeof(refused) / sizeof(refused[0]); i++)
		if (strstr(error_string, refused[i]))
			return 1;
	return 0;
}

static int answer_json(struct ledger_rpc_result *res, const ProtobufCMessageDescriptor *d,
		       grpc_byte_buffer *bb, unsigned flags)
{
	struct dr_error err = DR_ERROR_INIT;
	grpc_byte_buffer_reader reader;
	grpc_slice all;
	int rc;

	if (!bb) {
		snprintf(res->message, sizeof(res->message), "the node answered OK without a message");
		return -1;
	}
	if (!grpc_byte_buffer_reader_init(&reader, bb))
		return -1;
	all = grpc_byte_buffer_reader_readall(&reader);
	grpc_byte_buffer_reader_destroy(&reader);
	rc = pbjson_unpack(&res->body, d, GRPC_SLICE_START_PTR(all), GRPC_SLICE_LENGTH(all), flags,
			   &err);
	grpc_slice_unref(all);
	if (rc != 0)
		snprintf(res->message, sizeof(res->message), "%.500s", err.msg);
	return rc;
}

static void drain(grpc_completion_queue *cq)
{
	grpc_completion_queue_shutdown(cq);
	while (grpc_completion_queue_pluck(cq, NULL, gpr_inf_future(GPR_CLOCK_REALTIME), NULL).type !=
	       GRPC_QUEUE_SHUTDOWN)
		;
	grpc_completion_queue_destroy(cq);
}

int ledger_rpc(struct ledger_channel *ch, const char *path, const json_t *req,
	       const struct ledger_rpc_opts *opts, struct ledger_rpc_result *res,
	       struct dr_error *err)
{
	static const struct ledger_rpc_opts defaults = LEDGER_RPC_OPTS_INIT;
	const struct ledger_method *m = ledger_method_find(path);
	grpc_metadata_array initial, trailing;
	grpc_metadata md[2];
	grpc_byte_buffer *send_bb, *recv_bb = NULL;
	grpc_status_code status = GRPC_STATUS_UNKNOWN;
	grpc_slice details = grpc_empty_slice(), payload, method;
	grpc_completion_queue *cq;
	const char *error_string = NULL;
	gpr_timespec deadline;
	grpc_call *call;
	grpc_op ops[6];
	grpc_event ev;
	void *data = NULL;
	size_t len = 0, nmd = 0;
	int64_t start = clock_mono_ns();

	memset(res, 0, sizeof(*res));
	res->code = LEDGER_CODE_COUNT;
	if (!opts)
		opts = &defaults;
	if (!m)
		return dr_error_set(err, "the ledger has no method '%s'", path);
	if (pbjson_pack(&data, &len, m->method->input, req, err) != 0)
		return dr_error_wrap(err, "%s request", m->path);
	cq = grpc_completion_queue_create_for_pluck(NULL);
	deadline = gpr_time_add(gpr_now(GPR_CLOCK_MONOTONIC),
				gpr_time_from_nanos(opts->timeout_ns, GPR_TIMESPAN));
	method = grpc_slice_from_copied_string(m->path);
	call = grpc_channel_create_call(ch->channel, NULL, GRPC_PROPAGATE_DEFAULTS, cq, method, NULL,
					deadline, NULL);
	grpc_slice_unref(method);
	payload = grpc_slice_from_copied_buffer(data, len);
	free(data);
	send_bb = grpc_raw_byte_buffer_create(&payload, 1);
	grpc_slice_unref(payload);
	if (opts->authorization) {
		md[nmd].key = grpc_slice_from_static_string("authorization");
		md[nmd++].value = grpc_slice_from_copied_string(opts->authorization);
	}
	if (opts->forwarded) {
		md[nmd].key = grpc_slice_from_static_string("x-ledger-forwarded");
		md[nmd++].value = grpc_slice_from_static_string("1");
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
	ops[5].data.recv_status_on_client.error_string = &error_string;
	if (grpc_call_start_batch(call, ops, 6, (void *)1, NULL) != GRPC_CALL_OK) {
		dr_error_set(err, "cannot start a call to %s", ch->address);
		status = GRPC_STATUS_INTERNAL;
	} else {
		ev = grpc_completion_queue_pluck(cq, (void *)1, gpr_inf_future(GPR_CLOCK_REALTIME), NULL);
		(void)ev;
	}
	res->latency_ns = clock_mono_ns() - start;
	res->grpc_code = (int)status;
	slice_copy(res->message, sizeof(res->message), details);
	read_trailers(res, &trailing);
	if (status == GRPC_STATUS_OK) {
		res->code = LEDGER_OK;
		if (answer_json(res, m->method->output, recv_bb, opts->json_flags) != 0) {
			res->grpc_code = GRPC_STATUS_INTERNAL;
			res->code = LEDGER_CODE_COUNT;
		}
	} else if (res->code == LEDGER_CODE_COUNT) {
		/* No node answered: the transport's own failure. */
		res->timed_out = status == GRPC_STATUS_DEADLINE_EXCEEDED;
		res->refused = status == GRPC_STATUS_UNAVAILABLE && never_sent(error_string);
	}
	for (size_t i = 0; i < nmd; i++)
		grpc_slice_unref(md[i].value);
	grpc_metadata_array_destroy(&initial);
	grpc_metadata_array_destroy(&trailing);
	grpc_slice_unref(details);
	if (error_string)
		gpr_free((void *)error_string);
	grpc_byte_buffer_destroy(send_bb);
	if (recv_bb)
		grpc_byte_buffer_destroy(recv_bb);
	grpc_call_unref(call);
	drain(cq);
	return 0;
}

json_t *ledger_rpc_error_json(const struct ledger_rpc_result *res)
{
	const char *code = res->code != LEDGER_CODE_COUNT ? ledger_code_name(res->code) :
			   res->timed_out ? "DEADLINE_EXCEEDED" : "TRANSPORT";
	json_t *o = json_pack("{s:s,s:s}", "code", code, "message", res->message);

	if (res->code == LEDGER_NOT_LEADER) {
		json_object_set_new(o, "leader", res->leader[0] ? json_string(res->leader) : json_null());
		if (res->leader_id)
			json_object_set_new(o, "leader_id", json_integer((json_int_t)res->leader_id));
	}
	return o;
}
