/* JSON <-> protobuf-c messages (ledger/client/pbjson.h).
 *
 * Messages built here are allocated with malloc, field by field, so that
 * protobuf_c_message_free_unpacked(msg, NULL) frees them as it frees an
 * unpacked message. */
#include "ledger/client/pbjson.h"

#include <limits.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/base64.h"
#include "common/numparse.h"
#include "common/strbuf.h"

#define MEMBER(type, msg, off) (*(type *)((char *)(msg) + (off)))
#define CMEMBER(type, msg, off) (*(const type *)((const char *)(msg) + (off)))
#define MAX_DEPTH 32

static int is_desc(const ProtobufCMessageDescriptor *d, const char *name)
{
	return d && strcmp(d->name, name) == 0;
}

/* A map<K,V> field is a repeated message with fields key (1) and value (2)
 * whose type protoc names <Field>Entry. */
static int is_map_entry(const ProtobufCMessageDescriptor *d)
{
	size_t n = strlen(d->name);

	return d->n_fields == 2 && n > 5 && strcmp(d->name + n - 5, "Entry") == 0 &&
	       strcmp(d->fields[0].name, "key") == 0 && strcmp(d->fields[1].name, "value") == 0;
}

/* "key_prefix" matches "key_prefix" and "keyPrefix". */
static int key_matches(const char *field, const char *key)
{
	if (strcmp(field, key) == 0)
		return 1;
	for (; *field && *key; field++, key++) {
		if (*field == '_' && field[1] >= 'a' && field[1] <= 'z') {
			field++;
			if (*key != *field - 'a' + 'A')
				return 0;
		} else if (*field != *key) {
			return 0;
		}
	}
	return !*field && !*key;
}

static const ProtobufCFieldDescriptor *find_field(const ProtobufCMessageDescriptor *d,
						  const char *key)
{
	for (unsigned i = 0; i < d->n_fields; i++)
		if (key_matches(d->fields[i].name, key))
			return &d->fields[i];
	return NULL;
}

/* ---- JSON to message ------------------------------------------------------ */

struct in {
	struct dr_error *err;
	struct strbuf path;
	int depth;
};

/* An error at the current key path ("members[2].id: expected ..."). */
static int bad(struct in *in, const char *what)
{
	return dr_error_set(in->err, "%s: %s", in->path.len ? in->path.buf : "the message", what);
}

static int get_u64(struct in *in, uint64_t *out, const json_t *v, uint64_t max)
{
	if (json_is_integer(v) && json_integer_value(v) >= 0 &&
	    (uint64_t)json_integer_value(v) <= max) {
		*out = (uint64_t)json_integer_value(v);
		return 0;
	}
	if (json_is_string(v) && parse_uint64(out, json_string_value(v), 0, max) == 0)
		return 0;
	return bad(in, "expected a non-negative integer in range");
}

static int get_i64(struct in *in, int64_t *out, const json_t *v, int64_t min, int64_t max)
{
	if (json_is_integer(v) && json_integer_value(v) >= min && json_integer_value(v) <= max) {
		*out = json_integer_value(v);
		return 0;
	}
	if (json_is_string(v) && parse_int64(out, json_string_value(v), min, max) == 0)
		return 0;
	return bad(in, "expected an integer in range");
}

static int get_double(struct in *in, double *out, const json_t *v)
{
	if (json_is_number(v)) {
		*out = json_number_value(v);
		return 0;
	}
	if (json_is_string(v) && parse_double(out, json_string_value(v)) == 0)
		return 0;
	return bad(in, "expected a number");
}

static int get_enum(struct in *in, int *out, const ProtobufCEnumDescriptor *e, const json_t *v)
{
	const ProtobufCEnumValue *ev = NULL;

	if (json_is_string(v))
		ev = protobuf_c_enum_descriptor_get_value_by_name(e, json_string_value(v));
	else if (json_is_integer(v) && json_integer_value(v) >= INT_MIN &&
		 json_integer_value(v) <= INT_MAX)
		ev = protobuf_c_enum_descriptor_get_value(e, (int)json_integer_value(v));
	if (!ev)
		return bad(in, "not a value of the enum");
	*out = ev->value;
	return 0;
}

static int to_msg(struct in *in, ProtobufCMessage **out, const ProtobufCMessageDescriptor *d,
		  const json_t *j);

/* A google.protobuf.Value from any JSON value. */
static int to_struct_value(struct in *in, ProtobufCMessage **out,
			   const ProtobufCMessageDescriptor *d, const json_t *v);

static ProtobufCMessage *new_msg(const ProtobufCMessageDescriptor *d)
{
	ProtobufCMessage *m = xcalloc(1, d->sizeof_message);

	d->message_init(m);
	return m;
}

static int to_struct(struct in *in, ProtobufCMessage **out, const ProtobufCMessageDescriptor *d,
		     const json_t *j)
{
	const ProtobufCFieldDescriptor *f = find_field(d, "fields");
	const ProtobufCMessageDescriptor *entry = f->descriptor;
	const ProtobufCMessageDescriptor *value = entry->fields[1].descriptor;
	ProtobufCMessage *m, **arr;
	const char *key;
	json_t *v;
	size_t n = 0;

	if (!json_is_object(j))
		return bad(in, "expected an object");
	m = new_msg(d);
	*out = m;
	arr = xcalloc(json_object_size(j) + 1, sizeof(*arr));
	MEMBER(ProtobufCMessage **, m, f->offset) = arr;
	json_object_foreach((json_t *)j, key, v) {
		ProtobufCMessage *e = new_msg(entry);

		arr[n++] = e;
		MEMBER(size_t, m, f->quantifier_offset) = n;
		MEMBER(char *, e, entry->fields[0].offset) = xstrdup(key);
		if (to_struct_value(in, &MEMBER(ProtobufCMessage *, e, entry->fields[1].offset), value,
				    v) != 0)
			return -1;
	}
	return 0;
}

static int to_struct_value(struct in *in, ProtobufCMessage **out,
			   const ProtobufCMessageDescriptor *d, const json_t *v)
{
	ProtobufCMessage *m = new_msg(d);
	const ProtobufCFieldDescriptor *f;
	uint32_t *kase;

	*out = m;
	if (++in->depth > MAX_DEPTH)
		return bad(in, "nested too deeply");
	switch (json_typeof(v)) {
	case JSON_NULL:
		f = find_field(d, "null_value");
		break;
	case JSON_TRUE:
	case JSON_FALSE:
		f = find_field(d, "bool_value");
		MEMBER(protobuf_c_boolean, m, f->offset) = json_is_true(v);
		break;
	case JSON_INTEGER:
	case JSON_REAL:
		f = find_field(d, "number_value");
		MEMBER(double, m, f->offset) = json_number_value(v);
		break;
	case JSON_STRING:
		f = find_field(d, "string_value");
		MEMBER(char *, m, f->offset) = xstrdup(json_string_value(v));
		break;
	case JSON_OBJECT:
		f = find_field(d, "struct_value");
		if (to_struct(in, &MEMBER(ProtobufCMessage *, m, f->offset), f->descriptor, v) != 0)
			return -1;
		break;
	default: {
		const ProtobufCMessageDescriptor *ld;
		const ProtobufCFieldDescriptor *vf;
		ProtobufCMessage *list, **arr;
		size_t i;
		json_t *item;

		f = find_field(d, "list_value");
		ld = f->descriptor;
		vf = find_field(ld, "values");
		list = new_msg(ld);
		MEMBER(ProtobufCMessage *, m, f->offset) = list;
		arr = xcalloc(json_array_size(v) + 1, sizeof(*arr));
		MEMBER(ProtobufCMessage **, list, vf->offset) = arr;
		json_array_foreach((json_t *)v, i, item) {
			MEMBER(size_t, list, vf->quantifier_offset) = i + 1;
			if (to_struct_value(in, &arr[i], d, item) != 0)
				return -1;
		}
		break;
	}
	}
	kase = &MEMBER(uint32_t, m, f->quantifier_offset);
	*kase = f->id;
	in->depth--;
	return 0;
}

/* One value of field f (a single value, or one element of a repeated one)
 * stored at p. */
static int to_value(struct in *in, void *p, const ProtobufCFieldDescriptor *f, const json_t *v)
{
	uint64_t u;
	int64_t i;
	double dv;

	switch (f->type) {
	case PROTOBUF_C_TYPE_INT32:
	case PROTOBUF_C_TYPE_SINT32:
	case PROTOBUF_C_TYPE_SFIXED32:
		if (get_i64(in, &i, v, INT32_MIN, INT32_MAX) != 0)
			return -1;
		*(int32_t *)p = (int32_t)i;
		return 0;
	case PROTOBUF_C_TYPE_UINT32:
	case PROTOBUF_C_TYPE_FIXED32:
		if (get_u64(in, &u, v, UINT32_MAX) != 0)
			return -1;
		*(uint32_t *)p = (uint32_t)u;
		return 0;
	case PROTOBUF_C_TYPE_INT64:
	case PROTOBUF_C_TYPE_SINT64:
	case PROTOBUF_C_TYPE_SFIXED64:
		if (get_i64(in, &i, v, INT64_MIN, INT64_MAX) != 0)
			return -1;
		*(int64_t *)p = i;
		return 0;
	case PROTOBUF_C_TYPE_UINT64:
	case PROTOBUF_C_TYPE_FIXED64:
		if (get_u64(in, &u, v, UINT64_MAX) != 0)
			return -1;
		*(uint64_t *)p = u;
		return 0;
	case PROTOBUF_C_TYPE_FLOAT:
		if (get_double(in, &dv, v) != 0)
			return -1;
		*(float *)p = (float)dv;
		return 0;
	case PROTOBUF_C_TYPE_DOUBLE:
		return get_double(in, (double *)p, v);
	case PROTOBUF_C_TYPE_BOOL:
		if (!json_is_boolean(v))
			return bad(in, "expected true or false");
		*(protobuf_c_boolean *)p = json_is_true(v);
		return 0;
	case PROTOBUF_C_TYPE_ENUM:
		return get_enum(in, (int *)p, f->descriptor, v);
	case PROTOBUF_C_TYPE_STRING:
		if (!json_is_string(v))
			return bad(in, "expected a string");
		/* A NUL would cut a protobuf-c string short: refuse it. */
		if (strlen(json_string_value(v)) != json_string_length(v))
			return bad(in, "a string must not contain NUL");
		*(char **)p = xstrdup(json_string_value(v));
		return 0;
	case PROTOBUF_C_TYPE_BYTES: {
		ProtobufCBinaryData *b = p;
		size_t len = 0;
		char *raw = json_is_string(v) ? b64_decode(json_string_value(v), &len) : NULL;

		if (!raw)
			return bad(in, "expected base64 bytes");
		b->data = (uint8_t *)raw;
		b->len = len;
		return 0;
	}
	case PROTOBUF_C_TYPE_MESSAGE:
		if (is_desc(f->descriptor, "google.protobuf.Struct"))
			return to_struct(in, (ProtobufCMessage **)p, f->descriptor, v);
		if (is_desc(f->descriptor, "google.protobuf.Value"))
			return to_struct_value(in, (ProtobufCMessage **)p, f->descriptor, v);
		return to_msg(in, (ProtobufCMessage **)p, f->descriptor, v);
	}
	return bad(in, "unsupported field type");
}

static size_t value_size(const ProtobufCFieldDescriptor *f)
{
	switch (f->type) {
	case PROTOBUF_C_TYPE_INT32: case PROTOBUF_C_TYPE_SINT32: case PROTOBUF_C_TYPE_SFIXED32:
	case PROTOBUF_C_TYPE_UINT32: case PROTOBUF_C_TYPE_FIXED32: return 4;
	case PROTOBUF_C_TYPE_INT64: case PROTOBUF_C_TYPE_SINT64: case PROTOBUF_C_TYPE_SFIXED64:
	case PROTOBUF_C_TYPE_UINT64: case PROTOBUF_C_TYPE_FIXED64: return 8;
	case PROTOBUF_C_TYPE_FLOAT: return sizeof(float);
	case PROTOBUF_C_TYPE_DOUBLE: return sizeof(double);
	case PROTOBUF_C_TYPE_BOOL: return sizeof(protobuf_c_boolean);
	case PROTOBUF_C_TYPE_ENUM: return sizeof(int);
	case PROTOBUF_C_TYPE_STRING: return sizeof(char *);
	case PROTOBUF_C_TYPE_BYTES: return sizeof(ProtobufCBinaryData);
	case PROTOBUF_C_TYPE_MESSAGE: return sizeof(ProtobufCMessage *);
	}
	return 8;
}

/* A map<string,string> from a JSON object. */
static int to_map(struct in *in, ProtobufCMessage *m, const ProtobufCFieldDescriptor *f,
		  const json_t *v)
{
	const ProtobufCMessageDescriptor *entry = f->descriptor;
	ProtobufCMessage **arr;
	const char *key;
	json_t *val;
	size_t n = 0;

	if (!json_is_object(v))
		return bad(in, "expected an object (a map)");
	arr = xcalloc(json_object_size(v) + 1, sizeof(*arr));
	MEMBER(ProtobufCMessage **, m, f->offset) = arr;
	json_object_foreach((json_t *)v, key, val) {
		ProtobufCMessage *e = new_msg(entry);
		json_t *k = json_string(key);
		int rc;

		arr[n++] = e;
		MEMBER(size_t, m, f->quantifier_offset) = n;
		rc = to_value(in, (char *)e + entry->fields[0].offset, &entry->fields[0], k);
		json_decref(k);
		if (rc != 0 || to_value(in, (char *)e + entry->fields[1].offset, &entry->fields[1], val) != 0)
			return -1;
	}
	return 0;
}

static int to_field(struct in *in, ProtobufCMessage *m, const ProtobufCFieldDescriptor *f,
		    const json_t *v)
{
	size_t n, sz;
	char *arr;
	json_t *item;

	if (json_is_null(v))
		return 0;  /* proto3 JSON: null is the default */
	if (f->label != PROTOBUF_C_LABEL_REPEATED) {
		if (f->flags & PROTOBUF_C_FIELD_FLAG_ONEOF) {
			uint32_t *kase = &MEMBER(uint32_t, m, f->quantifier_offset);

			if (*kase)
				return bad(in, "more than one member of a oneof");
			*kase = f->id;
		} else if (f->label == PROTOBUF_C_LABEL_OPTIONAL && f->quantifier_offset &&
			   f->type != PROTOBUF_C_TYPE_MESSAGE && f->type != PROTOBUF_C_TYPE_STRING) {
			MEMBER(protobuf_c_boolean, m, f->quantifier_offset) = 1;
		}
		return to_value(in, (char *)m + f->offset, f, v);
	}
	if (f->type == PROTOBUF_C_TYPE_MESSAGE && is_map_entry(f->descriptor))
		return to_map(in, m, f, v);
	if (!json_is_array(v))
		return bad(in, "expected a list");
	n = json_array_size(v);
	sz = value_size(f);
	arr = xcalloc(n + 1, sz);
	MEMBER(void *, m, f->offset) = arr;
	for (size_t i = 0; i < n; i++) {
		size_t before = in->path.len;

		item = json_array_get(v, i);
		strbuf_addf(&in->path, "[%zu]", i);
		MEMBER(size_t, m, f->quantifier_offset) = i + 1;
		if (to_value(in, arr + i * sz, f, item) != 0)
			return -1;
		in->path.len = before;
		in->path.buf[before] = '\0';
	}
	return 0;
}

static int to_msg(struct in *in, ProtobufCMessage **out, const ProtobufCMessageDescriptor *d,
		  const json_t *j)
{
	ProtobufCMessage *m;
	const char *key;
	json_t *v;

	*out = NULL;
	if (!json_is_object(j))
		return bad(in, "expected an object");
	if (++in->depth > MAX_DEPTH)
		return bad(in, "nested too deeply");
	m = new_msg(d);
	*out = m;
	json_object_foreach((json_t *)j, key, v) {
		const ProtobufCFieldDescriptor *f = find_field(d, key);
		size_t before = in->path.len;
		int rc;

		strbuf_addf(&in->path, "%s%s", before ? "." : "", key);
		if (!f)
			return bad(in, "unknown field");
		rc = to_field(in, m, f, v);
		if (rc != 0)
			return rc;
		in->path.len = before;
		in->path.buf[before] = '\0';
	}
	in->depth--;
	return 0;
}

int pbjson_to_message(ProtobufCMessage **out, const ProtobufCMessageDescriptor *d, const json_t *j,
		      struct dr_error *err)
{
	struct in in = { err, STRBUF_INIT, 0 };
	int rc;

	strbuf_grow(&in.path, 64);
	rc = to_msg(&in, out, d, j);
	strbuf_release(&in.path);
	if (rc != 0 && *out) {
		protobuf_c_message_free_unpacked(*out, NULL);
		*out = NULL;
	}
	return rc;
}

/* ---- message to JSON ------------------------------------------------------ */

static json_t *from_msg(const ProtobufCMessage *m, unsigned flags);

static json_t *u64_json(uint64_t u)
{
	return u <= (uint64_t)INT64_MAX ? json_integer((json_int_t)u) : json_sprintf("%llu",
										      (unsigned long long)u);
}

static json_t *from_struct_value(const ProtobufCMessage *m);

static json_t *from_struct(const ProtobufCMessage *m)
{
	const ProtobufCFieldDescriptor *f = find_field(m->descriptor, "fields");
	const ProtobufCMessageDescriptor *entry = f->descriptor;
	size_t n = CMEMBER(size_t, m, f->quantifier_offset);
	const ProtobufCMessage *const *arr = CMEMBER(ProtobufCMessage *const *, m, f->offset);
	json_t *o = json_object();

	for (size_t i = 0; i < n; i++) {
		const char *key = CMEMBER(const char *, arr[i], entry->fields[0].offset);
		const ProtobufCMessage *val = CMEMBER(const ProtobufCMessage *, arr[i],
						      entry->fields[1].offset);

		json_object_set_new(o, key ? key : "", val ? from_struct_value(val) : json_null());
	}
	return o;
}

static json_t *from_struct_value(const ProtobufCMessage *m)
{
	const ProtobufCMessageDescriptor *d = m->descriptor;
	uint32_t kase = 0;
	const ProtobufCFieldDescriptor *f = NULL;

	for (unsigned i = 0; i < d->n_fields; i++)
		if (d->fields[i].flags & PROTOBUF_C_FIELD_FLAG_ONEOF) {
			kase = CMEMBER(uint32_t, m, d->fields[i].quantifier_offset);
			break;
		}
	for (unsigned i = 0; i < d->n_fields; i++)
		if (d->fields[i].id == kase)
			f = &d->fields[i];
	if (!f || strcmp(f->name, "null_value") == 0)
		return json_null();
	if (strcmp(f->name, "number_value") == 0) {
		double v = CMEMBER(double, m, f->offset);

		return floor(v) == v && fabs(v) < 9e15 ? json_integer((json_int_t)v) : json_real(v);
	}
	if (strcmp(f->name, "string_value") == 0)
		return json_string(CMEMBER(const char *, m, f->offset) ?: "");
	if (strcmp(f->name, "bool_value") == 0)
		return json_boolean(CMEMBER(protobuf_c_boolean, m, f->offset));
	if (strcmp(f->name, "struct_value") == 0) {
		const ProtobufCMessage *s = CMEMBER(const ProtobufCMessage *, m, f->offset);

		return s ? from_struct(s) : json_object();
	} else {
		const ProtobufCMessage *l = CMEMBER(const ProtobufCMessage *, m, f->offset);
		const ProtobufCFieldDescriptor *vf = l ? find_field(l->descriptor, "values") : NULL;
		json_t *a = json_array();

		for (size_t i = 0; vf && i < CMEMBER(size_t, l, vf->quantifier_offset); i++)
			json_array_append_new(a, from_struct_value(
				CMEMBER(ProtobufCMessage **, l, vf->offset)[i]));
		return a;
	}
}

/* One value at p of field f; *is_zero tells whether it is the zero value. */
static json_t *from_value(const void *p, const ProtobufCFieldDescriptor *f, unsigned flags,
			  int *is_zero)
{
	*is_zero = 0;
	switch (f->type) {
	case PROTOBUF_C_TYPE_INT32: case PROTOBUF_C_TYPE_SINT32: case PROTOBUF_C_TYPE_SFIXED32:
		*is_zero = *(const int32_t *)p == 0;
		return json_integer(*(const int32_t *)p);
	case PROTOBUF_C_TYPE_UINT32: case PROTOBUF_C_TYPE_FIXED32:
		*is_zero = *(const uint32_t *)p == 0;
		return json_integer(*(const uint32_t *)p);
	case PROTOBUF_C_TYPE_INT64: case PROTOBUF_C_TYPE_SINT64: case PROTOBUF_C_TYPE_SFIXED64:
		*is_zero = *(const int64_t *)p == 0;
		return json_integer(*(const int64_t *)p);
	case PROTOBUF_C_TYPE_UINT64: case PROTOBUF_C_TYPE_FIXED64:
		*is_zero = *(const uint64_t *)p == 0;
		return u64_json(*(const uint64_t *)p);
	case PROTOBUF_C_TYPE_FLOAT:
		*is_zero = *(const float *)p == 0;
		return json_real(*(const float *)p);
	case PROTOBUF_C_TYPE_DOUBLE:
		*is_zero = *(const double *)p == 0;
		return json_real(*(const double *)p);
	case PROTOBUF_C_TYPE_BOOL:
		*is_zero = !*(const protobuf_c_boolean *)p;
		return json_boolean(*(const protobuf_c_boolean *)p);
	case PROTOBUF_C_TYPE_ENUM: {
		const ProtobufCEnumValue *ev =
			protobuf_c_enum_descriptor_get_value(f->descriptor, *(const int *)p);

		*is_zero = *(const int *)p == 0;
		return ev ? json_string(ev->name) : json_integer(*(const int *)p);
	}
	case PROTOBUF_C_TYPE_STRING: {
		const char *s = *(const char *const *)p;

		*is_zero = !s || !*s;
		return json_string(s ? s : "");
	}
	case PROTOBUF_C_TYPE_BYTES: {
		const ProtobufCBinaryData *b = p;
		char *text = b64_encode(b->data ? b->data : (const uint8_t *)"", b->len);
		json_t *o = json_string(text);

		*is_zero = b->len == 0;
		free(text);
		return o;
	}
	case PROTOBUF_C_TYPE_MESSAGE: {
		const ProtobufCMessage *sub = *(const ProtobufCMessage *const *)p;

		*is_zero = !sub;
		if (!sub)
			return json_null();
		if (is_desc(sub->descriptor, "google.protobuf.Struct"))
			return from_struct(sub);
		if (is_desc(sub->descriptor, "google.protobuf.Value"))
			return from_struct_value(sub);
		return from_msg(sub, flags);
	}
	}
	return json_null();
}

static json_t *from_field(const ProtobufCMessage *m, const ProtobufCFieldDescriptor *f,
			  unsigned flags, int *skip)
{
	const char *base = (const char *)m;
	size_t n;
	json_t *out;
	int zero;

	*skip = 0;
	if (f->label != PROTOBUF_C_LABEL_REPEATED) {
		if (f->flags & PROTOBUF_C_FIELD_FLAG_ONEOF) {
			*skip = CMEMBER(uint32_t, m, f->quantifier_offset) != f->id;
			return *skip ? NULL : from_value(base + f->offset, f, flags, &zero);
		}
		out = from_value(base + f->offset, f, flags, &zero);
		if (zero && !(flags & PBJSON_EMIT_DEFAULTS)) {
			json_decref(out);
			*skip = 1;
			return NULL;
		}
		return out;
	}
	n = CMEMBER(size_t, m, f->quantifier_offset);
	if (n == 0 && !(flags & PBJSON_EMIT_DEFAULTS)) {
		*skip = 1;
		return NULL;
	}
	if (f->type == PROTOBUF_C_TYPE_MESSAGE && is_map_entry(f->descriptor)) {
		const ProtobufCMessageDescriptor *entry = f->descriptor;
		const ProtobufCMessage *const *arr = CMEMBER(ProtobufCMessage *const *, m, f->offset);

		out = json_object();
		for (size_t i = 0; i < n; i++) {
			const char *k = CMEMBER(const char *, arr[i], entry->fields[0].offset);

			json_object_set_new(out, k ? k : "",
					    from_value((const char *)arr[i] + entry->fields[1].offset,
						       &entry->fields[1], flags, &zero));
		}
		return out;
	}
	out = json_array();
	for (size_t i = 0; i < n; i++)
		json_array_append_new(out, from_value(CMEMBER(const char *, m, f->offset) +
						      i * value_size(f), f, flags, &zero));
	return out;
}

static json_t *from_msg(const ProtobufCMessage *m, unsigned flags)
{
	const ProtobufCMessageDescriptor *d = m->descriptor;
	json_t *o = json_object();

	for (unsigned i = 0; i < d->n_fields; i++) {
		int skip;
		json_t *v = from_field(m, &d->fields[i], flags, &skip);

		if (!skip)
			json_object_set_new(o, d->fields[i].name, v);
	}
	return o;
}

json_t *pbjson_from_message(const ProtobufCMessage *m, unsigned flags)
{
	return from_msg(m, flags);
}

/* ---- bytes ------------------------------------------------------------------ */

int pbjson_pack(void **data, size_t *len, const ProtobufCMessageDescriptor *d, const json_t *j,
		struct dr_error *err)
{
	ProtobufCMessage *m = NULL;
	json_t *empty = j ? NULL : json_object();
	int rc;

	*data = NULL;
	*len = 0;
	rc = pbjson_to_message(&m, d, j ? j : empty, err);
	json_decref(empty);
	if (rc != 0)
		return -1;
	*len = protobuf_c_message_get_packed_size(m);
	*data = xmalloc(*len ? *len : 1);
	protobuf_c_message_pack(m, *data);
	protobuf_c_message_free_unpacked(m, NULL);
	return 0;
}

static int read_varint(const uint8_t **p, const uint8_t *end, uint64_t *v)
{
	uint64_t r = 0;

	for (unsigned shift = 0; shift < 64 && *p < end; shift += 7) {
		uint8_t b = *(*p)++;

		r |= (uint64_t)(b & 0x7f) << shift;
		if (!(b & 0x80)) {
			*v = r;
			return 0;
		}
	}
	return -1;
}

/* protobuf-c hands strings over NUL-terminated, without their length: a
 * NUL inside one would cut it short without a word ("a\0b" read as "a"),
 * and jansson drops a string that is not UTF-8 (which proto3 strings must
 * be).  So every string field, in nested messages too, is checked on the
 * wire first.  Bytes that are malformed otherwise are left to protobuf-c,
 * which refuses them. */
static int check_strings(const ProtobufCMessageDescriptor *d, const uint8_t *p, size_t len,
			 int depth, struct dr_error *err)
{
	const uint8_t *end = p + len;

	if (depth > MAX_DEPTH)
		return 0;
	while (p < end) {
		const ProtobufCFieldDescriptor *f;
		uint64_t key, n;
		json_t *s;

		if (read_varint(&p, end, &key) != 0)
			return 0;
		switch (key & 7) {
		case 0:
			if (read_varint(&p, end, &n) != 0)
				return 0;
			continue;
		case 1:
			if ((size_t)(end - p) < 8)
				return 0;
			p += 8;
			continue;
		case 5:
			if ((size_t)(end - p) < 4)
				return 0;
			p += 4;
			continue;
		case 2:
			break;
		default:
			return 0;
		}
		if (read_varint(&p, end, &n) != 0 || n > (uint64_t)(end - p))
			return 0;
		f = key >> 3 <= UINT_MAX ?
			    protobuf_c_message_descriptor_get_field(d, (unsigned)(key >> 3)) : NULL;
		if (f && f->type == PROTOBUF_C_TYPE_STRING) {
			if (memchr(p, 0, n))
				return dr_error_set(err, "field '%s' contains a NUL character", f->name);
			s = json_stringn((const char *)p, n);
			if (!s)
				return dr_error_set(err, "field '%s' is not UTF-8", f->name);
			json_decref(s);
		} else if (f && f->type == PROTOBUF_C_TYPE_MESSAGE &&
			   check_strings(f->descriptor, p, n, depth + 1, err) != 0) {
			return -1;
		}
		p += n;
	}
	return 0;
}

int pbjson_unpack(json_t **out, const ProtobufCMessageDescriptor *d, const void *data, size_t len,
		  unsigned flags, struct dr_error *err)
{
	ProtobufCMessage *m;

	*out = NULL;
	if (check_strings(d, data, len, 0, err) != 0)
		return dr_error_wrap(err, "the bytes are not a valid %s message", d->name);
	m = protobuf_c_message_unpack(d, NULL, len, data);
	if (!m)
		return dr_error_set(err, "the bytes are not a %s message", d->name);
	*out = pbjson_from_message(m, flags);
	protobuf_c_message_free_unpacked(m, NULL);
	return 0;
}
