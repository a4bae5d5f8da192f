/* One API call through the loop (ledger/daemon/dispatch.h). */
#include "ledger/daemon/dispatch.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "common/clock.h"
#include "common/strbuf.h"
#include "ledger/client/rpc.h"
#include "ledger/client/supervisor_socket.h"
#include "ledger/daemon/log.h"

/* Short: a paused leader must not make followers' status calls hang past
 * the caller's own timeout; on failure the node answers its own view. */
#define FORWARD_TIMEOUT_NS (1 * NS_PER_SEC)
#define SUPERVISOR_TIMEOUT_NS (20 * NS_PER_SEC)

void ledgerd_answer_error(struct ledgerd_answer *out, enum ledger_code code, const char *message)
{
	out->code = code;
	out->http_status = ledger_code_http_status(code);
	out->body = json_pack("{s:s, s:s}", "code", ledger_code_name(code), "message", message);
}

int ledgerd_authorized(const struct ledgerd_node *n, const char *authorization)
{
	unsigned char diff = 0;
	size_t tl;

	if (!n->admin_token)
		return 1;
	if (!authorization || strncmp(authorization, "Bearer ", 7) != 0)
		return 0;
	authorization += 7;
	tl = strlen(n->admin_token);
	if (strlen(authorization) != tl)
		return 0;
	/* Constant time: how far a guess matches must not show in the timing. */
	for (size_t i = 0; i < tl; i++)
		diff |= (unsigned char)(authorization[i] ^ n->admin_token[i]);
	return diff == 0;
}

/* One channel per leader address, kept for the node's life: a follower
 * relays every status poll, and a new connection per relay would cost more
 * than the call.  Members are few, so the table is small; channels are
 * thread-safe, so relays run at once. */
#define RELAY_CHANNELS 64

static pthread_mutex_t relay_lock = PTHREAD_MUTEX_INITIALIZER;
static struct ledger_channel *relay_channels[RELAY_CHANNELS];

static struct ledger_channel *relay_to(const char *address)
{
	struct dr_error err = DR_ERROR_INIT;
	struct ledger_channel *ch = NULL;
	size_t i;

	pthread_mutex_lock(&relay_lock);
	for (i = 0; i < RELAY_CHANNELS && relay_channels[i]; i++)
		if (strcmp(ledger_channel_address(relay_channels[i]), address) == 0)
			break;
	if (i < RELAY_CHANNELS && !relay_channels[i] &&
	    ledger_channel_open(&relay_channels[i], address, &err) != 0)
		ledgerd_log("cannot reach the leader at %s: %s", address, err.msg);
	if (i < RELAY_CHANNELS)
		ch = relay_channels[i];
	pthread_mutex_unlock(&relay_lock);
	return ch;
}

static void helpers_stop(void);

void ledgerd_relay_close(void)
{
	helpers_stop();
	pthread_mutex_lock(&relay_lock);
	for (size_t i = 0; i < RELAY_CHANNELS; i++) {
		ledger_channel_close(relay_channels[i]);
		relay_channels[i] = NULL;
	}
	pthread_mutex_unlock(&relay_lock);
}

/* Relay the call to the leader over its gRPC API: 0 with out filled when it
 * answered, -1 when it did not (the node then answers for itself). */
static int relay(const struct ledgerd_call *c, const char *authorization,
		 struct ledgerd_answer *out)
{
	struct ledger_rpc_opts opts = LEDGER_RPC_OPTS_INIT;
	struct ledger_rpc_result res = LEDGER_RPC_RESULT_INIT;
	struct dr_error err = DR_ERROR_INIT;
	struct ledger_channel *ch = relay_to(c->forward_addr);

	if (!ch)
		return -1;
	opts.timeout_ns = FORWARD_TIMEOUT_NS;
	opts.authorization = authorization;
	opts.forwarded = 1;
	opts.json_flags = 0;
	if (ledger_rpc(ch, c->route->path, c->req, &opts, &res, &err) != 0 ||
	    res.code == LEDGER_CODE_COUNT) {
		ledger_rpc_result_release(&res);
		return -1;
	}
	out->code = res.code;
	out->http_status = ledger_code_http_status(res.code);
	out->body = res.code == LEDGER_OK ? json_incref(res.body) : ledger_rpc_error_json(&res);
	ledger_rpc_result_release(&res);
	return 0;
}

/* The supervisor's answer to what the loop asked it (promote, restore). */
static void ask_supervisor(struct ledgerd_node *n, const struct ledgerd_call *c,
			   struct ledgerd_answer *out)
{
	struct dr_error err = DR_ERROR_INIT;
	json_t *ack = NULL;
	const char *cmd = json_string_value(json_object_get(c->supervisor_msg, "cmd"));
	char *text;

	if (supervisor_socket_request(&ack, n->cfg.supervisor_socket, c->supervisor_msg,
				      SUPERVISOR_TIMEOUT_NS, &err) != 0) {
		ledgerd_log("supervisor exchange failed: %s", err.msg);
		ledgerd_answer_error(out, LEDGER_UNAVAILABLE, err.msg);
		return;
	}
	text = json_dumps(ack, JSON_COMPACT);
	ledgerd_log("supervisor answered %s", text ? text : "?");
	free(text);
	if (json_is_false(json_object_get(ack, "ok")) || json_object_get(ack, "error")) {
		const char *why = json_string_value(json_object_get(ack, "error"));
		char *msg = xasprintf("supervisor refused: %s", why ? why : "no reason given");

		ledgerd_answer_error(out, LEDGER_FAILED_PRECONDITION, msg);
		free(msg);
		json_decref(ack);
		return;
	}
	out->code = LEDGER_OK;
	out->http_status = 200;
	if (cmd && strcmp(cmd, "promote") == 0)
		out->body = json_pack("{s:b, s:b, s:O, s:o}", "unsafe", 1, "accepted", 1, "region",
				      json_object_get(c->supervisor_msg, "region"), "supervisor", ack);
	else
		out->body = json_pack("{s:o}", "supervisor", ack);
}

/* ---- calls answered without a waiting thread (ledgerd_dispatch_async) ---- */

/* What the front end gave: where the answer goes, and what a relay needs. */
struct pending {
	struct ledgerd_node *n;
	const struct ledgerd_route *route;
	char *authorization;      /* owned copy, or NULL */
	ledgerd_answer_fn fn;
	void *payload;
};

/* Relays and supervisor exchanges block (up to FORWARD_TIMEOUT_NS and
 * SUPERVISOR_TIMEOUT_NS): neither the loop nor the gRPC front end's few
 * threads may wait on them, so helper threads do, started as needed up to
 * HELPERS_MAX at once (the bound the front end's 64 workers used to set)
 * and kept idle for the node's life.
 *
 * Answers built off the loop (CALL_BUILD) have threads of their own, at
 * most BUILDS_MAX: each may hold a 2 MiB answer or hash a 512 MiB snapshot
 * file, and the loop must keep its share of the machine's two cores.
 * Builds waiting their turn wait in that pool's queue, holding no thread:
 * dozens of big Reads must not take the helpers follower relays need. */
#define HELPERS_MAX 64
#define BUILDS_MAX 2

struct pool {
	const char *what;
	int max;
	pthread_mutex_t mu;
	pthread_cond_t cond;
	struct ledgerd_call *head, *tail;   /* linked through ->next */
	pthread_t threads[HELPERS_MAX];
	int nthreads, idle, stop;
};

static struct pool helpers = { "relay", HELPERS_MAX, PTHREAD_MUTEX_INITIALIZER,
			       PTHREAD_COND_INITIALIZER, NULL, NULL, { 0 }, 0, 0, 0 };
static struct pool builders = { "build", BUILDS_MAX, PTHREAD_MUTEX_INITIALIZER,
				PTHREAD_COND_INITIALIZER, NULL, NULL, { 0 }, 0, 0, 0 };

static void pending_answer(struct pending *p, struct ledgerd_call *c, struct ledgerd_answer *a)
{
	p->fn(a, p->payload);
	json_decref(a->body);
	ledgerd_call_unref(p->n, c);
	free(p->authorization);
	free(p);
}

static void on_done(struct ledgerd_node *n, struct ledgerd_call *c, int timed_out);
static enum ledger_code code_of(int status, const json_t *body);

/* A pool thread: build the answer, relay to the leader or ask the
 * supervisor, then answer. */
static void helper_run(struct ledgerd_call *c)
{
	struct pending *p = c->done_payload;
	struct ledgerd_answer a = { LEDGER_OK, 200, NULL };

	if (c->action == CALL_BUILD) {
		void *arg = c->build_arg;

		c->build_arg = NULL; /* build frees it */
		c->build(c, arg);
		if (c->action == CALL_BUILD) /* a build that set nothing: a bug */
			ledgerd_built_error(c, LEDGER_UNAVAILABLE, "the node built no answer");
	}
	if (c->action == CALL_ANSWER) {
		a.http_status = c->http_status;
		a.code = code_of(c->http_status, c->resp);
		a.body = json_incref(c->resp);
	} else if (c->action == CALL_SUPERVISOR) {
		ask_supervisor(p->n, c, &a);
	} else if (relay(c, p->authorization, &a) != 0) {
		/* The leader did not answer: let this node answer for itself. */
		struct ledgerd_call *again = xcalloc(1, sizeof *again);

		again->route = p->route;
		again->req = json_incref(c->req);
		again->forwarded = 1;
		again->done_payload = p;
		ledgerd_call_unref(p->n, c);
		ledgerd_node_submit_async(p->n, again, on_done);
		return;
	}
	pending_answer(p, c, &a);
}

static void *pool_main(void *arg)
{
	struct pool *pl = arg;

	pthread_mutex_lock(&pl->mu);
	for (;;) {
		struct ledgerd_call *c = pl->head;

		if (!c) {
			if (pl->stop)
				break;
			pl->idle++;
			pthread_cond_wait(&pl->cond, &pl->mu);
			pl->idle--;
			continue;
		}
		pl->head = c->next;
		if (!pl->head)
			pl->tail = NULL;
		pthread_mutex_unlock(&pl->mu);
		helper_run(c);
		pthread_mutex_lock(&pl->mu);
	}
	pthread_mutex_unlock(&pl->mu);
	return NULL;
}

static void pool_push(struct pool *pl, struct ledgerd_call *c)
{
	int none;

	pthread_mutex_lock(&pl->mu);
	c->next = NULL;
	if (pl->tail)
		pl->tail->next = c;
	else
		pl->head = c;
	pl->tail = c;
	if (pl->idle > 0) {
		pthread_cond_signal(&pl->cond);
	} else if (pl->nthreads < pl->max &&
		   pthread_create(&pl->threads[pl->nthreads], NULL, pool_main, pl) == 0) {
		pl->nthreads++;
	}
	/* else: the next thread to finish takes it */
	none = pl->nthreads == 0;
	if (none) {
		pl->head = pl->tail = NULL;
		ledgerd_log("cannot start a %s thread: doing it on this thread", pl->what);
	}
	pthread_mutex_unlock(&pl->mu);
	if (none)
		helper_run(c);
}

static void pool_stop(struct pool *pl)
{
	int n;

	pthread_mutex_lock(&pl->mu);
	pl->stop = 1;
	pthread_cond_broadcast(&pl->cond);
	n = pl->nthreads;
	pthread_mutex_unlock(&pl->mu);
	for (int i = 0; i < n; i++)
		pthread_join(pl->threads[i], NULL);
	pthread_mutex_lock(&pl->mu);
	pl->nthreads = 0;
	pl->stop = 0;
	pthread_mutex_unlock(&pl->mu);
}

/* Join the pools' threads once their work is done (front end stopped). */
static void helpers_stop(void)
{
	pool_stop(&builders);
	pool_stop(&helpers);
}

static int is_write(const struct ledgerd_route *route)
{
	return strcmp(route->method, "Append") == 0 || strcmp(route->method, "WriteService.Write") == 0;
}

/* The loop answered c (or the watchdog gave up on it). */
static void on_done(struct ledgerd_node *n, struct ledgerd_call *c, int timed_out)
{
	struct pending *p = c->done_payload;
	struct ledgerd_answer a = { LEDGER_OK, 200, NULL };

	(void)n;
	if (timed_out) {
		/* A write may have been proposed: its outcome is unknown. */
		ledgerd_answer_error(&a, is_write(p->route) ? LEDGER_UNKNOWN_OUTCOME : LEDGER_UNAVAILABLE,
				     "the node did not answer in time");
	} else if (c->action == CALL_BUILD) {
		pool_push(&builders, c);
		return;
	} else if (c->action == CALL_FORWARD || c->action == CALL_SUPERVISOR) {
		pool_push(&helpers, c);
		return;
	} else {
		a.http_status = c->http_status;
		a.code = code_of(c->http_status, c->resp);
		a.body = json_incref(c->resp);
	}
	pending_answer(p, c, &a);
}

void ledgerd_dispatch_async(struct ledgerd_node *n, const struct ledgerd_route *route, json_t *req,
			    const char *authorization, int forwarded, ledgerd_answer_fn fn,
			    void *payload)
{
	struct ledgerd_call *c = xcalloc(1, sizeof *c);
	struct pending *p = xcalloc(1, sizeof *p);

	p->n = n;
	p->route = route;
	p->authorization = authorization ? xstrdup(authorization) : NULL;
	p->fn = fn;
	p->payload = payload;
	c->route = route;
	c->req = req;
	c->forwarded = forwarded;
	c->done_payload = p;
	ledgerd_node_submit_async(n, c, on_done);
}

static enum ledger_code code_of(int status, const json_t *body)
{
	enum ledger_code code;

	if (status == 200)
		return LEDGER_OK;
	code = ledger_code_parse(json_string_value(json_object_get(body, "code")));
	return code == LEDGER_CODE_COUNT ? LEDGER_UNAVAILABLE : code;
}

/* ledgerd_dispatch's thread waits here for ledgerd_dispatch_async's answer. */
struct waiter {
	pthread_mutex_t mu;
	pthread_cond_t cond;
	int done;
	struct ledgerd_answer a;
};

static void wake_waiter(const struct ledgerd_answer *a, void *payload)
{
	struct waiter *w = payload;

	pthread_mutex_lock(&w->mu);
	w->a = *a;
	w->a.body = json_incref(a->body);
	w->done = 1;
	pthread_cond_signal(&w->cond);
	pthread_mutex_unlock(&w->mu);
}

/* The same path as gRPC's, waited for: the answer comes from the loop, a
 * relay helper, or the node's watchdog after its call limit, so the wait
 * always ends. */
void ledgerd_dispatch(struct ledgerd_node *n, const struct ledgerd_route *route, json_t *req,
		      const char *authorization, int forwarded, struct ledgerd_answer *out)
{
	struct waiter w = { PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, 0,
			    { LEDGER_OK, 200, NULL } };

	ledgerd_dispatch_async(n, route, req, authorization, forwarded, wake_waiter, &w);
	pthread_mutex_lock(&w.mu);
	while (!w.done)
		pthread_cond_wait(&w.cond, &w.mu);
	pthread_mutex_unlock(&w.mu);
	pthread_cond_destroy(&w.cond);
	pthread_mutex_destroy(&w.mu);
	*out = w.a;
}
