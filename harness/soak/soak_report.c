/* What `drillrig soak` prints: one line per iteration and a final table. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/clock.h"
#include "common/strbuf.h"
#include "harness/plan/duration.h"
#include "harness/soak/soak.h"

const char *soak_verdict_name(enum soak_verdict v)
{
	switch (v) {
	case SOAK_PASSED: return "ok";
	case SOAK_VIOLATION: return "VIOLATION";
	case SOAK_NOT_RECOVERED: return "NOT RECOVERED";
	case SOAK_INFRA: return "INFRASTRUCTURE ERROR";
	case SOAK_INTERRUPTED: return "interrupted";
	case SOAK_ANOMALY: return "ok, ANOMALY";
	}
	return "?";
}

static void seconds(char *buf, size_t len, int64_t ns)
{
	if (ns < 0)
		snprintf(buf, len, "-");
	else
		snprintf(buf, len, "%.2fs", (double)ns / 1e9);
}

void soak_iteration_print(FILE *f, const struct soak_iteration *it, size_t total)
{
	char fault[160], hold[32], rec[32], outage[32], digests[64];
	int width = snprintf(NULL, 0, "%zu", total);

	snprintf(fault, sizeof(fault), "%s %s", soak_fault_kind_name(it->fault.kind) ?: "?",
		 it->target);
	duration_format(hold, sizeof(hold), it->held_ns / NS_PER_MS * NS_PER_MS);
	seconds(rec, sizeof(rec), it->recovery_ns);
	if (!it->digests_checked)
		snprintf(digests, sizeof(digests), "not compared");
	else if (it->digests_equal)
		snprintf(digests, sizeof(digests), "equal (%zu nodes, index %llu)", it->nodes,
			 (unsigned long long)it->ledger_index);
	else
		snprintf(digests, sizeof(digests), "DIFFER");
	if (it->outage_ms < 0)
		snprintf(outage, sizeof(outage), "-");
	else
		seconds(outage, sizeof(outage), (int64_t)(it->outage_ms * 1e6));
	fprintf(f, "soak %*zu/%zu  %-34s hold %-7s recovery %-6s outage %-6s writes ok %llu lost %llu dup %llu"
		   "  digests %s  %s\n",
		width, it->number, total, fault, hold, rec, outage, (unsigned long long)it->ok,
		(unsigned long long)it->lost, (unsigned long long)it->duplicated, digests,
		soak_verdict_name(it->verdict));
	if (it->note[0])
		fprintf(f, "soak %*zu/%zu  %s\n", width, it->number, total, it->note);
}

/* "soak  3/10  " and then the text: the prefix of every line of an
 * iteration, aligned like the iteration line. */
static void event_print(FILE *f, const struct soak_iteration *it, size_t total, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static void event_print(FILE *f, const struct soak_iteration *it, size_t total, const char *fmt, ...)
{
	int width = snprintf(NULL, 0, "%zu", total);
	va_list ap;

	fprintf(f, "soak %*zu/%zu  ", width, it->number, total);
	va_start(ap, fmt);
	vfprintf(f, fmt, ap);
	va_end(ap);
	fputc('\n', f);
}

void soak_fault_applied_print(FILE *f, const struct soak_iteration *it, size_t total, int missed)
{
	char in[32], hold[32];

	seconds(in, sizeof(in), it->inject_ns);
	duration_format(hold, sizeof(hold), it->fault.hold_ns / NS_PER_MS * NS_PER_MS);
	event_print(f, it, total, "fault applied: %s %s in %s%s, holding %s",
		    soak_fault_kind_name(it->fault.kind) ?: "?", it->target, in,
		    missed ? " (missed its effect, see below)" : "", hold);
}

void soak_interrupt_print(FILE *f, const struct soak_iteration *it, size_t total)
{
	char held[32], hold[32];

	seconds(held, sizeof(held), it->held_ns);
	duration_format(hold, sizeof(hold), it->fault.hold_ns / NS_PER_MS * NS_PER_MS);
	event_print(f, it, total, "interrupted after %s of the %s hold", held, hold);
}

void soak_heal_print(FILE *f, const struct soak_iteration *it, size_t total, int healed)
{
	const char *kind = soak_fault_kind_name(it->fault.kind) ?: "?";

	if (healed)
		event_print(f, it, total, "healed %s %s; waiting for recovery (Ctrl-C again stops waiting)",
			    kind, it->target);
	else
		event_print(f, it, total, "%s %s needs no undo (the cluster recovers by itself); "
			    "waiting for recovery (Ctrl-C again stops waiting)", kind, it->target);
}

static int cmp_i64(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;

	return (x > y) - (x < y);
}

int64_t soak_median_ns(const int64_t *values, size_t n)
{
	int64_t *copy, m;

	if (n == 0)
		return 0;
	copy = xmalloc(n * sizeof(*copy));
	memcpy(copy, values, n * sizeof(*copy));
	qsort(copy, n, sizeof(*copy), cmp_i64);
	m = n % 2 ? copy[n / 2] : copy[n / 2 - 1] + (copy[n / 2] - copy[n / 2 - 1]) / 2;
	free(copy);
	return m;
}

static void row(FILE *f, const char *name, size_t count, const int64_t *rec, size_t nrec,
		int64_t outage_max)
{
	char mn[32], md[32], mx[32], om[32];
	int64_t lo = -1, hi = -1;

	for (size_t i = 0; i < nrec; i++) {
		if (lo < 0 || rec[i] < lo)
			lo = rec[i];
		if (rec[i] > hi)
			hi = rec[i];
	}
	seconds(mn, sizeof(mn), lo);
	seconds(md, sizeof(md), nrec ? soak_median_ns(rec, nrec) : -1);
	seconds(mx, sizeof(mx), hi);
	seconds(om, sizeof(om), outage_max);
	fprintf(f, "  %-18s %6zu %10s %10s %10s %12s\n", name, count, mn, md, mx, om);
}

void soak_summary_print(FILE *f, const struct soak_result *r)
{
	int64_t *all = xcalloc(r->n ? r->n : 1, sizeof(*all)), *kind = xcalloc(r->n ? r->n : 1, sizeof(*kind));
	uint64_t ok = 0, failed = 0, unknown = 0, lost = 0, dup = 0, other = 0;
	size_t nall = 0, equal = 0, checked = 0, passed = 0, anomalies = 0;
	int64_t outage_all = -1;

	fprintf(f, "\nsoak summary: %zu iteration%s\n", r->n, r->n == 1 ? "" : "s");
	fprintf(f, "  %-18s %6s %10s %10s %10s %12s\n", "fault", "count", "rec. min", "median", "max",
		"outage max");
	for (int k = 0; k < SOAK_FAULT_KINDS; k++) {
		size_t count = 0, nk = 0;
		int64_t outage_max = -1;

		for (size_t i = 0; i < r->n; i++) {
			const struct soak_iteration *it = &r->iterations[i];

			if ((int)it->fault.kind != k)
				continue;
			count++;
			if (it->recovery_ns >= 0)
				kind[nk++] = it->recovery_ns;
			if (it->outage_ms >= 0 && (int64_t)(it->outage_ms * 1e6) > outage_max)
				outage_max = (int64_t)(it->outage_ms * 1e6);
		}
		if (count)
			row(f, soak_fault_kind_name((enum soak_fault_kind)k), count, kind, nk, outage_max);
	}
	for (size_t i = 0; i < r->n; i++) {
		const struct soak_iteration *it = &r->iterations[i];

		if (it->recovery_ns >= 0)
			all[nall++] = it->recovery_ns;
		if (it->outage_ms >= 0 && (int64_t)(it->outage_ms * 1e6) > outage_all)
			outage_all = (int64_t)(it->outage_ms * 1e6);
		ok += it->ok;
		failed += it->failed;
		unknown += it->unknown;
		lost += it->lost;
		dup += it->duplicated;
		other += it->other_violations;
		checked += (size_t)it->digests_checked;
		equal += (size_t)(it->digests_checked && it->digests_equal);
		passed += it->verdict == SOAK_PASSED || it->verdict == SOAK_ANOMALY;
		anomalies += it->verdict == SOAK_ANOMALY;
	}
	row(f, "all", r->n, all, nall, outage_all);
	fprintf(f, "  writes checked: %llu acknowledged, %llu failed, %llu unknown\n",
		(unsigned long long)ok, (unsigned long long)failed, (unsigned long long)unknown);
	fprintf(f, "  lost acknowledged writes: %llu   duplicated: %llu   other violations: %llu\n",
		(unsigned long long)lost, (unsigned long long)dup, (unsigned long long)other);
	fprintf(f, "  digests equal: %zu of %zu compared\n", equal, checked);
	fprintf(f, "  anomalies (a fault that missed its effect): %zu\n", anomalies);
	fprintf(f, "  iterations passed: %zu of %zu\n", passed, r->n);
	free(all);
	free(kind);
}
