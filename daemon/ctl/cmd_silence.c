/*
 * cmd_silence.c - `hazardctl silence add|list|cancel`: maintenance windows
 * for a device, a site or an org unit and everything under it. Events there
 * are still recorded and counted but call nobody (store/context.c keeps the
 * windows, the daemon reads them every rules.context_refresh).
 *
 * Only arguments and printing: what a silence covers and what it refuses
 * (a window over, a red level) is decided in store/ and rules/.
 */
#include "ctl/ctl.h"
#include "ctl/text.h"
#include "core/config.h"
#include "store/context.h"

#include <getopt.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char hz_ctl_silence_synopsis[] =
	"silence add (--device ID | --site ID | --org CODE) (--for DURATION | --until TIME)\n"
	"                 --reason TEXT [--actor WHO]\n"
	"       hazardctl silence list [--active] [--limit N] [--json]\n"
	"       hazardctl silence cancel ID [--actor WHO]";
const char hz_ctl_silence_help[] =
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
	"Exit status: 0 ok, 1 refused or error, 2 usage.\n";

static int help(void) { return hz_ctl_help(hz_ctl_silence_synopsis, hz_ctl_silence_help); }

static int silence_add(int argc, char **argv, const char *dsn)
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
	while ((c = getopt_long(argc, argv, "h", lo, NULL)) != -1) {
		switch (c) {
		case 'h': return help();
		case 'D':
		case 'S':
		case 'O':
			targets++;
			rq.kind = c == 'D'   ? HZ_SILENCE_DEVICE
				  : c == 'S' ? HZ_SILENCE_SITE
					     : HZ_SILENCE_ORG;
			rq.target = optarg;
			break;
		case 'f':
			if (hz_parse_duration(optarg, &rq.for_us) || rq.for_us <= 0)
				return hz_ctl_usage(
					"silence", "invalid duration \"%s\" (e.g. 90s, 30m, 2h, 1d)",
					optarg);
			break;
		case 'u':
			if (hz_time_parse(optarg, &rq.until_us) || rq.until_us <= 0)
				return hz_ctl_usage("silence",
						    "invalid time \"%s\" (RFC 3339, e.g. "
						    "2026-05-01T18:00:00+08:00)",
						    optarg);
			break;
		case 'r': rq.reason = optarg; break;
		case 'a': rq.actor = optarg; break;
		default: return hz_ctl_usage("silence", "bad option");
		}
	}
	if (optind < argc)
		return hz_ctl_usage("silence", "unexpected argument \"%s\"", argv[optind]);
	if (targets != 1)
		return hz_ctl_usage("silence", "give exactly one of --device, --site, --org");
	if (!rq.for_us == !rq.until_us)
		return hz_ctl_usage("silence", "give exactly one of --for and --until");
	if (!rq.reason || !*rq.reason)
		return hz_ctl_usage("silence", "--reason is required");
	PGconn *pg = hz_ctl_connect(dsn, 30000);
	if (!pg)
		return HZ_CTL_EXIT_DB;
	char err[1024], ends[64];
	int64_t id = 0, ends_us = 0;
	int rc = hz_store_silence_add(pg, &rq, &id, &ends_us, err, sizeof(err));
	PQfinish(pg);
	if (rc)
		return hz_ctl_fail(rc, err);
	printf("silence %lld: %s %s until %s (red alarms still call)\n", (long long)id,
	       hz_silence_target_name(rq.kind), rq.target,
	       hz_ctl_fmt_time(ends_us, ends, sizeof(ends)));
	return HZ_CTL_EXIT_OK;
}

static int silence_list(int argc, char **argv, const char *dsn)
{
	static const struct option lo[] = {{"active", no_argument, NULL, 'A'},
					   {"json", no_argument, NULL, 'j'},
					   {"limit", required_argument, NULL, 'l'},
					   {"help", no_argument, NULL, 'h'},
					   {0}};
	bool active = false, json = false;
	long limit = 100;
	int c;
	while ((c = getopt_long(argc, argv, "h", lo, NULL)) != -1) {
		if (c == 'h')
			return help();
		if (c == 'A')
			active = true;
		else if (c == 'j')
			json = true;
		else if (c != 'l' || !hz_ctl_parse_long(optarg, 1, &limit))
			return hz_ctl_usage("silence", c == 'l' ? "invalid limit" : "bad option");
	}
	PGconn *pg = hz_ctl_connect(dsn, 30000);
	if (!pg)
		return HZ_CTL_EXIT_DB;
	char err[1024];
	struct hz_silence_row *rows = NULL;
	size_t n = 0;
	int rc = hz_store_silences_list(pg, active, limit, &rows, &n, err, sizeof(err));
	PQfinish(pg);
	if (rc)
		return hz_ctl_fail(rc, err);
	if (json) {
		json_t *a = json_array();
		for (size_t i = 0; i < n && a; i++) {
			const struct hz_silence_row *r = &rows[i];
			json_array_append_new(
				a, json_pack("{s:I,s:s,s:s,s:o,s:o,s:s,s:s,s:o,s:b,s:b}", "silence_id",
					     (json_int_t)r->s.silence_id, "target_kind",
					     hz_silence_target_name(r->s.kind), "target_id", r->s.target,
					     "starts_at", hz_ctl_json_time(r->s.starts_us), "ends_at",
					     hz_ctl_json_time(r->s.ends_us), "actor", r->actor, "reason",
					     r->reason, "created_at", hz_ctl_json_time(r->created_us),
					     "cancelled", r->cancelled, "active", r->active));
		}
		free(rows);
		return hz_ctl_json_print(a);
	}
	static const char *const head[] = {"ID",     "TARGET", "STARTS", "ENDS",
					   "STATUS", "ACTOR",  "REASON"};
	struct hz_ctl_table t;
	hz_ctl_table_init(&t, head, HZ_ARRAY_LEN(head));
	for (size_t i = 0; i < n; i++) {
		const struct hz_silence_row *r = &rows[i];
		char id[24], tgt[96], st[40], en[40];
		snprintf(id, sizeof(id), "%lld", (long long)r->s.silence_id);
		snprintf(tgt, sizeof(tgt), "%s %s", hz_silence_target_name(r->s.kind), r->s.target);
		const char *cells[] = {id,
				       tgt,
				       hz_ctl_fmt_time(r->s.starts_us, st, sizeof(st)),
				       hz_ctl_fmt_time(r->s.ends_us, en, sizeof(en)),
				       r->cancelled ? "cancelled" : r->active ? "active" : "over",
				       r->actor,
				       r->reason};
		if (hz_ctl_table_add(&t, cells)) {
			hz_ctl_table_free(&t);
			free(rows);
			return hz_ctl_fail(HZ_ENOMEM, "out of memory");
		}
	}
	hz_ctl_table_print(&t, stdout, false);
	hz_ctl_table_free(&t);
	free(rows);
	return HZ_CTL_EXIT_OK;
}

static int silence_cancel(int argc, char **argv, const char *dsn)
{
	static const struct option lo[] = {{"actor", required_argument, NULL, 'a'},
					   {"help", no_argument, NULL, 'h'},
					   {0}};
	const char *actor = getenv("USER") ? getenv("USER") : "hazardctl";
	int c;
	while ((c = getopt_long(argc, argv, "h", lo, NULL)) != -1) {
		if (c == 'h')
			return help();
		if (c != 'a')
			return hz_ctl_usage("silence", "bad option");
		actor = optarg;
	}
	long id;
	if (argc - optind != 1)
		return hz_ctl_usage("silence", "expected one silence id");
	if (!hz_ctl_parse_long(argv[optind], 1, &id))
		return hz_ctl_usage("silence", "invalid silence id \"%s\"", argv[optind]);
	PGconn *pg = hz_ctl_connect(dsn, 30000);
	if (!pg)
		return HZ_CTL_EXIT_DB;
	char err[1024];
	int rc = hz_store_silence_cancel(pg, id, actor, err, sizeof(err));
	PQfinish(pg);
	if (rc)
		return hz_ctl_fail(rc, err);
	printf("silence %ld cancelled by %s\n", id, actor);
	return HZ_CTL_EXIT_OK;
}

int hz_ctl_silence(int argc, char **argv, const char *dsn)
{
	if (argc >= 2 && (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")))
		return help();
	if (argc < 2)
		return hz_ctl_usage("silence", "expected add, list or cancel");
	int (*sub)(int, char **, const char *) = !strcmp(argv[1], "add")      ? silence_add
						 : !strcmp(argv[1], "list")   ? silence_list
						 : !strcmp(argv[1], "cancel") ? silence_cancel
									      : NULL;
	if (!sub)
		return hz_ctl_usage("silence", "unknown subcommand \"%s\" (add, list, cancel)",
				    argv[1]);
	return sub(argc - 1, argv + 1, dsn);
}
