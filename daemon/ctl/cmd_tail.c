/*
 * cmd_tail.c - `hazardctl tail`: arguments, where the escalation log is
 * (--file, else log.escalation_file of the daemon's config), colour, and
 * signals; the following itself is ctl/tail.c.
 */
#include "core/config.h"
#include "ctl/ctl.h"
#include "ctl/tail.h"
#include "ctl/text.h"

#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

const char hz_ctl_tail_synopsis[] =
	"tail [-c CONFIG | --file FILE] [-n N] [--no-follow] [FILTERS] [--json]";
const char hz_ctl_tail_help[] =
	"Follow the escalation log (JSON lines written by hazardd) like tail -F: show\n"
	"the last N matching lines, then every new one as it is written. The file may\n"
	"be truncated (copytruncate) or moved away and re-created (rotation): tail\n"
	"notices, says so on stderr, and follows the file now at that name (reading\n"
	"the old one on for 30 s, until hazardd has reopened the log on SIGHUP).\n"
	"  -f, --file FILE     the log (default: log.escalation_file of the config)\n"
	"  -c, --config FILE   hazardd's config (default: $HAZARDD_CONFIG, then\n"
	"                      /etc/hazardd/hazardd.conf); HAZARDD_LOG_ESCALATION_FILE\n"
	"                      overrides it as it does for the daemon\n"
	"  -n, --lines N       show the last N matching lines first (default 10; 0: none)\n"
	"      --no-follow     print them and exit\n"
	"Filters (a comma list or repeated option accepts any of its values):\n"
	"      --town CODE     lines about this town      --county CODE\n"
	"      --tier TIER     grid, town, county, city (escalations: the tier called)\n"
	"      --level LEVEL   at least LEVEL (blue < yellow < orange < red); a rating\n"
	"                      counts as its colour, green as none\n"
	"      --kind KIND     alarm, hazard, warning, fault\n"
	"      --type TYPE     ticket, escalation, rating\n"
	"      --drills | --no-drills   only drill (exercise/test) lines, or none of them\n"
	"A line lacking a filtered field does not match (a rating has no kind or tier).\n"
	"Output: one human line per log line, local time, coloured by level on a\n"
	"terminal (red, orange, yellow, blue); plain when piped, with --no-color or\n"
	"--color never, or when NO_COLOR is set. --json prints the matching lines as\n"
	"they are (JSON lines). Lines that are not JSON pass only when no filter is set.\n"
	"Exit status: 0 ok (interrupted while following), 1 no such file or (with\n"
	"--no-follow) no matching line, 2 usage.\n";

static volatile sig_atomic_t stop_flag;

static void on_signal(int sig)
{
	(void)sig;
	stop_flag = 1;
}

static int help(void) { return hz_ctl_help(hz_ctl_tail_synopsis, hz_ctl_tail_help); }

enum { O_TOWN = 256, O_COUNTY, O_TIER, O_LEVEL, O_KIND, O_TYPE, O_NOFOLLOW, O_JSON, O_COLOR,
       O_NOCOLOR, O_DRILLS, O_NODRILLS, O_POLL };

static bool all_known(const struct hz_ctl_set *s, int (*known)(const char *))
{
	for (size_t i = 0; i < s->n; i++)
		if (!known(s->v[i]))
			return false;
	return true;
}

static int tier_known(const char *s) { return (int)hz_tier_parse(s); }
static int kind_known(const char *s) { return (int)hz_kind_parse(s); }
static int type_known(const char *s)
{
	return !strcmp(s, "ticket") || !strcmp(s, "escalation") || !strcmp(s, "rating") ||
	       !strcmp(s, "command");
}

int hz_ctl_tail(int argc, char **argv)
{
	static const struct option lo[] = {{"file", required_argument, NULL, 'f'},
					   {"config", required_argument, NULL, 'c'},
					   {"lines", required_argument, NULL, 'n'},
					   {"no-follow", no_argument, NULL, O_NOFOLLOW},
					   {"town", required_argument, NULL, O_TOWN},
					   {"county", required_argument, NULL, O_COUNTY},
					   {"tier", required_argument, NULL, O_TIER},
					   {"level", required_argument, NULL, O_LEVEL},
					   {"kind", required_argument, NULL, O_KIND},
					   {"type", required_argument, NULL, O_TYPE},
					   {"drills", no_argument, NULL, O_DRILLS},
					   {"no-drills", no_argument, NULL, O_NODRILLS},
					   {"json", no_argument, NULL, O_JSON},
					   {"color", required_argument, NULL, O_COLOR},
					   {"colour", required_argument, NULL, O_COLOR},
					   {"no-color", no_argument, NULL, O_NOCOLOR},
					   {"poll", required_argument, NULL, O_POLL},
					   {"help", no_argument, NULL, 'h'},
					   {0}};
	static const char cmd[] = "tail";
	struct hz_ctl_logfilter f = {0};
	struct hz_ctl_tail_opts o = {.last_n = 10, .follow = true, .filter = &f};
	enum hz_ctl_colour cmode = HZ_CTL_COLOUR_AUTO;
	const char *file = NULL, *config = getenv("HAZARDD_CONFIG");
	bool config_given = config && *config;
	int c, rc = HZ_CTL_EXIT_USAGE;
	char err[1024];
	struct hz_config cfg;
	bool have_cfg = false;
	while ((c = getopt_long(argc, argv, "f:c:n:h", lo, NULL)) != -1) {
		int bad = 0;
		switch (c) {
		case 'h': hz_ctl_logfilter_free(&f); return help();
		case 'f': file = optarg; break;
		case 'c':
			config = optarg;
			config_given = true;
			break;
		case 'n':
			if (!hz_ctl_parse_long(optarg, 0, &o.last_n)) {
				hz_ctl_usage(cmd, "-n wants a number of lines, got \"%s\"", optarg);
				goto out;
			}
			break;
		case O_NOFOLLOW: o.follow = false; break;
		case O_TOWN: bad = hz_ctl_set_add(&f.towns, optarg); break;
		case O_COUNTY: bad = hz_ctl_set_add(&f.counties, optarg); break;
		case O_TIER:
			bad = hz_ctl_set_add(&f.tiers, optarg) || !all_known(&f.tiers, tier_known);
			break;
		case O_KIND:
			bad = hz_ctl_set_add(&f.kinds, optarg) || !all_known(&f.kinds, kind_known);
			break;
		case O_TYPE:
			bad = hz_ctl_set_add(&f.types, optarg) || !all_known(&f.types, type_known);
			break;
		case O_LEVEL:
			f.min_level = hz_level_parse(optarg);
			bad = !f.min_level;
			break;
		case O_DRILLS: f.drills_only = true; break;
		case O_NODRILLS: f.no_drills = true; break;
		case O_JSON: o.json = true; break;
		case O_COLOR:
			if (!strcmp(optarg, "auto"))
				cmode = HZ_CTL_COLOUR_AUTO;
			else if (!strcmp(optarg, "always"))
				cmode = HZ_CTL_COLOUR_ALWAYS;
			else if (!strcmp(optarg, "never"))
				cmode = HZ_CTL_COLOUR_NEVER;
			else
				bad = 1;
			break;
		case O_NOCOLOR: cmode = HZ_CTL_COLOUR_NEVER; break;
		case O_POLL:
			bad = hz_parse_duration(optarg, &o.poll_us) || o.poll_us <= 0;
			break;
		default: hz_ctl_usage(cmd, "bad option"); goto out;
		}
		if (bad) {
			hz_ctl_usage(cmd, "invalid value \"%s\" for --%s", optarg,
				     c == O_TIER    ? "tier (grid, town, county, city)"
				     : c == O_KIND  ? "kind (alarm, hazard, warning, fault)"
				     : c == O_TYPE  ? "type (ticket, escalation, rating)"
				     : c == O_LEVEL ? "level (blue, yellow, orange, red)"
				     : c == O_COLOR ? "color (auto, always, never)"
				     : c == O_POLL  ? "poll"
						    : "a filter");
			goto out;
		}
	}
	if (optind != argc) {
		hz_ctl_usage(cmd, "unexpected argument \"%s\"", argv[optind]);
		goto out;
	}
	if (f.drills_only && f.no_drills) {
		hz_ctl_usage(cmd, "--drills and --no-drills exclude each other");
		goto out;
	}
	if (!file) {
		const char *path = config_given ? config : "/etc/hazardd/hazardd.conf";
		hz_config_init(&cfg);
		have_cfg = true;
		if (!config_given && access(path, R_OK) != 0) {
			/* no config: only the environment can name the file */
			if (hz_config_env(&cfg, environ, err, sizeof(err)) == 0 &&
			    cfg.escalation_log && *cfg.escalation_log) {
				file = cfg.escalation_log;
			} else {
				hz_ctl_usage(cmd, "no escalation log: give --file, or -c with "
						  "hazardd's config");
				goto out;
			}
		} else if (hz_config_load(&cfg, path, err, sizeof(err))) {
			fprintf(stderr, "hazardctl: %s\n", err);
			rc = HZ_CTL_EXIT_FAIL;
			goto out;
		} else if (!cfg.escalation_log || !*cfg.escalation_log) {
			hz_ctl_usage(cmd, "%s sets no log.escalation_file: give --file", path);
			goto out;
		} else {
			file = cfg.escalation_log;
		}
	}
	o.path = file;
	o.colour = !o.json && hz_ctl_colour_wanted(cmode, isatty(STDOUT_FILENO),
						    getenv("NO_COLOR"), getenv("TERM"));
	o.c256 = hz_ctl_term_256(getenv("TERM"), getenv("COLORTERM"));
	o.out = stdout;
	o.diag = stderr;
	o.stop = &stop_flag;
	struct sigaction sa;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	size_t matched = 0;
	int trc = hz_ctl_tail_run(&o, &matched, err, sizeof(err));
	if (trc) {
		fprintf(stderr, "hazardctl: %s\n", err);
		rc = HZ_CTL_EXIT_FAIL;
	} else {
		rc = !o.follow && matched == 0 ? HZ_CTL_EXIT_FAIL : HZ_CTL_EXIT_OK;
	}
out:
	if (have_cfg)
		hz_config_free(&cfg);
	hz_ctl_logfilter_free(&f);
	return rc;
}
