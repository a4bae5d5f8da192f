/* The append command's text without jansson (ledger/daemon/fsm_text.h). */
#include "ledger/daemon/fsm_text.h"

#include <stdlib.h>
#include <string.h>

#include "common/strbuf.h"

/* More digits could overflow int64_t, where jansson refuses the number:
 * left to jansson. */
#define MAX_DIGITS 18

int fsm_text_plain(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c < 0x20 || c > 0x7e || c == '"' || c == '\\')
			return 0;
	}
	return 1;
}

/* v in decimal as json_dumps writes a json_int_t ("%lld"). */
static void add_int(struct strbuf *sb, int64_t v)
{
	char buf[24];
	size_t i = sizeof(buf);
	uint64_t u = v < 0 ? (uint64_t)0 - (uint64_t)v : (uint64_t)v;

	do {
		buf[--i] = (char)('0' + u % 10);
		u /= 10;
	} while (u);
	if (v < 0)
		buf[--i] = '-';
	strbuf_add(sb, buf + i, sizeof(buf) - i);
}

char *fsm_text_append_encode(const char *client_id, uint64_t sequence, const char *payload,
			     uint64_t term, int64_t ts_ms)
{
	size_t cl = strlen(client_id), pl = strlen(payload);
	struct strbuf sb = STRBUF_INIT;

	if (!fsm_text_plain(client_id, cl) || !fsm_text_plain(payload, pl))
		return NULL;
	strbuf_adds(&sb, "{\"op\":\"append\",\"client_id\":\"");
	strbuf_add(&sb, client_id, cl);
	strbuf_adds(&sb, "\",\"sequence\":");
	/* jansson takes the fields as json_int_t (json_pack's "I"). */
	add_int(&sb, (int64_t)sequence);
	strbuf_adds(&sb, ",\"payload\":\"");
	strbuf_add(&sb, payload, pl);
	strbuf_adds(&sb, "\",\"term\":");
	add_int(&sb, (int64_t)term);
	strbuf_adds(&sb, ",\"ts_ms\":");
	add_int(&sb, ts_ms);
	strbuf_addch(&sb, '}');
	return strbuf_detach(&sb);
}

static int literal(const char **p, const char *end, const char *lit)
{
	size_t n = strlen(lit);

	if ((size_t)(end - *p) < n || memcmp(*p, lit, n) != 0)
		return 0;
	*p += n;
	return 1;
}

/* A plain string's characters up to its closing quote (consumed). */
static int plain_string(const char **s, size_t *len, const char **p, const char *end)
{
	const char *q = *p;

	while (q < end && *q != '"') {
		unsigned char c = (unsigned char)*q;

		if (c < 0x20 || c > 0x7e || c == '\\')
			return 0;
		q++;
	}
	if (q == end)
		return 0;
	*s = *p;
	*len = (size_t)(q - *p);
	*p = q + 1;
	return 1;
}

/* An integer as JSON writes it: no leading zeros, no "-0", no fraction
 * (the caller's next literal refuses '.' or 'e'). */
static int integer(int64_t *v, const char **p, const char *end, int allow_negative)
{
	const char *q = *p;
	int neg = 0, digits = 0;
	int64_t x = 0;

	if (q < end && *q == '-') {
		if (!allow_negative)
			return 0;
		neg = 1;
		q++;
	}
	if (q == end || *q < '0' || *q > '9')
		return 0;
	if (*q == '0' && (neg || (q + 1 < end && q[1] >= '0' && q[1] <= '9')))
		return 0;
	while (q < end && *q >= '0' && *q <= '9') {
		if (++digits > MAX_DIGITS)
			return 0;
		x = x * 10 + (*q - '0');
		q++;
	}
	*v = neg ? -x : x;
	*p = q;
	return 1;
}

int fsm_text_append_parse(struct fsm_text_append *a, const char **p, const char *end)
{
	const char *q = *p;

	/* sequence and term below 0 are malformed commands: jansson's path
	 * says so. */
	if (!literal(&q, end, "{\"op\":\"append\",\"client_id\":\"") ||
	    !plain_string(&a->client_id, &a->client_id_len, &q, end) ||
	    !literal(&q, end, ",\"sequence\":") || !integer(&a->sequence, &q, end, 0) ||
	    !literal(&q, end, ",\"payload\":\"") ||
	    !plain_string(&a->payload, &a->payload_len, &q, end) ||
	    !literal(&q, end, ",\"term\":") || !integer(&a->term, &q, end, 0) ||
	    !literal(&q, end, ",\"ts_ms\":") || !integer(&a->ts_ms, &q, end, 1) ||
	    !literal(&q, end, "}"))
		return 0;
	*p = q;
	return 1;
}

int fsm_text_parse(struct fsm_text_append *a, size_t max, size_t *n, const char *text,
		   size_t len)
{
	const char *p = text, *end = text + len;
	size_t k = 0;

	*n = 0;
	if (max == 0)
		return 0;
	if (fsm_text_append_parse(&a[0], &p, end)) {
		if (p != end)
			return 0;
		*n = 1;
		return 1;
	}
	if (!literal(&p, end, "{\"op\":\"batch\",\"cmds\":["))
		return 0;
	for (;;) {
		if (k == max || !fsm_text_append_parse(&a[k], &p, end))
			return 0;
		k++;
		if (literal(&p, end, "]}"))
			break;
		if (!literal(&p, end, ","))
			return 0;
	}
	if (p != end)
		return 0;
	*n = k;
	return 1;
}
