/*
 * json.h - the proto3 JSON mapping, driven by protobuf-c descriptors, so
 * that every message in proto/ (and any later one) is read and written by
 * the same code instead of hand-written per-message parsers.
 *
 * Reading (json_read.c) uses jansson: it validates UTF-8 and rejects
 * duplicate keys. Writing (json_write.c) appends to an hz_buf. Well-known types: google.protobuf.Timestamp
 * only (the one the schema uses). Does not validate hazardd's own rules
 * (required fields, id lengths, enum ranges): that is decode.c's job.
 */
#ifndef HZ_CODEC_JSON_H
#define HZ_CODEC_JSON_H

#include <protobuf-c/protobuf-c.h>

#include "core/buf.h"
#include "core/hz.h"

/* Default for max_depth when 0 is passed. */
#define HZ_JSON_MAX_DEPTH 32

/*
 * Parse text[0..len) (NUL bytes allowed in the buffer; no terminator
 * needed) as the proto3 JSON form of message type `d` and build a freshly
 * initialised generated struct in memory from `alloc` (NULL: protobuf-c's
 * malloc allocator; free the result with protobuf_c_message_free_unpacked).
 *
 * Accepts: the lowerCamelCase JSON name or the original field name (not
 * both for one field); enums as their name or a number; 64-bit integers as
 * numbers or decimal strings, all integers also as strings or integral
 * reals; float/double as numbers, numeric strings, "NaN", "Infinity",
 * "-Infinity"; bytes as base64; repeated fields as arrays; Timestamp as an
 * RFC 3339 string or {"seconds":..,"nanos":..}; null as the default.
 * Unknown fields are ignored. The top level must be an object; objects and
 * arrays may nest at most `max_depth` levels (the top object is level 1).
 *
 * Returns HZ_OK and sets *out; HZ_EINVAL with err set ("json: line 1
 * column 17: duplicate object key 'value'", "field \"metric\": unknown enum
 * value \"METRIC_FOO\""); HZ_ENOMEM when `alloc` or jansson fails. On
 * failure *out is NULL and whatever was taken from `alloc` has been given
 * back through alloc->free.
 */
int hz_json_to_pb(const ProtobufCMessageDescriptor *d, const char *text, size_t len,
		  ProtobufCAllocator *alloc, size_t max_depth, ProtobufCMessage **out,
		  char *err, size_t errlen);

/*
 * Append the proto3 JSON form of `m` to `out`: lowerCamelCase names, fields
 * in field-number order, enums as names (numbers when unknown), 64-bit
 * integers as strings, NaN/Infinity as strings, Timestamp as RFC 3339 UTC
 * with 0, 3, 6 or 9 fractional digits, default values omitted. Invalid
 * UTF-8 in a string becomes U+FFFD. No trailing newline.
 *
 * Returns HZ_OK; HZ_EINVAL for a Timestamp outside 0001..9999 (out->len is
 * then restored); HZ_ENOMEM.
 */
int hz_json_from_pb(const ProtobufCMessage *m, struct hz_buf *out);

#endif
