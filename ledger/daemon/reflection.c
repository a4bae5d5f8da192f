/* Reflection streams over gRPC core (ledger/daemon/reflection.h).
 *
 * The unary workers serve one call each, start to end, blocking; a
 * reflection stream lives as long as its client wants, so giving it a
 * worker would let a few idle clients take the pool.  Instead the method is
 * registered (so gRPC hands its calls to no worker) and one thread drives
 * every stream as a small state machine over one completion queue:
 *
 *   new call -> RECV_CLOSE_ON_SERVER (tells when the call is over)
 *            -> RECV_MESSAGE -> SEND_MESSAGE (the answer) -> RECV_MESSAGE ...
 *   end of the client's messages -> SEND_STATUS OK
 *   a message that is no request -> SEND_STATUS INVALID_ARGUMENT
 *
 * At most one receive or send of a stream is in flight.  A stream is freed
 * once its call is over and none of its batches is pending.  The thread
 * wakes when the next idle deadline passes and cancels the streams past it.
 *
 * Stopping: the server's shutdown fails the pending new-call request and
 * grpc_server_cancel_all_calls ends every stream; the thread then shuts
 * the queue down itself (it alone starts batches, so none can start after)
 * and ends when the queue is drained. */
#include "ledger/daemon/reflection.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include <grpc/byte_buffer.h>
#include <grpc/byte_buffer_reader.h>
#include <grpc/support/time.h>

#include "common/clock.h"
#include "common/numparse.h"
#include "common/strbuf.h"
#include "grpc/reflection/v1alpha/reflection.pb-c.h"
#include "ledger/daemon/log.h"
#include "ledger/proto/protoset.h"

enum tag_kind { TAG_NEW, TAG_RECV, TAG_SEND, TAG_CLOSE };

struct stream;

struct tag {
	struct stream *s;
	enum tag_kind kind;
};

struct stream {
	grpc_call *call;
	gpr_timespec deadline;      /* the client's; gRPC enforces it */
	grpc_metadata_array md;
	grpc_byte_buffer *in, *out;
	grpc_slice details;         /* the status message, once finishing */
	int client_cancelled;       /* RECV_CLOSE_ON_SERVER's answer */
	int pending;                /* batches in flight */
	int md_sent;                /* initial metadata went with a batch */
	int finishing;              /* the status is sent or on its way */
	int closed;                 /* RECV_CLOSE_ON_SERVER completed */
	int reaped;                 /* cancelled for idling */
	int linked;                 /* in the live list */
	int64_t idle_at;            /* CLOCK_MONOTONIC ns; 0: not waiting on the client */
	struct stream *prev, *next; /* the live list */
	struct tag t_new, t_recv, t_send, t_close;
};

static struct {
	grpc_server *server;
	void *method;               /* grpc_server_register_method's handle */
	grpc_completion_queue *cq;
	struct ledgerd_descriptors desc;
	pthread_t thread;
	int running;
	/* thread only, from here */
	struct stream *live;
	size_t nlive;
	int draining;               /* the server is shutting down: no new calls */
	int cq_shut;
	int64_t idle_ns;
} refl;

static struct stream *stream_new(void)
{
	struct stream *s = xcalloc(1, sizeof(*s));

	grpc_metadata_array_init(&s->md);
	s->details = grpc_empty_slice();
	s->t_new = (struct tag){ s, TAG_NEW };
	s->t_recv = (struct tag){ s, TAG_RECV };
	s->t_send = (struct tag){ s, TAG_SEND };
	s->t_close = (struct tag){ s, TAG_CLOSE };
	return s;
}

static void stream_free(struct stream *s)
{
	if (s->linked) {
		if (s->prev)
			s->prev->next = s->next;
		else
			refl.live = s->next;
		if (s->next)
			s->next->prev = s->prev;
		refl.nlive--;
	}
	if (s->in)
		grpc_byte_buffer_destroy(s->in);
	if (s->out)
		grpc_byte_buffer_destroy(s->out);
	grpc_slice_unref(s->details);
	grpc_metadata_array_destroy(&s->md);
	if (s->call)
		grpc_call_unref(s->call);
	free(s);
}

/* Start a batch of the stream's; 0 when it was accepted (a completion
 * will come).  waits: the batch waits on the client (arms the idle timer). */
static int start(struct stream *s, struct tag *t, const grpc_op *ops, size_t n, int waits)
{
	grpc_call_error e = grpc_call_start_batch(s->call, ops, n, t, NULL);

	if (e != GRPC_CALL_OK) {
		/* A bug of ours; the cancel still brings the call to its end. */
		ledgerd_log("reflection: cannot start a batch (grpc_call_error %d)", (int)e);
		grpc_call_cancel(s->call, NULL);
		return -1;
	}
	s->pending++;
	s->idle_at = waits ? clock_mono_ns() + refl.idle_ns : s->idle_at;
	return 0;
}

/* Ask gRPC for the next reflection call. */
static void request_next(void)
{
	struct stream *s = stream_new();

	if (grpc_server_request_registered_call(refl.server, refl.method, &s->call, &s->deadline,
						&s->md, NULL, refl.cq, refl.cq,
						&s->t_new) != GRPC_CALL_OK) {
		ledgerd_log("reflection: cannot request calls; reflection is off");
		refl.draining = 1;
		stream_free(s);
	}
}

static void read_next(struct stream *s)
{
	grpc_op op;

	memset(&op, 0, sizeof(op));
	op.op = GRPC_OP_RECV_MESSAGE;
	op.data.recv_message.recv_message = &s->in;
	start(s, &s->t_recv, &op, 1, 1);
}

/* The initial metadata goes with the first message or with the status. */
static size_t add_initial_metadata(struct stream *s, grpc_op *ops)
{
	if (s->md_sent)
		return 0;
	s->md_sent = 1;
	ops[0].op = GRPC_OP_SEND_INITIAL_METADATA;
	return 1;
}

static void send_answer(struct stream *s, uint8_t *data, size_t len)
{
	grpc_slice slice = grpc_slice_new(data, len, free);
	grpc_op ops[2];
	size_t n;

	memset(ops, 0, sizeof(ops));
	s->out = grpc_raw_byte_buffer_create(&slice, 1);
	grpc_slice_unref(slice);
	n = add_initial_metadata(s, ops);
	ops[n].op = GRPC_OP_SEND_MESSAGE;
	ops[n++].data.send_message.send_message = s->out;
	start(s, &s->t_send, ops, n, 1);
}

static void finish(struct stream *s, grpc_status_code code, const char *message)
{
	grpc_op ops[2];
	size_t n;

	memset(ops, 0, sizeof(ops));
	s->finishing = 1;
	grpc_slice_unref(s->details);
	s->details = grpc_slice_from_copied_string(message);
	n = add_initial_metadata(s, ops);
	ops[n].op = GRPC_OP_SEND_STATUS_FROM_SERVER;
	ops[n].data.send_status_from_server.status = code;
	ops[n++].data.send_status_from_server.status_details = &s->details;
	start(s, &s->t_send, ops, n, 1);
}

static void on_new(struct stream *s)
{
	grpc_op op;

	s->linked = 1;
	s->next = refl.live;
	if (refl.live)
		refl.live->prev = s;
	refl.live = s;
	refl.nlive++;
	if (!refl.draining)
		request_next();
	memset(&op, 0, sizeof(op));
	op.op = GRPC_OP_RECV_CLOSE_ON_SERVER;
	op.data.recv_close_on_server.cancelled = &s->client_cancelled;
	if (start(s, &s->t_close, &op, 1, 0) != 0)
		s->closed = 1; /* nothing will tell: free it now */
	else if (refl.nlive > LEDGERD_REFLECTION_STREAMS)
		finish(s, GRPC_STATUS_RESOURCE_EXHAUSTED, "too many reflection streams; retry later");
	else
		read_next(s);
}

static void on_recv(struct stream *s, int ok)
{
	grpc_byte_buffer_reader reader;
	grpc_slice all;
	uint8_t *answer = NULL;
	size_t len = 0;
	int rc = -1;

	s->idle_at = 0;
	if (!ok || s->closed) {
		/* Cancelled or broken; cancelling again makes sure that
		 * RECV_CLOSE_ON_SERVER completes, and with it the stream. */
		grpc_call_cancel(s->call, NULL);
		return;
	}
	if (!s->in) {
		finish(s, GRPC_STATUS_OK, ""); /* the client half-closed */
		return;
	}
	if (grpc_byte_buffer_reader_init(&reader, s->in)) {
		all = grpc_byte_buffer_reader_readall(&reader);
		grpc_byte_buffer_reader_destroy(&reader);
		rc = ledgerd_reflection_answer(&answer, &len, &refl.desc, GRPC_SLICE_START_PTR(all),
					       GRPC_SLICE_LENGTH(all));
		grpc_slice_unref(all);
	}
	grpc_byte_buffer_destroy(s->in);
	s->in = NULL;
	if (rc != 0)
		finish(s, GRPC_STATUS_INVALID_ARGUMENT,
		       "the message is not a grpc.reflection.v1alpha.ServerReflectionRequest");
	else
		send_answer(s, answer, len);
}

static void on_send(struct stream *s, int ok)
{
	s->idle_at = 0;
	if (s->out) {
		grpc_byte_buffer_destroy(s->out);
		s->out = NULL;
	}
	if (!ok)
		grpc_call_cancel(s->call, NULL); /* as in on_recv */
	else if (!s->finishing && !s->closed)
		read_next(s);
}

static void on_event(struct tag *t, int ok)
{
	struct stream *s = t->s;

	if (t->kind == TAG_NEW && !ok) {
		/* Only the server's shutdown fails a new-call request.  Its
		 * grpc_server_cancel_all_calls ends the live streams; cancel
		 * them here too, so that stopping never hangs on one. */
		refl.draining = 1;
		stream_free(s);
		for (s = refl.live; s; s = s->next)
			grpc_call_cancel(s->call, NULL);
		return;
	}
	if (t->kind == TAG_NEW) {
		on_new(s);
	} else {
		s->pending--;
		if (t->kind == TAG_RECV)
			on_recv(s, ok);
		else if (t->kind == TAG_SEND)
			on_send(s, ok);
		else
			s->closed = 1;
	}
	if (s->closed && s->pending == 0)
		stream_free(s);
}

/* Cancel the streams that waited on their client too long; the time to
 * wake up for the next one (inf: none waits). */
static gpr_timespec reap_idle(void)
{
	int64_t now = clock_mono_ns(), next = 0;

	for (struct stream *s = refl.live; s; s = s->next) {
		if (!s->idle_at || s->reaped || s->closed)
			continue;
		if (s->idle_at <= now) {
			s->reaped = 1;
			grpc_call_cancel_with_status(s->call, GRPC_STATUS_DEADLINE_EXCEEDED,
						     "reflection stream idle too long", NULL);
		} else if (!next || s->idle_at < next) {
			next = s->idle_at;
		}
	}
	if (!next)
		return gpr_inf_future(GPR_CLOCK_MONOTONIC);
	return gpr_time_add(gpr_now(GPR_CLOCK_MONOTONIC),
			    gpr_time_from_nanos(next - now, GPR_TIMESPAN));
}

static void *reflection_main(void *arg)
{
	(void)arg;
	request_next();
	for (;;) {
		grpc_event ev = grpc_completion_queue_next(refl.cq, reap_idle(), NULL);

		if (ev.type == GRPC_QUEUE_SHUTDOWN)
			break;
		if (ev.type == GRPC_OP_COMPLETE)
			on_event(ev.tag, ev.success);
		if (refl.draining && !refl.live && !refl.cq_shut) {
			grpc_completion_queue_shutdown(refl.cq);
			refl.cq_shut = 1;
		}
	}
	return NULL;
}

/* LEDGERD_REFLECTION_IDLE_MS from the environment, else the default. */
static int64_t idle_ns(void)
{
	const char *env = getenv("LEDGERD_REFLECTION_IDLE_MS");
	int64_t ms = LEDGERD_REFLECTION_IDLE_MS;

	if (env && parse_int64(&ms, env, 10, INT64_C(86400000)) != 0) {
		ledgerd_log("ignoring LEDGERD_REFLECTION_IDLE_MS='%s' (not 10..86400000)", env);
		ms = LEDGERD_REFLECTION_IDLE_MS;
	}
	return ms * NS_PER_MS;
}

int ledgerd_reflection_register(grpc_server *server, struct dr_error *err)
{
	char *path;

	if (ledgerd_descriptors_load(&refl.desc, ledger_protoset, ledger_protoset_len, err) != 0)
		return dr_error_wrap(err, "reflection");
	path = xasprintf("/%s/%s", grpc__reflection__v1alpha__server_reflection__descriptor.name,
			 grpc__reflection__v1alpha__server_reflection__descriptor.methods[0].name);
	refl.method = grpc_server_register_method(server, path, NULL, GRPC_SRM_PAYLOAD_NONE, 0);
	free(path);
	if (!refl.method) {
		ledgerd_descriptors_release(&refl.desc);
		return dr_error_set(err, "reflection: cannot register its method");
	}
	refl.server = server;
	refl.cq = grpc_completion_queue_create_for_next(NULL);
	grpc_server_register_completion_queue(server, refl.cq, NULL);
	refl.idle_ns = idle_ns();
	return 0;
}

int ledgerd_reflection_start(struct dr_error *err)
{
	int rc;

	if (!refl.cq)
		return 0;
	rc = pthread_create(&refl.thread, NULL, reflection_main, NULL);
	if (rc != 0)
		return dr_error_errno(err, rc, "reflection: cannot start its thread");
	refl.running = 1;
	return 0;
}

void ledgerd_reflection_stop(void)
{
	if (!refl.cq)
		return;
	if (refl.running) {
		pthread_join(refl.thread, NULL);
	} else {
		grpc_event ev;

		grpc_completion_queue_shutdown(refl.cq);
		do
			ev = grpc_completion_queue_next(refl.cq, gpr_inf_future(GPR_CLOCK_REALTIME),
							NULL);
		while (ev.type != GRPC_QUEUE_SHUTDOWN);
	}
	grpc_completion_queue_destroy(refl.cq);
	ledgerd_descriptors_release(&refl.desc);
	memset(&refl, 0, sizeof(refl));
}
