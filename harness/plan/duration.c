#include "common/clock.h"
#include "harness/plan/duration.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>

struct unit {
	const char *name;
	int64_t ns;
};

/* Longest names first so "ms" is not read as "m" followed by junk. */
static const struct unit units[] = {
	{ "ns", INT64_C(1) },
	{ "us", INT64_C(1000) },
	{ "ms", INT64_C(1000000) },
	{ "s", INT64_C(1000000000) },
	{ "m", INT64_C(60000000000) },
	{ "h", INT64_C(3600000000000) },
};

static const struct unit *match_unit(const char *p, size_t *len)
{
	const struct unit *best = NULL;

	for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
		size_t n = strlen(units[i].name);

		if (strncmp(p, units[i].name, n) == 0 && !isalpha((unsigned char)p[n]) &&
		    (!best || n > *len)) {
			best = &units[i];
			*len = n;
		}
	}
	return best;
}

int duration_parse(int64_t *out_ns, const char *text, struct dr_error *err)
{
	const char *p = text;
	int64_t total = 0;
	int64_t last_unit = INT64_MAX;

	if (!text || !*text)
		return dr_error_set(err, "empty duration (expected e.g. '250ms', '10s', '2m')");
	if (*text == '-' || *text == '+')
		return dr_error_set(err, "duration '%s' must not have a sign", text);
	if (strcmp(text, "0") == 0) {
		*out_ns = 0;
		return 0;
	}
	while (*p) {
		int64_t whole = 0, frac_num = 0, frac_den = 1;
		const struct unit *u;
		size_t ulen = 0;
		int digits = 0;

		if (!isdigit((unsigned char)*p))
			return dr_error_set(err, "unexpected '%c' in duration '%s' (expected a number)",
					    *p, text);
		for (; isdigit((unsigned char)*p); p++, digits++) {
			if (whole > (INT64_MAX - 9) / 10)
				return dr_error_set(err, "duration '%s' is too large", text);
			whole = whole * 10 + (*p - '0');
		}
		if (*p == '.') {
			p++;
			if (!isdigit((unsigned char)*p))
				return dr_error_set(err, "expected digits after '.' in duration '%s'",
						    text);
			/* Nine digits are a nanosecond of a second; more cannot
			 * matter and would overflow frac_num * unit below. */
			for (; isdigit((unsigned char)*p); p++) {
				if (frac_den < INT64_C(1000000000)) {
					frac_num = frac_num * 10 + (*p - '0');
					frac_den *= 10;
				}
			}
		}
		(void)digits;
		if (!*p)
			return dr_error_set(err, "missing unit in duration '%s' (use ms, s, m or h)",
					    text);
		u = match_unit(p, &ulen);
		if (!u) {
			char bad[16];
			size_t n = 0;

			while (p[n] && !isdigit((unsigned char)p[n]) && n < sizeof(bad) - 1) {
				bad[n] = p[n];
				n++;
			}
			bad[n] = '\0';
			return dr_error_set(err, "unknown unit '%s' in duration '%s' (use ns, us, ms, s, m or h)",
					    bad, text);
		}
		if (u->ns >= last_unit)
			return dr_error_set(err, "units out of order or repeated in duration '%s' (write e.g. '1h30m')",
					    text);
		last_unit = u->ns;
		if (whole > DURATION_MAX_NS / u->ns)
			return dr_error_set(err, "duration '%s' is too large (at most 7 days)", text);
		total += whole * u->ns + (int64_t)(((__int128)frac_num * u->ns) / frac_den);
		if (total > DURATION_MAX_NS)
			return dr_error_set(err, "duration '%s' is too large (at most 7 days)", text);
		p += ulen;
	}
	*out_ns = total;
	return 0;
}

void duration_format(char *buf, size_t len, int64_t ns)
{
	int64_t h, m, s, ms;
	size_t off = 0;

	if (ns < 0) {
		snprintf(buf, len, "-");
		off = 1;
		ns = -ns;
	}
	if (ns == 0) {
		snprintf(buf + off, len - off, "0s");
		return;
	}
	/* Exact: a value that is not a whole number of microseconds (or
	 * milliseconds) is written in the smaller unit. */
	if (ns % 1000 != 0) {
		snprintf(buf + off, len - off, "%lldns", (long long)ns);
		return;
	}
	if (ns % INT64_C(1000000) != 0) {
		snprintf(buf + off, len - off, "%lldus", (long long)(ns / 1000));
		return;
	}
	h = ns / INT64_C(3600000000000);
	ns %= INT64_C(3600000000000);
	m = ns / INT64_C(60000000000);
	ns %= INT64_C(60000000000);
	s = ns / INT64_C(1000000000);
	ms = (ns % INT64_C(1000000000)) / INT64_C(1000000);
	if (h) {
		int n = snprintf(buf + off, len - off, "%lldh", (long long)h);
		off += n > 0 ? (size_t)n : 0;
	}
	if (m && off < len) {
		int n = snprintf(buf + off, len - off, "%lldm", (long long)m);
		off += n > 0 ? (size_t)n : 0;
	}
	if (off >= len)
		return;
	if (s && ms) {
		char frac[8];
		size_t n;

		snprintf(frac, sizeof(frac), "%03lld", (long long)ms);
		for (n = strlen(frac); n > 1 && frac[n - 1] == '0'; n--)
			frac[n - 1] = '\0';
		snprintf(buf + off, len - off, "%lld.%ss", (long long)s, frac);
	} else if (s)
		snprintf(buf + off, len - off, "%llds", (long long)s);
	else if (ms)
		snprintf(buf + off, len - off, "%lldms", (long long)ms);
}
