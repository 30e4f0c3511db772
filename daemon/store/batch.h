/*
 * batch.h - the daemon's write path: one PostgreSQL transaction per batch.
 *
 * A batch collects what its messages caused (rule intents, dead letters,
 * consumed positions, outbox rows confirmed delivered) and commits it all
 * at once, so a message's effects and its source position become durable
 * together: a crash before the commit replays the messages, a crash after
 * it finds the position moved on. Ticket changes are written with their
 * TicketEvent to hazard.outbox in the same transaction; the caller
 * publishes them after the commit and reports deliveries back.
 *
 * Statements are set-based (UNNEST over arrays), a fixed number per batch
 * whatever its size; a batch whose messages change no ticket costs one
 * statement.
 */
#ifndef HZ_BATCH_H
#define HZ_BATCH_H

#include <libpq-fe.h>

#include "in/source.h"
#include "rules/rules.h"
#include "tickets/merge.h"

struct hz_dead {
	enum hz_source_kind source;
	const char *topic;          /* borrowed until the batch is reset */
	int32_t partition;
	int64_t offset;
	const char *event_id;       /* may be NULL; copied */
	const void *payload;        /* borrowed until the batch is reset */
	size_t len;
	char reason[256];
};

/* A published change: the ticket event and where it goes. */
struct hz_change {
	int64_t outbox_id;
	struct hz_ticket_event te;  /* strings point into the batch */
	char reason[HZ_REASON_MAX];
	char cause[HZ_ID_MAX];
	char episode_key[HZ_EPISODE_MAX]; /* for the daemon's inhibit snapshot */
};

struct hz_batch;

struct hz_batch *hz_batch_new(size_t max_msgs);
void hz_batch_destroy(struct hz_batch *b);  /* accepts NULL */
/* Forget everything added; keeps the memory. */
void hz_batch_reset(struct hz_batch *b);

/* Copies `in`; the intent's event_id is copied too. HZ_EFULL past capacity. */
int hz_batch_add_intent(struct hz_batch *b, const struct hz_intent *in);
/* Copies `d` and its event id (payload and topic stay borrowed). */
int hz_batch_add_dead(struct hz_batch *b, const struct hz_dead *d);
/* Record that everything before next_offset on (source, partition) is
 * consumed; keeps the highest per key. */
int hz_batch_set_position(struct hz_batch *b, const char *source, int32_t partition,
			  int64_t next_offset);
/* An outbox row all sinks confirmed; deleted in this transaction. */
int hz_batch_outbox_done(struct hz_batch *b, int64_t outbox_id);

/* The device was heard from: hazard.device_seen is set to the commit's
 * time (the silence scan's clock). Copies the id; the caller adds each
 * device at most once per batch. */
int hz_batch_add_seen(struct hz_batch *b, const char *device_id);

size_t hz_batch_count_intents(const struct hz_batch *b);
size_t hz_batch_count_dead(const struct hz_batch *b);
bool hz_batch_empty(const struct hz_batch *b);

/* Topic names the outbox rows carry, and the close-out reminder schedule
 * new hazard tickets start with (the rules' defaults.closeout_reminders,
 * longest first; borrowed for the call). */
struct hz_batch_topics {
	const char *mqtt_prefix;     /* "hazard/v1" */
	const char *kafka_tickets;   /* "hazard.tickets" */
	const char *kafka_deadletter;/* "hazard.deadletter"; NULL or "": dead letters not queued */
	const int64_t *reminder_us;
	size_t n_reminder;
	const struct hz_rules *rules; /* the call-and-respond deadlines; NULL: the intents' */
};

/* Commit. Returns HZ_OK; HZ_ETRANSIENT when the database is unavailable
 * or the transaction lost a race (retry the same batch); HZ_ERR when the
 * database refused the batch for good (the caller retries message by
 * message to find the poison one). err says why. */
int hz_batch_commit(struct hz_batch *b, PGconn *pg, const struct hz_batch_topics *topics,
		    char *err, size_t errlen);

/* The ticket changes of the last successful commit. Borrowed until reset. */
const struct hz_change *hz_batch_changes(const struct hz_batch *b, size_t *n);

#endif
