/*
 * arena.c - bump allocator in chained blocks with a total cap.
 * O(1) alloc and reset; never frees individual objects.
 */
#include "core/arena.h"

#include <stdlib.h>
#include <string.h>

#define BLOCK_MIN (64 * 1024)

struct block {
	struct block *next;
	size_t size, used;
	_Alignas(16) unsigned char data[];
};

struct hz_arena {
	struct block *head;  /* current block; older ones follow */
	size_t cap, total;   /* total = bytes handed out */
};

struct hz_arena *hz_arena_new(size_t cap)
{
	struct hz_arena *a = calloc(1, sizeof(*a));
	if (a)
		a->cap = cap;
	return a;
}

static void free_chain(struct block *b)
{
	while (b) {
		struct block *n = b->next;
		free(b);
		b = n;
	}
}

void hz_arena_destroy(struct hz_arena *a)
{
	if (!a)
		return;
	free_chain(a->head);
	free(a);
}

void *hz_arena_alloc(struct hz_arena *a, size_t n)
{
	size_t need = (n + 15) & ~(size_t)15;
	if (need < n || need > a->cap - a->total || a->total > a->cap)
		return NULL;
	struct block *b = a->head;
	if (!b || b->size - b->used < need) {
		size_t sz = need > BLOCK_MIN ? need : BLOCK_MIN;
		struct block *nb = malloc(sizeof(*nb) + sz);
		if (!nb)
			return NULL;
		nb->size = sz;
		nb->used = 0;
		nb->next = b;
		a->head = b = nb;
	}
	void *p = b->data + b->used;
	b->used += need;
	a->total += need;
	return p;
}

char *hz_arena_strndup(struct hz_arena *a, const char *s, size_t len)
{
	char *d = hz_arena_alloc(a, len + 1);
	if (!d)
		return NULL;
	if (len)
		memcpy(d, s, len);
	d[len] = '\0';
	return d;
}

char *hz_arena_strdup(struct hz_arena *a, const char *s)
{
	return hz_arena_strndup(a, s, strlen(s));
}

size_t hz_arena_used(const struct hz_arena *a)
{
	return a->total;
}

size_t hz_arena_mark(const struct hz_arena *a)
{
	return a->total;
}

/* Rewinding frees whole blocks allocated after the mark and trims the one
 * the mark falls in. */
void hz_arena_rewind(struct hz_arena *a, size_t mark)
{
	while (a->head && a->total - a->head->used >= mark && a->head->next) {
		struct block *b = a->head;
		a->total -= b->used;
		a->head = b->next;
		free(b);
	}
	if (a->head && a->total > mark) {
		size_t drop = a->total - mark;
		if (drop > a->head->used)
			drop = a->head->used;
		a->head->used -= drop;
		a->total -= drop;
	}
}

void hz_arena_reset(struct hz_arena *a)
{
	if (!a->head)
		return;
	/* Keep the largest-but-first block (the oldest) to reuse. */
	struct block *keep = a->head;
	while (keep->next)
		keep = keep->next;
	struct block *b = a->head;
	while (b != keep) {
		struct block *n = b->next;
		free(b);
		b = n;
	}
	keep->used = 0;
	a->head = keep;
	a->total = 0;
}
