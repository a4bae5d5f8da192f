/* junit.xml: one <testsuite> per drill; steady-state checks, steps and
 * objectives are test cases, so a CI system shows what failed without
 * opening report.md.  It follows the Jenkins JUnit schema's rules
 * (tests/data/junit/jenkins-junit.xsd says which): no skipped count on
 * <testsuites>, <skipped> without attributes, no <properties> in a case (an
 * objective's figures go in its <system-out>).  One cause is one failure:
 * the "drill.verdict" case fails only when no other case carries the run's
 * reason (an abort or an error always does: the run itself broke). */
#include <ctype.h>
#include <string.h>

#include "reports/redact.h"
#include "reports/render.h"
#include "reports/reports.h"

struct junit_case {
	const char *classname;
	const char *name;
	double time_s;
	const char *kind;      /* NULL: passed; "failure", "error" or "skipped" */
	const char *type;      /* failure/error type (NULL: the kind) */
	const char *message;
	const char *body;      /* failure/error details, or why it was skipped */
	const char *out;       /* <system-out>, or NULL */
};

static void emit_case(struct strbuf *sb, const char *drill, const struct junit_case *c)
{
	strbuf_adds(sb, "    <testcase classname=\"");
	xml_escape(sb, drill);
	strbuf_addch(sb, '.');
	xml_escape(sb, c->classname);
	strbuf_adds(sb, "\" name=\"");
	xml_escape(sb, c->name);
	strbuf_addf(sb, "\" time=\"%.3f\"", c->time_s < 0 ? 0 : c->time_s);
	if (!c->kind && !c->out) {
		strbuf_adds(sb, "/>\n");
		return;
	}
	strbuf_adds(sb, ">\n");
	if (c->kind && strcmp(c->kind, "skipped") == 0) {
		/* The schema's <skipped> is text only: the reason is its text. */
		strbuf_adds(sb, "      <skipped>");
		xml_escape(sb, c->message ? c->message : "");
		strbuf_adds(sb, "</skipped>\n");
	} else if (c->kind) {
		strbuf_addf(sb, "      <%s type=\"", c->kind);
		xml_escape(sb, c->type ? c->type : c->kind);
		strbuf_adds(sb, "\" message=\"");
		xml_escape(sb, c->message ? c->message : c->kind);
		strbuf_adds(sb, "\"");
		if (c->body) {
			strbuf_adds(sb, ">");
			xml_escape(sb, c->body);
			strbuf_addf(sb, "</%s>\n", c->kind);
		} else {
			strbuf_adds(sb, "/>\n");
		}
	}
	if (c->out) {
		strbuf_adds(sb, "      <system-out>");
		xml_escape(sb, c->out);
		strbuf_adds(sb, "</system-out>\n");
	}
	strbuf_adds(sb, "    </testcase>\n");
}

struct junit_counts {
	int tests, failures, errors, skipped;
};

static void count(struct junit_counts *n, const struct junit_case *c)
{
	n->tests++;
	if (!c->kind)
		return;
	if (!strcmp(c->kind, "failure"))
		n->failures++;
	else if (!strcmp(c->kind, "error"))
		n->errors++;
	else
		n->skipped++;
}

/* An objective's figures, exactly as the journal has them, for a CI tool
 * or a reader that needs more than pass/fail. */
static void objective_out(struct strbuf *out, const json_t *o)
{
	const char *unit = j_str_or(o, "unit", "");
	static const char *const keys[] = { "measured", "limit", "margin" };
	double v;

	for (size_t k = 0; k < 3; k++) {
		strbuf_addf(out, "%s: ", keys[k]);
		if (j_num(o, keys[k], &v)) {
			fmt_num(out, v);
			if (*unit)
				strbuf_addf(out, " %s", unit);
		} else {
			strbuf_adds(out, k == 0 ? "not measured" : "n/a");
		}
		strbuf_addch(out, '\n');
	}
	/* A failed one's message is its <failure>'s. */
	strbuf_addf(out, "result: %s", json_is_true(json_object_get(o, "passed")) ? "passed" : "failed");
}

/* Cases are rendered twice: once to count (the suite's attributes come
 * first), once to write. */
static void walk(struct strbuf *sb, struct junit_counts *n, const json_t *j, const char *drill)
{
	const json_t *ss = j_obj(j, "steady_state"), *arr, *o;
	const char *phases[] = { "before", "after" };
	const char *status = j_str_or(j, "status", "error");
	struct junit_case c;
	size_t i;
	double v;
	int failed_before;

	for (size_t p = 0; p < 2; p++) {
		arr = j_arr(ss, phases[p]);
		json_array_foreach(arr, i, o) {
			struct strbuf cls = STRBUF_INIT;
			int ok = json_is_true(json_object_get(o, "ok"));

			strbuf_addf(&cls, "steady_state.%s", phases[p]);
			memset(&c, 0, sizeof(c));
			c.classname = cls.buf;
			c.name = j_str_or(o, "name", "?");
			c.time_s = j_num(o, "duration_ms", &v) ? v / 1000.0 : 0;
			c.kind = ok ? NULL : "failure";
			c.type = "steady_state";
			c.message = j_str_or(o, "message", "steady-state check failed");
			if (sb)
				emit_case(sb, drill, &c);
			count(n, &c);
			strbuf_release(&cls);
		}
	}
	arr = j_arr(j, "steps");
	json_array_foreach(arr, i, o) {
		const char *res = j_str_or(o, "result", "failed");
		struct strbuf cls = STRBUF_INIT, msg = STRBUF_INIT;

		strbuf_addf(&cls, "%s", j_str_or(o, "phase", "steps"));
		memset(&c, 0, sizeof(c));
		c.classname = cls.buf;
		c.name = j_str_or(o, "name", "?");
		c.time_s = j_num(o, "duration_ms", &v) ? v / 1000.0 : 0;
		if (!strcmp(res, "ok")) {
			c.kind = NULL;
		} else if (!strcmp(res, "skipped")) {
			c.kind = "skipped";
			c.message = j_str_or(o, "message", "skipped");
		} else {
			c.kind = "failure";
			c.type = res;
			strbuf_addf(&msg, "step %s: %s", res, j_str_or(o, "message", "no message"));
			c.message = msg.buf;
		}
		if (sb)
			emit_case(sb, drill, &c);
		count(n, &c);
		strbuf_release(&cls);
		strbuf_release(&msg);
	}
	arr = j_arr(j, "objectives");
	json_array_foreach(arr, i, o) {
		struct strbuf msg = STRBUF_INIT, out = STRBUF_INIT;
		const char *unit = j_str(o, "unit");

		memset(&c, 0, sizeof(c));
		c.classname = "objectives";
		c.name = j_str_or(o, "name", "?");
		objective_out(&out, o);
		c.out = out.buf;
		if (!json_is_true(json_object_get(o, "passed"))) {
			c.kind = "failure";
			c.type = "objective";
			strbuf_adds(&msg, j_str_or(o, "message", "objective failed"));
			strbuf_adds(&msg, " (limit ");
			if (j_num(o, "limit", &v))
				fmt_unit(&msg, v, unit);
			else
				strbuf_adds(&msg, "n/a");
			strbuf_adds(&msg, ", measured ");
			if (j_num(o, "measured", &v))
				fmt_unit(&msg, v, unit);
			else
				strbuf_adds(&msg, "nothing");
			strbuf_adds(&msg, ")");
			c.message = msg.buf;
		}
		if (sb)
			emit_case(sb, drill, &c);
		count(n, &c);
		strbuf_release(&msg);
		strbuf_release(&out);
	}
	/* A failed run whose reason a case above already carries (an objective,
	 * a step, a steady-state check) would count that cause twice. */
	failed_before = n->failures + n->errors > 0;
	if (!strcmp(status, "failed") && failed_before)
		return;
	memset(&c, 0, sizeof(c));
	c.classname = "drill";
	c.name = "verdict";
	c.time_s = j_num(j, "duration_ms", &v) ? v / 1000.0 : 0;
	if (strcmp(status, "passed") != 0) {
		c.kind = strcmp(status, "failed") == 0 ? "failure" : "error";
		c.type = status;
		c.message = j_str_or(j, "reason", status);
		c.body = j_str(j, "reason");
	}
	if (sb)
		emit_case(sb, drill, &c);
	count(n, &c);
}

/* RFC 3339 with a zone (Z or +hh:mm), as the journal writes started_at;
 * anything else is left out rather than written without its zone. */
static int zoned_timestamp(const char *ts)
{
	size_t n = strlen(ts);

	if (n < 20 || ts[4] != '-' || ts[7] != '-' || ts[10] != 'T' || ts[13] != ':' || ts[16] != ':')
		return 0;
	for (size_t k = 0; k < 19; k++)
		if (k != 4 && k != 7 && k != 10 && k != 13 && k != 16 && !isdigit((unsigned char)ts[k]))
			return 0;
	if (ts[n - 1] == 'Z')
		return 1;
	return n >= 25 && (ts[n - 6] == '+' || ts[n - 6] == '-') && ts[n - 3] == ':';
}

char *report_render_junit(const json_t *journal)
{
	json_t *j = redact_json(journal);
	struct strbuf sb = STRBUF_INIT;
	struct junit_counts n = { 0 }, unused = { 0 };
	const json_t *drill = j_obj(j, "drill"), *target = j_obj(j, "target");
	const char *name = j_str_or(drill, "name", "drill");
	const char *ts = j_str_or(j, "started_at", "");
	double dur = 0;
	char *out;

	j_num(j, "duration_ms", &dur);
	walk(NULL, &n, j, name);
	strbuf_adds(&sb, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
	/* The schema has no skipped count on <testsuites>: it is the suite's. */
	strbuf_addf(&sb, "<testsuites name=\"drillrig\" tests=\"%d\" failures=\"%d\" errors=\"%d\" time=\"%.3f\">\n",
		    n.tests, n.failures, n.errors, dur / 1000.0);
	strbuf_adds(&sb, "  <testsuite name=\"");
	xml_escape(&sb, name);
	strbuf_addf(&sb, "\" tests=\"%d\" failures=\"%d\" errors=\"%d\" skipped=\"%d\" time=\"%.3f\"",
		    n.tests, n.failures, n.errors, n.skipped, dur / 1000.0);
	if (zoned_timestamp(ts)) {
		strbuf_adds(&sb, " timestamp=\"");
		xml_escape(&sb, ts);
		strbuf_adds(&sb, "\"");
	}
	strbuf_adds(&sb, " hostname=\"");
	xml_escape(&sb, j_str_or(j_obj(j, "environment"), "hostname", "unknown"));
	strbuf_adds(&sb, "\">\n    <properties>\n");
#define PROP(k, v) do { \
		strbuf_adds(&sb, "      <property name=\"" k "\" value=\""); \
		xml_escape(&sb, (v)); \
		strbuf_adds(&sb, "\"/>\n"); \
	} while (0)
	PROP("status", j_str_or(j, "status", "unknown"));
	if (j_str(j, "reason"))
		PROP("reason", j_str(j, "reason"));
	PROP("target.kind", j_str_or(target, "kind", "unknown"));
	PROP("target.description", j_str_or(target, "description", ""));
	PROP("runner_class", j_str_or(j, "runner_class", ""));
	PROP("tool.version", j_str_or(j_obj(j, "tool"), "version", ""));
	PROP("tool.revision", j_str_or(j_obj(j, "tool"), "revision", ""));
	PROP("started_at", ts);
#undef PROP
	strbuf_adds(&sb, "    </properties>\n");
	walk(&sb, &unused, j, name);
	strbuf_adds(&sb, "  </testsuite>\n</testsuites>\n");
	json_decref(j);
	out = redact_text(sb.buf);
	strbuf_release(&sb);
	return out;
}
