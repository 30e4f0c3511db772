/*
 * out_kafka.h - the Kafka sink: an idempotent producer (acks=all) for the
 * output topics. Publishing never blocks; delivery reports come back as
 * tags through hz_out_kafka_poll, so the pipeline can delete the outbox
 * rows that are delivered and re-send the ones that failed.
 *
 * Not thread-safe: one engine thread.
 */
#ifndef HZ_OUT_KAFKA_H
#define HZ_OUT_KAFKA_H

#include "core/config.h"

struct hz_out_kafka;

struct hz_out_kafka_stats {
	uint64_t produced, delivered, failed;
	int in_flight;
};

struct hz_out_kafka *hz_out_kafka_new(const struct hz_config *cfg, char *err, size_t errlen);
/* Queue one message. key, content_type and event_id may be NULL;
 * `headers` is NULL or a NULL-terminated list of name, value pairs added
 * as Kafka headers. Returns HZ_OK, HZ_EFULL when the local queue is full
 * (poll and try again), HZ_ERR otherwise. */
int hz_out_kafka_publish(struct hz_out_kafka *o, const char *topic, const char *key,
			 const void *payload, size_t len, const char *content_type,
			 const char *event_id, const char *const *headers, uint64_t tag);
/* Serve delivery reports: fills up to max delivered tags and up to max
 * failed tags; returns counts through *n_ok / *n_fail. */
void hz_out_kafka_poll(struct hz_out_kafka *o, uint64_t *ok, size_t *n_ok, uint64_t *fail,
		       size_t *n_fail, size_t max);
void hz_out_kafka_stats(const struct hz_out_kafka *o, struct hz_out_kafka_stats *st);
/* Wait up to timeout_ms for in-flight messages. */
void hz_out_kafka_flush(struct hz_out_kafka *o, int timeout_ms);
void hz_out_kafka_destroy(struct hz_out_kafka *o); /* accepts NULL */

#endif
