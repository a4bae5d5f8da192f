/* YAML and JSON into one jansson tree: YAML 1.2 core-schema scalars,
 * positions of every key and value, duplicates, aliases, documents. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "common/strbuf.h"
#include "harness/yaml/yaml_json.h"

struct errs {
	struct strbuf text;
	int n;
};

static void on_error(unsigned line, unsigned column, const char *msg, void *payload)
{
	struct errs *e = payload;

	strbuf_addf(&e->text, "%u:%u: %s\n", line, column, msg);
	e->n++;
}

static int load(struct yj_doc *doc, const char *text, enum yj_format fmt, struct errs *e)
{
	memset(e, 0, sizeof(*e));
	return yj_load(doc, text, strlen(text), fmt, on_error, e);
}

static void expect_pos(const struct yj_pos *p, unsigned line, unsigned column)
{
	assert_non_null(p);
	if (p->line != line || p->column != column)
		fail_msg("position %u:%u, expected %u:%u", p->line, p->column, line, column);
}

static json_t *resolve(const char *s, unsigned *flags)
{
	return yj_resolve_plain(s, strlen(s), flags);
}

static void test_core_schema_scalars(void **state)
{
	static const char *const strings[] = { "no", "yes", "on", "off", "y", "n", "NO",
					       "Yes", "0b101", "1_000", "12:30", "0x", "0o",
					       "+0x1f", "1e", "nullx", "tRUE", NULL };
	static const char *const nulls[] = { "", "~", "null", "Null", "NULL", NULL };
	unsigned flags;
	json_t *v;

	(void)state;
	for (size_t i = 0; strings[i]; i++) {
		v = resolve(strings[i], &flags);
		if (!json_is_string(v) || strcmp(json_string_value(v), strings[i]) != 0)
			fail_msg("'%s' should stay a string", strings[i]);
		assert_int_equal(flags, 0);
		json_decref(v);
	}
	for (size_t i = 0; nulls[i]; i++) {
		v = resolve(nulls[i], &flags);
		assert_true(json_is_null(v));
	}
	assert_true(json_is_true(resolve("true", &flags)));
	assert_true(json_is_true(resolve("True", &flags)));
	assert_true(json_is_true(resolve("TRUE", &flags)));
	assert_true(json_is_false(resolve("false", &flags)));
	assert_true(json_is_false(resolve("FALSE", &flags)));
#define INT_IS(text, value) do { v = resolve(text, &flags); \
	assert_true(json_is_integer(v)); assert_int_equal(json_integer_value(v), value); \
	json_decref(v); } while (0)
	INT_IS("010", 10);
	INT_IS("0", 0);
	INT_IS("-42", -42);
	INT_IS("+7", 7);
	INT_IS("0o17", 15);
	INT_IS("0x1f", 31);
	INT_IS("0x1F", 31);
	INT_IS("9223372036854775807", INT64_MAX);
#undef INT_IS
	v = resolve("1.5", &flags);
	assert_true(json_is_real(v));
	assert_true(json_real_value(v) == 1.5);
	json_decref(v);
	v = resolve("-.5e1", &flags);
	assert_true(json_is_real(v) && json_real_value(v) == -5.0);
	json_decref(v);
	/* Too large for int64: a float, so "expected an integer" names it. */
	v = resolve("99999999999999999999", &flags);
	assert_true(json_is_real(v));
	json_decref(v);
	for (const char *const *s = (const char *const[]){ ".inf", "-.Inf", "+.INF", ".nan",
							   ".NaN", "1e999", NULL }; *s; s++) {
		v = resolve(*s, &flags);
		assert_true(json_is_string(v));
		if (!(flags & YJ_NONFINITE))
			fail_msg("'%s' should be flagged non-finite", *s);
		json_decref(v);
	}
}

static void test_yaml_quoted_and_tags(void **state)
{
	struct yj_doc doc = YJ_DOC_INIT;
	struct errs e;
	const char *text = "a: '010'\nb: \"true\"\nc: !!str 12\nd: |\n  x\ne: 010\nf: !!int 0x10\n"
			   "on: off\n";

	(void)state;
	assert_int_equal(load(&doc, text, YJ_YAML, &e), 0);
	assert_string_equal(json_string_value(json_object_get(doc.root, "a")), "010");
	assert_string_equal(json_string_value(json_object_get(doc.root, "b")), "true");
	assert_string_equal(json_string_value(json_object_get(doc.root, "c")), "12");
	assert_string_equal(json_string_value(json_object_get(doc.root, "d")), "x\n");
	assert_int_equal(json_integer_value(json_object_get(doc.root, "e")), 10);
	assert_int_equal(json_integer_value(json_object_get(doc.root, "f")), 16);
	assert_string_equal(json_string_value(json_object_get(doc.root, "on")), "off");
	assert_true(yj_value_pos(&doc, doc.root, "a")->flags & YJ_QUOTED);
	assert_false(yj_value_pos(&doc, doc.root, "e")->flags & YJ_QUOTED);
	yj_doc_release(&doc);

	assert_int_equal(load(&doc, "a: !!int abc\nb: !custom x\n", YJ_YAML, &e), 1);
	assert_int_equal(e.n, 2);
	assert_non_null(strstr(e.text.buf, "1:4: 'abc' is not a valid !!int"));
	assert_non_null(strstr(e.text.buf, "2:4: unsupported tag '!custom'"));
	strbuf_release(&e.text);
	yj_doc_release(&doc);
}

static void test_yaml_positions(void **state)
{
	struct yj_doc doc = YJ_DOC_INIT;
	struct errs e;
	const char *text = "version: 1\n"
			   "steps:\n"
			   "  - name: x\n"
			   "    flag: true\n"
			   "  - {action: sleep, n: null}\n"
			   "list: [a, \"é\", c]\n";
	json_t *steps, *s0, *s1, *list;

	(void)state;
	assert_int_equal(load(&doc, text, YJ_YAML, &e), 0);
	expect_pos(yj_key_pos(&doc, doc.root, "version"), 1, 1);
	expect_pos(yj_value_pos(&doc, doc.root, "version"), 1, 10);
	steps = json_object_get(doc.root, "steps");
	expect_pos(yj_node_pos(&doc, steps), 3, 3);
	s0 = json_array_get(steps, 0);
	s1 = json_array_get(steps, 1);
	expect_pos(yj_index_pos(&doc, steps, 0), 3, 5);
	expect_pos(yj_key_pos(&doc, s0, "flag"), 4, 5);
	/* true is a jansson singleton: its place is found through its parent. */
	expect_pos(yj_value_pos(&doc, s0, "flag"), 4, 11);
	expect_pos(yj_index_pos(&doc, steps, 1), 5, 5);
	expect_pos(yj_value_pos(&doc, s1, "action"), 5, 14);
	expect_pos(yj_value_pos(&doc, s1, "n"), 5, 24);
	list = json_object_get(doc.root, "list");
	/* Columns count characters, not bytes: c is at 16 (17 if é counted twice). */
	expect_pos(yj_index_pos(&doc, list, 2), 6, 16);
	yj_doc_release(&doc);
}

static void test_yaml_duplicates_all_reported(void **state)
{
	struct yj_doc doc = YJ_DOC_INIT;
	struct errs e;

	(void)state;
	assert_int_equal(load(&doc, "a: 1\nb: 2\na: 3\nc:\n  x: 1\n  x: 2\n", YJ_YAML, &e), 1);
	assert_int_equal(e.n, 2);
	assert_non_null(strstr(e.text.buf, "3:1: duplicate key 'a' (first at line 1 column 1)"));
	assert_non_null(strstr(e.text.buf, "6:3: duplicate key 'x' (first at line 5 column 3)"));
	assert_int_equal(json_integer_value(json_object_get(doc.root, "a")), 1);
	strbuf_release(&e.text);
	yj_doc_release(&doc);
}

static void test_yaml_aliases_copy_positions(void **state)
{
	struct yj_doc doc = YJ_DOC_INIT;
	struct errs e;
	const char *text = "base: &b\n  k: v\ncopy: *b\n";
	json_t *base, *copy;

	(void)state;
	assert_int_equal(load(&doc, text, YJ_YAML, &e), 0);
	base = json_object_get(doc.root, "base");
	copy = json_object_get(doc.root, "copy");
	assert_ptr_not_equal(base, copy); /* a deep copy: editing one leaves the other */
	assert_true(json_equal(base, copy));
	expect_pos(yj_value_pos(&doc, copy, "k"), 2, 6);
	expect_pos(yj_value_pos(&doc, doc.root, "copy"), 3, 7);
	yj_doc_release(&doc);

	/* Self reference and unknown anchors are errors, as are merge keys. */
	assert_int_equal(load(&doc, "a: &x [*x]\n", YJ_YAML, &e), -1);
	assert_non_null(strstr(e.text.buf, "refers to the node that contains it"));
	strbuf_release(&e.text);
	yj_doc_release(&doc);
	assert_int_equal(load(&doc, "a: *nope\nb:\n  <<: {c: 1}\n", YJ_YAML, &e), 1);
	assert_int_equal(e.n, 2);
	assert_non_null(strstr(e.text.buf, "1:4: unknown anchor 'nope'"));
	assert_non_null(strstr(e.text.buf, "3:3: merge keys (<<) are not supported"));
	strbuf_release(&e.text);
	yj_doc_release(&doc);
}

static void test_yaml_alias_bomb_is_refused(void **state)
{
	struct yj_doc doc = YJ_DOC_INIT;
	struct errs e;
	const char *text = "a: &a [x, x, x, x, x, x, x, x, x, x]\n"
			   "b: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a, *a]\n"
			   "c: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b, *b]\n"
			   "d: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c, *c]\n"
			   "e: &e [*d, *d, *d, *d, *d, *d, *d, *d, *d, *d]\n"
			   "f: &f [*e, *e, *e, *e, *e, *e, *e, *e, *e, *e]\n";

	(void)state;
	assert_int_equal(load(&doc, text, YJ_YAML, &e), -1);
	assert_null(doc.root);
	assert_non_null(strstr(e.text.buf, "document too large"));
	strbuf_release(&e.text);
	yj_doc_release(&doc);
}

static void test_yaml_documents_and_syntax(void **state)
{
	struct yj_doc doc = YJ_DOC_INIT;
	struct errs e;

	(void)state;
	assert_int_equal(load(&doc, "a: 1\n---\nb: 2\n", YJ_YAML, &e), -1);
	assert_non_null(strstr(e.text.buf, "2:1: more than one YAML document"));
	strbuf_release(&e.text);
	yj_doc_release(&doc);
	assert_int_equal(load(&doc, "a: [1, 2\nb: 3\n", YJ_YAML, &e), -1);
	assert_int_equal(e.n, 1);
	assert_non_null(strstr(e.text.buf, "invalid YAML"));
	strbuf_release(&e.text);
	yj_doc_release(&doc);
	assert_int_equal(load(&doc, "? [a]\n: 1\n", YJ_YAML, &e), -1);
	assert_non_null(strstr(e.text.buf, "complex mapping keys"));
	strbuf_release(&e.text);
	yj_doc_release(&doc);
}

static void test_json_positions(void **state)
{
	struct yj_doc doc = YJ_DOC_INIT;
	struct errs e;
	const char *text = "{\n"
			   "  \"a\": [1, {\"b\\u00e9\": true}],\n"
			   "  \"s\": \"x\",\n"
			   "  \"n\": null\n"
			   "}\n";
	json_t *a, *inner;

	(void)state;
	assert_int_equal(load(&doc, text, YJ_JSON, &e), 0);
	expect_pos(yj_value_pos(&doc, NULL, ""), 1, 1);
	expect_pos(yj_key_pos(&doc, doc.root, "a"), 2, 3);
	expect_pos(yj_value_pos(&doc, doc.root, "a"), 2, 8);
	a = json_object_get(doc.root, "a");
	expect_pos(yj_index_pos(&doc, a, 0), 2, 9);
	inner = json_array_get(a, 1);
	expect_pos(yj_index_pos(&doc, a, 1), 2, 12);
	expect_pos(yj_key_pos(&doc, inner, "b\xc3\xa9"), 2, 13);
	expect_pos(yj_value_pos(&doc, inner, "b\xc3\xa9"), 2, 24);
	expect_pos(yj_value_pos(&doc, doc.root, "s"), 3, 8);
	assert_true(yj_value_pos(&doc, doc.root, "s")->flags & YJ_QUOTED);
	expect_pos(yj_value_pos(&doc, doc.root, "n"), 4, 8);
	yj_doc_release(&doc);
}

static void test_json_duplicates_and_syntax(void **state)
{
	struct yj_doc doc = YJ_DOC_INIT;
	struct errs e;

	(void)state;
	assert_int_equal(load(&doc, "{\"a\": 1, \"b\": {\"c\": 1, \"c\": 2}, \"a\": 3}", YJ_JSON,
			      &e), 1);
	assert_int_equal(e.n, 2);
	assert_non_null(strstr(e.text.buf, "1:24: duplicate key 'c' (first at line 1 column 16)"));
	assert_non_null(strstr(e.text.buf, "1:33: duplicate key 'a' (first at line 1 column 2)"));
	/* jansson keeps the last value; its position is the last one's. */
	assert_int_equal(json_integer_value(json_object_get(doc.root, "a")), 3);
	expect_pos(yj_value_pos(&doc, doc.root, "a"), 1, 38);
	strbuf_release(&e.text);
	yj_doc_release(&doc);

	assert_int_equal(load(&doc, "{\n  \"a\": tru\n}", YJ_JSON, &e), -1);
	assert_int_equal(e.n, 1);
	assert_non_null(strstr(e.text.buf, "2:"));
	assert_non_null(strstr(e.text.buf, "invalid JSON"));
	strbuf_release(&e.text);
	yj_doc_release(&doc);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_core_schema_scalars),
		cmocka_unit_test(test_yaml_quoted_and_tags),
		cmocka_unit_test(test_yaml_positions),
		cmocka_unit_test(test_yaml_duplicates_all_reported),
		cmocka_unit_test(test_yaml_aliases_copy_positions),
		cmocka_unit_test(test_yaml_alias_bomb_is_refused),
		cmocka_unit_test(test_yaml_documents_and_syntax),
		cmocka_unit_test(test_json_positions),
		cmocka_unit_test(test_json_duplicates_and_syntax),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
