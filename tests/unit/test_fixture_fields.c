/* The report tests' fixture journals (tests/data/journals) carry every
 * field docs/journal.md documents, and only documented event types with
 * their documented fields, so the golden tests render what a drill writes
 * today (issue 16: the fixtures had fallen behind the journal).
 *
 * The page is read as written: every "key": in its ```json block (comments
 * stripped) must occur somewhere in some fixture, and the event list in
 * its comment ("name {field, field}; ...") gives the types and fields. */
#include <ctype.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include <jansson.h>

#include "common/fsutil.h"
#include "common/strbuf.h"

static const char *const fixtures[] = { "passed", "failed-lost-write", "aborted", "kubernetes",
					 "local-run", "keyword-steps", "quorum-loss" };
#define NFIX (sizeof(fixtures) / sizeof(fixtures[0]))

static char *src_path(const char *rel)
{
	const char *src = getenv("DRILLRIG_SRC");

	return xasprintf("%s/%s", src && *src ? src : ".", rel);
}

static char *read_doc(void)
{
	struct dr_error err = DR_ERROR_INIT;
	char *path = src_path("docs/journal.md"), *text = NULL;
	size_t len;

	if (fs_read_file(&text, &len, path, 1 << 22, &err) != 0)
		fail_msg("cannot read docs/journal.md: %s", err.msg);
	free(path);
	return text;
}

static json_t *load(const char *name)
{
	char *rel = xasprintf("tests/data/journals/%s.json", name), *path = src_path(rel);
	json_error_t jerr;
	json_t *j = json_load_file(path, 0, &jerr);

	if (!j)
		fail_msg("cannot load '%s': %s", path, jerr.text);
	free(rel);
	free(path);
	return j;
}

/* Every key anywhere in v, into the set (an object used as a set). */
static void collect_keys(json_t *set, json_t *v)
{
	const char *key;
	json_t *x;
	size_t i;

	if (json_is_object(v)) {
		json_object_foreach(v, key, x) {
			json_object_set_new(set, key, json_true());
			collect_keys(set, x);
		}
	} else if (json_is_array(v)) {
		json_array_foreach(v, i, x)
			collect_keys(set, x);
	}
}

/* The ```json block's keys: "name" followed by ':' outside // comments. */
static json_t *documented_keys(const char *doc)
{
	const char *start = strstr(doc, "```json\n"), *end;
	json_t *keys = json_object();

	assert_non_null(start);
	start += 8;
	end = strstr(start, "```");
	assert_non_null(end);
	for (const char *line = start; line < end;) {
		const char *eol = memchr(line, '\n', (size_t)(end - line));
		const char *stop = eol ? eol : end;
		int in_str = 0;

		for (const char *c = line; c < stop; c++) {
			if (!in_str && c[0] == '/' && c + 1 < stop && c[1] == '/')
				break;
			if (*c != '"')
				continue;
			if (!in_str) {
				in_str = 1;
				continue;
			}
			in_str = 0;
			{
				/* c closes a string: is it a key? */
				const char *open = c - 1, *after = c + 1;
				char name[64];

				while (open >= line && *open != '"')
					open--;
				while (after < stop && *after == ' ')
					after++;
				if (after < stop && *after == ':' && c - open - 1 > 0 &&
				    (size_t)(c - open - 1) < sizeof(name)) {
					memcpy(name, open + 1, (size_t)(c - open - 1));
					name[c - open - 1] = '\0';
					json_object_set_new(keys, name, json_true());
				}
			}
		}
		line = eol ? eol + 1 : end;
	}
	return keys;
}

static int ident_char(char c)
{
	return islower((unsigned char)c) || isdigit((unsigned char)c) || c == '_';
}

/* The event list: "// event types and their fields" up to "// Commands",
 * comment markers dropped.  "a / b {x, y (note)}" documents types a and b
 * with fields x and y; "{...} or {...}" adds to the same types.  Returns
 * {type: {field: true}}. */
static json_t *documented_events(const char *doc)
{
	const char *from = strstr(doc, "event types and their fields"), *to;
	struct strbuf text = STRBUF_INIT;
	json_t *types = json_object(), *current = json_array();
	const char *c;
	size_t last = 0;

	assert_non_null(from);
	to = strstr(from, "Commands run against");
	assert_non_null(to);
	from = strchr(from, ':') + 1;
	for (c = from; c < to; c++) {
		if (c[0] == '/' && c[1] == '/') {
			c++;
			continue;
		}
		strbuf_add(&text, c, 1);
	}
	c = strbuf_str(&text);
	for (size_t i = 0; c[i]; i++) {
		if (c[i] != '{')
			continue;
		/* The names: identifiers between the last delimiter and '{'. */
		{
			json_t *names = json_array();
			size_t k = i;

			while (k > last && c[k - 1] != ';' && c[k - 1] != '}' && c[k - 1] != ':' &&
			       c[k - 1] != '(')
				k--;
			for (size_t p = k; p < i;) {
				size_t q = p;

				while (q < i && ident_char(c[q]))
					q++;
				if (q > p && !(q - p == 2 && strncmp(c + p, "or", 2) == 0)) {
					char *n = xstrndup(c + p, q - p);

					json_array_append_new(names, json_string(n));
					free(n);
				}
				p = q > p ? q : p + 1;
			}
			if (json_array_size(names) > 0) {
				json_decref(current);
				current = names;
			} else {
				json_decref(names);
			}
		}
		/* The fields: each comma-separated part's first identifier,
		 * parentheses skipped. */
		{
			size_t depth = 0, p = i + 1;
			int want = 1;

			for (; c[p] && c[p] != '}'; p++) {
				if (c[p] == '(')
					depth++;
				else if (c[p] == ')' && depth)
					depth--;
				else if (!depth && c[p] == ',')
					want = 1;
				else if (!depth && want && ident_char(c[p])) {
					size_t q = p;
					size_t n;
					json_t *name;

					while (ident_char(c[q]))
						q++;
					{
						char *f = xstrndup(c + p, q - p);

						json_array_foreach(current, n, name) {
							const char *t = json_string_value(name);

							if (!json_object_get(types, t))
								json_object_set_new(types, t, json_object());
							json_object_set_new(json_object_get(types, t), f,
									    json_true());
						}
						free(f);
					}
					want = 0;
					p = q - 1;
				}
			}
			last = p;
			i = p;
		}
	}
	json_decref(current);
	strbuf_release(&text);
	return types;
}

static void test_every_documented_key_is_in_a_fixture(void **state)
{
	char *doc = read_doc();
	json_t *keys = documented_keys(doc), *seen = json_object(), *v;
	const char *key;
	int missing = 0;

	(void)state;
	assert_true(json_object_size(keys) > 50); /* the block was found and read */
	for (size_t i = 0; i < NFIX; i++) {
		json_t *j = load(fixtures[i]);

		collect_keys(seen, j);
		json_decref(j);
	}
	json_object_foreach(keys, key, v) {
		if (!json_object_get(seen, key)) {
			printf("documented in docs/journal.md, in no fixture journal: \"%s\"\n", key);
			missing++;
		}
	}
	if (missing)
		fail_msg("%d documented journal field(s) are in no fixture under tests/data/journals",
			 missing);
	json_decref(keys);
	json_decref(seen);
	free(doc);
}

static void test_fixture_events_are_documented(void **state)
{
	char *doc = read_doc();
	json_t *types = documented_events(doc), *seen = json_object(), *fields;
	const char *type;
	int bad = 0;

	(void)state;
	assert_non_null(json_object_get(types, "leader_change"));
	assert_non_null(json_object_get(json_object_get(types, "pods_ready"), "after_ms"));
	assert_non_null(json_object_get(json_object_get(types, "rollback"), "result"));
	for (size_t i = 0; i < NFIX; i++) {
		json_t *j = load(fixtures[i]), *ev, *v;
		size_t k;

		json_array_foreach(json_object_get(j, "events"), k, ev) {
			const char *t = json_string_value(json_object_get(ev, "type"));
			json_t *allowed = t ? json_object_get(types, t) : NULL;
			const char *f;

			if (!allowed) {
				printf("%s: event %zu has the undocumented type '%s'\n", fixtures[i], k,
				       t ? t : "(none)");
				bad++;
				continue;
			}
			json_object_set_new(seen, t, json_true());
			json_object_foreach(ev, f, v) {
				if (strcmp(f, "t_ms") == 0 || strcmp(f, "wall") == 0 ||
				    strcmp(f, "type") == 0 || json_object_get(allowed, f))
					continue;
				printf("%s: event %zu (%s) has the undocumented field '%s'\n",
				       fixtures[i], k, t, f);
				bad++;
			}
		}
		json_decref(j);
	}
	json_object_foreach(types, type, fields) {
		if (!json_object_get(seen, type)) {
			printf("documented event type in no fixture: '%s'\n", type);
			bad++;
		}
	}
	if (bad)
		fail_msg("%d disagreement(s) between the fixtures' events and docs/journal.md", bad);
	json_decref(types);
	json_decref(seen);
	free(doc);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_every_documented_key_is_in_a_fixture),
		cmocka_unit_test(test_fixture_events_are_documented),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
