/* test_merge.c - the ticket dedupe logic: one open ticket per episode,
 * replays and in-batch duplicates counted once, the level only rises. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <stdio.h>
#include <string.h>

#include "tickets/merge.h"

static struct hz_intent mk(const char *ev, const char *ep, enum hz_level l, int64_t at)
{
	struct hz_intent in;
	memset(&in, 0, sizeof(in));
	in.event_id = ev;
	in.kind = HZ_KIND_ALARM;
	in.level = l;
	in.tier = HZ_TIER_GRID;
	in.at_us = at;
	snprintf(in.episode_key, sizeof(in.episode_key), "%s", ep);
	snprintf(in.site_id, sizeof(in.site_id), "%.*s", (int)strcspn(ep, "|"), ep);
	snprintf(in.hazard_type, sizeof(in.hazard_type), "fire_smoke");
	return in;
}

static void test_new_episodes_grouped(void **state)
{
	(void)state;
	struct hz_intent in[] = {mk("a", "S1|smoke", HZ_LEVEL_YELLOW, 1),
				 mk("b", "S2|smoke", HZ_LEVEL_BLUE, 2),
				 mk("c", "S1|smoke", HZ_LEVEL_RED, 3),
				 mk("d", "S1|smoke", HZ_LEVEL_ORANGE, 4)};
	bool fresh[] = {true, true, true, true};
	size_t order[4];
	struct hz_merged out[4];
	size_t n = hz_tickets_merge(in, fresh, 4, NULL, 0, 100, NULL, order, out);
	assert_int_equal(n, 2);
	assert_string_equal(out[0].episode_key, "S1|smoke");
	assert_true(out[0].is_new);
	assert_int_equal(out[0].tk.level, HZ_LEVEL_RED);
	assert_int_equal(out[0].tk.event_count, 3);
	assert_string_equal(out[0].first->event_id, "a");
	assert_string_equal(out[0].last->event_id, "d");
	assert_string_equal(out[0].top->event_id, "c");
	assert_int_equal(out[0].next_seq, 1);
	assert_int_equal(out[0].tk.state, HZ_STATE_DISCOVERED);
	assert_int_equal(out[1].tk.event_count, 1);
}

static void test_replays_and_duplicates_once(void **state)
{
	(void)state;
	struct hz_intent in[] = {mk("a", "S1|smoke", HZ_LEVEL_RED, 1),
				 mk("b", "S1|smoke", HZ_LEVEL_YELLOW, 2),
				 mk("b", "S1|smoke", HZ_LEVEL_YELLOW, 2)};
	bool fresh[] = {false, true, true}; /* "a" was applied before */
	size_t order[3];
	struct hz_merged out[3];
	struct hz_open_ticket open;
	memset(&open, 0, sizeof(open));
	open.tk.ticket_id = 42;
	open.tk.level = HZ_LEVEL_ORANGE;
	open.tk.state = HZ_STATE_CONFIRMED;
	open.tk.event_count = 5;
	open.last_seq = 3;
	snprintf(open.episode_key, sizeof(open.episode_key), "S1|smoke");
	size_t n = hz_tickets_merge(in, fresh, 3, &open, 1, 100, NULL, order, out);
	assert_int_equal(n, 1);
	assert_false(out[0].is_new);
	assert_int_equal(out[0].tk.ticket_id, 42);
	assert_int_equal(out[0].added_events, 1);         /* b once; a was a replay */
	assert_int_equal(out[0].tk.event_count, 6);
	assert_int_equal(out[0].tk.level, HZ_LEVEL_ORANGE); /* never lowered */
	assert_false(out[0].level_raised);
	assert_false(out[0].history);
	assert_int_equal(out[0].from_state, HZ_STATE_CONFIRMED);
}

static void test_level_raise_history(void **state)
{
	(void)state;
	struct hz_intent in[] = {mk("x", "S9|smoke", HZ_LEVEL_RED, 1)};
	bool fresh[] = {true};
	size_t order[1];
	struct hz_merged out[1];
	struct hz_open_ticket open;
	memset(&open, 0, sizeof(open));
	open.tk.ticket_id = 7;
	open.tk.level = HZ_LEVEL_YELLOW;
	open.tk.state = HZ_STATE_DISCOVERED;
	open.last_seq = 1;
	snprintf(open.episode_key, sizeof(open.episode_key), "S9|smoke");
	assert_int_equal(hz_tickets_merge(in, fresh, 1, &open, 1, 100, NULL, order, out), 1);
	assert_true(out[0].level_raised);
	assert_true(out[0].history);
	assert_int_equal(out[0].next_seq, 2);
	assert_int_equal(out[0].tk.level, HZ_LEVEL_RED);
}

static void test_warning_update_and_cancel(void **state)
{
	(void)state;
	struct hz_intent in[] = {mk("u", "warning|W1|T1", HZ_LEVEL_YELLOW, 1)};
	in[0].op = HZ_OP_UPDATE;
	in[0].deadline_us = 777;
	bool fresh[] = {true};
	size_t order[1];
	struct hz_merged out[1];
	struct hz_open_ticket open;
	memset(&open, 0, sizeof(open));
	open.tk.ticket_id = 9;
	open.tk.level = HZ_LEVEL_ORANGE;
	open.tk.state = HZ_STATE_DISCOVERED;
	snprintf(open.episode_key, sizeof(open.episode_key), "warning|W1|T1");
	assert_int_equal(hz_tickets_merge(in, fresh, 1, &open, 1, 100, NULL, order, out), 1);
	assert_int_equal(out[0].tk.level, HZ_LEVEL_YELLOW); /* an update may lower */
	assert_true(out[0].level_changed);
	assert_false(out[0].level_raised);
	assert_int_equal(out[0].tk.deadline_us, 777);
	in[0].op = HZ_OP_CLOSE;
	assert_int_equal(hz_tickets_merge(in, fresh, 1, &open, 1, 100, NULL, order, out), 1);
	assert_true(out[0].closed);
	assert_int_equal(out[0].tk.state, HZ_STATE_CLOSED);
	assert_int_equal(out[0].tk.closed_us, 100);
	/* a cancel with nothing open changes nothing */
	assert_int_equal(hz_tickets_merge(in, fresh, 1, NULL, 0, 100, NULL, order, out), 0);
}

static void test_all_replays_nothing(void **state)
{
	(void)state;
	struct hz_intent in[] = {mk("a", "S1|smoke", HZ_LEVEL_RED, 1)};
	bool fresh[] = {false};
	size_t order[1];
	struct hz_merged out[1];
	assert_int_equal(hz_tickets_merge(in, fresh, 1, NULL, 0, 100, NULL, order, out), 0);
}

/* A rise on a ticket that climbed to the county: the county is called with
 * the county's deadline for the new level, not the grid's the rule carries;
 * and the TicketEvent's ticket says so. Without rules, the intent's own. */
static void test_rise_at_ticket_tier(void **state)
{
	(void)state;
	static struct hz_rules rules; /* zero: no deadlines but these */
	rules.esc.ack_us[HZ_LEVEL_RED][HZ_TIER_GRID] = 60;
	rules.esc.ack_us[HZ_LEVEL_RED][HZ_TIER_COUNTY] = 600;
	struct hz_intent in[] = {mk("r", "S4|smoke", HZ_LEVEL_RED, 1)};
	in[0].ack_us = 60; /* as rules.c sets it: red at the rule's grid tier */
	bool fresh[] = {true};
	size_t order[1];
	struct hz_merged out[1];
	struct hz_open_ticket open;
	memset(&open, 0, sizeof(open));
	open.tk.ticket_id = 8;
	open.tk.level = HZ_LEVEL_ORANGE;
	open.tk.tier = HZ_TIER_COUNTY;
	open.tk.state = HZ_STATE_DISCOVERED;
	open.tk.ack_due_us = 10000; /* the county's orange call, later than either */
	snprintf(open.episode_key, sizeof(open.episode_key), "S4|smoke");
	assert_int_equal(hz_tickets_merge(in, fresh, 1, &open, 1, 100, &rules, order, out), 1);
	assert_true(out[0].level_raised);
	assert_int_equal(out[0].ack_due_us, 100 + 600);
	assert_int_equal(out[0].tk.ack_due_us, 100 + 600);
	assert_int_equal(out[0].tk.tier, HZ_TIER_COUNTY);
	assert_int_equal(hz_tickets_merge(in, fresh, 1, &open, 1, 100, NULL, order, out), 1);
	assert_int_equal(out[0].ack_due_us, 100 + 60);
	/* an earlier call already running stands */
	open.tk.ack_due_us = 150;
	assert_int_equal(hz_tickets_merge(in, fresh, 1, &open, 1, 100, &rules, order, out), 1);
	assert_int_equal(out[0].tk.ack_due_us, 150);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_new_episodes_grouped),
		cmocka_unit_test(test_replays_and_duplicates_once),
		cmocka_unit_test(test_level_raise_history),
		cmocka_unit_test(test_rise_at_ticket_tier),
		cmocka_unit_test(test_warning_update_and_cancel),
		cmocka_unit_test(test_all_replays_nothing),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
