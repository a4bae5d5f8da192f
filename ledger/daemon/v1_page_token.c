/* ListEntities page tokens (ledger/daemon/svc_v1.h): base64 of a small
 * JSON document naming the query (organization, vault, prefix,
 * include_expired) and the last key of the page before.  The query is in
 * the token so a token used with another query is refused, as the public
 * ledger refuses it; it is opaque to clients and not signed (a forged
 * token can only name a key to resume after). */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "common/base64.h"
#include "common/numparse.h"
#include "common/strbuf.h"
#include "ledger/daemon/svc_v1.h"

#define TOKEN_MAX 4096

char *v1_page_token_encode(const struct v1_page *p)
{
	json_t *o = json_pack("{s:i, s:o, s:o, s:s, s:b, s:s}", "v", 1, "org",
			      json_sprintf("%" PRIu64, p->org), "vault",
			      json_sprintf("%" PRIu64, p->vault), "prefix", p->prefix ? p->prefix : "",
			      "include_expired", p->include_expired, "after", p->last_key);
	char *text = json_dumps(o, JSON_COMPACT | JSON_SORT_KEYS);
	char *token = b64_encode(text, strlen(text));

	free(text);
	json_decref(o);
	return token;
}

void v1_page_release(struct v1_page *p)
{
	free(p->prefix);
	free(p->last_key);
	memset(p, 0, sizeof *p);
}

int v1_page_token_decode(struct v1_page *out, const char *token, struct dr_error *err)
{
	struct dr_error kerr = DR_ERROR_INIT;
	size_t len = 0;
	char *text = NULL;
	json_t *o = NULL;
	const char *org, *vault, *prefix, *after;
	int v = 0, inc = 0, rc = -1;

	memset(out, 0, sizeof *out);
	if (!token || strlen(token) > TOKEN_MAX || !(text = b64_decode(token, &len)) ||
	    !(o = json_loadb(text, len, JSON_REJECT_DUPLICATES, NULL)) ||
	    json_unpack(o, "{s:i, s:s, s:s, s:s, s:b, s:s !}", "v", &v, "org", &org, "vault", &vault,
			"prefix", &prefix, "include_expired", &inc, "after", &after) != 0 ||
	    v != 1 || parse_uint64(&out->org, org, 1, UINT64_MAX) != 0 ||
	    parse_uint64(&out->vault, vault, 1, UINT64_MAX) != 0 ||
	    ledger_entity_key_check(after, "after", &kerr) != 0 || strlen(prefix) > LEDGER_ENTITY_KEY_MAX) {
		dr_error_set(err, "field 'page_token' is not a token this ledger gave out");
		goto out;
	}
	out->prefix = xstrdup(prefix);
	out->include_expired = inc;
	out->last_key = xstrdup(after);
	rc = 0;
out:
	json_decref(o);
	free(text);
	return rc;
}
