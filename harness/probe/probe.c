#include "harness/probe/probe.h"

#include <curl/curl.h>
#include <errno.h>
#include <netdb.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "assertions/expect.h"
#include "assertions/promtext.h"
#include "common/clock.h"
#include "common/numparse.h"
#include "common/proc.h"
#include "common/strbuf.h"
#include "harness/core/journal.h"
#include "harness/plan/duration.h"
#include "harness/plan/plan.h"
#include "harness/probe/probe_ledger.h"

#define PROBE_MAX_BODY (4u << 20)

/* One attempt of a probe kind: fills ok/message/data of out. */
typedef void (*probe_attempt_fn)(struct probe_result *out, struct target *t, json_t *spec,
				 int64_t timeout_ns, const struct action_ctx *ctx);

/* ---- expectations on JSON ----------------------------------------------- */

static const char *const op_keys[] = { "equals", "not_equals", "ne", "matches", "lt", "le",
				       "gt", "ge", NULL };

/* expect.json: [{path: a.b, equals: 3}, ...].  0 when all hold. */
static int check_json_expectations(json_t *root, json_t *list, char *msg, size_t len)
{
	size_t i;
	json_t *item;

	json_array_foreach(list, i, item) {
		const char *path = json_string_value(json_object_get(item, "path"));
		struct dr_error err = DR_ERROR_INIT;
		struct expect_result er;

		for (size_t k = 0; op_keys[k]; k++) {
			json_t *expected = json_object_get(item, op_keys[k]);
			enum expect_op op;

			if (!expected)
				continue;
			if (expect_op_parse(&op, op_keys[k], &err) != 0 ||
			    expect_json_field(&er, root, path, op, expected, &err) != 0) {
				snprintf(msg, len, "%s", err.msg);
				return -1;
			}
			if (!er.passed) {
				snprintf(msg, len, "%s", er.message);
				return -1;
			}
		}
	}
	return 0;
}

static int check_regex(const char *pattern, const char *subject, const char *what,
		       char *msg, size_t len)
{
	struct dr_error err = DR_ERROR_INIT;
	struct expect_result er;

	if (expect_regex_check(&er, pattern, subject, strlen(subject), &err) != 0) {
		snprintf(msg, len, "%s", err.msg);
		return -1;
	}
	if (!er.passed) {
		snprintf(msg, len, "%s: %s", what, er.message);
		return -1;
	}
	return 0;
}

/* ---- http and metric ---------------------------------------------------- */

static size_t collect_body(char *data, size_t size, size_t n, void *payload)
{
	struct strbuf *sb = payload;

	if (sb->len + size * n > PROBE_MAX_BODY)
		return 0;
	strbuf_add(sb, data, size * n);
	return size * n;
}

/* GET/POST url; *status and body filled.  0 when a response came back. */
static int http_fetch(long *status, struct strbuf *body, const char *method, const char *url,
		      json_t *headers, const char *req_body, int64_t timeout_ns, char *msg, size_t len)
{
	CURL *curl = curl_easy_init();
	struct curl_slist *hl = NULL;
	const char *key;
	json_t *val;
	CURLcode rc;
	long ms = (long)(timeout_ns / NS_PER_MS);

	if (!curl) {
		snprintf(msg, len, "cannot initialise libcurl");
		return -1;
	}
	json_object_foreach(headers, key, val) {
		char *h = xasprintf("%s: %s", key, json_string_value(val) ? json_string_value(val) : "");

		hl = curl_slist_append(hl, h);
		free(h);
	}
	curl_easy_setopt(curl, CURLOPT_URL, url);
	curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, method);
	if (strcmp(method, "HEAD") == 0)
		curl_easy_setopt(curl, CURLOPT_NOBODY, 1L);
	if (req_body)
		curl_easy_setopt(curl, CURLOPT_POSTFIELDS, req_body);
	curl_easy_setopt(curl, CURLOPT_HTTPHEADER, hl);
	curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, ms > 0 ? ms : 1L);
	curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, collect_body);
	curl_easy_setopt(curl, CURLOPT_WRITEDATA, body);
	rc = curl_easy_perform(curl);
	if (rc == CURLE_OK)
		curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, status);
	else
		/* libcurl's message names the host, never credentials from the URL. */
		snprintf(msg, len, "request failed: %s", curl_easy_strerror(rc));
	curl_slist_free_all(hl);
	curl_easy_cleanup(curl);
	return rc == CURLE_OK ? 0 : -1;
}

static int status_expected(json_t *want, long status)
{
	size_t i;
	json_t *v;

	if (!want)
		return status >= 200 && status < 300;
	if (json_is_integer(want))
		return json_integer_value(want) == status;
	json_array_foreach(want, i, v)
		if (json_integer_value(v) == status)
			return 1;
	return 0;
}

static void attempt_http(struct probe_result *out, struct target *t, json_t *spec,
			 int64_t timeout_ns, const struct action_ctx *ctx)
{
	struct strbuf body = STRBUF_INIT;
	json_t *expect = json_object_get(spec, "expect");
	const char *method = plan_arg_str(spec, "method");
	const char *regex = plan_arg_str(expect, "body_regex");
	long status = 0;

	(void)t;
	(void)ctx;
	if (http_fetch(&status, &body, method ? method : "GET", plan_arg_str(spec, "url"),
		       json_object_get(spec, "headers"), plan_arg_str(spec, "body"), timeout_ns,
		       out->message, sizeof(out->message)) != 0)
		goto out;
	json_decref(out->data);
	out->data = json_pack("{s:i}", "status", (int)status);
	if (!status_expected(json_object_get(expect, "status"), status)) {
		snprintf(out->message, sizeof(out->message), "HTTP status %ld was not expected", status);
		goto out;
	}
	if (regex && check_regex(regex, strbuf_str(&body), "body", out->message,
				 sizeof(out->message)) != 0)
		goto out;
	if (json_object_get(expect, "json")) {
		json_error_t jerr;
		json_t *doc = json_loads(strbuf_str(&body), JSON_DECODE_ANY, &jerr);

		if (!doc) {
			snprintf(out->message, sizeof(out->message), "body is not JSON: %s", jerr.text);
			goto out;
		}
		if (check_json_expectations(doc, json_object_get(expect, "json"), out->message,
					    sizeof(out->message)) != 0) {
			json_decref(doc);
			goto out;
		}
		json_decref(doc);
	}
	out->ok = 1;
	snprintf(out->message, sizeof(out->message), "HTTP %ld", status);
out:
	strbuf_release(&body);
}

static const char *metric_op_key(const char *op)
{
	return strcmp(op, "eq") == 0 ? "equals" : strcmp(op, "ne") == 0 ? "not_equals" : op;
}

/* Prometheus' query API: GET <url>/api/v1/query?query=<PromQL>; the probe
 * compares the first sample of the instant vector (or the scalar). */
static void query_metric(struct probe_result *out, json_t *spec, const char *op_text,
			 double limit, int64_t timeout_ns)
{
	struct strbuf body = STRBUF_INIT;
	struct dr_error err = DR_ERROR_INIT;
	struct expect_result er;
	const char *base = plan_arg_str(spec, "url"), *query = plan_arg_str(spec, "query");
	CURL *curl = curl_easy_init();
	char *escaped = curl ? curl_easy_escape(curl, query ? query : "", 0) : NULL;
	char *url = NULL;
	json_t *doc = NULL, *result, *value;
	const char *text;
	enum expect_op op;
	double v = 0;
	long status = 0;
	size_t blen = base ? strlen(base) : 0;

	if (!escaped) {
		snprintf(out->message, sizeof(out->message), "cannot build the query URL");
		goto out;
	}
	/* The base may be the server ("http://prom:9090") or the API path. */
	while (blen > 0 && base[blen - 1] == '/')
		blen--;
	if (blen >= 13 && strncmp(base + blen - 13, "/api/v1/query", 13) == 0)
		url = xasprintf("%.*s?query=%s", (int)blen, base, escaped);
	else
		url = xasprintf("%.*s/api/v1/query?query=%s", (int)blen, base, escaped);
	if (http_fetch(&status, &body, "GET", url, NULL, NULL, timeout_ns, out->message,
		       sizeof(out->message)) != 0)
		goto out;
	doc = json_loads(strbuf_str(&body), 0, NULL);
	if (status != 200 || !doc ||
	    strcmp(json_string_value(json_object_get(doc, "status")) ?: "", "success") != 0) {
		snprintf(out->message, sizeof(out->message), "query API answered HTTP %ld: %.300s", status,
			 json_string_value(json_object_get(doc, "error")) ?: strbuf_str(&body));
		goto out;
	}
	result = json_object_get(json_object_get(doc, "data"), "result");
	/* vector: [{"metric":{..},"value":[ts,"v"]}]; scalar: [ts,"v"] */
	value = json_is_array(result) && json_is_object(json_array_get(result, 0))
		? json_object_get(json_array_get(result, 0), "value") : result;
	text = json_string_value(json_array_get(value, 1));
	if (!text) {
		snprintf(out->message, sizeof(out->message), "query '%s' returned no sample", query);
		goto out;
	}
	if (strcmp(text, "NaN") == 0 || parse_double(&v, text) != 0) {
		snprintf(out->message, sizeof(out->message), "query '%s' returned '%s'", query, text);
		goto out;
	}
	if (expect_op_parse(&op, metric_op_key(op_text ? op_text : "eq"), &err) != 0 ||
	    threshold_check(&er, v, op, limit, query, &err) != 0) {
		snprintf(out->message, sizeof(out->message), "%s", err.msg);
		goto out;
	}
	json_decref(out->data);
	out->data = json_pack("{s:f}", "value", v);
	out->ok = er.passed;
	snprintf(out->message, sizeof(out->message), "%s", er.message);
out:
	json_decref(doc);
	free(url);
	curl_free(escaped);
	curl_easy_cleanup(curl);
	strbuf_release(&body);
}

static void attempt_metric(struct probe_result *out, struct target *t, json_t *spec,
			   int64_t timeout_ns, const struct action_ctx *ctx)
{
	struct strbuf body = STRBUF_INIT, filter = STRBUF_INIT;
	struct dr_error err = DR_ERROR_INIT;
	struct expect_result er;
	const char *name = plan_arg_str(spec, "name");
	const char *op_text = plan_arg_str(spec, "op");
	double limit = plan_arg_number(spec, "value", 0), value = 0;
	enum expect_op op;
	const char *key;
	json_t *val;
	long status = 0;

	(void)t;
	(void)ctx;
	if (!name) {
		query_metric(out, spec, op_text, limit, timeout_ns);
		goto out;
	}
	if (http_fetch(&status, &body, "GET", plan_arg_str(spec, "url"), NULL, NULL, timeout_ns,
		       out->message, sizeof(out->message)) != 0)
		goto out;
	if (status != 200) {
		snprintf(out->message, sizeof(out->message), "metrics endpoint answered HTTP %ld", status);
		goto out;
	}
	json_object_foreach(json_object_get(spec, "labels"), key, val) {
		const char *v = json_string_value(val);

		strbuf_addf(&filter, "%s%s=\"", filter.len ? "," : "", key);
		for (; v && *v; v++) {
			if (*v == '"' || *v == '\\')
				strbuf_addch(&filter, '\\');
			strbuf_addch(&filter, *v);
		}
		strbuf_addch(&filter, '"');
	}
	if (promtext_find(&value, strbuf_str(&body), name, strbuf_str(&filter), &err) != 0 ||
	    expect_op_parse(&op, metric_op_key(op_text ? op_text : "eq"), &err) != 0 ||
	    threshold_check(&er, value, op, limit, name, &err) != 0) {
		snprintf(out->message, sizeof(out->message), "%s", err.msg);
		goto out;
	}
	json_decref(out->data);
	out->data = json_pack("{s:f}", "value", value);
	out->ok = er.passed;
	snprintf(out->message, sizeof(out->message), "%s", er.message);
out:
	strbuf_release(&body);
	strbuf_release(&filter);
}

/* ---- tcp ---------------------------------------------------------------- */

static void attempt_tcp(struct probe_result *out, struct target *t, json_t *spec,
			int64_t timeout_ns, const struct action_ctx *ctx)
{
	const char *address = plan_arg_str(spec, "address");
	char host[256], *colon;
	struct addrinfo hints, *res = NULL;
	int fd = -1, rc;

	(void)t;
	(void)ctx;
	if (str_copy(host, sizeof(host), address) != 0 || !(colon = strrchr(host, ':'))) {
		snprintf(out->message, sizeof(out->message), "address '%s' is not host:port", address);
		return;
	}
	*colon = '\0';
	memset(&hints, 0, sizeof(hints));
	hints.ai_socktype = SOCK_STREAM;
	rc = getaddrinfo(host[0] == '[' ? host + 1 : host, colon + 1, &hints, &res);
	if (rc != 0) {
		snprintf(out->message, sizeof(out->message), "cannot resolve '%s': %s", address,
			 gai_strerror(rc));
		return;
	}
	fd = socket(res->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd >= 0 && (connect(fd, res->ai_addr, res->ai_addrlen) == 0 || errno == EINPROGRESS)) {
		struct pollfd pfd = { fd, POLLOUT, 0 };
		int soerr = 0;
		socklen_t slen = sizeof(soerr);

		if (poll(&pfd, 1, (int)(timeout_ns / NS_PER_MS)) == 1 &&
		    getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &slen) == 0 && soerr == 0) {
			out->ok = 1;
			snprintf(out->message, sizeof(out->message), "%s accepts connections", address);
		} else {
			snprintf(out->message, sizeof(out->message), "cannot connect to %s: %s", address,
				 soerr ? strerror(soerr) : "timed out");
		}
	} else {
		snprintf(out->message, sizeof(out->message), "cannot connect to %s: %s", address,
			 strerror(errno));
	}
	if (fd >= 0)
		close(fd);
	freeaddrinfo(res);
}

/* ---- command ------------------------------------------------------------ */

/* A command's environment: ours with the step's env mapping added (NULL
 * when the step has none, so the child inherits ours). */
static char **command_env(const json_t *map)
{
	const char *name;
	json_t *value;
	char **extra, **env;
	size_t n = 0;

	if (!json_is_object(map) || json_object_size(map) == 0)
		return NULL;
	extra = xcalloc(json_object_size(map) + 1, sizeof(*extra));
	json_object_foreach((json_t *)map, name, value)
		extra[n++] = xasprintf("%s=%s", name,
				       json_is_string(value) ? json_string_value(value) : "");
	env = proc_env_with(extra);
	proc_env_free(extra);
	return env;
}

static void attempt_command_with(struct probe_result *out, json_t *spec, json_t *expect,
				 int64_t timeout_ns, const struct action_ctx *ctx)
{
	const char **argv = plan_arg_argv(spec, "argv");
	struct proc_result pr;
	struct dr_error err = DR_ERROR_INIT;
	int64_t want = plan_arg_int(expect, "exit_code", 0);
	const char *out_re = plan_arg_str(expect, "stdout_regex");
	const char *err_re = plan_arg_str(expect, "stderr_regex");
	char *shown, **env;
	int64_t start = clock_mono_ns();
	int rc;

	if (!argv) {
		snprintf(out->message, sizeof(out->message), "no argv");
		return;
	}
	shown = proc_argv_display((char *const *)argv);
	env = command_env(json_object_get(spec, "env"));
	rc = proc_run_in(&pr, (char *const *)argv, plan_arg_str(spec, "stdin"), timeout_ns,
			 1u << 20, plan_arg_str(spec, "cwd"), env, &err);
	proc_env_free(env);
	if (rc != 0) {
		snprintf(out->message, sizeof(out->message), "%s", err.msg);
		goto out;
	}
	if (ctx->journal)
		journal_add_command(ctx->journal, shown, pr.exited ? pr.exit_code : -1, start,
				    pr.elapsed_ns);
	json_decref(out->data);
	out->data = json_pack("{s:s,s:i,s:s,s:s}", "argv", shown,
			      "exit_code", pr.exited ? pr.exit_code : -1,
			      "stdout", pr.out, "stderr", pr.errout);
	if (pr.timed_out)
		snprintf(out->message, sizeof(out->message), "'%s' timed out", shown);
	else if (!pr.exited)
		snprintf(out->message, sizeof(out->message), "'%s' was killed by signal %d", shown,
			 pr.term_signal);
	else if (pr.exit_code != want)
		snprintf(out->message, sizeof(out->message), "'%s' exited with %d, expected %lld%s%.200s",
			 shown, pr.exit_code, (long long)want, pr.errout[0] ? ": " : "", pr.errout);
	else if (out_re && check_regex(out_re, pr.out, "stdout", out->message,
				       sizeof(out->message)) != 0)
		;
	else if (err_re && check_regex(err_re, pr.errout, "stderr", out->message,
				       sizeof(out->message)) != 0)
		;
	else {
		out->ok = 1;
		snprintf(out->message, sizeof(out->message), "'%s' exited with %d", shown, pr.exit_code);
	}
	proc_result_release(&pr);
out:
	free(shown);
	free(argv);
}

static void attempt_command(struct probe_result *out, struct target *t, json_t *spec,
			    int64_t timeout_ns, const struct action_ctx *ctx)
{
	(void)t;
	attempt_command_with(out, spec, json_object_get(spec, "expect"), timeout_ns, ctx);
}

/* ---- cluster_status ------------------------------------------------------ */

static void attempt_cluster_status(struct probe_result *out, struct target *t, json_t *spec,
				   int64_t timeout_ns, const struct action_ctx *ctx)
{
	struct dr_error err = DR_ERROR_INIT;
	json_t *expect = json_object_get(spec, "expect");
	json_t *status = NULL, *leader, *want, *members, *m;
	const char *repl, *region_ref;
	size_t i, up = 0;
	double worst_lag = 0;

	(void)ctx;
	if (t->status(t, &status, timeout_ns, &err) != 0) {
		snprintf(out->message, sizeof(out->message), "%s", err.msg);
		return;
	}
	leader = json_object_get(status, "leader");
	repl = json_string_value(json_object_get(status, "replication"));
	members = json_object_get(status, "members");
	json_array_foreach(members, i, m) {
		const char *state = json_string_value(json_object_get(m, "state"));
		double lag = json_number_value(json_object_get(m, "lag_seconds"));

		if (state && strcmp(state, "unreachable") != 0)
			up++;
		if (lag > worst_lag)
			worst_lag = lag;
	}
	json_decref(out->data);
	out->data = json_pack("{s:O,s:s?,s:O?,s:i}", "leader", leader, "replication", repl,
			      "quorum", json_object_get(status, "quorum"), "members_up", (int)up);
	if ((want = json_object_get(expect, "leader")) && json_is_true(want) != json_is_object(leader)) {
		snprintf(out->message, sizeof(out->message), json_is_true(want) ? "no leader" :
			 "a leader is present, expected none");
		goto out;
	}
	if ((region_ref = plan_arg_str(expect, "leader_region"))) {
		const char *name = t->resolve_region ? t->resolve_region(t, region_ref) : region_ref;
		const char *lr = json_string_value(json_object_get(leader, "region"));
		const char *lrole = json_string_value(json_object_get(leader, "region_role"));

		if (!lr || !((name && strcmp(lr, name) == 0) || (lrole && strcmp(lrole, region_ref) == 0))) {
			snprintf(out->message, sizeof(out->message), "leader is in region %s, expected %s",
				 lr ? lr : "(none)", region_ref);
			goto out;
		}
	}
	if ((want = json_object_get(expect, "quorum")) &&
	    json_is_true(want) != json_is_true(json_object_get(status, "quorum"))) {
		snprintf(out->message, sizeof(out->message), "quorum is %s",
			 json_is_true(json_object_get(status, "quorum")) ? "present" : "lost");
		goto out;
	}
	if ((want = json_object_get(expect, "replicated")) &&
	    json_is_true(want) != (repl && strcmp(repl, "Fully replicated") == 0)) {
		snprintf(out->message, sizeof(out->message), "replication: %s", repl ? repl : "unknown");
		goto out;
	}
	if (json_object_get(expect, "max_lag") &&
	    worst_lag * 1e9 > (double)plan_arg_duration_ns(expect, "max_lag", 0)) {
		snprintf(out->message, sizeof(out->message), "largest lag %.3fs is over the limit", worst_lag);
		goto out;
	}
	if ((want = json_object_get(expect, "members_up")) && (json_int_t)up < json_integer_value(want)) {
		snprintf(out->message, sizeof(out->message), "%zu members answer, expected at least %lld",
			 up, (long long)json_integer_value(want));
		goto out;
	}
	out->ok = 1;
	if (json_is_object(leader))
		snprintf(out->message, sizeof(out->message), "leader %lld in %s, %s",
			 (long long)json_integer_value(json_object_get(leader, "id")),
			 json_string_value(json_object_get(leader, "region")) ?: "?",
			 repl ? repl : "replication unknown");
	else
		snprintf(out->message, sizeof(out->message), "no leader, as expected");
out:
	json_decref(status);
}

/* ---- the retry loop ----------------------------------------------------- */

static const struct {
	const char *kind;
	probe_attempt_fn fn;
} probe_kinds[] = {
	{ "http", attempt_http },
	{ "tcp", attempt_tcp },
	{ "write_read", probe_ledger_write_read },
	{ "cluster_status", attempt_cluster_status },
	{ "metric", attempt_metric },
	{ "command", attempt_command },
};

void probe_run(struct probe_result *out, struct target *t, json_t *spec,
	       const struct action_ctx *ctx)
{
	const char *kind = plan_arg_str(spec, "type");
	const char *name = plan_arg_str(spec, "name");
	int64_t retries = plan_arg_int(spec, "retries", 2);
	int64_t interval = plan_arg_duration_ns(spec, "interval", NS_PER_SEC);
	int64_t timeout = plan_arg_duration_ns(spec, "timeout", 5 * NS_PER_SEC);
	probe_attempt_fn fn = NULL;

	memset(out, 0, sizeof(*out));
	snprintf(out->kind, sizeof(out->kind), "%s", kind ? kind : "?");
	snprintf(out->name, sizeof(out->name), "%s", name ? name : out->kind);
	out->start_ns = clock_mono_ns();
	for (size_t i = 0; kind && i < sizeof(probe_kinds) / sizeof(probe_kinds[0]); i++)
		if (strcmp(probe_kinds[i].kind, kind) == 0)
			fn = probe_kinds[i].fn;
	if (!fn) {
		snprintf(out->message, sizeof(out->message), "unknown probe type '%s'", kind ? kind : "");
		return;
	}
	for (int64_t attempt = 0; attempt <= retries; attempt++) {
		int64_t budget = timeout;

		if (ctx->deadline_ns) {
			int64_t left = ctx->deadline_ns - clock_mono_ns();

			if (left <= 0 && attempt > 0)
				break;
			if (left > 0 && left < budget)
				budget = left;
		}
		out->attempts++;
		out->ok = 0;
		fn(out, t, spec, budget, ctx);
		if (out->ok || attempt == retries || action_ctx_cancelled(ctx))
			break;
		if (action_ctx_sleep(ctx, interval))
			break;
	}
	out->duration_ns = clock_mono_ns() - out->start_ns;
	if (!out->ok && out->attempts > 1) {
		char last[sizeof(out->message)];

		memcpy(last, out->message, sizeof(last));
		snprintf(out->message, sizeof(out->message), "%.900s (after %d attempts)", last,
			 out->attempts);
	}
}

void probe_run_command(struct probe_result *out, struct target *t, json_t *args,
		       json_t *expect, const struct action_ctx *ctx)
{
	int64_t budget = ctx->deadline_ns ? ctx->deadline_ns - clock_mono_ns() : 0;

	(void)t;
	memset(out, 0, sizeof(*out));
	snprintf(out->kind, sizeof(out->kind), "command");
	snprintf(out->name, sizeof(out->name), "%s", ctx->step_name ? ctx->step_name : "exec");
	out->start_ns = clock_mono_ns();
	out->attempts = 1;
	attempt_command_with(out, args, expect, budget > 0 ? budget : 0, ctx);
	out->duration_ns = clock_mono_ns() - out->start_ns;
}

/* ---- abort_when --------------------------------------------------------- */

int probe_abort_condition(struct abort_check *out, struct target *t, json_t *cond,
			  const struct action_ctx *ctx)
{
	json_t *probe = json_object_get(cond, "probe");

	out->holds = 1;
	out->message[0] = '\0';
	if (json_object_get(cond, "no_leader_for")) {
		struct dr_error err = DR_ERROR_INIT;
		json_t *status = NULL;
		char d[32];

		out->for_ns = plan_arg_duration_ns(cond, "no_leader_for", 0);
		duration_format(d, sizeof(d), out->for_ns);
		if (t->status(t, &status, NS_PER_SEC, &err) != 0) {
			out->holds = 0;
			snprintf(out->message, sizeof(out->message), "no leader for %s (%.300s)", d, err.msg);
			return 0;
		}
		out->holds = json_is_object(json_object_get(status, "leader"));
		snprintf(out->message, sizeof(out->message), "no leader for %s", d);
		json_decref(status);
		return 0;
	}
	if (json_is_object(probe)) {
		struct probe_result pr = PROBE_RESULT_INIT;
		json_t *once = json_deep_copy(probe);

		json_object_set_new(once, "retries", json_integer(0));
		out->for_ns = plan_arg_duration_ns(cond, "for", 0);
		probe_run(&pr, t, once, ctx);
		out->holds = pr.ok;
		snprintf(out->message, sizeof(out->message), "probe '%s' failed: %.300s", pr.name,
			 pr.message);
		probe_result_release(&pr);
		json_decref(once);
		return 0;
	}
	return -1;
}
