/*
 * cmd_admin.c - hazardctl's inspection commands: `dead-letters` (input that
 * could not be processed, with a payload preview), `registry` (the snapshot
 * the daemon would load, its counts and memory), `rescue-coverage` (sites
 * outside every rescue circle) and `verify` without a ticket id (the
 * history's hash chain, recomputed here).
 *
 * Read-only: nothing here changes the database. The queries and the
 * checks are store/ and registry/'s; this file parses and prints.
 */
#include "ctl/ctl.h"
#include "ctl/text.h"
#include "core/config.h"
#include "core/hz.h"
#include "registry/registry.h"
#include "store/coverage.h"
#include "store/tickets_read.h"
#include "store/verify.h"

#include <getopt.h>
#include <jansson.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char hz_ctl_dead_letters_synopsis[] = "dead-letters [--limit N] [--json]";
const char hz_ctl_dead_letters_help[] =
	"The newest dead letters: input that could not be processed, with its source,\n"
	"reason and a payload preview (--json: the payload in base64, up to 64 KiB).\n"
	"  --limit N   at most N (default 50)\n";
const char hz_ctl_registry_synopsis[] = "registry [--json]";
const char hz_ctl_registry_help[] =
	"Load the registry snapshot exactly as hazardd does and print its version, counts,\n"
	"memory and load time. Fails on the inconsistencies the daemon would refuse.\n";
const char hz_ctl_rescue_coverage_synopsis[] = "rescue-coverage [-c HAZARDD_CONF] [--json]";
const char hz_ctl_rescue_coverage_help[] =
	"Registered sites outside every rescue circle (救援圈), each with the rescue unit\n"
	"that would reach it first, its distance, estimated minutes and the limit missed.\n"
	"Circles: in towns a micro fire station within dispatch.micro_circle (3 min) or a\n"
	"full-time brigade / fire rescue station within dispatch.brigade_circle (5 min);\n"
	"in the countryside any unit within dispatch.country_circle (15 min). Minutes are\n"
	"the great-circle distance x dispatch.road_factor at dispatch.speed_town_kmh or\n"
	"dispatch.speed_country_kmh. The settings come from hazardd's config file (-c),\n"
	"else the defaults and HAZARDD_DISPATCH_* variables. Loads the registry as the\n"
	"daemon does. --json: counts, settings and outside_sites[].\n";

/* ---- dead letters ---- */

static char *base64(const unsigned char *p, size_t n)
{
	static const char tab[] =
		"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	char *out = malloc((n + 2) / 3 * 4 + 1), *o = out;
	if (!out)
		return NULL;
	for (size_t i = 0; i < n; i += 3) {
		uint32_t v = (uint32_t)p[i] << 16;
		if (i + 1 < n)
			v |= (uint32_t)p[i + 1] << 8;
		if (i + 2 < n)
			v |= p[i + 2];
		*o++ = tab[(v >> 18) & 63];
		*o++ = tab[(v >> 12) & 63];
		*o++ = i + 1 < n ? tab[(v >> 6) & 63] : '=';
		*o++ = i + 2 < n ? tab[v & 63] : '=';
	}
	*o = '\0';
	return out;
}

/* A one-line preview: printable UTF-8 as text, anything else as hex. */
static void preview(const unsigned char *p, size_t n, char *out, size_t outlen)
{
	size_t show = HZ_MIN(n, (size_t)48);
	while (show < n && show > 0 && (p[show] & 0xC0) == 0x80)
		show--; /* end on a character boundary */
	bool text = hz_utf8_valid((const char *)p, show);
	for (size_t i = 0; text && i < show; i++)
		if (p[i] < 0x20 && p[i] != '\t' && p[i] != '\n' && p[i] != '\r')
			text = false;
	size_t o = 0;
	if (text) {
		for (size_t i = 0; i < show && o + 2 < outlen; i++)
			out[o++] =
				(p[i] == '\n' || p[i] == '\r' || p[i] == '\t') ? ' ' : (char)p[i];
	} else {
		o += (size_t)snprintf(out, outlen, "0x");
		for (size_t i = 0; i < HZ_MIN(n, (size_t)16) && o + 3 < outlen; i++)
			o += (size_t)snprintf(out + o, outlen - o, "%02x", p[i]);
		show = HZ_MIN(n, (size_t)16);
	}
	out[o] = '\0';
	if (show < n && o + 4 < outlen)
		snprintf(out + o, outlen - o, "...");
}

int hz_ctl_dead_letters(int argc, char **argv, const char *dsn)
{
	static const struct option lo[] = {{"limit", required_argument, NULL, 'n'},
					   {"json", no_argument, NULL, 'j'},
					   {"help", no_argument, NULL, 'h'},
					   {0}};
	long limit = 50;
	bool json = false;
	int c;
	while ((c = getopt_long(argc, argv, "hn:", lo, NULL)) != -1) {
		if (c == 'h')
			return hz_ctl_help(hz_ctl_dead_letters_synopsis, hz_ctl_dead_letters_help);
		if (c == 'j')
			json = true;
		else if (c == 'n' && hz_ctl_parse_long(optarg, 1, &limit))
			continue;
		else if (c == 'n')
			return hz_ctl_usage("dead-letters",
					    "--limit wants a positive number, got \"%s\"", optarg);
		else
			return hz_ctl_usage("dead-letters", "bad option");
	}
	if (optind != argc)
		return hz_ctl_usage("dead-letters", "unexpected argument \"%s\"", argv[optind]);
	PGconn *pg = hz_ctl_connect(dsn, 30000);
	if (!pg)
		return HZ_CTL_EXIT_DB;
	struct hz_dead_letter_row *rows;
	size_t n;
	bool more;
	char err[1024];
	int rc = hz_store_dead_letters_list(pg, limit, &rows, &n, &more, err, sizeof(err));
	PQfinish(pg);
	if (rc)
		return hz_ctl_fail(rc, err);
	if (json) {
		json_t *arr = json_array();
		for (size_t i = 0; i < n; i++) {
			const struct hz_dead_letter_row *d = &rows[i];
			json_t *o = json_object();
			char *b64 = base64(d->payload, d->payload_len);
			json_object_set_new(o, "id", json_integer(d->id));
			json_object_set_new(o, "received_at", hz_ctl_json_time(d->received_us));
			json_object_set_new(o, "source", json_string(d->source));
			json_object_set_new(o, "topic", json_string(d->topic));
			json_object_set_new(o, "partition",
					    d->partition >= 0 ? json_integer(d->partition)
							      : json_null());
			json_object_set_new(o, "offset",
					    d->offset >= 0 ? json_integer(d->offset) : json_null());
			json_object_set_new(o, "reason", json_string(d->reason));
			json_object_set_new(o, "event_id", hz_ctl_json_opt(d->event_id));
			json_object_set_new(o, "payload_size",
					    json_integer((json_int_t)d->payload_size));
			json_object_set_new(o, "payload_base64",
					    b64 ? json_string(b64) : json_null());
			json_object_set_new(o, "payload_truncated",
					    json_boolean(d->payload_len < d->payload_size));
			free(b64);
			json_array_append_new(arr, o);
		}
		free(rows);
		return hz_ctl_json_print(arr);
	}
	static const char *const head[] = {"ID",     "RECEIVED", "SOURCE", "TOPIC",  "PARTITION",
					   "OFFSET", "BYTES",    "REASON", "PAYLOAD"};
	struct hz_ctl_table t;
	hz_ctl_table_init(&t, head, HZ_ARRAY_LEN(head));
	for (size_t i = 0; i < n; i++) {
		const struct hz_dead_letter_row *d = &rows[i];
		char id[24], at[40], part[16], off[24], size[24], pv[128];
		snprintf(id, sizeof(id), "%lld", (long long)d->id);
		snprintf(part, sizeof(part), d->partition >= 0 ? "%d" : "-", (int)d->partition);
		snprintf(off, sizeof(off), d->offset >= 0 ? "%lld" : "-", (long long)d->offset);
		snprintf(size, sizeof(size), "%zu", d->payload_size);
		preview(d->payload, d->payload_len, pv, sizeof(pv));
		const char *cells[] = {id,
				       hz_ctl_fmt_time(d->received_us, at, sizeof(at)),
				       d->source,
				       d->topic,
				       part,
				       off,
				       size,
				       d->reason,
				       pv};
		if (hz_ctl_table_add(&t, cells)) {
			hz_ctl_table_free(&t);
			free(rows);
			return hz_ctl_fail(HZ_ENOMEM, "out of memory");
		}
	}
	hz_ctl_table_print(&t, stdout, false);
	hz_ctl_table_free(&t);
	printf("(%zu dead letter%s%s)\n", n, n == 1 ? "" : "s",
	       more ? "; more exist, raise --limit" : "");
	free(rows);
	return HZ_CTL_EXIT_OK;
}

/* ---- registry ---- */

int hz_ctl_registry(int argc, char **argv, const char *dsn)
{
	static const struct option lo[] = {
		{"json", no_argument, NULL, 'j'}, {"help", no_argument, NULL, 'h'}, {0}};
	bool json = false;
	int c;
	while ((c = getopt_long(argc, argv, "h", lo, NULL)) != -1) {
		if (c == 'h')
			return hz_ctl_help(hz_ctl_registry_synopsis, hz_ctl_registry_help);
		if (c == 'j')
			json = true;
		else
			return hz_ctl_usage("registry", "bad option");
	}
	if (optind != argc)
		return hz_ctl_usage("registry", "unexpected argument \"%s\"", argv[optind]);
	PGconn *pg = hz_ctl_connect(dsn, 0);
	if (!pg)
		return HZ_CTL_EXIT_DB;
	struct hz_registry *reg;
	char err[1024];
	int64_t t0 = hz_mono_us();
	int rc = hz_registry_load(pg, &reg, err, sizeof(err));
	int64_t took = hz_mono_us() - t0;
	PQfinish(pg);
	if (rc)
		return hz_ctl_fail(rc, err);
	struct hz_registry_stats st;
	hz_registry_stats(reg, &st);
	hz_registry_destroy(reg);
	double per_dev = st.devices ? (double)st.bytes / (double)st.devices : 0;
	if (json) {
		json_t *j = json_pack("{sI sI sI sI sI sI sI sI sf sI}", "version",
				      (json_int_t)st.version, "org_units", (json_int_t)st.orgs,
				      "sites", (json_int_t)st.sites, "devices",
				      (json_int_t)st.devices, "people", (json_int_t)st.people,
				      "duty", (json_int_t)st.duty, "rescue_units",
				      (json_int_t)st.rescue_units, "bytes", (json_int_t)st.bytes,
				      "bytes_per_device", per_dev, "load_us", (json_int_t)took);
		return hz_ctl_json_print(j);
	}
	printf("registry version %lld\n", (long long)st.version);
	printf("  org units  %zu\n  sites      %zu\n  devices    %zu\n  people     %zu\n"
	       "  duty       %zu\n  rescue     %zu units\n",
	       st.orgs, st.sites, st.devices, st.people, st.duty, st.rescue_units);
	printf("  memory     %zu bytes (%.0f per device)\n  loaded in  %.1f ms\n", st.bytes,
	       per_dev, (double)took / 1000.0);
	return HZ_CTL_EXIT_OK;
}

/* ---- rescue coverage ---- */

static json_t *coverage_json(const struct hz_coverage *cov, const struct hz_dispatch_params *p)
{
	json_t *sites = json_array();
	for (size_t i = 0; sites && i < cov->n_outside; i++) {
		const struct hz_coverage_site *o = &cov->outside[i];
		const struct hz_esc_unit *u = &o->nearest;
		json_t *nu = *u->unit_id
				     ? json_pack("{ss ss ss so so sI sf sf}", "unit_id", u->unit_id,
						 "name", u->name, "kind", u->kind, "org_code",
						 hz_ctl_json_opt(u->org_code), "phone",
						 hz_ctl_json_opt(u->phone), "distance_m",
						 (json_int_t)u->distance_m, "minutes", u->minutes,
						 "circle_minutes", u->circle_minutes)
				     : json_null();
		json_array_append_new(
			sites, json_pack("{ss ss ss ss ss ss ss sf sf so}", "site_id", o->site_id,
					 "name", o->name, "kind", o->kind, "town_code", o->town_code,
					 "town_name", o->town_name, "county_code", o->county_code,
					 "area", o->area, "lat", o->lat, "lon", o->lon,
					 "nearest_unit", nu));
	}
	json_t *settings = json_pack(
		"{sf sf sf sf sf sf}", "speed_town_kmh", p->speed_kmh[HZ_AREA_TOWN],
		"speed_country_kmh", p->speed_kmh[HZ_AREA_COUNTRYSIDE], "road_factor",
		p->road_factor, "micro_circle_min", p->circle_min[HZ_AREA_TOWN][HZ_UNIT_MICRO_STATION],
		"brigade_circle_min", p->circle_min[HZ_AREA_TOWN][HZ_UNIT_BRIGADE],
		"country_circle_min", p->circle_min[HZ_AREA_COUNTRYSIDE][HZ_UNIT_BRIGADE]);
	return json_pack("{sI sI sI sI sI sI sI so so}", "registry_version",
			 (json_int_t)cov->registry_version, "sites", (json_int_t)cov->st.sites,
			 "located", (json_int_t)cov->st.located, "inside",
			 (json_int_t)cov->st.inside, "outside", (json_int_t)cov->st.outside,
			 "unlocated", (json_int_t)cov->st.unlocated, "rescue_units",
			 (json_int_t)cov->st.units, "settings", settings, "outside_sites", sites);
}

int hz_ctl_rescue_coverage(int argc, char **argv, const char *dsn)
{
	static const struct option lo[] = {{"config", required_argument, NULL, 'c'},
					   {"json", no_argument, NULL, 'j'},
					   {"help", no_argument, NULL, 'h'},
					   {0}};
	const char *conf = NULL;
	bool json = false;
	int c;
	while ((c = getopt_long(argc, argv, "c:h", lo, NULL)) != -1) {
		if (c == 'h')
			return hz_ctl_help(hz_ctl_rescue_coverage_synopsis,
					   hz_ctl_rescue_coverage_help);
		if (c == 'c')
			conf = optarg;
		else if (c == 'j')
			json = true;
		else
			return hz_ctl_usage("rescue-coverage", "bad option");
	}
	if (optind != argc)
		return hz_ctl_usage("rescue-coverage", "unexpected argument \"%s\"", argv[optind]);
	struct hz_config cfg;
	struct hz_dispatch_params p;
	char err[1024];
	int rc = hz_ctl_dispatch_params(conf, &cfg, &p, err, sizeof(err));
	if (rc)
		return hz_ctl_fail(HZ_ERR, err);
	PGconn *pg = hz_ctl_connect(dsn, 0);
	if (!pg) {
		hz_config_free(&cfg);
		return HZ_CTL_EXIT_DB;
	}
	struct hz_coverage cov;
	rc = hz_store_rescue_coverage(pg, &p, SIZE_MAX, &cov, err, sizeof(err));
	PQfinish(pg);
	if (rc) {
		hz_config_free(&cfg);
		return hz_ctl_fail(rc, err);
	}
	if (json) {
		rc = hz_ctl_json_print(coverage_json(&cov, &p));
	} else {
		printf("registry version %lld: %zu sites, %zu inside a rescue circle, %zu outside "
		       "every circle, %zu without coordinates; %zu rescue units\n",
		       (long long)cov.registry_version, cov.st.sites, cov.st.inside,
		       cov.st.outside, cov.st.unlocated, cov.st.units);
		if (cov.n_outside)
			printf("%-22s %-11s %-11s %-24s %-19s %7s %6s %5s  %s\n", "SITE", "TOWN",
			       "AREA", "NEAREST UNIT", "KIND", "KM", "MIN", "LIMIT", "NAME");
		for (size_t i = 0; i < cov.n_outside; i++) {
			const struct hz_coverage_site *o = &cov.outside[i];
			const struct hz_esc_unit *u = &o->nearest;
			printf("%-22s %-11s %-11s %-24s %-19s %7.2f %6.1f %5g  %s (%s)\n",
			       o->site_id, o->town_code, o->area, *u->unit_id ? u->unit_id : "-",
			       *u->kind ? u->kind : "-", (double)u->distance_m / 1000.0, u->minutes,
			       u->circle_minutes, o->name, *u->name ? u->name : "no rescue unit");
		}
	}
	hz_coverage_free(&cov);
	hz_config_free(&cfg);
	return rc;
}

/* `verify` without a ticket id (hz_ctl_verify decides); the check is store/verify.c. */
int hz_ctl_verify_chain(int argc, char **argv, const char *dsn)
{
	enum { O_TICKET = 256, O_SINCE, O_JSON };
	static const struct option lo[] = {{"ticket", required_argument, NULL, O_TICKET},
					   {"since", required_argument, NULL, O_SINCE},
					   {"json", no_argument, NULL, O_JSON},
					   {"help", no_argument, NULL, 'h'},
					   {0}};
	struct hz_verify_opts o = {0};
	bool json = false;
	long id;
	int c;
	while ((c = getopt_long(argc, argv, "h", lo, NULL)) != -1) {
		switch (c) {
		case 'h': return hz_ctl_help(hz_ctl_verify_synopsis, hz_ctl_verify_help);
		case O_TICKET:
			if (!hz_ctl_parse_long(optarg, 1, &id))
				return hz_ctl_usage("verify", "invalid ticket id \"%s\"", optarg);
			o.ticket_id = id;
			break;
		case O_SINCE:
			if (hz_ctl_parse_since(optarg, hz_now_us(), &o.since_us))
				return hz_ctl_usage("verify",
						    "--since wants an RFC 3339 time or a duration "
						    "like 2h, got \"%s\"",
						    optarg);
			break;
		case O_JSON: json = true; break;
		default: return hz_ctl_usage("verify", "bad option");
		}
	}
	if (optind != argc)
		return hz_ctl_usage("verify", "unexpected argument \"%s\"", argv[optind]);
	PGconn *pg = hz_ctl_connect(dsn, 0); /* a whole history may take a while */
	if (!pg)
		return HZ_CTL_EXIT_DB;
	struct hz_verify_result res;
	char err[1024];
	int rc = hz_store_verify_history(pg, &o, &res, err, sizeof(err));
	PQfinish(pg);
	if (rc) {
		hz_verify_result_free(&res);
		return hz_ctl_fail(rc, err);
	}
	hz_verify_print(stdout, &res, json);
	int broken = res.n_breaks > 0;
	hz_verify_result_free(&res);
	return broken;
}
