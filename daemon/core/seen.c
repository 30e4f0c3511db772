/*
 * seen.c - the device_seen write gate (see seen.h). Open addressing with
 * linear probing over pointer hashes; O(1) per message.
 */
#include "core/seen.h"

#include <stdlib.h>

struct slot {
	const void *dev;
	int64_t at;
};

struct hz_seen {
	struct slot *s;
	size_t cap, n;
};

struct hz_seen *hz_seen_new(size_t devices)
{
	struct hz_seen *s = calloc(1, sizeof(*s));
	if (!s)
		return NULL;
	s->cap = 64;
	while (s->cap < devices * 2)
		s->cap *= 2;
	s->s = calloc(s->cap, sizeof(*s->s));
	if (!s->s) {
		free(s);
		return NULL;
	}
	return s;
}

void hz_seen_destroy(struct hz_seen *s)
{
	if (!s)
		return;
	free(s->s);
	free(s);
}

bool hz_seen_due(struct hz_seen *s, const void *dev, int64_t now_us, int64_t gate_us)
{
	uint64_t h = (uint64_t)(uintptr_t)dev * 0x9e3779b97f4a7c15ULL;
	size_t i = (size_t)(h >> 20) & (s->cap - 1);
	for (size_t probes = 0; probes < s->cap; probes++, i = (i + 1) & (s->cap - 1)) {
		struct slot *sl = &s->s[i];
		if (sl->dev == dev) {
			if (now_us - sl->at < gate_us)
				return false;
			sl->at = now_us;
			return true;
		}
		if (!sl->dev) {
			if ((s->n + 1) * 4 > s->cap * 3)
				return true; /* full: write every time rather than forget */
			sl->dev = dev;
			sl->at = now_us;
			s->n++;
			return true;
		}
	}
	return true;
}

int64_t hz_seen_gate(int64_t shortest_limit_us)
{
	int64_t g = shortest_limit_us / 10;
	return g > 60 * HZ_US_PER_SEC ? 60 * HZ_US_PER_SEC : g;
}
