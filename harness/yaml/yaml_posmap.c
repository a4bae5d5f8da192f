/* The position side table (harness/yaml/yaml_posmap.h). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/strbuf.h"
#include "harness/yaml/yaml_posmap.h"

enum pos_kind { POS_CONTAINER = 1, POS_KEY, POS_VALUE_KEY, POS_VALUE_INDEX };

struct pos_entry {
	const void *ptr;        /* NULL slot is empty unless used is set */
	char *key;
	size_t index;
	int kind;
	int used;
	struct yj_pos pos;
};

struct yj_posmap {
	struct pos_entry *slots;
	size_t cap, n;
};

static uint64_t hash_str(const char *s)
{
	uint64_t h = 1469598103934665603ull;

	for (; s && *s; s++)
		h = (h ^ (unsigned char)*s) * 1099511628211ull;
	return h;
}

static uint64_t entry_hash(const void *ptr, int kind, const char *key, size_t index)
{
	uint64_t h = (uint64_t)(uintptr_t)ptr * 0x9e3779b97f4a7c15ull;

	h ^= (uint64_t)kind * 0xbf58476d1ce4e5b9ull;
	h ^= key ? hash_str(key) : (uint64_t)index * 0x94d049bb133111ebull;
	return h ^ (h >> 31);
}

static int entry_match(const struct pos_entry *e, const void *ptr, int kind,
		       const char *key, size_t index)
{
	if (!e->used || e->ptr != ptr || e->kind != kind)
		return 0;
	if (key || e->key)
		return key && e->key && strcmp(key, e->key) == 0;
	return e->index == index;
}

struct yj_posmap *posmap_new(void)
{
	struct yj_posmap *m = xcalloc(1, sizeof(*m));

	m->cap = 256;
	m->slots = xcalloc(m->cap, sizeof(*m->slots));
	return m;
}

void posmap_free(struct yj_posmap *m)
{
	if (!m)
		return;
	for (size_t i = 0; i < m->cap; i++)
		free(m->slots[i].key);
	free(m->slots);
	free(m);
}

static struct pos_entry *find_slot(struct pos_entry *slots, size_t cap, const void *ptr,
				   int kind, const char *key, size_t index)
{
	size_t i = entry_hash(ptr, kind, key, index) & (cap - 1);

	while (slots[i].used && !entry_match(&slots[i], ptr, kind, key, index))
		i = (i + 1) & (cap - 1);
	return &slots[i];
}

static void grow(struct yj_posmap *m)
{
	size_t ncap = m->cap * 2;
	struct pos_entry *ns = xcalloc(ncap, sizeof(*ns));

	for (size_t i = 0; i < m->cap; i++) {
		struct pos_entry *e = &m->slots[i];

		if (e->used)
			*find_slot(ns, ncap, e->ptr, e->kind, e->key, e->index) = *e;
	}
	free(m->slots);
	m->slots = ns;
	m->cap = ncap;
}

static void put(struct yj_posmap *m, const void *ptr, int kind, const char *key,
		size_t index, const struct yj_pos *pos)
{
	struct pos_entry *e;

	if ((m->n + 1) * 10 > m->cap * 7)
		grow(m);
	e = find_slot(m->slots, m->cap, ptr, kind, key, index);
	if (!e->used) {
		e->used = 1;
		e->ptr = ptr;
		e->kind = kind;
		e->key = key ? xstrdup(key) : NULL;
		e->index = index;
		m->n++;
	}
	e->pos = *pos;
}

static const struct yj_pos *get(const struct yj_posmap *m, const void *ptr, int kind,
				const char *key, size_t index)
{
	struct pos_entry *e;

	if (!m)
		return NULL;
	e = find_slot(m->slots, m->cap, ptr, kind, key, index);
	return e->used ? &e->pos : NULL;
}

void posmap_set_container(struct yj_posmap *m, const json_t *c, const struct yj_pos *pos)
{
	put(m, c, POS_CONTAINER, NULL, 0, pos);
}

void posmap_set_key(struct yj_posmap *m, const json_t *obj, const char *key,
		    const struct yj_pos *pos)
{
	put(m, obj, POS_KEY, key, 0, pos);
}

void posmap_set_value(struct yj_posmap *m, const json_t *parent, const char *key,
		      const struct yj_pos *pos)
{
	put(m, parent, POS_VALUE_KEY, key, 0, pos);
}

void posmap_set_index(struct yj_posmap *m, const json_t *parent, size_t index,
		      const struct yj_pos *pos)
{
	put(m, parent, POS_VALUE_INDEX, NULL, index, pos);
}

const struct yj_pos *posmap_container(const struct yj_posmap *m, const json_t *c)
{
	return get(m, c, POS_CONTAINER, NULL, 0);
}

const struct yj_pos *posmap_key(const struct yj_posmap *m, const json_t *obj, const char *key)
{
	return get(m, obj, POS_KEY, key, 0);
}

const struct yj_pos *posmap_value(const struct yj_posmap *m, const json_t *parent,
				  const char *key)
{
	return get(m, parent, POS_VALUE_KEY, key, 0);
}

const struct yj_pos *posmap_index(const struct yj_posmap *m, const json_t *parent, size_t index)
{
	return get(m, parent, POS_VALUE_INDEX, NULL, index);
}
