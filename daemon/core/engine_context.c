/*
 * engine_context.c - keeping the daemon's context snapshot (silences,
 * open inhibiting and warning tickets; rules/context.h) fresh: a reload
 * from PostgreSQL every rules.context_refresh (two indexed reads of small
 * sets), and the daemon's own committed ticket changes folded in at once,
 * so its fresh fire alarm holds the very next batch's lower alarms.
 *
 * Changes made by other instances or by hazardctl (a ticket closed, a
 * silence added) are seen at the next reload, at most one refresh later.
 * A hold whose holder closed meanwhile is undone inside the transaction
 * (hz_tickets_unhold), so a stale snapshot never misfiles an event.
 */
#include "core/engine_int.h"
#include "store/context.h"

#include <string.h>

void hz_engine_refresh_context(struct hz_engine *e)
{
	int64_t now = hz_mono_us();
	if (now < e->ctx_at || e->held || !hz_engine_pg_ready(e))
		return;
	e->ctx_at = now + (e->cfg->context_refresh_us > 0 ? e->cfg->context_refresh_us
							  : HZ_US_PER_SEC);
	char err[512];
	int rc = hz_store_context_load_silences(e->pg, e->ctx, err, sizeof(err));
	if (!rc)
		rc = hz_store_context_load_tickets(e->pg, e->rules, e->ctx, err, sizeof(err));
	if (rc) {
		/* the old snapshot stays: silences and holds a second stale at worst */
		hz_warn("could not refresh silences and inhibiting tickets: %s", err);
		if (PQstatus(e->pg) != CONNECTION_OK)
			hz_engine_pg_lost(e, err);
	}
}

void hz_engine_note_changes(struct hz_engine *e)
{
	size_t n;
	const struct hz_change *c = hz_batch_changes(e->batch, &n);
	for (size_t i = 0; i < n; i++) {
		const struct hz_ticket *tk = &c[i].te.tk;
		struct hz_ctx_ticket t = {.ticket_id = tk->ticket_id, .kind = tk->kind,
					  .level = tk->level, .mode = tk->mode,
					  .deadline_us = tk->deadline_us};
		memcpy(t.hazard_type, tk->hazard_type, sizeof(t.hazard_type));
		memcpy(t.site_id, tk->site_id, sizeof(t.site_id));
		memcpy(t.town_code, tk->town_code, sizeof(t.town_code));
		memcpy(t.episode_key, c[i].episode_key, sizeof(t.episode_key));
		bool open = tk->state != HZ_STATE_CLOSED && tk->state != HZ_STATE_DISMISSED;
		if (hz_context_note_ticket(e->ctx, e->rules, &t, open))
			hz_warn("out of memory noting ticket %lld for inhibition",
				(long long)tk->ticket_id);
	}
	e->st.silenced = e->ctxc.silenced;
	e->st.held = e->ctxc.held;
	e->st.raised = e->ctxc.raised;
}
