/*
 * test_spool.c - the MQTT spool: order, replay from a committed position,
 * torn and corrupt tails, rotation and deletion, kill -9 of an appender,
 * concurrent appenders. Files under a fresh directory in $TMPDIR; no servers.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <dirent.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "core/log.h"
#include "in/spool.h"

static char dir[256];

static int setup(void **state)
{
	(void)state;
	const char *tmp = getenv("TMPDIR");
	snprintf(dir, sizeof(dir), "%s/test_spool.XXXXXX", tmp && *tmp ? tmp : "/tmp");
	return mkdtemp(dir) ? 0 : -1;
}

static int teardown(void **state)
{
	(void)state;
	DIR *d = opendir(dir);
	if (d) {
		struct dirent *de;
		while ((de = readdir(d)))
			if (de->d_name[0] != '.')
				unlinkat(dirfd(d), de->d_name, 0);
		closedir(d);
	}
	rmdir(dir);
	return 0;
}

static struct hz_spool *open_spool(uint64_t after, size_t seg_bytes)
{
	char err[256] = "";
	struct hz_spool_opts o = {.segment_bytes = seg_bytes};
	struct hz_spool *sp = hz_spool_open(dir, &o, after, err, sizeof(err));
	if (!sp)
		fail_msg("hz_spool_open: %s", err);
	return sp;
}

/* Record i: topic "t/<i>", payload of 1 + i % 300 bytes derived from i. */
static void make_rec(unsigned i, char *topic, size_t tlen, unsigned char *pl, size_t *len)
{
	snprintf(topic, tlen, "hazard/v1/readings/s%u/d%u", i % 7, i);
	*len = 1 + i % 300;
	for (size_t k = 0; k < *len; k++)
		pl[k] = (unsigned char)(i * 31 + k);
}

static uint64_t append_rec(struct hz_spool *sp, unsigned i)
{
	char topic[64], err[256];
	unsigned char pl[512];
	size_t len;
	uint64_t seq = 0;
	make_rec(i, topic, sizeof(topic), pl, &len);
	int rc = hz_spool_append(sp, topic, strlen(topic), (uint8_t)(i % 3), pl, len,
				 (int64_t)i * 1000, &seq, err, sizeof(err));
	if (rc)
		fail_msg("hz_spool_append: %s", err);
	return seq;
}

static void check_rec(const struct hz_spool_rec *r, unsigned i)
{
	char topic[64];
	unsigned char pl[512];
	size_t len;
	make_rec(i, topic, sizeof(topic), pl, &len);
	assert_int_equal(r->topic_len, strlen(topic));
	assert_string_equal(r->topic, topic);
	assert_int_equal(r->len, len);
	assert_memory_equal(r->payload, pl, len);
	assert_int_equal(((const char *)r->payload)[len], 0);
	assert_int_equal(r->ct, i % 3);
	assert_int_equal(r->received_us, (int64_t)i * 1000);
}

/* Read everything available; returns the count; checks seqs increase and
 * that record with seq s was made from index s - 1 + shift. */
static size_t read_all(struct hz_spool *sp, uint64_t first_seq, unsigned first_i)
{
	struct hz_spool_rec r[7];
	size_t total = 0, n;
	uint64_t want = first_seq;
	while ((n = hz_spool_read(sp, r, HZ_ARRAY_LEN(r))) > 0) {
		for (size_t k = 0; k < n; k++) {
			assert_int_equal(r[k].seq, want);
			check_rec(&r[k], first_i + (unsigned)(want - first_seq));
			want++;
		}
		total += n;
	}
	return total;
}

static size_t count_segments(void)
{
	DIR *d = opendir(dir);
	assert_non_null(d);
	size_t n = 0;
	struct dirent *de;
	while ((de = readdir(d)))
		if (strncmp(de->d_name, "spool-", 6) == 0)
			n++;
	closedir(d);
	return n;
}

/* The only segment file's path (tests that use one segment). */
static void last_segment(char *path, size_t len)
{
	DIR *d = opendir(dir);
	assert_non_null(d);
	char best[64] = "";
	struct dirent *de;
	while ((de = readdir(d)))
		if (strncmp(de->d_name, "spool-", 6) == 0 && strcmp(de->d_name, best) > 0)
			snprintf(best, sizeof(best), "%s", de->d_name);
	closedir(d);
	assert_true(best[0]);
	snprintf(path, len, "%s/%s", dir, best);
}

static void test_order(void **state)
{
	(void)state;
	struct hz_spool *sp = open_spool(0, 0);
	for (unsigned i = 0; i < 1000; i++)
		assert_int_equal(append_rec(sp, i), i + 1);
	assert_true(hz_spool_wait(sp, 1, 0, 0));
	assert_int_equal(read_all(sp, 1, 0), 1000);
	assert_false(hz_spool_wait(sp, 1, 0, 10));
	/* Interleaved appends and reads. */
	for (unsigned i = 1000; i < 1100; i++) {
		append_rec(sp, i);
		assert_int_equal(read_all(sp, i + 1, i), 1);
	}
	struct hz_spool_stats st;
	hz_spool_stats(sp, &st);
	assert_int_equal(st.next_seq, 1101);
	assert_int_equal(st.read_seq, 1100);
	assert_int_equal(st.appends, 1100);
	char err[256];
	assert_int_equal(hz_spool_sync(sp, err, sizeof(err)), 0);
	hz_spool_stats(sp, &st);
	assert_int_equal(st.synced_seq, 1100);
	hz_spool_close(sp);
}

static void test_replay_after_committed(void **state)
{
	(void)state;
	struct hz_spool *sp = open_spool(0, 0);
	for (unsigned i = 0; i < 100; i++)
		append_rec(sp, i);
	assert_int_equal(read_all(sp, 1, 0), 100);
	hz_spool_committed(sp, 40);
	hz_spool_close(sp);

	/* The pipeline committed up to 40: replay 41..100, then go on at 101. */
	sp = open_spool(40, 0);
	struct hz_spool_stats st;
	hz_spool_stats(sp, &st);
	assert_int_equal(st.recovered_seq, 100);
	assert_int_equal(st.next_seq, 101);
	assert_int_equal(read_all(sp, 41, 40), 60);
	assert_int_equal(append_rec(sp, 100), 101);
	assert_int_equal(read_all(sp, 101, 100), 1);
	hz_spool_close(sp);

	/* Everything committed: nothing to replay, the files are gone. */
	sp = open_spool(101, 0);
	assert_int_equal(read_all(sp, 0, 0), 0);
	assert_int_equal(count_segments(), 0);
	assert_int_equal(append_rec(sp, 101), 102);
	hz_spool_close(sp);

	/* The spool lost (new disk) but PostgreSQL says 500 are done: new
	 * records must not reuse committed numbers, and a reader waits for
	 * them instead of spinning. */
	teardown(NULL);
	setup(NULL);
	sp = open_spool(500, 0);
	int64_t t0 = hz_mono_us();
	assert_false(hz_spool_wait(sp, 1, 0, 50));
	assert_true(hz_mono_us() - t0 >= 45000);
	assert_int_equal(append_rec(sp, 0), 501);
	assert_true(hz_spool_wait(sp, 1, 0, 50));
	assert_int_equal(read_all(sp, 501, 0), 1);
	hz_spool_close(sp);
}

static void test_torn_tail(void **state)
{
	(void)state;
	struct hz_spool *sp = open_spool(0, 0);
	for (unsigned i = 0; i < 10; i++)
		append_rec(sp, i);
	hz_spool_close(sp);

	char path[512];
	last_segment(path, sizeof(path));
	struct stat st;
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(truncate(path, st.st_size - 5), 0); /* cut into record 10 */

	sp = open_spool(0, 0);
	assert_int_equal(read_all(sp, 1, 0), 9);
	struct hz_spool_stats ss;
	hz_spool_stats(sp, &ss);
	assert_int_equal(ss.torn, 1);
	assert_int_equal(ss.recovered_seq, 9);
	/* The next append works and survives a reopen after the cut. */
	assert_int_equal(append_rec(sp, 9), 10);
	assert_int_equal(read_all(sp, 10, 9), 1);
	hz_spool_close(sp);
	sp = open_spool(0, 0);
	assert_int_equal(read_all(sp, 1, 0), 10);
	hz_spool_close(sp);
}

/* Bitwise CRC-32C, the reference the spool's table version must match. */
static uint32_t ref_crc32c(const unsigned char *p, size_t n)
{
	uint32_t c = 0xFFFFFFFFu;
	while (n--) {
		c ^= *p++;
		for (int k = 0; k < 8; k++)
			c = (c & 1) ? (c >> 1) ^ 0x82F63B78u : c >> 1;
	}
	return ~c;
}

static void test_corrupt_crc(void **state)
{
	(void)state;
	struct hz_spool *sp = open_spool(0, 0);
	for (unsigned i = 0; i < 10; i++)
		append_rec(sp, i);
	hz_spool_close(sp);

	/* Flip one payload byte of record 5. */
	char path[512];
	last_segment(path, sizeof(path));
	int fd = open(path, O_RDWR);
	assert_true(fd >= 0);
	struct stat st;
	assert_int_equal(fstat(fd, &st), 0);
	unsigned char *buf = malloc((size_t)st.st_size);
	assert_int_equal(pread(fd, buf, (size_t)st.st_size, 0), st.st_size);
	/* The format says CRC-32C over bytes 8..end of the record. */
	assert_int_equal(ref_crc32c((const unsigned char *)"123456789", 9), 0xE3069283u);
	uint32_t pl1 = buf[24], tl1 = buf[28];
	uint32_t crc1 = buf[4] | buf[5] << 8 | buf[6] << 16 | (uint32_t)buf[7] << 24;
	assert_int_equal(ref_crc32c(buf + 8, 32 + tl1 + 1 + pl1 + 1 - 8), crc1);
	size_t off = 0;
	for (int k = 0; k < 4; k++) { /* walk over records 1..4 */
		uint32_t pl = buf[off + 24] | buf[off + 25] << 8 | buf[off + 26] << 16;
		uint32_t tl = buf[off + 28] | buf[off + 29] << 8;
		off += (32 + tl + 1 + pl + 1 + 7) & ~7u;
	}
	uint32_t tl5 = buf[off + 28] | buf[off + 29] << 8;
	unsigned char b = buf[off + 32 + tl5 + 1] ^ 0x40;
	assert_int_equal(pwrite(fd, &b, 1, (off_t)(off + 32 + tl5 + 1)), 1);
	close(fd);
	free(buf);

	sp = open_spool(0, 0);
	assert_int_equal(read_all(sp, 1, 0), 4); /* stops at the corrupt record */
	struct hz_spool_stats ss;
	hz_spool_stats(sp, &ss);
	assert_int_equal(ss.torn, 1);
	assert_int_equal(append_rec(sp, 4), 5);
	assert_int_equal(read_all(sp, 5, 4), 1);
	hz_spool_close(sp);
}

static void test_rotation_and_deletion(void **state)
{
	(void)state;
	struct hz_spool *sp = open_spool(0, 4096);
	for (unsigned i = 0; i < 200; i++)
		append_rec(sp, i);
	size_t segs = count_segments();
	assert_true(segs > 5);
	struct hz_spool_stats st;
	hz_spool_stats(sp, &st);
	assert_int_equal(st.segments, segs);

	/* Nothing read yet: a commit is clamped to what was read. */
	hz_spool_committed(sp, 150);
	assert_int_equal(count_segments(), segs);

	assert_int_equal(read_all(sp, 1, 0), 200);
	hz_spool_committed(sp, 100);
	size_t mid = count_segments();
	assert_true(mid < segs && mid > 1);
	hz_spool_committed(sp, 200);
	assert_int_equal(count_segments(), 1); /* the open segment stays */
	hz_spool_stats(sp, &st);
	assert_true(st.held_bytes <= 2 * (256 << 10));

	/* A record larger than a segment gets a segment of its own. */
	unsigned char *big = malloc(20000);
	memset(big, 'x', 20000);
	char err[256];
	uint64_t seq;
	assert_int_equal(hz_spool_append(sp, "big", 3, 0, big, 20000, 1, &seq, err, sizeof(err)), 0);
	assert_int_equal(seq, 201);
	append_rec(sp, 201);
	struct hz_spool_rec r[4];
	assert_int_equal(hz_spool_read(sp, r, 4), 2);
	assert_int_equal(r[0].len, 20000);
	assert_memory_equal(r[0].payload, big, 20000);
	check_rec(&r[1], 201);
	free(big);
	hz_spool_close(sp);

	/* Reopen: 201 and 202 are still uncommitted. */
	sp = open_spool(200, 4096);
	assert_int_equal(hz_spool_read(sp, r, 4), 2);
	assert_int_equal(r[0].seq, 201);
	assert_int_equal(r[1].seq, 202);
	hz_spool_close(sp);
}

static void test_kill9_appender(void **state)
{
	(void)state;
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		char err[256];
		struct hz_spool_opts o = {.segment_bytes = 64 << 10};
		struct hz_spool *sp = hz_spool_open(dir, &o, 0, err, sizeof(err));
		if (!sp)
			_exit(2);
		for (unsigned i = 0; i < 3000; i++)
			append_rec(sp, i);
		raise(SIGKILL); /* no close, no sync */
		_exit(3);
	}
	int status;
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);

	struct hz_spool *sp = open_spool(0, 64 << 10);
	assert_int_equal(read_all(sp, 1, 0), 3000);
	struct hz_spool_stats st;
	hz_spool_stats(sp, &st);
	assert_int_equal(st.torn, 0); /* a preallocated tail is a clean end */
	assert_int_equal(append_rec(sp, 3000), 3001);
	hz_spool_close(sp);
}

static void test_locked(void **state)
{
	(void)state;
	struct hz_spool *sp = open_spool(0, 0);
	char err[256] = "";
	assert_null(hz_spool_open(dir, NULL, 0, err, sizeof(err)));
	assert_non_null(strstr(err, "in use by another process"));
	hz_spool_close(sp);
	sp = open_spool(0, 0);
	hz_spool_close(sp);
}

#define PER_THREAD 20000

struct writer {
	struct hz_spool *sp;
	unsigned id;
	uint64_t seqs[PER_THREAD];
};

static void *writer_main(void *arg)
{
	struct writer *w = arg;
	char err[256];
	for (unsigned i = 0; i < PER_THREAD; i++) {
		unsigned v[2] = {w->id, i};
		if (hz_spool_append(w->sp, "t", 1, 0, v, sizeof(v), 0, &w->seqs[i], err,
				    sizeof(err)))
			return w; /* failed */
	}
	return NULL;
}

static void test_concurrent_appends(void **state)
{
	(void)state;
	struct hz_spool *sp = open_spool(0, 256 << 10);
	struct writer *w = calloc(2, sizeof(*w));
	pthread_t th[2];
	for (unsigned t = 0; t < 2; t++) {
		w[t].sp = sp;
		w[t].id = t;
		assert_int_equal(pthread_create(&th[t], NULL, writer_main, &w[t]), 0);
	}
	/* Read while they append; check per-writer order and seq order. */
	unsigned next[2] = {0, 0};
	uint64_t last = 0;
	size_t got = 0;
	struct hz_spool_rec r[64];
	while (got < 2 * PER_THREAD) {
		if (!hz_spool_wait(sp, 64, 1000, 1000))
			fail_msg("reader starved after %zu records", got);
		size_t n = hz_spool_read(sp, r, HZ_ARRAY_LEN(r));
		for (size_t k = 0; k < n; k++) {
			unsigned v[2];
			assert_int_equal(r[k].len, sizeof(v));
			memcpy(v, r[k].payload, sizeof(v));
			assert_true(r[k].seq > last);
			last = r[k].seq;
			assert_int_equal(v[1], next[v[0]]);
			next[v[0]]++;
		}
		got += n;
		hz_spool_committed(sp, last);
	}
	for (unsigned t = 0; t < 2; t++) {
		void *res;
		pthread_join(th[t], &res);
		assert_null(res);
		for (unsigned i = 1; i < PER_THREAD; i++)
			assert_true(w[t].seqs[i] > w[t].seqs[i - 1]);
	}
	/* Unique: together they cover 1..2N exactly. */
	unsigned char *seen = calloc(2 * PER_THREAD + 1, 1);
	for (unsigned t = 0; t < 2; t++)
		for (unsigned i = 0; i < PER_THREAD; i++) {
			uint64_t s = w[t].seqs[i];
			assert_true(s >= 1 && s <= 2 * PER_THREAD);
			assert_int_equal(seen[s], 0);
			seen[s] = 1;
		}
	free(seen);
	free(w);
	hz_spool_close(sp);
}

int main(void)
{
	hz_log_set_level(HZ_LOG_ERROR);
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_order, setup, teardown),
		cmocka_unit_test_setup_teardown(test_replay_after_committed, setup, teardown),
		cmocka_unit_test_setup_teardown(test_torn_tail, setup, teardown),
		cmocka_unit_test_setup_teardown(test_corrupt_crc, setup, teardown),
		cmocka_unit_test_setup_teardown(test_rotation_and_deletion, setup, teardown),
		cmocka_unit_test_setup_teardown(test_kill9_appender, setup, teardown),
		cmocka_unit_test_setup_teardown(test_locked, setup, teardown),
		cmocka_unit_test_setup_teardown(test_concurrent_appends, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
