/*
 * cmd_tickets.c - `hazardctl tickets list` and `tickets show`: the filters,
 * the aligned table (display width, so Chinese site names line up), the
 * whole timeline of one ticket, and their JSON forms for scripts.
 *
 * Queries are in store/tickets_read.c and store/stats.c; this file only
 * parses arguments and prints.
 */
#include "ctl/ctl.h"
#include "ctl/text.h"
#include "store/stats.h"
#include "store/tickets_read.h"

#include <getopt.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

const char hz_ctl_tickets_synopsis[] = "tickets list [FILTERS] [--json] | tickets show ID [--json]";
const char hz_ctl_tickets_help[] =
	"tickets list: tickets, newest opened first, as a table or JSON.\n"
	"  --town CODE        in this town             --county CODE   in this county\n"
	"  --state S[,S...]   discovered, confirmed, controlled, rectifying, closed,\n"
	"                     dismissed (repeatable; any of them)\n"
	"  --kind K[,K...]    alarm, hazard, warning, fault (repeatable)\n"
	"  --level LEVEL      at least LEVEL: --level orange is orange and red;\n"
	"                     --level =orange is exactly orange (none, blue, yellow,\n"
	"                     orange, red)\n"
	"  --open             not closed or dismissed\n"
	"  --overdue          open and past the close-out deadline\n"
	"  --since WHEN       opened at or after WHEN: RFC 3339, or a duration ago\n"
	"                     (90s, 15m, 2h, 7d, 1h30m)\n"
	"  --limit N          at most N tickets (default 100)\n"
	"  --json             one JSON array of ticket objects (an empty array: [])\n"
	"  --color WHEN       auto (default: on a terminal, unless NO_COLOR), always, never\n"
	"  --no-color         the same as --color never\n"
	"Columns: AGE is the time since the ticket opened; ACK is \"acked\", \"NO\" (open,\n"
	"nobody answered yet) or \"-\"; FLAGS: OVERDUE, DRILL (mode exercise), TEST (mode\n"
	"test). An empty list exits 0.\n"
	"\n"
	"tickets show ID: the ticket, then its whole timeline: every history row (seq,\n"
	"time, from -> to, level, tier, actor, reason), every escalation step (tier, org\n"
	"unit, who was called from the duty roster, and whether the call was answered\n"
	"before the next step), and how its events were taken. --json: one object with\n"
	"\"ticket\", \"history\", \"escalations\" and \"events\". A missing ticket exits 1.\n"
	"\n"
	"Exit status: 0 ok, 1 not found, 2 usage, 3 database unavailable.\n";

enum { O_TOWN = 256, O_COUNTY, O_STATE, O_KIND, O_LEVEL, O_OPEN, O_OVERDUE, O_SINCE, O_LIMIT,
       O_JSON, O_COLOR, O_NOCOLOR };

static int help(void) { return hz_ctl_help(hz_ctl_tickets_synopsis, hz_ctl_tickets_help); }

static json_t *ticket_json(const struct hz_ticket_row *r, int64_t now_us)
{
	const struct hz_ticket *tk = &r->tk;
	json_t *j = json_object();
	json_object_set_new(j, "ticket_id", json_integer(tk->ticket_id));
	json_object_set_new(j, "kind", json_string(hz_kind_name(tk->kind)));
	json_object_set_new(j, "state", json_string(hz_state_name(tk->state)));
	json_object_set_new(j, "level", json_string(hz_level_name(tk->level)));
	json_object_set_new(j, "tier", json_string(hz_tier_name(tk->tier)));
	json_object_set_new(j, "mode", json_string(hz_mode_name(tk->mode)));
	json_object_set_new(j, "drill", json_boolean(tk->mode != HZ_MODE_ACTUAL));
	json_object_set_new(j, "site_id", hz_ctl_json_opt(tk->site_id));
	json_object_set_new(j, "site_name", hz_ctl_json_opt(r->site_name));
	json_object_set_new(j, "town_code", hz_ctl_json_opt(tk->town_code));
	json_object_set_new(j, "town_name", hz_ctl_json_opt(r->town_name));
	json_object_set_new(j, "county_code", hz_ctl_json_opt(tk->county_code));
	json_object_set_new(j, "hazard_type", json_string(tk->hazard_type));
	json_object_set_new(j, "device_id", hz_ctl_json_opt(tk->device_id));
	json_object_set_new(j, "episode_key", json_string(r->episode_key));
	json_object_set_new(j, "opened_at", hz_ctl_json_time(tk->opened_us));
	json_object_set_new(j, "updated_at", hz_ctl_json_time(tk->updated_us));
	json_object_set_new(j, "acked_at", hz_ctl_json_time(tk->acked_us));
	json_object_set_new(j, "acked_by", hz_ctl_json_opt(tk->acked_by));
	json_object_set_new(j, "ack_due_at", hz_ctl_json_time(tk->ack_due_us));
	json_object_set_new(j, "escalation_repeat", json_integer(tk->escalation_repeat));
	json_object_set_new(j, "deadline_at", hz_ctl_json_time(tk->deadline_us));
	json_object_set_new(j, "overdue_at", hz_ctl_json_time(tk->overdue_us));
	json_object_set_new(j, "overdue", json_boolean(r->overdue));
	json_object_set_new(j, "assignee", hz_ctl_json_opt(tk->assignee));
	json_object_set_new(j, "assigned_at", hz_ctl_json_time(tk->assigned_us));
	json_object_set_new(j, "rectify_mode", tk->rectify_mode ? json_string(hz_rectify_name(tk->rectify_mode)) : json_null());
	json_object_set_new(j, "rectify_due_at", hz_ctl_json_time(tk->rectify_due_us));
	json_object_set_new(j, "rectified_by", hz_ctl_json_opt(tk->rectified_by));
	json_object_set_new(j, "rectified_at", hz_ctl_json_time(tk->rectified_us));
	json_object_set_new(j, "verified_by", hz_ctl_json_opt(tk->verified_by));
	json_object_set_new(j, "closed_by", hz_ctl_json_opt(tk->closed_by));
	json_object_set_new(j, "closed_at", hz_ctl_json_time(tk->closed_us));
	json_object_set_new(j, "reopened_count", json_integer(tk->reopened_count));
	json_object_set_new(j, "flapping_at", hz_ctl_json_time(tk->flapping_us));
	json_object_set_new(j, "age_s", json_integer((now_us - tk->opened_us) / HZ_US_PER_SEC));
	json_object_set_new(j, "event_count", json_integer(tk->event_count));
	json_object_set_new(j, "first_event_id", hz_ctl_json_opt(r->first_event_id));
	json_object_set_new(j, "last_event_id", hz_ctl_json_opt(r->last_event_id));
	return j;
}

static bool is_open(enum hz_state s) { return s != HZ_STATE_CLOSED && s != HZ_STATE_DISMISSED; }

static const char *ack_word(const struct hz_ticket *tk)
{
	return tk->acked_us ? "acked" : is_open(tk->state) ? "NO" : "-";
}

static void flags(const struct hz_ticket_row *r, char *buf, size_t len)
{
	size_t o = 0;
	buf[0] = '\0';
	if (r->overdue)
		o += (size_t)snprintf(buf + o, len - o, "OVERDUE");
	if (r->tk.mode != HZ_MODE_ACTUAL && o < len)
		snprintf(buf + o, len - o, "%s%s", o ? "," : "",
			 r->tk.mode == HZ_MODE_EXERCISE ? "DRILL" : "TEST");
}

/* Parse --state/--kind lists into a bit mask; false on an unknown name. */
static bool add_names(const char *list, unsigned *mask, int (*parse)(const char *))
{
	char buf[256];
	snprintf(buf, sizeof(buf), "%s", list);
	char *save = NULL;
	bool any = false;
	for (char *p = strtok_r(buf, ",", &save); p; p = strtok_r(NULL, ",", &save)) {
		int v = parse(p);
		if (!v)
			return false;
		*mask |= 1u << v;
		any = true;
	}
	return any;
}

static int state_parse(const char *s) { return (int)hz_state_parse(s); }
static int kind_parse(const char *s) { return (int)hz_kind_parse(s); }

static bool colour_option(const char *arg, enum hz_ctl_colour *mode)
{
	if (!strcmp(arg, "auto"))
		*mode = HZ_CTL_COLOUR_AUTO;
	else if (!strcmp(arg, "always"))
		*mode = HZ_CTL_COLOUR_ALWAYS;
	else if (!strcmp(arg, "never"))
		*mode = HZ_CTL_COLOUR_NEVER;
	else
		return false;
	return true;
}

int hz_ctl_tickets_list(int argc, char **argv, const char *dsn)
{
	static const struct option lo[] = {{"town", required_argument, NULL, O_TOWN},
					   {"county", required_argument, NULL, O_COUNTY},
					   {"state", required_argument, NULL, O_STATE},
					   {"kind", required_argument, NULL, O_KIND},
					   {"level", required_argument, NULL, O_LEVEL},
					   {"open", no_argument, NULL, O_OPEN},
					   {"overdue", no_argument, NULL, O_OVERDUE},
					   {"since", required_argument, NULL, O_SINCE},
					   {"limit", required_argument, NULL, O_LIMIT},
					   {"json", no_argument, NULL, O_JSON},
					   {"color", required_argument, NULL, O_COLOR},
					   {"colour", required_argument, NULL, O_COLOR},
					   {"no-color", no_argument, NULL, O_NOCOLOR},
					   {"help", no_argument, NULL, 'h'},
					   {0}};
	static const char cmd[] = "tickets list";
	struct hz_ticket_filter f = {0};
	enum hz_ctl_colour cmode = HZ_CTL_COLOUR_AUTO;
	bool json = false;
	int c;
	int64_t now_us = hz_now_us();
	while ((c = getopt_long(argc, argv, "h", lo, NULL)) != -1) {
		switch (c) {
		case 'h': return help();
		case O_TOWN: f.town_code = optarg; break;
		case O_COUNTY: f.county_code = optarg; break;
		case O_STATE:
			if (!add_names(optarg, &f.state_mask, state_parse))
				return hz_ctl_usage(cmd,
						    "unknown state in \"%s\" (expected discovered, "
						    "confirmed, controlled, rectifying, closed or "
						    "dismissed)",
						    optarg);
			break;
		case O_KIND:
			if (!add_names(optarg, &f.kind_mask, kind_parse))
				return hz_ctl_usage(cmd,
						    "unknown kind in \"%s\" (expected alarm, hazard, "
						    "warning or fault)",
						    optarg);
			break;
		case O_LEVEL: {
			const char *l = optarg;
			f.level_exact = *l == '=';
			l += f.level_exact;
			f.level = hz_level_parse(l);
			if (!f.level && strcmp(l, "none") != 0)
				return hz_ctl_usage(cmd,
						    "unknown level \"%s\" (expected none, blue, "
						    "yellow, orange or red; =LEVEL for exactly)",
						    optarg);
			if (!f.level && f.level_exact) {
				/* exactly none: the store treats level 0 as "any" */
				return hz_ctl_usage(cmd, "--level =none is not supported");
			}
			break;
		}
		case O_OPEN: f.open_only = true; break;
		case O_OVERDUE: f.overdue_only = true; break;
		case O_SINCE:
			if (hz_ctl_parse_since(optarg, now_us, &f.since_us))
				return hz_ctl_usage(cmd,
						    "--since wants an RFC 3339 time or a duration "
						    "like 2h, got \"%s\"",
						    optarg);
			break;
		case O_LIMIT:
			if (!hz_ctl_parse_long(optarg, 1, &f.limit))
				return hz_ctl_usage(cmd, "--limit wants a positive number, got \"%s\"",
						    optarg);
			break;
		case O_JSON: json = true; break;
		case O_COLOR:
			if (!colour_option(optarg, &cmode))
				return hz_ctl_usage(cmd, "--color wants auto, always or never");
			break;
		case O_NOCOLOR: cmode = HZ_CTL_COLOUR_NEVER; break;
		default: return hz_ctl_usage(cmd, "bad option");
		}
	}
	if (optind != argc)
		return hz_ctl_usage(cmd, "unexpected argument \"%s\"", argv[optind]);
	PGconn *pg = hz_ctl_connect(dsn, 30000);
	if (!pg)
		return HZ_CTL_EXIT_DB;
	struct hz_ticket_row *rows;
	size_t n;
	bool more;
	char err[1024];
	int rc = hz_store_tickets_list(pg, &f, &rows, &n, &more, err, sizeof(err));
	PQfinish(pg);
	if (rc)
		return hz_ctl_fail(rc, err);
	if (json) {
		json_t *arr = json_array();
		for (size_t i = 0; i < n; i++)
			json_array_append_new(arr, ticket_json(&rows[i], now_us));
		free(rows);
		return hz_ctl_json_print(arr);
	}
	bool colour = hz_ctl_colour_wanted(cmode, isatty(STDOUT_FILENO), getenv("NO_COLOR"),
					   getenv("TERM"));
	bool c256 = hz_ctl_term_256(getenv("TERM"), getenv("COLORTERM"));
	static const char *const head[] = {"ID",   "KIND", "LEVEL",       "STATE", "TIER",
					   "TOWN", "SITE", "NAME",        "HAZARD_TYPE",
					   "AGE",  "ACK",  "FLAGS"};
	enum { COL_LEVEL = 2, COL_NAME = 7, COL_ACK = 10, COL_FLAGS = 11 };
	struct hz_ctl_table t;
	hz_ctl_table_init(&t, head, HZ_ARRAY_LEN(head));
	t.limit[COL_NAME] = 24;
	for (size_t i = 0; i < n; i++) {
		const struct hz_ticket *tk = &rows[i].tk;
		char id[24], age[24], fl[32];
		snprintf(id, sizeof(id), "%lld", (long long)tk->ticket_id);
		hz_ctl_fmt_age(now_us - tk->opened_us, age, sizeof(age));
		flags(&rows[i], fl, sizeof(fl));
		const char *cells[] = {id,
				       hz_kind_name(tk->kind),
				       hz_level_name(tk->level),
				       hz_state_name(tk->state),
				       hz_tier_name(tk->tier),
				       *tk->town_code ? tk->town_code : "-",
				       *tk->site_id ? tk->site_id : "-",
				       *rows[i].site_name ? rows[i].site_name : "-",
				       tk->hazard_type,
				       age,
				       ack_word(tk),
				       *fl ? fl : "-"};
		if (hz_ctl_table_add(&t, cells)) {
			hz_ctl_table_free(&t);
			free(rows);
			return hz_ctl_fail(HZ_ENOMEM, "out of memory");
		}
		hz_ctl_table_colour(&t, COL_LEVEL, hz_ctl_level_sgr(tk->level, c256));
		if (!tk->acked_us && is_open(tk->state))
			hz_ctl_table_colour(&t, COL_ACK, "\033[1m");
		if (rows[i].overdue)
			hz_ctl_table_colour(&t, COL_FLAGS, "\033[1;31m");
	}
	hz_ctl_table_print(&t, stdout, colour);
	hz_ctl_table_free(&t);
	printf("(%zu ticket%s%s)\n", n, n == 1 ? "" : "s", more ? "; more match, raise --limit" : "");
	free(rows);
	return HZ_CTL_EXIT_OK;
}

/* ---- show ---- */

static void field(const char *name, const char *value, const char *extra)
{
	printf("  %-12s %s", name, value && *value ? value : "-");
	if (extra && *extra)
		printf(" (%s)", extra);
	putchar('\n');
}

/* "张三 13800000001, 李四" from the called JSON. */
static void called_text(json_t *called, char *buf, size_t len)
{
	size_t i, o = 0;
	json_t *p;
	buf[0] = '\0';
	json_array_foreach(called, i, p) {
		const char *name = json_string_value(json_object_get(p, "name"));
		const char *phone = json_string_value(json_object_get(p, "phone"));
		if (o < len)
			o += (size_t)snprintf(buf + o, len - o, "%s%s%s%s", i ? ", " : "",
					      name ? name : "?", phone && *phone ? " " : "",
					      phone ? phone : "");
	}
	if (!o)
		snprintf(buf, len, "nobody on duty");
}

int hz_ctl_tickets_show(int argc, char **argv, const char *dsn)
{
	static const struct option lo[] = {{"json", no_argument, NULL, O_JSON},
					   {"help", no_argument, NULL, 'h'},
					   {0}};
	static const char cmd[] = "tickets show";
	bool json = false;
	int c;
	while ((c = getopt_long(argc, argv, "h", lo, NULL)) != -1) {
		if (c == 'h')
			return help();
		if (c != O_JSON)
			return hz_ctl_usage(cmd, "bad option");
		json = true;
	}
	if (argc - optind != 1)
		return hz_ctl_usage(cmd, "expected one ticket id");
	long id;
	if (!hz_ctl_parse_long(argv[optind], 1, &id))
		return hz_ctl_usage(cmd, "invalid ticket id \"%s\"", argv[optind]);
	PGconn *pg = hz_ctl_connect(dsn, 30000);
	if (!pg)
		return HZ_CTL_EXIT_DB;
	struct hz_ticket_row *row = NULL;
	struct hz_history_row *hist = NULL;
	struct hz_store_escalation_row *esc = NULL;
	size_t nh = 0, ne = 0;
	int64_t ev_total = 0, ev_silenced = 0, ev_held = 0;
	char err[1024];
	int rc = hz_store_ticket_get(pg, id, &row, err, sizeof(err));
	if (rc == 0)
		rc = hz_store_ticket_history(pg, id, &hist, &nh, err, sizeof(err));
	if (rc == 0)
		rc = hz_store_ticket_escalations(pg, id, &esc, &ne, err, sizeof(err));
	if (rc == 0)
		rc = hz_store_ticket_event_counts(pg, id, &ev_total, &ev_silenced, &ev_held, err,
						  sizeof(err));
	PQfinish(pg);
	if (rc) {
		free(row);
		free(hist);
		free(esc);
		return hz_ctl_fail(rc, err);
	}
	int64_t now_us = hz_now_us();
	if (json) {
		json_t *j = json_object(), *ha = json_array(), *ea = json_array();
		json_object_set_new(j, "ticket", ticket_json(row, now_us));
		for (size_t i = 0; i < nh; i++) {
			const struct hz_history_row *h = &hist[i];
			json_t *o = json_object();
			json_object_set_new(o, "seq", json_integer(h->seq));
			json_object_set_new(o, "at", hz_ctl_json_time(h->at_us));
			json_object_set_new(o, "from_state",
					    h->from_state ? json_string(hz_state_name(h->from_state))
							  : json_null());
			json_object_set_new(o, "to_state", json_string(hz_state_name(h->to_state)));
			json_object_set_new(o, "level",
					    h->level ? json_string(hz_level_name(h->level)) : json_null());
			json_object_set_new(o, "tier",
					    h->tier ? json_string(hz_tier_name(h->tier)) : json_null());
			json_object_set_new(o, "actor", json_string(h->actor));
			json_object_set_new(o, "reason", hz_ctl_json_opt(h->reason));
			json_object_set_new(o, "event_id", hz_ctl_json_opt(h->event_id));
			if (*h->action) {
				json_object_set_new(o, "action", json_string(h->action));
				json_object_set_new(o, "acted_at", hz_ctl_json_time(h->acted_us));
				json_object_set_new(o, "note", hz_ctl_json_opt(h->note));
				json_t *ev = json_loads(h->evidence_json, 0, NULL);
				json_object_set_new(o, "evidence_urls", ev ? ev : json_array());
			}
			json_array_append_new(ha, o);
		}
		for (size_t i = 0; i < ne; i++) {
			const struct hz_store_escalation_row *e = &esc[i];
			json_t *o = json_object();
			json_object_set_new(o, "at", hz_ctl_json_time(e->at_us));
			json_object_set_new(o, "from_tier", hz_ctl_json_opt(e->from_tier));
			json_object_set_new(o, "tier", json_string(e->tier));
			json_object_set_new(o, "repeat", json_integer(e->repeat));
			json_object_set_new(o, "level", json_string(e->level));
			json_object_set_new(o, "org_unit", hz_ctl_json_opt(e->org_code));
			json_object_set_new(o, "org_name", hz_ctl_json_opt(e->org_name));
			json_object_set_new(o, "due_at", hz_ctl_json_time(e->due_us));
			json_object_set_new(o, "reason", json_string(e->reason));
			json_object_set_new(o, "outcome", json_string(e->outcome));
			json_t *called = json_loads(e->called_json, 0, NULL);
			json_object_set_new(o, "called", called ? called : json_array());
			json_array_append_new(ea, o);
		}
		json_object_set_new(j, "history", ha);
		json_object_set_new(j, "escalations", ea);
		json_object_set_new(j, "events", json_pack("{sIsIsI}", "total", (json_int_t)ev_total,
							   "silenced", (json_int_t)ev_silenced,
							   "held", (json_int_t)ev_held));
		free(row);
		free(hist);
		free(esc);
		return hz_ctl_json_print(j);
	}
	const struct hz_ticket *tk = &row->tk;
	char buf[64], ev[200], age[24];
	printf("ticket %lld: %s %s, level %s, tier %s%s\n", (long long)tk->ticket_id,
	       hz_kind_name(tk->kind), hz_state_name(tk->state), hz_level_name(tk->level),
	       hz_tier_name(tk->tier),
	       tk->mode == HZ_MODE_ACTUAL     ? ""
	       : tk->mode == HZ_MODE_EXERCISE ? " [DRILL: exercise]"
					      : " [TEST]");
	field("site", tk->site_id, row->site_name);
	field("town", tk->town_code, row->town_name);
	field("county", tk->county_code, NULL);
	field("hazard type", tk->hazard_type, NULL);
	field("device", tk->device_id, NULL);
	field("episode", row->episode_key, NULL);
	hz_ctl_fmt_age(now_us - tk->opened_us, age, sizeof(age));
	snprintf(ev, sizeof(ev), "%s ago", age);
	field("opened", hz_ctl_fmt_time(tk->opened_us, buf, sizeof(buf)), ev);
	field("updated", tk->updated_us ? hz_ctl_fmt_time(tk->updated_us, buf, sizeof(buf)) : NULL, NULL);
	field("acked", tk->acked_us ? hz_ctl_fmt_time(tk->acked_us, buf, sizeof(buf)) : NULL,
	      *tk->acked_by ? tk->acked_by : tk->acked_us || !is_open(tk->state) ? NULL
										 : "nobody has answered");
	field("ack due", tk->ack_due_us ? hz_ctl_fmt_time(tk->ack_due_us, buf, sizeof(buf)) : NULL, NULL);
	field("deadline", tk->deadline_us ? hz_ctl_fmt_time(tk->deadline_us, buf, sizeof(buf)) : NULL,
	      row->overdue ? "OVERDUE" : NULL);
	field("assignee", tk->assignee,
	      tk->assigned_us ? hz_ctl_fmt_time(tk->assigned_us, ev, sizeof(ev)) : NULL);
	if (tk->rectify_mode) {
		char due[64] = "-";
		if (tk->rectify_due_us)
			hz_ctl_fmt_time(tk->rectify_due_us, due, sizeof(due));
		if (tk->rectify_mode == HZ_RECTIFY_ON_SPOT)
			snprintf(ev, sizeof(ev), "on the spot");
		else
			snprintf(ev, sizeof(ev), "by deadline %s", due);
		field("rectified", *tk->rectified_by ? tk->rectified_by : "-", ev);
	}
	field("verified by", tk->verified_by, NULL);
	field("closed", tk->closed_us ? hz_ctl_fmt_time(tk->closed_us, buf, sizeof(buf)) : NULL,
	      *tk->closed_by ? tk->closed_by : NULL);
	if (tk->reopened_count) {
		snprintf(buf, sizeof(buf), "%d times", tk->reopened_count);
		field("reopened", buf, NULL);
	}
	snprintf(buf, sizeof(buf), "%lld", (long long)tk->event_count);
	int o = snprintf(ev, sizeof(ev), "first %s, last %s",
			 *row->first_event_id ? row->first_event_id : "-",
			 *row->last_event_id ? row->last_event_id : "-");
	if (ev_silenced || ev_held)
		snprintf(ev + o, sizeof(ev) - (size_t)o, "; %lld of %lld silenced, %lld held",
			 (long long)ev_silenced, (long long)ev_total, (long long)ev_held);
	field("events", buf, ev);

	printf("\nhistory:\n");
	static const char *const hhead[] = {"SEQ",   "AT",     "CHANGE",   "LEVEL",   "TIER",
					    "ACTOR", "REASON", "EVENT_ID", "EVIDENCE"};
	struct hz_ctl_table t;
	hz_ctl_table_init(&t, hhead, HZ_ARRAY_LEN(hhead));
	for (size_t i = 0; i < nh && rc == 0; i++) {
		const struct hz_history_row *h = &hist[i];
		char seq[16], at[HZ_TIME_BUFLEN], change[48];
		snprintf(seq, sizeof(seq), "%d", h->seq);
		snprintf(change, sizeof(change), "%s -> %s",
			 h->from_state ? hz_state_name(h->from_state) : "(new)",
			 hz_state_name(h->to_state));
		/* a command's note and photos, so the 核销 record reads in full */
		char evid[512] = "";
		size_t at_ev = 0;
		if (*h->note)
			at_ev += (size_t)snprintf(evid, sizeof(evid), "note: %s", h->note);
		json_t *urls = json_loads(h->evidence_json, 0, NULL);
		size_t k;
		json_t *u;
		json_array_foreach(urls, k, u)
		{
			if (at_ev < sizeof(evid) && json_is_string(u))
				at_ev += (size_t)snprintf(evid + at_ev, sizeof(evid) - at_ev, "%s%s",
							  at_ev ? " " : "", json_string_value(u));
		}
		json_decref(urls);
		const char *cells[] = {seq,
				       hz_ctl_fmt_time(h->at_us, at, sizeof(at)),
				       change,
				       h->level ? hz_level_name(h->level) : "-",
				       h->tier ? hz_tier_name(h->tier) : "-",
				       h->actor,
				       *h->reason ? h->reason : "-",
				       *h->event_id ? h->event_id : "-",
				       *evid ? evid : "-"};
		rc = hz_ctl_table_add(&t, cells);
	}
	hz_ctl_table_print(&t, stdout, false);
	hz_ctl_table_free(&t);

	printf("\nescalations:%s\n", ne ? "" : " none");
	if (ne) {
		static const char *const ehead[] = {"AT",  "STEP",    "LEVEL",  "ORG_UNIT",
						    "DUE", "OUTCOME", "CALLED", "REASON"};
		hz_ctl_table_init(&t, ehead, HZ_ARRAY_LEN(ehead));
		for (size_t i = 0; i < ne && rc == 0; i++) {
			const struct hz_store_escalation_row *e = &esc[i];
			char at[HZ_TIME_BUFLEN], due[HZ_TIME_BUFLEN], step[48], org[96], who[512];
			if (e->repeat)
				snprintf(step, sizeof(step), "%s repeat %d", e->tier, e->repeat);
			else
				snprintf(step, sizeof(step), "%s -> %s",
					 *e->from_tier ? e->from_tier : "-", e->tier);
			snprintf(org, sizeof(org), "%s%s%s%s", *e->org_code ? e->org_code : "-",
				 *e->org_name ? " (" : "", e->org_name, *e->org_name ? ")" : "");
			json_t *called = json_loads(e->called_json, 0, NULL);
			called_text(called, who, sizeof(who));
			json_decref(called);
			const char *cells[] = {hz_ctl_fmt_time(e->at_us, at, sizeof(at)),
					       step,
					       e->level,
					       org,
					       e->due_us ? hz_ctl_fmt_time(e->due_us, due, sizeof(due)) : "-",
					       e->outcome,
					       who,
					       e->reason};
			rc = hz_ctl_table_add(&t, cells);
		}
		hz_ctl_table_print(&t, stdout, false);
		hz_ctl_table_free(&t);
	}
	free(row);
	free(hist);
	free(esc);
	return rc ? hz_ctl_fail(rc, "out of memory") : HZ_CTL_EXIT_OK;
}
