/*
 * seen.h - when the daemon last recorded each device as heard from
 * (hazard.device_seen), so a device reporting every second costs a write
 * only every `gate`. Keyed by the registry's device pointer: rebuild it
 * when the registry snapshot changes. Fixed memory (16 bytes a slot, two
 * slots a device), no allocation after creation.
 */
#ifndef HZ_SEEN_H
#define HZ_SEEN_H

#include "core/hz.h"

struct hz_seen;

struct hz_seen *hz_seen_new(size_t devices);
void hz_seen_destroy(struct hz_seen *s);  /* accepts NULL */
/* True when `dev` was not recorded within `gate_us` before `now_us` (and
 * records it as of now_us). Also true when the table is full. */
bool hz_seen_due(struct hz_seen *s, const void *dev, int64_t now_us, int64_t gate_us);

/* The write interval for a shortest silence limit: a tenth of it, at most
 * a minute. The silence scan adds it to every limit, so a device is never
 * reported silent before its limit, and at most this much after it. */
int64_t hz_seen_gate(int64_t shortest_limit_us);

#endif
