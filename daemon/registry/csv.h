/*
 * csv.h - a small RFC 4180 reader for the registry import: comma separated,
 * double-quoted fields with "" escapes and embedded newlines, CRLF or LF,
 * a UTF-8 byte order mark skipped. Reports the line each record starts on.
 * No type conversion: that is the importer's job.
 */
#ifndef HZ_REGISTRY_CSV_H
#define HZ_REGISTRY_CSV_H

#include "core/buf.h"

#include <stdio.h>

#define HZ_CSV_MAX_FIELDS 64

struct hz_csv {
	FILE *f;
	long line;        /* the next physical line to read, from 1 */
	long record_line; /* the line the last record started on */
	size_t nfields;
	size_t off[HZ_CSV_MAX_FIELDS]; /* field i is buf.data + off[i], NUL-terminated */
	struct hz_buf buf;
	bool started;
};

/* Read from `f` (not owned; not closed). */
void hz_csv_init(struct hz_csv *c, FILE *f);
void hz_csv_free(struct hz_csv *c);

/* Read the next record. Returns 1 with the fields set, 0 at end of file,
 * HZ_EINVAL with err ("unterminated quoted field", "too many fields", a
 * stray quote, a NUL byte) naming no file: the caller adds file:line. Blank lines are
 * skipped. */
int hz_csv_next(struct hz_csv *c, char *err, size_t errlen);

static inline const char *hz_csv_field(const struct hz_csv *c, size_t i)
{
	return i < c->nfields ? (const char *)c->buf.data + c->off[i] : "";
}

#endif
