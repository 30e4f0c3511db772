/*
 * wire.c - the protobuf pre-scan described in wire.h. One linear pass per
 * nesting level, O(len) overall, no allocation (per-field item counts live
 * on the stack). It does not build anything: protobuf-c does that after.
 */
#include "codec/wire.h"

#include <stdio.h>
#include <string.h>

#define COUNTED_FIELDS 64 /* item counts are kept for the first 64 fields */

struct scan {
	size_t max_string, max_repeated;
	char *err;
	size_t errlen;
	const uint8_t *start; /* of the whole payload, for offsets in errors */
};

/* Read a varint of at most 10 bytes. Returns bytes used, 0 if truncated or
 * too long. */
static size_t varint(const uint8_t *p, size_t n, uint64_t *out)
{
	uint64_t v = 0;
	for (size_t i = 0; i < n && i < 10; i++) {
		v |= (uint64_t)(p[i] & 0x7f) << (7 * i);
		if (!(p[i] & 0x80)) {
			*out = v;
			return i + 1;
		}
	}
	return 0;
}

static bool is_packable(ProtobufCType t)
{
	return t != PROTOBUF_C_TYPE_STRING && t != PROTOBUF_C_TYPE_BYTES &&
	       t != PROTOBUF_C_TYPE_MESSAGE;
}

/* The wire type a field of type t uses when not packed. */
static unsigned wire_type_of(ProtobufCType t)
{
	switch (t) {
	case PROTOBUF_C_TYPE_SFIXED64:
	case PROTOBUF_C_TYPE_FIXED64:
	case PROTOBUF_C_TYPE_DOUBLE:
		return 1;
	case PROTOBUF_C_TYPE_SFIXED32:
	case PROTOBUF_C_TYPE_FIXED32:
	case PROTOBUF_C_TYPE_FLOAT:
		return 5;
	case PROTOBUF_C_TYPE_STRING:
	case PROTOBUF_C_TYPE_BYTES:
	case PROTOBUF_C_TYPE_MESSAGE:
		return 2;
	default:
		return 0;
	}
}

/* Items in a packed run of type t. */
static size_t packed_count(ProtobufCType t, const uint8_t *p, size_t n)
{
	switch (wire_type_of(t)) {
	case 1:
		return n / 8;
	case 5:
		return n / 4;
	default: {
		size_t c = 0;
		for (size_t i = 0; i < n; i++)
			c += !(p[i] & 0x80);
		return c;
	}
	}
}

/* The dotted path of a field ("observed_at.seconds"), kept as a chain on
 * the stack and only printed when there is an error to report. */
struct fpath {
	const struct fpath *up;
	const char *name;
};

static const char *path_str(const struct fpath *p, char *out, size_t outlen)
{
	const char *names[HZ_WIRE_MAX_DEPTH + 1];
	int n = 0;
	for (; p && n < HZ_WIRE_MAX_DEPTH + 1; p = p->up)
		names[n++] = p->name;
	size_t o = 0;
	out[0] = '\0';
	while (n-- > 0 && o < outlen) {
		int w = snprintf(out + o, outlen - o, "%s%s", o ? "." : "", names[n]);
		if (w < 0)
			break;
		o += (size_t)w;
	}
	return out;
}

static int check_string(struct scan *s, const struct fpath *fp, const uint8_t *p, size_t n)
{
	char path[160];
	if (n > s->max_string) {
		hz_errf(s->err, s->errlen, "field \"%s\": %zu bytes, the limit is %zu",
			path_str(fp, path, sizeof(path)), n, s->max_string);
		return HZ_EINVAL;
	}
	const void *nul = memchr(p, 0, n);
	if (nul) {
		hz_errf(s->err, s->errlen, "field \"%s\": contains a NUL byte at byte %zu",
			path_str(fp, path, sizeof(path)), (size_t)((const uint8_t *)nul - p));
		return HZ_EINVAL;
	}
	if (!hz_utf8_valid((const char *)p, n)) {
		hz_errf(s->err, s->errlen, "field \"%s\": invalid UTF-8", path_str(fp, path, sizeof(path)));
		return HZ_EINVAL;
	}
	return HZ_OK;
}

static int scan_msg(struct scan *s, const ProtobufCMessageDescriptor *d, const uint8_t *p,
		    size_t len, const struct fpath *up, int depth)
{
	uint32_t counts[COUNTED_FIELDS];
	memset(counts, 0, sizeof(counts[0]) * HZ_MIN(d->n_fields, (unsigned)COUNTED_FIELDS));
	size_t i = 0;
	while (i < len) {
		size_t off = (size_t)(p + i - s->start);
		uint64_t tag, v;
		size_t used = varint(p + i, len - i, &tag);
		if (used == 0) {
			hz_errf(s->err, s->errlen, "protobuf: truncated tag at offset %zu", off);
			return HZ_EINVAL;
		}
		uint64_t num = tag >> 3;
		unsigned wt = (unsigned)(tag & 7);
		if (num == 0 || num > 536870911u) {
			hz_errf(s->err, s->errlen, "protobuf: invalid field number %llu at offset %zu",
				(unsigned long long)num, off);
			return HZ_EINVAL;
		}
		i += used;
		const uint8_t *val = p + i;
		size_t vlen = 0;
		switch (wt) {
		case 0:
			used = varint(p + i, len - i, &v);
			if (used == 0) {
				hz_errf(s->err, s->errlen, "protobuf: truncated varint in field %llu at offset %zu",
					(unsigned long long)num, off);
				return HZ_EINVAL;
			}
			i += used;
			break;
		case 1:
		case 5:
			vlen = wt == 1 ? 8 : 4;
			if (len - i < vlen) {
				hz_errf(s->err, s->errlen, "protobuf: truncated field %llu at offset %zu",
					(unsigned long long)num, off);
				return HZ_EINVAL;
			}
			i += vlen;
			break;
		case 2:
			used = varint(p + i, len - i, &v);
			if (used == 0 || v > len - i - used) {
				hz_errf(s->err, s->errlen, "protobuf: truncated field %llu at offset %zu",
					(unsigned long long)num, off);
				return HZ_EINVAL;
			}
			val = p + i + used;
			vlen = (size_t)v;
			i += used + vlen;
			break;
		default:
			hz_errf(s->err, s->errlen, "protobuf: unsupported wire type %u in field %llu at offset %zu",
				wt, (unsigned long long)num, off);
			return HZ_EINVAL;
		}

		const ProtobufCFieldDescriptor *f = protobuf_c_message_descriptor_get_field(d, (unsigned)num);
		if (!f)
			continue; /* unknown: protobuf-c keeps it aside, we ignore it */
		char path[160];
		struct fpath fp = {up, f->name};
		bool repeated = f->label == PROTOBUF_C_LABEL_REPEATED;
		bool packed = repeated && wt == 2 && is_packable(f->type);
		if (wt != wire_type_of(f->type) && !packed) {
			hz_errf(s->err, s->errlen, "field \"%s\": wire type %u, expected %u",
				path_str(&fp, path, sizeof(path)), wt, wire_type_of(f->type));
			return HZ_EINVAL;
		}
		if (repeated) {
			size_t idx = (size_t)(f - d->fields);
			size_t add = packed ? packed_count(f->type, val, vlen) : 1;
			if (idx < COUNTED_FIELDS) {
				if (add > s->max_repeated || counts[idx] + add > s->max_repeated) {
					hz_errf(s->err, s->errlen, "field \"%s\": more than %zu items",
						path_str(&fp, path, sizeof(path)), s->max_repeated);
					return HZ_EINVAL;
				}
				counts[idx] += (uint32_t)add;
			}
		}
		if (f->type == PROTOBUF_C_TYPE_STRING) {
			if (check_string(s, &fp, val, vlen))
				return HZ_EINVAL;
		} else if (f->type == PROTOBUF_C_TYPE_BYTES) {
			if (vlen > s->max_string) {
				hz_errf(s->err, s->errlen, "field \"%s\": %zu bytes, the limit is %zu",
					path_str(&fp, path, sizeof(path)), vlen, s->max_string);
				return HZ_EINVAL;
			}
		} else if (f->type == PROTOBUF_C_TYPE_MESSAGE) {
			if (depth + 1 > HZ_WIRE_MAX_DEPTH) {
				hz_errf(s->err, s->errlen, "field \"%s\": nested deeper than %d levels",
					path_str(&fp, path, sizeof(path)), HZ_WIRE_MAX_DEPTH);
				return HZ_EINVAL;
			}
			if (scan_msg(s, f->descriptor, val, vlen, &fp, depth + 1))
				return HZ_EINVAL;
		}
	}
	return HZ_OK;
}

int hz_wire_scan(const ProtobufCMessageDescriptor *d, const uint8_t *buf, size_t len,
		 size_t max_string, size_t max_repeated, char *err, size_t errlen)
{
	struct scan s = {max_string, max_repeated, err, errlen, buf};
	if (!buf)
		return len ? HZ_EINVAL : HZ_OK;
	return scan_msg(&s, d, buf, len, NULL, 1);
}
