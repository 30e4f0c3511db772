/*
 * json.c - proto3 JSON <-> protobuf-c structs, generic over descriptors.
 *
 * Reading: jansson builds a tree (it mallocs per value: JSON is the slow
 * input format and costs ~2-3x protobuf, see the codec bench), then one
 * recursive walk fills a generated struct from the caller's allocator.
 * The nesting depth is checked on the raw text before jansson sees it, so
 * a hostile "[[[[..." costs one linear scan and no allocation. Field
 * lookup is a binary search on the original name, then a linear scan for
 * the lowerCamelCase name: O(fields) per key, and messages here have <= 17.
 *
 * Writing appends to an hz_buf with no allocation besides its growth.
 * Not handled: map fields, well-known types other than Timestamp.
 */
#include "codec/json.h"

#include <ctype.h>
#include <float.h>
#include <inttypes.h>
#include <jansson.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define TS_NAME "google.protobuf.Timestamp"
#define TS_MIN_SEC INT64_C(-62135596800) /* 0001-01-01T00:00:00Z */
#define TS_MAX_SEC INT64_C(253402300799) /* 9999-12-31T23:59:59Z */

/* ---------------------------------------------------------------- common */

static bool is_timestamp(const ProtobufCMessageDescriptor *d)
{
	return d && d->name && strcmp(d->name, TS_NAME) == 0;
}

/* Size of one element of a repeated field, as protobuf-c lays it out. */
static size_t elt_size(ProtobufCType t)
{
	switch (t) {
	case PROTOBUF_C_TYPE_INT32:
	case PROTOBUF_C_TYPE_SINT32:
	case PROTOBUF_C_TYPE_SFIXED32:
	case PROTOBUF_C_TYPE_UINT32:
	case PROTOBUF_C_TYPE_FIXED32:
	case PROTOBUF_C_TYPE_ENUM:
		return 4;
	case PROTOBUF_C_TYPE_INT64:
	case PROTOBUF_C_TYPE_SINT64:
	case PROTOBUF_C_TYPE_SFIXED64:
	case PROTOBUF_C_TYPE_UINT64:
	case PROTOBUF_C_TYPE_FIXED64:
		return 8;
	case PROTOBUF_C_TYPE_FLOAT:
		return sizeof(float);
	case PROTOBUF_C_TYPE_DOUBLE:
		return sizeof(double);
	case PROTOBUF_C_TYPE_BOOL:
		return sizeof(protobuf_c_boolean);
	case PROTOBUF_C_TYPE_STRING:
		return sizeof(char *);
	case PROTOBUF_C_TYPE_BYTES:
		return sizeof(ProtobufCBinaryData);
	case PROTOBUF_C_TYPE_MESSAGE:
		return sizeof(ProtobufCMessage *);
	}
	return 0;
}

/* Does JSON key `key` name field `name` by its lowerCamelCase JSON name?
 * Same rule as protoc's ToJsonName: '_' dropped, next character upper. */
static bool camel_eq(const char *name, const char *key)
{
	bool up = false;
	for (; *name; name++) {
		char ch = *name;
		if (ch == '_') {
			up = true;
			continue;
		}
		if (up)
			ch = (char)toupper((unsigned char)ch);
		up = false;
		if (*key++ != ch)
			return false;
	}
	return *key == '\0';
}

static const ProtobufCFieldDescriptor *find_field(const ProtobufCMessageDescriptor *d,
						  const char *key)
{
	const ProtobufCFieldDescriptor *f = protobuf_c_message_descriptor_get_field_by_name(d, key);
	if (f)
		return f;
	for (unsigned i = 0; i < d->n_fields; i++)
		if (camel_eq(d->fields[i].name, key))
			return &d->fields[i];
	return NULL;
}

/* ------------------------------------------------------------ JSON -> pb */

struct jctx {
	ProtobufCAllocator *alloc;
	char *err;
	size_t errlen;
	int rc_nomem;        /* set when the allocator said no */
	size_t pathlen;
	char path[192];      /* "observed_at.seconds", "area_codes[3]" */
};

static void *sys_alloc(void *data, size_t n)
{
	(void)data;
	return malloc(n ? n : 1);
}

static void sys_free(void *data, void *p)
{
	(void)data;
	free(p);
}

static ProtobufCAllocator sys_allocator = {sys_alloc, sys_free, NULL};

static void *jalloc(struct jctx *c, size_t n)
{
	void *p = c->alloc->alloc(c->alloc->allocator_data, n ? n : 1);
	if (!p) {
		c->rc_nomem = 1;
		hz_errf(c->err, c->errlen, "out of memory decoding JSON");
	}
	return p;
}

/* "field \"<path>\": <message>"; always HZ_EINVAL. */
static int ferr(struct jctx *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int ferr(struct jctx *c, const char *fmt, ...)
{
	if (c->err && c->errlen) {
		int n = snprintf(c->err, c->errlen, "field \"%s\": ", c->path);
		if (n >= 0 && (size_t)n < c->errlen) {
			va_list ap;
			va_start(ap, fmt);
			vsnprintf(c->err + n, c->errlen - (size_t)n, fmt, ap);
			va_end(ap);
		}
	}
	return HZ_EINVAL;
}

/* Append ".name" or "[idx]" to the error path; no printf on the hot path. */
static size_t path_push(struct jctx *c, const char *name, long idx)
{
	size_t old = c->pathlen;
	char tmp[24];
	const char *add = name ? name : "";
	if (idx >= 0) {
		char *p = tmp + sizeof(tmp);
		*--p = '\0';
		*--p = ']';
		do {
			*--p = (char)('0' + idx % 10);
			idx /= 10;
		} while (idx > 0);
		*--p = '[';
		add = p;
	} else if (c->pathlen && c->pathlen < sizeof(c->path) - 1) {
		c->path[c->pathlen++] = '.';
	}
	size_t n = strlen(add);
	n = HZ_MIN(n, sizeof(c->path) - 1 - c->pathlen);
	memcpy(c->path + c->pathlen, add, n);
	c->pathlen += n;
	c->path[c->pathlen] = '\0';
	return old;
}

static void path_pop(struct jctx *c, size_t old)
{
	c->pathlen = old;
	c->path[old] = '\0';
}

static const char *jtype(const json_t *v)
{
	switch (json_typeof(v)) {
	case JSON_OBJECT:
		return "object";
	case JSON_ARRAY:
		return "array";
	case JSON_STRING:
		return "string";
	case JSON_INTEGER:
	case JSON_REAL:
		return "number";
	case JSON_TRUE:
	case JSON_FALSE:
		return "boolean";
	case JSON_NULL:
		return "null";
	}
	return "value";
}

/* Copy at most 48 bytes of s for an error message, printable ASCII only. */
static const char *quote_for_err(const char *s, char *tmp, size_t tmplen)
{
	size_t o = 0;
	for (; *s && o + 5 < tmplen && o < 48; s++) {
		unsigned char ch = (unsigned char)*s;
		if (ch >= 0x20 && ch < 0x7f && ch != '"' && ch != '\\')
			tmp[o++] = (char)ch;
		else
			o += (size_t)snprintf(tmp + o, tmplen - o, "\\x%02x", ch);
	}
	if (*s && o + 4 < tmplen) {
		memcpy(tmp + o, "...", 3);
		o += 3;
	}
	tmp[o] = '\0';
	return tmp;
}

/* Strict decimal integer: optional '-', digits only, no overflow. */
static bool parse_dec_i64(const char *s, int64_t *out)
{
	bool neg = *s == '-';
	if (neg)
		s++;
	if (!*s)
		return false;
	uint64_t v = 0;
	for (; *s; s++) {
		if (*s < '0' || *s > '9')
			return false;
		unsigned d = (unsigned)(*s - '0');
		if (v > (UINT64_C(9223372036854775808) - d) / 10)
			return false;
		v = v * 10 + d;
	}
	if (!neg && v > (uint64_t)INT64_MAX)
		return false;
	*out = neg ? (int64_t)(0 - v) : (int64_t)v;
	return true;
}

static bool parse_dec_u64(const char *s, uint64_t *out)
{
	if (!*s)
		return false;
	uint64_t v = 0;
	for (; *s; s++) {
		if (*s < '0' || *s > '9')
			return false;
		unsigned d = (unsigned)(*s - '0');
		if (v > (UINT64_MAX - d) / 10)
			return false;
		v = v * 10 + d;
	}
	*out = v;
	return true;
}

/* A JSON-number-shaped string ("12.5", "-1e3"), parsed with strtod. */
static bool parse_num_str(const char *s, double *out)
{
	if (!*s)
		return false;
	for (const char *p = s; *p; p++)
		if (!strchr("0123456789+-.eE", *p))
			return false;
	char *end;
	double d = strtod(s, &end);
	if (*end || end == s)
		return false;
	*out = d;
	return true;
}

static int get_i64(struct jctx *c, const json_t *v, int64_t lo, int64_t hi, int64_t *out)
{
	int64_t x;
	if (json_is_integer(v)) {
		x = json_integer_value(v);
	} else if (json_is_real(v)) {
		double d = json_real_value(v);
		if (d != floor(d) || d < -9223372036854775808.0 || d >= 9223372036854775808.0)
			return ferr(c, "expected an integer, got %g", d);
		x = (int64_t)d;
	} else if (json_is_string(v)) {
		char tmp[64];
		if (!parse_dec_i64(json_string_value(v), &x))
			return ferr(c, "expected an integer, got string \"%s\"",
				    quote_for_err(json_string_value(v), tmp, sizeof(tmp)));
	} else {
		return ferr(c, "expected an integer, got %s", jtype(v));
	}
	if (x < lo || x > hi)
		return ferr(c, "%" PRId64 " is out of range", x);
	*out = x;
	return HZ_OK;
}

static int get_u64(struct jctx *c, const json_t *v, uint64_t hi, uint64_t *out)
{
	uint64_t x;
	if (json_is_integer(v)) {
		json_int_t i = json_integer_value(v);
		if (i < 0)
			return ferr(c, "%" JSON_INTEGER_FORMAT " is out of range", i);
		x = (uint64_t)i;
	} else if (json_is_real(v)) {
		double d = json_real_value(v);
		if (d != floor(d) || d < 0 || d >= 18446744073709551616.0)
			return ferr(c, "expected an unsigned integer, got %g", d);
		x = (uint64_t)d;
	} else if (json_is_string(v)) {
		char tmp[64];
		if (!parse_dec_u64(json_string_value(v), &x))
			return ferr(c, "expected an unsigned integer, got string \"%s\"",
				    quote_for_err(json_string_value(v), tmp, sizeof(tmp)));
	} else {
		return ferr(c, "expected an unsigned integer, got %s", jtype(v));
	}
	if (x > hi)
		return ferr(c, "%" PRIu64 " is out of range", x);
	*out = x;
	return HZ_OK;
}

static int get_double(struct jctx *c, const json_t *v, double *out)
{
	if (json_is_integer(v)) {
		*out = (double)json_integer_value(v);
	} else if (json_is_real(v)) {
		*out = json_real_value(v);
	} else if (json_is_string(v)) {
		const char *s = json_string_value(v);
		if (strcmp(s, "NaN") == 0)
			*out = NAN;
		else if (strcmp(s, "Infinity") == 0)
			*out = INFINITY;
		else if (strcmp(s, "-Infinity") == 0)
			*out = -INFINITY;
		else if (!parse_num_str(s, out))
			return ferr(c, "expected a number, got string");
	} else {
		return ferr(c, "expected a number, got %s", jtype(v));
	}
	return HZ_OK;
}

static char *dup_str(struct jctx *c, const char *s, size_t len)
{
	char *d = jalloc(c, len + 1);
	if (!d)
		return NULL;
	memcpy(d, s, len);
	d[len] = '\0';
	return d;
}

static int b64val(unsigned char ch)
{
	if (ch >= 'A' && ch <= 'Z')
		return ch - 'A';
	if (ch >= 'a' && ch <= 'z')
		return ch - 'a' + 26;
	if (ch >= '0' && ch <= '9')
		return ch - '0' + 52;
	if (ch == '+' || ch == '-')
		return 62;
	if (ch == '/' || ch == '_')
		return 63;
	return -1;
}

/* Base64, standard or URL-safe alphabet, padding optional. */
static int get_bytes(struct jctx *c, const json_t *v, ProtobufCBinaryData *out)
{
	if (!json_is_string(v))
		return ferr(c, "expected a base64 string, got %s", jtype(v));
	const unsigned char *s = (const unsigned char *)json_string_value(v);
	size_t n = json_string_length(v);
	while (n > 0 && s[n - 1] == '=')
		n--;
	if (n % 4 == 1)
		return ferr(c, "invalid base64");
	unsigned char *d = jalloc(c, n / 4 * 3 + 3);
	if (!d)
		return HZ_ENOMEM;
	size_t o = 0;
	uint32_t acc = 0;
	int bits = 0;
	for (size_t i = 0; i < n; i++) {
		int x = b64val(s[i]);
		if (x < 0) {
			c->alloc->free(c->alloc->allocator_data, d);
			return ferr(c, "invalid base64");
		}
		acc = (acc << 6) | (uint32_t)x;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			d[o++] = (unsigned char)(acc >> bits);
		}
	}
	out->data = d;
	out->len = o;
	return HZ_OK;
}

static int get_enum(struct jctx *c, const ProtobufCEnumDescriptor *ed, const json_t *v,
		    int32_t *out)
{
	if (json_is_string(v)) {
		const ProtobufCEnumValue *ev =
			protobuf_c_enum_descriptor_get_value_by_name(ed, json_string_value(v));
		if (!ev) {
			char tmp[64];
			return ferr(c, "unknown enum value \"%s\"",
				    quote_for_err(json_string_value(v), tmp, sizeof(tmp)));
		}
		*out = ev->value;
		return HZ_OK;
	}
	if (!json_is_number(v))
		return ferr(c, "expected an enum name or number, got %s", jtype(v));
	int64_t x = 0;
	int rc = get_i64(c, v, INT32_MIN, INT32_MAX, &x);
	if (rc == HZ_OK)
		*out = (int32_t)x;
	return rc;
}

static int map_object(struct jctx *c, const ProtobufCMessageDescriptor *d, json_t *obj,
		      ProtobufCMessage *m);

static int check_timestamp(struct jctx *c, const ProtobufCMessage *m);

static int set_timestamp_str(struct jctx *c, const json_t *v, ProtobufCMessage *m)
{
	int64_t us;
	char tmp[64];
	if (hz_time_parse(json_string_value(v), &us) != HZ_OK)
		return ferr(c, "invalid RFC 3339 timestamp \"%s\"",
			    quote_for_err(json_string_value(v), tmp, sizeof(tmp)));
	int64_t sec = us / HZ_US_PER_SEC, frac = us % HZ_US_PER_SEC;
	if (frac < 0)
		sec--;
	/* hz_time_parse keeps µs; take all nine digits of the fraction here.
	 * Offsets are whole minutes, so they never change the fraction. */
	int32_t ns = 0;
	const char *dot = strchr(json_string_value(v), '.');
	if (dot) {
		int k = 0;
		for (dot++; k < 9 && *dot >= '0' && *dot <= '9'; k++, dot++)
			ns = ns * 10 + (*dot - '0');
		for (; k < 9; k++)
			ns *= 10;
	}
	/* The generated Timestamp struct is {base, int64 seconds, int32 nanos};
	 * reach it through the descriptor so this file needs no *.pb-c.h. */
	const ProtobufCMessageDescriptor *d = m->descriptor;
	const ProtobufCFieldDescriptor *fs = protobuf_c_message_descriptor_get_field_by_name(d, "seconds");
	const ProtobufCFieldDescriptor *fn = protobuf_c_message_descriptor_get_field_by_name(d, "nanos");
	if (!fs || !fn)
		return ferr(c, "malformed Timestamp descriptor");
	memcpy((char *)m + fs->offset, &sec, sizeof(sec));
	memcpy((char *)m + fn->offset, &ns, sizeof(ns));
	return check_timestamp(c, m);
}

static int check_timestamp(struct jctx *c, const ProtobufCMessage *m)
{
	const ProtobufCMessageDescriptor *d = m->descriptor;
	const ProtobufCFieldDescriptor *fs = protobuf_c_message_descriptor_get_field_by_name(d, "seconds");
	const ProtobufCFieldDescriptor *fn = protobuf_c_message_descriptor_get_field_by_name(d, "nanos");
	int64_t sec;
	int32_t ns;
	if (!fs || !fn)
		return ferr(c, "malformed Timestamp descriptor");
	memcpy(&sec, (const char *)m + fs->offset, sizeof(sec));
	memcpy(&ns, (const char *)m + fn->offset, sizeof(ns));
	if (sec < TS_MIN_SEC || sec > TS_MAX_SEC || ns < 0 || ns > 999999999)
		return ferr(c, "timestamp out of range");
	return HZ_OK;
}

static int set_message(struct jctx *c, const ProtobufCMessageDescriptor *sd, json_t *v,
		       ProtobufCMessage **slot)
{
	bool ts = is_timestamp(sd);
	if (!json_is_object(v) && !(ts && json_is_string(v))) {
		if (ts)
			return ferr(c, "expected an RFC 3339 string or an object, got %s", jtype(v));
		return ferr(c, "expected an object, got %s", jtype(v));
	}
	ProtobufCMessage *m = jalloc(c, sd->sizeof_message);
	if (!m)
		return HZ_ENOMEM;
	protobuf_c_message_init(sd, m);
	*slot = m; /* attached before filling, so a failure frees it with the parent */
	if (json_is_string(v))
		return set_timestamp_str(c, v, m);
	int rc = map_object(c, sd, v, m);
	if (rc == HZ_OK && ts)
		rc = check_timestamp(c, m);
	return rc;
}

/* Fill one value (a singular field, or one element of a repeated one). */
static int set_value(struct jctx *c, const ProtobufCFieldDescriptor *f, json_t *v, void *slot)
{
	int rc;
	int64_t i = 0;
	uint64_t u = 0;
	double dv = 0;
	switch (f->type) {
	case PROTOBUF_C_TYPE_INT32:
	case PROTOBUF_C_TYPE_SINT32:
	case PROTOBUF_C_TYPE_SFIXED32:
		rc = get_i64(c, v, INT32_MIN, INT32_MAX, &i);
		if (rc == HZ_OK)
			*(int32_t *)slot = (int32_t)i;
		return rc;
	case PROTOBUF_C_TYPE_INT64:
	case PROTOBUF_C_TYPE_SINT64:
	case PROTOBUF_C_TYPE_SFIXED64:
		rc = get_i64(c, v, INT64_MIN, INT64_MAX, &i);
		if (rc == HZ_OK)
			*(int64_t *)slot = i;
		return rc;
	case PROTOBUF_C_TYPE_UINT32:
	case PROTOBUF_C_TYPE_FIXED32:
		rc = get_u64(c, v, UINT32_MAX, &u);
		if (rc == HZ_OK)
			*(uint32_t *)slot = (uint32_t)u;
		return rc;
	case PROTOBUF_C_TYPE_UINT64:
	case PROTOBUF_C_TYPE_FIXED64:
		rc = get_u64(c, v, UINT64_MAX, &u);
		if (rc == HZ_OK)
			*(uint64_t *)slot = u;
		return rc;
	case PROTOBUF_C_TYPE_FLOAT:
		rc = get_double(c, v, &dv);
		if (rc != HZ_OK)
			return rc;
		/* Values up to half an ulp above FLT_MAX round to it; beyond is an
		 * error, not an infinity (and converting them would be UB). */
		if (isfinite(dv) && fabs(dv) > FLT_MAX) {
			if (fabs(dv) >= 0x1.ffffffp127)
				return ferr(c, "%g is out of range for a float", dv);
			dv = dv > 0 ? FLT_MAX : -FLT_MAX;
		}
		*(float *)slot = (float)dv;
		return HZ_OK;
	case PROTOBUF_C_TYPE_DOUBLE:
		return get_double(c, v, (double *)slot);
	case PROTOBUF_C_TYPE_BOOL:
		if (!json_is_boolean(v))
			return ferr(c, "expected true or false, got %s", jtype(v));
		*(protobuf_c_boolean *)slot = json_is_true(v);
		return HZ_OK;
	case PROTOBUF_C_TYPE_ENUM:
		return get_enum(c, f->descriptor, v, (int32_t *)slot);
	case PROTOBUF_C_TYPE_STRING: {
		if (!json_is_string(v))
			return ferr(c, "expected a string, got %s", jtype(v));
		const char *s = json_string_value(v);
		size_t n = json_string_length(v);
		if (memchr(s, '\0', n))
			return ferr(c, "string contains a NUL character");
		char *d = dup_str(c, s, n);
		if (!d)
			return HZ_ENOMEM;
		*(char **)slot = d;
		return HZ_OK;
	}
	case PROTOBUF_C_TYPE_BYTES:
		return get_bytes(c, v, (ProtobufCBinaryData *)slot);
	case PROTOBUF_C_TYPE_MESSAGE:
		return set_message(c, f->descriptor, v, (ProtobufCMessage **)slot);
	}
	return ferr(c, "unsupported field type %d", (int)f->type);
}

static int set_repeated(struct jctx *c, const ProtobufCFieldDescriptor *f, json_t *v,
			ProtobufCMessage *m)
{
	if (!json_is_array(v))
		return ferr(c, "expected an array, got %s", jtype(v));
	size_t n = json_array_size(v), siz = elt_size(f->type);
	size_t *np = (size_t *)((char *)m + f->quantifier_offset);
	void **ap = (void **)((char *)m + f->offset);
	if (n == 0)
		return HZ_OK;
	if (siz == 0 || n > SIZE_MAX / siz)
		return ferr(c, "array too large");
	unsigned char *arr = jalloc(c, n * siz);
	if (!arr)
		return HZ_ENOMEM;
	memset(arr, 0, n * siz);
	*ap = arr;
	*np = 0;
	for (size_t i = 0; i < n; i++) {
		json_t *e = json_array_get(v, i);
		size_t old = path_push(c, NULL, (long)i);
		/* counted before filling: a zeroed slot is safe to free */
		(*np)++;
		int rc;
		if (json_is_null(e))
			rc = ferr(c, "null is not allowed in an array");
		else
			rc = set_value(c, f, e, arr + i * siz);
		path_pop(c, old);
		if (rc != HZ_OK)
			return rc;
	}
	return HZ_OK;
}

static int map_object(struct jctx *c, const ProtobufCMessageDescriptor *d, json_t *obj,
		      ProtobufCMessage *m)
{
	uint64_t seen[4] = {0, 0, 0, 0}; /* fields beyond 256 are not checked for repeats */
	const char *key;
	json_t *v;
	json_object_foreach (obj, key, v) {
		const ProtobufCFieldDescriptor *f = find_field(d, key);
		if (!f)
			continue; /* unknown: ignored for forward compatibility */
		size_t idx = (size_t)(f - d->fields);
		size_t old = path_push(c, f->name, -1);
		int rc = HZ_OK;
		if (idx < 256) {
			uint64_t bit = UINT64_C(1) << (idx % 64);
			if (seen[idx / 64] & bit)
				rc = ferr(c, "given more than once (by its JSON and its original name)");
			seen[idx / 64] |= bit;
		}
		if (rc == HZ_OK && !json_is_null(v)) {
			if (f->label == PROTOBUF_C_LABEL_REPEATED) {
				rc = set_repeated(c, f, v, m);
			} else {
				uint32_t *qp = (uint32_t *)((char *)m + f->quantifier_offset);
				if ((f->flags & PROTOBUF_C_FIELD_FLAG_ONEOF) && *qp != 0 && *qp != f->id)
					rc = ferr(c, "another member of its oneof is already set");
				if (rc == HZ_OK)
					rc = set_value(c, f, v, (char *)m + f->offset);
				if (rc == HZ_OK && (f->flags & PROTOBUF_C_FIELD_FLAG_ONEOF))
					*qp = f->id;
				else if (rc == HZ_OK && f->label == PROTOBUF_C_LABEL_OPTIONAL &&
					 f->quantifier_offset != 0)
					*(protobuf_c_boolean *)qp = 1;
			}
		}
		path_pop(c, old);
		if (rc != HZ_OK)
			return rc;
	}
	return HZ_OK;
}

/* Reject nesting deeper than max on the raw text, before jansson recurses
 * and allocates. Strings are skipped; malformed text is left to jansson. */
static int check_depth(const char *t, size_t len, size_t max, char *err, size_t errlen)
{
	size_t depth = 0, line = 1, col = 0;
	bool in_str = false, esc = false;
	for (size_t i = 0; i < len; i++) {
		char ch = t[i];
		col++;
		if (ch == '\n') {
			line++;
			col = 0;
		}
		if (in_str) {
			if (esc)
				esc = false;
			else if (ch == '\\')
				esc = true;
			else if (ch == '"')
				in_str = false;
			continue;
		}
		if (ch == '"') {
			in_str = true;
		} else if (ch == '{' || ch == '[') {
			if (++depth > max) {
				hz_errf(err, errlen, "json: line %zu column %zu: nesting deeper than %zu levels",
					line, col, max);
				return HZ_EINVAL;
			}
		} else if ((ch == '}' || ch == ']') && depth > 0) {
			depth--;
		}
	}
	return HZ_OK;
}

/* jansson reports a duplicate key just after reading it: find the string
 * token that ends at or before `pos` and quote it. */
static void duplicate_key_name(const char *t, size_t len, size_t pos, char *out, size_t outlen)
{
	out[0] = '\0';
	if (pos > len)
		pos = len;
	size_t end = pos;
	while (end > 0 && t[end - 1] != '"')
		end--;
	if (end == 0)
		return;
	end--; /* the closing quote */
	size_t start = end;
	while (start > 0) {
		start--;
		if (t[start] != '"')
			continue;
		size_t bs = 0;
		while (start - bs > 0 && t[start - bs - 1] == '\\')
			bs++;
		if (bs % 2 == 0)
			break;
	}
	if (t[start] != '"' || end <= start)
		return;
	size_t n = end - start - 1, o = 0;
	for (size_t i = 0; i < n && o + 5 < outlen && i < 64; i++) {
		unsigned char ch = (unsigned char)t[start + 1 + i];
		if (ch >= 0x20 && ch != 0x7f && ch != '\'')
			out[o++] = (char)ch;
		else
			o += (size_t)snprintf(out + o, outlen - o, "\\x%02x", ch);
	}
	out[o] = '\0';
}

int hz_json_to_pb(const ProtobufCMessageDescriptor *d, const char *text, size_t len,
		  ProtobufCAllocator *alloc, size_t max_depth, ProtobufCMessage **out,
		  char *err, size_t errlen)
{
	*out = NULL;
	if (max_depth == 0)
		max_depth = HZ_JSON_MAX_DEPTH;
	if (!text)
		len = 0;
	if (check_depth(text, len, max_depth, err, errlen) != HZ_OK)
		return HZ_EINVAL;

	json_error_t je;
	json_t *root = json_loadb(text ? text : "", len, JSON_REJECT_DUPLICATES, &je);
	if (!root) {
		enum json_error_code code = json_error_code(&je);
		char key[128];
		switch (code) {
		case json_error_out_of_memory:
			hz_errf(err, errlen, "out of memory parsing JSON");
			return HZ_ENOMEM;
		case json_error_duplicate_key:
			duplicate_key_name(text, len, je.position > 0 ? (size_t)je.position : 0, key,
					   sizeof(key));
			hz_errf(err, errlen, "json: line %d column %d: duplicate object key '%s'",
				je.line, je.column, key);
			break;
		case json_error_null_character:
			hz_errf(err, errlen, "json: line %d column %d: string contains a NUL character",
				je.line, je.column);
			break;
		default:
			hz_errf(err, errlen, "json: line %d column %d: %s", je.line, je.column, je.text);
			break;
		}
		return HZ_EINVAL;
	}
	if (!json_is_object(root)) {
		hz_errf(err, errlen, "json: top level must be an object, got %s", jtype(root));
		json_decref(root);
		return HZ_EINVAL;
	}

	struct jctx c = {.alloc = alloc ? alloc : &sys_allocator, .err = err, .errlen = errlen};
	c.path[0] = '\0';
	ProtobufCMessage *m = jalloc(&c, d->sizeof_message);
	int rc = HZ_ENOMEM;
	if (m) {
		protobuf_c_message_init(d, m);
		rc = map_object(&c, d, root, m);
		if (rc == HZ_OK && is_timestamp(d))
			rc = check_timestamp(&c, m);
	}
	json_decref(root);
	if (c.rc_nomem) {
		hz_errf(err, errlen, "out of memory decoding JSON");
		rc = HZ_ENOMEM;
	}
	if (rc != HZ_OK) {
		protobuf_c_message_free_unpacked(m, c.alloc);
		return rc;
	}
	*out = m;
	return HZ_OK;
}

/* ------------------------------------------------------------ pb -> JSON */

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
	const ProtobufCMessageDescriptor *d = m->descriptor;
	const ProtobufCFieldDescriptor *fs = protobuf_c_message_descriptor_get_field_by_name(d, "seconds");
	const ProtobufCFieldDescriptor *fn = protobuf_c_message_descriptor_get_field_by_name(d, "nanos");
	int64_t sec;
	int32_t ns;
	if (!fs || !fn)
		return HZ_EINVAL;
	memcpy(&sec, (const char *)m + fs->offset, sizeof(sec));
	memcpy(&ns, (const char *)m + fn->offset, sizeof(ns));
	if (sec < TS_MIN_SEC || sec > TS_MAX_SEC || ns < 0 || ns > 999999999)
		return HZ_EINVAL;
	char tb[HZ_TIME_BUFLEN], out[48];
	hz_time_format(sec * HZ_US_PER_SEC, tb); /* "YYYY-MM-DDTHH:MM:SS.000000Z" */
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
		if (is_timestamp(sm->descriptor))
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
			size_t n = *(const size_t *)(base + f->quantifier_offset), siz = elt_size(f->type);
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
	int rc = is_timestamp(m->descriptor) ? put_timestamp(out, m) : put_message(out, m);
	if (rc != HZ_OK)
		out->len = mark;
	return rc;
}
