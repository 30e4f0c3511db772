/*
 * tail.h - follow the escalation log like `tail -F`: print the last N
 * matching lines, then new lines as they are appended; survive the file
 * being truncated (copytruncate) or moved away and re-created (logrotate
 * with a SIGHUP to hazardd, which reopens it).
 *
 * Polls: one fstat and stat per interval (100 ms by default) and a read
 * when the file grew. No inotify: polling works on every file system,
 * including NFS and bind mounts, and 100 ms is below what a person sees.
 */
#ifndef HZ_CTL_TAIL_H
#define HZ_CTL_TAIL_H

#include "ctl/logline.h"

#include <signal.h>
#include <stdio.h>

struct hz_ctl_tail_opts {
	const char *path;
	long last_n;    /* matching lines shown before following; 0: none */
	bool follow;    /* false: print the last N and stop */
	bool json;      /* pass matching lines through as they are */
	bool colour, c256;
	const struct hz_ctl_logfilter *filter;
	int64_t poll_us;                   /* 0: 100 ms */
	volatile sig_atomic_t *stop;       /* set by a signal handler; may be NULL */
	FILE *out, *diag;                  /* lines; notices (rotation, truncation) */
};

/* Run until *stop, or at the end of the file without follow. *matched
 * counts the lines printed. Returns 0, HZ_ENOTFOUND when the file does not
 * exist and follow is off, or HZ_ERR (err: "could not read \"F\": ..."). */
int hz_ctl_tail_run(const struct hz_ctl_tail_opts *o, size_t *matched, char *err, size_t errlen);

/* The last `n` lines of buf[0..len) that pass `filter`, as offsets: fills
 * starts/ends (n entries at most, oldest first) and returns how many.
 * A final line without its newline is left out (the writer is mid-line).
 * Pure: for tests, and used on each block read backwards. */
size_t hz_ctl_tail_last(const char *buf, size_t len, const struct hz_ctl_logfilter *filter,
			size_t n, size_t *starts, size_t *ends);

#endif
