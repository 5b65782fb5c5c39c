/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * strmap.c — a string → integer map with open addressing (the import's key lookups).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "internal.h"

/* ---- strmap ---- */

static uint64_t hash_str(const char *s)
{
	uint64_t h = 1469598103934665603ULL; /* FNV-1a */
	for (; *s; s++) {
		h ^= (unsigned char)*s;
		h *= 1099511628211ULL;
	}
	return h;
}

void strmap_init(struct strmap *m)
{
	m->slots = NULL;
	m->cap = m->count = 0;
}

void strmap_release(struct strmap *m)
{
	for (size_t i = 0; i < m->cap; i++)
		free(m->slots[i].key);
	free(m->slots);
	strmap_init(m);
}

static struct strmap_slot *find_slot(struct strmap_slot *slots, size_t cap, const char *key)
{
	size_t i = hash_str(key) & (cap - 1);
	while (slots[i].key && strcmp(slots[i].key, key) != 0)
		i = (i + 1) & (cap - 1);
	return &slots[i];
}

int strmap_put(struct strmap *m, const char *key, int64_t val)
{
	if ((m->count + 1) * 2 > m->cap) {
		size_t ncap = m->cap ? m->cap * 2 : 64;
		struct strmap_slot *ns = calloc(ncap, sizeof(*ns));
		if (!ns)
			return FL_ENOMEM;
		for (size_t i = 0; i < m->cap; i++)
			if (m->slots[i].key)
				*find_slot(ns, ncap, m->slots[i].key) = m->slots[i];
		free(m->slots);
		m->slots = ns;
		m->cap = ncap;
	}
	struct strmap_slot *s = find_slot(m->slots, m->cap, key);
	if (!s->key) {
		s->key = strdup(key);
		if (!s->key)
			return FL_ENOMEM;
		m->count++;
	}
	s->val = val;
	return 0;
}

bool strmap_get(const struct strmap *m, const char *key, int64_t *val)
{
	if (!m->cap)
		return false;
	const struct strmap_slot *s = find_slot(m->slots, m->cap, key);
	if (!s->key)
		return false;
	*val = s->val;
	return true;
}
