/*
 * test_verify.c - the canonical bytes of a history row and their SHA-256,
 * against the values PostgreSQL's trigger gives for the same rows (the
 * example in sql/014_history_chain.sql): the C side and the SQL side of
 * the hash chain must agree byte for byte.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <string.h>

#include "store/verify.h"

/* ticket 7, seq 1, 2024-04-24 23:06:40.123456 UTC, a drill */
static const struct hz_history_fields row1 = {
	.ticket_id = 7,
	.seq = 1,
	.at_us = 1714000000123456LL,
	.from_state = NULL,
	.to_state = "discovered",
	.level = "orange",
	.tier = "grid",
	.actor = "hazardd",
	.reason = "rule smoke-obscuration",
	.event_id = "mq-1",
	.mode = "exercise",
	.prev_hash_hex = NULL,
};
static const char row1_hash[] = "e44778b8fff380cf1d4c99fa3fd5c5a4b2ef3e4350cc20ec2ab01d8eb746ba6d";

static void test_canon_text(void **state)
{
	(void)state;
	struct hz_buf b = HZ_BUF_INIT;
	assert_int_equal(hz_history_canon(&row1, &b), HZ_OK);
	static const char want[] = "3:th1,1:7,1:1,16:1714000000123456,0:,10:discovered,6:orange,"
				   "4:grid,7:hazardd,22:rule smoke-obscuration,4:mq-1,8:exercise,0:,0:,"
				   "0:,0:,0:,0:,0:,0:,";
	assert_int_equal(b.len, strlen(want));
	assert_memory_equal(b.data, want, b.len);
	hz_buf_free(&b);
}

static void test_hash_matches_postgres(void **state)
{
	(void)state;
	struct hz_buf b = HZ_BUF_INIT;
	char hex[HZ_HASH_HEX];
	assert_int_equal(hz_history_hash_hex(&row1, &b, hex), HZ_OK);
	assert_string_equal(hex, row1_hash);
	/* seq 2 in the same INSERT: UTF-8 counted in bytes, the link in hex */
	struct hz_history_fields row2 = row1;
	row2.seq = 2;
	row2.at_us = 1714000001000000LL;
	row2.from_state = "discovered";
	row2.to_state = "closed";
	row2.reason = "\xe6\xb8\x85\xe9\x99\xa4 cleared"; /* 清除 */
	row2.event_id = "mq-2";
	row2.prev_hash_hex = row1_hash;
	assert_int_equal(hz_history_hash_hex(&row2, &b, hex), HZ_OK);
	assert_string_equal(hex, "023e2ef7cc0334fd8fd0080e40bd396e2072e06259c363dcd01658df78e1bb2f");
	/* a command's row: its action, tier, own time, note and evidence are
	 * in the hash (the evidence as netstrings inside one field); expected
	 * value from Python's hashlib over the documented text */
	static const char *const urls[] = {"https://e/1.jpg", "https://e/2.jpg"};
	struct hz_history_fields row3 = row1;
	row3.seq = 3;
	row3.action = "verify";
	row3.actor_tier = "town";
	row3.has_acted = true;
	row3.acted_us = 1714000002000000LL;
	row3.note = "re-inspected";
	row3.evidence = urls;
	row3.n_evidence = 2;
	row3.flags = "skew";
	row3.prev_hash_hex = "023e2ef7cc0334fd8fd0080e40bd396e2072e06259c363dcd01658df78e1bb2f";
	assert_int_equal(hz_history_hash_hex(&row3, &b, hex), HZ_OK);
	assert_string_equal(hex, "186b9020be802cd215680d3c5d9ceed712bf88b97a07dee2b4d5079e380fb418");
	/* one URL changed: another hash */
	static const char *const urls2[] = {"https://e/1.jpg", "https://e/3.jpg"};
	row3.evidence = urls2;
	assert_int_equal(hz_history_hash_hex(&row3, &b, hex), HZ_OK);
	assert_string_not_equal(hex, "186b9020be802cd215680d3c5d9ceed712bf88b97a07dee2b4d5079e380fb418");
	hz_buf_free(&b);
}

static void test_null_is_empty_and_fields_cannot_shift(void **state)
{
	(void)state;
	struct hz_buf b = HZ_BUF_INIT;
	char h1[HZ_HASH_HEX], h2[HZ_HASH_HEX];
	struct hz_history_fields a = row1, c = row1;
	a.from_state = "";
	assert_int_equal(hz_history_hash_hex(&a, &b, h1), HZ_OK);
	assert_string_equal(h1, row1_hash); /* NULL and "" are the same text */
	/* moving a character from one field to the next changes the hash */
	a = row1;
	a.actor = "hazard";
	a.reason = "drule smoke-obscuration";
	assert_int_equal(hz_history_hash_hex(&a, &b, h1), HZ_OK);
	c.actor = "hazardd,22:";
	assert_int_equal(hz_history_hash_hex(&c, &b, h2), HZ_OK);
	assert_string_not_equal(h1, row1_hash);
	assert_string_not_equal(h2, row1_hash);
	/* negative times (before 1970) keep their sign */
	a = row1;
	a.at_us = -1;
	assert_int_equal(hz_history_canon(&a, &b), HZ_OK);
	assert_non_null(memmem(b.data, b.len, ",2:-1,", 6));
	hz_buf_free(&b);
}

static void test_what_names(void **state)
{
	(void)state;
	assert_string_equal(hz_verify_what_name(HZ_VERIFY_HASH), "hash mismatch");
	assert_string_equal(hz_verify_what_name(HZ_VERIFY_MISSING), "missing seq");
	assert_string_equal(hz_verify_what_name(HZ_VERIFY_PREV), "previous hash mismatch");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_canon_text),
		cmocka_unit_test(test_hash_matches_postgres),
		cmocka_unit_test(test_null_is_empty_and_fields_cannot_shift),
		cmocka_unit_test(test_what_names),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
