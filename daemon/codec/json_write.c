/*
 * json_write.c - a protobuf-c struct -> proto3 JSON text, generic over
 * descriptors (see json.h for the form). Appends to an hz_buf and
 * allocates nothing else; integers are formatted by hand, doubles take
 * the shortest %g that reads back exactly (one or two snprintf+strtod).
 * It trusts the struct's shape (it came from protobuf-c or json_read.c)
 * but not its strings: invalid UTF-8 becomes U+FFFD.
 */
#include "codec/json.h"

#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "codec/pbmeta.h"

static int put(struct hz_buf *b, const char *s, size_t n)
{
	return hz_buf_append(b, s, n);
}

static int put_name(struct hz_buf *b, const char *name)
{
	if (hz_buf_reserve(b, strlen(name) + 3))
		return HZ_ENOMEM;
	b->data[b->len++] = '"';
	bool up = false;
	for (; *name; name++) {
		char ch = *name;
		if (ch == '_') {
			up = true;
			continue;
		}
		b->data[b->len++] = (unsigned char)(up ? toupper((unsigned char)ch) : ch);
		up = false;
	}
	b->data[b->len++] = '"';
	b->data[b->len++] = ':';
	return HZ_OK;
}

/* Length of the valid UTF-8 sequence at s (max n bytes), 0 if invalid. */
static size_t utf8_seq(const unsigned char *s, size_t n)
{
	unsigned ch = s[0];
	size_t k;
	unsigned cp;
	if (ch < 0x80)
		return 1;
	if ((ch & 0xE0) == 0xC0) {
		k = 1;
		cp = ch & 0x1F;
	} else if ((ch & 0xF0) == 0xE0) {
		k = 2;
		cp = ch & 0x0F;
	} else if ((ch & 0xF8) == 0xF0) {
		k = 3;
		cp = ch & 0x07;
	} else {
		return 0;
	}
	if (k >= n)
		return 0;
	for (size_t i = 1; i <= k; i++) {
		if ((s[i] & 0xC0) != 0x80)
			return 0;
		cp = (cp << 6) | (s[i] & 0x3F);
	}
	if ((k == 1 && cp < 0x80) || (k == 2 && cp < 0x800) || (k == 3 && cp < 0x10000) ||
	    (cp >= 0xD800 && cp <= 0xDFFF) || cp > 0x10FFFF)
		return 0;
	return k + 1;
}

/* A JSON string literal; invalid UTF-8 becomes U+FFFD, controls are \u-escaped. */
static int put_str(struct hz_buf *b, const char *str, size_t n)
{
	static const char hex[] = "0123456789abcdef";
	const unsigned char *s = (const unsigned char *)str;
	if (n > (SIZE_MAX - 2) / 6 || hz_buf_reserve(b, n * 6 + 2))
		return HZ_ENOMEM;
	unsigned char *o = b->data + b->len;
	*o++ = '"';
	for (size_t i = 0; i < n;) {
		unsigned char ch = s[i];
		if (ch >= 0x80) {
			size_t k = utf8_seq(s + i, n - i);
			if (k == 0) {
				memcpy(o, "\\ufffd", 6);
				o += 6;
				i++;
			} else {
				memcpy(o, s + i, k);
				o += k;
				i += k;
			}
			continue;
		}
		i++;
		if (ch == '"' || ch == '\\') {
			*o++ = '\\';
			*o++ = ch;
		} else if (ch == '\n') {
			*o++ = '\\';
			*o++ = 'n';
		} else if (ch == '\t') {
			*o++ = '\\';
			*o++ = 't';
		} else if (ch == '\r') {
			*o++ = '\\';
			*o++ = 'r';
		} else if (ch < 0x20 || ch == 0x7f) {
			memcpy(o, "\\u00", 4);
			o[4] = (unsigned char)hex[ch >> 4];
			o[5] = (unsigned char)hex[ch & 15];
			o += 6;
		} else {
			*o++ = ch;
		}
	}
	*o++ = '"';
	b->len = (size_t)(o - b->data);
	return HZ_OK;
}

/* Shortest %g form that reads back as the same double (or float). */
static int put_double(struct hz_buf *b, double d, bool is_float)
{
	if (isnan(d))
		return put(b, "\"NaN\"", 5);
	if (isinf(d))
		return d > 0 ? put(b, "\"Infinity\"", 10) : put(b, "\"-Infinity\"", 11);
	if (d == 0 && signbit(d))
		return put(b, "-0.0", 4); /* "-0" would read back as the integer 0 */
	char tmp[40];
	int lo = is_float ? 6 : 15, hi = is_float ? 9 : 17;
	for (int prec = lo; prec <= hi; prec++) {
		snprintf(tmp, sizeof(tmp), "%.*g", prec, d);
		double back = strtod(tmp, NULL);
		if (is_float ? (float)back == (float)d : back == d)
			break;
	}
	return put(b, tmp, strlen(tmp));
}

static int put_timestamp(struct hz_buf *b, const ProtobufCMessage *m)
{
	const Google__Protobuf__Timestamp *ts = (const Google__Protobuf__Timestamp *)m;
	if (!hz_pb_ts_valid(ts))
		return HZ_EINVAL;
	char tb[HZ_TIME_BUFLEN], out[48];
	int32_t ns = ts->nanos;
	hz_time_format(ts->seconds * HZ_US_PER_SEC, tb); /* "YYYY-MM-DDTHH:MM:SS.000000Z" */
	int n;
	if (ns == 0)
		n = snprintf(out, sizeof(out), "\"%.19sZ\"", tb);
	else if (ns % 1000000 == 0)
		n = snprintf(out, sizeof(out), "\"%.19s.%03dZ\"", tb, ns / 1000000);
	else if (ns % 1000 == 0)
		n = snprintf(out, sizeof(out), "\"%.19s.%06dZ\"", tb, ns / 1000);
	else
		n = snprintf(out, sizeof(out), "\"%.19s.%09dZ\"", tb, ns);
	return put(b, out, (size_t)n);
}

static int put_message(struct hz_buf *b, const ProtobufCMessage *m);

/* Decimal integer, optionally quoted (64-bit types are strings in proto3
 * JSON); by hand, since vsnprintf costs more than the rest of a field. */
static int put_int(struct hz_buf *b, uint64_t mag, bool neg, bool quote)
{
	char tmp[24];
	char *p = tmp + sizeof(tmp);
	if (quote)
		*--p = '"';
	do {
		*--p = (char)('0' + mag % 10);
		mag /= 10;
	} while (mag);
	if (neg)
		*--p = '-';
	if (quote)
		*--p = '"';
	return put(b, p, (size_t)(tmp + sizeof(tmp) - p));
}

static int put_i64(struct hz_buf *b, int64_t v, bool quote)
{
	return put_int(b, v < 0 ? 0 - (uint64_t)v : (uint64_t)v, v < 0, quote);
}

static int put_enum(struct hz_buf *b, const ProtobufCEnumDescriptor *ed, int32_t v)
{
	const ProtobufCEnumValue *ev = protobuf_c_enum_descriptor_get_value(ed, v);
	if (ev)
		return put_str(b, ev->name, strlen(ev->name));
	return put_i64(b, v, false);
}

static int put_value(struct hz_buf *b, const ProtobufCFieldDescriptor *f, const void *p)
{
	switch (f->type) {
	case PROTOBUF_C_TYPE_INT32:
	case PROTOBUF_C_TYPE_SINT32:
	case PROTOBUF_C_TYPE_SFIXED32:
		return put_i64(b, *(const int32_t *)p, false);
	case PROTOBUF_C_TYPE_UINT32:
	case PROTOBUF_C_TYPE_FIXED32:
		return put_int(b, *(const uint32_t *)p, false, false);
	case PROTOBUF_C_TYPE_INT64:
	case PROTOBUF_C_TYPE_SINT64:
	case PROTOBUF_C_TYPE_SFIXED64:
		return put_i64(b, *(const int64_t *)p, true);
	case PROTOBUF_C_TYPE_UINT64:
	case PROTOBUF_C_TYPE_FIXED64:
		return put_int(b, *(const uint64_t *)p, false, true);
	case PROTOBUF_C_TYPE_FLOAT:
		return put_double(b, *(const float *)p, true);
	case PROTOBUF_C_TYPE_DOUBLE:
		return put_double(b, *(const double *)p, false);
	case PROTOBUF_C_TYPE_BOOL:
		return *(const protobuf_c_boolean *)p ? put(b, "true", 4) : put(b, "false", 5);
	case PROTOBUF_C_TYPE_ENUM:
		return put_enum(b, f->descriptor, *(const int32_t *)p);
	case PROTOBUF_C_TYPE_STRING: {
		const char *s = *(char *const *)p;
		return s ? put_str(b, s, strlen(s)) : put(b, "\"\"", 2);
	}
	case PROTOBUF_C_TYPE_BYTES: {
		static const char tab[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
		const ProtobufCBinaryData *bd = p;
		if (hz_buf_reserve(b, bd->len / 3 * 4 + 8))
			return HZ_ENOMEM;
		unsigned char *o = b->data + b->len;
		*o++ = '"';
		size_t i = 0;
		for (; i + 2 < bd->len; i += 3) {
			uint32_t v = (uint32_t)bd->data[i] << 16 | (uint32_t)bd->data[i + 1] << 8 | bd->data[i + 2];
			*o++ = (unsigned char)tab[v >> 18];
			*o++ = (unsigned char)tab[(v >> 12) & 63];
			*o++ = (unsigned char)tab[(v >> 6) & 63];
			*o++ = (unsigned char)tab[v & 63];
		}
		if (i < bd->len) {
			uint32_t v = (uint32_t)bd->data[i] << 16;
			if (i + 1 < bd->len)
				v |= (uint32_t)bd->data[i + 1] << 8;
			*o++ = (unsigned char)tab[v >> 18];
			*o++ = (unsigned char)tab[(v >> 12) & 63];
			*o++ = i + 1 < bd->len ? (unsigned char)tab[(v >> 6) & 63] : '=';
			*o++ = '=';
		}
		*o++ = '"';
		b->len = (size_t)(o - b->data);
		return HZ_OK;
	}
	case PROTOBUF_C_TYPE_MESSAGE: {
		const ProtobufCMessage *sm = *(ProtobufCMessage *const *)p;
		if (!sm)
			return put(b, "null", 4);
		if (hz_pb_is_timestamp(sm->descriptor))
			return put_timestamp(b, sm);
		return put_message(b, sm);
	}
	}
	return HZ_EINVAL;
}

/* proto3 implicit presence: is the singular value at p its type's default? */
static bool is_default(const ProtobufCFieldDescriptor *f, const void *p)
{
	switch (f->type) {
	case PROTOBUF_C_TYPE_INT64:
	case PROTOBUF_C_TYPE_SINT64:
	case PROTOBUF_C_TYPE_SFIXED64:
	case PROTOBUF_C_TYPE_UINT64:
	case PROTOBUF_C_TYPE_FIXED64:
		return *(const uint64_t *)p == 0;
	/* -0.0 counts as default: protobuf-c does not pack it either */
	case PROTOBUF_C_TYPE_FLOAT:
		return *(const float *)p == 0;
	case PROTOBUF_C_TYPE_DOUBLE:
		return *(const double *)p == 0;
	case PROTOBUF_C_TYPE_BOOL:
		return !*(const protobuf_c_boolean *)p;
	case PROTOBUF_C_TYPE_STRING: {
		const char *s = *(char *const *)p;
		return !s || !*s;
	}
	case PROTOBUF_C_TYPE_BYTES:
		return ((const ProtobufCBinaryData *)p)->len == 0;
	case PROTOBUF_C_TYPE_MESSAGE:
		return *(ProtobufCMessage *const *)p == NULL;
	default: /* 32-bit integers and enums */
		return *(const uint32_t *)p == 0;
	}
}

static int put_message(struct hz_buf *b, const ProtobufCMessage *m)
{
	const ProtobufCMessageDescriptor *d = m->descriptor;
	bool first = true;
	if (put(b, "{", 1))
		return HZ_ENOMEM;
	for (unsigned i = 0; i < d->n_fields; i++) {
		const ProtobufCFieldDescriptor *f = &d->fields[i];
		const char *base = (const char *)m;
		const void *p = base + f->offset;
		int rc;
		if (f->flags & PROTOBUF_C_FIELD_FLAG_ONEOF) {
			if (*(const uint32_t *)(base + f->quantifier_offset) != f->id)
				continue;
		} else if (f->label == PROTOBUF_C_LABEL_REPEATED) {
			if (*(const size_t *)(base + f->quantifier_offset) == 0)
				continue;
		} else if (f->label == PROTOBUF_C_LABEL_OPTIONAL && f->type != PROTOBUF_C_TYPE_STRING &&
			   f->type != PROTOBUF_C_TYPE_MESSAGE) {
			if (!*(const protobuf_c_boolean *)(base + f->quantifier_offset))
				continue;
		} else if (f->label == PROTOBUF_C_LABEL_NONE && is_default(f, p)) {
			continue;
		} else if (f->type == PROTOBUF_C_TYPE_STRING || f->type == PROTOBUF_C_TYPE_MESSAGE) {
			if (*(void *const *)p == NULL)
				continue;
		}
		if ((!first && put(b, ",", 1)) || put_name(b, f->name))
			return HZ_ENOMEM;
		first = false;
		if (f->label == PROTOBUF_C_LABEL_REPEATED) {
			size_t n = *(const size_t *)(base + f->quantifier_offset), siz = hz_pb_elt_size(f->type);
			const unsigned char *arr = *(void *const *)p;
			if (put(b, "[", 1))
				return HZ_ENOMEM;
			for (size_t k = 0; k < n; k++) {
				if (k && put(b, ",", 1))
					return HZ_ENOMEM;
				rc = put_value(b, f, arr + k * siz);
				if (rc)
					return rc;
			}
			rc = put(b, "]", 1);
		} else {
			rc = put_value(b, f, p);
		}
		if (rc)
			return rc;
	}
	return put(b, "}", 1);
}

int hz_json_from_pb(const ProtobufCMessage *m, struct hz_buf *out)
{
	size_t mark = out->len;
	int rc = hz_pb_is_timestamp(m->descriptor) ? put_timestamp(out, m) : put_message(out, m);
	if (rc != HZ_OK)
		out->len = mark;
	return rc;
}
