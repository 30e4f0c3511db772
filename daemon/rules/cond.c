/*
 * cond.c - state for conditions over time (see cond.h).
 *
 * Cost: a step is two to four hash look-ups (device record, episode
 * record, knock record, site window) and a scan of at most HZ_RING
 * samples each; no allocation except when the record array grows, which
 * hz_cond_begin() does ahead of a batch. A record is ~330 bytes; one
 * exists per (stateful rule, device) that has reported, plus one per
 * episode and knock group.
 */
#include "rules/cond.h"
#include "registry/registry.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define KEY_MAX 112
#define TAG_EPISODE UINT64_C(0x45504953)  /* "EPIS" */
#define TAG_KNOCK UINT64_C(0x4b4e4f43)    /* "KNOC" */

struct rec {
	uint64_t rule;             /* 0: unused */
	char id[KEY_MAX];
	uint32_t epoch;            /* the batch that last changed it */
	uint8_t active, level, n, pending, clearing;
	int32_t count;             /* episode: devices in alarm */
	int64_t last_us;           /* latest event time seen */
	int64_t pending_us;        /* condition holding since (sustained) */
	int64_t clear_us;          /* clear holding since */
	int64_t until_us;          /* episode: flapping until */
	int64_t t[HZ_RING];        /* window hits, clears, knocks, rise buckets */
	uint64_t tag[HZ_RING];     /* event id hash (window), device hash (knock) */
	float v[HZ_RING];          /* rise: the lowest (highest for below) value per bucket */
};

struct undo {
	uint32_t idx;
	uint32_t slot;             /* table slot, for a record inserted in the batch */
	bool inserted;
	struct rec old;
};

struct hz_cond {
	uint32_t *slot;            /* record index + 1; 0 empty */
	size_t cap;                /* power of two */
	struct rec *rec;
	size_t n_rec, cap_rec;
	struct undo *j;
	size_t n_j, cap_j;
	uint32_t epoch;
	bool in_batch;
};

static uint64_t hash_str(const char *s, uint64_t h)
{
	for (; *s; s++) {
		h ^= (unsigned char)*s;
		h *= 0x100000001b3ULL;
	}
	return h;
}

static uint64_t key_hash(uint64_t rule, const char *id, size_t len)
{
	return hz_hash(id, len, 0xcbf29ce484222325ULL ^ rule);
}

struct hz_cond *hz_cond_new(void)
{
	struct hz_cond *c = calloc(1, sizeof(*c));
	if (!c)
		return NULL;
	c->cap = 1024;
	c->slot = calloc(c->cap, sizeof(*c->slot));
	if (!c->slot) {
		free(c);
		return NULL;
	}
	return c;
}

void hz_cond_destroy(struct hz_cond *c)
{
	if (!c)
		return;
	free(c->slot);
	free(c->rec);
	free(c->j);
	free(c);
}

static int grow_table(struct hz_cond *c, size_t cap)
{
	if (cap < 1024 || cap > (SIZE_MAX >> 4))
		return HZ_ENOMEM;
	uint32_t *ns = calloc(cap, sizeof(*ns));
	if (!ns)
		return HZ_ENOMEM;
	for (size_t i = 0; i < c->n_rec; i++) {
		size_t h = (size_t)key_hash(c->rec[i].rule, c->rec[i].id, strlen(c->rec[i].id)) &
			   (cap - 1);
		while (ns[h])
			h = (h + 1) & (cap - 1);
		ns[h] = (uint32_t)i + 1;
	}
	free(c->slot);
	c->slot = ns;
	c->cap = cap;
	return HZ_OK;
}

void hz_cond_begin(struct hz_cond *c, size_t max_events)
{
	/* Each event can add a device, site-window, episode and knock record
	 * per rule it matches; the table stays at most half full. */
	size_t want = (c->n_rec + max_events * 4) * 2;
	size_t cap = c->cap;
	while (cap < want)
		cap *= 2;
	if (cap != c->cap)
		grow_table(c, cap); /* on failure the batch runs with less room */
	c->epoch++;
	c->n_j = 0;
	c->in_batch = true;
}

void hz_cond_commit(struct hz_cond *c)
{
	c->n_j = 0;
	c->in_batch = false;
}

void hz_cond_rollback(struct hz_cond *c)
{
	/* In reverse: a record inserted in the batch is the last one, and
	 * emptying its slot cannot break a probe chain, since every record
	 * inserted after it (which might have probed past it) is gone first. */
	while (c->n_j) {
		struct undo *u = &c->j[--c->n_j];
		if (u->inserted) {
			c->slot[u->slot] = 0;
			c->n_rec = u->idx;
		} else {
			c->rec[u->idx] = u->old;
		}
	}
	c->in_batch = false;
}

static int journal(struct hz_cond *c, uint32_t idx, uint32_t slot, bool inserted)
{
	if (!c->in_batch)
		return HZ_OK;
	if (c->n_j == c->cap_j) {
		size_t nc = c->cap_j ? c->cap_j * 2 : 256;
		struct undo *nj = realloc(c->j, nc * sizeof(*nj));
		if (!nj)
			return HZ_ENOMEM;
		c->j = nj;
		c->cap_j = nc;
	}
	struct undo *u = &c->j[c->n_j++];
	u->idx = idx;
	u->slot = slot;
	u->inserted = inserted;
	if (!inserted)
		u->old = c->rec[idx];
	return HZ_OK;
}

/* The record for (rule, id), created when missing; NULL without room.
 * The pointer is valid until the next call (the array may move). The
 * record is journalled before it is returned, so callers may change it. */
static struct rec *get(struct hz_cond *c, uint64_t rule, const char *id)
{
	size_t len = strlen(id);
	if (len >= KEY_MAX)
		return NULL;
	uint64_t kh = key_hash(rule, id, len);
	size_t h = (size_t)kh & (c->cap - 1);
	for (size_t probes = 0; probes < c->cap; probes++, h = (h + 1) & (c->cap - 1)) {
		uint32_t s = c->slot[h];
		if (!s)
			break;
		struct rec *r = &c->rec[s - 1];
		if (r->rule == rule && !strcmp(r->id, id)) {
			if (r->epoch != c->epoch || !c->in_batch) {
				if (journal(c, s - 1, (uint32_t)h, false))
					return NULL;
				r->epoch = c->epoch;
			}
			return r;
		}
	}
	/* insert: outside a batch the table may grow; inside it was grown */
	if ((c->n_rec + 1) * 2 > c->cap) {
		if (c->in_batch || grow_table(c, c->cap * 2))
			return NULL;
		return get(c, rule, id);
	}
	if (c->n_rec == c->cap_rec) {
		size_t nc = c->cap_rec ? c->cap_rec * 2 : 256;
		struct rec *nr = realloc(c->rec, nc * sizeof(*nr));
		if (!nr)
			return NULL;
		c->rec = nr;
		c->cap_rec = nc;
	}
	h = (size_t)kh & (c->cap - 1);
	while (c->slot[h])
		h = (h + 1) & (c->cap - 1);
	uint32_t idx = (uint32_t)c->n_rec;
	if (journal(c, idx, (uint32_t)h, true))
		return NULL;
	struct rec *r = &c->rec[c->n_rec++];
	memset(r, 0, sizeof(*r));
	r->rule = rule;
	snprintf(r->id, sizeof(r->id), "%s", id);
	r->epoch = c->epoch;
	c->slot[h] = idx + 1;
	return r;
}

size_t hz_cond_stats(const struct hz_cond *c, size_t *bytes)
{
	if (bytes)
		*bytes = c->cap * sizeof(*c->slot) + c->cap_rec * sizeof(*c->rec) +
			 c->cap_j * sizeof(*c->j);
	return c->n_rec;
}

bool hz_cond_needed(const struct hz_rule *r)
{
	return r->has_clear || r->for_us || r->clear_for_us || r->auto_clear ||
	       r->rise.within_us || r->window.count || r->confirm.devices;
}

/* Count ring entries at or after `since`. */
static int count_since(const struct rec *r, int64_t since)
{
	int n = 0;
	for (int i = 0; i < r->n; i++)
		n += r->t[i] >= since;
	return n;
}

/* Append (t, tag) to the ring, overwriting the oldest entry when full. */
static void ring_push(struct rec *r, int64_t t, uint64_t tag, float v)
{
	int i;
	if (r->n < HZ_RING) {
		i = r->n++;
	} else {
		i = 0;
		for (int k = 1; k < HZ_RING; k++)
			if (r->t[k] < r->t[i])
				i = k;
	}
	r->t[i] = t;
	r->tag[i] = tag;
	r->v[i] = v;
}

/* Rate of rise: the window is cut into HZ_RING buckets, each holding its
 * extreme value; the change is measured against the extreme of the
 * buckets still inside the window (resolution: within / HZ_RING). */
static double rise_step(struct rec *d, const struct hz_rule *r, int64_t t, double v)
{
	bool above = r->cmp != HZ_CMP_BELOW;
	int64_t bucket = r->rise.within_us / HZ_RING;
	int newest = -1;
	for (int i = 0; i < d->n; i++)
		if (newest < 0 || d->t[i] > d->t[newest])
			newest = i;
	if (newest >= 0 && t - d->t[newest] < bucket) {
		float *x = &d->v[newest];
		if (above ? v < *x : v > *x)
			*x = (float)v;
	} else {
		ring_push(d, t, 0, (float)v);
	}
	double ext = v;
	for (int i = 0; i < d->n; i++)
		if (d->t[i] >= t - r->rise.within_us && (above ? d->v[i] < ext : d->v[i] > ext))
			ext = d->v[i];
	return above ? v - ext : ext - v;
}

/* Count in window: matches within the window, one per event id. */
static int window_step(struct rec *w, const struct hz_rule *r, int64_t t, uint64_t evh)
{
	bool seen = false;
	for (int i = 0; i < w->n && !seen; i++)
		seen = w->tag[i] == evh;
	if (!seen)
		ring_push(w, t, evh, 0);
	return count_since(w, t - r->window.within_us);
}

/* Double knock: distinct devices of the site in alarm within the window. */
static int knock_step(struct rec *k, const struct hz_rule *r, int64_t t, uint64_t devh)
{
	int i;
	for (i = 0; i < k->n; i++)
		if (k->tag[i] == devh)
			break;
	if (i < k->n) {
		if (t > k->t[i])
			k->t[i] = t;
	} else {
		ring_push(k, t, devh, 0);
	}
	return count_since(k, t - r->confirm.within_us);
}

static void episode_id(char *buf, size_t cap, const char *site, const char *what)
{
	snprintf(buf, cap, "%s|%s", site, what);
}

/* The episode's last device cleared: close it, unless it flaps. */
static void cleared(struct hz_cond *c, const struct hz_rule *r, const char *site, int64_t t,
		    struct hz_cond_result *out)
{
	char id[KEY_MAX];
	episode_id(id, sizeof(id), site, r->hazard_type);
	struct rec *e = get(c, TAG_EPISODE, id);
	if (!e) {
		out->action = HZ_COND_NONE; /* no room to judge flapping: stay open */
		return;
	}
	if (--e->count < 0)
		e->count = 0;
	if (e->count)
		return; /* another device of the site still holds it */
	if (!r->auto_clear)
		return;
	if (r->flap.clears <= 0) {
		out->action = HZ_COND_CLEAR;
		return;
	}
	if (t < e->until_us) {
		e->until_us = t + r->flap.within_us; /* still flapping: stays held */
		return;
	}
	ring_push(e, t, 0, 0);
	int n = count_since(e, t - r->flap.within_us);
	if (n > r->flap.clears) {
		e->until_us = t + r->flap.within_us;
		out->action = HZ_COND_FLAP;
		out->clears = n;
		return;
	}
	out->action = HZ_COND_CLEAR;
}

static void activated(struct hz_cond *c, const struct hz_rule *r, const char *site)
{
	char id[KEY_MAX];
	episode_id(id, sizeof(id), site, r->hazard_type);
	struct rec *e = get(c, TAG_EPISODE, id);
	if (e)
		e->count++;
}

void hz_cond_step(struct hz_cond *c, const struct hz_rule *r, const struct hz_event *ev,
		  double v, enum hz_level lvl, struct hz_cond_result *out)
{
	memset(out, 0, sizeof(*out));
	const char *dev = ev->device_id, *site = ev->site ? ev->site->site_id : "";
	/* A drill (mode exercise or test) keeps state of its own: its readings
	 * never count towards, hold or clear a live condition, nor the reverse. */
	char dbuf[KEY_MAX], sbuf[KEY_MAX];
	if (ev->mode != HZ_MODE_ACTUAL) {
		snprintf(dbuf, sizeof(dbuf), "%s|%s", hz_mode_name(ev->mode), dev);
		snprintf(sbuf, sizeof(sbuf), "%s|%s", hz_mode_name(ev->mode), site);
		dev = dbuf;
		site = sbuf;
	}
	struct rec *d = get(c, r->key, dev);
	if (!d) {
		/* no room for state: behave as a plain threshold */
		out->action = lvl ? HZ_COND_FIRE : HZ_COND_NONE;
		out->level = lvl;
		return;
	}
	int64_t t = ev->at_us > d->last_us ? ev->at_us : d->last_us;
	d->last_us = t;

	if (r->rise.within_us) {
		out->rise = rise_step(d, r, t, v);
		lvl = out->rise >= r->rise.by ? r->rise.level : HZ_LEVEL_NONE;
	}
	bool over = lvl != HZ_LEVEL_NONE;
	if (r->window.count && over) {
		struct rec *w = d;
		if (r->window.per_site) {
			char id[KEY_MAX];
			snprintf(id, sizeof(id), "site|%s", site);
			w = get(c, r->key, id);
		}
		if (w) {
			out->hits = window_step(w, r, t, hash_str(ev->event_id, 0xcbf29ce484222325ULL));
			if (out->hits < r->window.count)
				lvl = HZ_LEVEL_NONE; /* not yet */
		}
		d = get(c, r->key, dev); /* the array may have moved */
		if (!d) {
			out->action = lvl ? HZ_COND_FIRE : HZ_COND_NONE;
			out->level = lvl;
			return;
		}
	}

	bool machine = r->has_clear || r->for_us || r->clear_for_us || r->auto_clear;
	if (!machine) {
		out->action = lvl ? HZ_COND_FIRE : HZ_COND_NONE;
	} else if (!d->active) {
		d->clearing = 0;
		if (!lvl) {
			d->pending = 0;
		} else {
			if (!d->pending) {
				d->pending = 1;
				d->pending_us = t;
			}
			if (t - d->pending_us >= r->for_us) {
				d->active = 1;
				d->pending = 0;
				d->level = (uint8_t)lvl;
				out->action = HZ_COND_FIRE;
				activated(c, r, site);
			}
		}
	} else if (lvl) {
		d->clearing = 0;
		if ((uint8_t)lvl > d->level)
			d->level = (uint8_t)lvl;
		out->action = HZ_COND_FIRE;
	} else {
		/* In alarm until the value is back past the clear threshold (or,
		 * without one, below every threshold) for clear_for. */
		bool back = !r->has_clear || (r->cmp == HZ_CMP_BELOW ? v >= r->clear : v <= r->clear);
		if (!back) {
			d->clearing = 0;
		} else {
			if (!d->clearing) {
				d->clearing = 1;
				d->clear_us = t;
			}
			if (t - d->clear_us >= r->clear_for_us) {
				d->active = 0;
				d->clearing = 0;
				d->level = 0;
				cleared(c, r, site, t, out);
			}
		}
	}
	out->level = out->action == HZ_COND_FIRE ? lvl : HZ_LEVEL_NONE;

	if (out->action == HZ_COND_FIRE && r->confirm.devices) {
		char id[KEY_MAX];
		episode_id(id, sizeof(id), site, *r->confirm.group ? r->confirm.group : r->hazard_type);
		struct rec *k = get(c, TAG_KNOCK, id);
		if (k) {
			out->knock = knock_step(k, r, t, hash_str(dev, 0xcbf29ce484222325ULL));
			if (out->knock >= r->confirm.devices) {
				out->confirmed = true;
				if (r->confirm.level > out->level)
					out->level = r->confirm.level;
			}
		}
	}
}
