/*
 * hazardctl.c - the operators' command line: migrate the schema, import the
 * registry, list and show tickets, list dead letters, inspect the registry
 * snapshot the daemon would load, and drive tickets through the closed
 * loop (ack ... comment: store/command.c, the daemon's own apply path).
 *
 * A thin main: every query lives in store/ or registry/, so the daemon and
 * this tool cannot disagree about the schema. Output is an aligned table
 * for people or JSON (--json) for scripts. Exit status: 0 ok, 1 error,
 * 2 usage. It never prints a password: DSNs go through hz_pg_redact().
 */
#include "core/hz.h"
#include "ctl/ctl.h"
#include "ctl/text.h"
#include "registry/import.h"
#include "registry/registry.h"
#include "store/migrate.h"
#include "store/escalate.h"
#include "store/command.h"
#include "codec/codec.h"
#include "store/context.h"
#include "core/config.h"
#include "store/pg.h"
#include "store/tickets_read.h"
#include "store/coverage.h"
#include "store/verify.h"
#include "rules/rules.h"

#include <getopt.h>
#include <jansson.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/random.h>
#include <unistd.h>

#define EXIT_USAGE 2

static const char *opt_dsn;
static const char *opt_sql_dir;

struct command {
	const char *name;
	int (*run)(int argc, char **argv);
	const char *synopsis;
	const char *help;
};

static const struct command *find_command(const char *name);

static const char main_usage[] =
	"usage: hazardctl [-d DSN] [--sql-dir DIR] COMMAND [ARGS]\n"
	"\n"
	"Operate hazardd's PostgreSQL database.\n"
	"\n"
	"Commands:\n"
	"  migrate                 apply the pending SQL migrations\n"
	"  import DIR              load org_units.csv, sites.csv, devices.csv, people.csv\n"
	"                          and duty.csv from DIR into the registry\n"
	"  tickets list [FILTERS]  list tickets, newest first\n"
	"  tickets show ID         one ticket and its whole timeline\n"
	"  tail                    follow the escalation log, with filters and colour\n"
	"  stats                   open tickets, response times, call-and-respond record\n"
	"  dead-letters            list the newest dead letters\n"
	"  ack ID                  acknowledge a ticket (stops its escalation)\n"
	"  confirm|control|dispatch|rectify|verify|close|dismiss|reopen|comment ID\n"
	"                          drive a ticket through the closed loop (see COMMAND --help)\n"
	"  silence add|list|cancel maintenance windows: events recorded, nobody called\n"
	"  registry                load the registry as hazardd does; print counts and memory\n"
	"  verify                  recompute the ticket history's hash chain, report breaks\n"
	"  help [COMMAND]          this text, or a command's\n"
	"\n"
	"Options:\n"
	"  -d, --dsn DSN           PostgreSQL connection string or URI (default: $HZ_PG_DSN,\n"
	"                          then libpq's PGHOST, PGPORT, PGDATABASE, PGUSER, ...)\n"
	"      --sql-dir DIR       the migrations (default: $HZ_SQL_DIR, the installed\n"
	"                          share/hazardd/sql, or the source tree's sql/)\n"
	"  -h, --help              show help; `hazardctl COMMAND --help` for a command\n"
	"\n"
	"Exit status: 0 ok, 1 not found, nothing matched or refused, 2 usage,\n"
	"3 database unavailable.\n";

static int usage_error(const char *cmd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static int usage_error(const char *cmd, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	fputs("hazardctl: ", stderr);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\nTry 'hazardctl %s%s--help'.\n", cmd ? cmd : "", cmd ? " " : "");
	return EXIT_USAGE;
}

static int fail(const char *msg)
{
	fprintf(stderr, "hazardctl: %s\n", msg);
	return 1;
}

static PGconn *connect_db(int statement_timeout_ms)
{
	char err[1024];
	const char *dsn = opt_dsn ? opt_dsn : getenv("HZ_PG_DSN");
	PGconn *pg = hz_pg_connect_ex(dsn, "hazardctl", statement_timeout_ms, err, sizeof(err));
	if (!pg) {
		fail(err);
		exit(HZ_CTL_EXIT_DB); /* the documented status for "database unavailable" */
	}
	return pg;
}

/* ---- output helpers ---- */

/* Columns a UTF-8 string takes on a terminal: East Asian wide characters
 * count two (names are often Chinese). */
static size_t display_width(const char *s)
{
	size_t w = 0;
	const unsigned char *p = (const unsigned char *)s;
	while (*p) {
		unsigned cp;
		int n;
		if (*p < 0x80) {
			cp = *p;
			n = 1;
		} else if ((*p & 0xE0) == 0xC0) {
			cp = *p & 0x1F;
			n = 2;
		} else if ((*p & 0xF0) == 0xE0) {
			cp = *p & 0x0F;
			n = 3;
		} else {
			cp = *p & 0x07;
			n = 4;
		}
		for (int i = 1; i < n; i++) {
			if ((p[i] & 0xC0) != 0x80) {
				n = i;
				break;
			}
			cp = (cp << 6) | (p[i] & 0x3F);
		}
		p += n;
		bool wide = (cp >= 0x1100 && cp <= 0x115F) || (cp >= 0x2E80 && cp <= 0xA4CF) ||
			    (cp >= 0xAC00 && cp <= 0xD7A3) || (cp >= 0xF900 && cp <= 0xFAFF) ||
			    (cp >= 0xFE30 && cp <= 0xFE4F) || (cp >= 0xFF00 && cp <= 0xFF60) ||
			    (cp >= 0xFFE0 && cp <= 0xFFE6) || (cp >= 0x20000 && cp <= 0x3FFFD);
		w += wide ? 2 : 1;
	}
	return w;
}

/* A table of strings printed with aligned columns. */
struct table {
	size_t ncols, nrows, cap;
	const char *const *head;
	char **cells; /* nrows * ncols, owned */
};

static void table_add(struct table *t, ...)
{
	if (t->nrows == t->cap) {
		t->cap = t->cap ? t->cap * 2 : 32;
		char **c = realloc(t->cells, t->cap * t->ncols * sizeof(*c));
		if (!c) {
			fail("out of memory");
			exit(1);
		}
		t->cells = c;
	}
	va_list ap;
	va_start(ap, t);
	for (size_t i = 0; i < t->ncols; i++) {
		const char *s = va_arg(ap, const char *);
		char *d = strdup(s ? s : "");
		if (!d) {
			fail("out of memory");
			exit(1);
		}
		t->cells[t->nrows * t->ncols + i] = d;
	}
	va_end(ap);
	t->nrows++;
}

static void table_print(struct table *t, FILE *f)
{
	size_t w[32] = {0};
	for (size_t c = 0; c < t->ncols; c++)
		w[c] = display_width(t->head[c]);
	for (size_t r = 0; r < t->nrows; r++)
		for (size_t c = 0; c < t->ncols; c++)
			w[c] = HZ_MAX(w[c], display_width(t->cells[r * t->ncols + c]));
	for (size_t r = 0; r <= t->nrows; r++) {
		for (size_t c = 0; c < t->ncols; c++) {
			const char *s = r == 0 ? t->head[c] : t->cells[(r - 1) * t->ncols + c];
			fputs(s, f);
			if (c + 1 < t->ncols)
				fprintf(f, "%*s", (int)(w[c] - display_width(s) + 2), "");
		}
		fputc('\n', f);
	}
}

static void table_free(struct table *t)
{
	for (size_t i = 0; i < t->nrows * t->ncols; i++)
		free(t->cells[i]);
	free(t->cells);
}

/* Local time to the second with its offset: 2025-10-27T11:15:02+08:00; "-" for 0. */
static const char *fmt_time(int64_t us, char *buf, size_t len)
{
	if (us == 0) {
		snprintf(buf, len, "-");
		return buf;
	}
	time_t t = (time_t)(us / HZ_US_PER_SEC - (us % HZ_US_PER_SEC < 0));
	struct tm tm;
	char off[8];
	if (!localtime_r(&t, &tm)) {
		snprintf(buf, len, "?");
		return buf;
	}
	strftime(off, sizeof(off), "%z", &tm); /* +0800 */
	char date[32];
	strftime(date, sizeof(date), "%Y-%m-%dT%H:%M:%S", &tm);
	if (strcmp(off, "+0000") == 0)
		snprintf(buf, len, "%sZ", date);
	else
		snprintf(buf, len, "%s%.3s:%.2s", date, off, off + 3);
	return buf;
}

static json_t *json_time(int64_t us)
{
	char buf[HZ_TIME_BUFLEN];
	return us ? json_string(hz_time_format(us, buf)) : json_null();
}

static json_t *json_opt(const char *s) { return s && *s ? json_string(s) : json_null(); }

static int json_print(json_t *j)
{
	if (!j)
		return fail("out of memory building JSON");
	int rc = json_dumpf(j, stdout, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
	fputc('\n', stdout);
	json_decref(j);
	return rc ? fail("could not write JSON") : 0;
}

static bool parse_long(const char *s, long min, long *out)
{
	char *end;
	long v = strtol(s, &end, 10);
	if (end == s || *end || v < min)
		return false;
	*out = v;
	return true;
}

/* Per-command getopt: every command accepts -h/--help. Returns -1 at the end,
 * 'h' after printing help (the caller returns 0), '?' on a usage error. */
static int cmd_getopt(int argc, char **argv, const char *cmd, const struct option *longopts,
		      const char *shortopts)
{
	int c = getopt_long(argc, argv, shortopts, longopts, NULL);
	if (c == 'h') {
		const struct command *cm = find_command(cmd);
		printf("usage: hazardctl %s\n\n%s", cm->synopsis, cm->help);
	}
	return c;
}

/* ---- migrate ---- */

static int cmd_migrate(int argc, char **argv)
{
	static const struct option lo[] = {{"help", no_argument, NULL, 'h'}, {0}};
	int c;
	while ((c = cmd_getopt(argc, argv, "migrate", lo, "h")) != -1)
		if (c == 'h' || c == '?')
			return c == 'h' ? 0 : usage_error("migrate", "bad option");
	if (optind != argc)
		return usage_error("migrate", "unexpected argument \"%s\"", argv[optind]);
	char dir[PATH_MAX], err[1024];
	if (opt_sql_dir)
		snprintf(dir, sizeof(dir), "%s", opt_sql_dir);
	else if (hz_migrate_find_dir(dir, sizeof(dir), err, sizeof(err)))
		return fail(err);
	PGconn *pg = connect_db(0);
	if (!pg)
		return 1;
	int applied = 0, version = 0;
	int rc = hz_migrate_apply(pg, dir, &applied, err, sizeof(err));
	if (rc == 0)
		rc = hz_migrate_status(pg, dir, &version, NULL, err, sizeof(err));
	PQfinish(pg);
	if (rc) {
		if (applied)
			fprintf(stderr, "hazardctl: applied %d migration%s before the failure\n",
				applied, applied == 1 ? "" : "s");
		return fail(err);
	}
	if (applied)
		printf("applied %d migration%s from %s; schema at version %d\n", applied,
		       applied == 1 ? "" : "s", dir, version);
	else
		printf("schema is up to date at version %d\n", version);
	return 0;
}

/* ---- import ---- */

static int cmd_import(int argc, char **argv)
{
	static const struct option lo[] = {{"help", no_argument, NULL, 'h'}, {0}};
	int c;
	while ((c = cmd_getopt(argc, argv, "import", lo, "h")) != -1)
		if (c == 'h' || c == '?')
			return c == 'h' ? 0 : usage_error("import", "bad option");
	if (argc - optind != 1)
		return usage_error("import", "expected one directory");
	PGconn *pg = connect_db(0);
	if (!pg)
		return 1;
	struct hz_import_stats st;
	char err[8192];
	int rc = hz_registry_import(pg, argv[optind], &st, err, sizeof(err));
	PQfinish(pg);
	if (rc) {
		if (rc == HZ_EINVAL) {
			fprintf(stderr, "%s\nhazardctl: import refused, nothing changed\n", err);
			return 1;
		}
		return fail(err);
	}
	for (int f = 0; f < HZ_IMP_NFILES; f++) {
		if (st.present[f])
			printf("%-14s %7zu rows, %7zu new or changed\n",
			       hz_import_file_name((enum hz_import_file)f), st.rows[f],
			       st.changed[f]);
		else
			printf("%-14s (absent)\n", hz_import_file_name((enum hz_import_file)f));
	}
	printf("registry version %lld\n", (long long)st.version);
	return 0;
}

/* ---- tickets (list and show live in ctl/cmd_tickets.c) ---- */

static int cmd_tickets(int argc, char **argv)
{
	if (argc < 2 || strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0) {
		const struct command *cm = find_command("tickets");
		if (argc < 2)
			return usage_error("tickets", "expected \"list\" or \"show\"");
		printf("usage: hazardctl %s\n\n%s", cm->synopsis, cm->help);
		return 0;
	}
	if (strcmp(argv[1], "list") == 0)
		return hz_ctl_tickets_list(argc - 1, argv + 1, opt_dsn);
	if (strcmp(argv[1], "show") == 0)
		return hz_ctl_tickets_show(argc - 1, argv + 1, opt_dsn);
	return usage_error("tickets", "unknown tickets command \"%s\" (expected list or show)",
			   argv[1]);
}

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

static int cmd_dead_letters(int argc, char **argv)
{
	static const struct option lo[] = {{"limit", required_argument, NULL, 'n'},
					   {"json", no_argument, NULL, 'j'},
					   {"help", no_argument, NULL, 'h'},
					   {0}};
	long limit = 50;
	bool json = false;
	int c;
	while ((c = cmd_getopt(argc, argv, "dead-letters", lo, "hn:")) != -1) {
		if (c == 'h')
			return 0;
		if (c == 'j')
			json = true;
		else if (c == 'n' && parse_long(optarg, 1, &limit))
			continue;
		else if (c == 'n')
			return usage_error("dead-letters",
					   "--limit wants a positive number, got \"%s\"", optarg);
		else
			return usage_error("dead-letters", "bad option");
	}
	if (optind != argc)
		return usage_error("dead-letters", "unexpected argument \"%s\"", argv[optind]);
	PGconn *pg = connect_db(30000);
	if (!pg)
		return 1;
	struct hz_dead_letter_row *rows;
	size_t n;
	bool more;
	char err[1024];
	int rc = hz_store_dead_letters_list(pg, limit, &rows, &n, &more, err, sizeof(err));
	PQfinish(pg);
	if (rc)
		return fail(err);
	if (json) {
		json_t *arr = json_array();
		for (size_t i = 0; i < n; i++) {
			const struct hz_dead_letter_row *d = &rows[i];
			json_t *o = json_object();
			char *b64 = base64(d->payload, d->payload_len);
			json_object_set_new(o, "id", json_integer(d->id));
			json_object_set_new(o, "received_at", json_time(d->received_us));
			json_object_set_new(o, "source", json_string(d->source));
			json_object_set_new(o, "topic", json_string(d->topic));
			json_object_set_new(o, "partition",
					    d->partition >= 0 ? json_integer(d->partition)
							      : json_null());
			json_object_set_new(o, "offset",
					    d->offset >= 0 ? json_integer(d->offset) : json_null());
			json_object_set_new(o, "reason", json_string(d->reason));
			json_object_set_new(o, "event_id", json_opt(d->event_id));
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
		return json_print(arr);
	}
	static const char *const head[] = {"ID",     "RECEIVED", "SOURCE", "TOPIC",  "PARTITION",
					   "OFFSET", "BYTES",    "REASON", "PAYLOAD"};
	struct table t = {HZ_ARRAY_LEN(head), 0, 0, head, NULL};
	for (size_t i = 0; i < n; i++) {
		const struct hz_dead_letter_row *d = &rows[i];
		char id[24], at[40], part[16], off[24], size[24], pv[128];
		snprintf(id, sizeof(id), "%lld", (long long)d->id);
		snprintf(part, sizeof(part), d->partition >= 0 ? "%d" : "-", (int)d->partition);
		snprintf(off, sizeof(off), d->offset >= 0 ? "%lld" : "-", (long long)d->offset);
		snprintf(size, sizeof(size), "%zu", d->payload_size);
		preview(d->payload, d->payload_len, pv, sizeof(pv));
		table_add(&t, id, fmt_time(d->received_us, at, sizeof(at)), d->source, d->topic,
			  part, off, size, d->reason, pv);
	}
	table_print(&t, stdout);
	table_free(&t);
	printf("(%zu dead letter%s%s)\n", n, n == 1 ? "" : "s",
	       more ? "; more exist, raise --limit" : "");
	free(rows);
	return 0;
}

/* ---- registry ---- */

static int cmd_registry(int argc, char **argv)
{
	static const struct option lo[] = {
		{"json", no_argument, NULL, 'j'}, {"help", no_argument, NULL, 'h'}, {0}};
	bool json = false;
	int c;
	while ((c = cmd_getopt(argc, argv, "registry", lo, "h")) != -1) {
		if (c == 'h')
			return 0;
		if (c == 'j')
			json = true;
		else
			return usage_error("registry", "bad option");
	}
	if (optind != argc)
		return usage_error("registry", "unexpected argument \"%s\"", argv[optind]);
	PGconn *pg = connect_db(0);
	if (!pg)
		return 1;
	struct hz_registry *reg;
	char err[1024];
	int64_t t0 = hz_mono_us();
	int rc = hz_registry_load(pg, &reg, err, sizeof(err));
	int64_t took = hz_mono_us() - t0;
	PQfinish(pg);
	if (rc)
		return fail(err);
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
		return json_print(j);
	}
	printf("registry version %lld\n", (long long)st.version);
	printf("  org units  %zu\n  sites      %zu\n  devices    %zu\n  people     %zu\n"
	       "  duty       %zu\n  rescue     %zu units\n",
	       st.orgs, st.sites, st.devices, st.people, st.duty, st.rescue_units);
	printf("  memory     %zu bytes (%.0f per device)\n  loaded in  %.1f ms\n", st.bytes,
	       per_dev, (double)took / 1000.0);
	return 0;
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
						 json_opt(u->org_code), "phone", json_opt(u->phone),
						 "distance_m", (json_int_t)u->distance_m, "minutes",
						 u->minutes, "circle_minutes", u->circle_minutes)
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

static int cmd_rescue_coverage(int argc, char **argv)
{
	static const struct option lo[] = {{"config", required_argument, NULL, 'c'},
					   {"json", no_argument, NULL, 'j'},
					   {"help", no_argument, NULL, 'h'},
					   {0}};
	const char *conf = NULL;
	bool json = false;
	int c;
	while ((c = cmd_getopt(argc, argv, "rescue-coverage", lo, "c:h")) != -1) {
		if (c == 'h')
			return 0;
		if (c == 'c')
			conf = optarg;
		else if (c == 'j')
			json = true;
		else
			return usage_error("rescue-coverage", "bad option");
	}
	if (optind != argc)
		return usage_error("rescue-coverage", "unexpected argument \"%s\"", argv[optind]);
	struct hz_config cfg;
	struct hz_dispatch_params p;
	char err[1024];
	int rc = hz_ctl_dispatch_params(conf, &cfg, &p, err, sizeof(err));
	if (rc)
		return fail(err);
	PGconn *pg = connect_db(0);
	if (!pg) {
		hz_config_free(&cfg);
		return 1;
	}
	struct hz_coverage cov;
	rc = hz_store_rescue_coverage(pg, &p, SIZE_MAX, &cov, err, sizeof(err));
	PQfinish(pg);
	if (rc) {
		hz_config_free(&cfg);
		return fail(err);
	}
	if (json) {
		rc = json_print(coverage_json(&cov, &p));
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

/* ---- ticket commands: ack, confirm, control, dispatch, rectify, verify,
 * close, dismiss, reopen, comment ---- */



/* ctl-<µs since the epoch in hex>-<64 random bits>: unique without a
 * round trip, and short enough for the 63-byte id limit. */
static void new_command_id(char *buf, size_t len)
{
	unsigned long long r = 0;
	if (getrandom(&r, sizeof(r), 0) != (ssize_t)sizeof(r))
		r = (unsigned long long)hz_mono_us() ^ ((unsigned long long)getpid() << 32);
	snprintf(buf, len, "ctl-%llx-%016llx", (unsigned long long)hz_now_us(), r);
}

static bool fits(const char *s, size_t cap) { return !s || strlen(s) < cap; }

static int cmd_ticket_action(int argc, char **argv)
{
	static const struct option lo[] = {{"actor", required_argument, NULL, 'a'},
					   {"note", required_argument, NULL, 'n'},
					   {"reason", required_argument, NULL, 'r'},
					   {"evidence", required_argument, NULL, 'e'},
					   {"assignee", required_argument, NULL, 'A'},
					   {"on-spot", no_argument, NULL, 'o'},
					   {"due", required_argument, NULL, 'D'},
					   {"at", required_argument, NULL, 't'},
					   {"command-id", required_argument, NULL, 'I'},
					   {"config", required_argument, NULL, 'c'},
					   {"json", no_argument, NULL, 'j'},
					   {"help", no_argument, NULL, 'h'},
					   {0}};
	const char *name = argv[0];
	static struct hz_command cmd; /* 25 KiB: not on the stack */
	memset(&cmd, 0, sizeof(cmd));
	cmd.source = HZ_CMD_HAZARDCTL;
	cmd.action = hz_action_parse(name);
	const char *actor = getenv("HZ_ACTOR"), *note = "", *reason = "", *assignee = "";
	const char *command_id = NULL, *conf = NULL;
	bool json = false, on_spot = false;
	int64_t due = 0, at = 0;
	int c;
	while ((c = cmd_getopt(argc, argv, name, lo, "a:n:r:e:c:h")) != -1) {
		switch (c) {
		case 'h': return 0;
		case 'a': actor = optarg; break;
		case 'n': note = optarg; break;
		case 'r': reason = optarg; break;
		case 'A': assignee = optarg; break;
		case 'o': on_spot = true; break;
		case 'I': command_id = optarg; break;
		case 'c': conf = optarg; break;
		case 'j': json = true; break;
		case 'e':
			if (cmd.n_evidence == HZ_CMD_EVIDENCE_MAX)
				return usage_error(name, "at most %d --evidence URLs", HZ_CMD_EVIDENCE_MAX);
			if (!fits(optarg, HZ_CMD_URL_MAX))
				return usage_error(name, "--evidence URL longer than %d bytes",
						   HZ_CMD_URL_MAX - 1);
			snprintf(cmd.evidence[cmd.n_evidence++], HZ_CMD_URL_MAX, "%s", optarg);
			break;
		case 'D':
			if (hz_time_parse(optarg, &due))
				return usage_error(name, "invalid --due time \"%s\" (RFC 3339)", optarg);
			break;
		case 't':
			if (hz_time_parse(optarg, &at))
				return usage_error(name, "invalid --at time \"%s\" (RFC 3339)", optarg);
			break;
		default: return usage_error(name, "bad option");
		}
	}
	long id;
	if (argc - optind != 1)
		return usage_error(name, "expected one ticket id");
	if (!parse_long(argv[optind], 1, &id))
		return usage_error(name, "invalid ticket id \"%s\"", argv[optind]);
	if (!actor || !*actor)
		return usage_error(name, "--actor is required (a person id of the registry; or set $HZ_ACTOR)");
	if (*assignee && cmd.action != HZ_ACT_DISPATCH)
		return usage_error(name, "--assignee applies to dispatch only");
	if ((on_spot || due) && cmd.action != HZ_ACT_RECTIFY)
		return usage_error(name, "--on-spot and --due apply to rectify only");
	if (cmd.action == HZ_ACT_RECTIFY && on_spot == (due != 0))
		return usage_error(name, "rectify needs exactly one of --on-spot and --due TIME");
	if (command_id && (!*command_id || !fits(command_id, sizeof(cmd.command_id))))
		return usage_error(name, "--command-id must be 1 to %zu bytes", sizeof(cmd.command_id) - 1);
	for (const char *p = command_id; p && *p; p++)
		if (*p <= ' ' || *p > '~')
			return usage_error(name, "--command-id must be printable ASCII without spaces");
	if (!fits(actor, sizeof(cmd.actor_id)) || !fits(note, sizeof(cmd.note)) ||
	    !fits(reason, sizeof(cmd.reason)) || !fits(assignee, sizeof(cmd.assignee)))
		return usage_error(name, "an argument is too long");
	if (command_id)
		snprintf(cmd.command_id, sizeof(cmd.command_id), "%s", command_id);
	else
		new_command_id(cmd.command_id, sizeof(cmd.command_id));
	snprintf(cmd.actor_id, sizeof(cmd.actor_id), "%s", actor);
	snprintf(cmd.note, sizeof(cmd.note), "%s", note);
	snprintf(cmd.reason, sizeof(cmd.reason), "%s", reason);
	snprintf(cmd.assignee, sizeof(cmd.assignee), "%s", assignee);
	cmd.ticket_id = id;
	cmd.acted_us = at;
	cmd.rectify_mode = on_spot ? HZ_RECTIFY_ON_SPOT : due ? HZ_RECTIFY_BY_DEADLINE : 0;
	cmd.due_us = due;

	char err[1024];
	/* a reopen sets a new acknowledgement deadline: the daemon's rules */
	struct hz_rules *rules = NULL;
	if (cmd.action == HZ_ACT_REOPEN) {
		char why[1024];
		rules = hz_ctl_load_rules(conf, why, sizeof(why));
		if (!rules) {
			snprintf(err, sizeof(err), "reopen needs hazardd's rules for the new "
						   "acknowledgement deadline: %s", why);
			return fail(err);
		}
	}
	const char *dsn = opt_dsn ? opt_dsn : getenv("HZ_PG_DSN");
	PGconn *pg = hz_pg_connect_ex(dsn, "hazardctl", 30000, err, sizeof(err));
	if (!pg) {
		hz_rules_destroy(rules);
		fail(err);
		return HZ_CTL_EXIT_DB;
	}
	/* The outputs go to the topics and the escalation log through a running
	 * daemon, which claims these rows (core/outputs.c); the topic names are
	 * the defaults unless the environment says otherwise. */
	const char *prefix = getenv("HAZARDD_MQTT_TOPIC_PREFIX");
	const char *kt = getenv("HAZARDD_KAFKA_TOPIC_TICKETS");
	const char *kr = getenv("HAZARDD_KAFKA_TOPIC_RESULTS");
	struct hz_command_opts o = {prefix ? prefix : "hazard/v1", kt ? kt : "hazard.tickets",
				    kr ? kr : "hazard.command-results", HZ_CMD_SKEW_DEFAULT, true,
				    rules};
	static struct hz_command_out out;
	int rc = hz_store_command_apply(pg, &cmd, &o, &out, err, sizeof(err));
	PQfinish(pg);
	hz_rules_destroy(rules);
	if (rc == HZ_ETRANSIENT) {
		fail(err);
		return HZ_CTL_EXIT_DB;
	}
	if (rc)
		return fail(err);
	const struct hz_command_result *r = &out.res;
	if (json) {
		struct hz_buf b = HZ_BUF_INIT;
		if (hz_codec_encode_command_result(r, HZ_CT_JSON, &b) || hz_buf_cstr(&b)) {
			hz_buf_free(&b);
			return fail("could not encode the result as JSON");
		}
		printf("%s\n", (const char *)b.data);
		hz_buf_free(&b);
	}
	if (out.replayed)
		fprintf(stderr, "hazardctl: command %s was %s before: its stored result\n",
			cmd.command_id, r->outcome == HZ_OUTCOME_APPLIED ? "applied" : "refused");
	if (r->outcome != HZ_OUTCOME_APPLIED) {
		fprintf(stderr, "hazardctl: %s refused: %s\n", name, r->reason);
		return 1;
	}
	if (*r->flags)
		fprintf(stderr, "hazardctl: note: %s\n", r->flags);
	if (!json) {
		if (cmd.action == HZ_ACT_ACK)
			printf("ticket %ld acknowledged by %s\n", id, actor);
		else
			printf("%s (%s by %s, command %s)\n", r->reason, name, actor, cmd.command_id);
	}
	return 0;
}

/* ---- verify: the logic is store/verify.c ---- */

/* `verify` is two commands: with a ticket id (or an option only the ticket
 * command takes) it is the closed loop's 核销 (cmd_ticket_action); without,
 * the history chain check. A bare `verify 42` is therefore the ticket
 * command, which refuses without --actor and --evidence: never a silent
 * close, never a chain check that was not asked for. */
static bool verify_is_ticket_command(int argc, char **argv)
{
	static const char *const own[] = {"--actor", "--note", "--reason", "--evidence", "--at",
					  "--command-id", "-a", "-n", "-r", "-e"};
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		if (!strcmp(a, "--"))
			return i + 1 < argc;
		if (!strcmp(a, "--ticket") || !strcmp(a, "--since")) {
			i++; /* their value */
			continue;
		}
		if (a[0] != '-')
			return true;
		for (size_t k = 0; k < HZ_ARRAY_LEN(own); k++)
			if (!strncmp(a, own[k], strlen(own[k])))
				return true;
	}
	return false;
}

static int cmd_ticket_action(int argc, char **argv);

static int cmd_verify(int argc, char **argv)
{
	if (verify_is_ticket_command(argc, argv))
		return cmd_ticket_action(argc, argv);
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
	while ((c = cmd_getopt(argc, argv, "verify", lo, "h")) != -1) {
		switch (c) {
		case 'h': return 0;
		case O_TICKET:
			if (!parse_long(optarg, 1, &id))
				return usage_error("verify", "invalid ticket id \"%s\"", optarg);
			o.ticket_id = id;
			break;
		case O_SINCE:
			if (hz_ctl_parse_since(optarg, hz_now_us(), &o.since_us))
				return usage_error("verify",
						   "--since wants an RFC 3339 time or a duration "
						   "like 2h, got \"%s\"",
						   optarg);
			break;
		case O_JSON: json = true; break;
		default: return usage_error("verify", "bad option");
		}
	}
	if (optind != argc)
		return usage_error("verify", "unexpected argument \"%s\"", argv[optind]);
	PGconn *pg = connect_db(0); /* a whole history may take a while */
	if (!pg)
		return 1;
	struct hz_verify_result res;
	char err[1024];
	int rc = hz_store_verify_history(pg, &o, &res, err, sizeof(err));
	PQfinish(pg);
	if (rc) {
		hz_verify_result_free(&res);
		fail(err);
		return rc == HZ_ETRANSIENT ? HZ_CTL_EXIT_DB : 1;
	}
	hz_verify_print(stdout, &res, json);
	int broken = res.n_breaks > 0;
	hz_verify_result_free(&res);
	return broken;
}

/* ---- silence ---- */

static int silence_add(int argc, char **argv)
{
	static const struct option lo[] = {{"device", required_argument, NULL, 'D'},
					   {"site", required_argument, NULL, 'S'},
					   {"org", required_argument, NULL, 'O'},
					   {"for", required_argument, NULL, 'f'},
					   {"until", required_argument, NULL, 'u'},
					   {"reason", required_argument, NULL, 'r'},
					   {"actor", required_argument, NULL, 'a'},
					   {"help", no_argument, NULL, 'h'},
					   {0}};
	struct hz_silence_req rq = {.actor = getenv("USER") ? getenv("USER") : "hazardctl"};
	int c, targets = 0;
	while ((c = cmd_getopt(argc, argv, "silence", lo, "h")) != -1) {
		switch (c) {
		case 'h': return 0;
		case 'D': case 'S': case 'O':
			targets++;
			rq.kind = c == 'D' ? HZ_SILENCE_DEVICE : c == 'S' ? HZ_SILENCE_SITE : HZ_SILENCE_ORG;
			rq.target = optarg;
			break;
		case 'f':
			if (hz_parse_duration(optarg, &rq.for_us) || rq.for_us <= 0)
				return usage_error("silence", "invalid duration \"%s\" (e.g. 90s, 30m, 2h, 1d)", optarg);
			break;
		case 'u':
			if (hz_time_parse(optarg, &rq.until_us) || rq.until_us <= 0)
				return usage_error("silence", "invalid time \"%s\" (RFC 3339, e.g. 2026-05-01T18:00:00+08:00)", optarg);
			break;
		case 'r': rq.reason = optarg; break;
		case 'a': rq.actor = optarg; break;
		default: return usage_error("silence", "bad option");
		}
	}
	if (optind < argc)
		return usage_error("silence", "unexpected argument \"%s\"", argv[optind]);
	if (targets != 1)
		return usage_error("silence", "give exactly one of --device, --site, --org");
	if (!rq.for_us == !rq.until_us)
		return usage_error("silence", "give exactly one of --for and --until");
	if (!rq.reason || !*rq.reason)
		return usage_error("silence", "--reason is required");
	PGconn *pg = connect_db(30000);
	if (!pg)
		return 1;
	char err[1024], ends[64];
	int64_t id = 0, ends_us = 0;
	int rc = hz_store_silence_add(pg, &rq, &id, &ends_us, err, sizeof(err));
	PQfinish(pg);
	if (rc)
		return fail(err);
	printf("silence %lld: %s %s until %s (red alarms still call)\n", (long long)id,
	       hz_silence_target_name(rq.kind), rq.target, fmt_time(ends_us, ends, sizeof(ends)));
	return 0;
}

static int silence_list(int argc, char **argv)
{
	static const struct option lo[] = {{"active", no_argument, NULL, 'A'},
					   {"json", no_argument, NULL, 'j'},
					   {"limit", required_argument, NULL, 'l'},
					   {"help", no_argument, NULL, 'h'},
					   {0}};
	bool active = false, json = false;
	long limit = 100;
	int c;
	while ((c = cmd_getopt(argc, argv, "silence", lo, "h")) != -1) {
		if (c == 'h')
			return 0;
		if (c == 'A')
			active = true;
		else if (c == 'j')
			json = true;
		else if (c != 'l' || !parse_long(optarg, 1, &limit))
			return usage_error("silence", c == 'l' ? "invalid limit" : "bad option");
	}
	PGconn *pg = connect_db(30000);
	if (!pg)
		return 1;
	char err[1024];
	struct hz_silence_row *rows = NULL;
	size_t n = 0;
	int rc = hz_store_silences_list(pg, active, limit, &rows, &n, err, sizeof(err));
	PQfinish(pg);
	if (rc)
		return fail(err);
	if (json) {
		json_t *a = json_array();
		for (size_t i = 0; i < n && a; i++) {
			const struct hz_silence_row *r = &rows[i];
			json_array_append_new(a, json_pack("{s:I,s:s,s:s,s:o,s:o,s:s,s:s,s:o,s:b,s:b}",
				"silence_id", (json_int_t)r->s.silence_id, "target_kind",
				hz_silence_target_name(r->s.kind), "target_id", r->s.target,
				"starts_at", json_time(r->s.starts_us), "ends_at", json_time(r->s.ends_us),
				"actor", r->actor, "reason", r->reason, "created_at",
				json_time(r->created_us), "cancelled", r->cancelled, "active", r->active));
		}
		free(rows);
		return json_print(a);
	}
	static const char *const head[] = {"ID", "TARGET", "STARTS", "ENDS", "STATUS", "ACTOR", "REASON"};
	struct table t = {.ncols = HZ_ARRAY_LEN(head), .head = head};
	for (size_t i = 0; i < n; i++) {
		const struct hz_silence_row *r = &rows[i];
		char id[24], tgt[96], st[40], en[40];
		snprintf(id, sizeof(id), "%lld", (long long)r->s.silence_id);
		snprintf(tgt, sizeof(tgt), "%s %s", hz_silence_target_name(r->s.kind), r->s.target);
		table_add(&t, id, tgt, fmt_time(r->s.starts_us, st, sizeof(st)),
			  fmt_time(r->s.ends_us, en, sizeof(en)),
			  r->cancelled ? "cancelled" : r->active ? "active" : "over", r->actor, r->reason);
	}
	table_print(&t, stdout);
	table_free(&t);
	free(rows);
	return 0;
}

static int silence_cancel(int argc, char **argv)
{
	static const struct option lo[] = {{"actor", required_argument, NULL, 'a'},
					   {"help", no_argument, NULL, 'h'},
					   {0}};
	const char *actor = getenv("USER") ? getenv("USER") : "hazardctl";
	int c;
	while ((c = cmd_getopt(argc, argv, "silence", lo, "h")) != -1) {
		if (c == 'h')
			return 0;
		if (c != 'a')
			return usage_error("silence", "bad option");
		actor = optarg;
	}
	long id;
	if (argc - optind != 1)
		return usage_error("silence", "expected one silence id");
	if (!parse_long(argv[optind], 1, &id))
		return usage_error("silence", "invalid silence id \"%s\"", argv[optind]);
	PGconn *pg = connect_db(30000);
	if (!pg)
		return 1;
	char err[1024];
	int rc = hz_store_silence_cancel(pg, id, actor, err, sizeof(err));
	PQfinish(pg);
	if (rc)
		return fail(err);
	printf("silence %ld cancelled by %s\n", id, actor);
	return 0;
}

static int cmd_silence(int argc, char **argv)
{
	if (argc >= 2 && (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h"))) {
		const struct command *cm = find_command("silence");
		printf("usage: hazardctl %s\n\n%s", cm->synopsis, cm->help);
		return 0;
	}
	if (argc < 2)
		return usage_error("silence", "expected add, list or cancel");
	int (*sub)(int, char **) = !strcmp(argv[1], "add")	 ? silence_add
				   : !strcmp(argv[1], "list")	 ? silence_list
				   : !strcmp(argv[1], "cancel") ? silence_cancel
								 : NULL;
	if (!sub)
		return usage_error("silence", "unknown subcommand \"%s\" (add, list, cancel)", argv[1]);
	return sub(argc - 1, argv + 1);
}

/* ---- dispatch ---- */

static int cmd_help(int argc, char **argv);
static int cmd_tail(int argc, char **argv) { return hz_ctl_tail(argc, argv); }
static int cmd_stats(int argc, char **argv) { return hz_ctl_stats(argc, argv, opt_dsn); }

#define ACTION_COMMON                                                                        \
	"  --actor WHO        the person acting: a hazard.people id (default $HZ_ACTOR); refused\n" \
	"                     unless their org unit is on the ticket's chain\n"                    \
	"  --note TEXT        a note for the history     --reason TEXT   why\n"                    \
	"  --evidence URL     a photo or document (repeatable)\n"                                 \
	"  --at TIME          when it was done (RFC 3339; default now): the time of action\n"      \
	"  --command-id ID    idempotence key (default: generated): a retry with the same id\n"   \
	"                     changes nothing and prints the stored result\n"                     \
	"  --json             print the CommandResult as JSON\n"                                  \
	"Exit status: 0 applied, 1 refused (the reason on stderr), 2 usage, 3 database\n"         \
	"unavailable. The state table: README, \"Ticket life\".\n"

static const struct command commands[] = {
	{"migrate", cmd_migrate, "migrate",
	 "Apply every sql/NNN_*.sql not yet recorded in hazard.schema_migrations, in order,\n"
	 "each in its own transaction under an advisory lock: safe to run while a daemon\n"
	 "starts. Refuses a database newer than the files.\n"},
	{"import", cmd_import, "import DIR",
	 "Load the registry from DIR/org_units.csv, sites.csv, devices.csv, people.csv and\n"
	 "duty.csv (any subset; a header row names the columns). Rows are upserted by id;\n"
	 "rows missing from the files are kept. All or nothing: a bad row is reported as\n"
	 "FILE:LINE: column NAME: problem, and nothing changes. Bumps\n"
	 "hazard.registry_version so running daemons reload.\n"
	 "\n"
	 "  org_units.csv  code, name, level (city|county|town|village|grid), parent_code, lat, "
	 "lon\n"
	 "  sites.csv      site_id, name, kind, risk_grade (major|significant|general|low),\n"
	 "                 org_code, town_code, county_code, lat, lon\n"
	 "  devices.csv    device_id, site_id, kind, metric, range_min, range_max, installed_at\n"
	 "  people.csv     person_id, name, phone, org_code, tier (grid|town|county|city)\n"
	 "  duty.csv       org_code, tier, person_id, role, starts_at, ends_at\n"
	 "  rescue_units.csv  unit_id, name, kind (micro_station|full_time_brigade|\n"
	 "                 fire_rescue_station), org_code, lat, lon, phone\n"
	 "  org_units.csv may also carry area (town|countryside) for the rescue circles.\n"},
	{"tickets", cmd_tickets, hz_ctl_tickets_synopsis, hz_ctl_tickets_help},
	{"tail", cmd_tail, hz_ctl_tail_synopsis, hz_ctl_tail_help},
	{"stats", cmd_stats, hz_ctl_stats_synopsis, hz_ctl_stats_help},
	{"dead-letters", cmd_dead_letters, "dead-letters [--limit N] [--json]",
	 "The newest dead letters: input that could not be processed, with its source,\n"
	 "reason and a payload preview (--json: the payload in base64, up to 64 KiB).\n"
	 "  --limit N   at most N (default 50)\n"},
	{"ack", cmd_ticket_action, "ack ID --actor WHO [--note TEXT] [OPTIONS]",
	 "Acknowledge a ticket: stops its escalation (call-and-respond); the state does not\n"
	 "change. Refused when the ticket is closed or dismissed or already acknowledged.\n"
	 ACTION_COMMON},
	{"confirm", cmd_ticket_action, "confirm ID --actor WHO [OPTIONS]",
	 "discovered -> confirmed: the alarm or hazard is real. Needs tier >= the ticket's.\n"
	 ACTION_COMMON},
	{"control", cmd_ticket_action, "control ID --actor WHO [OPTIONS]",
	 "discovered or confirmed -> controlled: the danger is contained.\n" ACTION_COMMON},
	{"dispatch", cmd_ticket_action, "dispatch ID --actor WHO --assignee WHO [OPTIONS]",
	 "Assign an open ticket to a unit, brigade or person (state unchanged); also\n"
	 "acknowledges it.\n"
	 "  --assignee WHO     who is sent, looked up in the registry in this order: a\n"
	 "                     rescue unit's unit_id (micro station, full-time brigade, fire\n"
	 "                     rescue station: rescue_units.csv), a person_id (people.csv),\n"
	 "                     an org unit code (org_units.csv). Its org unit (the unit's,\n"
	 "                     the person's, or itself) must be in the ticket's county or\n"
	 "                     above it on the ticket's chain (the city). Otherwise refused:\n"
	 "                     assignee \"xyz\" is not a registered rescue unit, brigade,\n"
	 "                     person or org unit; ... of 330110001 is outside county 330106\n"
	 "                     of ticket 42. The result says what it is: \"ticket 42\n"
	 "                     dispatched to micro station MS-1 (name)\".\n" ACTION_COMMON},
	{"rectify", cmd_ticket_action, "rectify ID --actor WHO (--on-spot | --due TIME) [OPTIONS]",
	 "-> rectifying: fixed on the spot (立行立改, --on-spot) or to be fixed by a deadline\n"
	 "(限期整改, --due TIME, before the close-out deadline; overdue escalates). Alarms,\n"
	 "hazards and faults.\n" ACTION_COMMON},
	{"close", cmd_ticket_action, "close ID --actor WHO [OPTIONS]",
	 "Close an open alarm, warning or fault ticket (a hazard closes only by verify).\n"
	 ACTION_COMMON},
	{"dismiss", cmd_ticket_action, "dismiss ID --actor WHO --reason TEXT [OPTIONS]",
	 "An open ticket was a false alarm -> dismissed. The reason is required.\n"
	 ACTION_COMMON},
	{"reopen", cmd_ticket_action,
	 "reopen ID --actor WHO --reason TEXT [-c HAZARDD_CONF] [OPTIONS]",
	 "closed or dismissed -> confirmed, keeping the history. Needs tier county or above\n"
	 "(and >= the ticket's) and a reason. Restarts call-and-respond: the old\n"
	 "acknowledgement is cleared and a new deadline set at the ticket's tier from\n"
	 "hazardd's rules (escalation.ack for its level, major_risk), as for a new ticket;\n"
	 "unanswered, it climbs the chain again.\n"
	 "  -c, --config FILE  hazardd's config, for rules.file (default: $HAZARDD_CONFIG,\n"
	 "                     then /etc/hazardd/hazardd.conf, else $HAZARDD_RULES_FILE or\n"
	 "                     /etc/hazardd/rules.yaml); exit 1 when the rules cannot be read\n"
	 ACTION_COMMON},
	{"comment", cmd_ticket_action, "comment ID --actor WHO --note TEXT [OPTIONS]",
	 "Add a note (and evidence) to a ticket in any state.\n" ACTION_COMMON},
	{"silence", cmd_silence,
	 "silence add (--device ID | --site ID | --org CODE) (--for DURATION | --until TIME)\n"
	 "                 --reason TEXT [--actor WHO]\n"
	 "       hazardctl silence list [--active] [--limit N] [--json]\n"
	 "       hazardctl silence cancel ID [--actor WHO]",
	 "A silence (maintenance window) for a device, a site, or an org unit and everything\n"
	 "under it (a town covers its villages, grids and sites). From now until its end,\n"
	 "events there still open or join their tickets and are recorded and counted\n"
	 "(tickets.silenced_count), but set no acknowledgement deadline: nobody is called.\n"
	 "A red level is never silenced. A later unsilenced event on the ticket starts the\n"
	 "call-and-respond as usual. Running daemons see a change within rules.context_refresh.\n"
	 "  --for DURATION   90s, 30m, 2h, 1d (at most 30 days)\n"
	 "  --until TIME     an RFC 3339 time in the future\n"
	 "  --reason TEXT    why (required); --actor WHO: who (default $USER)\n"
	 "list: newest first; --active only those not cancelled and not over.\n"
	 "cancel: ends a silence now; refused when it does not exist, is over or cancelled.\n"
	 "Exit status: 0 ok, 1 refused or error, 2 usage.\n"},
	{"registry", cmd_registry, "registry [--json]",
	 "Load the registry snapshot exactly as hazardd does and print its version, counts,\n"
	 "memory and load time. Fails on the inconsistencies the daemon would refuse.\n"},
	{"rescue-coverage", cmd_rescue_coverage, "rescue-coverage [-c HAZARDD_CONF] [--json]",
	 "Registered sites outside every rescue circle (救援圈), each with the rescue unit\n"
	 "that would reach it first, its distance, estimated minutes and the limit missed.\n"
	 "Circles: in towns a micro fire station within dispatch.micro_circle (3 min) or a\n"
	 "full-time brigade / fire rescue station within dispatch.brigade_circle (5 min);\n"
	 "in the countryside any unit within dispatch.country_circle (15 min). Minutes are\n"
	 "the great-circle distance x dispatch.road_factor at dispatch.speed_town_kmh or\n"
	 "dispatch.speed_country_kmh. The settings come from hazardd's config file (-c),\n"
	 "else the defaults and HAZARDD_DISPATCH_* variables. Loads the registry as the\n"
	 "daemon does. --json: counts, settings and outside_sites[].\n"},
	{"verify", cmd_verify,
	 "verify [--ticket ID] [--since WHEN] [--json]\n"
	 "       hazardctl verify ID --actor WHO --evidence URL [OPTIONS]",
	 "Two commands. Without a ticket id: recompute the hash chain of the ticket history\n"
	 "(every row's hash, its link to the row before, seq numbers without gaps) from the\n"
	 "rows, here, not in the database,\n"
	 "and report every break: ticket, seq, and hash mismatch, missing seq or previous\n"
	 "hash mismatch. The canonical row text is in sql/014_history_chain.sql.\n"
	 "  --ticket ID    one ticket's chain\n"
	 "  --since WHEN   only rows at or after WHEN (RFC 3339, or a duration ago: 2h, 7d),\n"
	 "                 each linked to the row before it\n"
	 "  --json         one JSON object: intact, rows, tickets, breaks[]\n"
	 "Exit status: 0 intact, 1 broken or error, 2 usage, 3 database unavailable.\n"
	 "\n"
	 "With a ticket ID (核销): rectifying -> closed for a hazard ticket; needs re-inspection\n"
	 "evidence and an actor other than the one who rectified it.\n" ACTION_COMMON},
	{"help", cmd_help, "help [COMMAND]", "Show help for hazardctl or one command.\n"},
};

static const struct command *find_command(const char *name)
{
	for (size_t i = 0; i < HZ_ARRAY_LEN(commands); i++)
		if (strcmp(commands[i].name, name) == 0 ||
		    (strncmp(name, commands[i].name, strlen(commands[i].name)) == 0 &&
		     name[strlen(commands[i].name)] == ' '))
			return &commands[i];
	return NULL;
}

static int cmd_help(int argc, char **argv)
{
	if (argc < 2) {
		fputs(main_usage, stdout);
		return 0;
	}
	const struct command *cm = find_command(argv[1]);
	if (!cm)
		return usage_error(NULL, "unknown command \"%s\"", argv[1]);
	printf("usage: hazardctl %s\n\n%s", cm->synopsis, cm->help);
	return 0;
}

int main(int argc, char **argv)
{
	static const struct option lo[] = {{"dsn", required_argument, NULL, 'd'},
					   {"sql-dir", required_argument, NULL, 'S'},
					   {"help", no_argument, NULL, 'h'},
					   {0}};
	int c;
	/* '+': stop at the command; its own options are parsed by it. */
	while ((c = getopt_long(argc, argv, "+d:h", lo, NULL)) != -1) {
		switch (c) {
		case 'd': opt_dsn = optarg; break;
		case 'S': opt_sql_dir = optarg; break;
		case 'h': fputs(main_usage, stdout); return 0;
		default: return usage_error(NULL, "bad option");
		}
	}
	if (optind >= argc) {
		fputs(main_usage, stderr);
		return EXIT_USAGE;
	}
	const struct command *cm = find_command(argv[optind]);
	if (!cm)
		return usage_error(NULL, "unknown command \"%s\"", argv[optind]);
	argc -= optind;
	argv += optind;
	optind = 0; /* reset getopt for the command (GNU: 0 re-initialises) */
	return cm->run(argc, argv);
}
