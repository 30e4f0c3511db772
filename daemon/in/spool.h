/*
 * spool.h - a crash-safe local queue of raw messages: append-only segment
 * files of checksummed records, numbered by a monotonically increasing
 * sequence.
 *
 * in_mqtt.c appends every MQTT message here before Paho acknowledges it to
 * the broker, and reads the same records back for the pipeline: the spool
 * is the queue, so live messages and messages replayed after a crash take
 * one path. A record survives kill -9 of the process as soon as
 * hz_spool_append returns (it is in the kernel's page cache); it survives a
 * machine crash once hz_spool_sync has covered it.
 *
 * Files: DIR/spool-<first seq, 16 hex digits>.log, preallocated to the
 * segment size and written through a shared mapping (no syscall per
 * record); DIR/lock holds an flock so two processes never share a spool.
 * Record layout, little-endian, 8-byte aligned:
 *
 *   0  u32 magic "HZS1"       16 i64 received_us      30 u8 ct (opaque)
 *   4  u32 crc32c of 8..end   24 u32 payload length   31 u8 flags (0)
 *   8  u64 seq                28 u16 topic length
 *   32 topic, NUL, payload, NUL, zero padding to 8 bytes
 *
 * Not here: what the messages mean, and where the committed position is
 * kept (the pipeline stores it in PostgreSQL with the batch's effects).
 */
#ifndef HZ_SPOOL_H
#define HZ_SPOOL_H

#include "core/hz.h"

#define HZ_SPOOL_SEGMENT_DEFAULT ((size_t)64 << 20)

struct hz_spool;

struct hz_spool_opts {
	size_t segment_bytes;  /* rotate at this size; 0 means HZ_SPOOL_SEGMENT_DEFAULT */
};

/* One record as read back. Strings and payload are NUL-terminated copies
 * owned by the spool, valid until hz_spool_committed covers `seq` or the
 * spool is closed. */
struct hz_spool_rec {
	uint64_t seq;
	int64_t received_us;
	const char *topic;
	size_t topic_len;
	const void *payload;
	size_t len;
	uint8_t ct;            /* what the appender passed; in_mqtt: enum hz_content_type */
};

struct hz_spool_stats {
	uint64_t next_seq;        /* the seq the next append gets */
	uint64_t read_seq;        /* the last seq hz_spool_read handed out (or after_seq) */
	uint64_t committed_seq;   /* everything <= this is done */
	uint64_t synced_seq;      /* everything <= this is on stable storage */
	uint64_t recovered_seq;   /* the last seq found on disk at open; 0 for none */
	uint64_t disk_bytes;      /* bytes of records in the segments held */
	uint64_t segments;
	uint64_t appends;
	uint64_t append_errors;
	uint64_t torn;            /* torn or corrupt records cut away at open */
	uint64_t held_bytes;      /* read buffers the reader holds until commit */
};

/* Open (creating DIR if needed) and recover: every segment is checked
 * record by record; a torn or corrupt record and everything after it in its
 * segment is cut away and logged, earlier records are kept. Segments
 * holding only records <= after_seq are deleted; reading starts at the
 * first record > after_seq; new records get seqs above both after_seq and
 * everything on disk. Returns NULL with err set when the directory cannot
 * be used or is locked by another process. */
struct hz_spool *hz_spool_open(const char *dir, const struct hz_spool_opts *opts,
			       uint64_t after_seq, char *err, size_t errlen);

/* Append one record and return its seq in *seq. Thread-safe; O(len) with
 * no syscall except when a new segment is started. The record is durable
 * against a crash of this process on return. HZ_ERR with err set when it
 * could not be stored (disk full, I/O error); nothing was appended then. */
int hz_spool_append(struct hz_spool *sp, const char *topic, size_t topic_len, uint8_t ct,
		    const void *payload, size_t len, int64_t received_us, uint64_t *seq,
		    char *err, size_t errlen);

/* Fill up to `max` records following the last one read, in seq order.
 * Returns how many; 0 when the reader has caught up with the appenders.
 * One reader thread only. */
size_t hz_spool_read(struct hz_spool *sp, struct hz_spool_rec *recs, size_t max);

/* Wait up to timeout_ms until a record is there to read; then up to
 * linger_us more (within the timeout) until `want` are, so that a reader
 * keeping up with the appenders wakes once per batch rather than once per
 * record. Returns true when one is there. Reader thread only. */
bool hz_spool_wait(struct hz_spool *sp, size_t want, int linger_us, int timeout_ms);

/* Everything <= seq is done (committed downstream): free the read buffers
 * that hold only such records, delete the segments that hold only such
 * records. Clamped to what was read. Reader thread only. */
void hz_spool_committed(struct hz_spool *sp, uint64_t seq);

/* Flush appended records to stable storage (fdatasync, and the directory
 * after a new segment), then give their pages of the mapping back to the
 * kernel. Thread-safe; meant for a timer thread. Returns 0, or HZ_ERR with
 * err set. */
int hz_spool_sync(struct hz_spool *sp, char *err, size_t errlen);

void hz_spool_stats(struct hz_spool *sp, struct hz_spool_stats *st);

/* Sync, trim the open segment's preallocated tail, release everything.
 * Accepts NULL. No other thread may be using the spool. */
void hz_spool_close(struct hz_spool *sp);

#endif
