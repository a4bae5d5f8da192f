/* Reporting a plan's errors with their place (harness/plan/schema_report.h). */
#include "harness/plan/schema_report.h"

#include <stdarg.h>
#include <stdlib.h>

#include "common/strbuf.h"

/* ---- reporting ------------------------------------------------------------ */

static void vreport(struct schema_ctx *ctx, enum plan_diag_severity sev,
		    const struct yj_pos *pos, const char *path, const char *fmt, va_list ap)
{
	struct strbuf msg = STRBUF_INIT;

	strbuf_vaddf(&msg, fmt, ap);
	plan_diags_add(ctx->diags, sev, ctx->file, pos ? pos->line : 0, pos ? pos->column : 0,
		       path, "%s", strbuf_str(&msg));
	strbuf_release(&msg);
}

static const struct yj_pos *obj_pos(struct schema_ctx *ctx, const json_t *obj)
{
	const struct yj_pos *p = yj_node_pos(ctx->doc, obj);

	return p ? p : yj_value_pos(ctx->doc, NULL, "");
}

char *schema_join_key(const char *path, const char *key)
{
	return path && path[0] ? xasprintf("%s.%s", path, key) : xstrdup(key);
}

/* An error at pos, or at obj when pos is unknown; key path path.key. */
static void vreport_key(struct schema_ctx *ctx, const struct yj_pos *pos, const json_t *obj,
			const char *path, const char *key, const char *fmt, va_list ap)
{
	char *full = schema_join_key(path, key);

	vreport(ctx, PLAN_DIAG_ERROR, pos ? pos : obj_pos(ctx, obj), full, fmt, ap);
	free(full);
}

void schema_err_key(struct schema_ctx *ctx, const json_t *obj, const char *path,
		    const char *key, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vreport_key(ctx, yj_value_pos(ctx->doc, obj, key), obj, path, key, fmt, ap);
	va_end(ap);
}

void schema_err_obj(struct schema_ctx *ctx, const json_t *obj, const char *path,
		    const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vreport(ctx, PLAN_DIAG_ERROR, obj_pos(ctx, obj), path, fmt, ap);
	va_end(ap);
}

void schema_warn_obj(struct schema_ctx *ctx, const json_t *obj, const char *path,
		     const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vreport(ctx, PLAN_DIAG_WARNING, obj_pos(ctx, obj), path, fmt, ap);
	va_end(ap);
}

void schema_err_keyname(struct schema_ctx *ctx, const json_t *obj, const char *path,
			const char *key, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vreport_key(ctx, yj_key_pos(ctx->doc, obj, key), obj, path, key, fmt, ap);
	va_end(ap);
}

/* ---- cross-argument rules ----------------------------------------------- */

void schema_require_one_of(struct schema_ctx *ctx, json_t *obj, const char *path,
			   const char *a, const char *b)
{
	int ha = json_object_get(obj, a) != NULL, hb = json_object_get(obj, b) != NULL;

	if (!ha && !hb)
		schema_err_obj(ctx, obj, path, "expected one of '%s' or '%s', found neither", a, b);
	else if (ha && hb)
		schema_err_key(ctx, obj, path, b, "'%s' and '%s' exclude each other: give one", a, b);
}
