/*
 * cmd_stats.c - `hazardctl stats`: open tickets by town and state, times to
 * acknowledge and to close, and the call-and-respond record per org unit
 * and per person on duty. Figures come from store/stats.c in one snapshot.
 */
#include "ctl/ctl.h"
#include "ctl/text.h"
#include "store/coverage.h"
#include "store/stats.h"
#include "core/config.h"

#include <getopt.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char hz_ctl_stats_synopsis[] =
	"stats [--since WHEN] [--town CODE] [--county CODE] [-c HAZARDD_CONF] [--json]";
const char hz_ctl_stats_help[] =
	"Figures for the duty officer, drills (mode exercise/test) left out:\n"
	"  open tickets     now, by town and state, with how many nobody acknowledged\n"
	"                   and how many are past their close-out deadline\n"
	"  times            median and 90th percentile time to acknowledge and to close\n"
	"                   (closed, not dismissed), over tickets opened since WHEN\n"
	"  call-and-respond per org unit and tier, the escalation notices since WHEN:\n"
	"                   answered (acknowledged before the next step fired), missed\n"
	"                   (the next step fired, or the deadline passed, first),\n"
	"                   waiting (deadline ahead); rate = answered/(answered+missed)\n"
	"  duty failures    who was on the duty roster for a missed notice: person,\n"
	"                   unit, tier, how many missed, the last one, the tickets\n"
	"  rescue coverage  registered sites outside every rescue circle (救援圈), with the\n"
	"                   unit that would reach them first (as `hazardctl rescue-coverage`;\n"
	"                   dispatch.* settings from -c HAZARDD_CONF, else the defaults)\n"
	"The first call of a ticket (at opening) has no notice row and is not counted.\n"
	"  --since WHEN     RFC 3339, or a duration ago (default 30d)\n"
	"  --town CODE, --county CODE   only tickets there\n"
	"  -c FILE          hazardd's config, for the dispatch.* settings\n"
	"  --json           one JSON object with open, times, calls, failures, coverage\n"
	"Exit status: 0 ok, 2 usage, 3 database unavailable.\n";

static json_t *jnum(double v) { return v < 0 ? json_null() : json_real(v); }

static json_t *stats_json(const struct hz_store_stats *st)
{
	char buf[HZ_TIME_BUFLEN];
	json_t *j = json_object(), *a;
	json_object_set_new(j, "since", json_string(hz_time_format(st->since_us, buf)));
	json_object_set_new(j, "at", json_string(hz_time_format(st->now_us, buf)));
	a = json_array();
	for (size_t i = 0; i < st->n_open; i++) {
		const struct hz_store_open_row *o = &st->open[i];
		json_array_append_new(
			a, json_pack("{s:s,s:s,s:I,s:I,s:I,s:I,s:I,s:I,s:I}", "town_code",
				     o->town_code, "town_name", o->town_name, "discovered",
				     (json_int_t)o->discovered, "confirmed", (json_int_t)o->confirmed,
				     "controlled", (json_int_t)o->controlled, "rectifying",
				     (json_int_t)o->rectifying, "total", (json_int_t)o->total,
				     "unacked", (json_int_t)o->unacked, "overdue",
				     (json_int_t)o->overdue));
	}
	json_object_set_new(j, "open", a);
	a = json_array();
	for (size_t i = 0; i < st->n_times; i++) {
		const struct hz_store_times_row *t = &st->times[i];
		json_array_append_new(
			a, json_pack("{s:s,s:I,s:I,s:I,s:I,s:o,s:o,s:o,s:o}", "kind", t->kind,
				     "opened", (json_int_t)t->opened, "acked", (json_int_t)t->acked,
				     "closed", (json_int_t)t->closed, "dismissed",
				     (json_int_t)t->dismissed, "ack_median_s", jnum(t->ack_median_s),
				     "ack_p90_s", jnum(t->ack_p90_s), "close_median_s",
				     jnum(t->close_median_s), "close_p90_s", jnum(t->close_p90_s)));
	}
	json_object_set_new(j, "times", a);
	a = json_array();
	for (size_t i = 0; i < st->n_calls; i++) {
		const struct hz_store_call_row *c = &st->calls[i];
		json_array_append_new(
			a, json_pack("{s:s,s:s,s:s,s:I,s:I,s:I,s:I,s:o}", "org_unit", c->org_code,
				     "org_name", c->org_name, "tier", c->tier, "notices",
				     (json_int_t)c->notices, "answered", (json_int_t)c->answered,
				     "missed", (json_int_t)c->missed, "waiting",
				     (json_int_t)c->waiting, "rate", jnum(c->rate)));
	}
	json_object_set_new(j, "calls", a);
	a = json_array();
	for (size_t i = 0; i < st->n_failures; i++) {
		const struct hz_store_failure_row *f = &st->failures[i];
		json_t *ids = json_array();
		char list[256];
		snprintf(list, sizeof(list), "%s", f->tickets);
		char *save = NULL;
		for (char *p = strtok_r(list, ",", &save); p; p = strtok_r(NULL, ",", &save))
			json_array_append_new(ids, json_integer(strtoll(p, NULL, 10)));
		json_array_append_new(
			a, json_pack("{s:s,s:s,s:s,s:s,s:s,s:I,s:o,s:o}", "person_id", f->person_id,
				     "name", f->name, "phone", f->phone, "org_unit", f->org_code,
				     "tier", f->tier, "missed", (json_int_t)f->missed, "last_missed_at",
				     json_string(hz_time_format(f->last_us, buf)), "tickets", ids));
	}
	json_object_set_new(j, "failures", a);
	return j;
}

static json_t *coverage_json(const struct hz_coverage *cov)
{
	const struct hz_coverage_stats *s = &cov->st;
	json_t *sites = json_array();
	for (size_t i = 0; i < cov->n_outside; i++) {
		const struct hz_coverage_site *o = &cov->outside[i];
		json_array_append_new(
			sites, json_pack("{s:s,s:s,s:s,s:s,s:s,s:s,s:I,s:f,s:f}", "site_id", o->site_id,
					 "name", o->name, "town_code", o->town_code, "area", o->area,
					 "nearest_unit", o->nearest.unit_id, "nearest_kind",
					 o->nearest.kind, "distance_m", (json_int_t)o->nearest.distance_m,
					 "minutes", o->nearest.minutes, "circle_minutes",
					 o->nearest.circle_minutes));
	}
	return json_pack("{s:I,s:I,s:I,s:I,s:I,s:I,s:o}", "sites", (json_int_t)s->sites, "located",
			 (json_int_t)s->located, "inside", (json_int_t)s->inside, "outside",
			 (json_int_t)s->outside, "unlocated", (json_int_t)s->unlocated, "units",
			 (json_int_t)s->units, "outside_sites", sites);
}

static void num(char *buf, size_t len, int64_t v) { snprintf(buf, len, "%lld", (long long)v); }

/* Sites outside every rescue circle: flagged for the station to act on. */
static void print_coverage(const struct hz_coverage *cov)
{
	const struct hz_coverage_stats *s = &cov->st;
	printf("\nrescue coverage: %zu of %zu located sites outside every rescue circle "
	       "(%zu sites without coordinates, %zu rescue units)%s\n",
	       s->outside, s->located, s->unlocated, s->units, cov->n_outside ? ":" : "");
	if (!cov->n_outside)
		return;
	static const char *const head[] = {"SITE", "NAME", "TOWN", "AREA", "NEAREST", "MINUTES",
					   "LIMIT"};
	struct hz_ctl_table t;
	hz_ctl_table_init(&t, head, HZ_ARRAY_LEN(head));
	for (size_t i = 0; i < cov->n_outside; i++) {
		const struct hz_coverage_site *o = &cov->outside[i];
		char m[24], l[24];
		snprintf(m, sizeof(m), "%.1f", o->nearest.minutes);
		snprintf(l, sizeof(l), "%.0f", o->nearest.circle_minutes);
		const char *cells[] = {o->site_id, o->name, o->town_code, o->area,
				       *o->nearest.unit_id ? o->nearest.unit_id : "none", m, l};
		hz_ctl_table_add(&t, cells);
	}
	hz_ctl_table_print(&t, stdout, false);
	hz_ctl_table_free(&t);
}

static void print_text(const struct hz_store_stats *st)
{
	char since[HZ_TIME_BUFLEN], at[HZ_TIME_BUFLEN];
	struct hz_ctl_table t;
	printf("hazard figures at %s (drills left out)\n", hz_time_format(st->now_us, at));

	printf("\nopen tickets by town:%s\n", st->n_open ? "" : " none");
	if (st->n_open) {
		static const char *const head[] = {"TOWN",       "NAME",       "DISCOVERED",
						   "CONFIRMED",  "CONTROLLED", "RECTIFYING",
						   "OPEN",       "UNACKED",    "OVERDUE"};
		int64_t sum[7] = {0};
		hz_ctl_table_init(&t, head, HZ_ARRAY_LEN(head));
		for (size_t i = 0; i < st->n_open; i++) {
			const struct hz_store_open_row *o = &st->open[i];
			int64_t v[7] = {o->discovered, o->confirmed, o->controlled, o->rectifying,
					o->total,      o->unacked,   o->overdue};
			char c[7][24];
			for (int k = 0; k < 7; k++) {
				num(c[k], sizeof(c[k]), v[k]);
				sum[k] += v[k];
			}
			const char *cells[] = {*o->town_code ? o->town_code : "-",
					       *o->town_name ? o->town_name : "-",
					       c[0], c[1], c[2], c[3], c[4], c[5], c[6]};
			hz_ctl_table_add(&t, cells);
		}
		char c[7][24];
		for (int k = 0; k < 7; k++)
			num(c[k], sizeof(c[k]), sum[k]);
		const char *cells[] = {"all", "", c[0], c[1], c[2], c[3], c[4], c[5], c[6]};
		hz_ctl_table_add(&t, cells);
		hz_ctl_table_print(&t, stdout, false);
		hz_ctl_table_free(&t);
	}

	printf("\ntimes, tickets opened since %s:\n", hz_time_format(st->since_us, since));
	static const char *const thead[] = {"KIND",       "OPENED",  "ACKED",     "ACK_MEDIAN",
					    "ACK_P90",    "CLOSED",  "DISMISSED", "CLOSE_MEDIAN",
					    "CLOSE_P90"};
	hz_ctl_table_init(&t, thead, HZ_ARRAY_LEN(thead));
	for (size_t i = 0; i < st->n_times; i++) {
		const struct hz_store_times_row *r = &st->times[i];
		char o[24], a[24], c[24], d[24], am[24], ap[24], cm[24], cp[24];
		num(o, sizeof(o), r->opened);
		num(a, sizeof(a), r->acked);
		num(c, sizeof(c), r->closed);
		num(d, sizeof(d), r->dismissed);
		hz_ctl_fmt_duration(r->ack_median_s, am, sizeof(am));
		hz_ctl_fmt_duration(r->ack_p90_s, ap, sizeof(ap));
		hz_ctl_fmt_duration(r->close_median_s, cm, sizeof(cm));
		hz_ctl_fmt_duration(r->close_p90_s, cp, sizeof(cp));
		const char *cells[] = {r->kind, o, a, am, ap, c, d, cm, cp};
		hz_ctl_table_add(&t, cells);
	}
	hz_ctl_table_print(&t, stdout, false);
	hz_ctl_table_free(&t);

	printf("\ncall-and-respond since %s:%s\n", since, st->n_calls ? "" : " no notices");
	if (st->n_calls) {
		static const char *const chead[] = {"ORG_UNIT", "NAME",   "TIER",    "NOTICES",
						    "ANSWERED", "MISSED", "WAITING", "RATE"};
		hz_ctl_table_init(&t, chead, HZ_ARRAY_LEN(chead));
		for (size_t i = 0; i < st->n_calls; i++) {
			const struct hz_store_call_row *r = &st->calls[i];
			char n[24], a[24], m[24], w[24], rate[16];
			num(n, sizeof(n), r->notices);
			num(a, sizeof(a), r->answered);
			num(m, sizeof(m), r->missed);
			num(w, sizeof(w), r->waiting);
			if (r->rate < 0)
				snprintf(rate, sizeof(rate), "-");
			else
				snprintf(rate, sizeof(rate), "%.0f%%", r->rate * 100.0);
			const char *cells[] = {*r->org_code ? r->org_code : "-",
					       *r->org_name ? r->org_name : "-",
					       r->tier, n, a, m, w, rate};
			hz_ctl_table_add(&t, cells);
		}
		hz_ctl_table_print(&t, stdout, false);
		hz_ctl_table_free(&t);
	}

	printf("\nduty failures (called, did not answer) since %s:%s\n", since,
	       st->n_failures ? "" : " none");
	if (st->n_failures) {
		static const char *const fhead[] = {"PERSON", "NAME",        "PHONE",  "ORG_UNIT",
						    "TIER",   "MISSED",      "LAST",   "TICKETS"};
		hz_ctl_table_init(&t, fhead, HZ_ARRAY_LEN(fhead));
		for (size_t i = 0; i < st->n_failures; i++) {
			const struct hz_store_failure_row *r = &st->failures[i];
			char m[24], last[HZ_TIME_BUFLEN];
			num(m, sizeof(m), r->missed);
			const char *cells[] = {r->person_id, r->name,
					       *r->phone ? r->phone : "-",
					       r->org_code,  r->tier,
					       m,            hz_time_format(r->last_us, last),
					       r->tickets};
			hz_ctl_table_add(&t, cells);
		}
		hz_ctl_table_print(&t, stdout, false);
		hz_ctl_table_free(&t);
	}
}

int hz_ctl_stats(int argc, char **argv, const char *dsn)
{
	enum { O_SINCE = 256, O_TOWN, O_COUNTY, O_JSON };
	static const struct option lo[] = {{"config", required_argument, NULL, 'c'},
					   {"since", required_argument, NULL, O_SINCE},
					   {"town", required_argument, NULL, O_TOWN},
					   {"county", required_argument, NULL, O_COUNTY},
					   {"json", no_argument, NULL, O_JSON},
					   {"help", no_argument, NULL, 'h'},
					   {0}};
	static const char cmd[] = "stats";
	const char *town = NULL, *county = NULL, *conf = NULL;
	int64_t since_us = hz_now_us() - INT64_C(30) * 86400 * HZ_US_PER_SEC;
	bool json = false;
	int c;
	while ((c = getopt_long(argc, argv, "hc:", lo, NULL)) != -1) {
		switch (c) {
		case 'c': conf = optarg; break;
		case 'h': return hz_ctl_help(hz_ctl_stats_synopsis, hz_ctl_stats_help);
		case O_SINCE:
			if (hz_ctl_parse_since(optarg, hz_now_us(), &since_us))
				return hz_ctl_usage(cmd,
						    "--since wants an RFC 3339 time or a duration "
						    "like 30d, got \"%s\"",
						    optarg);
			break;
		case O_TOWN: town = optarg; break;
		case O_COUNTY: county = optarg; break;
		case O_JSON: json = true; break;
		default: return hz_ctl_usage(cmd, "bad option");
		}
	}
	if (optind != argc)
		return hz_ctl_usage(cmd, "unexpected argument \"%s\"", argv[optind]);
	struct hz_config cfg;
	struct hz_dispatch_params dp;
	char err[1024];
	int rc = hz_ctl_dispatch_params(conf, &cfg, &dp, err, sizeof(err));
	if (rc)
		return hz_ctl_fail(HZ_ERR, err);
	PGconn *pg = hz_ctl_connect(dsn, 60000);
	if (!pg) {
		hz_config_free(&cfg);
		return HZ_CTL_EXIT_DB;
	}
	struct hz_store_stats st;
	struct hz_coverage cov = {0};
	rc = hz_store_stats_read(pg, since_us, town, county, &st, err, sizeof(err));
	if (!rc && (rc = hz_store_rescue_coverage(pg, &dp, SIZE_MAX, &cov, err, sizeof(err))))
		hz_store_stats_free(&st);
	PQfinish(pg);
	hz_config_free(&cfg);
	if (rc)
		return hz_ctl_fail(rc, err);
	if (json) {
		json_t *j = stats_json(&st);
		json_object_set_new(j, "coverage", coverage_json(&cov));
		hz_coverage_free(&cov);
		hz_store_stats_free(&st);
		return hz_ctl_json_print(j);
	}
	print_text(&st);
	print_coverage(&cov);
	hz_coverage_free(&cov);
	hz_store_stats_free(&st);
	return HZ_CTL_EXIT_OK;
}
