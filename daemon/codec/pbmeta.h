/*
 * pbmeta.h - small facts about protobuf-c's generated structs that the
 * JSON reader and writer share: element sizes of repeated fields, and
 * google.protobuf.Timestamp, the one well-known type the schema uses.
 * Internal to codec/; static inline, so nothing here is exported.
 */
#ifndef HZ_CODEC_PBMETA_H
#define HZ_CODEC_PBMETA_H

#include <protobuf-c/protobuf-c.h>
#include <string.h>

#include "google/protobuf/timestamp.pb-c.h"

#define HZ_PB_TS_MIN_SEC INT64_C(-62135596800) /* 0001-01-01T00:00:00Z */
#define HZ_PB_TS_MAX_SEC INT64_C(253402300799) /* 9999-12-31T23:59:59Z */

static inline bool hz_pb_is_timestamp(const ProtobufCMessageDescriptor *d)
{
	return d == &google__protobuf__timestamp__descriptor;
}

/* Within the range proto3 allows (years 0001..9999, nanos 0..999999999)? */
static inline bool hz_pb_ts_valid(const Google__Protobuf__Timestamp *ts)
{
	return ts->seconds >= HZ_PB_TS_MIN_SEC && ts->seconds <= HZ_PB_TS_MAX_SEC &&
	       ts->nanos >= 0 && ts->nanos <= 999999999;
}

/* Size of one element of a repeated field, as protobuf-c lays it out. */
static inline size_t hz_pb_elt_size(ProtobufCType t)
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

#endif
