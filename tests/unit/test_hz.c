/*
 * test_hz.c - the small shared helpers: UTF-8 validation (its eight-bytes-
 * a-step ASCII path against a byte-at-a-time reference, at every offset
 * and length around the step), the table hash, formatted appends and the
 * PostgreSQL array literals written in place.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <stdio.h>
#include <string.h>

#include "core/buf.h"
#include "core/hz.h"
#include "store/pgtext.h"

/* The definition, one code point at a time (RFC 3629): no NUL, no
 * overlong forms, no surrogates, nothing past U+10FFFF. */
static bool ref_utf8(const unsigned char *s, size_t len)
{
	size_t i = 0;
	while (i < len) {
		unsigned c = s[i];
		size_t n;
		unsigned cp, min;
		if (c == 0)
			return false;
		if (c < 0x80) {
			i++;
			continue;
		}
		if (c >= 0xC0 && c < 0xE0) {
			n = 1;
			cp = c & 0x1F;
			min = 0x80;
		} else if (c >= 0xE0 && c < 0xF0) {
			n = 2;
			cp = c & 0x0F;
			min = 0x800;
		} else if (c >= 0xF0 && c < 0xF8) {
			n = 3;
			cp = c & 0x07;
			min = 0x10000;
		} else {
			return false;
		}
		if (len - i <= n)
			return false;
		for (size_t k = 1; k <= n; k++) {
			if ((s[i + k] & 0xC0) != 0x80)
				return false;
			cp = (cp << 6) | (s[i + k] & 0x3F);
		}
		if (cp < min || (cp >= 0xD800 && cp <= 0xDFFF) || cp > 0x10FFFF)
			return false;
		i += n + 1;
	}
	return true;
}

static void check(const unsigned char *s, size_t len)
{
	bool want = ref_utf8(s, len), got = hz_utf8_valid((const char *)s, len);
	if (want != got) {
		char hex[3 * 64 + 1] = "";
		for (size_t i = 0; i < len && i < 64; i++)
			snprintf(hex + 3 * i, 4, "%02x ", s[i]);
		print_error("len %zu [%s]: expected %d, got %d\n", len, hex, want, got);
	}
	assert_int_equal(want, got);
}

/* Every length up to 40 of plain ASCII, then each position of that run
 * replaced by a NUL, a stray continuation byte, a lone lead byte and
 * every multi-byte sequence below (valid and not), so the ASCII step
 * meets each at every offset from its eight-byte boundary. */
static void test_utf8_against_reference(void **state)
{
	(void)state;
	static const char *const seq[] = {
		"\x00", "\x80", "\xbf", "\xc2", "\xe4", "\xf0", "\xff", "\xfe",
		"\xc2\xa9", "\xc0\xaf", "\xc1\xbf", "\xe4\xb8\xad", "\xe0\x80\xaf",
		"\xed\xa0\x80", "\xed\x9f\xbf", "\xef\xbf\xbf", "\xf0\x9f\x94\xa5",
		"\xf4\x8f\xbf\xbf", "\xf4\x90\x80\x80", "\xf0\x80\x80\x80", "\xe4\xb8",
		"\xf0\x9f\x94",
	};
	static const size_t seqlen[] = {1, 1, 1, 1, 1, 1, 1, 1, 2, 2, 2, 3, 3,
					3, 3, 3, 4, 4, 4, 4, 2, 3};
	unsigned char buf[64] = {0};
	for (size_t len = 0; len <= 40; len++) {
		for (size_t i = 0; i < len; i++)
			buf[i] = (unsigned char)('a' + i % 26);
		check(buf, len);
		for (size_t at = 0; at < len; at++)
			for (size_t k = 0; k < HZ_ARRAY_LEN(seq); k++) {
				for (size_t i = 0; i < sizeof(buf); i++)
					buf[i] = (unsigned char)('A' + i % 26);
				size_t n = seqlen[k];
				if (at + n > len)
					continue;
				memcpy(buf + at, seq[k], n);
				check(buf, len);
				/* and cut short: the sequence's last byte past the end */
				if (n > 1 && at + n == len)
					check(buf, len - 1);
			}
	}
	/* a long CJK run, and one with a NUL far in */
	unsigned char cjk[3 * 30];
	for (size_t i = 0; i < 30; i++)
		memcpy(cjk + 3 * i, "\xe6\xb6\x88", 3);
	check(cjk, sizeof(cjk));
	cjk[61] = 0;
	check(cjk, sizeof(cjk));
}

static void test_hash(void **state)
{
	(void)state;
	const char *id = "DEV-330112002-0005-ELEC-01";
	uint64_t h = hz_hash(id, strlen(id), 7);
	assert_true(h == hz_hash(id, strlen(id), 7));
	assert_true(h != hz_hash(id, strlen(id), 8));
	/* every prefix, and a change in any byte, hashes differently */
	char buf[32];
	for (size_t n = 0; n < strlen(id); n++) {
		assert_true(hz_hash(id, n, 7) != hz_hash(id, n + 1, 7));
		snprintf(buf, sizeof(buf), "%s", id);
		buf[n] ^= 1;
		assert_true(hz_hash(buf, strlen(buf), 7) != h);
	}
	/* the low bits (a table slot) spread over sequential ids */
	unsigned hits[64] = {0};
	for (int i = 0; i < 64 * 64; i++) {
		int w = snprintf(buf, sizeof(buf), "DEV-%06d", i);
		hits[hz_hash(buf, (size_t)w, 0) & 63]++;
	}
	for (int i = 0; i < 64; i++)
		assert_true(hits[i] > 32 && hits[i] < 100);
}

/* Formatted appends that fit, that do not, and that grow an empty buffer:
 * the same bytes as snprintf, NUL-terminated after each. */
static void test_appendf(void **state)
{
	(void)state;
	struct hz_buf b = HZ_BUF_INIT;
	char want[4096] = "";
	size_t w = 0;
	for (int i = 0; i < 300; i++) {
		assert_int_equal(hz_buf_appendf(&b, "%d:%s,", i, i % 7 ? "x" : "a longer piece"), HZ_OK);
		w += (size_t)snprintf(want + w, sizeof(want) - w, "%d:%s,", i, i % 7 ? "x" : "a longer piece");
		assert_int_equal(b.len, w);
		assert_memory_equal(b.data, want, w);
		assert_int_equal(b.data[b.len], 0);
	}
	/* one append larger than everything before it */
	char big[3000];
	memset(big, 'z', sizeof(big) - 1);
	big[sizeof(big) - 1] = 0;
	hz_buf_clear(&b);
	assert_int_equal(hz_buf_appendf(&b, "<%s>", big), HZ_OK);
	assert_int_equal(b.len, sizeof(big) + 1);
	assert_int_equal(b.data[0], '<');
	assert_int_equal(b.data[b.len - 1], '>');
	assert_int_equal(b.data[b.len], 0);
	hz_buf_free(&b);
}

static void test_pgarr(void **state)
{
	(void)state;
	struct hz_buf a = HZ_BUF_INIT;
	hz_pgarr_begin(&a);
	hz_pgarr_text(&a, "plain");
	hz_pgarr_text(&a, "a \"quoted\" \\ back");
	hz_pgarr_text(&a, NULL);
	hz_pgarr_opt(&a, "");
	hz_pgarr_text(&a, "");
	hz_pgarr_text(&a, "\xe6\xb6\x88\xe9\x98\xb2");
	assert_string_equal(hz_pgarr_end(&a), "{\"plain\",\"a \\\"quoted\\\" \\\\ back\",NULL,NULL,\"\","
					      "\"\xe6\xb6\x88\xe9\x98\xb2\"}");
	hz_pgarr_begin(&a);
	hz_pgarr_int(&a, 0);
	hz_pgarr_int(&a, 7);
	hz_pgarr_int(&a, -42);
	hz_pgarr_int(&a, INT64_MAX);
	hz_pgarr_int(&a, INT64_MIN);
	hz_pgarr_time(&a, 0);
	hz_pgarr_time(&a, 1796192228804000);
	assert_string_equal(hz_pgarr_end(&a), "{0,7,-42,9223372036854775807,-9223372036854775808,NULL,"
					      "1796192228804000}");
	hz_pgarr_begin(&a);
	hz_pgarr_bytea(&a, "\x00\x01\xab\xff", 4);
	hz_pgarr_bytea(&a, "", 0);
	assert_string_equal(hz_pgarr_end(&a), "{\"\\\\x0001abff\",\"\\\\x\"}");
	/* a literal far beyond the first allocation, every byte escaped */
	char q[2001];
	memset(q, '"', sizeof(q) - 1);
	q[sizeof(q) - 1] = 0;
	hz_pgarr_begin(&a);
	hz_pgarr_text(&a, q);
	const char *lit = hz_pgarr_end(&a);
	assert_int_equal(strlen(lit), 2 + 2 + 2 * (sizeof(q) - 1));
	for (size_t i = 0; i < sizeof(q) - 1; i++)
		assert_memory_equal(lit + 2 + 2 * i, "\\\"", 2);
	hz_buf_free(&a);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_utf8_against_reference),
		cmocka_unit_test(test_hash),
		cmocka_unit_test(test_appendf),
		cmocka_unit_test(test_pgarr),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
