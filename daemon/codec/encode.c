/*
 * encode.c - output structs -> topic payloads (protobuf or proto3 JSON).
 *
 * Each encoder fills the generated struct on the stack, pointing at the
 * caller's strings (protobuf-c never writes through them), and hands it to
 * emit(): the size is computed once and the message packed straight into
 * the output buffer. The JSON form comes from the same struct through
 * json_write.c, so the two can never disagree. Encoders for EscalationNotice,
 * CommandResult and TownRating follow the same pattern once their plain
 * structs exist.
 */
#include "codec/codec.h"

#include <string.h>

#include "codec/json.h"
#include "google/protobuf/timestamp.pb-c.h"
#include "hazard.pb-c.h"

static int emit(const ProtobufCMessage *m, enum hz_content_type ct, struct hz_buf *out)
{
	if (ct != HZ_CT_PROTOBUF)
		return hz_json_from_pb(m, out);
	size_t n = protobuf_c_message_get_packed_size(m);
	if (hz_buf_reserve(out, n))
		return HZ_ENOMEM;
	out->len += protobuf_c_message_pack(m, out->data + out->len);
	return HZ_OK;
}

/* µs since the epoch -> *ts; 0 means absent (NULL). */
static Google__Protobuf__Timestamp *ts_of(int64_t us, Google__Protobuf__Timestamp *ts)
{
	if (us == 0)
		return NULL;
	google__protobuf__timestamp__init(ts);
	int64_t sec = us / HZ_US_PER_SEC, frac = us % HZ_US_PER_SEC;
	if (frac < 0) {
		frac += HZ_US_PER_SEC;
		sec--;
	}
	ts->seconds = sec;
	ts->nanos = (int32_t)(frac * 1000);
	return ts;
}

/* A string for protobuf-c: NULL becomes "", a fixed array must hold a NUL. */
static char *str_of(const char *s)
{
	return (char *)(s ? s : protobuf_c_empty_string);
}

static bool fixed_ok(const char *a, size_t cap)
{
	return memchr(a, '\0', cap) != NULL;
}

/* The five timestamps a ticket carries. */
struct ticket_pb {
	Hazard__V1__Ticket tk;
	Google__Protobuf__Timestamp opened, updated, acked, deadline, closed;
};

static int ticket_to_pb(const struct hz_ticket *t, struct ticket_pb *p)
{
	if (!fixed_ok(t->site_id, sizeof(t->site_id)) || !fixed_ok(t->town_code, sizeof(t->town_code)) ||
	    !fixed_ok(t->county_code, sizeof(t->county_code)) ||
	    !fixed_ok(t->hazard_type, sizeof(t->hazard_type)) ||
	    !fixed_ok(t->device_id, sizeof(t->device_id)))
		return HZ_EINVAL;
	Hazard__V1__Ticket *tk = &p->tk;
	hazard__v1__ticket__init(tk);
	tk->ticket_id = t->ticket_id;
	tk->kind = (Hazard__V1__Kind)t->kind;
	tk->state = (Hazard__V1__State)t->state;
	tk->level = (Hazard__V1__Level)t->level;
	tk->tier = (Hazard__V1__Tier)t->tier;
	tk->mode = (Hazard__V1__Mode)t->mode;
	tk->site_id = str_of(t->site_id);
	tk->town_code = str_of(t->town_code);
	tk->county_code = str_of(t->county_code);
	tk->hazard_type = str_of(t->hazard_type);
	tk->device_id = str_of(t->device_id);
	tk->opened_at = ts_of(t->opened_us, &p->opened);
	tk->updated_at = ts_of(t->updated_us, &p->updated);
	tk->acked_at = ts_of(t->acked_us, &p->acked);
	tk->deadline_at = ts_of(t->deadline_us, &p->deadline);
	tk->closed_at = ts_of(t->closed_us, &p->closed);
	tk->event_count = t->event_count;
	return HZ_OK;
}

int hz_codec_encode_ticket_event(const struct hz_ticket_event *te, enum hz_content_type ct,
				 struct hz_buf *out)
{
	Hazard__V1__TicketEvent m;
	Google__Protobuf__Timestamp emitted, ack_deadline;
	struct ticket_pb tp;
	if (!fixed_ok(te->event_id, sizeof(te->event_id)) || ticket_to_pb(&te->tk, &tp))
		return HZ_EINVAL;
	hazard__v1__ticket_event__init(&m);
	m.event_id = str_of(te->event_id);
	m.emitted_at = ts_of(te->emitted_us, &emitted);
	m.ticket = &tp.tk;
	m.from_state = (Hazard__V1__State)te->from_state;
	m.change = str_of(te->change);
	m.actor = str_of(te->actor);
	m.reason = str_of(te->reason);
	m.cause_event_id = str_of(te->cause_event_id);
	m.ack_deadline = ts_of(te->ack_deadline_us, &ack_deadline);
	return emit(&m.base, ct, out);
}

int hz_codec_encode_escalation(const struct hz_escalation *esc, enum hz_content_type ct,
			       struct hz_buf *out)
{
	Hazard__V1__EscalationNotice m;
	Google__Protobuf__Timestamp emitted, deadline;
	struct ticket_pb tp;
	Hazard__V1__DutyContact duty[HZ_DUTY_MAX], *dp[HZ_DUTY_MAX];
	Hazard__V1__DispatchSuggestion ds;
	Hazard__V1__RescueUnitSuggestion units[HZ_DISPATCH_MAX], *up[HZ_DISPATCH_MAX];
	if (esc->dispatch.n_units > HZ_DISPATCH_MAX)
		return HZ_EINVAL;
	for (size_t i = 0; i < esc->dispatch.n_units; i++) {
		const struct hz_esc_unit *u = &esc->dispatch.units[i];
		if (!fixed_ok(u->unit_id, sizeof(u->unit_id)) || !fixed_ok(u->name, sizeof(u->name)) ||
		    !fixed_ok(u->kind, sizeof(u->kind)) || !fixed_ok(u->org_code, sizeof(u->org_code)) ||
		    !fixed_ok(u->phone, sizeof(u->phone)))
			return HZ_EINVAL;
	}
	if (!fixed_ok(esc->dispatch.area, sizeof(esc->dispatch.area)))
		return HZ_EINVAL;
	if (!fixed_ok(esc->event_id, sizeof(esc->event_id)) ||
	    !fixed_ok(esc->org_unit, sizeof(esc->org_unit)) ||
	    !fixed_ok(esc->reason, sizeof(esc->reason)) || esc->n_duty > HZ_DUTY_MAX ||
	    ticket_to_pb(&esc->tk, &tp))
		return HZ_EINVAL;
	hazard__v1__escalation_notice__init(&m);
	m.event_id = str_of(esc->event_id);
	m.emitted_at = ts_of(esc->emitted_us, &emitted);
	m.ticket = &tp.tk;
	m.from_tier = (Hazard__V1__Tier)esc->from_tier;
	m.to_tier = (Hazard__V1__Tier)esc->to_tier;
	m.org_unit = str_of(esc->org_unit);
	for (size_t i = 0; i < esc->n_duty; i++) {
		hazard__v1__duty_contact__init(&duty[i]);
		duty[i].person_id = str_of(esc->duty[i].person_id);
		duty[i].name = str_of(esc->duty[i].name);
		duty[i].phone = str_of(esc->duty[i].phone);
		dp[i] = &duty[i];
	}
	m.n_duty = esc->n_duty;
	m.duty = esc->n_duty ? dp : NULL;
	m.reason = str_of(esc->reason);
	m.repeat = (uint32_t)esc->repeat;
	m.ack_deadline = ts_of(esc->ack_deadline_us, &deadline);
	if (esc->dispatch.present) {
		hazard__v1__dispatch_suggestion__init(&ds);
		ds.area = str_of(esc->dispatch.area);
		ds.inside_circle = esc->dispatch.inside_circle;
		for (size_t i = 0; i < esc->dispatch.n_units; i++) {
			const struct hz_esc_unit *u = &esc->dispatch.units[i];
			Hazard__V1__RescueUnitSuggestion *p = &units[i];
			hazard__v1__rescue_unit_suggestion__init(p);
			p->unit_id = str_of(u->unit_id);
			p->name = str_of(u->name);
			p->kind = str_of(u->kind);
			p->org_code = str_of(u->org_code);
			p->phone = str_of(u->phone);
			p->lat = u->lat;
			p->lon = u->lon;
			p->distance_m = u->distance_m < 0 ? 0
					: u->distance_m > UINT32_MAX ? UINT32_MAX
								      : (uint32_t)u->distance_m;
			p->travel_minutes = u->minutes;
			p->circle_minutes = u->circle_minutes;
			p->inside_circle = u->inside;
			up[i] = p;
		}
		ds.n_units = esc->dispatch.n_units;
		ds.units = ds.n_units ? up : NULL;
		m.dispatch = &ds;
	}
	return emit(&m.base, ct, out);
}

int hz_codec_encode_rating(const struct hz_town_rating *tr, enum hz_content_type ct,
			   struct hz_buf *out)
{
	Hazard__V1__TownRating m;
	Google__Protobuf__Timestamp emitted;
	if (!fixed_ok(tr->event_id, sizeof(tr->event_id)) ||
	    !fixed_ok(tr->town_code, sizeof(tr->town_code)))
		return HZ_EINVAL;
	hazard__v1__town_rating__init(&m);
	m.event_id = str_of(tr->event_id);
	m.emitted_at = ts_of(tr->emitted_us, &emitted);
	m.town_code = str_of(tr->town_code);
	m.rating = (Hazard__V1__Rating)tr->rating;
	m.previous = (Hazard__V1__Rating)tr->previous;
	m.open_alarms = (uint32_t)tr->open_alarms;
	m.open_hazards = (uint32_t)tr->open_hazards;
	m.overdue = (uint32_t)tr->overdue;
	return emit(&m.base, ct, out);
}

int hz_codec_encode_command_result(const struct hz_command_result *cr, enum hz_content_type ct,
				   struct hz_buf *out)
{
	Hazard__V1__CommandResult m;
	Google__Protobuf__Timestamp emitted, acted;
	struct ticket_pb tp;
	if (!fixed_ok(cr->command_id, sizeof(cr->command_id)) ||
	    !fixed_ok(cr->actor_id, sizeof(cr->actor_id)) ||
	    !fixed_ok(cr->reason, sizeof(cr->reason)) || !fixed_ok(cr->flags, sizeof(cr->flags)) ||
	    (cr->has_ticket && ticket_to_pb(&cr->tk, &tp)))
		return HZ_EINVAL;
	hazard__v1__command_result__init(&m);
	m.command_id = str_of(cr->command_id);
	m.emitted_at = ts_of(cr->emitted_us, &emitted);
	m.actor_id = str_of(cr->actor_id);
	m.outcome = (Hazard__V1__Outcome)cr->outcome;
	m.reason = str_of(cr->reason);
	m.ticket = cr->has_ticket ? &tp.tk : NULL;
	m.action = (Hazard__V1__Action)cr->action;
	m.ticket_id = cr->ticket_id;
	m.acted_at = ts_of(cr->acted_us, &acted);
	m.mode = (Hazard__V1__Mode)cr->mode;
	m.from_state = (Hazard__V1__State)cr->from_state;
	m.to_state = (Hazard__V1__State)cr->to_state;
	m.flags = str_of(cr->flags);
	m.actor_tier = str_of(cr->actor_tier ? hz_tier_name(cr->actor_tier) : "");
	return emit(&m.base, ct, out);
}
