/*
 * out_log.c - escalation log lines. Formatting reuses the caller's buffer;
 * writing is one write(2) per line per destination.
 */
#include "out/out_log.h"
#include "tickets/state.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct hz_out_log {
	char *path;
	int fd;
	bool to_stdout;
};

static int open_log(struct hz_out_log *l, char *err, size_t errlen)
{
	if (!*l->path) {
		l->fd = -1;
		return HZ_OK;
	}
	l->fd = open(l->path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640);
	if (l->fd < 0) {
		hz_errf(err, errlen, "could not open escalation log \"%s\": %s", l->path,
			strerror(errno));
		return HZ_ERR;
	}
	return HZ_OK;
}

struct hz_out_log *hz_out_log_new(const char *path, bool to_stdout, char *err, size_t errlen)
{
	struct hz_out_log *l = calloc(1, sizeof(*l));
	if (!l || !(l->path = strdup(path ? path : ""))) {
		free(l);
		hz_errf(err, errlen, "out of memory");
		return NULL;
	}
	l->to_stdout = to_stdout;
	if (open_log(l, err, errlen)) {
		free(l->path);
		free(l);
		return NULL;
	}
	return l;
}

static void kv_str(struct hz_buf *b, const char *k, const char *v)
{
	hz_buf_appendf(b, ",\"%s\":", k);
	hz_buf_append_json_str(b, v ? v : "");
}

static void kv_time(struct hz_buf *b, const char *k, int64_t us)
{
	char t[HZ_TIME_BUFLEN];
	if (us)
		hz_buf_appendf(b, ",\"%s\":\"%s\"", k, hz_time_format(us, t));
}

void hz_out_log_format_ticket(const struct hz_ticket_event *te, struct hz_buf *line)
{
	const struct hz_ticket *tk = &te->tk;
	char t[HZ_TIME_BUFLEN];
	hz_buf_clear(line);
	hz_buf_appendf(line, "{\"ts\":\"%s\",\"type\":\"ticket\"", hz_time_format(te->emitted_us, t));
	kv_str(line, "event_id", te->event_id);
	kv_str(line, "change", te->change);
	hz_buf_appendf(line, ",\"ticket_id\":%lld", (long long)tk->ticket_id);
	kv_str(line, "kind", hz_kind_name(tk->kind));
	kv_str(line, "state", hz_state_name(tk->state));
	if (te->from_state)
		kv_str(line, "from_state", hz_state_name(te->from_state));
	kv_str(line, "level", hz_level_name(tk->level));
	kv_str(line, "tier", hz_tier_name(tk->tier));
	kv_str(line, "site_id", tk->site_id);
	kv_str(line, "town", tk->town_code);
	kv_str(line, "county", tk->county_code);
	kv_str(line, "hazard_type", tk->hazard_type);
	if (*tk->device_id)
		kv_str(line, "device_id", tk->device_id);
	hz_buf_appendf(line, ",\"event_count\":%lld", (long long)tk->event_count);
	kv_time(line, "opened_at", tk->opened_us);
	kv_time(line, "deadline_at", tk->deadline_us);
	kv_str(line, "actor", te->actor);
	kv_str(line, "reason", te->reason);
	kv_str(line, "cause_event_id", te->cause_event_id);
	kv_time(line, "ack_deadline", tk->ack_due_us);
	if (tk->mode != HZ_MODE_ACTUAL)
		kv_str(line, "mode", hz_mode_name(tk->mode));
	hz_buf_append(line, "}\n", 2);
}

/* The dispatch suggestion of a fire alarm: the nearest unit first as flat
 * keys (for grep and jq one-liners), then every unit suggested. */
static void format_dispatch(const struct hz_escalation *esc, struct hz_buf *line)
{
	const struct hz_esc_dispatch *d = &esc->dispatch;
	kv_str(line, "area", d->area);
	hz_buf_appendf(line, ",\"inside_circle\":%s", d->inside_circle ? "true" : "false");
	if (d->n_units) {
		const struct hz_esc_unit *u = &d->units[0];
		kv_str(line, "nearest_unit", u->unit_id);
		kv_str(line, "nearest_unit_name", u->name);
		kv_str(line, "nearest_unit_kind", u->kind);
		hz_buf_appendf(line, ",\"nearest_distance_m\":%lld,\"nearest_minutes\":%.2f",
			       (long long)u->distance_m, u->minutes);
	}
	hz_buf_appendf(line, ",\"rescue_units\":[");
	for (size_t i = 0; i < d->n_units; i++) {
		const struct hz_esc_unit *u = &d->units[i];
		hz_buf_appendf(line, "%s\"unit_id\":", i ? ",{" : "{");
		hz_buf_append_json_str(line, u->unit_id);
		kv_str(line, "name", u->name);
		kv_str(line, "kind", u->kind);
		kv_str(line, "phone", u->phone);
		hz_buf_appendf(line,
			       ",\"distance_m\":%lld,\"minutes\":%.2f,\"circle_minutes\":%g,"
			       "\"inside_circle\":%s}",
			       (long long)u->distance_m, u->minutes, u->circle_minutes,
			       u->inside ? "true" : "false");
	}
	hz_buf_append(line, "]", 1);
}

void hz_out_log_format_escalation(const struct hz_escalation *esc, struct hz_buf *line)
{
	const struct hz_ticket *tk = &esc->tk;
	char t[HZ_TIME_BUFLEN];
	hz_buf_clear(line);
	hz_buf_appendf(line, "{\"ts\":\"%s\",\"type\":\"escalation\"",
		       hz_time_format(esc->emitted_us, t));
	kv_str(line, "event_id", esc->event_id);
	hz_buf_appendf(line, ",\"ticket_id\":%lld", (long long)tk->ticket_id);
	kv_str(line, "kind", hz_kind_name(tk->kind));
	kv_str(line, "state", hz_state_name(tk->state));
	kv_str(line, "level", hz_level_name(tk->level));
	kv_str(line, "from_tier", hz_tier_name(esc->from_tier));
	kv_str(line, "tier", hz_tier_name(esc->to_tier));
	if (esc->repeat)
		hz_buf_appendf(line, ",\"repeat\":%d", esc->repeat);
	kv_str(line, "org_unit", esc->org_unit);
	hz_buf_append(line, ",\"duty\":[", 9);
	for (size_t i = 0; i < esc->n_duty; i++) {
		if (i)
			hz_buf_append(line, ",", 1);
		hz_buf_append_json_str(line, esc->duty[i].person_id);
	}
	hz_buf_append(line, "]", 1);
	/* the same people with names and phones, for a person reading the log */
	hz_buf_appendf(line, ",\"called\":[");
	for (size_t i = 0; i < esc->n_duty; i++) {
		hz_buf_appendf(line, "%s{\"person_id\":", i ? "," : "");
		hz_buf_append_json_str(line, esc->duty[i].person_id);
		kv_str(line, "name", esc->duty[i].name);
		kv_str(line, "phone", esc->duty[i].phone);
		hz_buf_append(line, "}", 1);
	}
	hz_buf_append(line, "]", 1);
	kv_str(line, "site_id", tk->site_id);
	kv_str(line, "town", tk->town_code);
	kv_str(line, "county", tk->county_code);
	kv_str(line, "hazard_type", tk->hazard_type);
	kv_time(line, "ack_deadline", esc->ack_deadline_us);
	kv_str(line, "reason", esc->reason);
	if (tk->mode != HZ_MODE_ACTUAL)
		kv_str(line, "mode", hz_mode_name(tk->mode));
	if (esc->dispatch.present)
		format_dispatch(esc, line);
	hz_buf_append(line, "}\n", 2);
}

void hz_out_log_format_rating(const struct hz_town_rating *tr, struct hz_buf *line)
{
	static const char *const names[] = {"none", "green", "yellow", "red"};
	char t[HZ_TIME_BUFLEN];
	hz_buf_clear(line);
	hz_buf_appendf(line, "{\"ts\":\"%s\",\"type\":\"rating\"", hz_time_format(tr->emitted_us, t));
	kv_str(line, "event_id", tr->event_id);
	kv_str(line, "town", tr->town_code);
	kv_str(line, "rating", names[(unsigned)tr->rating % 4]);
	kv_str(line, "previous", names[(unsigned)tr->previous % 4]);
	hz_buf_appendf(line, ",\"open_alarms\":%d,\"open_hazards\":%d,\"overdue\":%d}\n",
		       tr->open_alarms, tr->open_hazards, tr->overdue);
}

void hz_out_log_format_result(const struct hz_command_result *cr, struct hz_buf *line)
{
	char t[HZ_TIME_BUFLEN];
	hz_buf_clear(line);
	hz_buf_appendf(line, "{\"ts\":\"%s\",\"type\":\"command\"", hz_time_format(cr->emitted_us, t));
	kv_str(line, "command_id", cr->command_id);
	kv_str(line, "outcome", cr->outcome == HZ_OUTCOME_APPLIED ? "applied" : "refused");
	kv_str(line, "action", hz_action_name(cr->action));
	hz_buf_appendf(line, ",\"ticket_id\":%lld", (long long)cr->ticket_id);
	kv_str(line, "actor", cr->actor_id);
	if (cr->actor_tier)
		kv_str(line, "actor_tier", hz_tier_name(cr->actor_tier));
	if (cr->from_state)
		kv_str(line, "from_state", hz_state_name(cr->from_state));
	if (cr->to_state)
		kv_str(line, "state", hz_state_name(cr->to_state));
	kv_time(line, "acted_at", cr->acted_us);
	kv_str(line, "reason", cr->reason);
	if (*cr->flags)
		kv_str(line, "flags", cr->flags);
	if (cr->mode != HZ_MODE_ACTUAL)
		kv_str(line, "mode", hz_mode_name(cr->mode));
	hz_buf_append(line, "}\n", 2);
}

static int write_all(int fd, const unsigned char *p, size_t n)
{
	while (n) {
		ssize_t w = write(fd, p, n);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			return HZ_ERR;
		}
		p += w;
		n -= (size_t)w;
	}
	return HZ_OK;
}

int hz_out_log_write(struct hz_out_log *l, const struct hz_buf *line)
{
	int rc = HZ_OK;
	if (l->fd >= 0 && write_all(l->fd, line->data, line->len))
		rc = HZ_ERR;
	if (l->to_stdout && write_all(STDOUT_FILENO, line->data, line->len))
		rc = HZ_ERR;
	return rc;
}

int hz_out_log_reopen(struct hz_out_log *l, char *err, size_t errlen)
{
	/* open the new file first: when that fails, keep writing to the old one */
	int old = l->fd;
	if (open_log(l, err, errlen)) {
		l->fd = old;
		return HZ_ERR;
	}
	if (old >= 0)
		close(old);
	return HZ_OK;
}

void hz_out_log_destroy(struct hz_out_log *l)
{
	if (!l)
		return;
	if (l->fd >= 0)
		close(l->fd);
	free(l->path);
	free(l);
}
