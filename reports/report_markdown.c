/* report.md: the run as a reviewer reads it on GitHub, from the journal
 * alone.  Order: verdict and (when not passed) the one-sentence reason,
 * the headline (RTO, RPO, the previous run and the last pass), objectives,
 * timeline, steps, steady state, workload, events, cluster, commands,
 * environment, plan. */
#include <stdlib.h>
#include <string.h>

#include "reports/redact.h"
#include "reports/render.h"
#include "reports/report_sections.h"
#include "reports/reports.h"

static void report_steps(struct strbuf *sb, const json_t *j)
{
	const json_t *steps = j_arr(j, "steps"), *s;
	size_t i;
	double v;

	strbuf_adds(sb, "## Steps\n\n");
	if (json_array_size(steps) == 0) {
		strbuf_adds(sb, "No step ran.\n\n");
		return;
	}
	strbuf_adds(sb, "| # | Step | Phase | Action | Start | Duration | Result | Message |\n");
	strbuf_adds(sb, "|---:|---|---|---|---:|---:|---|---|\n");
	json_array_foreach(steps, i, s) {
		const char *res = j_str_or(s, "result", "?");

		strbuf_addf(sb, "| %zu | ", i + 1);
		md_cell(sb, j_str_or(s, "name", "?"));
		if (json_is_true(json_object_get(s, "fault")))
			strbuf_adds(sb, " (fault)");
		strbuf_adds(sb, " | ");
		md_cell(sb, j_str_or(s, "phase", "steps"));
		strbuf_adds(sb, " | ");
		md_cell(sb, j_str_or(s, "action", ""));
		strbuf_adds(sb, " | ");
		if (j_num(s, "start_ms", &v))
			fmt_offset(sb, v);
		strbuf_adds(sb, " | ");
		if (j_num(s, "duration_ms", &v))
			fmt_ms(sb, v);
		strbuf_adds(sb, " | ");
		if (strcmp(res, "ok") == 0)
			strbuf_adds(sb, "ok");
		else {
			strbuf_adds(sb, "**");
			md_cell(sb, res);
			strbuf_adds(sb, "**");
		}
		strbuf_adds(sb, " | ");
		md_cell(sb, j_str_or(s, "message", ""));
		strbuf_adds(sb, " |\n");
	}
	strbuf_addch(sb, '\n');
}

static void steady_rows(struct strbuf *sb, const json_t *arr, const char *when)
{
	size_t i;
	json_t *c;
	double v;

	json_array_foreach(arr, i, c) {
		strbuf_addf(sb, "| %s | ", when);
		md_cell(sb, j_str_or(c, "name", "?"));
		strbuf_adds(sb, " | ");
		md_cell(sb, j_str_or(c, "kind", ""));
		strbuf_addf(sb, " | %s | ", json_is_true(json_object_get(c, "ok")) ? "ok" : "**failed**");
		if (j_num(c, "attempts", &v))
			fmt_num(sb, v);
		strbuf_adds(sb, " | ");
		md_cell(sb, j_str_or(c, "message", ""));
		strbuf_adds(sb, " |\n");
	}
}

static void report_steady_state(struct strbuf *sb, const json_t *j)
{
	const json_t *ss = j_obj(j, "steady_state");
	const json_t *before = j_arr(ss, "before"), *after = j_arr(ss, "after");

	if (json_array_size(before) + json_array_size(after) == 0)
		return;
	strbuf_adds(sb, "## Steady state\n\n");
	strbuf_adds(sb, "| When | Check | Kind | Result | Attempts | Message |\n");
	strbuf_adds(sb, "|---|---|---|---|---:|---|\n");
	steady_rows(sb, before, "before");
	steady_rows(sb, after, "after");
	strbuf_addch(sb, '\n');
}

static void metric_row_ms(struct strbuf *sb, const char *label, const json_t *m, const char *key)
{
	double v;

	strbuf_addf(sb, "| %s | ", label);
	if (j_num(m, key, &v))
		fmt_ms(sb, v);
	else
		strbuf_adds(sb, "not measured");
	strbuf_adds(sb, " |\n");
}

static void metric_row_count(struct strbuf *sb, const char *label, const json_t *o, const char *key)
{
	double v;

	strbuf_addf(sb, "| %s | ", label);
	if (j_num(o, key, &v))
		fmt_num(sb, v);
	else
		strbuf_adds(sb, "n/a");
	strbuf_adds(sb, " |\n");
}

static void seq_list(struct strbuf *sb, const json_t *m, const char *key, const char *label)
{
	const json_t *arr = j_arr(m, key);
	size_t i;
	json_t *v;

	if (json_array_size(arr) == 0)
		return;
	strbuf_addf(sb, "\n%s (first %zu): ", label, json_array_size(arr));
	json_array_foreach(arr, i, v) {
		if (i)
			strbuf_adds(sb, ", ");
		if (json_is_number(v))
			fmt_num(sb, json_number_value(v));
		else if (json_is_string(v))
			md_cell(sb, json_string_value(v));
	}
	strbuf_addch(sb, '\n');
}

/* Every window without successful writes, when there was more than one or
 * one that never recovered (a single recovered one is the RTO row). */
static void outage_table(struct strbuf *sb, const json_t *m)
{
	const json_t *list = j_arr(m, "outages"), *o;
	size_t i, n = json_array_size(list);
	double v;

	if (n == 0 || (n == 1 && json_is_true(json_object_get(json_array_get(list, 0), "recovered"))))
		return;
	strbuf_addf(sb, "\nOutage windows (%zu):\n\n| # | Start | End | Duration | Recovered |\n"
		    "|---:|---:|---:|---:|---|\n", n);
	json_array_foreach(list, i, o) {
		strbuf_addf(sb, "| %zu | ", i + 1);
		if (j_num(o, "start_ms", &v))
			fmt_offset(sb, v);
		strbuf_adds(sb, " | ");
		if (j_num(o, "end_ms", &v))
			fmt_offset(sb, v);
		else
			strbuf_adds(sb, "never");
		strbuf_adds(sb, " | ");
		if (j_num(o, "duration_ms", &v))
			fmt_ms(sb, v);
		strbuf_addf(sb, " | %s |\n", json_is_true(json_object_get(o, "recovered")) ? "yes" : "**no**");
	}
}

/* What a reader must know to trust the figures below. */
static const char *mode_explained(const char *mode)
{
	if (strcmp(mode, "canary") == 0)
		return " (no workload reached the ledger: RTO and promotion come from the cluster "
		       "status; RPO from sparse canary writes read back after the drill)";
	if (strcmp(mode, "status-only") == 0)
		return " (no writes: RTO and promotion come from the cluster status; RPO was not "
		       "measured)";
	return "";
}

static void report_workload(struct strbuf *sb, const json_t *j)
{
	const json_t *m = j_obj(j, "measurements");
	const json_t *w = j_obj(m, "writes"), *lat = j_obj(m, "latency_ms");
	double v;

	strbuf_adds(sb, "## Workload and measurements\n\n");
	if (!m) {
		strbuf_adds(sb, "No measurements recorded.\n\n");
		return;
	}
	strbuf_adds(sb, "Workload mode: ");
	md_cell(sb, j_str_or(m, "workload_mode", "unknown"));
	strbuf_adds(sb, mode_explained(j_str_or(m, "workload_mode", "")));
	strbuf_adds(sb, ".\n\n| Measurement | Value |\n|---|---:|\n");
	strbuf_adds(sb, "| RTO | ");
	if (j_num(m, "rto_ms", &v)) {
		fmt_ms(sb, v);
		if (j_str(m, "rto_note")) {
			strbuf_adds(sb, " (");
			md_cell(sb, j_str(m, "rto_note"));
			strbuf_adds(sb, ")");
		}
	} else {
		md_cell(sb, j_str_or(m, "rto_note", "not measured"));
	}
	strbuf_adds(sb, " |\n");
	metric_row_ms(sb, "Unavailable", m, "unavailable_ms");
	metric_row_ms(sb, "Promotion", m, "promotion_ms");
	metric_row_ms(sb, "Resync", m, "resync_ms");
	metric_row_ms(sb, "Max replication lag", m, "max_lag_ms");
	metric_row_count(sb, "RPO: lost acknowledged writes", m, "rpo_lost_writes");
	strbuf_adds(sb, "| RPO window | ");
	if (j_num(m, "rpo_seconds", &v))
		strbuf_addf(sb, "%.2f s", v);
	else
		strbuf_adds(sb, "n/a");
	strbuf_adds(sb, " |\n");
	metric_row_count(sb, "Writes ok", w, "ok");
	metric_row_count(sb, "Writes failed", w, "failed");
	metric_row_count(sb, "Writes unknown (timed out)", w, "unknown");
	metric_row_count(sb, "Unknown writes present afterwards", w, "unknown_present");
	metric_row_count(sb, "Lost writes", w, "lost");
	metric_row_count(sb, "Duplicated writes", w, "duplicated");
	metric_row_count(sb, "Failed writes present anyway", w, "definite_failed_present");
	metric_row_count(sb, "Reordered writes", w, "reordered");
	if (json_object_get(w, "unexpected"))
		metric_row_count(sb, "Unexpected entries (never sent)", w, "unexpected");
	metric_row_ms(sb, "Latency p50", lat, "p50");
	metric_row_ms(sb, "Latency p99", lat, "p99");
	metric_row_ms(sb, "Latency max", lat, "max");
	strbuf_adds(sb, "| Availability | ");
	if (j_num(m, "availability", &v)) {
		double window, down;

		strbuf_addf(sb, "%.2f %%", v * 100.0);
		/* A percentage means nothing without what it is of. */
		if (j_num(m, "write_window_ms", &window)) {
			strbuf_adds(sb, " of ");
			fmt_ms(sb, window);
			strbuf_adds(sb, " of writes");
			if (j_num(m, "unavailable_ms", &down)) {
				strbuf_adds(sb, " (");
				fmt_ms(sb, down);
				strbuf_adds(sb, " without a successful write)");
			}
		}
	} else {
		strbuf_adds(sb, "n/a");
	}
	strbuf_adds(sb, " |\n");
	/* Over before the first fault: shown, but not the fault's outage and
	 * not in the unavailable time above. */
	if (json_array_size(j_arr(m, "pre_fault_blips")) > 0) {
		strbuf_addf(sb, "| Pre-fault blips (not counted) | %zu",
			    json_array_size(j_arr(m, "pre_fault_blips")));
		if (j_num(m, "pre_fault_blips_ms", &v)) {
			strbuf_adds(sb, ", ");
			fmt_ms(sb, v);
			strbuf_adds(sb, " in all");
		}
		strbuf_adds(sb, " |\n");
	}
	report_unsafe_promotion(sb, m);
	report_phases(sb, m);
	outage_table(sb, m);
	seq_list(sb, m, "lost_sequences", "Lost sequence numbers");
	seq_list(sb, m, "duplicated_sequences", "Duplicated sequence numbers");
	strbuf_adds(sb, "\n![Write latency over time](" REPORT_FILE_CHART ")\n\n");
}

/* The leader as GetClusterStatus gives it ({"id", "region"}) or a bare id. */
static void cluster_leader(struct strbuf *sb, const json_t *c)
{
	json_t *l = json_object_get(c, "leader");
	double v;

	if (json_is_number(l)) {
		fmt_num(sb, json_number_value(l));
	} else if (json_is_object(l) && j_num(l, "id", &v)) {
		fmt_num(sb, v);
		if (j_str(l, "region")) {
			strbuf_adds(sb, " (");
			md_cell(sb, j_str(l, "region"));
			strbuf_adds(sb, ")");
		}
	} else {
		strbuf_adds(sb, "none");
	}
}

static void member_lag(struct strbuf *sb, const json_t *mb)
{
	double v;
	int any = 0;

	if (j_num(mb, "lag_entries", &v)) {
		fmt_num(sb, v);
		strbuf_adds(sb, v == 1 ? " entry" : " entries");
		any = 1;
	}
	if (j_num(mb, "lag_seconds", &v)) {
		strbuf_addf(sb, any ? " (%.3f s)" : "%.3f s", v);
		any = 1;
	} else if (j_num(mb, "lag_ms", &v)) {
		if (any)
			strbuf_adds(sb, " (");
		fmt_ms(sb, v);
		if (any)
			strbuf_adds(sb, ")");
		any = 1;
	}
	if (!any)
		strbuf_adds(sb, "n/a");
}

static void cluster_table(struct strbuf *sb, const json_t *c, const char *title)
{
	const json_t *members;
	size_t i;
	json_t *mb;
	double v;

	strbuf_addf(sb, "### %s\n\n", title);
	if (!json_is_object(c)) {
		strbuf_adds(sb, "Not recorded.\n\n");
		return;
	}
	strbuf_adds(sb, "Leader: ");
	cluster_leader(sb, c);
	if (j_num(c, "term", &v)) {
		strbuf_adds(sb, ", term ");
		fmt_num(sb, v);
	}
	if (j_num(c, "commit_index", &v)) {
		strbuf_adds(sb, ", commit index ");
		fmt_num(sb, v);
	}
	if (json_is_boolean(json_object_get(c, "quorum")))
		strbuf_adds(sb, json_is_true(json_object_get(c, "quorum")) ? ", quorum" : ", **no quorum**");
	if (j_str(c, "replication")) {
		strbuf_adds(sb, ", replication: ");
		md_cell(sb, j_str(c, "replication"));
	}
	strbuf_adds(sb, ".\n\n");
	members = j_arr(c, "members");
	if (json_array_size(members) == 0)
		return;
	strbuf_adds(sb, "| Member | Region | Role | State | Process | Match index | Lag |\n"
		    "|---:|---|---|---|---|---:|---:|\n");
	json_array_foreach(members, i, mb) {
		json_t *id = json_object_get(mb, "id");

		strbuf_adds(sb, "| ");
		if (json_is_number(id))
			fmt_num(sb, json_number_value(id));
		else
			md_cell(sb, json_string_value(id));
		strbuf_adds(sb, " | ");
		md_cell(sb, j_str_or(mb, "region", ""));
		strbuf_adds(sb, " | ");
		md_cell(sb, j_str_or(mb, "role", ""));
		strbuf_adds(sb, " | ");
		md_cell(sb, j_str_or(mb, "state", ""));
		strbuf_adds(sb, " | ");
		md_cell(sb, j_str_or(mb, "process", ""));
		strbuf_adds(sb, " | ");
		if (j_num(mb, "match_index", &v))
			fmt_num(sb, v);
		else
			strbuf_adds(sb, "n/a");
		strbuf_adds(sb, " | ");
		member_lag(sb, mb);
		strbuf_adds(sb, " |\n");
	}
	strbuf_addch(sb, '\n');
}

static void report_cluster(struct strbuf *sb, const json_t *j)
{
	strbuf_adds(sb, "## Cluster\n\n");
	cluster_table(sb, json_object_get(j, "cluster_before"), "Before the first fault");
	cluster_table(sb, json_object_get(j, "cluster_after"), "After the last restore");
}

#define MAX_FAILED_LISTED 10

static void report_commands(struct strbuf *sb, const json_t *j)
{
	const json_t *cmds = j_arr(j, "commands"), *c;
	size_t i, listed = 0;
	double v;

	if (json_array_size(cmds) == 0)
		return;
	strbuf_adds(sb, "## Commands run against the target\n\n");
	strbuf_adds(sb, "| Start | Exit | Duration | Command |\n|---:|---:|---:|---|\n");
	json_array_foreach(cmds, i, c) {
		strbuf_adds(sb, "| ");
		if (j_num(c, "t_ms", &v))
			fmt_offset(sb, v);
		strbuf_adds(sb, " | ");
		if (j_num(c, "exit_code", &v)) {
			if (v != 0)
				strbuf_adds(sb, "**");
			fmt_num(sb, v);
			if (v != 0)
				strbuf_adds(sb, "**");
		}
		strbuf_adds(sb, " | ");
		if (j_num(c, "duration_ms", &v))
			fmt_ms(sb, v);
		strbuf_adds(sb, " | ");
		md_code(sb, j_str_or(c, "argv", ""));
		strbuf_adds(sb, " |\n");
	}
	strbuf_addch(sb, '\n');
	/* Why a command failed, in the tool's own words (the journal has the
	 * whole stderr). */
	json_array_foreach(cmds, i, c) {
		const char *err = j_str(c, "stderr");
		char line[300];
		size_t n;

		if (!err || !j_num(c, "exit_code", &v) || v == 0 || ++listed > MAX_FAILED_LISTED)
			continue;
		/* grpcurl's first line is "ERROR:"; its Message: line says why. */
		if (strstr(err, "Message:"))
			err = strstr(err, "Message:") + 8;
		err += strspn(err, " \t\r\n");
		n = strcspn(err, "\r\n");
		if (n >= sizeof(line))
			n = sizeof(line) - 1;
		while (n > 0 && ((unsigned char)err[n] & 0xc0) == 0x80)
			n--; /* never cut a UTF-8 character */
		memcpy(line, err, n);
		line[n] = '\0';
		strbuf_adds(sb, "- exit ");
		fmt_num(sb, v);
		strbuf_adds(sb, " at ");
		if (j_num(c, "t_ms", &v))
			fmt_offset(sb, v);
		strbuf_adds(sb, ": ");
		md_cell(sb, line);
		strbuf_addch(sb, '\n');
	}
	if (listed > MAX_FAILED_LISTED)
		strbuf_addf(sb, "- ... and %zu more failed commands (the journal has each)\n",
			    listed - MAX_FAILED_LISTED);
	if (listed)
		strbuf_addch(sb, '\n');
}

static void kv_row(struct strbuf *sb, const char *k, const char *v)
{
	strbuf_adds(sb, "| ");
	md_cell(sb, k);
	strbuf_adds(sb, " | ");
	md_cell(sb, v ? v : "n/a");
	strbuf_adds(sb, " |\n");
}

static void kv_object_rows(struct strbuf *sb, const json_t *obj, const char *prefix)
{
	const char *key;
	json_t *val;
	void *iter;
	const char **keys;
	size_t n = 0;

	if (!json_is_object(obj))
		return;
	keys = xcalloc(json_object_size(obj) + 1, sizeof(*keys));
	for (iter = json_object_iter((json_t *)obj); iter; iter = json_object_iter_next((json_t *)obj, iter))
		keys[n++] = json_object_iter_key(iter);
	qsort(keys, n, sizeof(*keys), report_strcmp_ptr);
	for (size_t i = 0; i < n; i++) {
		struct strbuf k = STRBUF_INIT, v = STRBUF_INIT;

		key = keys[i];
		val = json_object_get(obj, key);
		strbuf_addf(&k, "%s%s", prefix, key);
		if (json_is_string(val))
			strbuf_adds(&v, json_string_value(val));
		else if (json_is_number(val))
			fmt_num(&v, json_number_value(val));
		else {
			char *d = json_dumps(val, JSON_COMPACT | JSON_ENCODE_ANY);

			strbuf_adds(&v, d ? d : "");
			free(d);
		}
		kv_row(sb, k.buf, v.buf);
		strbuf_release(&k);
		strbuf_release(&v);
	}
	free(keys);
}

static void report_environment(struct strbuf *sb, const json_t *j)
{
	const json_t *tool = j_obj(j, "tool"), *env = j_obj(j, "environment"),
		     *drill = j_obj(j, "drill"), *target = j_obj(j, "target");
	const json_t *ctxs = j_arr(target, "contexts"), *c;
	struct strbuf t = STRBUF_INIT;
	double v;
	size_t i;

	strbuf_adds(sb, "## Environment\n\n| | |\n|---|---|\n");
	strbuf_addf(&t, "%s %s (revision %s)", j_str_or(tool, "name", "drillrig"),
		    j_str_or(tool, "version", "?"), j_str_or(tool, "revision", "unknown"));
	kv_row(sb, "Tool", t.buf);
	kv_row(sb, "Plan", j_str(drill, "plan_path"));
	kv_row(sb, "Target", j_str(target, "kind"));
	kv_row(sb, "Target description", j_str(target, "description"));
	/* Which of the ledger's service sets the drill's calls used (targets
	 * with ledger dialects say; others have none). */
	if (j_str(target, "api"))
		kv_row(sb, "Ledger API", j_str(target, "api"));
	kv_row(sb, "Runner class", j_str(j, "runner_class"));
	kv_row(sb, "Host", j_str(env, "hostname"));
	kv_row(sb, "OS", j_str(env, "os"));
	strbuf_reset(&t);
	if (j_num(env, "cpus", &v))
		fmt_num(&t, v);
	kv_row(sb, "CPUs", t.len ? t.buf : NULL);
	strbuf_reset(&t);
	strbuf_adds(&t, j_str_or(j, "started_at", "?"));
	strbuf_adds(&t, " .. ");
	strbuf_adds(&t, j_str_or(j, "finished_at", "?"));
	kv_row(sb, "Wall clock", t.buf);
	strbuf_reset(&t);
	if (j_num(j, "exit_code", &v))
		fmt_num(&t, v);
	kv_row(sb, "Exit code", t.len ? t.buf : NULL);
	kv_object_rows(sb, j_obj(j_obj(target, "topology"), "timing"), "timing.");
	kv_object_rows(sb, j_obj(env, "vars"), "env ");
	kv_object_rows(sb, j_obj(drill, "vars"), "var ");
	strbuf_release(&t);
	strbuf_addch(sb, '\n');
	if (json_array_size(ctxs) > 0) {
		strbuf_adds(sb, "| Region | Context | Namespace | StatefulSet |\n|---|---|---|---|\n");
		json_array_foreach(ctxs, i, c) {
			strbuf_adds(sb, "| ");
			md_cell(sb, j_str_or(c, "region", ""));
			strbuf_adds(sb, " | ");
			md_cell(sb, j_str_or(c, "context", ""));
			strbuf_adds(sb, " | ");
			md_cell(sb, j_str_or(c, "namespace", ""));
			strbuf_adds(sb, " | ");
			md_cell(sb, j_str_or(c, "statefulset", ""));
			strbuf_adds(sb, " |\n");
		}
		strbuf_addch(sb, '\n');
	}
}

static void report_events(struct strbuf *sb, const json_t *j)
{
	const json_t *events = j_arr(j, "events"), *e;
	size_t i;
	double v;

	if (json_array_size(events) == 0)
		return;
	strbuf_addf(sb, "<details><summary>Events (%zu)</summary>\n\n", json_array_size(events));
	strbuf_adds(sb, "| Offset | Wall clock | Event | Details |\n|---:|---|---|---|\n");
	json_array_foreach(events, i, e) {
		const char *key;
		json_t *val;
		struct strbuf d = STRBUF_INIT;

		strbuf_adds(sb, "| ");
		if (j_num(e, "t_ms", &v))
			fmt_offset(sb, v);
		strbuf_adds(sb, " | ");
		md_cell(sb, j_str_or(e, "wall", ""));
		strbuf_adds(sb, " | ");
		md_cell(sb, j_str_or(e, "type", "?"));
		strbuf_adds(sb, " | ");
		json_object_foreach((json_t *)e, key, val) {
			if (!strcmp(key, "t_ms") || !strcmp(key, "wall") || !strcmp(key, "type"))
				continue;
			if (d.len)
				strbuf_adds(&d, ", ");
			strbuf_addf(&d, "%s=", key);
			if (json_is_string(val))
				strbuf_adds(&d, json_string_value(val));
			else if (json_is_number(val))
				fmt_num(&d, json_number_value(val));
			else {
				char *s = json_dumps(val, JSON_COMPACT | JSON_ENCODE_ANY);

				strbuf_adds(&d, s ? s : "");
				free(s);
			}
		}
		md_cell(sb, d.buf);
		strbuf_release(&d);
		strbuf_adds(sb, " |\n");
	}
	strbuf_adds(sb, "\n</details>\n\n");
}

static void report_plan(struct strbuf *sb, const json_t *j)
{
	const json_t *drill = j_obj(j, "drill");
	const char *src = j_str(drill, "plan_source");
	size_t fence = 3;

	if (!src)
		return;
	/* A fence longer than any backtick run inside the plan. */
	for (const char *p = src; *p; p++) {
		size_t run = 0;

		while (p[run] == '`')
			run++;
		if (run >= fence)
			fence = run + 1;
		if (run)
			p += run - 1;
	}
	strbuf_adds(sb, "<details><summary>Plan as written");
	if (j_str(drill, "plan_path")) {
		strbuf_adds(sb, " (");
		xml_escape(sb, j_str(drill, "plan_path"));
		strbuf_adds(sb, ")");
	}
	strbuf_adds(sb, "</summary>\n\n");
	for (size_t k = 0; k < fence; k++)
		strbuf_addch(sb, '`');
	strbuf_adds(sb, "yaml\n");
	strbuf_adds(sb, src);
	if (src[0] && src[strlen(src) - 1] != '\n')
		strbuf_addch(sb, '\n');
	for (size_t k = 0; k < fence; k++)
		strbuf_addch(sb, '`');
	strbuf_adds(sb, "\n\n</details>\n\n");
}

char *report_render_markdown(const json_t *journal)
{
	json_t *j = redact_json(journal);
	struct strbuf sb = STRBUF_INIT;
	const json_t *drill = j_obj(j, "drill"), *target = j_obj(j, "target");
	double v;
	char *out;

	report_title(&sb, j);
	report_headline(&sb, j, 1);
	strbuf_adds(&sb, "Drill ");
	md_code(&sb, j_str_or(drill, "name", "?"));
	strbuf_adds(&sb, " against the ");
	md_cell(&sb, j_str_or(target, "kind", "unknown"));
	strbuf_adds(&sb, " target (");
	md_cell(&sb, j_str_or(target, "description", "no description"));
	strbuf_adds(&sb, "), started ");
	md_cell(&sb, j_str_or(j, "started_at", "?"));
	if (j_num(j, "duration_ms", &v)) {
		strbuf_adds(&sb, ", ran ");
		fmt_ms(&sb, v);
	}
	strbuf_adds(&sb, ".\n\n");
	if (j_str(drill, "description") && *j_str(drill, "description")) {
		/* Plans wrap descriptions (YAML "|"): one quoted paragraph. */
		char *d = xstrdup(j_str(drill, "description"));
		size_t n;

		for (char *p = d; *p; p++)
			if (*p == '\n' || *p == '\r')
				*p = ' ';
		n = strlen(d);
		while (n > 0 && d[n - 1] == ' ')
			d[--n] = '\0';
		strbuf_adds(&sb, "> ");
		md_cell(&sb, d);
		strbuf_adds(&sb, "\n\n");
		free(d);
	}
	report_objectives(&sb, j);
	report_regression(&sb, j);
	report_timeline(&sb, j);
	report_steps(&sb, j);
	report_steady_state(&sb, j);
	report_workload(&sb, j);
	report_cluster(&sb, j);
	report_commands(&sb, j);
	report_environment(&sb, j);
	report_events(&sb, j);
	report_plan(&sb, j);
	strbuf_adds(&sb, "---\n\nArtefacts: [" REPORT_FILE_JOURNAL "](" REPORT_FILE_JOURNAL ") · ["
		    REPORT_FILE_JUNIT "](" REPORT_FILE_JUNIT ") · [" REPORT_FILE_CHART "](" REPORT_FILE_CHART ")\n");
	json_decref(j);
	out = redact_text(sb.buf);
	strbuf_release(&sb);
	return out;
}
