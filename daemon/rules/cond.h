/*
 * cond.h - the state that conditions over time need: hysteresis, sustained
 * conditions, rate of rise, counts in a window, double knock across the
 * devices of a site, and flapping.
 *
 * One fixed-size record per (rule, device), per (rule, site) for site
 * windows, per episode (site and hazard type: how many devices are in
 * alarm, recent clears) and per (site, knock group). Records live in one
 * open-addressing table with no per-message allocation; time comes from
 * the events (their source timestamps, never going backwards per device),
 * so tests drive it with a fake clock.
 *
 * A batch that is built twice (the engine rebuilds one after running out
 * of memory, or message by message to find a poison one) must not count
 * its events twice: changes made between hz_cond_begin() and
 * hz_cond_commit() are journalled and hz_cond_rollback() undoes them.
 *
 * State is memory only: after a restart conditions start afresh (a
 * sustained condition waits its duration again; a cleared-but-unknown
 * device does not auto-clear a ticket), which errs towards alarming.
 */
#ifndef HZ_COND_H
#define HZ_COND_H

#include "rules/rules.h"

struct hz_cond;

enum hz_cond_action {
	HZ_COND_NONE = 0,   /* nothing to report (pending, holding, quiet) */
	HZ_COND_FIRE,       /* in alarm at `level`: open or join the episode's ticket */
	HZ_COND_CLEAR,      /* the episode's last device cleared: auto-clear */
	HZ_COND_FLAP,       /* it would clear, but clears too often: hold open, mark */
};

struct hz_cond_result {
	enum hz_cond_action action;
	enum hz_level level;
	bool confirmed;     /* double knock reached */
	int knock;          /* devices of the site in alarm within the knock window */
	int hits;           /* matches in the window (window rules) */
	int clears;         /* clears within the flapping window (FLAP) */
	double rise;        /* the change within the rise window (rise rules) */
};

struct hz_cond *hz_cond_new(void);
void hz_cond_destroy(struct hz_cond *c);  /* accepts NULL */

/* Start a batch of at most `max_events` events: grows the table first, so
 * a batch never rehashes. Changes until commit can be rolled back. */
void hz_cond_begin(struct hz_cond *c, size_t max_events);
void hz_cond_commit(struct hz_cond *c);
void hz_cond_rollback(struct hz_cond *c);

/* True when `r` needs state (anything beyond a plain threshold). */
bool hz_cond_needed(const struct hz_rule *r);

/* One reading of value `v` against stateful rule `r`; `lvl` is the level
 * its thresholds give (HZ_LEVEL_NONE below them). ev->dev and ev->site
 * must be set. Never loses an alarm: without room for state it answers
 * as a plain threshold would. */
void hz_cond_step(struct hz_cond *c, const struct hz_rule *r, const struct hz_event *ev,
		  double v, enum hz_level lvl, struct hz_cond_result *out);

/* Records in use and bytes held (records, table, journal). */
size_t hz_cond_stats(const struct hz_cond *c, size_t *bytes);

#endif
