/* The pure half of the canary writes (harness/target/k8s/k8s_canary.h): request
 * bodies in both dialects, the classification of one write, read-back
 * pages.  No kubectl here, so the unit tests feed recorded answers. */
#include "harness/target/k8s/k8s_canary_api.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/clock.h"
#include "common/numparse.h"
#include "common/strbuf.h"
#include "ledger/client/ledger_v1.h"

#define READ_PAGE_LIMIT 1000

/* The canary configuration as the ledger.v1 codec's scope. */
struct ledger_v1_scope k8s_canary_scope(const struct k8s_config *cfg)
{
	struct ledger_v1_scope sc;

	sc.organization = cfg->canary.organization;
	sc.vault = cfg->canary.vault;
	sc.caller = cfg->canary.caller;
	sc.key_prefix = cfg->canary.key_prefix ? cfg->canary.key_prefix : "";
	sc.ttl_s = cfg->canary.ttl_ns / NS_PER_SEC;
	return sc;
}

char *k8s_canary_key(const struct k8s_config *cfg, const char *client_id, uint64_t sequence)
{
	struct ledger_v1_scope sc = k8s_canary_scope(cfg);

	return ledger_v1_key(&sc, client_id, sequence);
}

json_t *k8s_canary_write_request(const struct k8s_config *cfg, const char *client_id,
				 uint64_t sequence, const char *payload, int64_t now_s)
{
	struct ledger_v1_scope sc = k8s_canary_scope(cfg);

	if (cfg->api == K8S_API_RUNBOOK)
		return json_pack("{s:s,s:I,s:s}", "clientId", client_id, "sequence",
				 (json_int_t)sequence, "payload", payload);
	return ledger_v1_write_request(&sc, client_id, sequence, payload, now_s);
}

json_t *k8s_canary_read_request(const struct k8s_config *cfg, const char *client_id,
				uint64_t from_index, const char *page_token)
{
	struct ledger_v1_scope sc = k8s_canary_scope(cfg);

	if (cfg->api == K8S_API_RUNBOOK)
		return json_pack("{s:I,s:i}", "fromIndex", (json_int_t)(from_index ? from_index : 1),
				 "limit", READ_PAGE_LIMIT);
	return ledger_v1_list_request(&sc, client_id, page_token, READ_PAGE_LIMIT);
}

/* A proto3 JSON uint64: a decimal string, or a number from a server that
 * prints them plainly.  0 when absent or malformed. */
static uint64_t u64_of(const json_t *v)
{
	uint64_t u = 0;

	if (json_is_integer(v) && json_integer_value(v) > 0)
		return (uint64_t)json_integer_value(v);
	if (json_is_string(v) && parse_uint64(&u, json_string_value(v), 0, UINT64_MAX) == 0)
		return u;
	return 0;
}

static void set_result(struct ledger_append_result *res, enum ledger_outcome outcome,
		       const char *code, const char *fmt, ...) __attribute__((format(printf, 4, 5)));

static void set_result(struct ledger_append_result *res, enum ledger_outcome outcome,
		       const char *code, const char *fmt, ...)
{
	va_list ap;

	res->outcome = outcome;
	str_copy(res->code, sizeof(res->code), code);
	va_start(ap, fmt);
	vsnprintf(res->message, sizeof(res->message), fmt, ap);
	va_end(ap);
}

/* grpcurl exits 64 + the gRPC status code when the RPC itself failed. */
static const char *grpc_code_name(int code)
{
	static const char *const names[] = { "OK", "CANCELLED", "UNKNOWN", "INVALID_ARGUMENT",
		"DEADLINE_EXCEEDED", "NOT_FOUND", "ALREADY_EXISTS", "PERMISSION_DENIED",
		"RESOURCE_EXHAUSTED", "FAILED_PRECONDITION", "ABORTED", "OUT_OF_RANGE",
		"UNIMPLEMENTED", "INTERNAL", "UNAVAILABLE", "DATA_LOSS", "UNAUTHENTICATED" };

	return code >= 0 && code < (int)(sizeof(names) / sizeof(names[0])) ? names[code] : "UNKNOWN";
}

/* Codes a server answers before it does anything: the write did not
 * happen.  UNAVAILABLE is not among them: a connection can break after
 * the request went out. */
static int grpc_code_definite(int code)
{
	static const int definite[] = { 3, 5, 6, 7, 8, 9, 11, 12, 16 };

	for (size_t i = 0; i < sizeof(definite) / sizeof(definite[0]); i++)
		if (definite[i] == code)
			return 1;
	return 0;
}

/* The first line of grpcurl's "Message:" (or of stderr), for the journal. */
static void error_text(char *buf, size_t len, const char *errout)
{
	const char *m = errout ? strstr(errout, "Message:") : NULL;
	const char *s = m ? m + 8 : errout ? errout : "";
	size_t n;

	s += strspn(s, " \t\r\n");
	n = strcspn(s, "\r\n");
	if (n >= len)
		n = len - 1;
	memcpy(buf, s, n);
	buf[n] = '\0';
}

static void classify_answer(const struct k8s_config *cfg, const char *out,
			    struct ledger_append_result *res)
{
	json_t *ans = json_loads(out ? out : "", 0, NULL);

	if (!json_is_object(ans)) {
		set_result(res, LEDGER_OUTCOME_UNKNOWN, "UNKNOWN_OUTCOME",
			   "grpcurl exited 0 without a JSON answer");
	} else if (cfg->api == K8S_API_RUNBOOK) {
		res->index = u64_of(json_object_get(ans, "index"));
		res->term = u64_of(json_object_get(ans, "term"));
		if (res->index)
			set_result(res, LEDGER_OUTCOME_OK, "", "%s", "");
		else
			set_result(res, LEDGER_OUTCOME_UNKNOWN, "UNKNOWN_OUTCOME",
				   "Append answered without an index");
	} else {
		ledger_v1_classify_write(ans, res);
	}
	json_decref(ans);
}

void k8s_canary_classify(const struct k8s_config *cfg, const struct k8s_canary_exec *x,
			 struct ledger_append_result *res)
{
	char msg[200];

	res->outcome = LEDGER_OUTCOME_UNKNOWN;
	res->index = res->term = 0;
	res->code[0] = res->message[0] = res->leader[0] = '\0';
	res->http_status = 0;
	res->timed_out = res->refused = 0;
	error_text(msg, sizeof(msg), x->errout);
	if (!x->ran) {
		res->refused = 1;
		set_result(res, LEDGER_OUTCOME_DEFINITE_FAILURE, "CONNECT", "kubectl did not run: %s", msg);
	} else if (x->timed_out) {
		res->timed_out = 1;
		set_result(res, LEDGER_OUTCOME_UNKNOWN, "TIMEOUT", "kubectl exec timed out");
	} else if (x->exit_code == 0) {
		classify_answer(cfg, x->out, res);
		if (res->outcome == LEDGER_OUTCOME_OK)
			res->http_status = 200;
	} else if (x->exit_code >= 64 && x->exit_code <= 64 + 16) {
		int code = x->exit_code - 64;

		/* The ledger answered: the RPC's status decides. */
		res->http_status = 500;
		set_result(res, grpc_code_definite(code) ? LEDGER_OUTCOME_DEFINITE_FAILURE
							 : LEDGER_OUTCOME_UNKNOWN,
			   grpc_code_name(code), "%s: %s", grpc_code_name(code), msg);
	} else if (x->errout && (strstr(x->errout, "Failed to dial target host") ||
				 strstr(x->errout, "Error from server (NotFound)"))) {
		/* grpcurl never connected, or the pod is not there: nothing sent. */
		res->refused = 1;
		set_result(res, LEDGER_OUTCOME_DEFINITE_FAILURE, "CONNECT", "%s", msg);
	} else {
		/* A kubectl exec stream can break after grpcurl sent the write. */
		set_result(res, LEDGER_OUTCOME_UNKNOWN, "UNKNOWN_OUTCOME", "kubectl exec exited %d: %s",
			   x->exit_code, msg);
	}
}

void k8s_canary_classify_call(const struct k8s_config *cfg, int answered_ok, const char *answer,
			      int answered, int grpc_code, int timed_out, int not_sent,
			      const char *message, struct ledger_append_result *res)
{
	res->outcome = LEDGER_OUTCOME_UNKNOWN;
	res->index = res->term = 0;
	res->code[0] = res->message[0] = res->leader[0] = '\0';
	res->http_status = 0;
	res->timed_out = res->refused = 0;
	if (answered_ok) {
		classify_answer(cfg, answer, res);
		if (res->outcome == LEDGER_OUTCOME_OK)
			res->http_status = 200;
	} else if (not_sent) {
		res->refused = 1;
		set_result(res, LEDGER_OUTCOME_DEFINITE_FAILURE, "CONNECT", "%s", message ? message : "");
	} else if (timed_out) {
		res->timed_out = 1;
		set_result(res, LEDGER_OUTCOME_UNKNOWN, "TIMEOUT", "the write's deadline passed");
	} else if (answered) {
		res->http_status = 500;
		set_result(res, grpc_code_definite(grpc_code) ? LEDGER_OUTCOME_DEFINITE_FAILURE
							      : LEDGER_OUTCOME_UNKNOWN,
			   grpc_code_name(grpc_code), "%s: %s", grpc_code_name(grpc_code),
			   message ? message : "");
	} else {
		set_result(res, LEDGER_OUTCOME_UNKNOWN, "UNKNOWN_OUTCOME", "%s", message ? message : "");
	}
}

static void page_add(struct k8s_canary_page *page, uint64_t sequence, uint64_t index)
{
	if (page->n == page->alloc) {
		page->alloc = page->alloc ? page->alloc * 2 : 64;
		page->entries = xrealloc(page->entries, page->alloc * sizeof(*page->entries));
	}
	page->entries[page->n].sequence = sequence;
	page->entries[page->n].index = index;
	page->n++;
}

static int parse_runbook_page(struct k8s_canary_page *page, const char *client_id, json_t *ans,
			      struct dr_error *err)
{
	json_t *entries = json_object_get(ans, "entries"), *e;
	uint64_t last = u64_of(json_object_get(ans, "lastIndex")), top = 0;
	size_t i;

	if (!entries) /* proto3 leaves an empty list out */
		entries = json_array();
	else if (!json_is_array(entries))
		return dr_error_set(err, "Ledger/Read answered entries that are not a list");
	else
		json_incref(entries);
	json_array_foreach(entries, i, e) {
		uint64_t index = u64_of(json_object_get(e, "index"));
		const char *cid = json_string_value(json_object_get(e, "clientId"));

		if (!index) {
			json_decref(entries);
			return dr_error_set(err, "Ledger/Read answered an entry without an index");
		}
		if (index > top)
			top = index;
		if (cid && strcmp(cid, client_id) == 0)
			page_add(page, u64_of(json_object_get(e, "sequence")), index);
	}
	page->more = top > 0 && top < last;
	if (top)
		page->next_from = top + 1;
	json_decref(entries);
	return 0;
}

static void add_v1_entry(const char *client_id, uint64_t sequence, uint64_t version,
			 const char *value_b64, void *payload)
{
	(void)client_id;
	(void)value_b64;
	page_add(payload, sequence, version);
}

static int parse_ledger_v1_page(struct k8s_canary_page *page, const struct k8s_config *cfg,
				const char *client_id, json_t *ans, struct dr_error *err)
{
	struct ledger_v1_scope sc = k8s_canary_scope(cfg);
	char *token = NULL;
	int rc = ledger_v1_parse_page(ans, &sc, client_id, add_v1_entry, page, &token, err);

	page->more = rc == 0 && token && *token;
	str_copy(page->next_token, sizeof(page->next_token), page->more ? token : "");
	if (page->more && strlen(token) >= sizeof(page->next_token))
		rc = dr_error_set(err, "ListEntities answered a page token longer than %zu bytes",
				  sizeof(page->next_token) - 1);
	free(token);
	return rc;
}

int k8s_canary_parse_page(struct k8s_canary_page *page, const struct k8s_config *cfg,
			  const char *client_id, const char *text, struct dr_error *err)
{
	json_error_t jerr;
	json_t *ans = json_loads(text ? text : "", 0, &jerr);
	int rc;

	page->more = 0;
	if (!json_is_object(ans)) {
		json_decref(ans);
		return dr_error_set(err, "the read-back answer is not a JSON object: %s", jerr.text);
	}
	rc = cfg->api == K8S_API_RUNBOOK ? parse_runbook_page(page, client_id, ans, err)
					 : parse_ledger_v1_page(page, cfg, client_id, ans, err);
	json_decref(ans);
	return rc;
}
