/*
 * arena.h - a bump allocator with a hard cap, reset per batch.
 *
 * Decoding hostile input allocates from an arena so that one message can
 * never take more than the cap, and a batch frees everything in O(1).
 * Not thread-safe: one arena per thread.
 */
#ifndef HZ_ARENA_H
#define HZ_ARENA_H

#include "hz.h"

struct hz_arena;

/* Create an arena that never holds more than `cap` bytes in total.
 * Returns NULL on allocation failure. */
struct hz_arena *hz_arena_new(size_t cap);
void hz_arena_destroy(struct hz_arena *a);   /* accepts NULL */

/* 16-byte aligned memory, or NULL when the cap would be exceeded. */
void *hz_arena_alloc(struct hz_arena *a, size_t n);
/* Copy s[0..len) and NUL-terminate. NULL when over the cap. */
char *hz_arena_strndup(struct hz_arena *a, const char *s, size_t len);
char *hz_arena_strdup(struct hz_arena *a, const char *s);

/* Bytes handed out since the last reset. */
size_t hz_arena_used(const struct hz_arena *a);
/* A mark and a rewind, to drop what one message allocated. */
size_t hz_arena_mark(const struct hz_arena *a);
void hz_arena_rewind(struct hz_arena *a, size_t mark);
/* Forget everything; keeps the first block for reuse. */
void hz_arena_reset(struct hz_arena *a);

#endif
