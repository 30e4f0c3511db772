/*
 * engine_int.h - the engine's state, shared by engine.c (sources, batches,
 * the loop) and outputs.c (publishing, delivery tracking, the outbox,
 * escalation timers). Internal: nothing outside daemon/core includes it.
 */
#ifndef HZ_ENGINE_INT_H
#define HZ_ENGINE_INT_H

#include "core/engine.h"
#include "core/arena.h"
#include "core/buf.h"
#include "core/log.h"
#include "codec/codec.h"
#include "codec/outbox.h"
#include "codec/units.h"
#include "in/in_kafka.h"
#include "in/in_mqtt.h"
#include "out/out_kafka.h"
#include "out/out_log.h"
#include "out/out_mqtt.h"
#include "registry/registry.h"
#include "rules/rules.h"
#include "rules/cond.h"
#include "core/seen.h"
#include "store/offline.h"
#include "store/batch.h"
#include "store/command.h"
#include "store/escalate.h"
#include "store/remind.h"
#include "store/rating.h"
#include "store/migrate.h"
#include "store/pg.h"
#include "rules/context.h"

#include <stdbool.h>
#include <stdint.h>

#define MAX_INTENTS_PER_EVENT 40
#define SINK_KAFKA 1u
#define SINK_MQTT 2u

struct pending {
	int64_t id;
	unsigned sinks;      /* still waiting for these */
	int64_t sent_us;
};

/* A command of the batch in flight: applied in its own transaction before
 * the batch commits its positions, published after. */
struct cmd_slot {
	size_t msg;           /* index in msgs */
	bool applied;         /* committed (applied, refused or replayed): never again */
	bool publish;         /* out holds outputs to publish after the batch commits */
	bool dead;            /* the database refused it for good: a dead letter */
	char dead_reason[256];
	struct hz_command cmd;
	struct hz_command_out out;
};

struct hz_engine {
	const struct hz_config *cfg;
	PGconn *pg;
	int64_t pg_retry_at, pg_backoff_us;
	struct hz_registry *reg;
	int64_t reg_check_at;
	struct hz_rules *rules;
	struct hz_cond *cond;   /* condition state (hysteresis, windows, knocks) */
	struct hz_seen *seen;   /* device_seen write gate; rebuilt with the registry */
	int64_t offline_at;     /* next silence scan (monotonic) */

	struct hz_in_kafka *kin;
	struct hz_in_mqtt *min;
	struct hz_out_kafka *kout;
	struct hz_out_mqtt *mout;
	struct hz_out_log *log;

	struct hz_batch *batch;
	struct hz_arena *arena;
	struct hz_codec_limits lim;
	struct hz_msg *msgs;
	size_t n_msgs, n_kafka_msgs;
	uint64_t mqtt_max_seq;
	bool held;           /* msgs are polled and not yet committed */
	bool replayed_outbox;
	bool oom;            /* building the batch ran out of memory */
	int64_t dead_seen_id; /* highest dead-letter outbox row published */
	struct pending *retry; /* rows being re-sent, with their remaining sinks */
	int64_t timer_at;     /* next escalation timer scan (monotonic) */
	struct hz_escalate_fired esc[HZ_ESCALATE_MAX];
	struct hz_ticket_event expired[64];
	struct hz_reminder reminded[64];
	/* the Kafka partitions held, as array literals for the timer scan;
	 * rebuilt when the assignment changes (own_gen) */
	struct hz_buf own_topics, own_parts;
	uint64_t own_gen;
	bool own_built;
	struct hz_town_rating ratings[64];
	int64_t rating_ids[64];
	int64_t rating_at;    /* next rating computation (monotonic) */
	PGconn *pg_rate;      /* the rating's own connection: its count runs while the loop goes on */
	bool rating_busy;     /* a count is in flight on pg_rate */
	int64_t retry_check_at; /* next look for unconfirmed outputs */
	int64_t esc_ids[64];  /* outbox ids of expired[] and reminded[] */
	size_t n_retry, cap_retry;

	struct pending *pend;
	size_t n_pend, cap_pend;
	int64_t *done;       /* outbox rows every sink confirmed, to delete */
	size_t n_done, cap_done;
	int64_t done_since;
	uint64_t tags[1024], ftags[1024];

	struct hz_buf out, line;
	struct hz_intent intents[MAX_INTENTS_PER_EVENT];
	struct hz_intent_source cur_src; /* of the message being processed */
	/* once per batch, not per message: the device_seen gate's clock and
	 * interval (build) and the last Kafka topic's position name (positions) */
	int64_t seen_now_us, seen_gate_us;
	char pos_topic[HZ_KAFKA_TOPIC_MAX];
	char pos_source[300];
	char mqtt_source[160];
	struct hz_engine_stats st;
	struct hz_context *ctx;    /* silences, open inhibiting and warning tickets */
	int64_t ctx_at;            /* next context refresh (monotonic) */
	struct hz_context_counts ctxc; /* what hz_context_apply did, copied into st per commit */
	struct cmd_slot *cmds;     /* commands of the batch in flight, in message order */
	size_t n_cmds, cap_cmds;
	int64_t foreign_at;        /* next claim of outbox rows hazardctl wrote (monotonic) */
};

/* engine.c */
bool hz_engine_pg_ready(struct hz_engine *e);
/* A new session as the daemon's (synchronous commit, statement timeout). */
PGconn *hz_engine_connect(const struct hz_config *cfg, char *err, size_t errlen);
void hz_engine_pg_lost(struct hz_engine *e, const char *why);

/* outputs.c */
int hz_engine_pend_add(struct hz_engine *e, int64_t id, unsigned sinks);
unsigned hz_engine_sinks(const struct hz_engine *e);
/* Publish one ticket change to `sinks`; returns the sinks now waiting. */
unsigned hz_engine_publish_change(struct hz_engine *e, const struct hz_ticket_event *te,
				  int64_t outbox_id, unsigned sinks, bool log);
void hz_engine_replay_outbox(struct hz_engine *e);
void hz_engine_publish_dead_letters(struct hz_engine *e);
void hz_engine_serve_outputs(struct hz_engine *e);
void hz_engine_retry_outputs(struct hz_engine *e);
void hz_engine_fire_timers(struct hz_engine *e);
void hz_engine_update_ratings(struct hz_engine *e);
void hz_engine_scan_offline(struct hz_engine *e);
/* Publish one CommandResult; returns the sinks now waiting. */
unsigned hz_engine_publish_result(struct hz_engine *e, const struct hz_command_result *cr,
				  int64_t outbox_id, unsigned sinks, bool log);
/* Keep the pending list sorted by outbox id after adding ids out of order. */
void hz_engine_pend_sort(struct hz_engine *e);
/* Claim and publish outbox rows hazardctl wrote (every 250 ms). */
void hz_engine_publish_foreign(struct hz_engine *e);

/* engine_context.c */
/* Re-read the silences and the open inhibiting/warning tickets every
 * rules.context_refresh (a failure keeps the old snapshot and says so). */
void hz_engine_refresh_context(struct hz_engine *e);
/* The batch just committed: its ticket changes update the snapshot at once,
 * so a fire alarm opened in this batch holds the next batch's alarms. */
void hz_engine_note_changes(struct hz_engine *e);

#endif
