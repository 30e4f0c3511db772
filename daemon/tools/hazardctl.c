/*
 * hazardctl.c - the operators' command line: main(), the global options,
 * the command table and help, and the two commands that set a database up
 * (migrate the schema, import the registry). Every other command is a
 * module of ctl/ (ctl.h): tickets, tail, stats, the closed loop's ticket
 * actions, silences, dead letters, the registry snapshot, rescue coverage,
 * the history chain check.
 *
 * A thin main: every query lives in store/ or registry/, so the daemon and
 * this tool cannot disagree about the schema. Output is an aligned table
 * for people or JSON (--json) for scripts. Exit status: 0 ok, 1 error,
 * 2 usage, 3 database unavailable. It never prints a password: DSNs go
 * through hz_pg_redact().
 */
#include "core/hz.h"
#include "ctl/ctl.h"
#include "registry/import.h"
#include "store/migrate.h"
#include "store/pg.h"

#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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

static int help(const struct command *cm) { return hz_ctl_help(cm->synopsis, cm->help); }

/* ---- migrate ---- */

static int cmd_migrate(int argc, char **argv)
{
	static const struct option lo[] = {{"help", no_argument, NULL, 'h'}, {0}};
	int c;
	while ((c = getopt_long(argc, argv, "h", lo, NULL)) != -1)
		if (c == 'h' || c == '?')
			return c == 'h' ? help(find_command("migrate"))
					: hz_ctl_usage("migrate", "bad option");
	if (optind != argc)
		return hz_ctl_usage("migrate", "unexpected argument \"%s\"", argv[optind]);
	char dir[PATH_MAX], err[1024];
	if (opt_sql_dir)
		snprintf(dir, sizeof(dir), "%s", opt_sql_dir);
	else if (hz_migrate_find_dir(dir, sizeof(dir), err, sizeof(err)))
		return hz_ctl_fail(HZ_ERR, err);
	PGconn *pg = hz_ctl_connect(opt_dsn, 0);
	if (!pg)
		return HZ_CTL_EXIT_DB;
	int applied = 0, version = 0;
	int rc = hz_migrate_apply(pg, dir, &applied, err, sizeof(err));
	if (rc == 0)
		rc = hz_migrate_status(pg, dir, &version, NULL, err, sizeof(err));
	PQfinish(pg);
	if (rc) {
		if (applied)
			fprintf(stderr, "hazardctl: applied %d migration%s before the failure\n",
				applied, applied == 1 ? "" : "s");
		return hz_ctl_fail(rc, err);
	}
	if (applied)
		printf("applied %d migration%s from %s; schema at version %d\n", applied,
		       applied == 1 ? "" : "s", dir, version);
	else
		printf("schema is up to date at version %d\n", version);
	return HZ_CTL_EXIT_OK;
}

/* ---- import ---- */

static int cmd_import(int argc, char **argv)
{
	static const struct option lo[] = {{"help", no_argument, NULL, 'h'}, {0}};
	int c;
	while ((c = getopt_long(argc, argv, "h", lo, NULL)) != -1)
		if (c == 'h' || c == '?')
			return c == 'h' ? help(find_command("import"))
					: hz_ctl_usage("import", "bad option");
	if (argc - optind != 1)
		return hz_ctl_usage("import", "expected one directory");
	PGconn *pg = hz_ctl_connect(opt_dsn, 0);
	if (!pg)
		return HZ_CTL_EXIT_DB;
	struct hz_import_stats st;
	char err[8192];
	int rc = hz_registry_import(pg, argv[optind], &st, err, sizeof(err));
	PQfinish(pg);
	if (rc) {
		if (rc == HZ_EINVAL) {
			fprintf(stderr, "%s\nhazardctl: import refused, nothing changed\n", err);
			return HZ_CTL_EXIT_FAIL;
		}
		return hz_ctl_fail(rc, err);
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
	return HZ_CTL_EXIT_OK;
}

/* ---- tickets (list and show live in ctl/cmd_tickets.c) ---- */

static int cmd_tickets(int argc, char **argv)
{
	if (argc < 2)
		return hz_ctl_usage("tickets", "expected \"list\" or \"show\"");
	if (strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0)
		return help(find_command("tickets"));
	if (strcmp(argv[1], "list") == 0)
		return hz_ctl_tickets_list(argc - 1, argv + 1, opt_dsn);
	if (strcmp(argv[1], "show") == 0)
		return hz_ctl_tickets_show(argc - 1, argv + 1, opt_dsn);
	return hz_ctl_usage("tickets", "unknown tickets command \"%s\" (expected list or show)",
			    argv[1]);
}

/* ---- dispatch ---- */

static int cmd_help(int argc, char **argv);
static int cmd_tail(int argc, char **argv) { return hz_ctl_tail(argc, argv); }
static int cmd_stats(int argc, char **argv) { return hz_ctl_stats(argc, argv, opt_dsn); }
static int cmd_act(int argc, char **argv) { return hz_ctl_act(argc, argv, opt_dsn); }
static int cmd_verify(int argc, char **argv) { return hz_ctl_verify(argc, argv, opt_dsn); }
static int cmd_silence(int argc, char **argv) { return hz_ctl_silence(argc, argv, opt_dsn); }
static int cmd_dead_letters(int argc, char **argv)
{
	return hz_ctl_dead_letters(argc, argv, opt_dsn);
}
static int cmd_registry(int argc, char **argv) { return hz_ctl_registry(argc, argv, opt_dsn); }
static int cmd_rescue_coverage(int argc, char **argv)
{
	return hz_ctl_rescue_coverage(argc, argv, opt_dsn);
}

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
	{"dead-letters", cmd_dead_letters, hz_ctl_dead_letters_synopsis, hz_ctl_dead_letters_help},
	{"ack", cmd_act, hz_ctl_ack_synopsis, hz_ctl_ack_help},
	{"confirm", cmd_act, hz_ctl_confirm_synopsis, hz_ctl_confirm_help},
	{"control", cmd_act, hz_ctl_control_synopsis, hz_ctl_control_help},
	{"dispatch", cmd_act, hz_ctl_dispatch_synopsis, hz_ctl_dispatch_help},
	{"rectify", cmd_act, hz_ctl_rectify_synopsis, hz_ctl_rectify_help},
	{"close", cmd_act, hz_ctl_close_synopsis, hz_ctl_close_help},
	{"dismiss", cmd_act, hz_ctl_dismiss_synopsis, hz_ctl_dismiss_help},
	{"reopen", cmd_act, hz_ctl_reopen_synopsis, hz_ctl_reopen_help},
	{"comment", cmd_act, hz_ctl_comment_synopsis, hz_ctl_comment_help},
	{"silence", cmd_silence, hz_ctl_silence_synopsis, hz_ctl_silence_help},
	{"registry", cmd_registry, hz_ctl_registry_synopsis, hz_ctl_registry_help},
	{"rescue-coverage", cmd_rescue_coverage, hz_ctl_rescue_coverage_synopsis,
	 hz_ctl_rescue_coverage_help},
	{"verify", cmd_verify, hz_ctl_verify_synopsis, hz_ctl_verify_help},
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
		return HZ_CTL_EXIT_OK;
	}
	const struct command *cm = find_command(argv[1]);
	if (!cm)
		return hz_ctl_usage(NULL, "unknown command \"%s\"", argv[1]);
	return help(cm);
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
		case 'h': fputs(main_usage, stdout); return HZ_CTL_EXIT_OK;
		default: return hz_ctl_usage(NULL, "bad option");
		}
	}
	if (optind >= argc) {
		fputs(main_usage, stderr);
		return HZ_CTL_EXIT_USAGE;
	}
	const struct command *cm = find_command(argv[optind]);
	if (!cm)
		return hz_ctl_usage(NULL, "unknown command \"%s\"", argv[optind]);
	argc -= optind;
	argv += optind;
	optind = 0; /* reset getopt for the command (GNU: 0 re-initialises) */
	return cm->run(argc, argv);
}
