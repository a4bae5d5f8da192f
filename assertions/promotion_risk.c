/* The writes an unsafe promotion put at risk (see measure.h,
 * struct measure_promotion_risk), counted in ledger indexes. */
#include "assertions/measure.h"

#include <stdlib.h>
#include <string.h>

#include "common/strbuf.h"


static int cmp_u64(const void *pa, const void *pb)
{
	uint64_t a = *(const uint64_t *)pa, b = *(const uint64_t *)pb;

	return (a > b) - (a < b);
}

/* Acknowledged writes above the DR index: one per ledger index (a retry
 * acknowledged again at the same index is the same write). */
static uint64_t at_risk(const struct history *h, int64_t before_ns, uint64_t dr_index)
{
	uint64_t *idx = NULL, n = 0;
	size_t k = 0;

	for (size_t i = 0; i < h->count; i++)
		if (h->ops[i].outcome == HISTORY_OK && h->ops[i].complete_ns < before_ns &&
		    h->ops[i].index > dr_index)
			k++;
	if (k == 0)
		return 0;
	idx = xcalloc(k, sizeof(*idx));
	k = 0;
	for (size_t i = 0; i < h->count; i++)
		if (h->ops[i].outcome == HISTORY_OK && h->ops[i].complete_ns < before_ns &&
		    h->ops[i].index > dr_index)
			idx[k++] = h->ops[i].index;
	qsort(idx, k, sizeof(*idx), cmp_u64);
	for (size_t i = 0; i < k; i++)
		if (i == 0 || idx[i] != idx[i - 1])
			n++;
	free(idx);
	return n;
}

void measure_promotion_risk(struct measure_promotion_risk *out, const struct history *h,
			    const struct check_result *c, const struct measure_markers *mk)
{
	uint64_t acked = 0;
	bool any = false;

	memset(out, 0, sizeof(*out));
	if (!mk->has_unsafe_promotion)
		return;
	out->has = true;
	out->t_ms = (double)(mk->unsafe_promotion_ns - mk->drill_start_ns) / 1e6;
	str_copy(out->step, sizeof(out->step),
		 mk->unsafe_promotion_step ? mk->unsafe_promotion_step : "");
	if (mk->has_dr_ledger_index)
		measure_value_set(&out->dr_last_index, (double)mk->dr_ledger_index);
	else
		measure_value_none(&out->dr_last_index, "the promotion did not report the chosen node's "
			   "ledger index");
	for (size_t i = 0; h && i < h->count; i++) {
		const struct history_op *op = &h->ops[i];

		if (op->outcome != HISTORY_OK || op->complete_ns >= mk->unsafe_promotion_ns)
			continue;
		any = true;
		if (op->index > acked)
			acked = op->index;
	}
	if (any)
		measure_value_set(&out->primary_acked_index, (double)acked);
	else
		measure_value_none(&out->primary_acked_index, "no write was acknowledged before the promotion");
	if (!c)
		measure_value_none(&out->writes_lost, "the workload's writes were not checked");
	else
		measure_value_set(&out->writes_lost, (double)c->lost);
	if (!mk->has_dr_ledger_index)
		measure_value_none(&out->writes_at_risk, "%s", out->dr_last_index.why);
	else if (!any)
		measure_value_none(&out->writes_at_risk, "%s", out->primary_acked_index.why);
	else
		measure_value_set(&out->writes_at_risk,
			  (double)at_risk(h, mk->unsafe_promotion_ns, mk->dr_ledger_index));
}
