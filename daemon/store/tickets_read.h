/*
 * tickets_read.h - read-only queries over tickets, their history and the
 * dead letters, for hazardctl and for the daemon (ticket reload, health).
 *
 * Results are arrays allocated in one block each (rows and their strings
 * together): free them with free(). Nothing here writes; the daemon's
 * writer is store/batch.c.
 */
#ifndef HZ_STORE_TICKETS_READ_H
#define HZ_STORE_TICKETS_READ_H

#include "tickets/ticket.h"

#include <libpq-fe.h>

/* Filters for hz_store_tickets_list; NULL/0 means "any". */
struct hz_ticket_filter {
	const char *town_code;
	const char *county_code;
	enum hz_state state;
	unsigned state_mask; /* bit (1u << state) per accepted state; 0: any */
	enum hz_kind kind;
	unsigned kind_mask;  /* bit (1u << kind); 0: any */
	enum hz_level level;
	bool level_exact;    /* level: exactly this one, not this or higher */
	bool open_only;   /* state not closed or dismissed */
	bool overdue_only; /* open and past the close-out deadline (not warnings) */
	int64_t since_us; /* opened_at >= since; 0: no bound */
	long limit;       /* <= 0: 100 */
};

struct hz_ticket_row {
	struct hz_ticket tk;
	const char *episode_key;
	const char *first_event_id, *last_event_id; /* "" when NULL */
	const char *site_name, *town_name;          /* from the registry; "" when unknown */
	bool overdue; /* open and past the close-out deadline, marked or not yet */
};

struct hz_history_row {
	int64_t ticket_id;
	int seq;
	int64_t at_us;
	enum hz_state from_state; /* HZ_STATE_NONE when opened */
	enum hz_state to_state;
	enum hz_level level;                   /* HZ_LEVEL_NONE when NULL */
	enum hz_tier tier;                     /* HZ_TIER_NONE when NULL */
	const char *actor, *reason, *event_id; /* reason and event_id "" when NULL */
	/* a command's row (012); "" / 0 otherwise */
	const char *action, *note, *evidence_json; /* evidence: a JSON array of URLs */
	int64_t acted_us;
};

struct hz_dead_letter_row {
	int64_t id;
	int64_t received_us;
	const char *source, *topic, *reason, *event_id;
	int32_t partition;            /* -1 when NULL */
	int64_t offset;               /* -1 when NULL */
	const unsigned char *payload; /* the first 64 KiB at most */
	size_t payload_len;
	size_t payload_size; /* the whole payload's size */
};

/* Tickets matching `f`, newest opened first (then highest id). *rows is one
 * block owned by the caller (free), NULL when *n is 0; *more is set when
 * more rows matched than the limit. Returns 0, HZ_ETRANSIENT or HZ_ERR. */
int hz_store_tickets_list(PGconn *pg, const struct hz_ticket_filter *f, struct hz_ticket_row **rows,
			  size_t *n, bool *more, char *err, size_t errlen);

/* One ticket. *row is owned by the caller (free). HZ_ENOTFOUND with err
 * "ticket 42 does not exist" when absent. */
int hz_store_ticket_get(PGconn *pg, int64_t ticket_id, struct hz_ticket_row **row, char *err,
			size_t errlen);

/* The whole history of a ticket in seq order (*n may be 0). */
int hz_store_ticket_history(PGconn *pg, int64_t ticket_id, struct hz_history_row **rows, size_t *n,
			    char *err, size_t errlen);

/* The newest dead letters first; limit <= 0 means 50. */
int hz_store_dead_letters_list(PGconn *pg, long limit, struct hz_dead_letter_row **rows, size_t *n,
			       bool *more, char *err, size_t errlen);

#endif
