/*
 * verify.h - check the hash chain of hazard.ticket_history independently
 * of the database: every row's canonical bytes are rebuilt and hashed here
 * (OpenSSL SHA-256), not by the trigger that wrote them (sql/014).
 *
 * The canonical bytes (the same definition as sql/014_history_chain.sql
 * and the README): thirteen netstrings "<byte length>:<bytes>," of "th1",
 * ticket_id, seq, at (integer microseconds since the epoch), from_state,
 * to_state, level, tier, actor, reason, event_id, mode, and the previous
 * row's hash in lowercase hex ("" for seq 1); NULL is written as "".
 */
#ifndef HZ_STORE_VERIFY_H
#define HZ_STORE_VERIFY_H

#include "core/buf.h"
#include "core/hz.h"

#include <libpq-fe.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#define HZ_HASH_HEX 65 /* 64 hex digits and a NUL */

/* One history row's fields, as stored; any string may be NULL. */
struct hz_history_fields {
	int64_t ticket_id;
	int seq;
	int64_t at_us;
	const char *from_state, *to_state, *level, *tier, *actor, *reason, *event_id, *mode;
	/* the command columns (012); NULL when the row has none */
	const char *action, *actor_tier, *note, *assignee, *flags;
	bool has_acted;
	int64_t acted_us;
	const char *const *evidence; /* n_evidence URLs */
	size_t n_evidence;
	const char *prev_hash_hex; /* NULL or "" for seq 1 */
};

/* The canonical bytes of `f` into `out` (cleared first). HZ_ENOMEM on failure. */
int hz_history_canon(const struct hz_history_fields *f, struct hz_buf *out);

/* hex = lowercase hex SHA-256 of the canonical bytes of `f`; `scratch` is a
 * reusable buffer. Returns 0, HZ_ENOMEM or HZ_ERR (OpenSSL failed). */
int hz_history_hash_hex(const struct hz_history_fields *f, struct hz_buf *scratch,
			char hex[HZ_HASH_HEX]);

enum hz_verify_what {
	HZ_VERIFY_HASH,    /* the row's hash is not the hash of its contents */
	HZ_VERIFY_MISSING, /* seq numbers missing before this row (or no rows at all) */
	HZ_VERIFY_PREV,    /* the row's prev_hash is not the previous row's hash */
};

struct hz_verify_break {
	int64_t ticket_id;
	int seq;             /* the row where the break shows (the first missing seq) */
	enum hz_verify_what what;
	char detail[200];
};

struct hz_verify_opts {
	int64_t ticket_id; /* 0: every ticket */
	int64_t since_us;  /* 0: whole chains; else rows at or after it, each linked to
			    * the row before it */
};

struct hz_verify_result {
	int64_t rows, tickets;
	struct hz_verify_break *breaks; /* owned: hz_verify_result_free */
	size_t n_breaks, cap_breaks;
};

/* Read the rows (streamed, in ticket and seq order, so memory does not grow
 * with the table) and check each chain: seq numbers without gaps from 1,
 * each prev_hash equal to the previous row's hash, each hash equal to the
 * SHA-256 of the row's canonical bytes. Without `since_us`, a ticket with no
 * history row at all is a break too. Fills *res (free with
 * hz_verify_result_free, also on failure). Returns 0 whether or not there
 * are breaks, HZ_ENOTFOUND when opts->ticket_id does not exist, else
 * HZ_ETRANSIENT / HZ_ERR with err set. */
int hz_store_verify_history(PGconn *pg, const struct hz_verify_opts *opts,
			    struct hz_verify_result *res, char *err, size_t errlen);

void hz_verify_result_free(struct hz_verify_result *res);

/* "hash mismatch", "missing seq", "previous hash mismatch". */
const char *hz_verify_what_name(enum hz_verify_what w);

/* Print `res` for people (one line per break, then a summary) or as one
 * JSON object {"intact", "rows", "tickets", "breaks": [{ticket_id, seq,
 * what, detail}]}. */
void hz_verify_print(FILE *out, const struct hz_verify_result *res, bool json);

#endif
