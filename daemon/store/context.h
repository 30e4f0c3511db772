/*
 * store/context.h - silences in PostgreSQL (add, cancel, list: shared by
 * hazardctl and, later, the daemon's Command "silence"), and loading the
 * daemon's context snapshot (rules/context.h): the live silences and the
 * open tickets that can inhibit or raise.
 *
 * Nothing here runs per message: the daemon loads the snapshot about once
 * a second, a couple of indexed reads of small sets.
 */
#ifndef HZ_STORE_CONTEXT_H
#define HZ_STORE_CONTEXT_H

#include <libpq-fe.h>

#include "rules/context.h"

#define HZ_SILENCE_MAX_US (30 * 86400 * HZ_US_PER_SEC) /* a silence lasts at most 30 days */

/* What an operator asks for. Exactly one of for_us (from now) and
 * until_us (an absolute end) is non-zero. Strings are borrowed. */
struct hz_silence_req {
	enum hz_silence_target kind;
	const char *target;           /* device id, site id or org unit code */
	int64_t for_us, until_us;
	const char *actor, *reason;
};

struct hz_silence_row {
	struct hz_silence s;
	char actor[HZ_ID_MAX];
	char reason[512];
	int64_t created_us;
	bool cancelled, active;       /* active: not cancelled and now in [starts, ends) */
};

const char *hz_silence_target_name(enum hz_silence_target k); /* "device", "site", "org" */
enum hz_silence_target hz_silence_target_parse(const char *s); /* 0 when unknown */

/* Record a silence starting now (database clock). *id gets its id, *ends_us
 * its end. HZ_EINVAL (bad duration, an end not in the future, empty reason),
 * HZ_ENOTFOUND (no such device, site or org unit), HZ_ETRANSIENT, HZ_ERR;
 * err says why. */
int hz_store_silence_add(PGconn *pg, const struct hz_silence_req *req, int64_t *id,
			 int64_t *ends_us, char *err, size_t errlen);
/* Cancel: HZ_ENOTFOUND when there is no such silence, HZ_EINVAL when it is
 * already cancelled or over. */
int hz_store_silence_cancel(PGconn *pg, int64_t id, const char *actor, char *err, size_t errlen);
/* Newest first, at most `limit`; *rows is malloc'd (free it). */
int hz_store_silences_list(PGconn *pg, bool active_only, long limit,
			   struct hz_silence_row **rows, size_t *n, char *err, size_t errlen);

/* The snapshot: silences not over yet; open tickets of the hazard types the
 * rules' inhibit and area_raise sections name. Replace what c holds. */
int hz_store_context_load_silences(PGconn *pg, struct hz_context *c, char *err, size_t errlen);
int hz_store_context_load_tickets(PGconn *pg, const struct hz_rules *r, struct hz_context *c,
				  char *err, size_t errlen);

#endif
