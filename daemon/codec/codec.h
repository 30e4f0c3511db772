/*
 * codec.h - bytes <-> hazardd's plain structs. Decoding turns one input
 * payload (protobuf or proto3 JSON) into a validated struct hz_event;
 * encoding turns output structs into topic payloads.
 *
 * codec/ is the only part of the daemon that includes *.pb-c.h; nothing
 * generated leaves it. Decoding allocates only from the arena it is given
 * (hostile input is bounded by lim->arena_per_msg) and makes no syscalls.
 */
#ifndef HZ_CODEC_H
#define HZ_CODEC_H

#include "core/arena.h"
#include "core/buf.h"
#include "core/event.h"
#include "in/source.h"
#include "tickets/ticket.h"

struct hz_codec_limits {
	size_t max_payload;    /* bytes of payload, checked before any parsing */
	size_t max_string;     /* bytes in any one string field */
	size_t max_repeated;   /* items in any one repeated field */
	size_t arena_per_msg;  /* arena bytes one message may take while decoding */
	int64_t min_time_us;   /* timestamps before this are refused */
	int64_t max_future_us; /* the source timestamp may be at most now + this */
};

#define HZ_CODEC_ID_MAX (HZ_ID_MAX - 1)     /* 63: ids (event, device, site, actor) */
#define HZ_CODEC_CODE_MAX (HZ_CODE_MAX - 1) /* 31: org unit codes (town_code, area_codes) */
#define HZ_CODEC_TYPE_MAX (HZ_TYPE_MAX - 1) /* 47: a warning's hazard_type */

/* 64 KiB payload, 4 KiB strings, 32 repeated items, 256 KiB arena per
 * message, nothing before 2000-01-01T00:00:00Z, at most 1 day ahead. */
void hz_codec_limits_default(struct hz_codec_limits *lim);

/*
 * Decode one payload of kind `kind` (what the topic carries) into *ev and
 * validate it. `ct` HZ_CT_AUTO means JSON when the first non-blank byte is
 * '{', protobuf otherwise. `now_us` is the wall clock the future-skew check
 * uses (passed in so that tests control it).
 *
 * Strings and arrays in *ev are borrowed from `arena` until it is reset or
 * rewound. On HZ_EINVAL the arena is rewound to where it was (ev contents
 * are then undefined); on HZ_OK and HZ_EFAULTVAL what the message took
 * stays (at most lim->arena_per_msg, typically the payload size plus a
 * few hundred bytes).
 *
 * Checks: payload size; protobuf wire format (truncation, unsupported wire
 * types) and, inside it, every string field's UTF-8 (no NUL) and length,
 * and repeated-field counts, before protobuf-c allocates; then per message
 * the required fields; event_id (command_id) non-empty, at most 63 bytes,
 * printable ASCII without spaces; other ids (device_id, site_id,
 * warning_id, actor_id, inspector_id, silence_target, references) at most
 * 63 bytes with no control characters; town_code and area_codes at most 31
 * bytes, a warning's hazard_type at most 47; enum values defined in
 * proto/hazard.proto; timestamps not before min_time_us, and the source
 * timestamp not after now_us + max_future_us; battery_pct <= 100.
 *
 * Returns:
 *   HZ_OK         *ev is filled and valid.
 *   HZ_EINVAL     err says why, naming the field ("missing required field
 *                 \"device_id\"", "field \"metric\": unknown enum value 99").
 *   HZ_EFAULTVAL  a SensorReading otherwise valid whose value is NaN or
 *                 infinite: *ev is fully filled (value as received) so the
 *                 caller can open a device-fault ticket; err says why.
 *   HZ_EFULL      `arena` itself is out of room, or malloc failed inside
 *                 jansson: not this message's fault; retry it once the
 *                 batch arena has been reset. The arena is rewound.
 * Nothing else is returned.
 */
int hz_codec_decode(enum hz_ev_kind kind, enum hz_content_type ct, const void *buf, size_t len,
		    const struct hz_codec_limits *lim, int64_t now_us, struct hz_arena *arena,
		    struct hz_event *ev, char *err, size_t errlen);

/*
 * Output payloads. Each appends to `out` (it does not clear it) the
 * message as protobuf when ct is HZ_CT_PROTOBUF, as proto3 JSON otherwise
 * (HZ_CT_JSON or HZ_CT_AUTO). The protobuf path builds the generated
 * struct on the stack and packs straight into `out`: no allocation besides
 * the buffer's growth. NULL strings are sent as empty, times of 0 as
 * absent. Returns HZ_OK, HZ_ENOMEM, or HZ_EINVAL (out unchanged) for a
 * fixed-size string without its NUL or, in JSON, a time outside 0001..9999.
 *
 * hazard.v1.TicketEvent, for the tickets topic.
 */
int hz_codec_encode_ticket_event(const struct hz_ticket_event *te, enum hz_content_type ct,
				 struct hz_buf *out);

/* hazard.v1.TownRating, for the ratings topic. */
int hz_codec_encode_rating(const struct hz_town_rating *tr, enum hz_content_type ct,
			   struct hz_buf *out);

/* hazard.v1.EscalationNotice, for the escalations topic. */
int hz_codec_encode_escalation(const struct hz_escalation *esc, enum hz_content_type ct,
			       struct hz_buf *out);

/* hazard.v1.CommandResult, for the command results topics. */
int hz_codec_encode_command_result(const struct hz_command_result *cr, enum hz_content_type ct,
				   struct hz_buf *out);

#endif
