/*
 * ctl.h - hazardctl's commands for people at a terminal: `tickets list`
 * and `tickets show` with the whole timeline, `tail` of the escalation log,
 * `stats`. daemon/tools/hazardctl.c dispatches to these; each takes the
 * command's own argv (argv[0] is the subcommand's name, getopt reset).
 *
 * Exit status, the same for every command: 0 ok, 1 not found or nothing
 * matched (tickets show of a missing id, tail --no-follow with no matching
 * line), 2 usage, 3 database unavailable (cannot connect, connection lost,
 * statement timeout). Other failures exit 1.
 */
#ifndef HZ_CTL_H
#define HZ_CTL_H

#include <libpq-fe.h>

enum {
	HZ_CTL_EXIT_OK = 0,
	HZ_CTL_EXIT_FAIL = 1, /* not found, nothing matched, refused, other errors */
	HZ_CTL_EXIT_USAGE = 2,
	HZ_CTL_EXIT_DB = 3,
};

int hz_ctl_tickets_list(int argc, char **argv, const char *dsn);
int hz_ctl_tickets_show(int argc, char **argv, const char *dsn);
int hz_ctl_tail(int argc, char **argv);
int hz_ctl_stats(int argc, char **argv, const char *dsn);

/* For hazardctl's command table and `hazardctl help COMMAND`. */
extern const char hz_ctl_tickets_synopsis[], hz_ctl_tickets_help[];
extern const char hz_ctl_tail_synopsis[], hz_ctl_tail_help[];
extern const char hz_ctl_stats_synopsis[], hz_ctl_stats_help[];

/* Connect (dsn NULL: $HZ_PG_DSN, then libpq's PG* variables). On failure
 * prints `hazardctl: could not connect to "...": ...` and returns NULL. */
PGconn *hz_ctl_connect(const char *dsn, int statement_timeout_ms);
/* Print `hazardctl: err` and return the exit status for store rc:
 * HZ_ETRANSIENT -> 3, anything else -> 1. */
int hz_ctl_fail(int rc, const char *err);

/* The daemon's dispatch.* settings: from its config file `conf` when given,
 * else the defaults with HAZARDD_DISPATCH_* from the environment. *p
 * borrows strings of *cfg: free cfg (hz_config_free) once done with p. On
 * failure cfg is freed and err says why. */
struct hz_config;
struct hz_dispatch_params;
int hz_ctl_dispatch_params(const char *conf, struct hz_config *cfg, struct hz_dispatch_params *p,
			   char *err, size_t errlen);
/* The daemon's rules (for a reopen's new acknowledgement deadline): the
 * rules.file of its config `conf`, else of $HAZARDD_CONFIG, else of
 * /etc/hazardd/hazardd.conf when that exists, else the default path with
 * HAZARDD_RULES_FILE from the environment. NULL with err set when the
 * config or the rules cannot be read; free with hz_rules_destroy. */
struct hz_rules;
struct hz_rules *hz_ctl_load_rules(const char *conf, char *err, size_t errlen);
/* Print `hazardctl: ...` and "Try 'hazardctl CMD --help'."; returns 2. */
int hz_ctl_usage(const char *cmd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#endif
