/* Regular-expression expectations with pcre2 (see expect.h). */
#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include "assertions/expect.h"

#include <stdlib.h>
#include <string.h>

#include "common/strbuf.h"

struct expect_regex {
	pcre2_code *code;
	char *pattern;
};

int expect_regex_compile(struct expect_regex **out, const char *pattern, struct dr_error *err)
{
	struct expect_regex *re = NULL;
	int errcode = 0;
	PCRE2_SIZE offset = 0;
	pcre2_code *code;

	*out = NULL;
	if (!pattern)
		return dr_error_set(err, "invalid regex: no pattern");
	/* UTF so '.' is a character, not a byte, in bodies that are UTF-8. */
	code = pcre2_compile((PCRE2_SPTR)pattern, PCRE2_ZERO_TERMINATED, PCRE2_UTF, &errcode,
			     &offset, NULL);
	if (!code) {
		PCRE2_UCHAR msg[256];

		if (pcre2_get_error_message(errcode, msg, sizeof(msg)) < 0)
			str_copy((char *)msg, sizeof(msg), "unknown error");
		return dr_error_set(err, "invalid regex '%s': %s at offset %zu", pattern,
				    (const char *)msg, (size_t)offset);
	}
	re = xmalloc(sizeof(*re));
	re->code = code;
	re->pattern = xstrdup(pattern);
	*out = re;
	return 0;
}

int expect_regex_match(bool *out, const struct expect_regex *re, const char *subject,
		       size_t len, struct dr_error *err)
{
	pcre2_match_data *md = pcre2_match_data_create_from_pattern(re->code, NULL);
	int rc;
	int ret = -1;

	*out = false;
	if (!md) {
		dr_error_set(err, "cannot match regex '%s': out of memory", re->pattern);
		goto out;
	}
	rc = pcre2_match(re->code, (PCRE2_SPTR)(subject ? subject : ""), subject ? len : 0, 0, 0,
			 md, NULL);
	if (rc >= 0) {
		*out = true;
	} else if (rc != PCRE2_ERROR_NOMATCH) {
		PCRE2_UCHAR msg[256];

		if (pcre2_get_error_message(rc, msg, sizeof(msg)) < 0)
			str_copy((char *)msg, sizeof(msg), "unknown error");
		dr_error_set(err, "cannot match regex '%s': %s", re->pattern, (const char *)msg);
		goto out;
	}
	ret = 0;
out:
	pcre2_match_data_free(md);
	return ret;
}

const char *expect_regex_pattern(const struct expect_regex *re)
{
	return re->pattern;
}

void expect_regex_free(struct expect_regex *re)
{
	if (!re)
		return;
	pcre2_code_free(re->code);
	free(re->pattern);
	free(re);
}

/* Quote at most 80 bytes of a subject for a message. */
static void excerpt(char *buf, size_t buflen, const char *s, size_t len)
{
	size_t n = len < 80 ? len : 80;
	size_t o = 0;

	for (size_t i = 0; i < n && o + 5 < buflen; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c == '\n') {
			buf[o++] = '\\';
			buf[o++] = 'n';
		} else {
			buf[o++] = c < 0x20 ? '?' : (char)c;
		}
	}
	if (n < len && o + 4 < buflen) {
		memcpy(buf + o, "...", 3);
		o += 3;
	}
	buf[o] = '\0';
}

int expect_regex_check(struct expect_result *out, const char *pattern, const char *subject,
		       size_t len, struct dr_error *err)
{
	struct expect_regex *re = NULL;
	char quoted[256];
	bool matched = false;
	int ret = -1;

	memset(out, 0, sizeof(*out));
	if (expect_regex_compile(&re, pattern, err) < 0)
		goto out;
	if (expect_regex_match(&matched, re, subject, len, err) < 0)
		goto out;
	excerpt(quoted, sizeof(quoted), subject ? subject : "", subject ? len : 0);
	out->passed = matched;
	snprintf(out->message, sizeof(out->message), "'%s' %s /%s/", quoted,
		 matched ? "matches" : "does not match", pattern);
	ret = 0;
out:
	expect_regex_free(re);
	return ret;
}
