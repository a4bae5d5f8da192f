/* Secret redaction: literal secrets first (environment and registered),
 * then patterns (URL credentials, Authorization headers, Bearer tokens). */
#include <ctype.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "common/strbuf.h"
#include "reports/redact.h"

extern char **environ;

#define MAX_SECRETS 64

static pthread_mutex_t secrets_lock = PTHREAD_MUTEX_INITIALIZER;
static char *secrets[MAX_SECRETS];
static size_t nsecrets;

void redact_add_secret(const char *value)
{
	if (!value || strlen(value) < 4)
		return;
	pthread_mutex_lock(&secrets_lock);
	for (size_t i = 0; i < nsecrets; i++)
		if (strcmp(secrets[i], value) == 0)
			goto out;
	if (nsecrets < MAX_SECRETS)
		secrets[nsecrets++] = xstrdup(value);
out:
	pthread_mutex_unlock(&secrets_lock);
}

void redact_clear_secrets(void)
{
	pthread_mutex_lock(&secrets_lock);
	for (size_t i = 0; i < nsecrets; i++)
		free(secrets[i]);
	nsecrets = 0;
	pthread_mutex_unlock(&secrets_lock);
}

/* A name that says its value is a secret: a word anywhere in it (PASS
 * covers SOME_DB_PASS, PASSWORD, PASSPHRASE), or a suffix (DB_PWD,
 * STRIPE_KEY, SENTRY_DSN...).  PWD and OLDPWD alone are directories; no
 * SESSION (XDG_SESSION_DESKTOP=ubuntu would black out every "ubuntu"). */
static int name_is_secret(const char *name, size_t len)
{
	static const char *const words[] = {
		"TOKEN", "SECRET", "PASS", "API_KEY", "APIKEY", "ACCESS_KEY", "PRIVATE_KEY",
		"CREDENTIAL", "WEBHOOK", "AUTH", "COOKIE", "SIGNING",
	};
	static const char *const suffixes[] = { "_PWD", "_KEY", "_PIN", "_SALT", "_DSN" };
	char upper[256];

	if (len >= sizeof(upper))
		len = sizeof(upper) - 1;
	for (size_t i = 0; i < len; i++)
		upper[i] = (char)toupper((unsigned char)name[i]);
	upper[len] = '\0';
	for (size_t i = 0; i < sizeof(words) / sizeof(words[0]); i++)
		if (strstr(upper, words[i]))
			return 1;
	for (size_t i = 0; i < sizeof(suffixes) / sizeof(suffixes[0]); i++) {
		size_t sl = strlen(suffixes[i]);

		if (len >= sl && strcmp(upper + len - sl, suffixes[i]) == 0)
			return 1;
	}
	return 0;
}

/* Replace every occurrence of needle in *text (a heap string). */
static void replace_all(char **text, const char *needle)
{
	size_t nlen = strlen(needle);
	struct strbuf sb = STRBUF_INIT;
	const char *p = *text, *hit;

	if (!strstr(p, needle))
		return;
	while ((hit = strstr(p, needle)) != NULL) {
		strbuf_add(&sb, p, (size_t)(hit - p));
		strbuf_adds(&sb, REDACTED);
		p = hit + nlen;
	}
	strbuf_adds(&sb, p);
	free(*text);
	*text = strbuf_detach(&sb);
}

static int cmp_len_desc(const void *a, const void *b)
{
	size_t la = strlen(*(char *const *)a), lb = strlen(*(char *const *)b);

	return la < lb ? 1 : la > lb ? -1 : 0;
}

/* The literal secrets of this moment (registered + environment), longest
 * first so a secret containing another is replaced whole.  Built once per
 * redact_text / redact_json call. */
struct literals {
	char **list;
	size_t n;
};

static void literals_load(struct literals *l)
{
	size_t cap;

	pthread_mutex_lock(&secrets_lock);
	cap = nsecrets + 16;
	l->list = xcalloc(cap, sizeof(*l->list));
	l->n = 0;
	for (size_t i = 0; i < nsecrets; i++)
		l->list[l->n++] = xstrdup(secrets[i]);
	pthread_mutex_unlock(&secrets_lock);
	for (char **e = environ; e && *e; e++) {
		const char *eq = strchr(*e, '=');

		if (!eq || strlen(eq + 1) < 6 || !name_is_secret(*e, (size_t)(eq - *e)))
			continue;
		if (l->n == cap) {
			cap *= 2;
			l->list = xrealloc(l->list, cap * sizeof(*l->list));
		}
		l->list[l->n++] = xstrdup(eq + 1);
	}
	qsort(l->list, l->n, sizeof(*l->list), cmp_len_desc);
}

static void literals_release(struct literals *l)
{
	for (size_t i = 0; i < l->n; i++)
		free(l->list[i]);
	free(l->list);
	l->list = NULL;
	l->n = 0;
}

static int url_stop(char c)
{
	return c == '\0' || c == '/' || c == '?' || c == '#' || isspace((unsigned char)c) ||
	       c == '"' || c == '\'' || c == '<' || c == '>' || c == '`' || c == ')' ||
	       c == ']' || c == '|' || c == '\\';
}

/* scheme://user:pass@host -> scheme://[REDACTED]@host */
static void redact_url_userinfo(char **text)
{
	struct strbuf sb = STRBUF_INIT;
	const char *p = *text, *sep;
	int changed = 0;

	while ((sep = strstr(p, "://")) != NULL) {
		const char *auth = sep + 3, *q = auth, *at = NULL;

		while (!url_stop(*q)) {
			if (*q == '@')
				at = q;
			q++;
		}
		strbuf_add(&sb, p, (size_t)(auth - p));
		if (at && at > auth && strncmp(auth, REDACTED, strlen(REDACTED)) != 0) {
			strbuf_adds(&sb, REDACTED);
			p = at;
			changed = 1;
		} else {
			p = auth;
		}
	}
	if (!changed) {
		strbuf_release(&sb);
		return;
	}
	strbuf_adds(&sb, p);
	free(*text);
	*text = strbuf_detach(&sb);
}

static const char *find_ci(const char *hay, const char *needle)
{
	size_t n = strlen(needle);

	for (; *hay; hay++)
		if (strncasecmp(hay, needle, n) == 0)
			return hay;
	return NULL;
}

/* "<keyword><spaces>VALUE" -> "<keyword> [REDACTED]"; VALUE runs to the end
 * of the line or a quote.  For Authorization the scheme word is kept out. */
static void redact_after(char **text, const char *keyword, int to_eol)
{
	struct strbuf sb = STRBUF_INIT;
	const char *p = *text, *hit;
	int changed = 0;

	while ((hit = find_ci(p, keyword)) != NULL) {
		const char *v = hit + strlen(keyword), *end;

		while (*v == ' ' || *v == '\t')
			v++;
		/* A quoted value (YAML or JSON: `X-Api-Key: "v"`): redact inside. */
		if (*v == '"' || *v == '\'')
			v++;
		end = v;
		if (to_eol)
			while (*end && *end != '\n' && *end != '\r' && *end != '"' && *end != '\'')
				end++;
		else
			while (*end && !isspace((unsigned char)*end) && *end != '"' &&
			       *end != '\'' && *end != '<' && *end != '&' && *end != '|')
				end++;
		strbuf_add(&sb, p, (size_t)(v - p));
		if (end > v && strncmp(v, REDACTED, strlen(REDACTED)) != 0) {
			strbuf_adds(&sb, REDACTED);
			changed = 1;
		} else {
			strbuf_add(&sb, v, (size_t)(end - v));
		}
		p = end;
	}
	if (!changed) {
		strbuf_release(&sb);
		return;
	}
	strbuf_adds(&sb, p);
	free(*text);
	*text = strbuf_detach(&sb);
}

/* Names of fields and headers whose value is a credential whatever it
 * looks like. */
static int credential_key(const char *key)
{
	static const char *const headers[] = {
		"authorization", "proxy-authorization", "cookie", "set-cookie", "x-api-key",
		"api-key", "x-auth-token",
	};

	for (size_t i = 0; i < sizeof(headers) / sizeof(headers[0]); i++)
		if (strcasecmp(key, headers[i]) == 0)
			return 1;
	return name_is_secret(key, strlen(key));
}

static char *redact_with(const struct literals *l, const char *text)
{
	char *out = xstrdup(text ? text : "");

	for (size_t i = 0; i < l->n; i++)
		replace_all(&out, l->list[i]);
	redact_url_userinfo(&out);
	redact_after(&out, "authorization:", 1);
	redact_after(&out, "bearer ", 0);
	redact_after(&out, "x-api-key:", 1);
	redact_after(&out, "cookie:", 1);
	return out;
}

char *redact_text(const char *text)
{
	struct literals l;
	char *out;

	literals_load(&l);
	out = redact_with(&l, text);
	literals_release(&l);
	return out;
}

static json_t *redact_json_with(const struct literals *l, const json_t *v);

json_t *redact_json(const json_t *v)
{
	struct literals l;
	json_t *out;

	literals_load(&l);
	out = redact_json_with(&l, v);
	literals_release(&l);
	return out;
}

static json_t *redact_json_with(const struct literals *l, const json_t *v)
{
	json_t *out = NULL;

	if (!v)
		return json_null();
	switch (json_typeof(v)) {
	case JSON_OBJECT: {
		const char *key;
		json_t *val;

		out = json_object();
		json_object_foreach((json_t *)v, key, val) {
			char *k = redact_with(l, key);

			/* A credential header or a secret-named field (headers of an
			 * http probe, grpcurl -H values): the whole value goes. */
			if (json_is_string(val) && credential_key(key))
				json_object_set_new(out, k, json_string(REDACTED));
			else
				json_object_set_new(out, k, redact_json_with(l, val));
			free(k);
		}
		break;
	}
	case JSON_ARRAY: {
		size_t i;
		json_t *val;

		out = json_array();
		json_array_foreach(v, i, val)
			json_array_append_new(out, redact_json_with(l, val));
		break;
	}
	case JSON_STRING: {
		char *s = redact_with(l, json_string_value(v));

		out = json_string(s);
		free(s);
		if (!out) /* invalid UTF-8 after replacing: keep nothing of it */
			out = json_string(REDACTED);
		break;
	}
	default:
		out = json_deep_copy(v);
		break;
	}
	return out;
}
