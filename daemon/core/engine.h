/*
 * engine.h - the pipeline: sources -> decode -> registry -> rules ->
 * batch commit -> outputs, on one thread.
 *
 * One loop owns every stage, so per-batch state needs no locks: it polls
 * a batch from MQTT (the spool) and Kafka, turns each message into
 * intents or a dead letter, commits the batch in one PostgreSQL
 * transaction together with the consumed positions, and only then
 * releases the messages to their sources and publishes the changes from
 * the outbox. While PostgreSQL is away the batch is held (and retried with
 * back-off), nothing is acknowledged, and the sources back up into their
 * own bounded buffers and the brokers.
 */
#ifndef HZ_ENGINE_H
#define HZ_ENGINE_H

#include <signal.h>

#include "core/config.h"

struct hz_engine;

struct hz_engine_stats {
	uint64_t messages, batches, intents, dead_letters, fault_tickets;
	uint64_t changes_published, commit_retries, poison_hunts, escalations, reminders;
	uint64_t reload_failures, offline_changes;
	bool pg_up;
	uint64_t silenced, held, raised;    /* intents changed by silences, inhibit, area_raise */
};

/* Build every stage from the config (connects nothing that can wait).
 * The config is borrowed for the engine's life. */
struct hz_engine *hz_engine_new(const struct hz_config *cfg, char *err, size_t errlen);
/* Run until *stop becomes non-zero; *reload asks for a rules reload.
 * Drains and commits the batch in flight before returning. */
int hz_engine_run(struct hz_engine *e, volatile sig_atomic_t *stop,
		  volatile sig_atomic_t *reload);
void hz_engine_stats(const struct hz_engine *e, struct hz_engine_stats *st);
void hz_engine_destroy(struct hz_engine *e); /* accepts NULL */

#endif
