/* test_state.c - the closed-loop state machine (tickets/state.c), driven
 * from its own table: every action against every state and kind, allowed
 * and refused; the tier rule; each need's specific refusal; actors, drills
 * and rectification deadlines; and the README's table is the code's. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tickets/state.h"

#define NOW (INT64_C(1800000000) * HZ_US_PER_SEC)
#define DAY (INT64_C(86400) * HZ_US_PER_SEC)

struct fx {
	struct hz_state_ticket tk;
	struct hz_state_actor ac;
	struct hz_state_cmd cmd;
	struct hz_state_assignee ag;
};

/* A command that satisfies every need, by a city operator on the chain. */
static struct fx fixture(enum hz_action a, enum hz_state s, enum hz_kind k)
{
	struct fx f;
	memset(&f, 0, sizeof(f));
	f.tk = (struct hz_state_ticket){.ticket_id = 7, .kind = k, .state = s, .tier = HZ_TIER_TOWN,
					.mode = HZ_MODE_ACTUAL, .acked = false,
					.rectified_by = "duty-1", .deadline_us = NOW + 10 * DAY};
	f.ac = (struct hz_state_actor){.actor_id = "duty-2", .known = true, .tier = HZ_TIER_CITY,
				       .org_code = "330100", .on_chain = true};
	f.cmd = (struct hz_state_cmd){.action = a, .mode = HZ_MODE_ACTUAL, .has_reason = true,
				      .has_note = true, .has_assignee = true, .n_evidence = 1,
				      .rectify_mode = HZ_RECTIFY_BY_DEADLINE, .due_us = NOW + DAY,
				      .now_us = NOW};
	f.ag = (struct hz_state_assignee){.id = "MS-330106001001", .kind = HZ_ASSIGNEE_MICRO_STATION,
					  .name = "古荡新村微站", .org_code = "330106001001",
					  .county = "330106", .in_reach = true};
	return f;
}

/* f->cmd.assignee points into f, which the fixtures return by value. */
static int check(struct fx *f, struct hz_state_verdict *v)
{
	f->cmd.assignee = &f->ag;
	return hz_state_check(&f->tk, &f->ac, &f->cmd, v);
}

static void assert_refused(struct fx *f, const char *want)
{
	struct hz_state_verdict v;
	int rc = check(f, &v);
	if (rc != HZ_EINVAL || !strstr(v.reason, want))
		fail_msg("%s on a %s %s: want a refusal with \"%s\", got rc %d \"%s\"",
			 hz_action_name(f->cmd.action), hz_state_name(f->tk.state),
			 hz_kind_name(f->tk.kind), want, rc, v.reason);
}

static void assert_allowed(struct fx *f)
{
	struct hz_state_verdict v;
	if (check(f, &v) != HZ_OK)
		fail_msg("%s on a %s %s refused: %s", hz_action_name(f->cmd.action),
			 hz_state_name(f->tk.state), hz_kind_name(f->tk.kind), v.reason);
}

/* Every row x every state x every kind: allowed exactly when the table
 * says so, to the table's state; otherwise the reason names the state or
 * the kind. */
static void test_every_transition(void **state)
{
	(void)state;
	size_t n;
	const struct hz_state_rule *t = hz_state_table(&n);
	assert_true(n >= 10);
	int allowed = 0, refused = 0;
	for (size_t i = 0; i < n; i++)
		for (int s = HZ_STATE_DISCOVERED; s <= HZ_STATE_DISMISSED; s++)
			for (int k = HZ_KIND_ALARM; k <= HZ_KIND_FAULT; k++) {
				struct fx f = fixture(t[i].action, (enum hz_state)s, (enum hz_kind)k);
				struct hz_state_verdict v;
				int rc = check(&f, &v);
				bool ok_state = t[i].from & HZ_STATE_BIT(s);
				bool ok_kind = t[i].kinds & HZ_KIND_BIT(k);
				char want[64];
				if (ok_state && ok_kind) {
					if (rc != HZ_OK)
						fail_msg("%s on %s %s refused: %s", hz_action_name(t[i].action),
							 hz_state_name((enum hz_state)s),
							 hz_kind_name((enum hz_kind)k), v.reason);
					assert_int_equal(v.to, t[i].to ? t[i].to : (enum hz_state)s);
					assert_ptr_equal(v.rule, &t[i]);
					assert_string_equal(v.reason, "");
					allowed++;
				} else if (!ok_state) {
					snprintf(want, sizeof(want), "ticket 7 is %s",
						 hz_state_name((enum hz_state)s));
					assert_refused(&f, want);
					refused++;
				} else {
					assert_refused(&f, hz_kind_name((enum hz_kind)k));
					refused++;
				}
			}
	assert_true(allowed > 0 && refused > 0);
}

/* The headline transitions, spelled out. */
static void test_the_loop(void **state)
{
	(void)state;
	struct hz_state_verdict v;
	struct {
		enum hz_action a;
		enum hz_state from, to;
		enum hz_kind k;
	} path[] = {
		{HZ_ACT_CONFIRM, HZ_STATE_DISCOVERED, HZ_STATE_CONFIRMED, HZ_KIND_HAZARD},
		{HZ_ACT_CONTROL, HZ_STATE_CONFIRMED, HZ_STATE_CONTROLLED, HZ_KIND_ALARM},
		{HZ_ACT_RECTIFY, HZ_STATE_CONTROLLED, HZ_STATE_RECTIFYING, HZ_KIND_HAZARD},
		{HZ_ACT_VERIFY, HZ_STATE_RECTIFYING, HZ_STATE_CLOSED, HZ_KIND_HAZARD},
		{HZ_ACT_CLOSE, HZ_STATE_CONTROLLED, HZ_STATE_CLOSED, HZ_KIND_ALARM},
		{HZ_ACT_DISMISS, HZ_STATE_DISCOVERED, HZ_STATE_DISMISSED, HZ_KIND_ALARM},
		{HZ_ACT_REOPEN, HZ_STATE_CLOSED, HZ_STATE_CONFIRMED, HZ_KIND_HAZARD},
		{HZ_ACT_REOPEN, HZ_STATE_DISMISSED, HZ_STATE_CONFIRMED, HZ_KIND_ALARM},
		{HZ_ACT_ACK, HZ_STATE_CONFIRMED, HZ_STATE_CONFIRMED, HZ_KIND_FAULT},
		{HZ_ACT_DISPATCH, HZ_STATE_CONFIRMED, HZ_STATE_CONFIRMED, HZ_KIND_ALARM},
		{HZ_ACT_COMMENT, HZ_STATE_CLOSED, HZ_STATE_CLOSED, HZ_KIND_WARNING},
	};
	for (size_t i = 0; i < HZ_ARRAY_LEN(path); i++) {
		struct fx f = fixture(path[i].a, path[i].from, path[i].k);
		assert_int_equal(check(&f, &v), HZ_OK);
		assert_int_equal(v.to, path[i].to);
	}
	struct fx f = fixture(HZ_ACT_CLOSE, HZ_STATE_RECTIFYING, HZ_KIND_HAZARD);
	assert_refused(&f, "a hazard ticket closes only by verify");
	f = fixture(HZ_ACT_CONFIRM, HZ_STATE_CLOSED, HZ_KIND_ALARM);
	assert_refused(&f, "ticket 7 is closed");
	f = fixture(HZ_ACT_VERIFY, HZ_STATE_CONFIRMED, HZ_KIND_HAZARD);
	assert_refused(&f, "ticket 7 is confirmed: verify needs rectifying");
}

/* State-changing rows need tier >= the ticket's; the others only the chain. */
static void test_tiers(void **state)
{
	(void)state;
	size_t n;
	const struct hz_state_rule *t = hz_state_table(&n);
	for (size_t i = 0; i < n; i++) {
		enum hz_state s = t[i].from & HZ_STATE_BIT(HZ_STATE_DISCOVERED) ? HZ_STATE_DISCOVERED
				  : t[i].from & HZ_STATE_BIT(HZ_STATE_RECTIFYING) ? HZ_STATE_RECTIFYING
										  : HZ_STATE_CLOSED;
		enum hz_kind k = t[i].kinds & HZ_KIND_BIT(HZ_KIND_HAZARD) ? HZ_KIND_HAZARD : HZ_KIND_ALARM;
		struct fx f = fixture(t[i].action, s, k);
		f.tk.tier = HZ_TIER_COUNTY;
		f.ac.tier = HZ_TIER_TOWN;
		if (t[i].tier_check) {
			assert_refused(&f, "actor lacks tier county");
			f.ac.tier = HZ_TIER_COUNTY;
			assert_allowed(&f);
		} else {
			f.ac.tier = HZ_TIER_GRID;
			assert_allowed(&f);
		}
		/* a state change is never allowed below the ticket's tier */
		if (t[i].to != HZ_STATE_NONE)
			assert_true(t[i].tier_check);
	}
	/* reopen: the county, even on a town ticket */
	struct fx f = fixture(HZ_ACT_REOPEN, HZ_STATE_CLOSED, HZ_KIND_ALARM);
	f.tk.tier = HZ_TIER_GRID;
	f.ac.tier = HZ_TIER_TOWN;
	assert_refused(&f, "actor lacks tier county");
	f.ac.tier = HZ_TIER_COUNTY;
	assert_allowed(&f);
}

/* Each need refused with its own reason when missing. */
static void test_needs(void **state)
{
	(void)state;
	size_t n;
	const struct hz_state_rule *t = hz_state_table(&n);
	for (size_t i = 0; i < n; i++) {
		enum hz_state s = t[i].from & HZ_STATE_BIT(HZ_STATE_CONFIRMED) ? HZ_STATE_CONFIRMED
				  : t[i].from & HZ_STATE_BIT(HZ_STATE_RECTIFYING) ? HZ_STATE_RECTIFYING
				  : t[i].from & HZ_STATE_BIT(HZ_STATE_DISCOVERED) ? HZ_STATE_DISCOVERED
										  : HZ_STATE_CLOSED;
		enum hz_kind k = t[i].kinds & HZ_KIND_BIT(HZ_KIND_HAZARD) ? HZ_KIND_HAZARD : HZ_KIND_ALARM;
		const char *act = hz_action_name(t[i].action);
		char want[128];
		struct fx f = fixture(t[i].action, s, k);
		assert_allowed(&f);
		if (t[i].needs & HZ_NEED_REASON) {
			f = fixture(t[i].action, s, k);
			f.cmd.has_reason = false;
			snprintf(want, sizeof(want), "%s needs a reason", act);
			assert_refused(&f, want);
		}
		if (t[i].needs & HZ_NEED_TEXT) {
			f = fixture(t[i].action, s, k);
			f.cmd.has_reason = f.cmd.has_note = false;
			snprintf(want, sizeof(want), "%s needs a note", act);
			assert_refused(&f, want);
		}
		if (t[i].needs & HZ_NEED_ASSIGNEE) {
			f = fixture(t[i].action, s, k);
			f.cmd.has_assignee = false;
			snprintf(want, sizeof(want), "%s needs an assignee", act);
			assert_refused(&f, want);
		}
		if (t[i].needs & HZ_NEED_EVIDENCE) {
			f = fixture(t[i].action, s, k);
			f.cmd.n_evidence = 0;
			snprintf(want, sizeof(want), "%s needs re-inspection evidence", act);
			assert_refused(&f, want);
		}
		if (t[i].needs & HZ_NEED_OTHER_ACTOR) {
			f = fixture(t[i].action, s, k);
			f.ac.actor_id = "duty-1";
			snprintf(want, sizeof(want), "%s needs an actor other than duty-1 who rectified it",
				 act);
			assert_refused(&f, want);
		}
		if (t[i].needs & HZ_NEED_UNACKED) {
			f = fixture(t[i].action, s, k);
			f.tk.acked = true;
			assert_refused(&f, "ticket 7 is already acknowledged");
		}
		/* restarting call-and-respond: the rows that say so */
		f = fixture(t[i].action, s, k);
		struct hz_state_verdict rv;
		assert_int_equal(check(&f, &rv), HZ_OK);
		assert_int_equal(rv.recall, (t[i].needs & HZ_NEED_RECALL) != 0);
		/* acknowledging: the ack itself and every row that says so, once */
		f = fixture(t[i].action, s, k);
		struct hz_state_verdict v;
		assert_int_equal(check(&f, &v), HZ_OK);
		assert_int_equal(v.acks, (t[i].needs & HZ_NEED_ACKS) || t[i].action == HZ_ACT_ACK);
		if (!(t[i].needs & HZ_NEED_UNACKED)) {
			f.tk.acked = true;
			assert_int_equal(check(&f, &v), HZ_OK);
			assert_false(v.acks);
		}
	}
}

/* A dispatch names a registered rescue unit, person or org unit of the
 * ticket's county; anything else is refused with its own reason, after the
 * checks that come first (the state, the tier). */
static void test_dispatch_assignee(void **state)
{
	(void)state;
	struct fx f = fixture(HZ_ACT_DISPATCH, HZ_STATE_CONFIRMED, HZ_KIND_ALARM);
	assert_allowed(&f);
	for (int k = HZ_ASSIGNEE_MICRO_STATION; k <= HZ_ASSIGNEE_ORG_UNIT; k++) {
		f.ag.kind = (enum hz_assignee_kind)k;
		assert_allowed(&f);
	}
	/* not in the registry */
	f = fixture(HZ_ACT_DISPATCH, HZ_STATE_CONFIRMED, HZ_KIND_ALARM);
	f.ag = (struct hz_state_assignee){.id = "xyz", .county = "330106"};
	assert_refused(&f, "assignee \"xyz\" is not a registered rescue unit, brigade, person or org unit");
	/* not looked up at all counts as unknown: never a free-text assignee */
	f = fixture(HZ_ACT_DISPATCH, HZ_STATE_CONFIRMED, HZ_KIND_ALARM);
	struct hz_state_verdict v;
	assert_int_equal(hz_state_check(&f.tk, &f.ac, &f.cmd, &v), HZ_EINVAL);
	assert_non_null(strstr(v.reason, "is not a registered rescue unit"));
	/* registered, but another county's */
	f = fixture(HZ_ACT_DISPATCH, HZ_STATE_CONFIRMED, HZ_KIND_ALARM);
	f.ag = (struct hz_state_assignee){.id = "FB-330110001", .kind = HZ_ASSIGNEE_BRIGADE,
					  .name = "仓前街道专职消防队", .org_code = "330110001",
					  .county = "330106", .in_reach = false};
	assert_refused(&f, "full-time brigade FB-330110001 (仓前街道专职消防队) of 330110001 is "
			   "outside county 330106 of ticket 7");
	f.ag.kind = HZ_ASSIGNEE_PERSON;
	f.ag.id = "P-330110-C01";
	f.ag.name = "";
	f.ag.org_code = "330110";
	assert_refused(&f, "person P-330110-C01 of 330110 is outside county 330106 of ticket 7");
	/* a ticket without a county: the chain is the reach */
	f.ag.county = "";
	assert_refused(&f, "person P-330110-C01 of 330110 is not on the chain of ticket 7");
	/* the missing assignee and the state come first */
	f = fixture(HZ_ACT_DISPATCH, HZ_STATE_CONFIRMED, HZ_KIND_ALARM);
	f.cmd.has_assignee = false;
	f.ag.kind = HZ_ASSIGNEE_NONE;
	assert_refused(&f, "dispatch needs an assignee");
	f = fixture(HZ_ACT_DISPATCH, HZ_STATE_CLOSED, HZ_KIND_ALARM);
	f.ag.kind = HZ_ASSIGNEE_NONE;
	assert_refused(&f, "ticket 7 is closed");
	/* other actions do not look at it */
	f = fixture(HZ_ACT_COMMENT, HZ_STATE_CONFIRMED, HZ_KIND_ALARM);
	f.ag.kind = HZ_ASSIGNEE_NONE;
	assert_allowed(&f);
}

static void test_assignee_names(void **state)
{
	(void)state;
	for (int k = HZ_ASSIGNEE_MICRO_STATION; k <= HZ_ASSIGNEE_ORG_UNIT; k++)
		assert_int_equal(hz_assignee_kind_parse(hz_assignee_kind_name((enum hz_assignee_kind)k)),
				 k);
	/* the migration's CHECK and rescue_units.kind spell them so */
	assert_string_equal(hz_assignee_kind_name(HZ_ASSIGNEE_MICRO_STATION), "micro_station");
	assert_string_equal(hz_assignee_kind_name(HZ_ASSIGNEE_BRIGADE), "full_time_brigade");
	assert_string_equal(hz_assignee_kind_name(HZ_ASSIGNEE_FIRE_STATION), "fire_rescue_station");
	assert_string_equal(hz_assignee_kind_name(HZ_ASSIGNEE_PERSON), "person");
	assert_string_equal(hz_assignee_kind_name(HZ_ASSIGNEE_ORG_UNIT), "org_unit");
	assert_string_equal(hz_assignee_kind_name(HZ_ASSIGNEE_NONE), "");
	assert_string_equal(hz_assignee_kind_name((enum hz_assignee_kind)42), "");
	assert_int_equal(hz_assignee_kind_parse("brigade"), HZ_ASSIGNEE_NONE);
	assert_int_equal(hz_assignee_kind_parse(""), HZ_ASSIGNEE_NONE);
	assert_int_equal(hz_assignee_kind_parse(NULL), HZ_ASSIGNEE_NONE);
	char buf[128];
	struct hz_state_assignee ag = {.id = "FS-330106", .kind = HZ_ASSIGNEE_FIRE_STATION,
				       .name = "西湖消防救援站"};
	assert_string_equal(hz_assignee_describe(&ag, buf, sizeof(buf)),
			    "fire rescue station FS-330106 (西湖消防救援站)");
	ag = (struct hz_state_assignee){.id = "P-1", .kind = HZ_ASSIGNEE_PERSON, .name = ""};
	assert_string_equal(hz_assignee_describe(&ag, buf, sizeof(buf)), "person P-1");
	ag = (struct hz_state_assignee){.id = "330106", .kind = HZ_ASSIGNEE_ORG_UNIT, .name = "西湖区"};
	assert_string_equal(hz_assignee_describe(&ag, buf, sizeof(buf)), "org unit 330106 (西湖区)");
	assert_string_equal(hz_assignee_describe(NULL, buf, sizeof(buf)), "assignee ");
}

/* Reopen, and only reopen, restarts call-and-respond; it does not count as
 * an acknowledgement. */
static void test_reopen_recalls(void **state)
{
	(void)state;
	size_t n;
	const struct hz_state_rule *t = hz_state_table(&n);
	for (size_t i = 0; i < n; i++)
		assert_int_equal((t[i].needs & HZ_NEED_RECALL) != 0, t[i].action == HZ_ACT_REOPEN);
	struct fx f = fixture(HZ_ACT_REOPEN, HZ_STATE_CLOSED, HZ_KIND_ALARM);
	f.tk.acked = true;
	struct hz_state_verdict v;
	assert_int_equal(check(&f, &v), HZ_OK);
	assert_true(v.recall);
	assert_false(v.acks);
	assert_int_equal(v.to, HZ_STATE_CONFIRMED);
	f.tk.acked = false;
	assert_int_equal(check(&f, &v), HZ_OK);
	assert_true(v.recall);
	assert_false(v.acks);
	/* a refused reopen restarts nothing */
	f.cmd.has_reason = false;
	assert_int_equal(check(&f, &v), HZ_EINVAL);
	assert_false(v.recall);
	/* a warning reopens only before its expiry: after it, the expiry scan
	 * would close it again at once */
	f = fixture(HZ_ACT_REOPEN, HZ_STATE_CLOSED, HZ_KIND_WARNING);
	f.tk.expires_us = NOW + DAY;
	assert_allowed(&f);
	f.tk.expires_us = NOW;
	assert_refused(&f, "is a warning that expired at");
}

static void test_rectify(void **state)
{
	(void)state;
	struct fx f = fixture(HZ_ACT_RECTIFY, HZ_STATE_CONFIRMED, HZ_KIND_HAZARD);
	assert_allowed(&f);
	f.cmd.rectify_mode = HZ_RECTIFY_ON_SPOT;
	assert_refused(&f, "rectify on the spot takes no due time");
	f.cmd.due_us = 0;
	assert_allowed(&f);
	f.cmd.rectify_mode = HZ_RECTIFY_BY_DEADLINE;
	assert_refused(&f, "rectify by deadline needs a due time");
	f.cmd.rectify_mode = HZ_RECTIFY_NONE;
	assert_refused(&f, "rectify needs a mode");
	f = fixture(HZ_ACT_RECTIFY, HZ_STATE_CONFIRMED, HZ_KIND_HAZARD);
	f.cmd.due_us = NOW - 1;
	assert_refused(&f, "rectify due time must be in the future");
	f.cmd.due_us = NOW + 11 * DAY;
	assert_refused(&f, "rectify due time is after the close-out deadline");
	f.tk.deadline_us = 0;
	assert_allowed(&f);
	f = fixture(HZ_ACT_RECTIFY, HZ_STATE_CONFIRMED, HZ_KIND_WARNING);
	assert_refused(&f, "a warning is not rectified");
}

static void test_actor_and_mode(void **state)
{
	(void)state;
	struct fx f = fixture(HZ_ACT_CLOSE, HZ_STATE_CONFIRMED, HZ_KIND_ALARM);
	f.ac.known = false;
	f.ac.actor_id = "ghost";
	assert_refused(&f, "unknown actor \"ghost\"");
	f = fixture(HZ_ACT_COMMENT, HZ_STATE_CONFIRMED, HZ_KIND_ALARM);
	f.ac.on_chain = false;
	assert_refused(&f, "actor duty-2 (330100) is not on the chain of ticket 7");
	/* the chain comes before the state: a stranger learns nothing more */
	f = fixture(HZ_ACT_CLOSE, HZ_STATE_CLOSED, HZ_KIND_ALARM);
	f.ac.on_chain = false;
	assert_refused(&f, "is not on the chain");
	/* drills: the same rules on a drill ticket; never a drill on a live one */
	f = fixture(HZ_ACT_CLOSE, HZ_STATE_CONFIRMED, HZ_KIND_ALARM);
	f.tk.mode = HZ_MODE_EXERCISE;
	assert_allowed(&f);
	f.cmd.mode = HZ_MODE_EXERCISE;
	assert_allowed(&f);
	f.tk.mode = HZ_MODE_ACTUAL;
	assert_refused(&f, "an exercise-mode command cannot act on live ticket 7");
	f.cmd.mode = HZ_MODE_TEST;
	assert_refused(&f, "a test-mode command cannot act on live ticket 7");
	/* not ticket commands */
	f = fixture(HZ_ACT_SILENCE, HZ_STATE_CONFIRMED, HZ_KIND_ALARM);
	assert_refused(&f, "action silence is not a ticket command");
	f = fixture(HZ_ACT_NONE, HZ_STATE_CONFIRMED, HZ_KIND_ALARM);
	assert_refused(&f, "is not a ticket command");
}

static void test_names(void **state)
{
	(void)state;
	for (int a = HZ_ACT_ACK; a <= HZ_ACT_SILENCE; a++)
		assert_int_equal(hz_action_parse(hz_action_name((enum hz_action)a)), a);
	assert_int_equal(hz_action_parse("bogus"), HZ_ACT_NONE);
	assert_int_equal(hz_action_parse(NULL), HZ_ACT_NONE);
	assert_string_equal(hz_action_name((enum hz_action)99), "invalid");
}

/* The README's "Ticket life" table is generated from the code's table. */
static void test_readme_table(void **state)
{
	(void)state;
	struct hz_buf md = HZ_BUF_INIT;
	assert_int_equal(hz_state_table_markdown(&md), HZ_OK);
	assert_int_equal(hz_buf_cstr(&md), HZ_OK);
	const char *src = getenv("HZ_SRC");
	char path[1024];
	snprintf(path, sizeof(path), "%s/README.md", src ? src : ".");
	FILE *fp = fopen(path, "r");
	if (!fp)
		fail_msg("cannot open %s (run from the source tree or set HZ_SRC)", path);
	static char readme[1 << 20];
	size_t n = fread(readme, 1, sizeof(readme) - 1, fp);
	fclose(fp);
	readme[n] = '\0';
	if (!strstr(readme, (const char *)md.data))
		fail_msg("README.md does not contain the state table of tickets/state.c; "
			 "expected this block:\n%s",
			 (const char *)md.data);
	hz_buf_free(&md);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_every_transition), cmocka_unit_test(test_the_loop),
		cmocka_unit_test(test_tiers),		 cmocka_unit_test(test_needs),
		cmocka_unit_test(test_rectify),		 cmocka_unit_test(test_actor_and_mode),
		cmocka_unit_test(test_names),		 cmocka_unit_test(test_readme_table),
		cmocka_unit_test(test_dispatch_assignee), cmocka_unit_test(test_assignee_names),
		cmocka_unit_test(test_reopen_recalls),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
