/* ledgerd's gRPC front end (ledger/daemon/grpc_server.h).
 *
 * A pool of workers, each with its own completion queue, asks gRPC for the
 * next call and serves it to the end: read the request, decode it with the
 * method's descriptor, dispatch it through the loop (it waits there, as an
 * HTTP thread did), encode the answer or the error.  A worker blocks while
 * the loop works on its call, so the pool bounds how many calls are in
 * flight; gRPC queues the rest. */
#include "ledger/daemon/grpc_server.h"

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
#include "common/strbuf.h"
#include "ledger/client/methods.h"
#include "ledger/client/pbjson.h"
#include "ledger/daemon/dispatch.h"
#include "ledger/daemon/log.h"
#include "ledger/daemon/reflection.h"
#include "ledger/daemon/routes.h"
#include "ledger/v1/ledger.pb-c.h"

#define WORKERS 64

struct worker {
	pthread_t thread;
	grpc_completion_queue *cq;
	struct ledgerd_node *node;
	int running;
};

struct grpc_front {
	grpc_server *server;
	grpc_completion_queue *shutdown_cq;
	struct worker workers[WORKERS];
	/* Set before the server shuts down: a worker done with a call asks
	 * for no other.  (A request on a server already shut down is failed
	 * onto the worker's queue, which must then still be open: the queues
	 * are shut down only after every worker has been joined.) */
	atomic_int stopping;
};

/* One front end per process (main.c starts one node). */
static struct grpc_front front;

/* The value of the request metadata key (a copy in buf), or NULL. */
static const char *metadata(char *buf, size_t len, const grpc_metadata_array *md, const char *key)
{
	for (size_t i = 0; i < md->count; i++) {
		grpc_slice k = md->metadata[i].key, v = md->metadata[i].value;
		size_t n = GRPC_SLICE_LENGTH(v);

		if (GRPC_SLICE_LENGTH(k) != strlen(key) ||
		    memcmp(GRPC_SLICE_START_PTR(k), key, strlen(key)) != 0)
			continue;
		if (n >= len)
			n = len - 1;
		memcpy(buf, GRPC_SLICE_START_PTR(v), n);
		buf[n] = '\0';
		return buf;
	}
	return NULL;
}

/* Run one batch on the worker's queue and wait for it. */
static int run_batch(struct worker *w, grpc_call *call, const grpc_op *ops, size_t n)
{
	grpc_event ev;

	if (grpc_call_start_batch(call, ops, n, (void *)call, NULL) != GRPC_CALL_OK)
		return -1;
	do
		ev = grpc_completion_queue_next(w->cq, gpr_inf_future(GPR_CLOCK_REALTIME), NULL);
	while (ev.type == GRPC_OP_COMPLETE && ev.tag != (void *)call);
	return ev.type == GRPC_OP_COMPLETE && ev.success ? 0 : -1;
}

/* A call that reached a follower: the leader's id, address and term in a
 * ledger.v1.ErrorDetails, as the public ledger sends them.  Heap bytes. */
static grpc_slice not_leader_details(const json_t *body)
{
	json_t *d = json_pack("{s:s, s:b, s:{}, s:s}", "error_code", "2000", "is_retryable", 1,
			      "context", "suggested_action", "Retry against the indicated leader");
	json_t *ctx = json_object_get(d, "context");
	struct dr_error err = DR_ERROR_INIT;
	void *data = NULL;
	size_t len = 0;
	grpc_slice s;

	if (json_integer_value(json_object_get(body, "leader_id")))
		json_object_set_new(ctx, "leader_id", json_sprintf("%lld", (long long)json_integer_value(
								json_object_get(body, "leader_id"))));
	if (json_string_value(json_object_get(body, "leader")))
		json_object_set(ctx, "leader_endpoint", json_object_get(body, "leader"));
	if (json_integer_value(json_object_get(body, "leader_term")))
		json_object_set_new(ctx, "leader_term", json_sprintf("%lld", (long long)json_integer_value(
								  json_object_get(body, "leader_term"))));
	if (pbjson_pack(&data, &len, &ledger__v1__error_details__descriptor, d, &err) != 0)
		len = 0;
	s = grpc_slice_from_copied_buffer(data ? data : "", len);
	free(data);
	json_decref(d);
	return s;
}

/* Send the answer: the message on success, else the status; every answer
 * carries its wire code in the trailing metadata "ledger-code". */
static void respond(struct worker *w, grpc_call *call, const struct ledger_method *m,
		    const struct ledgerd_answer *a)
{
	grpc_metadata trailing[2];
	grpc_byte_buffer *bb = NULL;
	grpc_slice details, code_slice, status_details = grpc_empty_slice();
	grpc_op ops[4];
	size_t nops = 0, ntrail = 0;
	enum ledger_code code = a->code;
	const char *message = json_string_value(json_object_get(a->body, "message"));
	int recv_cancelled = 0;

	if (code == LEDGER_OK && m) {
		struct dr_error err = DR_ERROR_INIT;
		void *data = NULL;
		size_t len = 0;

		if (pbjson_pack(&data, &len, m->method->output, a->body, &err) == 0) {
			grpc_slice payload = grpc_slice_from_copied_buffer(data, len);

			bb = grpc_raw_byte_buffer_create(&payload, 1);
			grpc_slice_unref(payload);
		} else {
			ledgerd_log("cannot encode the answer of %s: %s", m->path, err.msg);
			code = LEDGER_UNAVAILABLE;
			message = "the node could not encode its answer";
		}
		free(data);
	}
	code_slice = grpc_slice_from_static_string(ledger_code_name(code));
	trailing[ntrail].key = grpc_slice_from_static_string("ledger-code");
	trailing[ntrail++].value = code_slice;
	if (code == LEDGER_NOT_LEADER) {
		status_details = not_leader_details(a->body);
		trailing[ntrail].key = grpc_slice_from_static_string("grpc-status-details-bin");
		trailing[ntrail++].value = status_details;
	}
	details = grpc_slice_from_copied_string(code == LEDGER_OK ? "" : message ? message : "");
	memset(ops, 0, sizeof(ops));
	ops[nops++].op = GRPC_OP_SEND_INITIAL_METADATA;
	if (bb) {
		ops[nops].op = GRPC_OP_SEND_MESSAGE;
		ops[nops++].data.send_message.send_message = bb;
	}
	ops[nops].op = GRPC_OP_SEND_STATUS_FROM_SERVER;
	ops[nops].data.send_status_from_server.status =
		(grpc_status_code)ledger_code_grpc_status(code);
	ops[nops].data.send_status_from_server.status_details = &details;
	ops[nops].data.send_status_from_server.trailing_metadata_count = ntrail;
	ops[nops++].data.send_status_from_server.trailing_metadata = trailing;
	ops[nops].op = GRPC_OP_RECV_CLOSE_ON_SERVER;
	ops[nops++].data.recv_close_on_server.cancelled = &recv_cancelled;
	run_batch(w, call, ops, nops);
	grpc_slice_unref(details);
	grpc_slice_unref(status_details);
	if (bb)
		grpc_byte_buffer_destroy(bb);
}

/* The request's bytes, or NULL (the client gave up, or sent none). */
static grpc_byte_buffer *receive(struct worker *w, grpc_call *call)
{
	grpc_byte_buffer *bb = NULL;
	grpc_op op;

	memset(&op, 0, sizeof(op));
	op.op = GRPC_OP_RECV_MESSAGE;
	op.data.recv_message.recv_message = &bb;
	if (run_batch(w, call, &op, 1) != 0) {
		if (bb)
			grpc_byte_buffer_destroy(bb);
		return NULL;
	}
	return bb;
}

static void serve(struct worker *w, grpc_call *call, const char *path,
		  const grpc_metadata_array *md)
{
	struct ledgerd_node *n = w->node;
	const struct ledger_method *m = ledger_method_find(path);
	const struct ledgerd_route *route = ledgerd_route_find(path);
	struct ledgerd_answer a = { LEDGER_OK, 200, NULL };
	struct dr_error err = DR_ERROR_INIT;
	grpc_byte_buffer *bb = receive(w, call);
	grpc_byte_buffer_reader reader;
	char auth[512], fwd[8];
	const char *authorization = metadata(auth, sizeof(auth), md, "authorization");
	const char *label = route ? route->method : "Unknown";
	int64_t start = clock_mono_ns();
	json_t *req = NULL;

	if (!m || !route || route->kind == ROUTE_DEBUG) {
		char *msg = xasprintf("unknown method '%s'", path);

		ledgerd_answer_error(&a, LEDGER_UNIMPLEMENTED, msg);
		free(msg);
	} else if (!bb) {
		ledgerd_answer_error(&a, LEDGER_INVALID_ARGUMENT, "no request message");
	} else if ((route->kind == ROUTE_ADMIN) && !ledgerd_authorized(n, authorization)) {
		ledgerd_answer_error(&a, LEDGER_UNAUTHENTICATED,
				     "admin methods need 'authorization: Bearer <token>'");
	} else if (grpc_byte_buffer_reader_init(&reader, bb)) {
		grpc_slice all = grpc_byte_buffer_reader_readall(&reader);

		grpc_byte_buffer_reader_destroy(&reader);
		if (pbjson_unpack(&req, m->method->input, GRPC_SLICE_START_PTR(all),
				  GRPC_SLICE_LENGTH(all), 0, &err) != 0)
			ledgerd_answer_error(&a, LEDGER_INVALID_ARGUMENT, err.msg);
		else if (route->validate && route->validate(req, &err) != 0)
			ledgerd_answer_error(&a, LEDGER_INVALID_ARGUMENT, err.msg);
		else
			ledgerd_dispatch(n, route, json_incref(req),
					 authorization, metadata(fwd, sizeof(fwd), md,
								 "x-ledger-forwarded") != NULL, &a);
		grpc_slice_unref(all);
	} else {
		ledgerd_answer_error(&a, LEDGER_INVALID_ARGUMENT, "unreadable request message");
	}
	/* Counted before it is sent: a client that has its answer finds it
	 * in /metrics (the duration leaves out only the send itself). */
	ledgerd_metrics_observe(&n->metrics, label, a.code, (double)(clock_mono_ns() - start) / 1e9);
	respond(w, call, m, &a);
	json_decref(a.body);
	json_decref(req);
	if (bb)
		grpc_byte_buffer_destroy(bb);
}

static void *worker_main(void *arg)
{
	struct worker *w = arg;

	for (;;) {
		grpc_call *call = NULL;
		grpc_call_details details;
		grpc_metadata_array md;
		grpc_event ev;
		char *path;

		if (atomic_load(&front.stopping))
			break;
		grpc_call_details_init(&details);
		grpc_metadata_array_init(&md);
		if (grpc_server_request_call(front.server, &call, &details, &md, w->cq, w->cq,
					     (void *)w) != GRPC_CALL_OK) {
			grpc_call_details_destroy(&details);
			grpc_metadata_array_destroy(&md);
			break;
		}
		ev = grpc_completion_queue_next(w->cq, gpr_inf_future(GPR_CLOCK_REALTIME), NULL);
		if (ev.type != GRPC_OP_COMPLETE || !ev.success) {
			/* The server is shutting down. */
			if (call)
				grpc_call_unref(call);
			grpc_call_details_destroy(&details);
			grpc_metadata_array_destroy(&md);
			break;
		}
		path = grpc_slice_to_c_string(details.method);
		serve(w, call, path, &md);
		gpr_free(path);
		grpc_call_unref(call);
		grpc_call_details_destroy(&details);
		grpc_metadata_array_destroy(&md);
	}
	return NULL;
}

static int grpc_start(struct ledgerd_node *n, struct dr_error *err)
{
	grpc_arg args[] = {
		/* Larger requests get RESOURCE_EXHAUSTED from gRPC itself. */
		{ GRPC_ARG_INTEGER, (char *)GRPC_ARG_MAX_RECEIVE_MESSAGE_LENGTH,
		  { .integer = LEDGER_MAX_BODY } },
	};
	grpc_channel_args cargs = { sizeof(args) / sizeof(args[0]), args };
	grpc_server_credentials *creds;
	int port;

	grpc_init();
	front.server = grpc_server_create(&cargs, NULL);
	for (size_t i = 0; i < WORKERS; i++) {
		front.workers[i].cq = grpc_completion_queue_create_for_next(NULL);
		front.workers[i].node = n;
		grpc_server_register_completion_queue(front.server, front.workers[i].cq, NULL);
	}
	front.shutdown_cq = grpc_completion_queue_create_for_pluck(NULL);
	grpc_server_register_completion_queue(front.server, front.shutdown_cq, NULL);
	/* Reflection streams run on a thread of their own, not in the pool. */
	if (ledgerd_reflection_register(front.server, err) != 0)
		return -1;
	creds = grpc_insecure_server_credentials_create();
	port = grpc_server_add_http2_port(front.server, n->cfg.listen, creds);
	grpc_server_credentials_release(creds);
	if (port == 0)
		return dr_error_set(err, "cannot listen for gRPC on '%s' (address in use?)",
				    n->cfg.listen);
	grpc_server_start(front.server);
	if (ledgerd_reflection_start(err) != 0)
		return -1;
	for (size_t i = 0; i < WORKERS; i++)
		front.workers[i].running = pthread_create(&front.workers[i].thread, NULL, worker_main,
							  &front.workers[i]) == 0;
	ledgerd_log("grpc listening on %s", n->cfg.listen);
	return 0;
}

static void grpc_stop(struct ledgerd_node *n)
{
	(void)n;
	if (!front.server)
		return;
	atomic_store(&front.stopping, 1);
	grpc_server_shutdown_and_notify(front.server, front.shutdown_cq, (void *)&front);
	grpc_server_cancel_all_calls(front.server);
	grpc_completion_queue_pluck(front.shutdown_cq, (void *)&front,
				    gpr_inf_future(GPR_CLOCK_REALTIME), NULL);
	ledgerd_reflection_stop();
	/* Every pending request fails with the shutdown, so each worker ends;
	 * join them all before any queue closes (see struct grpc_front). */
	for (size_t i = 0; i < WORKERS; i++)
		if (front.workers[i].running)
			pthread_join(front.workers[i].thread, NULL);
	for (size_t i = 0; i < WORKERS; i++) {
		grpc_event ev;

		grpc_completion_queue_shutdown(front.workers[i].cq);
		do
			ev = grpc_completion_queue_next(front.workers[i].cq,
							gpr_inf_future(GPR_CLOCK_REALTIME), NULL);
		while (ev.type != GRPC_QUEUE_SHUTDOWN);
		grpc_completion_queue_destroy(front.workers[i].cq);
	}
	grpc_server_destroy(front.server);
	grpc_completion_queue_shutdown(front.shutdown_cq);
	grpc_completion_queue_pluck(front.shutdown_cq, NULL, gpr_inf_future(GPR_CLOCK_REALTIME), NULL);
	grpc_completion_queue_destroy(front.shutdown_cq);
	front.server = NULL;
	ledgerd_relay_close();
	grpc_shutdown();
}

const struct ledgerd_frontend ledgerd_grpc_frontend = { grpc_start, grpc_stop };
