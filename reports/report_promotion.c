/* report.md's paragraph on an unsafe promotion (measurements.
 * unsafe_promotion): the DR side's last ledger index against the highest
 * the old primary acknowledged, then the writes at risk and the writes
 * lost, so "0 lost" reads differently when nothing could be lost. */
#include "reports/render.h"

static void index_or_why(struct strbuf *sb, const json_t *u, const char *key)
{
	double v;

	if (j_num(u, key, &v)) {
		strbuf_adds(sb, "index ");
		fmt_num(sb, v);
	} else {
		strbuf_adds(sb, "an index not reported");
	}
}

void report_unsafe_promotion(struct strbuf *sb, const json_t *m)
{
	const json_t *u = j_obj(m, "unsafe_promotion");
	double at_risk, lost, t;
	int has_risk, has_lost;

	if (!u)
		return;
	strbuf_adds(sb, "\n**Unsafe promotion** at ");
	md_code(sb, j_str_or(u, "step", "?"));
	if (j_num(u, "t_ms", &t)) {
		strbuf_adds(sb, " (");
		fmt_offset(sb, t);
		strbuf_adds(sb, ")");
	}
	strbuf_adds(sb, ": the DR node chosen had the ledger up to ");
	index_or_why(sb, u, "dr_last_index");
	strbuf_adds(sb, "; the old primary had acknowledged writes up to ");
	if (j_num(u, "primary_acked_index", &t)) {
		strbuf_adds(sb, "index ");
		fmt_num(sb, t);
	} else {
		strbuf_adds(sb, "no index (nothing acknowledged before it)");
	}
	strbuf_adds(sb, " (ledger indexes, not Raft's).\n\n");
	has_risk = j_num(u, "writes_at_risk", &at_risk);
	has_lost = j_num(u, "writes_lost", &lost);
	strbuf_adds(sb, "| Unsafe promotion | Writes |\n|---|---:|\n| At risk (acknowledged above "
		    "the DR index) | ");
	if (has_risk) {
		fmt_num(sb, at_risk);
	} else {
		strbuf_adds(sb, "not measured: ");
		md_cell(sb, j_str_or(u, "note", "unknown"));
	}
	strbuf_adds(sb, " |\n| Lost (acknowledged, missing afterwards) | ");
	if (has_lost)
		fmt_num(sb, lost);
	else
		strbuf_adds(sb, "not measured");
	strbuf_adds(sb, " |\n");
	if (has_risk && at_risk == 0)
		strbuf_adds(sb, "\nNothing could be lost: the DR side held every write the old primary "
			    "acknowledged, so this run did not exercise the loss the promotion risks.\n");
	else if (has_risk && has_lost && lost < at_risk)
		strbuf_adds(sb, "\nFewer writes were lost than were at risk: writes acknowledged above "
			    "the DR index are in the ledger afterwards (written again?); check the lost "
			    "sequence numbers and the history.\n");
}
