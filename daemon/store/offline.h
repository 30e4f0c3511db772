/*
 * offline.h - device silence (no reading or heartbeat for too long) as a
 * timer in PostgreSQL.
 *
 * hazard.device_seen holds when each device was last heard (written by
 * the batch, see hz_batch_add_seen). The scan finds devices quiet past
 * their limit (rules `offline:`, by device kind) that have no open
 * device_offline ticket, and open device_offline tickets whose device was
 * heard since the ticket opened, and turns them into intents for a batch:
 * a fault ticket opened, or closed. Event ids are derived from the device
 * and the time it was last heard ("offline-<device>-<µs>"), so a scan
 * repeated by a restart or by a second instance finds its events already
 * applied and changes nothing; an operator who closes an offline ticket
 * of a device still silent does not see it reopen until the device has
 * been heard and falls silent again.
 */
#ifndef HZ_STORE_OFFLINE_H
#define HZ_STORE_OFFLINE_H

#include <libpq-fe.h>

#include "registry/registry.h"
#include "rules/rules.h"
#include "store/batch.h"

/* Make sure every registered device has a device_seen row (now, for new
 * ones), so a device that never reports is found after its limit. */
int hz_offline_seed(PGconn *pg, char *err, size_t errlen);

/* Called on each intent before it is added, so the engine can apply its
 * silences and holds (a power outage holds offline faults). */
typedef void (*hz_offline_apply_fn)(void *arg, struct hz_intent *in, const struct hz_site *site);

/* Add up to `max` open and `max` close intents to `b` (which the caller
 * commits), each passed through `apply` (may be NULL) first. *found is how
 * many were added. Deadlines are compared with the database's clock.
 * HZ_OK, HZ_ETRANSIENT or HZ_ERR with err set. */
int hz_offline_scan(PGconn *pg, const struct hz_rules *rules, const struct hz_registry *reg,
		    hz_offline_apply_fn apply, void *arg, struct hz_batch *b, size_t max,
		    size_t *found, char *err, size_t errlen);

#endif
