/* Plain-scalar resolution (harness/yaml/yaml_scalar.h). */
#include "harness/yaml/yaml_scalar.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "common/strbuf.h"
#include "harness/yaml/yaml_posmap.h"

static int is_one_of(const char *s, size_t len, const char *const *words)
{
	for (; *words; words++)
		if (strlen(*words) == len && memcmp(s, *words, len) == 0)
			return 1;
	return 0;
}

static int all_digits(const char *s, size_t len, int base)
{
	if (len == 0)
		return 0;
	for (size_t i = 0; i < len; i++) {
		int c = (unsigned char)s[i];

		if (base == 8 && !(c >= '0' && c <= '7'))
			return 0;
		if (base == 10 && !isdigit(c))
			return 0;
		if (base == 16 && !isxdigit(c))
			return 0;
	}
	return 1;
}

/* [-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)? */
static int is_core_float(const char *s, size_t len)
{
	size_t i = 0, mant = 0;

	if (i < len && (s[i] == '-' || s[i] == '+'))
		i++;
	while (i < len && isdigit((unsigned char)s[i])) {
		i++;
		mant++;
	}
	if (i < len && s[i] == '.') {
		i++;
		while (i < len && isdigit((unsigned char)s[i])) {
			i++;
			mant++;
		}
	}
	if (mant == 0)
		return 0;
	if (i < len && (s[i] == 'e' || s[i] == 'E')) {
		size_t exp = 0;

		i++;
		if (i < len && (s[i] == '-' || s[i] == '+'))
			i++;
		while (i < len && isdigit((unsigned char)s[i])) {
			i++;
			exp++;
		}
		if (exp == 0)
			return 0;
	}
	return i == len;
}

static json_t *int_from(const char *digits, int base, int negative, const char *text,
			size_t len, unsigned *flags)
{
	long long v;
	char *end;

	errno = 0;
	v = strtoll(digits, &end, base);
	if (errno == ERANGE || *end) {
		/* Too large for an int64: keep it as a float so that checks
		 * saying "expected an integer" name it. */
		double d = strtod(text, NULL);

		(void)len;
		if (!isfinite(d)) {
			*flags |= YJ_NONFINITE;
			return json_stringn(text, len);
		}
		return json_real(d);
	}
	return json_integer(negative ? -v : v);
}

json_t *yj_resolve_plain(const char *text, size_t len, unsigned *flags)
{
	static const char *const nulls[] = { "", "~", "null", "Null", "NULL", NULL };
	static const char *const trues[] = { "true", "True", "TRUE", NULL };
	static const char *const falses[] = { "false", "False", "FALSE", NULL };
	static const char *const infs[] = { ".inf", ".Inf", ".INF", "+.inf", "+.Inf",
					    "+.INF", "-.inf", "-.Inf", "-.INF", NULL };
	static const char *const nans[] = { ".nan", ".NaN", ".NAN", NULL };
	char *copy = NULL;
	json_t *v = NULL;

	*flags = 0;
	if (is_one_of(text, len, nulls))
		return json_null();
	if (is_one_of(text, len, trues))
		return json_true();
	if (is_one_of(text, len, falses))
		return json_false();
	if (is_one_of(text, len, infs) || is_one_of(text, len, nans)) {
		*flags |= YJ_NONFINITE;
		return json_stringn(text, len);
	}
	copy = xstrndup(text, len);
	if (len > 2 && text[0] == '0' && text[1] == 'o' && all_digits(text + 2, len - 2, 8))
		v = int_from(copy + 2, 8, 0, copy, len, flags);
	else if (len > 2 && text[0] == '0' && text[1] == 'x' &&
		 all_digits(text + 2, len - 2, 16))
		v = int_from(copy + 2, 16, 0, copy, len, flags);
	else if (len > 0 && (text[0] == '-' || text[0] == '+') &&
		 all_digits(text + 1, len - 1, 10))
		v = int_from(copy + 1, 10, text[0] == '-', copy, len, flags);
	else if (all_digits(text, len, 10))
		v = int_from(copy, 10, 0, copy, len, flags);
	else if (is_core_float(text, len)) {
		double d = strtod(copy, NULL);

		if (isfinite(d)) {
			v = json_real(d);
		} else {
			*flags |= YJ_NONFINITE;
			v = json_stringn(text, len);
		}
	} else {
		v = json_stringn(text, len);
	}
	free(copy);
	return v;
}
