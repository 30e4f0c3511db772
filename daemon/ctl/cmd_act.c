/*
 * cmd_act.c - the closed loop's ticket commands: ack, confirm, control,
 * dispatch, rectify, verify ID (核销), close, dismiss, reopen, comment. Each
 * builds one hz_command and applies it through store/command.c, the
 * daemon's own apply path, so a command typed here and one arriving over
 * MQTT or Kafka are judged and recorded alike; a retry with the same
 * --command-id prints the stored result.
 *
 * Also the `verify` dispatch: with a ticket id it is the action here,
 * without one the history chain check (cmd_admin.c). Deliberately no
 * state rules: the state table and the reach checks are store/command.c's.
 */
#include "ctl/ctl.h"
#include "codec/codec.h"
#include "core/hz.h"
#include "rules/rules.h"
#include "store/command.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <unistd.h>

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

const char hz_ctl_ack_synopsis[] = "ack ID --actor WHO [--note TEXT] [OPTIONS]";
const char hz_ctl_ack_help[] =
	"Acknowledge a ticket: stops its escalation (call-and-respond); the state does not\n"
	"change. Refused when the ticket is closed or dismissed or already acknowledged.\n"
	ACTION_COMMON;
const char hz_ctl_confirm_synopsis[] = "confirm ID --actor WHO [OPTIONS]";
const char hz_ctl_confirm_help[] =
	"discovered -> confirmed: the alarm or hazard is real. Needs tier >= the ticket's.\n"
	ACTION_COMMON;
const char hz_ctl_control_synopsis[] = "control ID --actor WHO [OPTIONS]";
const char hz_ctl_control_help[] =
	"discovered or confirmed -> controlled: the danger is contained.\n" ACTION_COMMON;
const char hz_ctl_dispatch_synopsis[] = "dispatch ID --actor WHO --assignee WHO [OPTIONS]";
const char hz_ctl_dispatch_help[] =
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
	"                     dispatched to micro station MS-1 (name)\".\n" ACTION_COMMON;
const char hz_ctl_rectify_synopsis[] = "rectify ID --actor WHO (--on-spot | --due TIME) [OPTIONS]";
const char hz_ctl_rectify_help[] =
	"-> rectifying: fixed on the spot (立行立改, --on-spot) or to be fixed by a deadline\n"
	"(限期整改, --due TIME, before the close-out deadline; overdue escalates). Alarms,\n"
	"hazards and faults.\n" ACTION_COMMON;
const char hz_ctl_close_synopsis[] = "close ID --actor WHO [OPTIONS]";
const char hz_ctl_close_help[] =
	"Close an open alarm, warning or fault ticket (a hazard closes only by verify).\n"
	ACTION_COMMON;
const char hz_ctl_dismiss_synopsis[] = "dismiss ID --actor WHO --reason TEXT [OPTIONS]";
const char hz_ctl_dismiss_help[] =
	"An open ticket was a false alarm -> dismissed. The reason is required.\n"
	ACTION_COMMON;
const char hz_ctl_reopen_synopsis[] =
	"reopen ID --actor WHO --reason TEXT [-c HAZARDD_CONF] [OPTIONS]";
const char hz_ctl_reopen_help[] =
	"closed or dismissed -> confirmed, keeping the history. Needs tier county or above\n"
	"(and >= the ticket's) and a reason. Restarts call-and-respond: the old\n"
	"acknowledgement is cleared and a new deadline set at the ticket's tier from\n"
	"hazardd's rules (escalation.ack for its level, major_risk), as for a new ticket;\n"
	"unanswered, it climbs the chain again.\n"
	"  -c, --config FILE  hazardd's config, for rules.file (default: $HAZARDD_CONFIG,\n"
	"                     then /etc/hazardd/hazardd.conf, else $HAZARDD_RULES_FILE or\n"
	"                     /etc/hazardd/rules.yaml); exit 1 when the rules cannot be read\n"
	ACTION_COMMON;
const char hz_ctl_comment_synopsis[] = "comment ID --actor WHO --note TEXT [OPTIONS]";
const char hz_ctl_comment_help[] =
	"Add a note (and evidence) to a ticket in any state.\n" ACTION_COMMON;
const char hz_ctl_verify_synopsis[] =
	"verify [--ticket ID] [--since WHEN] [--json]\n"
	"       hazardctl verify ID --actor WHO --evidence URL [OPTIONS]";
const char hz_ctl_verify_help[] =
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
	"evidence and an actor other than the one who rectified it.\n" ACTION_COMMON;

static const struct {
	const char *name, *synopsis, *help;
} docs[] = {
	{"ack", hz_ctl_ack_synopsis, hz_ctl_ack_help},
	{"confirm", hz_ctl_confirm_synopsis, hz_ctl_confirm_help},
	{"control", hz_ctl_control_synopsis, hz_ctl_control_help},
	{"dispatch", hz_ctl_dispatch_synopsis, hz_ctl_dispatch_help},
	{"rectify", hz_ctl_rectify_synopsis, hz_ctl_rectify_help},
	{"close", hz_ctl_close_synopsis, hz_ctl_close_help},
	{"dismiss", hz_ctl_dismiss_synopsis, hz_ctl_dismiss_help},
	{"reopen", hz_ctl_reopen_synopsis, hz_ctl_reopen_help},
	{"comment", hz_ctl_comment_synopsis, hz_ctl_comment_help},
	{"verify", hz_ctl_verify_synopsis, hz_ctl_verify_help},
};

/* `name` as hazardctl's command table matches it: the command's name,
 * alone or followed by a space and anything. */
static int help(const char *name)
{
	for (size_t i = 0; i < HZ_ARRAY_LEN(docs); i++) {
		size_t n = strlen(docs[i].name);
		if (strncmp(name, docs[i].name, n) == 0 && (name[n] == '\0' || name[n] == ' '))
			return hz_ctl_help(docs[i].synopsis, docs[i].help);
	}
	return hz_ctl_usage(NULL, "unknown command \"%s\"", name);
}

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

int hz_ctl_act(int argc, char **argv, const char *dsn)
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
	while ((c = getopt_long(argc, argv, "a:n:r:e:c:h", lo, NULL)) != -1) {
		switch (c) {
		case 'h': return help(name);
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
				return hz_ctl_usage(name, "at most %d --evidence URLs",
						    HZ_CMD_EVIDENCE_MAX);
			if (!fits(optarg, HZ_CMD_URL_MAX))
				return hz_ctl_usage(name, "--evidence URL longer than %d bytes",
						    HZ_CMD_URL_MAX - 1);
			snprintf(cmd.evidence[cmd.n_evidence++], HZ_CMD_URL_MAX, "%s", optarg);
			break;
		case 'D':
			if (hz_time_parse(optarg, &due))
				return hz_ctl_usage(name, "invalid --due time \"%s\" (RFC 3339)",
						    optarg);
			break;
		case 't':
			if (hz_time_parse(optarg, &at))
				return hz_ctl_usage(name, "invalid --at time \"%s\" (RFC 3339)", optarg);
			break;
		default: return hz_ctl_usage(name, "bad option");
		}
	}
	long id;
	if (argc - optind != 1)
		return hz_ctl_usage(name, "expected one ticket id");
	if (!hz_ctl_parse_long(argv[optind], 1, &id))
		return hz_ctl_usage(name, "invalid ticket id \"%s\"", argv[optind]);
	if (!actor || !*actor)
		return hz_ctl_usage(
			name, "--actor is required (a person id of the registry; or set $HZ_ACTOR)");
	if (*assignee && cmd.action != HZ_ACT_DISPATCH)
		return hz_ctl_usage(name, "--assignee applies to dispatch only");
	if ((on_spot || due) && cmd.action != HZ_ACT_RECTIFY)
		return hz_ctl_usage(name, "--on-spot and --due apply to rectify only");
	if (cmd.action == HZ_ACT_RECTIFY && on_spot == (due != 0))
		return hz_ctl_usage(name, "rectify needs exactly one of --on-spot and --due TIME");
	if (command_id && (!*command_id || !fits(command_id, sizeof(cmd.command_id))))
		return hz_ctl_usage(name, "--command-id must be 1 to %zu bytes",
				    sizeof(cmd.command_id) - 1);
	for (const char *p = command_id; p && *p; p++)
		if (*p <= ' ' || *p > '~')
			return hz_ctl_usage(name,
					    "--command-id must be printable ASCII without spaces");
	if (!fits(actor, sizeof(cmd.actor_id)) || !fits(note, sizeof(cmd.note)) ||
	    !fits(reason, sizeof(cmd.reason)) || !fits(assignee, sizeof(cmd.assignee)))
		return hz_ctl_usage(name, "an argument is too long");
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
			snprintf(err, sizeof(err),
				 "reopen needs hazardd's rules for the new acknowledgement deadline: %s",
				 why);
			return hz_ctl_fail(HZ_ERR, err);
		}
	}
	PGconn *pg = hz_ctl_connect(dsn, 30000);
	if (!pg) {
		hz_rules_destroy(rules);
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
	if (rc)
		return hz_ctl_fail(rc, err);
	const struct hz_command_result *r = &out.res;
	if (json) {
		struct hz_buf b = HZ_BUF_INIT;
		if (hz_codec_encode_command_result(r, HZ_CT_JSON, &b) || hz_buf_cstr(&b)) {
			hz_buf_free(&b);
			return hz_ctl_fail(HZ_ERR, "could not encode the result as JSON");
		}
		printf("%s\n", (const char *)b.data);
		hz_buf_free(&b);
	}
	if (out.replayed)
		fprintf(stderr, "hazardctl: command %s was %s before: its stored result\n",
			cmd.command_id, r->outcome == HZ_OUTCOME_APPLIED ? "applied" : "refused");
	if (r->outcome != HZ_OUTCOME_APPLIED) {
		fprintf(stderr, "hazardctl: %s refused: %s\n", name, r->reason);
		return HZ_CTL_EXIT_FAIL;
	}
	if (*r->flags)
		fprintf(stderr, "hazardctl: note: %s\n", r->flags);
	if (!json) {
		if (cmd.action == HZ_ACT_ACK)
			printf("ticket %ld acknowledged by %s\n", id, actor);
		else
			printf("%s (%s by %s, command %s)\n", r->reason, name, actor, cmd.command_id);
	}
	return HZ_CTL_EXIT_OK;
}

/* `verify` is two commands: with a ticket id (or an option only the ticket
 * command takes) it is the closed loop's 核销 (hz_ctl_act); without, the
 * history chain check. A bare `verify 42` is therefore the ticket command,
 * which refuses without --actor and --evidence: never a silent close, never
 * a chain check that was not asked for. */
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

int hz_ctl_verify(int argc, char **argv, const char *dsn)
{
	return verify_is_ticket_command(argc, argv) ? hz_ctl_act(argc, argv, dsn)
						    : hz_ctl_verify_chain(argc, argv, dsn);
}
