/*
 * fuzz_decode.c - hz_codec_decode on anything. The first byte picks the
 * event kind (low 3 bits, mod 5) and content type (bits 3-4, mod 3: auto,
 * protobuf, JSON); the rest is the payload. Beyond "no crash, no
 * sanitizer report", it checks the decoder's promises: an accepted event
 * has its required fields within limits, a fault is a non-finite reading,
 * and a refusal always says why.
 */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "codec/codec.h"
#include "codec/units.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size); /* libFuzzer's ABI */

#define NOW_US (INT64_C(1780272000) * HZ_US_PER_SEC) /* 2026-06-01T00:00:00Z */

#define CHECK(c)                \
	do {                    \
		if (!(c))       \
			abort(); \
	} while (0)

static void check_str(const char *s, size_t max, bool required)
{
	CHECK(s != NULL);
	size_t n = strlen(s);
	CHECK(n <= max);
	CHECK(!required || n > 0);
	CHECK(hz_utf8_valid(s, n));
}

static void check_strv(struct hz_strv sv, size_t max_items, size_t max_len)
{
	CHECK(sv.n <= max_items);
	CHECK(sv.n == 0 || sv.v != NULL);
	for (size_t i = 0; i < sv.n; i++)
		check_str(sv.v[i], max_len, false);
}

static void check_event(const struct hz_event *ev, const struct hz_codec_limits *lim)
{
	check_str(ev->event_id, HZ_CODEC_ID_MAX, true);
	for (const char *p = ev->event_id; *p; p++)
		CHECK(*p > 0x20 && *p < 0x7f);
	CHECK(ev->at_us >= lim->min_time_us && ev->at_us <= NOW_US + lim->max_future_us);
	CHECK(ev->mode >= HZ_MODE_ACTUAL && ev->mode <= HZ_MODE_TEST);
	check_str(ev->device_id, HZ_CODEC_ID_MAX, false);
	check_str(ev->site_id, HZ_CODEC_ID_MAX, false);
	check_str(ev->town_code, HZ_CODEC_CODE_MAX, false);
	switch (ev->kind) {
	case HZ_EV_READING:
		CHECK(*ev->device_id);
		CHECK(ev->u.reading.metric > HZ_METRIC_NONE && ev->u.reading.metric < HZ_METRIC_COUNT);
		CHECK(isfinite(ev->u.reading.value));
		check_str(ev->u.reading.unit, lim->max_string, false);
		break;
	case HZ_EV_STATUS:
		CHECK(*ev->device_id);
		CHECK(ev->u.status.state > HZ_DEV_NONE && ev->u.status.state <= HZ_DEV_RESTORED);
		CHECK(ev->u.status.battery_pct <= 100);
		check_str(ev->u.status.detail, lim->max_string, false);
		break;
	case HZ_EV_REPORT:
		CHECK(*ev->site_id);
		CHECK(ev->u.report.category >= 1 && ev->u.report.category <= 10);
		CHECK(ev->u.report.level >= HZ_LEVEL_NONE && ev->u.report.level <= HZ_LEVEL_RED);
		check_str(ev->u.report.inspector_id, HZ_CODEC_ID_MAX, false);
		check_str(ev->u.report.description, lim->max_string, false);
		check_strv(ev->u.report.photo_urls, lim->max_repeated, lim->max_string);
		break;
	case HZ_EV_WARNING:
		check_str(ev->u.warning.warning_id, HZ_CODEC_ID_MAX, true);
		CHECK(ev->u.warning.type > HZ_WARN_NONE && ev->u.warning.type <= HZ_WARN_CANCEL);
		CHECK(ev->u.warning.area_codes.n > 0);
		check_strv(ev->u.warning.area_codes, lim->max_repeated, HZ_CODEC_CODE_MAX);
		check_strv(ev->u.warning.references, lim->max_repeated, HZ_CODEC_ID_MAX);
		check_str(ev->u.warning.hazard_type, HZ_CODEC_TYPE_MAX, false);
		CHECK(ev->u.warning.level <= HZ_LEVEL_RED);
		CHECK(ev->u.warning.type == HZ_WARN_CANCEL || ev->u.warning.level != HZ_LEVEL_NONE);
		check_str(ev->u.warning.sender, lim->max_string, false);
		check_str(ev->u.warning.headline, lim->max_string, false);
		check_str(ev->u.warning.description, lim->max_string, false);
		break;
	case HZ_EV_COMMAND:
		check_str(ev->u.command.actor_id, HZ_CODEC_ID_MAX, true);
		CHECK(ev->u.command.action > HZ_ACT_NONE && ev->u.command.action <= HZ_ACT_SILENCE);
		CHECK(ev->u.command.ticket_id > 0 ||
		      (ev->u.command.action == HZ_ACT_SILENCE && ev->u.command.ticket_id == 0 &&
		       *ev->u.command.silence_target));
		check_str(ev->u.command.reason, lim->max_string, false);
		check_str(ev->u.command.note, lim->max_string, false);
		check_str(ev->u.command.assignee, lim->max_string, false);
		check_str(ev->u.command.silence_target, HZ_CODEC_ID_MAX, false);
		check_strv(ev->u.command.evidence_urls, lim->max_repeated, lim->max_string);
		CHECK(ev->u.command.rectify_mode >= 0 && ev->u.command.rectify_mode <= 2);
		break;
	default:
		abort();
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct hz_arena *arena;
	if (!arena)
		arena = hz_arena_new(4u << 20);
	if (size < 1 || !arena)
		return 0;
	enum hz_ev_kind kind = (enum hz_ev_kind)(1 + (data[0] & 7) % 5);
	enum hz_content_type ct = (enum hz_content_type)((data[0] >> 3) % 3);
	struct hz_codec_limits lim;
	hz_codec_limits_default(&lim);
	struct hz_event ev;
	char err[256];
	err[0] = '\0';
	size_t before = hz_arena_used(arena);
	int rc = hz_codec_decode(kind, ct, data + 1, size - 1, &lim, NOW_US, arena, &ev, err, sizeof(err));
	switch (rc) {
	case HZ_OK:
		CHECK(ev.kind == kind);
		check_event(&ev, &lim);
		CHECK(hz_arena_used(arena) - before <= lim.arena_per_msg);
		if (kind == HZ_EV_READING) {
			int urc = hz_units_normalise(&ev, err, sizeof(err));
			CHECK(urc == HZ_OK || urc == HZ_EINVAL || urc == HZ_EFAULTVAL);
		}
		break;
	case HZ_EFAULTVAL:
		CHECK(kind == HZ_EV_READING && !isfinite(ev.u.reading.value));
		CHECK(*ev.event_id && *ev.device_id && err[0]);
		break;
	case HZ_EINVAL:
		CHECK(err[0] != '\0');
		CHECK(hz_arena_used(arena) == before); /* rewound */
		break;
	default:
		abort(); /* EFULL cannot happen in a 4 MiB arena reset every time */
	}
	hz_arena_reset(arena);
	return 0;
}
