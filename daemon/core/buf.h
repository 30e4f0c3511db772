/*
 * buf.h - a growable byte buffer, reused across messages so that the hot
 * path does not allocate once it has grown to its working size.
 */
#ifndef HZ_BUF_H
#define HZ_BUF_H

#include "hz.h"

struct hz_buf {
	unsigned char *data;
	size_t len, cap;
};

#define HZ_BUF_INIT {NULL, 0, 0}

/* Make room for `extra` more bytes. HZ_ENOMEM on failure (buffer unchanged). */
int hz_buf_reserve(struct hz_buf *b, size_t extra);
int hz_buf_append(struct hz_buf *b, const void *p, size_t n);
int hz_buf_appendf(struct hz_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Append s as a JSON string literal with quotes and escapes. */
int hz_buf_append_json_str(struct hz_buf *b, const char *s);
/* NUL-terminate without counting the NUL in len. */
int hz_buf_cstr(struct hz_buf *b);
static inline void hz_buf_clear(struct hz_buf *b) { b->len = 0; }
void hz_buf_free(struct hz_buf *b);

#endif
