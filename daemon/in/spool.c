/*
 * spool.c - the crash-safe local queue behind the MQTT source (see spool.h
 * for the file format and the guarantees).
 *
 * Appends copy a record into a shared mapping of a preallocated segment
 * file: no syscall per record, and once the bytes are in the page cache a
 * kill -9 cannot lose them. posix_fallocate at segment creation reserves the
 * blocks, so a full disk is an error at rotation time instead of a SIGBUS
 * in the middle of a record. The reader pread()s records in 256 KiB chunks
 * into buffers it keeps until the records are committed, so what the
 * pipeline holds is bounded by what it has not committed, and the
 * appenders' pages are given back to the kernel after every sync.
 *
 * Not here: timers (in_mqtt.c calls hz_spool_sync), and any knowledge of
 * what a record means.
 */
#include "in/spool.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "core/log.h"

#define REC_MAGIC UINT32_C(0x31535a48) /* "HZS1" */
#define HDR_LEN 32
#define CHUNK_BYTES ((size_t)256 << 10)
#define SPARE_CHUNKS 4
#define SEG_NAME_LEN 32 /* "spool-" + 16 hex + ".log" + NUL */

struct seg {
	struct seg *next;      /* sp->lock */
	uint64_t first_seq;    /* from the file name */
	uint64_t last_seq;     /* its last record; final once sealed */
	int fd;
	unsigned char *map;    /* the appenders' mapping; NULL once sealed and synced */
	size_t cap;            /* file size */
	_Atomic size_t used;   /* bytes of whole records, published after each one */
	atomic_bool sealed;    /* no record will be added; next is set */
	size_t synced;         /* bytes on stable storage (sync_lock) */
	size_t dropped;        /* bytes of map given back to the kernel (sp->lock) */
	char name[SEG_NAME_LEN];
};

/* A read buffer: [0, len) handed out as records, [len, filled) read ahead. */
struct chunk {
	struct chunk *next;
	uint64_t last_seq;     /* last record handed out from it; 0 for none */
	size_t len, filled, cap;
	_Alignas(8) unsigned char data[];
};

struct hz_spool {
	int dirfd, lockfd;
	size_t seg_bytes;
	size_t page;

	pthread_mutex_t lock;      /* appenders, the segment list, counters */
	pthread_cond_t cond;       /* an append happened */
	pthread_mutex_t sync_lock; /* taken before lock: syncs vs deletions */
	struct seg *head, *tail;   /* tail takes appends when not sealed */
	uint64_t next_seq;
	_Atomic uint64_t written_seq;
	uint64_t disk_bytes, nsegs, appends, append_errors;
	int waiters;
	uint64_t wake_seq;         /* signal waiters once this seq is written */
	bool dir_dirty;

	_Atomic uint64_t synced_seq;

	/* reader thread */
	struct seg *rseg;
	size_t roff;               /* file offset of the next byte to read */
	uint64_t read_seq, committed_seq;
	struct chunk *chunks, *cur;/* held buffers, oldest first; cur is the last */
	struct chunk *spare;
	size_t nspare, held_bytes;

	uint64_t recovered_seq, torn;
};

/* ---- CRC-32C (Castagnoli), slicing by 8 ---- */

static uint32_t crc_tab[8][256];
static pthread_once_t crc_once = PTHREAD_ONCE_INIT;

static void crc_init(void)
{
	for (uint32_t i = 0; i < 256; i++) {
		uint32_t c = i;
		for (int k = 0; k < 8; k++)
			c = (c & 1) ? (c >> 1) ^ UINT32_C(0x82F63B78) : c >> 1;
		crc_tab[0][i] = c;
	}
	for (uint32_t i = 0; i < 256; i++)
		for (int t = 1; t < 8; t++)
			crc_tab[t][i] = (crc_tab[t - 1][i] >> 8) ^ crc_tab[0][crc_tab[t - 1][i] & 0xff];
}

static uint32_t get_le32(const unsigned char *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint64_t get_le64(const unsigned char *p)
{
	return (uint64_t)get_le32(p) | (uint64_t)get_le32(p + 4) << 32;
}

static void put_le32(unsigned char *p, uint32_t v)
{
	p[0] = (unsigned char)v;
	p[1] = (unsigned char)(v >> 8);
	p[2] = (unsigned char)(v >> 16);
	p[3] = (unsigned char)(v >> 24);
}

static void put_le64(unsigned char *p, uint64_t v)
{
	put_le32(p, (uint32_t)v);
	put_le32(p + 4, (uint32_t)(v >> 32));
}

/* Continue a CRC-32C over p[0..n); start with crc = 0. */
static uint32_t crc32c(uint32_t crc, const void *buf, size_t n)
{
	const unsigned char *p = buf;
	crc = ~crc;
	while (n >= 8) {
		uint32_t lo = crc ^ get_le32(p), hi = get_le32(p + 4);
		crc = crc_tab[7][lo & 0xff] ^ crc_tab[6][(lo >> 8) & 0xff] ^
		      crc_tab[5][(lo >> 16) & 0xff] ^ crc_tab[4][lo >> 24] ^
		      crc_tab[3][hi & 0xff] ^ crc_tab[2][(hi >> 8) & 0xff] ^
		      crc_tab[1][(hi >> 16) & 0xff] ^ crc_tab[0][hi >> 24];
		p += 8;
		n -= 8;
	}
	while (n--)
		crc = crc_tab[0][(crc ^ *p++) & 0xff] ^ (crc >> 8);
	return ~crc;
}

/* ---- records ---- */

struct hdr {
	uint32_t magic, crc;
	uint64_t seq;
	int64_t received_us;
	uint32_t payload_len;
	uint16_t topic_len;
	uint8_t ct, flags;
};

static size_t rec_len(size_t topic_len, size_t payload_len)
{
	return (HDR_LEN + topic_len + 1 + payload_len + 1 + 7) & ~(size_t)7;
}

static void hdr_decode(const unsigned char *p, struct hdr *h)
{
	h->magic = get_le32(p);
	h->crc = get_le32(p + 4);
	h->seq = get_le64(p + 8);
	h->received_us = (int64_t)get_le64(p + 16);
	h->payload_len = get_le32(p + 24);
	h->topic_len = (uint16_t)(p[28] | p[29] << 8);
	h->ct = p[30];
	h->flags = p[31];
}

static bool all_zero(const unsigned char *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (p[i])
			return false;
	return true;
}

/* Check the record at p (avail bytes to the end of the segment). Returns
 * NULL and fills h when it is whole and intact, else why not. */
static const char *rec_check(const unsigned char *p, size_t avail, uint64_t prev_seq,
			     struct hdr *h)
{
	if (avail < HDR_LEN)
		return "record header cut short";
	hdr_decode(p, h);
	if (h->magic != REC_MAGIC)
		return "bad magic";
	size_t n = rec_len(h->topic_len, h->payload_len);
	if (n > avail)
		return "record runs past the end of the segment";
	size_t body = HDR_LEN + h->topic_len + 1 + h->payload_len + 1;
	if (crc32c(0, p + 8, body - 8) != h->crc)
		return "checksum mismatch";
	if (p[HDR_LEN + h->topic_len] || p[body - 1])
		return "missing terminator";
	if (h->seq <= prev_seq)
		return "sequence number does not increase";
	return NULL;
}

/* ---- segments ---- */

static void seg_free(struct seg *s)
{
	if (!s)
		return;
	if (s->map)
		munmap(s->map, s->cap);
	if (s->fd >= 0)
		close(s->fd);
	free(s);
}

static struct seg *seg_alloc(uint64_t first_seq)
{
	struct seg *s = calloc(1, sizeof(*s));
	if (!s)
		return NULL;
	s->fd = -1;
	s->first_seq = first_seq;
	snprintf(s->name, sizeof(s->name), "spool-%016" PRIx64 ".log", first_seq);
	return s;
}

/* Create and map a new open segment of at least `min_cap` bytes. */
static struct seg *seg_create(struct hz_spool *sp, uint64_t first_seq, size_t min_cap,
			      char *err, size_t errlen)
{
	struct seg *s = seg_alloc(first_seq);
	if (!s) {
		hz_errf(err, errlen, "out of memory");
		return NULL;
	}
	size_t cap = HZ_MAX(sp->seg_bytes, (min_cap + sp->page - 1) & ~(sp->page - 1));
	s->fd = openat(sp->dirfd, s->name, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (s->fd < 0) {
		hz_errf(err, errlen, "could not create spool segment \"%s\": %s", s->name,
			strerror(errno));
		goto fail;
	}
	int rc = posix_fallocate(s->fd, 0, (off_t)cap);
	if (rc) {
		hz_errf(err, errlen, "could not preallocate %zu bytes for spool segment \"%s\": %s",
			cap, s->name, strerror(rc));
		unlinkat(sp->dirfd, s->name, 0);
		goto fail;
	}
	s->map = mmap(NULL, cap, PROT_READ | PROT_WRITE, MAP_SHARED, s->fd, 0);
	if (s->map == MAP_FAILED) {
		s->map = NULL;
		hz_errf(err, errlen, "could not map spool segment \"%s\": %s", s->name,
			strerror(errno));
		unlinkat(sp->dirfd, s->name, 0);
		goto fail;
	}
	s->cap = cap;
	return s;
fail:
	seg_free(s);
	return NULL;
}

/* Grow the open segment `s`, which holds no record yet, to min_cap. */
static int seg_grow(struct hz_spool *sp, struct seg *s, size_t min_cap, char *err,
		    size_t errlen)
{
	size_t cap = (min_cap + sp->page - 1) & ~(sp->page - 1);
	int rc = posix_fallocate(s->fd, 0, (off_t)cap);
	if (rc) {
		hz_errf(err, errlen, "could not preallocate %zu bytes for spool segment \"%s\": %s",
			cap, s->name, strerror(rc));
		return HZ_ERR;
	}
	unsigned char *map = mmap(NULL, cap, PROT_READ | PROT_WRITE, MAP_SHARED, s->fd, 0);
	if (map == MAP_FAILED) {
		hz_errf(err, errlen, "could not map spool segment \"%s\": %s", s->name,
			strerror(errno));
		return HZ_ERR;
	}
	munmap(s->map, s->cap);
	s->map = map;
	s->cap = cap;
	s->dropped = 0;
	return HZ_OK;
}

/* ---- open and recovery ---- */

static int seg_cmp(const void *a, const void *b)
{
	const struct seg *x = *(struct seg *const *)a, *y = *(struct seg *const *)b;
	return x->first_seq < y->first_seq ? -1 : x->first_seq > y->first_seq;
}

static void spool_link(struct hz_spool *sp, struct seg *s)
{
	if (sp->tail)
		sp->tail->next = s;
	else
		sp->head = s;
	sp->tail = s;
	sp->nsegs++;
}

/* Check every record of one segment found on disk; cut a torn or corrupt
 * tail away. Returns the last valid seq (0 when the segment holds none),
 * with s->used set; HZ_ERR on an I/O error. */
static int seg_recover(struct hz_spool *sp, struct seg *s, uint64_t *prev_seq, char *err,
		       size_t errlen)
{
	struct stat st;
	if (fstat(s->fd, &st) < 0) {
		hz_errf(err, errlen, "could not stat spool segment \"%s\": %s", s->name,
			strerror(errno));
		return HZ_ERR;
	}
	size_t size = (size_t)st.st_size, off = 0;
	uint64_t last = 0;
	if (size > 0) {
		unsigned char *p = mmap(NULL, size, PROT_READ, MAP_SHARED, s->fd, 0);
		if (p == MAP_FAILED) {
			hz_errf(err, errlen, "could not map spool segment \"%s\": %s", s->name,
				strerror(errno));
			return HZ_ERR;
		}
		struct hdr h;
		const char *why = NULL;
		while (off < size) {
			why = rec_check(p + off, size - off, *prev_seq, &h);
			if (why)
				break;
			last = *prev_seq = h.seq;
			off += rec_len(h.topic_len, h.payload_len);
		}
		/* A zero header is where the appenders stopped in a preallocated
		 * file: a clean end. Anything else is a torn or corrupt record. */
		if (why && !all_zero(p + off, HZ_MIN((size_t)HDR_LEN, size - off))) {
			hz_warn("spool segment \"%s\": %s at offset %zu: cutting %zu bytes "
				"after %s",
				s->name, why, off, size - off,
				last ? "the last good record" : "the start");
			sp->torn++;
		}
		munmap(p, size);
	}
	if (off < size && ftruncate(s->fd, (off_t)off) < 0) {
		hz_errf(err, errlen, "could not truncate spool segment \"%s\": %s", s->name,
			strerror(errno));
		return HZ_ERR;
	}
	s->cap = s->synced = off;
	atomic_store(&s->used, off);
	s->last_seq = last;
	return HZ_OK;
}

/* List DIR's segments sorted by first seq. */
static int list_segments(struct hz_spool *sp, struct seg ***out, size_t *n, char *err,
			 size_t errlen)
{
	int fd = dup(sp->dirfd);
	DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
	if (!d) {
		if (fd >= 0)
			close(fd);
		hz_errf(err, errlen, "could not list spool directory: %s", strerror(errno));
		return HZ_ERR;
	}
	struct seg **v = NULL;
	size_t cnt = 0, cap = 0;
	int rc = HZ_OK;
	struct dirent *de;
	while ((de = readdir(d))) {
		uint64_t first;
		char tail[8];
		if (strlen(de->d_name) != 26 /* spool-<16 hex>.log */ ||
		    sscanf(de->d_name, "spool-%16" SCNx64 "%5s", &first, tail) != 2 ||
		    strcmp(tail, ".log") != 0)
			continue;
		if (cnt == cap) {
			cap = cap ? cap * 2 : 16;
			struct seg **nv = realloc(v, cap * sizeof(*v));
			if (!nv) {
				rc = HZ_ENOMEM;
				break;
			}
			v = nv;
		}
		if (!(v[cnt] = seg_alloc(first))) {
			rc = HZ_ENOMEM;
			break;
		}
		cnt++;
	}
	closedir(d);
	if (rc) {
		for (size_t i = 0; i < cnt; i++)
			seg_free(v[i]);
		free(v);
		hz_errf(err, errlen, "out of memory");
		return rc;
	}
	if (cnt)
		qsort(v, cnt, sizeof(*v), seg_cmp);
	*out = v;
	*n = cnt;
	return HZ_OK;
}

static int spool_recover(struct hz_spool *sp, uint64_t after_seq, char *err, size_t errlen)
{
	struct seg **v;
	size_t n;
	if (list_segments(sp, &v, &n, err, errlen))
		return HZ_ERR;
	uint64_t prev = 0;
	int rc = HZ_OK;
	size_t i;
	for (i = 0; i < n; i++) {
		struct seg *s = v[i];
		/* Records are below the next segment's first seq: a segment whose
		 * successor starts at or below after_seq + 1 is all committed. */
		bool committed = i + 1 < n && v[i + 1]->first_seq - 1 <= after_seq;
		if (!committed) {
			s->fd = openat(sp->dirfd, s->name, O_RDWR | O_CLOEXEC);
			if (s->fd < 0) {
				hz_errf(err, errlen, "could not open spool segment \"%s\": %s",
					s->name, strerror(errno));
				rc = HZ_ERR;
				break;
			}
			if ((rc = seg_recover(sp, s, &prev, err, errlen)))
				break;
			committed = s->last_seq <= after_seq;
		}
		if (committed || s->last_seq == 0) {
			if (unlinkat(sp->dirfd, s->name, 0) < 0)
				hz_warn("could not remove spool segment \"%s\": %s", s->name,
					strerror(errno));
			seg_free(s);
			continue;
		}
		atomic_store(&s->sealed, true);
		sp->disk_bytes += atomic_load(&s->used);
		spool_link(sp, s);
	}
	for (; i < n; i++) /* after an error: those not linked */
		seg_free(v[i]);
	free(v);
	if (rc)
		return rc;
	sp->recovered_seq = prev;
	sp->next_seq = HZ_MAX(prev, after_seq) + 1;
	/* Never below the reader: "written - read" is what waiting is about. */
	atomic_store(&sp->written_seq, sp->next_seq - 1);
	atomic_store(&sp->synced_seq, sp->next_seq - 1);
	sp->read_seq = sp->committed_seq = after_seq;
	sp->rseg = sp->head;
	return HZ_OK;
}

struct hz_spool *hz_spool_open(const char *dir, const struct hz_spool_opts *opts,
			       uint64_t after_seq, char *err, size_t errlen)
{
	pthread_once(&crc_once, crc_init);
	struct hz_spool *sp = calloc(1, sizeof(*sp));
	if (!sp) {
		hz_errf(err, errlen, "out of memory");
		return NULL;
	}
	sp->dirfd = sp->lockfd = -1;
	sp->page = (size_t)sysconf(_SC_PAGESIZE);
	sp->seg_bytes = opts && opts->segment_bytes ? opts->segment_bytes : HZ_SPOOL_SEGMENT_DEFAULT;
	sp->seg_bytes = (HZ_MAX(sp->seg_bytes, sp->page) + sp->page - 1) & ~(sp->page - 1);
	pthread_mutex_init(&sp->lock, NULL);
	pthread_mutex_init(&sp->sync_lock, NULL);
	pthread_condattr_t ca;
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&sp->cond, &ca);
	pthread_condattr_destroy(&ca);

	if (mkdir(dir, 0700) < 0 && errno != EEXIST) {
		hz_errf(err, errlen, "could not create spool directory \"%s\": %s", dir,
			strerror(errno));
		goto fail;
	}
	sp->dirfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (sp->dirfd < 0) {
		hz_errf(err, errlen, "could not open spool directory \"%s\": %s", dir,
			strerror(errno));
		goto fail;
	}
	sp->lockfd = openat(sp->dirfd, "lock", O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (sp->lockfd < 0) {
		hz_errf(err, errlen, "could not open \"%s/lock\": %s", dir, strerror(errno));
		goto fail;
	}
	if (flock(sp->lockfd, LOCK_EX | LOCK_NB) < 0) {
		hz_errf(err, errlen, "spool directory \"%s\" is in use by another process: %s",
			dir, strerror(errno));
		goto fail;
	}
	char why[256];
	if (spool_recover(sp, after_seq, why, sizeof(why))) {
		hz_errf(err, errlen, "could not recover spool \"%s\": %s", dir, why);
		goto fail;
	}
	if (sp->recovered_seq > after_seq)
		hz_info("spool \"%s\": %" PRIu64 " segments, replaying seqs %" PRIu64 "..%" PRIu64,
			dir, sp->nsegs, after_seq + 1, sp->recovered_seq);
	return sp;
fail:
	hz_spool_close(sp);
	return NULL;
}

/* ---- appending ---- */

int hz_spool_append(struct hz_spool *sp, const char *topic, size_t topic_len, uint8_t ct,
		    const void *payload, size_t len, int64_t received_us, uint64_t *seq,
		    char *err, size_t errlen)
{
	if (topic_len > UINT16_MAX || len > UINT32_MAX - 2 * HDR_LEN) {
		hz_errf(err, errlen, "message too large for the spool: topic %zu, payload %zu bytes",
			topic_len, len);
		return HZ_EINVAL;
	}
	size_t n = rec_len(topic_len, len);
	pthread_mutex_lock(&sp->lock);
	struct seg *s = sp->tail;
	if (!s || atomic_load(&s->sealed) || atomic_load(&s->used) + n > s->cap) {
		int rc = HZ_OK;
		if (s && !atomic_load(&s->sealed) && atomic_load(&s->used) == 0) {
			rc = seg_grow(sp, s, n, err, errlen);
		} else {
			struct seg *ns = seg_create(sp, sp->next_seq, n, err, errlen);
			if (ns) {
				if (s) {
					s->next = ns;
					atomic_store_explicit(&s->sealed, true, memory_order_release);
				}
				spool_link(sp, ns);
				sp->dir_dirty = true;
				s = ns;
			} else {
				rc = HZ_ERR;
			}
		}
		if (rc) {
			sp->append_errors++;
			pthread_mutex_unlock(&sp->lock);
			return HZ_ERR;
		}
	}
	size_t off = atomic_load_explicit(&s->used, memory_order_relaxed);
	unsigned char *p = s->map + off;
	uint64_t q = sp->next_seq++;
	put_le64(p + 8, q);
	put_le64(p + 16, (uint64_t)received_us);
	put_le32(p + 24, (uint32_t)len);
	p[28] = (unsigned char)topic_len;
	p[29] = (unsigned char)(topic_len >> 8);
	p[30] = ct;
	p[31] = 0;
	memcpy(p + HDR_LEN, topic, topic_len);
	p[HDR_LEN + topic_len] = 0;
	if (len)
		memcpy(p + HDR_LEN + topic_len + 1, payload, len);
	size_t body = HDR_LEN + topic_len + 1 + len + 1;
	memset(p + body - 1, 0, n - body + 1);
	put_le32(p + 4, crc32c(0, p + 8, body - 8));
	put_le32(p, REC_MAGIC);
	s->last_seq = q;
	atomic_store_explicit(&s->used, off + n, memory_order_release);
	atomic_store_explicit(&sp->written_seq, q, memory_order_release);
	sp->disk_bytes += n;
	sp->appends++;
	if (sp->waiters && q >= sp->wake_seq)
		pthread_cond_broadcast(&sp->cond);
	pthread_mutex_unlock(&sp->lock);
	if (seq)
		*seq = q;
	return HZ_OK;
}

/* ---- syncing ---- */

int hz_spool_sync(struct hz_spool *sp, char *err, size_t errlen)
{
	enum { MAXS = 16 };
	struct seg *todo[MAXS];
	size_t upto[MAXS], n = 0;
	int rc = HZ_OK;

	pthread_mutex_lock(&sp->sync_lock);
	pthread_mutex_lock(&sp->lock);
	uint64_t target = atomic_load(&sp->written_seq);
	bool dir = sp->dir_dirty;
	sp->dir_dirty = false;
	for (struct seg *s = sp->head; s; s = s->next) {
		size_t used = atomic_load(&s->used);
		if (s->synced < used || (s->map && atomic_load(&s->sealed))) {
			if (n == MAXS) {
				target = s->first_seq - 1; /* the rest on the next call */
				break;
			}
			todo[n] = s;
			upto[n++] = used;
		}
	}
	pthread_mutex_unlock(&sp->lock);

	if (dir && fsync(sp->dirfd) < 0) {
		hz_errf(err, errlen, "could not sync spool directory: %s", strerror(errno));
		rc = HZ_ERR;
	}
	for (size_t i = 0; i < n && !rc; i++) {
		struct seg *s = todo[i];
		if (s->synced < upto[i] && fdatasync(s->fd) < 0) {
			hz_errf(err, errlen, "could not sync spool segment \"%s\": %s", s->name,
				strerror(errno));
			rc = HZ_ERR;
			break;
		}
		s->synced = upto[i];
	}

	/* Give the synced pages of the appenders' mappings back: the page
	 * cache keeps the data, our resident set does not grow with the
	 * segment. Under lock, so no append writes a page being dropped. */
	pthread_mutex_lock(&sp->lock);
	for (size_t i = 0; i < n && !rc; i++) {
		struct seg *s = todo[i];
		if (!s->map)
			continue;
		if (atomic_load(&s->sealed) && s->synced == atomic_load(&s->used)) {
			munmap(s->map, s->cap);
			s->map = NULL;
			continue;
		}
		size_t to = s->synced & ~(sp->page - 1);
		if (to > s->dropped) {
			madvise(s->map + s->dropped, to - s->dropped, MADV_DONTNEED);
			s->dropped = to;
		}
	}
	pthread_mutex_unlock(&sp->lock);
	if (!rc)
		atomic_store(&sp->synced_seq, target);
	pthread_mutex_unlock(&sp->sync_lock);
	return rc;
}

/* ---- reading ---- */

static struct chunk *chunk_get(struct hz_spool *sp, size_t need)
{
	size_t cap = HZ_MAX(CHUNK_BYTES, (need + 4095) & ~(size_t)4095);
	struct chunk *c = NULL;
	if (cap == CHUNK_BYTES && sp->spare) {
		c = sp->spare;
		sp->spare = c->next;
		sp->nspare--;
	} else if (!(c = malloc(sizeof(*c) + cap))) {
		return NULL;
	}
	c->next = NULL;
	c->last_seq = 0;
	c->len = c->filled = 0;
	c->cap = cap;
	sp->held_bytes += cap;
	return c;
}

static void chunk_put(struct hz_spool *sp, struct chunk *c)
{
	sp->held_bytes -= c->cap;
	if (c->cap == CHUNK_BYTES && sp->nspare < SPARE_CHUNKS) {
		c->next = sp->spare;
		sp->spare = c;
		sp->nspare++;
	} else {
		free(c);
	}
}

/* Start a new current chunk able to hold `need` bytes, moving the read-ahead
 * of the old one (a partial record) over. A current chunk that handed
 * nothing out is replaced rather than kept. */
static int chunk_next(struct hz_spool *sp, size_t need)
{
	struct chunk *o = sp->cur, *c = chunk_get(sp, need);
	if (!c)
		return HZ_ENOMEM;
	if (!o) {
		sp->chunks = c;
	} else {
		size_t ahead = o->filled - o->len;
		memcpy(c->data, o->data + o->len, ahead);
		c->filled = ahead;
		o->filled = o->len;
		if (o->len) {
			o->next = c;
		} else {
			struct chunk **pp = &sp->chunks;
			while (*pp != o)
				pp = &(*pp)->next;
			*pp = c;
			chunk_put(sp, o);
		}
	}
	sp->cur = c;
	return HZ_OK;
}

/* Move the reader to the next segment when the current one is finished. */
static bool reader_advance(struct hz_spool *sp)
{
	pthread_mutex_lock(&sp->lock);
	bool moved = false;
	if (!sp->rseg) {
		sp->rseg = sp->head;
		sp->roff = 0;
		moved = sp->rseg != NULL;
	} else if (atomic_load_explicit(&sp->rseg->sealed, memory_order_acquire) &&
		   sp->roff >= atomic_load(&sp->rseg->used) && sp->rseg->next) {
		sp->rseg = sp->rseg->next;
		sp->roff = 0;
		moved = true;
	}
	pthread_mutex_unlock(&sp->lock);
	return moved;
}

size_t hz_spool_read(struct hz_spool *sp, struct hz_spool_rec *recs, size_t max)
{
	size_t n = 0;
	while (n < max) {
		struct chunk *c = sp->cur;
		/* Hand out whole records already read ahead. */
		if (c && c->filled - c->len >= HDR_LEN) {
			unsigned char *p = c->data + c->len;
			struct hdr h;
			hdr_decode(p, &h);
			size_t rl = rec_len(h.topic_len, h.payload_len);
			if (h.magic != REC_MAGIC) {
				hz_err("spool segment \"%s\": bad record in read buffer at seq %" PRIu64
				       ": skipping the rest of the segment",
				       sp->rseg ? sp->rseg->name : "?", sp->read_seq);
				c->filled = c->len;
				if (sp->rseg)
					sp->roff = atomic_load(&sp->rseg->used);
				continue;
			}
			if (rl <= c->filled - c->len) {
				c->len += rl;
				if (h.seq <= sp->read_seq)
					continue; /* committed before this start */
				struct hz_spool_rec *r = &recs[n++];
				r->seq = h.seq;
				r->received_us = h.received_us;
				r->topic = (const char *)p + HDR_LEN;
				r->topic_len = h.topic_len;
				r->payload = p + HDR_LEN + h.topic_len + 1;
				r->len = h.payload_len;
				r->ct = h.ct;
				sp->read_seq = c->last_seq = h.seq;
				continue;
			}
			if (rl > c->cap - c->len && chunk_next(sp, rl))
				break;
		}
		/* Read more of the current segment. */
		struct seg *s = sp->rseg;
		size_t used = s ? atomic_load_explicit(&s->used, memory_order_acquire) : 0;
		if (!s || sp->roff >= used) {
			if (reader_advance(sp))
				continue;
			break;
		}
		c = sp->cur;
		if (!c || c->cap - c->filled < HDR_LEN) {
			if (chunk_next(sp, HDR_LEN))
				break;
			c = sp->cur;
		}
		size_t want = HZ_MIN(used - sp->roff, c->cap - c->filled);
		ssize_t got = pread(s->fd, c->data + c->filled, want, (off_t)sp->roff);
		if (got < 0 && errno == EINTR)
			continue;
		if (got <= 0) {
			hz_err("could not read spool segment \"%s\" at offset %zu: %s", s->name,
			       sp->roff, got < 0 ? strerror(errno) : "unexpected end of file");
			break;
		}
		c->filled += (size_t)got;
		sp->roff += (size_t)got;
	}
	return n;
}

static void abs_deadline(struct timespec *ts, int64_t mono_us)
{
	ts->tv_sec = (time_t)(mono_us / HZ_US_PER_SEC);
	ts->tv_nsec = (long)(mono_us % HZ_US_PER_SEC) * 1000;
}

bool hz_spool_wait(struct hz_spool *sp, size_t want, int linger_us, int timeout_ms)
{
	struct chunk *c = sp->cur;
	if (c && c->filled - c->len >= HDR_LEN)
		return true; /* read ahead already */
	if (want == 0)
		want = 1;
	uint64_t avail = atomic_load(&sp->written_seq) - sp->read_seq;
	if (avail >= want || (avail && linger_us <= 0) || (!avail && timeout_ms <= 0))
		return avail > 0;
	int64_t now = hz_mono_us(), end = now + (int64_t)timeout_ms * 1000;
	int64_t linger_end = avail ? HZ_MIN(end, now + linger_us) : 0;
	pthread_mutex_lock(&sp->lock);
	sp->waiters++;
	for (;;) {
		avail = atomic_load(&sp->written_seq) - sp->read_seq;
		if (avail && !linger_end)
			linger_end = HZ_MIN(end, now + linger_us);
		if (avail >= want || now >= (avail ? linger_end : end))
			break;
		/* Appenders signal only when this is reached: one wake-up per
		 * batch, not one per record. */
		sp->wake_seq = sp->read_seq + (avail ? want : 1);
		struct timespec ts;
		abs_deadline(&ts, avail ? linger_end : end);
		pthread_cond_timedwait(&sp->cond, &sp->lock, &ts);
		now = hz_mono_us();
	}
	sp->waiters--;
	pthread_mutex_unlock(&sp->lock);
	return avail > 0;
}

/* ---- committing ---- */

void hz_spool_committed(struct hz_spool *sp, uint64_t seq)
{
	if (seq > sp->read_seq)
		seq = sp->read_seq;
	if (seq <= sp->committed_seq)
		return;
	sp->committed_seq = seq;

	while (sp->chunks && sp->chunks != sp->cur && sp->chunks->last_seq <= seq) {
		struct chunk *c = sp->chunks;
		sp->chunks = c->next;
		chunk_put(sp, c);
	}

	/* Whole segments go when their last record is committed. The sync
	 * lock (held across fdatasync) is taken only when one can go. */
	pthread_mutex_lock(&sp->lock);
	struct seg *h = sp->head;
	bool any = h && h != sp->tail && atomic_load(&h->sealed) && h->last_seq <= seq;
	pthread_mutex_unlock(&sp->lock);
	if (!any)
		return;
	struct seg *gone = NULL, **last = &gone;
	pthread_mutex_lock(&sp->sync_lock);
	pthread_mutex_lock(&sp->lock);
	while (sp->head && sp->head != sp->tail && atomic_load(&sp->head->sealed) &&
	       sp->head->last_seq <= seq) {
		struct seg *s = sp->head;
		if (s == sp->rseg) {
			if (sp->roff < atomic_load(&s->used))
				break;
			sp->rseg = s->next;
			sp->roff = 0;
		}
		sp->head = s->next;
		sp->nsegs--;
		sp->disk_bytes -= atomic_load(&s->used);
		s->next = NULL;
		*last = s;
		last = &s->next;
	}
	pthread_mutex_unlock(&sp->lock);
	while (gone) {
		struct seg *s = gone;
		gone = s->next;
		if (unlinkat(sp->dirfd, s->name, 0) < 0)
			hz_warn("could not remove spool segment \"%s\": %s", s->name,
				strerror(errno));
		seg_free(s);
	}
	pthread_mutex_unlock(&sp->sync_lock);
}

void hz_spool_stats(struct hz_spool *sp, struct hz_spool_stats *st)
{
	memset(st, 0, sizeof(*st));
	pthread_mutex_lock(&sp->lock);
	st->next_seq = sp->next_seq;
	st->disk_bytes = sp->disk_bytes;
	st->segments = sp->nsegs;
	st->appends = sp->appends;
	st->append_errors = sp->append_errors;
	pthread_mutex_unlock(&sp->lock);
	st->synced_seq = atomic_load(&sp->synced_seq);
	st->read_seq = sp->read_seq;
	st->committed_seq = sp->committed_seq;
	st->recovered_seq = sp->recovered_seq;
	st->torn = sp->torn;
	st->held_bytes = sp->held_bytes;
}

void hz_spool_close(struct hz_spool *sp)
{
	if (!sp)
		return;
	if (sp->dirfd >= 0 && sp->head) {
		char err[256];
		if (hz_spool_sync(sp, err, sizeof(err)))
			hz_err("%s", err);
	}
	struct seg *s = sp->head;
	while (s) {
		struct seg *next = s->next;
		size_t used = atomic_load(&s->used);
		if (s->map) {
			munmap(s->map, s->cap);
			s->map = NULL;
		}
		/* Trim the preallocated tail so a reopen finds the end at EOF. */
		if (s->fd >= 0 && s->cap > used) {
			if (used == 0)
				unlinkat(sp->dirfd, s->name, 0);
			else if (ftruncate(s->fd, (off_t)used) < 0)
				hz_warn("could not trim spool segment \"%s\": %s", s->name,
					strerror(errno));
		}
		seg_free(s);
		s = next;
	}
	while (sp->chunks) {
		struct chunk *c = sp->chunks;
		sp->chunks = c->next;
		free(c);
	}
	while (sp->spare) {
		struct chunk *c = sp->spare;
		sp->spare = c->next;
		free(c);
	}
	if (sp->lockfd >= 0)
		close(sp->lockfd); /* drops the flock */
	if (sp->dirfd >= 0)
		close(sp->dirfd);
	pthread_cond_destroy(&sp->cond);
	pthread_mutex_destroy(&sp->lock);
	pthread_mutex_destroy(&sp->sync_lock);
	free(sp);
}
