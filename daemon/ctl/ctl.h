/*
 * ctl.h - hazardctl's commands: `tickets list` and `tickets show` with the
 * whole timeline, `tail` of the escalation log, `stats` (cmd_tickets.c,
 * cmd_tail.c, cmd_stats.c); the closed loop's ticket actions (cmd_act.c);
 * silences (cmd_silence.c); dead letters, the registry snapshot, rescue
 * coverage and the history chain check (cmd_admin.c); what they share
 * (cmd_common.c). daemon/tools/hazardctl.c dispatches to these; each takes
 * the command's own argv (argv[0] is the subcommand's name, getopt reset)
 * and the DSN of -d (NULL: $HZ_PG_DSN, then libpq's PG* variables).
 *
 * Exit status, the same for every command: 0 ok, 1 not found or nothing
 * matched (tickets show of a missing id, tail --no-follow with no matching
 * line), refused, 2 usage, 3 database unavailable (cannot connect,
 * connection lost, statement timeout). Other failures exit 1.
 */
#ifndef HZ_CTL_H
#define HZ_CTL_H

#include <jansson.h>
#include <libpq-fe.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

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
/* argv[0] names the action: ack, confirm, control, dispatch, rectify,
 * verify, close, dismiss, reopen or comment. */
int hz_ctl_act(int argc, char **argv, const char *dsn);
/* `verify`: with a ticket id (or an option only the ticket command takes)
 * the action (hz_ctl_act), else the history chain check
 * (hz_ctl_verify_chain). */
int hz_ctl_verify(int argc, char **argv, const char *dsn);
int hz_ctl_verify_chain(int argc, char **argv, const char *dsn);
/* silence add|list|cancel: argv[1] is the subcommand. */
int hz_ctl_silence(int argc, char **argv, const char *dsn);
int hz_ctl_dead_letters(int argc, char **argv, const char *dsn);
int hz_ctl_registry(int argc, char **argv, const char *dsn);
int hz_ctl_rescue_coverage(int argc, char **argv, const char *dsn);

/* For hazardctl's command table and `hazardctl help COMMAND`: the usage
 * line (after "usage: hazardctl ") and the help text. */
extern const char hz_ctl_tickets_synopsis[], hz_ctl_tickets_help[];
extern const char hz_ctl_tail_synopsis[], hz_ctl_tail_help[];
extern const char hz_ctl_stats_synopsis[], hz_ctl_stats_help[];
extern const char hz_ctl_ack_synopsis[], hz_ctl_ack_help[];
extern const char hz_ctl_confirm_synopsis[], hz_ctl_confirm_help[];
extern const char hz_ctl_control_synopsis[], hz_ctl_control_help[];
extern const char hz_ctl_dispatch_synopsis[], hz_ctl_dispatch_help[];
extern const char hz_ctl_rectify_synopsis[], hz_ctl_rectify_help[];
extern const char hz_ctl_close_synopsis[], hz_ctl_close_help[];
extern const char hz_ctl_dismiss_synopsis[], hz_ctl_dismiss_help[];
extern const char hz_ctl_reopen_synopsis[], hz_ctl_reopen_help[];
extern const char hz_ctl_comment_synopsis[], hz_ctl_comment_help[];
extern const char hz_ctl_verify_synopsis[], hz_ctl_verify_help[];
extern const char hz_ctl_silence_synopsis[], hz_ctl_silence_help[];
extern const char hz_ctl_dead_letters_synopsis[], hz_ctl_dead_letters_help[];
extern const char hz_ctl_registry_synopsis[], hz_ctl_registry_help[];
extern const char hz_ctl_rescue_coverage_synopsis[], hz_ctl_rescue_coverage_help[];

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
/* Print `hazardctl: ...` and "Try 'hazardctl CMD --help'." ("Try
 * 'hazardctl --help'." when cmd is NULL); returns 2. */
int hz_ctl_usage(const char *cmd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Print "usage: hazardctl SYNOPSIS", a blank line and the help text on
 * stdout; returns 0, the status of COMMAND --help. */
int hz_ctl_help(const char *synopsis, const char *help);
/* A decimal number >= min filling the whole of s; false otherwise. */
bool hz_ctl_parse_long(const char *s, long min, long *out);

/* ---- JSON output (--json) ---- */

/* An RFC 3339 UTC string; null for 0. */
json_t *hz_ctl_json_time(int64_t us);
/* A string; null for NULL or "". */
json_t *hz_ctl_json_opt(const char *s);
/* Print j on stdout, indented, keys in insertion order, then a newline, and
 * free it (takes ownership). j NULL means building it ran out of memory.
 * Returns the exit status: 0, or 1 with the reason on stderr. */
int hz_ctl_json_print(json_t *j);

#endif
