/*
 * rating.h - the township three-colour rating, computed from open tickets
 * (drills left out) and recorded on change.
 */
#ifndef HZ_STORE_RATING_H
#define HZ_STORE_RATING_H

#include <libpq-fe.h>

#include "rules/rules.h"
#include "tickets/ticket.h"

/* Recompute every town's rating; for each that changed, update
 * hazard.town_ratings and queue a TownRating in the outbox, in one
 * transaction (skipped, returning HZ_OK with *n = 0, while another daemon
 * holds the rating lock). Fills out[0..*n) and their outbox ids, at most
 * `max` changes per call. */
int hz_rating_update(PGconn *pg, const struct hz_rules *rules, const char *mqtt_prefix,
		     const char *kafka_topic, size_t max, struct hz_town_rating *out,
		     int64_t *outbox_ids, size_t *n, char *err, size_t errlen);

/* The same in three steps, so a caller's loop never waits on the count
 * (one query over every open ticket: 0.8 s at a million of them). On a
 * connection of its own: hz_rating_begin opens the transaction, takes the
 * lock and sends the count (HZ_ENOTFOUND, committed, when another daemon
 * holds the lock); hz_rating_ready says whether the answer is in;
 * hz_rating_finish records the changes and commits (or rolls back). */
int hz_rating_begin(PGconn *pg, char *err, size_t errlen);
int hz_rating_ready(PGconn *pg, bool *ready, char *err, size_t errlen);
int hz_rating_finish(PGconn *pg, const struct hz_rules *rules, const char *mqtt_prefix,
		     const char *kafka_topic, size_t max, struct hz_town_rating *out,
		     int64_t *outbox_ids, size_t *n, char *err, size_t errlen);

#endif
