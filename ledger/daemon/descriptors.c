/* The proto files served by reflection (ledger/daemon/descriptors.h).
 *
 * The set is split by hand rather than unpacked and packed again: a
 * client builds its descriptors from exactly the bytes protoc wrote, and
 * protobuf-c would not promise to write them back the same.  Each file is
 * also unpacked (google/protobuf/descriptor.proto through protoc-c), only
 * to know the names it declares. */
#include "ledger/daemon/descriptors.h"

#include <stdlib.h>
#include <string.h>

#include "common/strbuf.h"

/* A base-128 varint at *p (below end); -1 when it is cut or too long. */
static int varint(uint64_t *out, const uint8_t **p, const uint8_t *end)
{
	uint64_t v = 0;

	for (unsigned shift = 0; shift < 64 && *p < end; shift += 7) {
		uint8_t b = *(*p)++;

		v |= (uint64_t)(b & 0x7f) << shift;
		if (!(b & 0x80)) {
			*out = v;
			return 0;
		}
	}
	return -1;
}

void ledgerd_descriptors_release(struct ledgerd_descriptors *d)
{
	for (size_t i = 0; i < d->n; i++)
		google__protobuf__file_descriptor_proto__free_unpacked(d->files[i].fd, NULL);
	free(d->files);
	d->files = NULL;
	d->n = 0;
}

int ledgerd_descriptors_load(struct ledgerd_descriptors *out, const uint8_t *set, size_t len,
			     struct dr_error *err)
{
	const uint8_t *p = set, *end = set + len;
	struct ledgerd_descriptors d = LEDGERD_DESCRIPTORS_INIT;
	size_t cap = 0;

	*out = d;
	/* FileDescriptorSet is `repeated FileDescriptorProto file = 1`: a
	 * run of (tag 0x0a, length, bytes) records and nothing else. */
	while (p < end) {
		struct ledgerd_proto_file *f;
		uint64_t tag, n;

		if (varint(&tag, &p, end) != 0 || tag != ((1u << 3) | 2) ||
		    varint(&n, &p, end) != 0 || n > (uint64_t)(end - p)) {
			dr_error_set(err, "descriptor set: bad record at byte %zu", (size_t)(p - set));
			goto fail;
		}
		if (d.n == cap) {
			cap = cap ? 2 * cap : 16;
			d.files = xrealloc(d.files, cap * sizeof(*d.files));
		}
		f = &d.files[d.n];
		f->data = p;
		f->len = (size_t)n;
		f->fd = google__protobuf__file_descriptor_proto__unpack(NULL, f->len, p);
		if (!f->fd || !f->fd->name) {
			if (f->fd)
				google__protobuf__file_descriptor_proto__free_unpacked(f->fd, NULL);
			dr_error_set(err, "descriptor set: file %zu does not parse", d.n + 1);
			goto fail;
		}
		f->name = f->fd->name;
		d.n++;
		p += n;
	}
	*out = d;
	return 0;
fail:
	ledgerd_descriptors_release(&d);
	return -1;
}

const struct ledgerd_proto_file *ledgerd_descriptors_file(const struct ledgerd_descriptors *d,
							  const char *name)
{
	for (size_t i = 0; i < d->n; i++)
		if (strcmp(d->files[i].name, name) == 0)
			return &d->files[i];
	return NULL;
}

/* Whether sym starts with the name segment: *rest is then NULL when sym is
 * exactly name, else what follows "name.". */
static int segment(const char *sym, const char *name, const char **rest)
{
	size_t n;

	if (!name)
		return 0;
	n = strlen(name);
	if (strncmp(sym, name, n) != 0 || (sym[n] != '\0' && sym[n] != '.'))
		return 0;
	*rest = sym[n] ? sym + n + 1 : NULL;
	return 1;
}

static int named(const char *sym, const char *name)
{
	return name && strcmp(sym, name) == 0;
}

/* An enum and its values share their parent's scope (protobuf's C++
 * scoping): "pkg.Color" and "pkg.RED", not "pkg.Color.RED". */
static int enum_declares(const Google__Protobuf__EnumDescriptorProto *e, const char *sym)
{
	if (named(sym, e->name))
		return 1;
	for (size_t i = 0; i < e->n_value; i++)
		if (named(sym, e->value[i]->name))
			return 1;
	return 0;
}

/* sym relative to the inside of message m. */
static int message_declares(const Google__Protobuf__DescriptorProto *m, const char *sym)
{
	const char *rest;

	for (size_t i = 0; i < m->n_field; i++)
		if (named(sym, m->field[i]->name))
			return 1;
	for (size_t i = 0; i < m->n_extension; i++)
		if (named(sym, m->extension[i]->name))
			return 1;
	for (size_t i = 0; i < m->n_oneof_decl; i++)
		if (named(sym, m->oneof_decl[i]->name))
			return 1;
	for (size_t i = 0; i < m->n_enum_type; i++)
		if (enum_declares(m->enum_type[i], sym))
			return 1;
	for (size_t i = 0; i < m->n_nested_type; i++)
		if (segment(sym, m->nested_type[i]->name, &rest))
			return !rest || message_declares(m->nested_type[i], rest);
	return 0;
}

/* sym without the file's package, or NULL when it is outside the package. */
static const char *in_package(const Google__Protobuf__FileDescriptorProto *fd, const char *sym)
{
	const char *rest;

	if (!fd->package || !fd->package[0])
		return sym;
	return segment(sym, fd->package, &rest) ? rest : NULL;
}

static int file_declares(const Google__Protobuf__FileDescriptorProto *fd, const char *sym)
{
	const char *rest;

	sym = in_package(fd, sym);
	if (!sym)
		return 0;
	for (size_t i = 0; i < fd->n_service; i++)
		if (segment(sym, fd->service[i]->name, &rest)) {
			if (!rest)
				return 1;
			for (size_t k = 0; k < fd->service[i]->n_method; k++)
				if (named(rest, fd->service[i]->method[k]->name))
					return 1;
			return 0;
		}
	for (size_t i = 0; i < fd->n_message_type; i++)
		if (segment(sym, fd->message_type[i]->name, &rest))
			return !rest || message_declares(fd->message_type[i], rest);
	for (size_t i = 0; i < fd->n_enum_type; i++)
		if (enum_declares(fd->enum_type[i], sym))
			return 1;
	for (size_t i = 0; i < fd->n_extension; i++)
		if (named(sym, fd->extension[i]->name))
			return 1;
	return 0;
}

const struct ledgerd_proto_file *ledgerd_descriptors_symbol(const struct ledgerd_descriptors *d,
							    const char *symbol)
{
	for (size_t i = 0; i < d->n; i++)
		if (file_declares(d->files[i].fd, symbol))
			return &d->files[i];
	return NULL;
}

/* The message named sym among list (a file's messages, or a message's
 * nested ones, sym relative to that scope), or NULL. */
static const Google__Protobuf__DescriptorProto *
find_message(Google__Protobuf__DescriptorProto *const *list, size_t n, const char *sym)
{
	const char *rest;

	for (size_t i = 0; i < n; i++)
		if (segment(sym, list[i]->name, &rest))
			return !rest ? list[i] : find_message(list[i]->nested_type,
							      list[i]->n_nested_type, rest);
	return NULL;
}

int ledgerd_descriptors_is_message(const struct ledgerd_descriptors *d, const char *symbol)
{
	for (size_t i = 0; i < d->n; i++) {
		const Google__Protobuf__FileDescriptorProto *fd = d->files[i].fd;
		const char *sym = in_package(fd, symbol);

		if (sym && find_message(fd->message_type, fd->n_message_type, sym))
			return 1;
	}
	return 0;
}

/* protoc writes an extendee fully qualified, with a leading dot. */
static int extends(const Google__Protobuf__FieldDescriptorProto *ext, const char *extendee)
{
	const char *e = ext->extendee;

	return e && strcmp(e[0] == '.' ? e + 1 : e, extendee) == 0;
}

/* Calls each(ext, payload) for every extension declared in m and below;
 * stops at the first nonzero answer and returns it. */
typedef int (*ext_fn)(const Google__Protobuf__FieldDescriptorProto *ext, void *payload);

static int each_in_message(const Google__Protobuf__DescriptorProto *m, ext_fn each, void *payload)
{
	int rc = 0;

	for (size_t i = 0; i < m->n_extension && !rc; i++)
		rc = each(m->extension[i], payload);
	for (size_t i = 0; i < m->n_nested_type && !rc; i++)
		rc = each_in_message(m->nested_type[i], each, payload);
	return rc;
}

static int each_extension(const Google__Protobuf__FileDescriptorProto *fd, ext_fn each,
			  void *payload)
{
	int rc = 0;

	for (size_t i = 0; i < fd->n_extension && !rc; i++)
		rc = each(fd->extension[i], payload);
	for (size_t i = 0; i < fd->n_message_type && !rc; i++)
		rc = each_in_message(fd->message_type[i], each, payload);
	return rc;
}

struct ext_query {
	const char *extendee;
	int32_t number;
	int32_t *out;
	size_t max, n;
};

static int ext_match(const Google__Protobuf__FieldDescriptorProto *ext, void *payload)
{
	struct ext_query *q = payload;

	return extends(ext, q->extendee) && ext->has_number && ext->number == q->number;
}

static int ext_collect(const Google__Protobuf__FieldDescriptorProto *ext, void *payload)
{
	struct ext_query *q = payload;

	if (extends(ext, q->extendee) && ext->has_number) {
		if (q->n < q->max)
			q->out[q->n] = ext->number;
		q->n++;
	}
	return 0;
}

const struct ledgerd_proto_file *ledgerd_descriptors_extension(const struct ledgerd_descriptors *d,
							       const char *extendee, int32_t number)
{
	struct ext_query q = { extendee, number, NULL, 0, 0 };

	for (size_t i = 0; i < d->n; i++)
		if (each_extension(d->files[i].fd, ext_match, &q))
			return &d->files[i];
	return NULL;
}

size_t ledgerd_descriptors_extension_numbers(const struct ledgerd_descriptors *d,
					     const char *extendee, int32_t *out, size_t max)
{
	struct ext_query q = { extendee, 0, out, max, 0 };

	for (size_t i = 0; i < d->n; i++)
		each_extension(d->files[i].fd, ext_collect, &q);
	return q.n;
}

static void closure_add(const struct ledgerd_proto_file **out, size_t *n,
			const struct ledgerd_descriptors *d, const struct ledgerd_proto_file *f)
{
	for (size_t i = 0; i < *n; i++)
		if (out[i] == f)
			return;
	out[(*n)++] = f;
	for (size_t i = 0; i < f->fd->n_dependency; i++) {
		const struct ledgerd_proto_file *dep = ledgerd_descriptors_file(d, f->fd->dependency[i]);

		/* protoc --include_imports puts every import in the set; a
		 * missing one is left to the client to ask for by name. */
		if (dep)
			closure_add(out, n, d, dep);
	}
}

size_t ledgerd_descriptors_closure(const struct ledgerd_proto_file **out,
				   const struct ledgerd_descriptors *d,
				   const struct ledgerd_proto_file *f)
{
	size_t n = 0;

	closure_add(out, &n, d, f);
	return n;
}
