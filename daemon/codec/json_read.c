/*
 * json_read.c - proto3 JSON text -> a protobuf-c struct, generic over
 * descriptors (see json.h for what is accepted).
 *
 * jansson builds a tree (it mallocs per value: JSON is the slow input
 * format, ~10x protobuf, see tests/bench/bench_codec.c), then one
 * recursive walk fills a generated struct from the caller's allocator.
 * The nesting depth is checked on the raw text before jansson sees it, so
 * a hostile "[[[[..." costs one linear scan and no allocation. Field
 * lookup is a binary search on the original name, then a linear scan for
 * the lowerCamelCase name: O(fields) per key, and messages here have <= 17.
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

#include "codec/pbmeta.h"

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
	char msg[192];
	va_list ap;
	va_start(ap, fmt);
	/* the analyzer sometimes misses the va_start above */
	vsnprintf(msg, sizeof(msg), fmt, ap); /* NOLINT(clang-analyzer-valist.Uninitialized) */
	va_end(ap);
	hz_errf(c->err, c->errlen, "field \"%s\": %s", c->path, msg);
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

static int check_timestamp(struct jctx *c, const ProtobufCMessage *m)
{
	if (!hz_pb_ts_valid((const Google__Protobuf__Timestamp *)m))
		return ferr(c, "timestamp out of range");
	return HZ_OK;
}

static int set_timestamp_str(struct jctx *c, const json_t *v, ProtobufCMessage *m)
{
	int64_t us;
	char tmp[64];
	if (hz_time_parse(json_string_value(v), &us) != HZ_OK)
		return ferr(c, "invalid RFC 3339 timestamp \"%s\"",
			    quote_for_err(json_string_value(v), tmp, sizeof(tmp)));
	Google__Protobuf__Timestamp *ts = (Google__Protobuf__Timestamp *)m;
	ts->seconds = us / HZ_US_PER_SEC;
	if (us % HZ_US_PER_SEC < 0)
		ts->seconds--;
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
	ts->nanos = ns;
	return check_timestamp(c, m);
}

static int set_message(struct jctx *c, const ProtobufCMessageDescriptor *sd, json_t *v,
		       ProtobufCMessage **slot)
{
	bool ts = hz_pb_is_timestamp(sd);
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
	size_t n = json_array_size(v), siz = hz_pb_elt_size(f->type);
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
		if (rc == HZ_OK && hz_pb_is_timestamp(d))
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
