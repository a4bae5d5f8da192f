#include "harness/target/k8s/k8s_impl.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/clock.h"
#include "common/strbuf.h"
#include "ledger/client/rpc.h"

/* A forward that is down gets this long to come back before a call gives
 * up on it (the keeper reopens it within a few hundred ms of the pod's
 * return); the caller's poll then asks again. */
#define FORWARD_WAIT_NS (1 * NS_PER_SEC)

/* gRPC channels by address: a channel is thread-safe and reconnects by
 * itself, so one per address serves every thread of the drill. */
struct k8s_channels {
	pthread_mutex_t lock;
	struct ledger_channel **ch;
	size_t n, alloc;
};

static struct ledger_channel *channel_for(struct k8s_target *kt, const char *addr,
					  struct dr_error *err)
{
	struct k8s_channels *cs;
	struct ledger_channel *ch = NULL;

	pthread_mutex_lock(&kt->lock);
	if (!kt->channels) {
		kt->channels = xcalloc(1, sizeof(*kt->channels));
		pthread_mutex_init(&kt->channels->lock, NULL);
	}
	cs = kt->channels;
	pthread_mutex_unlock(&kt->lock);
	pthread_mutex_lock(&cs->lock);
	for (size_t i = 0; i < cs->n && !ch; i++)
		if (strcmp(ledger_channel_address(cs->ch[i]), addr) == 0)
			ch = cs->ch[i];
	if (!ch && ledger_channel_open(&ch, addr, err) == 0) {
		if (cs->n == cs->alloc) {
			cs->alloc = cs->alloc ? cs->alloc * 2 : 8;
			cs->ch = xrealloc(cs->ch, cs->alloc * sizeof(*cs->ch));
		}
		cs->ch[cs->n++] = ch;
	}
	pthread_mutex_unlock(&cs->lock);
	return ch;
}

void k8s_ledger_close(struct k8s_target *kt)
{
	struct k8s_channels *cs = kt->channels;

	if (!cs)
		return;
	for (size_t i = 0; i < cs->n; i++)
		ledger_channel_close(cs->ch[i]);
	free(cs->ch);
	pthread_mutex_destroy(&cs->lock);
	free(cs);
	kt->channels = NULL;
}

int k8s_ledger_address(struct k8s_target *kt, const struct k8s_region *r, const char *pod,
		       int64_t wait_ns, char *addr, size_t len, struct dr_error *err)
{
	char *a;

	switch (r->transport) {
	case K8S_TRANSPORT_PORT_FORWARD:
		return k8s_forward_address(kt, r, pod, wait_ns, addr, len, err);
	case K8S_TRANSPORT_DIRECT:
		a = k8s_config_direct_address(r, pod);
		str_copy(addr, len, a);
		free(a);
		return 0;
	case K8S_TRANSPORT_EXEC_GRPCURL:
		break;
	}
	return dr_error_set(err, "region %s uses transport exec-grpcurl: the runner has no address "
			    "of its pods", r->name);
}

/* A call that changes the cluster has no server-side dry run. */
static int changes(enum k8s_call call)
{
	return call != K8S_CALL_STATUS && call != K8S_CALL_HEALTH && call != K8S_CALL_READ;
}

static char *payload_text(const json_t *payload)
{
	return payload ? json_dumps(payload, JSON_COMPACT | JSON_SORT_KEYS) : xstrdup("{}");
}

static int call_exec(struct k8s_target *kt, const struct k8s_region *r, const char *pod,
		     enum k8s_call call, const json_t *payload, int64_t timeout_ns, unsigned flags,
		     struct journal *journal, json_t **answer, struct k8s_call_result *cr,
		     struct dr_error *err)
{
	struct k8s_argv a = K8S_ARGV_INIT;
	struct k8s_out o = K8S_OUT_INIT;
	int rc;

	k8s_cmd_grpc(&a, kt->cfg, r, pod, call, payload);
	if (kt->server_dry_run && changes(call)) {
		char *d = k8s_argv_display(&a);

		fprintf(kt->out, "  server dry run: not run (exec cannot be dry-run): %s\n", d);
		free(d);
		k8s_argv_release(&a);
		return 1;
	}
	rc = k8s_run(kt, &o, &a, NULL, timeout_ns, flags, journal, err);
	/* grpcurl exits 64 + the gRPC status when the RPC itself failed. */
	cr->timed_out = o.timed_out;
	if (rc == 0 || o.exit_code >= 64) {
		cr->answered = 1;
		cr->grpc_code = rc == 0 ? 0 : o.exit_code - 64;
	} else if (o.ran && !o.timed_out && o.exit_code > 0) {
		cr->kubectl_failed = 1;
	}
	if (rc == 0 && answer) {
		json_t *raw = json_loads(o.out, JSON_DECODE_ANY, NULL);

		*answer = raw ? k8s_json_normalize(raw) : json_object();
		json_decref(raw);
	}
	k8s_out_release(&o);
	k8s_argv_release(&a);
	return rc;
}

static char *call_display(const char *method, const struct k8s_region *r, const char *pod,
			  const char *addr)
{
	return xasprintf("grpc %s -> %s (%s to pod/%s in %s)", method, addr,
			 k8s_transport_name(r->transport), pod, r->context);
}

static int call_native(struct k8s_target *kt, const struct k8s_region *r, const char *pod,
		       enum k8s_call call, const json_t *payload, int64_t timeout_ns, unsigned flags,
		       struct journal *journal, json_t **answer, struct k8s_call_result *cr,
		       struct dr_error *err)
{
	const char *method = k8s_call_method(kt->cfg, call);
	struct ledger_rpc_opts opts = LEDGER_RPC_OPTS_INIT;
	struct ledger_rpc_result res = LEDGER_RPC_RESULT_INIT;
	struct ledger_channel *ch;
	char addr[300], *display, *text;
	int64_t start = clock_mono_ns();
	/* A status poll moves on to the next pod at once; a step's call waits
	 * a moment for a forward being reopened. */
	int64_t wait = (flags & K8S_RUN_QUIET) ? 0 : timeout_ns < FORWARD_WAIT_NS ? timeout_ns : FORWARD_WAIT_NS;
	int rc = -1, code;

	if (kt->dry_run || (kt->server_dry_run && changes(call))) {
		char *req = payload_text(payload);

		if (r->transport == K8S_TRANSPORT_DIRECT) {
			char *d = k8s_config_direct_address(r, pod);

			str_copy(addr, sizeof(addr), d);
			free(d);
		} else {
			str_copy(addr, sizeof(addr), "127.0.0.1:<its port-forward's local port>");
		}
		fprintf(kt->out, "  %s: %s on pod %s in %s at %s %s\n",
			kt->dry_run ? "would call" : "server dry run: not called (gRPC has no dry run)",
			method, pod, r->context, addr, req);
		fflush(kt->out);
		kt->dry_run_commands += kt->dry_run;
		free(req);
		return 1;
	}
	if (k8s_ledger_address(kt, r, pod, wait, addr, sizeof(addr), err) != 0) {
		cr->not_sent = 1;
		display = call_display(method, r, pod, "(no address)");
		k8s_record(kt, journal, display, -1, start, clock_mono_ns() - start, flags, NULL, err->msg);
		free(display);
		return -1;
	}
	display = call_display(method, r, pod, addr);
	if (!(ch = channel_for(kt, addr, err))) {
		cr->not_sent = 1;
		k8s_record(kt, journal, display, -1, start, clock_mono_ns() - start, flags, NULL, err->msg);
		free(display);
		return -1;
	}
	opts.timeout_ns = timeout_ns > 0 ? timeout_ns : kt->cfg->command_timeout_ns;
	if (ledger_rpc(ch, method, payload, &opts, &res, err) != 0) {
		cr->not_sent = 1;
		k8s_record(kt, journal, display, -1, start, clock_mono_ns() - start, flags, NULL, err->msg);
		free(display);
		return -1;
	}
	cr->timed_out = res.timed_out;
	cr->not_sent = res.refused;
	cr->answered = res.code != LEDGER_CODE_COUNT;
	cr->grpc_code = res.grpc_code;
	code = res.grpc_code;
	if (res.grpc_code == LEDGER_GRPC_OK) {
		rc = 0;
		/* Read pages carry the production ledger's own entries. */
		text = call == K8S_CALL_READ ? xstrdup("(a page of ledger entries, not kept)")
					     : json_dumps(res.body, JSON_COMPACT);
		k8s_record(kt, journal, display, 0, start, clock_mono_ns() - start, flags, text, NULL);
		free(text);
		if (answer)
			*answer = k8s_json_normalize(res.body);
	} else {
		k8s_record(kt, journal, display, code, start, clock_mono_ns() - start, flags, NULL,
			   res.message);
		if (res.timed_out)
			dr_error_set(err, "%s on pod %s in %s timed out after %.1fs", method, pod, r->context,
				     (double)opts.timeout_ns / 1e9);
		else
			dr_error_set(err, "%s on pod %s in %s failed: gRPC status %d: %s", method, pod,
				     r->context, res.grpc_code, res.message[0] ? res.message : "(no message)");
	}
	ledger_rpc_result_release(&res);
	free(display);
	return rc;
}

int k8s_ledger_call(struct k8s_target *kt, const struct k8s_region *r, const char *pod,
		    enum k8s_call call, const json_t *payload, int64_t timeout_ns, unsigned flags,
		    struct journal *journal, json_t **answer, struct k8s_call_result *cr,
		    struct dr_error *err)
{
	struct k8s_call_result scratch = K8S_CALL_RESULT_INIT;

	if (!cr)
		cr = &scratch;
	*cr = scratch;
	if (answer)
		*answer = NULL;
	if (!k8s_call_method(kt->cfg, call))
		return dr_error_set(err, "api %s has no such call", k8s_api_name(kt->cfg->api));
	if (r->transport == K8S_TRANSPORT_EXEC_GRPCURL)
		return call_exec(kt, r, pod, call, payload, timeout_ns, flags, journal, answer, cr, err);
	return call_native(kt, r, pod, call, payload, timeout_ns, flags, journal, answer, cr, err);
}
