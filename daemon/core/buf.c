/*
 * buf.c - growable byte buffer; doubling growth, never shrinks until freed.
 */
#include "core/buf.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int hz_buf_reserve(struct hz_buf *b, size_t extra)
{
	if (b->cap - b->len > extra)
		return HZ_OK;
	size_t cap = b->cap ? b->cap : 256;
	while (cap - b->len <= extra) {
		if (cap > SIZE_MAX / 2)
			return HZ_ENOMEM;
		cap *= 2;
	}
	unsigned char *d = realloc(b->data, cap);
	if (!d)
		return HZ_ENOMEM;
	b->data = d;
	b->cap = cap;
	return HZ_OK;
}

int hz_buf_append(struct hz_buf *b, const void *p, size_t n)
{
	if (hz_buf_reserve(b, n))
		return HZ_ENOMEM;
	if (n)
		memcpy(b->data + b->len, p, n);
	b->len += n;
	return HZ_OK;
}

int hz_buf_appendf(struct hz_buf *b, const char *fmt, ...)
{
	/* formatted once, into the room there is; a second time only when
	 * it did not fit */
	size_t room = b->cap - b->len;
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(room ? (char *)b->data + b->len : NULL, room, fmt, ap);
	va_end(ap);
	if (n < 0)
		return HZ_ENOMEM;
	if ((size_t)n >= room) {
		if (hz_buf_reserve(b, (size_t)n + 1))
			return HZ_ENOMEM;
		va_start(ap, fmt);
		vsnprintf((char *)b->data + b->len, (size_t)n + 1, fmt, ap);
		va_end(ap);
	}
	b->len += (size_t)n;
	return HZ_OK;
}

int hz_buf_append_json_str(struct hz_buf *b, const char *s)
{
	static const char hex[] = "0123456789abcdef";
	if (hz_buf_reserve(b, strlen(s) * 6 + 2))
		return HZ_ENOMEM;
	unsigned char *o = b->data + b->len;
	*o++ = '"';
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		unsigned char c = *p;
		if (c == '"' || c == '\\') {
			*o++ = '\\';
			*o++ = c;
		} else if (c == '\n') {
			*o++ = '\\';
			*o++ = 'n';
		} else if (c < 0x20) {
			*o++ = '\\';
			*o++ = 'u';
			*o++ = '0';
			*o++ = '0';
			*o++ = (unsigned char)hex[c >> 4];
			*o++ = (unsigned char)hex[c & 15];
		} else {
			*o++ = c;
		}
	}
	*o++ = '"';
	b->len = (size_t)(o - b->data);
	return HZ_OK;
}

int hz_buf_cstr(struct hz_buf *b)
{
	if (hz_buf_reserve(b, 1))
		return HZ_ENOMEM;
	b->data[b->len] = '\0';
	return HZ_OK;
}

void hz_buf_free(struct hz_buf *b)
{
	free(b->data);
	b->data = NULL;
	b->len = b->cap = 0;
}
