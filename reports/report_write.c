/* The four artefacts of one run, each rendered from a redacted journal and
 * written atomically into the run directory. */
#include <stdlib.h>
#include <string.h>

#include "common/fsutil.h"
#include "reports/redact.h"
#include "reports/render.h"
#include "reports/reports.h"

char *report_render_journal(const json_t *journal)
{
	json_t *j = redact_json(journal);
	char *dump = json_dumps(j, JSON_INDENT(2) | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(10));
	struct strbuf sb = STRBUF_INIT;

	strbuf_adds(&sb, dump ? dump : "null");
	strbuf_addch(&sb, '\n');
	free(dump);
	json_decref(j);
	return strbuf_detach(&sb);
}

char *report_render_latency_svg(const json_t *journal)
{
	json_t *j = redact_json(journal);
	char *svg = svg_latency(j), *out = redact_text(svg);

	free(svg);
	json_decref(j);
	return out;
}

static int write_one(const char *dir, const char *name, char *data, struct dr_error *err)
{
	char *path = xasprintf("%s/%s", dir, name);
	int rc = fs_write_atomic(path, data, strlen(data), err);

	if (rc != 0)
		dr_error_wrap(err, "cannot write '%s'", name);
	free(path);
	free(data);
	return rc;
}

int report_write_artifacts(const json_t *journal, const char *run_dir, struct dr_error *err)
{
	int rc = -1;

	if (!json_is_object(journal)) {
		dr_error_set(err, "cannot render the reports: the journal is not a JSON object");
		goto out;
	}
	if (fs_mkdir_p(run_dir, err) != 0)
		goto out;
	if (write_one(run_dir, REPORT_FILE_JOURNAL, report_render_journal(journal), err) ||
	    write_one(run_dir, REPORT_FILE_MARKDOWN, report_render_markdown(journal), err) ||
	    write_one(run_dir, REPORT_FILE_JUNIT, report_render_junit(journal), err) ||
	    write_one(run_dir, REPORT_FILE_CHART, report_render_latency_svg(journal), err))
		goto out;
	rc = 0;
out:
	return rc;
}
