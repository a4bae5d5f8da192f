/* ledgerd's gRPC front end (ledger/daemon/grpc_server.h).
 *
 * Event-driven, on one completion queue that a few workers wait on (gRPC's
 * recommended layout for a server of its core API: the worker that polls
 * the socket takes the event it produced, no other thread is woken for
 * it).  Every method of the ledger's table is registered with its payload
 * read ahead (GRPC_SRM_PAYLOAD_READ_INITIAL_BYTE_BUFFER), so a call
 * reaches a worker with its request message; calls whose message has not
 * arrived hold nothing.  A generic request takes any other method and
 * answers UNIMPLEMENTED.  The worker decodes the request, checks it and
 * hands it to the loop (ledgerd_dispatch_async) without waiting; whoever
 * has the answer -- the loop thread, a relay helper, the node's watchdog --
 * encodes it and starts the send batch itself (grpc_call_start_batch is
 * thread-safe), and that batch's completion, on a worker, releases the
 * call.  So a call costs one hand-over (worker to loop), not three.
 *
 * Every call in progress is a struct fcall, tagged on the queue by its
 * state; the front end counts them, and stops only once none is left. */
#include "ledger/daemon/grpc_server.h"

#include <pthread.h>
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
#include "ledger/daemon/grpc_accept.h"
#include "ledger/daemon/log.h"
#include "ledger/daemon/reflection.h"
#include "ledger/daemon/routes.h"
#include "ledger/v1/ledger.pb-c.h"

/* Threads waiting on the queue.  None of them ever waits for the loop, a
 * relay or a client: they only decode requests and release finished
 * calls, so a few are enough. */
#define WORKERS 8
/* Calls asked for ahead, per method: a call that arrives while none is
 * asked for waits inside gRPC until the next request. */
#define REQUESTS_AHEAD 2
#define MAX_SLOTS 64

/* A registered method (handle set) or the generic request (handle NULL). */
struct slot {
	const struct ledger_method *m;
	const struct ledgerd_route *route;
	void *handle;
};

struct fcall {
	/* The answer's batch completes on call_cq, a callback queue: this
	 * runs, inline on the thread that completed it where gRPC can (the
	 * one that started the batch, for an answer written at once), and
	 * frees the call.  No worker is woken for it. */
	grpc_completion_queue_functor sent;
	const struct slot *slot;
	grpc_call *call;
	grpc_metadata_array md;
	grpc_call_details details;      /* the generic request only */
	gpr_timespec deadline;
	grpc_byte_buffer *payload;      /* the request message (registered) */
	int64_t start_ns;
	/* the answer, kept until its batch completes */
	grpc_byte_buffer *send_bb;
	grpc_slice status_text, status_details;
	grpc_metadata trailing[2];
	int cancelled;
};

struct grpc_front {
	grpc_server *server;
	grpc_completion_queue *cq;          /* new calls (the workers wait on it) */
	grpc_completion_queue *call_cq;     /* the calls' own batches (callbacks) */
	grpc_completion_queue_functor call_cq_shut;
	grpc_completion_queue *shutdown_cq;
	struct ledgerd_node *node;
	struct slot slots[MAX_SLOTS];
	size_t nslots;
	pthread_t workers[WORKERS];
	int nworkers;
	/* Requests are asked for under mu and only while !stopping: one
	 * asked for after the server shut down would be failed onto the
	 * queue, which may be closed by then. */
	pthread_mutex_t mu;
	pthread_cond_t idle;                /* live reached 0 */
	int stopping;
	long live;                          /* struct fcall in existence */
};

/* One front end per process (main.c starts one node). */
static struct grpc_front front = { .mu = PTHREAD_MUTEX_INITIALIZER,
				   .idle = PTHREAD_COND_INITIALIZER };

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

static void fcall_free(struct fcall *fc)
{
	grpc_metadata_array_destroy(&fc->md);
	if (!fc->slot->handle)
		grpc_call_details_destroy(&fc->details);
	if (fc->payload)
		grpc_byte_buffer_destroy(fc->payload);
	if (fc->send_bb)
		grpc_byte_buffer_destroy(fc->send_bb);
	grpc_slice_unref(fc->status_text);
	grpc_slice_unref(fc->status_details);
	if (fc->call)
		grpc_call_unref(fc->call);
	free(fc);
	pthread_mutex_lock(&front.mu);
	if (--front.live == 0)
		pthread_cond_broadcast(&front.idle);
	pthread_mutex_unlock(&front.mu);
}

static void on_sent(grpc_completion_queue_functor *f, int ok)
{
	(void)ok; /* sent, or the call ended without it: done either way */
	fcall_free((struct fcall *)f);
}

/* Ask gRPC for the next call of slot s. */
static void request(const struct slot *s)
{
	struct fcall *fc = xcalloc(1, sizeof(*fc));
	grpc_call_error e;

	fc->sent.functor_run = on_sent;
	fc->sent.inlineable = 1;
	fc->slot = s;
	fc->status_text = grpc_empty_slice();
	fc->status_details = grpc_empty_slice();
	grpc_metadata_array_init(&fc->md);
	if (!s->handle)
		grpc_call_details_init(&fc->details);
	pthread_mutex_lock(&front.mu);
	front.live++;
	if (front.stopping) {
		pthread_mutex_unlock(&front.mu);
		fcall_free(fc);
		return;
	}
	if (s->handle)
		e = grpc_server_request_registered_call(front.server, s->handle, &fc->call,
							&fc->deadline, &fc->md, &fc->payload,
							front.call_cq, front.cq, fc);
	else
		e = grpc_server_request_call(front.server, &fc->call, &fc->details, &fc->md,
					     front.call_cq, front.cq, fc);
	pthread_mutex_unlock(&front.mu);
	if (e != GRPC_CALL_OK) {
		ledgerd_log("cannot ask gRPC for calls of %s: error %d", s->m ? s->m->path : "any method",
			    (int)e);
		fcall_free(fc);
	}
}

/* Send the answer: the message on success, else the status; every answer
 * carries its wire code in the trailing metadata "ledger-code".  Any
 * thread; fc is the queue's again once the batch started (or freed here
 * when it could not start). */
static void respond(struct fcall *fc, const struct ledgerd_answer *a)
{
	const struct ledger_method *m = fc->slot->route ? fc->slot->m : NULL;
	grpc_op ops[4];
	size_t nops = 0, ntrail = 0;
	enum ledger_code code = a->code;
	const char *message = json_string_value(json_object_get(a->body, "message"));

	if (code == LEDGER_OK && m) {
		struct dr_error err = DR_ERROR_INIT;
		void *data = NULL;
		size_t len = 0;

		if (pbjson_pack(&data, &len, m->method->output, a->body, &err) == 0) {
			grpc_slice payload = grpc_slice_from_copied_buffer(data, len);

			fc->send_bb = grpc_raw_byte_buffer_create(&payload, 1);
			grpc_slice_unref(payload);
		} else {
			ledgerd_log("cannot encode the answer of %s: %s", m->path, err.msg);
			code = LEDGER_UNAVAILABLE;
			message = "the node could not encode its answer";
		}
		free(data);
	}
	fc->trailing[ntrail].key = grpc_slice_from_static_string("ledger-code");
	fc->trailing[ntrail++].value = grpc_slice_from_static_string(ledger_code_name(code));
	if (code == LEDGER_NOT_LEADER) {
		fc->status_details = not_leader_details(a->body);
		fc->trailing[ntrail].key = grpc_slice_from_static_string("grpc-status-details-bin");
		fc->trailing[ntrail++].value = fc->status_details;
	}
	fc->status_text = grpc_slice_from_copied_string(code == LEDGER_OK ? "" : message ? message : "");
	memset(ops, 0, sizeof(ops));
	ops[nops++].op = GRPC_OP_SEND_INITIAL_METADATA;
	if (fc->send_bb) {
		ops[nops].op = GRPC_OP_SEND_MESSAGE;
		ops[nops++].data.send_message.send_message = fc->send_bb;
	}
	ops[nops].op = GRPC_OP_SEND_STATUS_FROM_SERVER;
	ops[nops].data.send_status_from_server.status =
		(grpc_status_code)ledger_code_grpc_status(code);
	ops[nops].data.send_status_from_server.status_details = &fc->status_text;
	ops[nops].data.send_status_from_server.trailing_metadata_count = ntrail;
	ops[nops++].data.send_status_from_server.trailing_metadata = fc->trailing;
	ops[nops].op = GRPC_OP_RECV_CLOSE_ON_SERVER;
	ops[nops++].data.recv_close_on_server.cancelled = &fc->cancelled;
	if (grpc_call_start_batch(fc->call, ops, nops, &fc->sent, NULL) != GRPC_CALL_OK) {
		ledgerd_log("cannot send the answer of %s", m ? m->path : "a call");
		fcall_free(fc);
	}
}

/* The answer, from whichever thread has it (ledgerd_dispatch_async). */
static void on_answer(const struct ledgerd_answer *a, void *payload)
{
	struct fcall *fc = payload;

	/* Counted before it is sent: a client that has its answer finds it
	 * in /metrics (the duration leaves out only the send itself). */
	ledgerd_metrics_observe(&front.node->metrics, fc->slot->route->method, a->code,
				(double)(clock_mono_ns() - fc->start_ns) / 1e9);
	respond(fc, a);
}

/* An answer that needs no loop (a refusal), sent from the worker. */
static void answer_now(struct fcall *fc, enum ledger_code code, const char *message)
{
	struct ledgerd_answer a;

	ledgerd_answer_error(&a, code, message);
	ledgerd_metrics_observe(&front.node->metrics,
				fc->slot->route ? fc->slot->route->method : "Unknown", a.code,
				(double)(clock_mono_ns() - fc->start_ns) / 1e9);
	respond(fc, &a);
	json_decref(a.body);
}

/* A call arrived with its request (worker): decode, check, hand over. */
static void serve(struct fcall *fc)
{
	struct ledgerd_node *n = front.node;
	const struct slot *s = fc->slot;
	struct dr_error err = DR_ERROR_INIT;
	grpc_byte_buffer_reader reader;
	char auth[512], fwd[8];
	const char *authorization = metadata(auth, sizeof(auth), &fc->md, "authorization");
	json_t *req = NULL;
	grpc_slice all;

	fc->start_ns = clock_mono_ns();
	if (!s->route) {
		char *path = grpc_slice_to_c_string(fc->details.method);
		char *msg = xasprintf("unknown method '%s'", path);

		answer_now(fc, LEDGER_UNIMPLEMENTED, msg);
		free(msg);
		gpr_free(path);
		return;
	}
	if (!fc->payload) {
		answer_now(fc, LEDGER_INVALID_ARGUMENT, "no request message");
		return;
	}
	if (s->route->kind == ROUTE_ADMIN && !ledgerd_authorized(n, authorization)) {
		answer_now(fc, LEDGER_UNAUTHENTICATED,
			   "admin methods need 'authorization: Bearer <token>'");
		return;
	}
	if (!grpc_byte_buffer_reader_init(&reader, fc->payload)) {
		answer_now(fc, LEDGER_INVALID_ARGUMENT, "unreadable request message");
		return;
	}
	all = grpc_byte_buffer_reader_readall(&reader);
	grpc_byte_buffer_reader_destroy(&reader);
	if (pbjson_unpack(&req, s->m->method->input, GRPC_SLICE_START_PTR(all),
			  GRPC_SLICE_LENGTH(all), 0, &err) != 0 ||
	    (s->route->validate && s->route->validate(req, &err) != 0)) {
		grpc_slice_unref(all);
		json_decref(req);
		answer_now(fc, LEDGER_INVALID_ARGUMENT, err.msg);
		return;
	}
	grpc_slice_unref(all);
	/* The request is decoded: its bytes are not needed any more. */
	grpc_byte_buffer_destroy(fc->payload);
	fc->payload = NULL;
	ledgerd_dispatch_async(n, s->route, req, authorization,
			       metadata(fwd, sizeof(fwd), &fc->md, "x-ledger-forwarded") != NULL,
			       on_answer, fc);
}

static void *worker_main(void *arg)
{
	(void)arg;
	for (;;) {
		grpc_event ev = grpc_completion_queue_next(front.cq, gpr_inf_future(GPR_CLOCK_REALTIME),
							   NULL);
		struct fcall *fc = ev.tag;

		if (ev.type == GRPC_QUEUE_SHUTDOWN)
			break;
		if (ev.type != GRPC_OP_COMPLETE)
			continue;
		if (!ev.success) {
			/* Only the server's shutdown fails a request. */
			fcall_free(fc);
			continue;
		}
		request(fc->slot); /* the next call of this method */
		serve(fc);
	}
	return NULL;
}

/* Register every method the node serves over gRPC, then the generic slot. */
static int register_methods(struct dr_error *err)
{
	size_t nm;
	const struct ledger_method *ms = ledger_methods(&nm);

	for (size_t i = 0; i < nm; i++) {
		const struct ledgerd_route *route = ledgerd_route_find(ms[i].path);
		struct slot *s;

		if (!route || route->kind == ROUTE_DEBUG)
			continue; /* answered UNIMPLEMENTED by the generic slot */
		if (front.nslots + 1 >= MAX_SLOTS)
			return dr_error_set(err, "grpc: too many methods to register");
		s = &front.slots[front.nslots++];
		s->m = &ms[i];
		s->route = route;
		s->handle = grpc_server_register_method(front.server, ms[i].path, NULL,
							GRPC_SRM_PAYLOAD_READ_INITIAL_BYTE_BUFFER, 0);
		if (!s->handle)
			return dr_error_set(err, "grpc: cannot register method '%s'", ms[i].path);
	}
	front.slots[front.nslots++] = (struct slot){ NULL, NULL, NULL };
	return 0;
}

static void call_cq_closed(grpc_completion_queue_functor *f, int ok)
{
	(void)f;
	(void)ok;
}

static int grpc_start(struct ledgerd_node *n, struct dr_error *err)
{
	grpc_arg args[] = {
		/* Larger requests get RESOURCE_EXHAUSTED from gRPC itself. */
		{ GRPC_ARG_INTEGER, (char *)GRPC_ARG_MAX_RECEIVE_MESSAGE_LENGTH,
		  { .integer = LEDGER_MAX_BODY } },
	};
	grpc_channel_args cargs = { sizeof(args) / sizeof(args[0]), args };

	grpc_init();
	front.node = n;
	front.server = grpc_server_create(&cargs, NULL);
	front.cq = grpc_completion_queue_create_for_next(NULL);
	grpc_server_register_completion_queue(front.server, front.cq, NULL);
	front.call_cq_shut.functor_run = call_cq_closed;
	front.call_cq = grpc_completion_queue_create_for_callback(&front.call_cq_shut, NULL);
	front.shutdown_cq = grpc_completion_queue_create_for_pluck(NULL);
	grpc_server_register_completion_queue(front.server, front.shutdown_cq, NULL);
	if (register_methods(err) != 0)
		return -1;
	/* Reflection streams run on a thread of their own, not in the pool. */
	if (ledgerd_reflection_register(front.server, err) != 0)
		return -1;
	/* Not grpc_server_add_http2_port: ledgerd accepts connections itself
	 * to bound them per client and to time out half-open ones
	 * (grpc_accept.h). */
	if (grpc_accept_listen(n->cfg.listen, err) != 0)
		return -1;
	grpc_server_start(front.server);
	if (grpc_accept_run(front.server, n->cfg.max_client_conns, n->cfg.header_timeout_ms,
			    err) != 0)
		return -1;
	if (ledgerd_reflection_start(err) != 0)
		return -1;
	for (size_t i = 0; i < front.nslots; i++)
		for (int k = 0; k < REQUESTS_AHEAD; k++)
			request(&front.slots[i]);
	for (int i = 0; i < WORKERS; i++)
		if (pthread_create(&front.workers[front.nworkers], NULL, worker_main, NULL) == 0)
			front.nworkers++;
	if (front.nworkers == 0)
		return dr_error_set(err, "grpc: cannot start a worker thread");
	ledgerd_log("grpc listening on %s", n->cfg.listen);
	return 0;
}

static void grpc_stop(struct ledgerd_node *n)
{
	(void)n;
	if (!front.server)
		return;
	/* No connection may reach a server that is shutting down. */
	grpc_accept_stop();
	pthread_mutex_lock(&front.mu);
	front.stopping = 1;
	pthread_mutex_unlock(&front.mu);
	grpc_server_shutdown_and_notify(front.server, front.shutdown_cq, (void *)&front);
	grpc_server_cancel_all_calls(front.server);
	grpc_completion_queue_pluck(front.shutdown_cq, (void *)&front,
				    gpr_inf_future(GPR_CLOCK_REALTIME), NULL);
	ledgerd_reflection_stop();
	/* Every call still held -- a request the shutdown failed, an answer
	 * being sent, a relay finishing on a helper -- comes through the
	 * queue; close it only once none is left (a batch started on a
	 * closed queue aborts in grpc_cq_begin_op). */
	pthread_mutex_lock(&front.mu);
	while (front.live > 0 && front.nworkers > 0)
		pthread_cond_wait(&front.idle, &front.mu);
	pthread_mutex_unlock(&front.mu);
	grpc_completion_queue_shutdown(front.cq);
	for (int i = 0; i < front.nworkers; i++)
		pthread_join(front.workers[i], NULL);
	front.nworkers = 0;
	grpc_completion_queue_destroy(front.cq);
	grpc_completion_queue_shutdown(front.call_cq);
	grpc_completion_queue_destroy(front.call_cq);
	grpc_server_destroy(front.server);
	grpc_completion_queue_shutdown(front.shutdown_cq);
	grpc_completion_queue_pluck(front.shutdown_cq, NULL, gpr_inf_future(GPR_CLOCK_REALTIME), NULL);
	grpc_completion_queue_destroy(front.shutdown_cq);
	front.server = NULL;
	ledgerd_relay_close();
	grpc_shutdown();
}

const struct ledgerd_frontend ledgerd_grpc_frontend = { grpc_start, grpc_stop };
