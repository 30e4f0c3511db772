/*
 * test_ctl.c - the pure parts of hazardctl's terminal output (daemon/ctl/):
 * display width and padding with CJK, the aligned table, colour decision,
 * durations and --since, and escalation-log lines: parsing, filtering,
 * the human format, and finding the last N matching lines.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctl/logline.h"
#include "ctl/tail.h"
#include "ctl/text.h"
#include "out/out_log.h"

static void test_width(void **state)
{
	(void)state;
	assert_int_equal(hz_ctl_width(""), 0);
	assert_int_equal(hz_ctl_width("SITE-1"), 6);
	assert_int_equal(hz_ctl_width("西溪街道"), 8);           /* CJK: two columns each */
	assert_int_equal(hz_ctl_width("A栋3楼"), 6);             /* mixed */
	assert_int_equal(hz_ctl_width("ＡＢ"), 4);               /* fullwidth forms */
	assert_int_equal(hz_ctl_width("e\xcc\x81"), 1);          /* e + combining acute */
	assert_int_equal(hz_ctl_width("\xf0\x9f\x94\xa5"), 2);   /* emoji U+1F525 */
	assert_int_equal(hz_ctl_width("a\xff" "b"), 3);          /* an invalid byte counts one */
	assert_int_equal(hz_ctl_width("한국"), 4);               /* Hangul */
	assert_int_equal(hz_ctl_width(NULL), 0);
}

static void test_fit(void **state)
{
	(void)state;
	char out[64];
	assert_int_equal(hz_ctl_fit("short", 10, out, sizeof(out)), 5);
	assert_string_equal(out, "short");
	assert_int_equal(hz_ctl_fit("abcdefghij", 5, out, sizeof(out)), 5);
	assert_string_equal(out, "abcd\xe2\x80\xa6");
	/* never half a wide character: 4 columns for the text + 1 for "…" */
	assert_int_equal(hz_ctl_fit("西溪街道社区", 6, out, sizeof(out)), 5);
	assert_string_equal(out, "西溪\xe2\x80\xa6");
	assert_int_equal(hz_ctl_width(out), 5);
}

static char *capture_table(struct hz_ctl_table *t, bool colour)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	assert_non_null(f);
	hz_ctl_table_print(t, f, colour);
	fclose(f);
	return buf;
}

static void test_pad_and_table(void **state)
{
	(void)state;
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	hz_ctl_pad(f, "西溪", 6);
	hz_ctl_pad(f, "|", 0);
	fclose(f);
	assert_string_equal(buf, "西溪  |");
	free(buf);

	static const char *const head[] = {"ID", "NAME", "TYPE"};
	struct hz_ctl_table t;
	hz_ctl_table_init(&t, head, 3);
	const char *r1[] = {"1", "西溪街道消防站", "fire"};
	const char *r2[] = {"22", "Depot", "gas"};
	assert_int_equal(hz_ctl_table_add(&t, r1), 0);
	assert_int_equal(hz_ctl_table_add(&t, r2), 0);
	hz_ctl_table_colour(&t, 2, "\033[1;31m");
	char *out = capture_table(&t, false);
	/* NAME is 14 columns wide (7 CJK characters): TYPE starts at column 20 */
	assert_string_equal(out, "ID  NAME            TYPE\n"
				 "1   西溪街道消防站  fire\n"
				 "22  Depot           gas\n");
	free(out);
	out = capture_table(&t, true);
	assert_non_null(strstr(out, "Depot           \033[1;31mgas\033[0m\n"));
	free(out);
	/* a limit cuts the column with an ellipsis, still aligned */
	t.limit[1] = 6;
	out = capture_table(&t, false);
	assert_string_equal(out, "ID  NAME    TYPE\n"
				 "1   西溪\xe2\x80\xa6   fire\n"
				 "22  Depot   gas\n");
	free(out);
	hz_ctl_table_free(&t);
}

static void test_colour(void **state)
{
	(void)state;
	assert_true(hz_ctl_colour_wanted(HZ_CTL_COLOUR_AUTO, true, NULL, "xterm"));
	assert_false(hz_ctl_colour_wanted(HZ_CTL_COLOUR_AUTO, false, NULL, "xterm")); /* piped */
	assert_false(hz_ctl_colour_wanted(HZ_CTL_COLOUR_AUTO, true, "1", "xterm"));   /* NO_COLOR */
	assert_true(hz_ctl_colour_wanted(HZ_CTL_COLOUR_AUTO, true, "", "xterm")); /* empty: unset */
	assert_false(hz_ctl_colour_wanted(HZ_CTL_COLOUR_AUTO, true, NULL, "dumb"));
	assert_false(hz_ctl_colour_wanted(HZ_CTL_COLOUR_NEVER, true, NULL, "xterm"));
	assert_true(hz_ctl_colour_wanted(HZ_CTL_COLOUR_ALWAYS, false, "1", "dumb"));
	assert_true(hz_ctl_term_256("xterm-256color", NULL));
	assert_true(hz_ctl_term_256("xterm", "truecolor"));
	assert_false(hz_ctl_term_256("xterm", NULL));
	assert_string_equal(hz_ctl_level_sgr(HZ_LEVEL_RED, false), "\033[1;31m");
	assert_string_equal(hz_ctl_level_sgr(HZ_LEVEL_ORANGE, true), "\033[38;5;208m");
	assert_string_equal(hz_ctl_level_sgr(HZ_LEVEL_ORANGE, false), "\033[1;33m");
	assert_string_equal(hz_ctl_level_sgr(HZ_LEVEL_YELLOW, true), "\033[33m");
	assert_string_equal(hz_ctl_level_sgr(HZ_LEVEL_BLUE, true), "\033[34m");
	assert_string_equal(hz_ctl_level_sgr(HZ_LEVEL_NONE, true), "");
}

static void test_durations(void **state)
{
	(void)state;
	int64_t us;
	assert_int_equal(hz_ctl_parse_duration("90s", &us), 0);
	assert_int_equal(us, 90 * HZ_US_PER_SEC);
	assert_int_equal(hz_ctl_parse_duration("90", &us), 0);
	assert_int_equal(us, 90 * HZ_US_PER_SEC);
	assert_int_equal(hz_ctl_parse_duration("2h", &us), 0);
	assert_int_equal(us, 7200 * HZ_US_PER_SEC);
	assert_int_equal(hz_ctl_parse_duration("1h30m", &us), 0);
	assert_int_equal(us, 5400 * HZ_US_PER_SEC);
	assert_int_equal(hz_ctl_parse_duration("1w2d", &us), 0);
	assert_int_equal(us, 9 * 86400 * HZ_US_PER_SEC);
	const char *bad[] = {"", "h", "2x", "-5m", "1h30", "2 h", "99999999999999999999s", "500000w"};
	for (size_t i = 0; i < HZ_ARRAY_LEN(bad); i++)
		assert_int_equal(hz_ctl_parse_duration(bad[i], &us), HZ_EINVAL);
	int64_t now = INT64_C(1761534000) * HZ_US_PER_SEC; /* 2025-10-27T03:00:00Z */
	assert_int_equal(hz_ctl_parse_since("2h", now, &us), 0);
	assert_int_equal(us, now - 7200 * HZ_US_PER_SEC);
	assert_int_equal(hz_ctl_parse_since("2025-10-27T08:00:00+08:00", now, &us), 0);
	assert_int_equal(us, now - 3 * 3600 * HZ_US_PER_SEC);
	assert_int_equal(hz_ctl_parse_since("yesterday", now, &us), HZ_EINVAL);

	char b[32];
	hz_ctl_fmt_age(45 * HZ_US_PER_SEC, b, sizeof(b));
	assert_string_equal(b, "45s");
	hz_ctl_fmt_age(12 * 60 * HZ_US_PER_SEC + 5, b, sizeof(b));
	assert_string_equal(b, "12m");
	hz_ctl_fmt_age((3 * 3600 + 5 * 60) * HZ_US_PER_SEC, b, sizeof(b));
	assert_string_equal(b, "3h05m");
	hz_ctl_fmt_age((2 * 86400 + 4 * 3600) * HZ_US_PER_SEC, b, sizeof(b));
	assert_string_equal(b, "2d04h");
	hz_ctl_fmt_age(31 * 86400 * HZ_US_PER_SEC, b, sizeof(b));
	assert_string_equal(b, "31d");
	hz_ctl_fmt_age(-1, b, sizeof(b));
	assert_string_equal(b, "-");
	hz_ctl_fmt_duration(252.4, b, sizeof(b));
	assert_string_equal(b, "4m12s");
	hz_ctl_fmt_duration(-1, b, sizeof(b));
	assert_string_equal(b, "-");
}

static const char ESC_LINE[] =
	"{\"ts\":\"2025-10-27T04:03:04.000000Z\",\"type\":\"escalation\",\"event_id\":\"esc-42-2-0\","
	"\"ticket_id\":42,\"kind\":\"alarm\",\"state\":\"discovered\",\"level\":\"red\","
	"\"from_tier\":\"grid\",\"tier\":\"town\",\"org_unit\":\"330106001\",\"duty\":[\"P-1\",\"P-2\"],"
	"\"called\":[{\"person_id\":\"P-1\",\"name\":\"张三\",\"phone\":\"13800000001\"},"
	"{\"person_id\":\"P-2\",\"name\":\"Li Si\",\"phone\":\"\"}],"
	"\"site_id\":\"SITE-330106001-0001\",\"town\":\"330106001\",\"county\":\"330106\","
	"\"hazard_type\":\"fire_smoke\",\"reason\":\"not acknowledged within 2 s\"}";
static const char TICKET_LINE[] =
	"{\"ts\":\"2025-10-26T04:03:04Z\",\"type\":\"ticket\",\"event_id\":\"x\",\"change\":\"state\","
	"\"ticket_id\":7,\"kind\":\"hazard\",\"state\":\"confirmed\",\"from_state\":\"discovered\","
	"\"level\":\"yellow\",\"tier\":\"grid\",\"site_id\":\"S-2\",\"town\":\"330110001\","
	"\"county\":\"330110\",\"hazard_type\":\"blocked_exit\",\"event_count\":1,\"actor\":\"P-9\","
	"\"reason\":\"seen\",\"mode\":\"exercise\"}";
static const char RATING_LINE[] =
	"{\"ts\":\"2025-10-27T04:00:00Z\",\"type\":\"rating\",\"event_id\":\"r\",\"town\":\"330106001\","
	"\"rating\":\"red\",\"previous\":\"yellow\",\"open_alarms\":2,\"open_hazards\":1,\"overdue\":0}";

static void test_logline_parse_format(void **state)
{
	(void)state;
	setenv("TZ", "UTC", 1);
	int64_t now = INT64_C(1761537784) * HZ_US_PER_SEC + 5; /* 2025-10-27T04:03:04Z */
	struct hz_ctl_logline ll;
	struct hz_buf out = HZ_BUF_INIT;
	assert_int_equal(hz_ctl_logline_parse(ESC_LINE, strlen(ESC_LINE), &ll), 0);
	assert_int_equal(ll.type, HZ_CTL_L_ESCALATION);
	assert_int_equal(ll.ticket_id, 42);
	assert_int_equal(ll.level, HZ_LEVEL_RED);
	assert_int_equal(ll.tier, HZ_TIER_TOWN);
	assert_int_equal(ll.n_called, 2);
	hz_ctl_logline_format(&ll, now, false, false, &out);
	hz_buf_cstr(&out);
	assert_string_equal((char *)out.data,
			    "04:03:04 RED    alarm #42 fire_smoke SITE-330106001-0001 town 330106001 "
			    "escalated grid->town (330106001), called: 张三 13800000001, Li Si: "
			    "not acknowledged within 2 s");
	hz_ctl_logline_format(&ll, now, true, true, &out);
	hz_buf_cstr(&out);
	assert_memory_equal(out.data, "\033[1;31m04:03:04 RED", 19);
	assert_non_null(strstr((char *)out.data, "2 s\033[0m"));
	hz_ctl_logline_clear(&ll);

	/* yesterday's line carries its date; a drill is marked */
	assert_int_equal(hz_ctl_logline_parse(TICKET_LINE, strlen(TICKET_LINE), &ll), 0);
	hz_ctl_logline_format(&ll, now, false, false, &out);
	hz_buf_cstr(&out);
	assert_string_equal((char *)out.data,
			    "2025-10-26 04:03:04 YELLOW [exercise] hazard #7 blocked_exit S-2 town "
			    "330110001 state discovered->confirmed at grid by P-9: seen");
	hz_ctl_logline_clear(&ll);

	assert_int_equal(hz_ctl_logline_parse(RATING_LINE, strlen(RATING_LINE), &ll), 0);
	assert_int_equal(ll.level, HZ_LEVEL_RED);
	hz_ctl_logline_format(&ll, now, false, false, &out);
	hz_buf_cstr(&out);
	assert_string_equal((char *)out.data, "04:00:00 RED    rating town 330106001 yellow->red "
					      "(open alarms 2, hazards 1, overdue 0)");
	hz_ctl_logline_clear(&ll);

	/* an older line without "called": the duty ids */
	const char old[] = "{\"type\":\"escalation\",\"ticket_id\":1,\"level\":\"orange\","
			   "\"tier\":\"county\",\"repeat\":2,\"duty\":[\"P-7\"]}";
	assert_int_equal(hz_ctl_logline_parse(old, strlen(old), &ll), 0);
	hz_ctl_logline_format(&ll, now, false, false, &out);
	hz_buf_cstr(&out);
	assert_non_null(strstr((char *)out.data, "- ORANGE ticket #1 - repeated at county (#2), called: P-7"));
	hz_ctl_logline_clear(&ll);

	assert_int_equal(hz_ctl_logline_parse("not json", 8, &ll), HZ_EINVAL);
	assert_int_equal(hz_ctl_logline_parse("[1,2]", 5, &ll), HZ_EINVAL);
	hz_ctl_logline_clear(&ll);
	hz_buf_free(&out);
}

static bool passes(struct hz_ctl_logfilter *f, const char *line)
{
	struct hz_ctl_logline ll;
	hz_ctl_logline_parse(line, strlen(line), &ll);
	bool ok = hz_ctl_logfilter_match(f, &ll);
	hz_ctl_logline_clear(&ll);
	return ok;
}

static void test_filter(void **state)
{
	(void)state;
	struct hz_ctl_logfilter f = {0};
	assert_true(hz_ctl_logfilter_empty(&f));
	assert_true(passes(&f, "garbage")); /* no filter: everything */
	assert_int_equal(hz_ctl_set_add(&f.towns, "330110001,330106001"), 0);
	assert_false(hz_ctl_logfilter_empty(&f));
	assert_false(passes(&f, "garbage"));
	assert_true(passes(&f, ESC_LINE));
	assert_true(passes(&f, TICKET_LINE));
	hz_ctl_logfilter_free(&f);
	assert_int_equal(hz_ctl_set_add(&f.towns, "330110001"), 0);
	assert_false(passes(&f, ESC_LINE));
	hz_ctl_logfilter_free(&f);

	f.min_level = HZ_LEVEL_ORANGE; /* at least */
	assert_true(passes(&f, ESC_LINE));
	assert_false(passes(&f, TICKET_LINE));
	assert_true(passes(&f, RATING_LINE)); /* a red rating is red */
	f.min_level = 0;

	assert_int_equal(hz_ctl_set_add(&f.tiers, "town"), 0);
	assert_true(passes(&f, ESC_LINE));
	assert_false(passes(&f, TICKET_LINE));
	assert_false(passes(&f, RATING_LINE)); /* no tier */
	hz_ctl_logfilter_free(&f);

	assert_int_equal(hz_ctl_set_add(&f.types, "ticket"), 0);
	assert_int_equal(hz_ctl_set_add(&f.types, "rating"), 0); /* repeated option */
	assert_false(passes(&f, ESC_LINE));
	assert_true(passes(&f, TICKET_LINE));
	assert_true(passes(&f, RATING_LINE));
	hz_ctl_logfilter_free(&f);

	assert_int_equal(hz_ctl_set_add(&f.kinds, "alarm"), 0);
	assert_true(passes(&f, ESC_LINE));
	assert_false(passes(&f, TICKET_LINE));
	hz_ctl_logfilter_free(&f);

	f.no_drills = true;
	assert_true(passes(&f, ESC_LINE));
	assert_false(passes(&f, TICKET_LINE));
	f.no_drills = false;
	f.drills_only = true;
	assert_false(passes(&f, ESC_LINE));
	assert_true(passes(&f, TICKET_LINE));

	struct hz_ctl_set s = {0};
	assert_int_equal(hz_ctl_set_add(&s, "a,,b"), HZ_EINVAL);
	hz_ctl_set_free(&s);
	assert_int_equal(hz_ctl_set_add(&s, ""), HZ_EINVAL);
}

static void test_tail_last(void **state)
{
	(void)state;
	char buf[4096];
	int n = snprintf(buf, sizeof(buf), "%s\n%s\n%s\n%s\n{\"partial", ESC_LINE, TICKET_LINE,
			 RATING_LINE, ESC_LINE);
	size_t starts[8], ends[8];
	struct hz_ctl_logfilter f = {0};
	/* the last 2 of everything; the partial line is left out */
	size_t k = hz_ctl_tail_last(buf, (size_t)n, &f, 2, starts, ends);
	assert_int_equal(k, 2);
	assert_memory_equal(buf + starts[0], RATING_LINE, strlen(RATING_LINE));
	assert_int_equal(ends[1] - starts[1], strlen(ESC_LINE));
	/* the last 5 escalations: only two exist, oldest first */
	hz_ctl_set_add(&f.types, "escalation");
	k = hz_ctl_tail_last(buf, (size_t)n, &f, 5, starts, ends);
	assert_int_equal(k, 2);
	assert_true(starts[0] == 0);
	assert_true(starts[1] > starts[0]);
	hz_ctl_logfilter_free(&f);
	assert_int_equal(hz_ctl_tail_last("", 0, &f, 3, starts, ends), 0);
}

/* The daemon's own escalation line parses, names and phones included. */
static void test_daemon_line(void **state)
{
	(void)state;
	struct hz_escalation esc;
	memset(&esc, 0, sizeof(esc));
	snprintf(esc.event_id, sizeof(esc.event_id), "esc-5-town-0");
	esc.emitted_us = INT64_C(1761537784) * HZ_US_PER_SEC;
	esc.tk.ticket_id = 5;
	esc.tk.kind = HZ_KIND_ALARM;
	esc.tk.state = HZ_STATE_DISCOVERED;
	esc.tk.level = HZ_LEVEL_ORANGE;
	esc.tk.tier = HZ_TIER_TOWN;
	snprintf(esc.tk.town_code, sizeof(esc.tk.town_code), "330106001");
	snprintf(esc.tk.hazard_type, sizeof(esc.tk.hazard_type), "gas_leak");
	esc.from_tier = HZ_TIER_GRID;
	esc.to_tier = HZ_TIER_TOWN;
	snprintf(esc.org_unit, sizeof(esc.org_unit), "330106001");
	snprintf(esc.duty[0].person_id, sizeof(esc.duty[0].person_id), "P-1");
	snprintf(esc.duty[0].name, sizeof(esc.duty[0].name), "张三");
	snprintf(esc.duty[0].phone, sizeof(esc.duty[0].phone), "13800000001");
	esc.n_duty = 1;
	snprintf(esc.reason, sizeof(esc.reason), "not acknowledged");
	struct hz_buf line = HZ_BUF_INIT;
	hz_out_log_format_escalation(&esc, &line);
	struct hz_ctl_logline ll;
	assert_int_equal(hz_ctl_logline_parse((char *)line.data, line.len, &ll), 0);
	assert_int_equal(ll.type, HZ_CTL_L_ESCALATION);
	assert_int_equal(ll.n_called, 1);
	assert_string_equal(ll.called[0].name, "张三");
	assert_string_equal(ll.called[0].phone, "13800000001");
	assert_int_equal(ll.level, HZ_LEVEL_ORANGE);
	hz_ctl_logline_clear(&ll);
	hz_buf_free(&line);
}

static void test_command_line(void **state)
{
	(void)state;
	/* the daemon's own command line, parsed and shown */
	struct hz_command_result cr;
	memset(&cr, 0, sizeof(cr));
	snprintf(cr.command_id, sizeof(cr.command_id), "c-1");
	snprintf(cr.actor_id, sizeof(cr.actor_id), "P-330106001-T01");
	cr.emitted_us = INT64_C(1761537784) * HZ_US_PER_SEC;
	cr.outcome = HZ_OUTCOME_REFUSED;
	cr.action = HZ_ACT_CLOSE;
	cr.ticket_id = 42;
	cr.actor_tier = HZ_TIER_TOWN;
	cr.from_state = cr.to_state = HZ_STATE_CONFIRMED;
	snprintf(cr.reason, sizeof(cr.reason), "actor lacks tier county");
	struct hz_buf line = HZ_BUF_INIT, out = HZ_BUF_INIT;
	hz_out_log_format_result(&cr, &line);
	struct hz_ctl_logline ll;
	assert_int_equal(hz_ctl_logline_parse((char *)line.data, line.len, &ll), 0);
	assert_int_equal(ll.type, HZ_CTL_L_COMMAND);
	assert_string_equal(ll.outcome, "refused");
	assert_string_equal(ll.actor, "P-330106001-T01");
	hz_ctl_logline_format(&ll, cr.emitted_us, false, false, &out);
	hz_buf_append(&out, "", 1);
	assert_non_null(strstr((char *)out.data, "CMD    close #42 by P-330106001-T01 (town) refused: actor lacks tier county"));
	/* --type command keeps it, --type ticket drops it */
	struct hz_ctl_logfilter f;
	memset(&f, 0, sizeof(f));
	assert_int_equal(hz_ctl_set_add(&f.types, "command"), 0);
	assert_true(hz_ctl_logfilter_match(&f, &ll));
	hz_ctl_logfilter_free(&f);
	memset(&f, 0, sizeof(f));
	assert_int_equal(hz_ctl_set_add(&f.types, "ticket"), 0);
	assert_false(hz_ctl_logfilter_match(&f, &ll));
	hz_ctl_logfilter_free(&f);
	hz_ctl_logline_clear(&ll);
	hz_buf_free(&line);
	hz_buf_free(&out);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_width),	       cmocka_unit_test(test_fit),
		cmocka_unit_test(test_pad_and_table), cmocka_unit_test(test_colour),
		cmocka_unit_test(test_durations),      cmocka_unit_test(test_logline_parse_format),
		cmocka_unit_test(test_filter),	       cmocka_unit_test(test_tail_last),
		cmocka_unit_test(test_daemon_line),    cmocka_unit_test(test_command_line),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
