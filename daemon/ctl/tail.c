/*
 * tail.c - `hazardctl tail`: the last N matching lines of the escalation
 * log, then follow it by name. See tail.h.
 *
 * The last N are found by reading blocks backwards from the end, so a long
 * log costs only as much as it takes to find N matching lines (all of it
 * when the filter matches little). Following keeps the open descriptor of
 * the file it read and compares it with the name each interval: a smaller
 * size means truncation (start again at 0), another inode at the name means
 * rotation (finish the old file, then read the new one from its start), no
 * file at the name means moved away (keep reading the old one: hazardd
 * writes there until it reopens on SIGHUP).
 */
#include "ctl/tail.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define BLOCK 65536
#define LINE_MAX_BYTES (1 << 20) /* a longer "line" is not the daemon's: dropped */

static bool line_matches(const char *p, size_t n, const struct hz_ctl_logfilter *f)
{
	if (hz_ctl_logfilter_empty(f))
		return true;
	struct hz_ctl_logline ll;
	hz_ctl_logline_parse(p, n, &ll);
	bool ok = hz_ctl_logfilter_match(f, &ll);
	hz_ctl_logline_clear(&ll);
	return ok;
}

size_t hz_ctl_tail_last(const char *buf, size_t len, const struct hz_ctl_logfilter *filter,
			size_t n, size_t *starts, size_t *ends)
{
	size_t found = 0, end = len;
	/* a final line without its newline is still being written */
	while (end && buf[end - 1] != '\n')
		end--;
	while (end && found < n) {
		size_t e = end - 1; /* the newline */
		size_t s = e;
		while (s && buf[s - 1] != '\n')
			s--;
		if (e > s && line_matches(buf + s, e - s, filter)) {
			starts[found] = s;
			ends[found] = e;
			found++;
		}
		end = s;
	}
	/* oldest first */
	for (size_t i = 0; i < found / 2; i++) {
		size_t ts = starts[i], te = ends[i];
		starts[i] = starts[found - 1 - i];
		ends[i] = ends[found - 1 - i];
		starts[found - 1 - i] = ts;
		ends[found - 1 - i] = te;
	}
	return found;
}

/* One open file being read: the current one, and for a while after a
 * rotation the old one (logrotate creates the new file before hazardd
 * reopens on SIGHUP: lines keep landing in the old file until then). */
struct src {
	int fd;
	off_t off;
	dev_t dev;
	ino_t ino;
	struct hz_buf line; /* an incomplete last line */
	int64_t until_us;   /* old file: stop reading it then */
};

struct tailer {
	const struct hz_ctl_tail_opts *o;
	size_t matched;
	struct hz_buf fmt;
	int64_t now_us;
};

/* "hazardctl: "FILE" <what>" on the diagnostic stream. */
static void notice(const struct tailer *t, const char *what)
{
	if (t->o->diag) {
		fprintf(t->o->diag, "hazardctl: \"%s\" %s\n", t->o->path, what);
		fflush(t->o->diag);
	}
}

static void emit(struct tailer *t, const char *p, size_t n)
{
	const struct hz_ctl_tail_opts *o = t->o;
	if (n > LINE_MAX_BYTES || n == 0)
		return;
	struct hz_ctl_logline ll;
	bool parsed = hz_ctl_logline_parse(p, n, &ll) == 0;
	if (!hz_ctl_logfilter_match(o->filter, &ll)) {
		hz_ctl_logline_clear(&ll);
		return;
	}
	if (o->json || !parsed) {
		fwrite(p, 1, n, o->out);
	} else {
		hz_ctl_logline_format(&ll, t->now_us, o->colour, o->c256, &t->fmt);
		fwrite(t->fmt.data, 1, t->fmt.len, o->out);
	}
	fputc('\n', o->out);
	t->matched++;
	hz_ctl_logline_clear(&ll);
}

/* Feed bytes; complete lines are emitted, the rest waits in s->line. */
static void feed(struct tailer *t, struct src *s, const char *p, size_t n)
{
	while (n) {
		const char *nl = memchr(p, '\n', n);
		size_t k = nl ? (size_t)(nl - p) : n;
		if (s->line.len + k <= LINE_MAX_BYTES)
			hz_buf_append(&s->line, p, k);
		else
			s->line.len = LINE_MAX_BYTES + 1; /* too long: dropped */
		if (!nl)
			return;
		if (s->line.len <= LINE_MAX_BYTES)
			emit(t, (const char *)s->line.data, s->line.len);
		hz_buf_clear(&s->line);
		p += k + 1;
		n -= k + 1;
	}
}

/* Read what was appended since s->off. */
static int read_more(struct tailer *t, struct src *s, char *err, size_t errlen)
{
	char buf[BLOCK];
	for (;;) {
		ssize_t r = pread(s->fd, buf, sizeof(buf), s->off);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			hz_errf(err, errlen, "could not read \"%s\": %s", t->o->path,
				strerror(errno));
			return HZ_ERR;
		}
		if (r == 0)
			return HZ_OK;
		s->off += r;
		feed(t, s, buf, (size_t)r);
	}
}

/* Print the last N matching lines of fd (`size` bytes) and set *resume to
 * the offset following starts at: just after the last complete line. The
 * region buf = file[pos, pos + have) is what remains to be searched. */
static int show_last(struct tailer *t, int fd, off_t size, off_t *resume, char *err,
		     size_t errlen)
{
	const struct hz_ctl_tail_opts *o = t->o;
	size_t want = (size_t)HZ_MAX(o->last_n, 0L), nkept = 0, have = 0, cap = 0;
	size_t *starts = NULL, *ends = NULL, *kept_len = NULL;
	char *buf = NULL, **kept = NULL;
	int rc = HZ_ERR;
	off_t pos = size;
	bool first = true;
	*resume = size;
	if (want) {
		starts = calloc(want, sizeof(*starts));
		ends = calloc(want, sizeof(*ends));
		kept = calloc(want, sizeof(*kept));
		kept_len = calloc(want, sizeof(*kept_len));
		if (!starts || !ends || !kept || !kept_len) {
			hz_errf(err, errlen, "out of memory");
			goto done;
		}
	}
	while (pos > 0 && (first || nkept < want)) {
		size_t chunk = (size_t)HZ_MIN((off_t)BLOCK, pos);
		if (have + chunk > cap) {
			size_t ncap = (have + chunk) * 2;
			char *nb = malloc(ncap);
			if (!nb) {
				hz_errf(err, errlen, "out of memory");
				goto done;
			}
			if (have)
				memcpy(nb + chunk, buf, have);
			free(buf);
			buf = nb;
			cap = ncap;
		} else if (have) {
			memmove(buf + chunk, buf, have);
		}
		pos -= (off_t)chunk;
		ssize_t r = pread(fd, buf, chunk, pos);
		if (r != (ssize_t)chunk) {
			hz_errf(err, errlen, "could not read \"%s\": %s", o->path,
				r < 0 ? strerror(errno) : "the file shrank while reading");
			goto done;
		}
		have += chunk;
		if (first) {
			size_t e = have;
			while (e && buf[e - 1] != '\n')
				e--;
			if (e == 0 && pos > 0 && have <= LINE_MAX_BYTES)
				continue; /* no newline yet in the last bytes */
			*resume = pos + (off_t)e;
			have = e;
			first = false;
		}
		size_t from = 0;
		if (pos > 0) {
			const char *nl = memchr(buf, '\n', have);
			if (!nl) {
				if (have > LINE_MAX_BYTES)
					have = 0; /* not a line of ours: skip it */
				continue;
			}
			from = (size_t)(nl - buf) + 1;
		}
		if (want > nkept && have > from) {
			size_t f = hz_ctl_tail_last(buf + from, have - from, o->filter,
						    want - nkept, starts, ends);
			/* older than everything kept so far: they go first */
			memmove(kept + f, kept, nkept * sizeof(*kept));
			memmove(kept_len + f, kept_len, nkept * sizeof(*kept_len));
			for (size_t i = 0; i < f; i++) {
				size_t n = ends[i] - starts[i];
				kept[i] = malloc(n ? n : 1);
				kept_len[i] = n;
				if (kept[i])
					memcpy(kept[i], buf + from + starts[i], n);
			}
			nkept += f;
		}
		have = from; /* the incomplete first line, with its newline */
	}
	for (size_t i = 0; i < nkept; i++)
		if (kept[i])
			emit(t, kept[i], kept_len[i]);
	rc = HZ_OK;
done:
	for (size_t i = 0; i < nkept; i++)
		free(kept[i]);
	free(kept);
	free(kept_len);
	free(starts);
	free(ends);
	free(buf);
	return rc;
}

static int open_src(struct src *s, const char *path)
{
	struct stat st;
	s->fd = open(path, O_RDONLY | O_CLOEXEC);
	if (s->fd < 0)
		return HZ_ERR;
	if (fstat(s->fd, &st)) {
		close(s->fd);
		s->fd = -1;
		return HZ_ERR;
	}
	s->dev = st.st_dev;
	s->ino = st.st_ino;
	s->off = 0;
	s->until_us = 0;
	hz_buf_clear(&s->line);
	return HZ_OK;
}

static void close_src(struct tailer *t, struct src *s)
{
	if (s->fd < 0)
		return;
	if (s->line.len && s->line.len <= LINE_MAX_BYTES)
		emit(t, (const char *)s->line.data, s->line.len); /* the writer is gone */
	hz_buf_free(&s->line);
	close(s->fd);
	s->fd = -1;
}

/* How long an old file is still read after the name moved on. */
#define OLD_GRACE_US (30 * HZ_US_PER_SEC)

int hz_ctl_tail_run(const struct hz_ctl_tail_opts *o, size_t *matched, char *err, size_t errlen)
{
	struct tailer t = {.o = o, .now_us = hz_now_us()};
	struct src cur = {.fd = -1}, old = {.fd = -1};
	int rc = HZ_OK;
	int64_t poll_us = o->poll_us > 0 ? o->poll_us : 100000;
	*matched = 0;
	if (open_src(&cur, o->path)) {
		int e = errno;
		if (e != ENOENT || !o->follow) {
			hz_errf(err, errlen, "could not open \"%s\": %s", o->path, strerror(e));
			return e == ENOENT ? HZ_ENOTFOUND : HZ_ERR;
		}
		notice(&t, "does not exist yet; waiting for it");
	} else {
		struct stat st;
		if (fstat(cur.fd, &st) == 0)
			rc = show_last(&t, cur.fd, st.st_size, &cur.off, err, errlen);
		fflush(o->out);
	}
	bool gone = false;
	while (rc == HZ_OK && o->follow && !(o->stop && *o->stop)) {
		struct timespec ts = {(time_t)(poll_us / HZ_US_PER_SEC),
				      (long)(poll_us % HZ_US_PER_SEC) * 1000};
		nanosleep(&ts, NULL);
		t.now_us = hz_now_us();
		struct stat st;
		if (old.fd >= 0) {
			rc = read_more(&t, &old, err, errlen);
			if (t.now_us >= old.until_us)
				close_src(&t, &old);
		}
		if (rc == HZ_OK && cur.fd >= 0 && fstat(cur.fd, &st) == 0) {
			if (st.st_size < cur.off) {
				notice(&t, "was truncated; reading it from the start");
				cur.off = 0;
				hz_buf_clear(&cur.line);
			}
			rc = read_more(&t, &cur, err, errlen);
		}
		if (rc != HZ_OK)
			break;
		if (stat(o->path, &st) != 0) {
			if (!gone && cur.fd >= 0)
				notice(&t, "has been moved or removed; still reading the old file "
					   "until a new one appears");
			gone = true;
		} else if (cur.fd < 0 || st.st_ino != cur.ino || st.st_dev != cur.dev) {
			struct src next = {.fd = -1};
			if (open_src(&next, o->path) == 0) {
				notice(&t, cur.fd >= 0 ? "has been replaced; following the new file"
							: "appeared; following it");
				if (cur.fd >= 0) {
					close_src(&t, &old);
					old = cur;
					old.until_us = t.now_us + OLD_GRACE_US;
				}
				cur = next;
				gone = false;
				rc = read_more(&t, &cur, err, errlen);
			}
		}
		fflush(o->out);
	}
	close_src(&t, &old);
	close_src(&t, &cur);
	fflush(o->out);
	hz_buf_free(&old.line);
	hz_buf_free(&cur.line);
	hz_buf_free(&t.fmt);
	*matched = t.matched;
	return rc;
}
