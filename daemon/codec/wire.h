/*
 * wire.h - a pass over protobuf wire format, driven by descriptors, that
 * runs before protobuf-c unpacks anything. Internal to codec/.
 *
 * protobuf-c 1.4.1 copies strings without checking UTF-8 and, being a C
 * string, loses everything after an embedded NUL: once unpacked, a NUL
 * can no longer be seen. It also allocates for every repeated item before
 * anyone can count them. This scan sees the raw bytes, so it checks those
 * things (and truncation) first, naming the field, and allocates nothing.
 */
#ifndef HZ_CODEC_WIRE_H
#define HZ_CODEC_WIRE_H

#include <protobuf-c/protobuf-c.h>

#include "core/hz.h"

/* Nesting of known message fields the scan follows; the schema needs 2. */
#define HZ_WIRE_MAX_DEPTH 8

/*
 * Scan buf[0..len) as message type `d`: every tag and length within
 * bounds; no group or reserved wire types; known fields with a wire type
 * their type allows; every known string valid UTF-8 with no NUL and at
 * most max_string bytes (bytes fields: length only); every repeated field
 * at most max_repeated items; known sub-messages recursively.
 * Returns HZ_OK, or HZ_EINVAL with err set.
 */
int hz_wire_scan(const ProtobufCMessageDescriptor *d, const uint8_t *buf, size_t len,
		 size_t max_string, size_t max_repeated, char *err, size_t errlen);

#endif
