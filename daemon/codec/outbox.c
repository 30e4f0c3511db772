/*
 * outbox.c - TicketEvent (protobuf) -> struct hz_ticket_event. Only for
 * our own outbox rows, so it trusts their shape but not their lengths.
 */
#include "codec/outbox.h"

#include <stdio.h>
#include <string.h>

#include "google/protobuf/timestamp.pb-c.h"
#include "hazard.pb-c.h"

/* Seconds outside years 0001..9999 are a corrupt row: treat as absent. */
static int64_t us_of(const Google__Protobuf__Timestamp *ts)
{
	if (!ts || ts->seconds < -62135596800LL || ts->seconds > 253402300799LL)
		return 0;
	return ts->seconds * HZ_US_PER_SEC + ts->nanos / 1000;
}

#define COPY(dst, src) snprintf((dst), sizeof(dst), "%s", (src) ? (src) : "")

static void ticket_from_pb(const Hazard__V1__Ticket *t, struct hz_ticket *tk)
{
	tk->ticket_id = t->ticket_id;
	tk->kind = (enum hz_kind)t->kind;
	tk->state = (enum hz_state)t->state;
	tk->level = (enum hz_level)t->level;
	tk->tier = (enum hz_tier)t->tier;
	tk->mode = (enum hz_mode)t->mode;
	COPY(tk->site_id, t->site_id);
	COPY(tk->town_code, t->town_code);
	COPY(tk->county_code, t->county_code);
	COPY(tk->hazard_type, t->hazard_type);
	COPY(tk->device_id, t->device_id);
	tk->opened_us = us_of(t->opened_at);
	tk->updated_us = us_of(t->updated_at);
	tk->acked_us = us_of(t->acked_at);
	tk->deadline_us = us_of(t->deadline_at);
	tk->closed_us = us_of(t->closed_at);
	tk->event_count = t->event_count;
}

int hz_codec_decode_escalation(const void *buf, size_t len, struct hz_escalation *esc)
{
	Hazard__V1__EscalationNotice *m = hazard__v1__escalation_notice__unpack(NULL, len, buf);
	if (!m)
		return HZ_EINVAL;
	memset(esc, 0, sizeof(*esc));
	COPY(esc->event_id, m->event_id);
	esc->emitted_us = us_of(m->emitted_at);
	if (m->ticket)
		ticket_from_pb(m->ticket, &esc->tk);
	esc->from_tier = (enum hz_tier)m->from_tier;
	esc->to_tier = (enum hz_tier)m->to_tier;
	esc->repeat = (int)m->repeat;
	COPY(esc->org_unit, m->org_unit);
	for (size_t i = 0; i < m->n_duty && i < HZ_DUTY_MAX; i++) {
		COPY(esc->duty[i].person_id, m->duty[i]->person_id);
		COPY(esc->duty[i].name, m->duty[i]->name);
		COPY(esc->duty[i].phone, m->duty[i]->phone);
		esc->n_duty++;
	}
	COPY(esc->reason, m->reason);
	esc->ack_deadline_us = us_of(m->ack_deadline);
	if (m->dispatch) {
		const Hazard__V1__DispatchSuggestion *ds = m->dispatch;
		esc->dispatch.present = true;
		COPY(esc->dispatch.area, ds->area);
		esc->dispatch.inside_circle = ds->inside_circle;
		for (size_t i = 0; i < ds->n_units && i < HZ_DISPATCH_MAX; i++) {
			const Hazard__V1__RescueUnitSuggestion *p = ds->units[i];
			struct hz_esc_unit *u = &esc->dispatch.units[esc->dispatch.n_units++];
			COPY(u->unit_id, p->unit_id);
			COPY(u->name, p->name);
			COPY(u->kind, p->kind);
			COPY(u->org_code, p->org_code);
			COPY(u->phone, p->phone);
			u->lat = p->lat;
			u->lon = p->lon;
			u->distance_m = p->distance_m;
			u->minutes = p->travel_minutes;
			u->circle_minutes = p->circle_minutes;
			u->inside = p->inside_circle;
		}
	}
	hazard__v1__escalation_notice__free_unpacked(m, NULL);
	return HZ_OK;
}

int hz_codec_decode_ticket_event(const void *buf, size_t len, struct hz_ticket_event *te,
				 struct hz_ticket_event_strings *strs)
{
	Hazard__V1__TicketEvent *m = hazard__v1__ticket_event__unpack(NULL, len, buf);
	if (!m)
		return HZ_EINVAL;
	memset(te, 0, sizeof(*te));
	COPY(te->event_id, m->event_id);
	te->emitted_us = us_of(m->emitted_at);
	te->from_state = (enum hz_state)m->from_state;
	COPY(strs->change, m->change);
	COPY(strs->actor, m->actor);
	COPY(strs->reason, m->reason);
	COPY(strs->cause, m->cause_event_id);
	te->change = strs->change;
	te->actor = strs->actor;
	te->reason = strs->reason;
	te->cause_event_id = strs->cause;
	te->ack_deadline_us = us_of(m->ack_deadline);
	if (m->ticket)
		ticket_from_pb(m->ticket, &te->tk);
	hazard__v1__ticket_event__free_unpacked(m, NULL);
	return HZ_OK;
}

int hz_codec_decode_rating(const void *buf, size_t len, struct hz_town_rating *tr)
{
	Hazard__V1__TownRating *m = hazard__v1__town_rating__unpack(NULL, len, buf);
	if (!m)
		return HZ_EINVAL;
	memset(tr, 0, sizeof(*tr));
	COPY(tr->event_id, m->event_id);
	tr->emitted_us = us_of(m->emitted_at);
	COPY(tr->town_code, m->town_code);
	tr->rating = (int)m->rating;
	tr->previous = (int)m->previous;
	tr->open_alarms = (int)m->open_alarms;
	tr->open_hazards = (int)m->open_hazards;
	tr->overdue = (int)m->overdue;
	hazard__v1__town_rating__free_unpacked(m, NULL);
	return HZ_OK;
}

int hz_codec_decode_command_result(const void *buf, size_t len, struct hz_command_result *cr)
{
	Hazard__V1__CommandResult *m = hazard__v1__command_result__unpack(NULL, len, buf);
	if (!m)
		return HZ_EINVAL;
	memset(cr, 0, sizeof(*cr));
	COPY(cr->command_id, m->command_id);
	cr->emitted_us = us_of(m->emitted_at);
	COPY(cr->actor_id, m->actor_id);
	cr->actor_tier = hz_tier_parse(m->actor_tier);
	cr->outcome = (enum hz_outcome)m->outcome;
	COPY(cr->reason, m->reason);
	cr->action = (enum hz_action)m->action;
	cr->ticket_id = m->ticket_id;
	if (m->ticket) {
		cr->has_ticket = true;
		ticket_from_pb(m->ticket, &cr->tk);
	}
	cr->acted_us = us_of(m->acted_at);
	cr->mode = (enum hz_mode)m->mode;
	cr->from_state = (enum hz_state)m->from_state;
	cr->to_state = (enum hz_state)m->to_state;
	COPY(cr->flags, m->flags);
	hazard__v1__command_result__free_unpacked(m, NULL);
	return HZ_OK;
}
