/*
 * in_kafka.h - the Kafka source: a librdkafka consumer-group member that
 * hands batches of raw messages to the pipeline.
 *
 * Offsets: the pipeline keeps consumed positions in PostgreSQL in the same
 * transaction as their effects (hazard.source_offsets, source
 * "kafka:<topic>"). On every assignment the source asks the pipeline for
 * those positions and starts there; Kafka's own committed offsets (stored
 * only after the PostgreSQL commit, enable.auto.offset.store=false) are the
 * fallback and serve lag monitoring. So a crash at any instant replays at
 * most the uncommitted batch, and the replay is recognised.
 *
 * Not thread-safe: one engine thread polls, releases and commits.
 */
#ifndef HZ_IN_KAFKA_H
#define HZ_IN_KAFKA_H

#include "core/config.h"
#include "in/source.h"

/* Look up the next offset to consume for (source, partition) in
 * PostgreSQL. Return HZ_OK with *next set, HZ_ENOTFOUND when none is
 * recorded, or another error (the Kafka committed offset is used then). */
typedef int (*hz_offset_lookup_fn)(void *opaque, const char *source, int32_t partition,
				    int64_t *next);

struct hz_in_kafka;

struct hz_in_kafka_stats {
	uint64_t received, errors, assignments, revocations;
	int assigned_partitions;
};

struct hz_in_kafka *hz_in_kafka_new(const struct hz_config *cfg, hz_offset_lookup_fn lookup,
				    void *opaque, char *err, size_t errlen);
/* Up to `max` messages within `timeout_ms`. Messages (payload, topic) stay
 * valid until hz_in_kafka_release. Rebalance callbacks run inside this
 * call, so call it only when no batch is in flight. */
size_t hz_in_kafka_poll(struct hz_in_kafka *k, struct hz_msg *out, size_t max, int timeout_ms);
/* The polled messages are committed in PostgreSQL: store their offsets
 * for Kafka's commit and free them. */
void hz_in_kafka_release(struct hz_in_kafka *k, bool committed);
/* "kafka:<topic>", the position key of a message. */
const char *hz_in_kafka_source_name(const struct hz_msg *m, char *buf, size_t len);
void hz_in_kafka_stats(const struct hz_in_kafka *k, struct hz_in_kafka_stats *st);
/* The partitions this member was last assigned (replaced by every
 * assignment, inside hz_in_kafka_poll; kept across a revocation until the
 * next one). Returns a number that changes with each
 * change, so a caller rebuilds what it derives only then; *n is the count.
 * hz_in_kafka_assigned_at gives entry i (< *n); the topic is borrowed
 * until the next poll. */
uint64_t hz_in_kafka_assignment(const struct hz_in_kafka *k, size_t *n);
void hz_in_kafka_assigned_at(const struct hz_in_kafka *k, size_t i, const char **topic,
			     int32_t *partition);
/* Leave the group cleanly (commits stored offsets). */
void hz_in_kafka_close(struct hz_in_kafka *k);
void hz_in_kafka_destroy(struct hz_in_kafka *k); /* accepts NULL */

/* Apply the kafka.rdkafka.* pass-through properties to a librdkafka conf
 * (shared by the source and the sink). `conf` is an rd_kafka_conf_t *. */
int hz_kafka_conf_apply(void *conf, const struct hz_config *cfg, char *err, size_t errlen);

#endif
