/* A scripted fake ledger node over gRPC (tests/support/fake_grpc_server.h). */
#include "tests/support/fake_grpc_server.h"

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
#include "inferadb/ledger/v1/ledger.pb-c.h"
#include "ledger/v1/ledger.pb-c.h"

#define WORKERS 4
#define MAX_PEERS 64

struct worker {
	pthread_t thread;
	grpc_completion_queue *cq;
	struct fake_grpc_server *f;
	int running;
};

struct fake_grpc_server {
	grpc_server *server;
	grpc_completion_queue *shutdown_cq;
	struct worker workers[WORKERS];
	char address[64];
	int port;

	pthread_mutex_t lock;      /* everything below */
	enum fake_grpc_mode mode;
	char leader[128];
	uint64_t leader_id, leader_term;
	uint64_t index, term;
	unsigned char *answer;
	size_t answer_len;
	int delay_ms;
	char message[256];
	struct fake_grpc_seen seen;
	char *peers[MAX_PEERS];
	int npeers;
};

static int run_batch(grpc_completion_queue *cq, grpc_call *call, const grpc_op *ops, size_t n)
{
	grpc_event ev;

	if (grpc_call_start_batch(call, ops, n, (void *)call, NULL) != GRPC_CALL_OK)
		return -1;
	do
		ev = grpc_completion_queue_next(cq, gpr_inf_future(GPR_CLOCK_REALTIME), NULL);
	while (ev.type == GRPC_OP_COMPLETE && ev.tag != (void *)call);
	return ev.type == GRPC_OP_COMPLETE && ev.success ? 0 : -1;
}

static void record(struct fake_grpc_server *f, grpc_call *call, const char *path,
		   const grpc_metadata_array *md, grpc_slice request)
{
	char *peer = grpc_call_get_peer(call);
	size_t n = GRPC_SLICE_LENGTH(request);
	int known = 0;

	pthread_mutex_lock(&f->lock);
	f->seen.calls++;
	str_copy(f->seen.last_path, sizeof(f->seen.last_path), path);
	if (n > sizeof(f->seen.last_request))
		n = sizeof(f->seen.last_request);
	memcpy(f->seen.last_request, GRPC_SLICE_START_PTR(request), n);
	f->seen.last_request_len = n;
	f->seen.last_had_authorization = 0;
	f->seen.last_authorization[0] = '\0';
	for (size_t i = 0; i < md->count; i++) {
		grpc_slice k = md->metadata[i].key, v = md->metadata[i].value;
		size_t vl = GRPC_SLICE_LENGTH(v);

		if (GRPC_SLICE_LENGTH(k) != 13 || memcmp(GRPC_SLICE_START_PTR(k), "authorization", 13) != 0)
			continue;
		if (vl >= sizeof(f->seen.last_authorization))
			vl = sizeof(f->seen.last_authorization) - 1;
		memcpy(f->seen.last_authorization, GRPC_SLICE_START_PTR(v), vl);
		f->seen.last_authorization[vl] = '\0';
		f->seen.last_had_authorization = 1;
	}
	for (int i = 0; i < f->npeers && peer; i++)
		known |= strcmp(f->peers[i], peer) == 0;
	if (peer && !known && f->npeers < MAX_PEERS) {
		f->peers[f->npeers++] = xstrdup(peer);
		f->seen.connections = f->npeers;
	}
	pthread_mutex_unlock(&f->lock);
	gpr_free(peer);
}

/* ledger.v1.ErrorDetails naming the leader, as ledgerd's
 * not_leader_details() builds it; heap bytes in *out. */
static size_t not_leader_details(unsigned char **out, const char *leader, uint64_t id,
				 uint64_t term)
{
	Ledger__V1__ErrorDetails d = LEDGER__V1__ERROR_DETAILS__INIT;
	Ledger__V1__ErrorDetails__ContextEntry e[3], *ep[3];
	char ids[32], terms[32];
	size_t n = 0, len;

	d.error_code = "2000";
	d.is_retryable = 1;
	d.suggested_action = "Retry against the indicated leader";
	if (leader && *leader) {
		snprintf(ids, sizeof(ids), "%llu", (unsigned long long)id);
		snprintf(terms, sizeof(terms), "%llu", (unsigned long long)term);
		ledger__v1__error_details__context_entry__init(&e[0]);
		e[0].key = "leader_id";
		e[0].value = ids;
		ledger__v1__error_details__context_entry__init(&e[1]);
		e[1].key = "leader_endpoint";
		e[1].value = (char *)leader;
		ledger__v1__error_details__context_entry__init(&e[2]);
		e[2].key = "leader_term";
		e[2].value = terms;
		for (n = 0; n < 3; n++)
			ep[n] = &e[n];
	}
	d.n_context = n;
	d.context = n ? ep : NULL;
	len = ledger__v1__error_details__get_packed_size(&d);
	*out = xmalloc(len + 1);
	ledger__v1__error_details__pack(&d, *out);
	return len;
}

/* One call, answered as the mode says. */
static void serve(struct worker *w, grpc_call *call, const char *path, const grpc_metadata_array *md)
{
	struct fake_grpc_server *f = w->f;
	grpc_byte_buffer *req_bb = NULL, *ans_bb = NULL;
	grpc_byte_buffer_reader reader;
	grpc_slice request = grpc_empty_slice(), details, payload;
	grpc_metadata trailing[2];
	grpc_op ops[4], op;
	size_t nops = 0, ntrail = 0, len = 0;
	unsigned char *bytes = NULL, *bin = NULL;
	enum fake_grpc_mode mode;
	grpc_status_code status = GRPC_STATUS_OK;
	const char *code = NULL;
	char message[256], leader[128];
	uint64_t leader_id, leader_term, index, term;
	int delay_ms, cancelled = 0;

	memset(&op, 0, sizeof(op));
	op.op = GRPC_OP_RECV_MESSAGE;
	op.data.recv_message.recv_message = &req_bb;
	if (run_batch(w->cq, call, &op, 1) == 0 && req_bb &&
	    grpc_byte_buffer_reader_init(&reader, req_bb)) {
		request = grpc_byte_buffer_reader_readall(&reader);
		grpc_byte_buffer_reader_destroy(&reader);
	}
	record(f, call, path, md, request);
	pthread_mutex_lock(&f->lock);
	mode = f->mode;
	str_copy(message, sizeof(message), f->message);
	str_copy(leader, sizeof(leader), f->leader);
	leader_id = f->leader_id;
	leader_term = f->leader_term;
	index = f->index;
	term = f->term;
	delay_ms = f->delay_ms;
	if (f->answer) {
		bytes = xmalloc(f->answer_len + 1);
		memcpy(bytes, f->answer, f->answer_len);
		len = f->answer_len;
	}
	pthread_mutex_unlock(&f->lock);

	switch (mode) {
	case FAKE_GRPC_SLOW:
		clock_sleep_ns((int64_t)delay_ms * NS_PER_MS);
		/* then the OK answer */
		__attribute__((fallthrough));
	case FAKE_GRPC_OK:
		if (strcmp(path, "/inferadb.ledger.v1.Ledger/Append") == 0) {
			Inferadb__Ledger__V1__AppendResponse a = INFERADB__LEDGER__V1__APPEND_RESPONSE__INIT;

			a.index = index;
			a.term = term;
			free(bytes);
			len = inferadb__ledger__v1__append_response__get_packed_size(&a);
			bytes = xmalloc(len + 1);
			inferadb__ledger__v1__append_response__pack(&a, bytes);
		}
		break;
	case FAKE_GRPC_GARBAGE:
		free(bytes);
		bytes = (unsigned char *)xstrdup("\xff\xff\xff\xff<html>bad gateway</html>");
		len = strlen((char *)bytes);
		break;
	case FAKE_GRPC_NOT_LEADER:
		status = GRPC_STATUS_UNAVAILABLE;
		code = "NOT_LEADER";
		if (!message[0])
			str_copy(message, sizeof(message), "this node is not the leader");
		break;
	case FAKE_GRPC_UNKNOWN_OUTCOME:
		status = GRPC_STATUS_UNKNOWN;
		code = "UNKNOWN_OUTCOME";
		if (!message[0])
			str_copy(message, sizeof(message), "leadership lost before the entry committed");
		break;
	case FAKE_GRPC_LEDGER_UNAVAILABLE:
		status = GRPC_STATUS_UNAVAILABLE;
		code = "UNAVAILABLE";
		if (!message[0])
			str_copy(message, sizeof(message), "writes are refused");
		break;
	case FAKE_GRPC_BARE_UNAVAILABLE:
		status = GRPC_STATUS_UNAVAILABLE;
		if (!message[0])
			str_copy(message, sizeof(message), "upstream went away");
		break;
	}

	if (status == GRPC_STATUS_OK) {
		payload = grpc_slice_from_copied_buffer((const char *)(bytes ? bytes : (unsigned char *)""),
						    len);
		ans_bb = grpc_raw_byte_buffer_create(&payload, 1);
		grpc_slice_unref(payload);
	}
	if (code) {
		trailing[ntrail].key = grpc_slice_from_static_string("ledger-code");
		trailing[ntrail++].value = grpc_slice_from_static_string(code);
	}
	if (mode == FAKE_GRPC_NOT_LEADER) {
		size_t bl = not_leader_details(&bin, leader, leader_id, leader_term);

		trailing[ntrail].key = grpc_slice_from_static_string("grpc-status-details-bin");
		trailing[ntrail++].value = grpc_slice_from_copied_buffer((const char *)bin, bl);
	}
	details = grpc_slice_from_copied_string(status == GRPC_STATUS_OK ? "" : message);
	memset(ops, 0, sizeof(ops));
	ops[nops++].op = GRPC_OP_SEND_INITIAL_METADATA;
	if (ans_bb) {
		ops[nops].op = GRPC_OP_SEND_MESSAGE;
		ops[nops++].data.send_message.send_message = ans_bb;
	}
	ops[nops].op = GRPC_OP_SEND_STATUS_FROM_SERVER;
	ops[nops].data.send_status_from_server.status = status;
	ops[nops].data.send_status_from_server.status_details = &details;
	ops[nops].data.send_status_from_server.trailing_metadata_count = ntrail;
	ops[nops++].data.send_status_from_server.trailing_metadata = ntrail ? trailing : NULL;
	ops[nops].op = GRPC_OP_RECV_CLOSE_ON_SERVER;
	ops[nops++].data.recv_close_on_server.cancelled = &cancelled;
	run_batch(w->cq, call, ops, nops);

	for (size_t i = 0; i < ntrail; i++)
		grpc_slice_unref(trailing[i].value);
	grpc_slice_unref(details);
	grpc_slice_unref(request);
	if (ans_bb)
		grpc_byte_buffer_destroy(ans_bb);
	if (req_bb)
		grpc_byte_buffer_destroy(req_bb);
	free(bytes);
	free(bin);
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

		grpc_call_details_init(&details);
		grpc_metadata_array_init(&md);
		if (grpc_server_request_call(w->f->server, &call, &details, &md, w->cq, w->cq,
					     (void *)w) != GRPC_CALL_OK) {
			grpc_call_details_destroy(&details);
			grpc_metadata_array_destroy(&md);
			break;
		}
		ev = grpc_completion_queue_next(w->cq, gpr_inf_future(GPR_CLOCK_REALTIME), NULL);
		if (ev.type != GRPC_OP_COMPLETE || !ev.success) {
			/* Shutting down. */
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

int fake_grpc_server_start(struct fake_grpc_server **out, int port, struct dr_error *err)
{
	struct fake_grpc_server *f = xcalloc(1, sizeof(*f));
	grpc_server_credentials *creds;
	char listen[64];

	*out = NULL;
	grpc_init();
	pthread_mutex_init(&f->lock, NULL);
	f->mode = FAKE_GRPC_OK;
	f->index = 42;
	f->term = 3;
	f->delay_ms = 400;
	f->server = grpc_server_create(NULL, NULL);
	for (size_t i = 0; i < WORKERS; i++) {
		f->workers[i].cq = grpc_completion_queue_create_for_next(NULL);
		f->workers[i].f = f;
		grpc_server_register_completion_queue(f->server, f->workers[i].cq, NULL);
	}
	f->shutdown_cq = grpc_completion_queue_create_for_pluck(NULL);
	grpc_server_register_completion_queue(f->server, f->shutdown_cq, NULL);
	snprintf(listen, sizeof(listen), "127.0.0.1:%d", port);
	creds = grpc_insecure_server_credentials_create();
	f->port = grpc_server_add_http2_port(f->server, listen, creds);
	grpc_server_credentials_release(creds);
	if (f->port == 0) {
		fake_grpc_server_stop(f);
		return dr_error_set(err, "fake gRPC server: cannot listen on '%s'", listen);
	}
	snprintf(f->address, sizeof(f->address), "127.0.0.1:%d", f->port);
	grpc_server_start(f->server);
	for (size_t i = 0; i < WORKERS; i++)
		f->workers[i].running = pthread_create(&f->workers[i].thread, NULL, worker_main,
						       &f->workers[i]) == 0;
	*out = f;
	return 0;
}

void fake_grpc_server_stop(struct fake_grpc_server *f)
{
	if (!f)
		return;
	grpc_server_shutdown_and_notify(f->server, f->shutdown_cq, (void *)f);
	grpc_server_cancel_all_calls(f->server);
	grpc_completion_queue_pluck(f->shutdown_cq, (void *)f, gpr_inf_future(GPR_CLOCK_REALTIME), NULL);
	/* Join before shutting the queues down: a worker still finishing a
	 * call asks for the next one on its queue (the shut-down server fails
	 * that request, which ends the worker), and gRPC aborts on an
	 * operation started on a queue already shut down. */
	for (size_t i = 0; i < WORKERS; i++)
		if (f->workers[i].running)
			pthread_join(f->workers[i].thread, NULL);
	for (size_t i = 0; i < WORKERS; i++) {
		grpc_event ev;

		grpc_completion_queue_shutdown(f->workers[i].cq);
		do
			ev = grpc_completion_queue_next(f->workers[i].cq,
							gpr_inf_future(GPR_CLOCK_REALTIME), NULL);
		while (ev.type != GRPC_QUEUE_SHUTDOWN);
		grpc_completion_queue_destroy(f->workers[i].cq);
	}
	grpc_server_destroy(f->server);
	grpc_completion_queue_shutdown(f->shutdown_cq);
	grpc_completion_queue_pluck(f->shutdown_cq, NULL, gpr_inf_future(GPR_CLOCK_REALTIME), NULL);
	grpc_completion_queue_destroy(f->shutdown_cq);
	for (int i = 0; i < f->npeers; i++)
		free(f->peers[i]);
	free(f->answer);
	pthread_mutex_destroy(&f->lock);
	free(f);
	grpc_shutdown();
}

const char *fake_grpc_server_address(const struct fake_grpc_server *f)
{
	return f->address;
}

int fake_grpc_server_port(const struct fake_grpc_server *f)
{
	return f->port;
}

void fake_grpc_server_set_mode(struct fake_grpc_server *f, enum fake_grpc_mode mode)
{
	pthread_mutex_lock(&f->lock);
	f->mode = mode;
	pthread_mutex_unlock(&f->lock);
}

void fake_grpc_server_set_leader(struct fake_grpc_server *f, const char *address, uint64_t id,
				 uint64_t term)
{
	pthread_mutex_lock(&f->lock);
	str_copy(f->leader, sizeof(f->leader), address ? address : "");
	f->leader_id = id;
	f->leader_term = term;
	pthread_mutex_unlock(&f->lock);
}

void fake_grpc_server_set_index(struct fake_grpc_server *f, uint64_t index, uint64_t term)
{
	pthread_mutex_lock(&f->lock);
	f->index = index;
	f->term = term;
	pthread_mutex_unlock(&f->lock);
}

void fake_grpc_server_set_answer(struct fake_grpc_server *f, const void *bytes, size_t len)
{
	pthread_mutex_lock(&f->lock);
	free(f->answer);
	f->answer = NULL;
	f->answer_len = 0;
	if (bytes) {
		f->answer = xmalloc(len + 1);
		memcpy(f->answer, bytes, len);
		f->answer_len = len;
	}
	pthread_mutex_unlock(&f->lock);
}

void fake_grpc_server_set_delay(struct fake_grpc_server *f, int delay_ms)
{
	pthread_mutex_lock(&f->lock);
	f->delay_ms = delay_ms;
	pthread_mutex_unlock(&f->lock);
}

void fake_grpc_server_set_message(struct fake_grpc_server *f, const char *message)
{
	pthread_mutex_lock(&f->lock);
	str_copy(f->message, sizeof(f->message), message ? message : "");
	pthread_mutex_unlock(&f->lock);
}

void fake_grpc_server_seen(struct fake_grpc_server *f, struct fake_grpc_seen *out)
{
	pthread_mutex_lock(&f->lock);
	*out = f->seen;
	pthread_mutex_unlock(&f->lock);
}
