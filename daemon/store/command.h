/*
 * command.h - the one apply path of operator commands, shared by hazardd
 * (Command messages from MQTT and Kafka) and hazardctl.
 *
 * One transaction per command: the ticket locked FOR UPDATE; idempotence
 * on command_id (hazard.commands: a command seen before changes nothing
 * and gets its stored result again); the actor read from hazard.people
 * and the ticket's org chain; the state-machine table (tickets/state.h);
 * then the ticket columns, a history row, a TicketEvent and a
 * CommandResult in the outbox and the command's row, all or nothing. A
 * refused command is recorded too (its row and its result), never half
 * applied. Cost: ~6 round trips per command; commands are human actions,
 * not the hot path, so they are not batched.
 *
 * A dispatch names a registered rescue unit, person or org unit of the
 * ticket's county (looked up here, judged by tickets/state.c); a reopen
 * restarts call-and-respond: the acknowledgement is cleared (kept in
 * hazard.ticket_rounds) and a new deadline set from the rules at the
 * ticket's level and tier, as a new ticket gets one.
 *
 * It does not publish: the caller does after the commit (the daemon), or
 * marks the rows for a running daemon to publish (hazardctl, `foreign`).
 */
#ifndef HZ_STORE_COMMAND_H
#define HZ_STORE_COMMAND_H

#include <libpq-fe.h>

#include "core/event.h"
#include "tickets/state.h"
#include "tickets/ticket.h"

#define HZ_CMD_TEXT_MAX 4097      /* reason, note: the decoder's 4 KiB string limit */
#define HZ_CMD_EVIDENCE_MAX 16    /* evidence URLs per command */
#define HZ_CMD_URL_MAX 1024
#define HZ_CMD_TE_REASON_MAX 640 /* a TicketEvent reason: the text of its history row */
#define HZ_CMD_SKEW_DEFAULT (10 * 60 * HZ_US_PER_SEC) /* pipeline.command_skew */

enum hz_cmd_source { HZ_CMD_MQTT = 0, HZ_CMD_KAFKA, HZ_CMD_HAZARDCTL };

/* A command, self-contained (no borrowed strings): the daemon copies it out
 * of the per-message arena, hazardctl fills it from its options. */
struct hz_command {
	char command_id[HZ_ID_MAX];
	enum hz_cmd_source source;
	int64_t acted_us;                 /* the actor's own clock; 0: now */
	char actor_id[HZ_ID_MAX];
	enum hz_action action;
	int64_t ticket_id;
	enum hz_mode mode;
	char reason[HZ_CMD_TEXT_MAX];
	char note[HZ_CMD_TEXT_MAX];
	char assignee[HZ_ID_MAX * 2];
	char evidence[HZ_CMD_EVIDENCE_MAX][HZ_CMD_URL_MAX];
	size_t n_evidence;
	int rectify_mode;                 /* enum hz_rectify */
	int64_t due_us;                   /* 0: absent */
	char silence_target[HZ_ID_MAX];   /* silence: a device, site or org unit */
	int64_t silence_until_us;         /* silence: its end */
	char invalid[128];                /* set when a field did not fit: refused with this */
};

/* Copy a decoded Command event into *cmd. A field too long for the fixed
 * struct (or too many evidence URLs) is not truncated: cmd->invalid says
 * which, and applying it records a refusal. */
void hz_command_from_event(const struct hz_event *ev, enum hz_cmd_source src,
			   struct hz_command *cmd);

struct hz_rules;

struct hz_command_opts {
	const char *mqtt_prefix;     /* "hazard/v1" */
	const char *kafka_tickets;   /* "hazard.tickets" */
	const char *kafka_results;   /* "hazard.command-results" */
	int64_t skew_us;             /* pipeline.command_skew */
	bool foreign;                /* outbox rows for a running daemon to claim (hazardctl) */
	/* The rules' call-and-respond deadlines (escalation.ack, major_risk), for
	 * a reopen's new acknowledgement deadline. Borrowed for the call. NULL:
	 * a reopen is not applied (HZ_ERR, nothing committed); the daemon passes
	 * its current rules, hazardctl loads the daemon's rules file. */
	const struct hz_rules *rules;
};

/* What applying produced, for the caller to publish after the commit. */
struct hz_command_out {
	struct hz_command_result res;
	bool replayed;               /* the command_id was seen before: res is its stored result */
	int64_t res_outbox_id;
	bool has_change;             /* te is the ticket's change (applied, not replayed) */
	struct hz_ticket_event te;   /* strings point into this struct (re-point after a copy) */
	int64_t te_outbox_id;
	char te_reason[HZ_CMD_TE_REASON_MAX];
};

/* Apply `cmd`. HZ_OK: committed, out->res.outcome says applied or refused
 * (with the reason). HZ_ETRANSIENT: nothing committed, retry (database
 * unavailable, or a race on the same command_id that a retry turns into a
 * replay). HZ_ERR: the database refused it for good (err says why),
 * nothing committed. */
int hz_store_command_apply(PGconn *pg, const struct hz_command *cmd,
			   const struct hz_command_opts *o, struct hz_command_out *out, char *err,
			   size_t errlen);

#endif
