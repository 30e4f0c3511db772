/*
 * test_codec.c - decode (protobuf and JSON) into struct hz_event, the
 * generic JSON mapping both ways, and the TicketEvent encoder. Every
 * rejection class is checked with its exact reason, since those reasons
 * end up in dead letters that operators read.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "codec/codec.h"
#include "codec/json.h"
#include "codec/outbox.h"
#include "google/protobuf/timestamp.pb-c.h"
#include "hazard.pb-c.h"

static int64_t NOW;          /* 2026-06-01T00:00:00Z */
static struct hz_arena *arena;
static struct hz_codec_limits lim;
static char err[256];

static int64_t T(const char *s)
{
	int64_t us = 0;
	assert_int_equal(hz_time_parse(s, &us), HZ_OK);
	return us;
}

static int setup(void **state)
{
	(void)state;
	NOW = T("2026-06-01T00:00:00Z");
	hz_codec_limits_default(&lim);
	arena = hz_arena_new(8 * 1024 * 1024);
	return arena ? 0 : -1;
}

static int teardown(void **state)
{
	(void)state;
	hz_arena_destroy(arena);
	return 0;
}

static int each(void **state)
{
	(void)state;
	hz_arena_reset(arena);
	hz_codec_limits_default(&lim);
	err[0] = '\0';
	return 0;
}

static int dec(enum hz_ev_kind kind, enum hz_content_type ct, const void *buf, size_t len,
	       struct hz_event *ev)
{
	err[0] = '\0';
	return hz_codec_decode(kind, ct, buf, len, &lim, NOW, arena, ev, err, sizeof(err));
}

static int decs(enum hz_ev_kind kind, const char *json, struct hz_event *ev)
{
	return dec(kind, HZ_CT_JSON, json, strlen(json), ev);
}

#define ASSERT_REJECT(call, text)                      \
	do {                                           \
		assert_int_equal((call), HZ_EINVAL);   \
		assert_string_equal(err, (text));      \
	} while (0)

/* ---- protobuf wire writer, for payloads protobuf-c would not produce ---- */

static void w_varint(struct hz_buf *b, uint64_t v)
{
	unsigned char t[10];
	size_t n = 0;
	do {
		t[n] = (unsigned char)(v & 0x7f);
		v >>= 7;
		if (v)
			t[n] |= 0x80;
		n++;
	} while (v);
	assert_int_equal(hz_buf_append(b, t, n), HZ_OK);
}

static void w_tag(struct hz_buf *b, unsigned field, unsigned wt)
{
	w_varint(b, (uint64_t)field << 3 | wt);
}

static void w_bytes(struct hz_buf *b, unsigned field, const void *s, size_t n)
{
	w_tag(b, field, 2);
	w_varint(b, n);
	assert_int_equal(hz_buf_append(b, s, n), HZ_OK);
}

static void w_str(struct hz_buf *b, unsigned field, const char *s)
{
	w_bytes(b, field, s, strlen(s));
}

static void w_ts(struct hz_buf *b, unsigned field, int64_t us)
{
	struct hz_buf in = HZ_BUF_INIT;
	w_tag(&in, 1, 0);
	w_varint(&in, (uint64_t)(us / HZ_US_PER_SEC));
	if (us % HZ_US_PER_SEC) {
		w_tag(&in, 2, 0);
		w_varint(&in, (uint64_t)(us % HZ_US_PER_SEC * 1000));
	}
	w_bytes(b, field, in.data, in.len);
	hz_buf_free(&in);
}

static void w_double(struct hz_buf *b, unsigned field, double d)
{
	w_tag(b, field, 1);
	assert_int_equal(hz_buf_append(b, &d, 8), HZ_OK);
}

/* A valid SensorReading on the wire, with one string field replaced. */
static void w_reading(struct hz_buf *b, const char *device_id, size_t device_len, double value)
{
	w_str(b, 1, "rd-1");
	w_ts(b, 2, NOW - 60 * HZ_US_PER_SEC);
	w_bytes(b, 3, device_id, device_len);
	w_tag(b, 5, 0);
	w_varint(b, HAZARD__V1__METRIC__METRIC_TEMPERATURE);
	w_double(b, 6, value);
}

/* ---- valid messages of every kind, as generated structs ---- */

static Google__Protobuf__Timestamp ts_of(int64_t us)
{
	Google__Protobuf__Timestamp ts = GOOGLE__PROTOBUF__TIMESTAMP__INIT;
	ts.seconds = us / HZ_US_PER_SEC;
	ts.nanos = (int32_t)(us % HZ_US_PER_SEC * 1000);
	return ts;
}

static unsigned char packed[1 << 17];

static size_t pack(const ProtobufCMessage *m)
{
	size_t n = protobuf_c_message_get_packed_size(m);
	assert_true(n <= sizeof(packed));
	assert_int_equal(protobuf_c_message_pack(m, packed), n);
	return n;
}

static char *photo[] = {"https://img.example/1.jpg", "https://img.example/2.jpg"};
static char *refs[] = {"CMA-2026-0531-007"};
static char *areas[] = {"330102", "330103"};
static char *evid[] = {"https://img.example/fixed.jpg"};

static Google__Protobuf__Timestamp ts1, ts2, ts3;

static ProtobufCMessage *sample(enum hz_ev_kind kind)
{
	static Hazard__V1__SensorReading rd;
	static Hazard__V1__DeviceStatus st;
	static Hazard__V1__HazardReport rp;
	static Hazard__V1__Warning wn;
	static Hazard__V1__Command cm;
	ts1 = ts_of(NOW - 60 * HZ_US_PER_SEC + 250000);
	ts2 = ts_of(NOW + 3600 * HZ_US_PER_SEC);
	ts3 = ts_of(NOW + 2 * 86400 * HZ_US_PER_SEC);
	switch (kind) {
	case HZ_EV_READING:
		hazard__v1__sensor_reading__init(&rd);
		rd.event_id = "rd-0001";
		rd.observed_at = &ts1;
		rd.device_id = "smk-17";
		rd.site_id = "site-9";
		rd.metric = HAZARD__V1__METRIC__METRIC_SMOKE;
		rd.value = 3.5;
		rd.unit = "dB/m";
		rd.mode = HAZARD__V1__MODE__MODE_EXERCISE;
		return &rd.base;
	case HZ_EV_STATUS:
		hazard__v1__device_status__init(&st);
		st.event_id = "st-0001";
		st.observed_at = &ts1;
		st.device_id = "smk-17";
		st.state = HAZARD__V1__DEVICE_STATE__DEVICE_STATE_LOW_BATTERY;
		st.battery_pct = 12;
		st.detail = "battery 12 %";
		return &st.base;
	case HZ_EV_REPORT:
		hazard__v1__hazard_report__init(&rp);
		rp.event_id = "rp-0001";
		rp.observed_at = &ts1;
		rp.site_id = "site-9";
		rp.town_code = "330102001";
		rp.inspector_id = "insp-7";
		rp.category = HAZARD__V1__HAZARD_CATEGORY__HAZARD_CATEGORY_EBIKE_INDOOR_CHARGING;
		rp.level = HAZARD__V1__LEVEL__LEVEL_YELLOW;
		rp.description = "\xe7\x94\xb5\xe5\x8a\xa8\xe8\xbd\xa6 charging in the stairwell\n2nd floor";
		rp.n_photo_urls = 2;
		rp.photo_urls = photo;
		rp.supervised = 1;
		rp.mode = HAZARD__V1__MODE__MODE_TEST;
		return &rp.base;
	case HZ_EV_WARNING:
		hazard__v1__warning__init(&wn);
		wn.event_id = "wn-0001";
		wn.sent_at = &ts1;
		wn.warning_id = "CMA-2026-0601-001";
		wn.type = HAZARD__V1__WARNING_TYPE__WARNING_TYPE_UPDATE;
		wn.n_references = 1;
		wn.references = refs;
		wn.n_area_codes = 2;
		wn.area_codes = areas;
		wn.hazard_type = "rainstorm";
		wn.level = HAZARD__V1__LEVEL__LEVEL_ORANGE;
		wn.onset = &ts2;
		wn.expires = &ts3;
		wn.sender = "county met office";
		wn.headline = "Orange rainstorm warning";
		wn.description = "50 mm in 3 h";
		return &wn.base;
	case HZ_EV_COMMAND:
		hazard__v1__command__init(&cm);
		cm.command_id = "cmd-0001";
		cm.acted_at = &ts1;
		cm.actor_id = "op-duty-3";
		cm.action = HAZARD__V1__ACTION__ACTION_RECTIFY;
		cm.ticket_id = INT64_C(9007199254740993); /* 2^53 + 1: not exact as a double */
		cm.reason = "owner notified";
		cm.note = "re-check Friday";
		cm.n_evidence_urls = 1;
		cm.evidence_urls = evid;
		cm.assignee = "brigade 2";
		cm.rectify_mode = HAZARD__V1__RECTIFY_MODE__RECTIFY_MODE_BY_DEADLINE;
		cm.due_at = &ts3;
		return &cm.base;
	default:
		fail();
	}
	return NULL;
}

static void assert_strv_equal(struct hz_strv a, struct hz_strv b)
{
	assert_int_equal(a.n, b.n);
	for (size_t i = 0; i < a.n; i++)
		assert_string_equal(a.v[i], b.v[i]);
}

static void assert_ev_equal(const struct hz_event *a, const struct hz_event *b)
{
	assert_int_equal(a->kind, b->kind);
	assert_int_equal(a->mode, b->mode);
	assert_true(a->at_us == b->at_us);
	assert_string_equal(a->event_id, b->event_id);
	assert_string_equal(a->device_id, b->device_id);
	assert_string_equal(a->site_id, b->site_id);
	assert_string_equal(a->town_code, b->town_code);
	switch (a->kind) {
	case HZ_EV_READING:
		assert_int_equal(a->u.reading.metric, b->u.reading.metric);
		assert_true(a->u.reading.value == b->u.reading.value);
		assert_string_equal(a->u.reading.unit, b->u.reading.unit);
		break;
	case HZ_EV_STATUS:
		assert_int_equal(a->u.status.state, b->u.status.state);
		assert_int_equal(a->u.status.battery_pct, b->u.status.battery_pct);
		assert_string_equal(a->u.status.detail, b->u.status.detail);
		break;
	case HZ_EV_REPORT:
		assert_int_equal(a->u.report.category, b->u.report.category);
		assert_int_equal(a->u.report.level, b->u.report.level);
		assert_string_equal(a->u.report.inspector_id, b->u.report.inspector_id);
		assert_string_equal(a->u.report.description, b->u.report.description);
		assert_strv_equal(a->u.report.photo_urls, b->u.report.photo_urls);
		assert_int_equal(a->u.report.supervised, b->u.report.supervised);
		break;
	case HZ_EV_WARNING:
		assert_string_equal(a->u.warning.warning_id, b->u.warning.warning_id);
		assert_int_equal(a->u.warning.type, b->u.warning.type);
		assert_strv_equal(a->u.warning.references, b->u.warning.references);
		assert_strv_equal(a->u.warning.area_codes, b->u.warning.area_codes);
		assert_string_equal(a->u.warning.hazard_type, b->u.warning.hazard_type);
		assert_int_equal(a->u.warning.level, b->u.warning.level);
		assert_true(a->u.warning.onset_us == b->u.warning.onset_us);
		assert_true(a->u.warning.expires_us == b->u.warning.expires_us);
		assert_string_equal(a->u.warning.sender, b->u.warning.sender);
		assert_string_equal(a->u.warning.headline, b->u.warning.headline);
		assert_string_equal(a->u.warning.description, b->u.warning.description);
		break;
	case HZ_EV_COMMAND:
		assert_string_equal(a->u.command.actor_id, b->u.command.actor_id);
		assert_int_equal(a->u.command.action, b->u.command.action);
		assert_true(a->u.command.ticket_id == b->u.command.ticket_id);
		assert_string_equal(a->u.command.reason, b->u.command.reason);
		assert_string_equal(a->u.command.note, b->u.command.note);
		assert_string_equal(a->u.command.assignee, b->u.command.assignee);
		assert_strv_equal(a->u.command.evidence_urls, b->u.command.evidence_urls);
		assert_int_equal(a->u.command.rectify_mode, b->u.command.rectify_mode);
		assert_true(a->u.command.due_at_us == b->u.command.due_at_us);
		assert_string_equal(a->u.command.silence_target, b->u.command.silence_target);
		assert_true(a->u.command.silence_until_us == b->u.command.silence_until_us);
		break;
	default:
		fail();
	}
}

/* ------------------------------------------------------------ round trips */

static void test_protobuf_fields(void **state)
{
	(void)state;
	struct hz_event ev;
	int64_t at = NOW - 60 * HZ_US_PER_SEC + 250000;

	assert_int_equal(dec(HZ_EV_READING, HZ_CT_PROTOBUF, packed, pack(sample(HZ_EV_READING)), &ev), HZ_OK);
	assert_int_equal(ev.kind, HZ_EV_READING);
	assert_string_equal(ev.event_id, "rd-0001");
	assert_true(ev.at_us == at);
	assert_string_equal(ev.device_id, "smk-17");
	assert_string_equal(ev.site_id, "site-9");
	assert_string_equal(ev.town_code, "");
	assert_int_equal(ev.u.reading.metric, HZ_METRIC_SMOKE);
	assert_true(ev.u.reading.value == 3.5);
	assert_string_equal(ev.u.reading.unit, "dB/m");
	assert_int_equal(ev.mode, HZ_MODE_EXERCISE);
	assert_null(ev.dev);

	assert_int_equal(dec(HZ_EV_STATUS, HZ_CT_PROTOBUF, packed, pack(sample(HZ_EV_STATUS)), &ev), HZ_OK);
	assert_int_equal(ev.u.status.state, HZ_DEV_LOW_BATTERY);
	assert_int_equal(ev.u.status.battery_pct, 12);
	assert_string_equal(ev.u.status.detail, "battery 12 %");

	assert_int_equal(dec(HZ_EV_REPORT, HZ_CT_PROTOBUF, packed, pack(sample(HZ_EV_REPORT)), &ev), HZ_OK);
	assert_string_equal(ev.site_id, "site-9");
	assert_string_equal(ev.town_code, "330102001");
	assert_int_equal(ev.u.report.category, 2);
	assert_int_equal(ev.u.report.level, HZ_LEVEL_YELLOW);
	assert_int_equal(ev.u.report.photo_urls.n, 2);
	assert_string_equal(ev.u.report.photo_urls.v[1], "https://img.example/2.jpg");
	assert_true(ev.u.report.supervised);
	assert_int_equal(ev.mode, HZ_MODE_TEST);

	assert_int_equal(dec(HZ_EV_WARNING, HZ_CT_PROTOBUF, packed, pack(sample(HZ_EV_WARNING)), &ev), HZ_OK);
	assert_string_equal(ev.u.warning.warning_id, "CMA-2026-0601-001");
	assert_int_equal(ev.u.warning.type, HZ_WARN_UPDATE);
	assert_int_equal(ev.u.warning.area_codes.n, 2);
	assert_string_equal(ev.u.warning.area_codes.v[0], "330102");
	assert_int_equal(ev.u.warning.level, HZ_LEVEL_ORANGE);
	assert_true(ev.u.warning.expires_us == NOW + 2 * 86400 * HZ_US_PER_SEC);

	assert_int_equal(dec(HZ_EV_COMMAND, HZ_CT_PROTOBUF, packed, pack(sample(HZ_EV_COMMAND)), &ev), HZ_OK);
	assert_string_equal(ev.event_id, "cmd-0001");
	assert_string_equal(ev.u.command.actor_id, "op-duty-3");
	assert_int_equal(ev.u.command.action, HZ_ACT_RECTIFY);
	assert_true(ev.u.command.ticket_id == INT64_C(9007199254740993));
	assert_int_equal(ev.u.command.rectify_mode, 2);
	assert_true(ev.u.command.due_at_us == NOW + 2 * 86400 * HZ_US_PER_SEC);
	assert_true(ev.u.command.silence_until_us == 0);
}

/* protobuf -> hz_event, and protobuf struct -> JSON -> hz_event: equal. */
static void test_json_equals_protobuf(void **state)
{
	(void)state;
	for (int k = HZ_EV_READING; k <= HZ_EV_COMMAND; k++) {
		struct hz_event a, b;
		struct hz_buf js = HZ_BUF_INIT;
		ProtobufCMessage *m = sample((enum hz_ev_kind)k);
		assert_int_equal(dec((enum hz_ev_kind)k, HZ_CT_PROTOBUF, packed, pack(m), &a), HZ_OK);
		assert_int_equal(hz_json_from_pb(m, &js), HZ_OK);
		assert_int_equal(dec((enum hz_ev_kind)k, HZ_CT_JSON, js.data, js.len, &b), HZ_OK);
		assert_ev_equal(&a, &b);
		/* and AUTO picks JSON for it */
		assert_int_equal(dec((enum hz_ev_kind)k, HZ_CT_AUTO, js.data, js.len, &b), HZ_OK);
		assert_ev_equal(&a, &b);
		hz_buf_free(&js);
	}
}

/* JSON -> pb struct -> protobuf bytes -> hz_event equals JSON -> hz_event. */
static void test_json_to_pb_pack_roundtrip(void **state)
{
	(void)state;
	for (int k = HZ_EV_READING; k <= HZ_EV_COMMAND; k++) {
		struct hz_event a, b;
		struct hz_buf js = HZ_BUF_INIT;
		ProtobufCMessage *m = sample((enum hz_ev_kind)k), *back = NULL;
		assert_int_equal(hz_json_from_pb(m, &js), HZ_OK);
		assert_int_equal(hz_json_to_pb(m->descriptor, (const char *)js.data, js.len, NULL, 0, &back,
					       err, sizeof(err)), HZ_OK);
		size_t n = pack(back);
		assert_int_equal(dec((enum hz_ev_kind)k, HZ_CT_PROTOBUF, packed, n, &a), HZ_OK);
		assert_int_equal(dec((enum hz_ev_kind)k, HZ_CT_JSON, js.data, js.len, &b), HZ_OK);
		assert_ev_equal(&a, &b);
		protobuf_c_message_free_unpacked(back, NULL); /* LeakSanitizer checks the malloc path */
		hz_buf_free(&js);
	}
}

static void test_json_names_and_values(void **state)
{
	(void)state;
	struct hz_event ev;
	/* original names, enum by number, timestamp with offset and fraction */
	assert_int_equal(decs(HZ_EV_READING,
			      "{\"event_id\":\"r1\",\"observed_at\":\"2026-05-31T20:00:00.5+08:00\","
			      "\"device_id\":\"d1\",\"metric\":2,\"value\":21}", &ev), HZ_OK);
	assert_true(ev.at_us == T("2026-05-31T12:00:00.5Z"));
	assert_int_equal(ev.u.reading.metric, HZ_METRIC_TEMPERATURE);
	assert_true(ev.u.reading.value == 21.0);
	assert_string_equal(ev.u.reading.unit, "");
	/* camelCase, enum by name, value as a numeric string, nanos to µs */
	assert_int_equal(decs(HZ_EV_READING,
			      "{\"eventId\":\"r2\",\"observedAt\":\"2026-05-31T23:59:59.123456789Z\","
			      "\"deviceId\":\"d1\",\"siteId\":\"s1\",\"metric\":\"METRIC_CO\",\"value\":\"12.5\","
			      "\"mode\":\"MODE_TEST\"}", &ev), HZ_OK);
	assert_true(ev.at_us == T("2026-05-31T23:59:59.123456Z"));
	assert_string_equal(ev.site_id, "s1");
	assert_int_equal(ev.u.reading.metric, HZ_METRIC_CO);
	assert_true(ev.u.reading.value == 12.5);
	assert_int_equal(ev.mode, HZ_MODE_TEST);
	/* Timestamp as {seconds, nanos}, seconds as a string; null means default */
	assert_int_equal(decs(HZ_EV_READING,
			      "{\"eventId\":\"r3\",\"observedAt\":{\"seconds\":\"1780271940\",\"nanos\":5000},"
			      "\"deviceId\":\"d1\",\"metric\":\"METRIC_SMOKE\",\"value\":0.5,\"unit\":null,"
			      "\"siteId\":null}", &ev), HZ_OK);
	assert_true(ev.at_us == INT64_C(1780271940) * HZ_US_PER_SEC + 5);
	assert_string_equal(ev.site_id, "");
	/* int64 as string, number and integral real; unknown fields ignored */
#define CMD_FMT "{\"commandId\":\"c1\",\"actedAt\":\"2026-05-31T23:00:00Z\",\"actorId\":\"op\","\
			  "\"action\":\"ACTION_ACK\",\"ticketId\":%s,\"futureField\":{\"a\":[1,2]},"\
			  "\"evidenceUrls\":[\"u1\",\"u2\"]}"
	const char *ids[] = {"\"9007199254740993\"", "42", "42.0"};
	const int64_t want[] = {INT64_C(9007199254740993), 42, 42};
	for (size_t i = 0; i < 3; i++) {
		char js[512];
		snprintf(js, sizeof(js), CMD_FMT, ids[i]);
		assert_int_equal(decs(HZ_EV_COMMAND, js, &ev), HZ_OK);
		assert_true(ev.u.command.ticket_id == want[i]);
		assert_int_equal(ev.u.command.evidence_urls.n, 2);
		assert_string_equal(ev.u.command.evidence_urls.v[1], "u2");
	}
	/* booleans and repeated for a report */
	assert_int_equal(decs(HZ_EV_REPORT,
			      "{\"eventId\":\"p1\",\"observedAt\":\"2026-05-31T23:00:00Z\",\"siteId\":\"s1\","
			      "\"category\":\"HAZARD_CATEGORY_BLOCKED_EXIT\",\"supervised\":true,"
			      "\"photo_urls\":[]}", &ev), HZ_OK);
	assert_true(ev.u.report.supervised);
	assert_int_equal(ev.u.report.category, 1);
	assert_int_equal(ev.u.report.photo_urls.n, 0);
}

static void test_json_type_errors(void **state)
{
	(void)state;
	struct hz_event ev;
	ASSERT_REJECT(decs(HZ_EV_READING, "{\"eventId\":\"r\",\"value\":\"high\"}", &ev),
		      "field \"value\": expected a number, got string");
	ASSERT_REJECT(decs(HZ_EV_READING, "{\"eventId\":\"r\",\"value\":true}", &ev),
		      "field \"value\": expected a number, got boolean");
	ASSERT_REJECT(decs(HZ_EV_READING, "{\"metric\":\"METRIC_FOO\"}", &ev),
		      "field \"metric\": unknown enum value \"METRIC_FOO\"");
	ASSERT_REJECT(decs(HZ_EV_READING, "{\"deviceId\":42}", &ev),
		      "field \"device_id\": expected a string, got number");
	ASSERT_REJECT(decs(HZ_EV_READING, "{\"observedAt\":\"yesterday\"}", &ev),
		      "field \"observed_at\": invalid RFC 3339 timestamp \"yesterday\"");
	ASSERT_REJECT(decs(HZ_EV_READING, "{\"observedAt\":{\"seconds\":1,\"nanos\":-1}}", &ev),
		      "field \"observed_at\": timestamp out of range");
	ASSERT_REJECT(decs(HZ_EV_READING, "{\"observedAt\":{\"seconds\":\"x\"}}", &ev),
		      "field \"observed_at.seconds\": expected an integer, got string \"x\"");
	ASSERT_REJECT(decs(HZ_EV_COMMAND, "{\"ticketId\":1.5}", &ev),
		      "field \"ticket_id\": expected an integer, got 1.5");
	ASSERT_REJECT(decs(HZ_EV_STATUS, "{\"batteryPct\":-1}", &ev),
		      "field \"battery_pct\": -1 is out of range");
	ASSERT_REJECT(decs(HZ_EV_REPORT, "{\"supervised\":\"yes\"}", &ev),
		      "field \"supervised\": expected true or false, got string");
	ASSERT_REJECT(decs(HZ_EV_REPORT, "{\"photoUrls\":\"one\"}", &ev),
		      "field \"photo_urls\": expected an array, got string");
	ASSERT_REJECT(decs(HZ_EV_REPORT, "{\"photoUrls\":[\"a\",null]}", &ev),
		      "field \"photo_urls[1]\": null is not allowed in an array");
	ASSERT_REJECT(decs(HZ_EV_READING, "{\"deviceId\":\"a\",\"device_id\":\"b\"}", &ev),
		      "field \"device_id\": given more than once (by its JSON and its original name)");
	ASSERT_REJECT(decs(HZ_EV_READING, "[1,2]", &ev), "json: top level must be an object, got array");
	ASSERT_REJECT(decs(HZ_EV_READING, "{\"eventId\":", &ev),
		      "json: line 1 column 11: unexpected token near end of file");
}

static void test_json_duplicate_nul_depth(void **state)
{
	(void)state;
	struct hz_event ev;
	ASSERT_REJECT(decs(HZ_EV_READING, "{\"value\":1,\"value\":2}", &ev),
		      "json: line 1 column 18: duplicate object key 'value'");
	ASSERT_REJECT(decs(HZ_EV_READING, "{\"a\\\"b\":1,\n \"a\\\"b\":2}", &ev),
		      "json: line 2 column 7: duplicate object key 'a\\\"b'");
	ASSERT_REJECT(decs(HZ_EV_READING, "{\"deviceId\":\"ab\\u0000cd\"}", &ev),
		      "json: line 1 column 24: string contains a NUL character");
	/* a raw NUL byte in the payload (json_loadb sees the whole buffer) */
	ASSERT_REJECT(dec(HZ_EV_READING, HZ_CT_JSON, "{\"deviceId\":\"a\0b\"}", 18, &ev),
		      "json: line 1 column 14: control character 0x0 near '\"a'");
	/* invalid UTF-8 in JSON: jansson refuses it */
	assert_int_equal(decs(HZ_EV_READING, "{\"deviceId\":\"\xff\"}", &ev), HZ_EINVAL);
	assert_non_null(strstr(err, "json: "));

	char deep[400];
	size_t n = 0;
	n += (size_t)snprintf(deep, sizeof(deep), "{\"x\":");
	for (int i = 0; i < 100; i++)
		deep[n++] = '[';
	for (int i = 0; i < 100; i++)
		deep[n++] = ']';
	deep[n++] = '}';
	deep[n] = '\0';
	ASSERT_REJECT(decs(HZ_EV_READING, deep, &ev),
		      "json: line 1 column 37: nesting deeper than 32 levels");
	/* brackets inside strings do not count */
	char strdeep[400];
	snprintf(strdeep, sizeof(strdeep),
		 "{\"eventId\":\"r\",\"description\":\"%.*s\",\"observedAt\":\"2026-05-31T23:00:00Z\","
		 "\"deviceId\":\"d\",\"metric\":1}", 100,
		 "[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[");
	assert_int_equal(decs(HZ_EV_READING, strdeep, &ev), HZ_OK);
	/* hz_json_to_pb's own bound */
	ProtobufCMessage *m = NULL;
	assert_int_equal(hz_json_to_pb(&hazard__v1__sensor_reading__descriptor, "{\"a\":{\"b\":{}}}", 14,
				       NULL, 2, &m, err, sizeof(err)), HZ_EINVAL);
	assert_null(m);
	assert_string_equal(err, "json: line 1 column 11: nesting deeper than 2 levels");
	assert_int_equal(hz_json_to_pb(&hazard__v1__sensor_reading__descriptor, "{\"a\":{\"b\":{}}}", 14,
				       NULL, 3, &m, err, sizeof(err)), HZ_OK);
	protobuf_c_message_free_unpacked(m, NULL);
}

/* ------------------------------------------------------------ rejections */

static void test_missing_required(void **state)
{
	(void)state;
	struct hz_event ev;
	const char *base = "{\"eventId\":\"r\",\"observedAt\":\"2026-05-31T23:00:00Z\",\"deviceId\":\"d\"";
	char js[512];
	snprintf(js, sizeof(js), "%s,\"metric\":\"METRIC_SMOKE\"}", base);
	assert_int_equal(decs(HZ_EV_READING, js, &ev), HZ_OK);
	snprintf(js, sizeof(js), "%s}", base);
	ASSERT_REJECT(decs(HZ_EV_READING, js, &ev), "missing required field \"metric\"");
	ASSERT_REJECT(decs(HZ_EV_READING, "{\"eventId\":\"r\",\"observedAt\":\"2026-05-31T23:00:00Z\","
					  "\"metric\":1}", &ev), "missing required field \"device_id\"");
	ASSERT_REJECT(decs(HZ_EV_READING, "{\"eventId\":\"r\",\"deviceId\":\"d\",\"metric\":1}", &ev),
		      "missing required field \"observed_at\"");
	ASSERT_REJECT(decs(HZ_EV_READING, "{\"eventId\":\"\"}", &ev), "missing required field \"event_id\"");
	/* protobuf: an empty payload is a message with every field missing */
	ASSERT_REJECT(dec(HZ_EV_STATUS, HZ_CT_PROTOBUF, "", 0, &ev), "missing required field \"event_id\"");

	const char *st = "{\"eventId\":\"s\",\"observedAt\":\"2026-05-31T23:00:00Z\",\"deviceId\":\"d\"}";
	ASSERT_REJECT(decs(HZ_EV_STATUS, st, &ev), "missing required field \"state\"");
	ASSERT_REJECT(decs(HZ_EV_STATUS, "{\"eventId\":\"s\",\"observedAt\":\"2026-05-31T23:00:00Z\","
					 "\"deviceId\":\"d\",\"state\":1,\"batteryPct\":101}", &ev),
		      "field \"battery_pct\": 101 is more than 100");
	ASSERT_REJECT(decs(HZ_EV_REPORT, "{\"eventId\":\"p\",\"observedAt\":\"2026-05-31T23:00:00Z\","
					 "\"category\":1}", &ev), "missing required field \"site_id\"");
	ASSERT_REJECT(decs(HZ_EV_REPORT, "{\"eventId\":\"p\",\"observedAt\":\"2026-05-31T23:00:00Z\","
					 "\"siteId\":\"s\"}", &ev), "missing required field \"category\"");

#define WN_FMT "{\"eventId\":\"w\",\"sentAt\":\"2026-05-31T23:00:00Z\",\"warningId\":\"W1\","\
			 "\"type\":\"%s\",\"areaCodes\":%s%s}"
	snprintf(js, sizeof(js), WN_FMT, "WARNING_TYPE_ALERT", "[\"330102\"]", "");
	ASSERT_REJECT(decs(HZ_EV_WARNING, js, &ev),
		      "missing required field \"level\" (required when type is WARNING_TYPE_ALERT)");
	snprintf(js, sizeof(js), WN_FMT, "WARNING_TYPE_CANCEL", "[\"330102\"]", "");
	assert_int_equal(decs(HZ_EV_WARNING, js, &ev), HZ_OK);
	assert_int_equal(ev.u.warning.type, HZ_WARN_CANCEL);
	snprintf(js, sizeof(js), WN_FMT, "WARNING_TYPE_ALERT", "[]", ",\"level\":\"LEVEL_RED\"");
	ASSERT_REJECT(decs(HZ_EV_WARNING, js, &ev), "missing required field \"area_codes\"");
	snprintf(js, sizeof(js), WN_FMT, "WARNING_TYPE_ALERT", "[\"330102\",\"\"]", ",\"level\":\"LEVEL_RED\"");
	ASSERT_REJECT(decs(HZ_EV_WARNING, js, &ev), "field \"area_codes[1]\": empty string");
	snprintf(js, sizeof(js), WN_FMT, "WARNING_TYPE_ALERT", "[\"0123456789012345678901234567890123\"]",
		 ",\"level\":\"LEVEL_RED\"");
	ASSERT_REJECT(decs(HZ_EV_WARNING, js, &ev),
		      "field \"area_codes[0]\": 34 bytes long, the limit for an id is 31");

#define CM_FMT "{\"commandId\":\"c\",\"actedAt\":\"2026-05-31T23:00:00Z\",\"actorId\":\"op\","\
			 "\"action\":\"%s\"%s}"
	snprintf(js, sizeof(js), CM_FMT, "ACTION_ACK", "");
	ASSERT_REJECT(decs(HZ_EV_COMMAND, js, &ev),
		      "missing required field \"ticket_id\" (required for ACTION_ACK)");
	snprintf(js, sizeof(js), CM_FMT, "ACTION_ACK", ",\"ticketId\":-3");
	ASSERT_REJECT(decs(HZ_EV_COMMAND, js, &ev), "field \"ticket_id\": -3 is not a ticket id");
	snprintf(js, sizeof(js), CM_FMT, "ACTION_SILENCE", "");
	ASSERT_REJECT(decs(HZ_EV_COMMAND, js, &ev),
		      "missing required field \"silence_target\" (or \"ticket_id\") for ACTION_SILENCE");
	snprintf(js, sizeof(js), CM_FMT, "ACTION_SILENCE",
		 ",\"silenceTarget\":\"smk-17\",\"silenceUntil\":\"2026-06-01T06:00:00Z\"");
	assert_int_equal(decs(HZ_EV_COMMAND, js, &ev), HZ_OK);
	assert_int_equal(ev.u.command.action, HZ_ACT_SILENCE);
	assert_string_equal(ev.u.command.silence_target, "smk-17");
	assert_true(ev.u.command.silence_until_us == T("2026-06-01T06:00:00Z"));
	snprintf(js, sizeof(js), CM_FMT, "ACTION_UNSPECIFIED", ",\"ticketId\":1");
	ASSERT_REJECT(decs(HZ_EV_COMMAND, js, &ev), "missing required field \"action\"");
	ASSERT_REJECT(dec(HZ_EV_NONE, HZ_CT_JSON, "{}", 2, &ev), "unknown event kind 0");
}

static void test_bad_enum_values(void **state)
{
	(void)state;
	struct hz_event ev;
	struct hz_buf b = HZ_BUF_INIT;
	/* protobuf-c stores any number in an enum field: the decoder must not */
	Hazard__V1__SensorReading *rd = (Hazard__V1__SensorReading *)sample(HZ_EV_READING);
	rd->metric = (Hazard__V1__Metric)99;
	ASSERT_REJECT(dec(HZ_EV_READING, HZ_CT_PROTOBUF, packed, pack(&rd->base), &ev),
		      "field \"metric\": unknown enum value 99");
	rd = (Hazard__V1__SensorReading *)sample(HZ_EV_READING);
	rd->mode = (Hazard__V1__Mode)-1;
	ASSERT_REJECT(dec(HZ_EV_READING, HZ_CT_PROTOBUF, packed, pack(&rd->base), &ev),
		      "field \"mode\": unknown enum value -1");
	Hazard__V1__Warning *wn = (Hazard__V1__Warning *)sample(HZ_EV_WARNING);
	wn->level = (Hazard__V1__Level)5;
	ASSERT_REJECT(dec(HZ_EV_WARNING, HZ_CT_PROTOBUF, packed, pack(&wn->base), &ev),
		      "field \"level\": unknown enum value 5");
	Hazard__V1__Command *cm = (Hazard__V1__Command *)sample(HZ_EV_COMMAND);
	cm->rectify_mode = (Hazard__V1__RectifyMode)3;
	ASSERT_REJECT(dec(HZ_EV_COMMAND, HZ_CT_PROTOBUF, packed, pack(&cm->base), &ev),
		      "field \"rectify_mode\": unknown enum value 3");
	/* JSON by number goes through the same check */
	ASSERT_REJECT(decs(HZ_EV_STATUS, "{\"eventId\":\"s\",\"observedAt\":\"2026-05-31T23:00:00Z\","
					 "\"deviceId\":\"d\",\"state\":6}", &ev),
		      "field \"state\": unknown enum value 6");
	hz_buf_free(&b);
}

static void test_protobuf_strings(void **state)
{
	(void)state;
	struct hz_event ev;
	struct hz_buf b = HZ_BUF_INIT;
	w_reading(&b, "ab\xff", 3, 20);
	ASSERT_REJECT(dec(HZ_EV_READING, HZ_CT_PROTOBUF, b.data, b.len, &ev),
		      "field \"device_id\": invalid UTF-8");
	hz_buf_clear(&b);
	w_reading(&b, "\xed\xa0\x80", 3, 20); /* a UTF-16 surrogate */
	ASSERT_REJECT(dec(HZ_EV_READING, HZ_CT_PROTOBUF, b.data, b.len, &ev),
		      "field \"device_id\": invalid UTF-8");
	hz_buf_clear(&b);
	/* protobuf-c would hand back "ab": the NUL must be seen on the wire */
	w_reading(&b, "ab\0cd", 5, 20);
	ASSERT_REJECT(dec(HZ_EV_READING, HZ_CT_PROTOBUF, b.data, b.len, &ev),
		      "field \"device_id\": contains a NUL byte at byte 2");
	hz_buf_clear(&b);
	w_reading(&b, "ab\x01", 3, 20);
	ASSERT_REJECT(dec(HZ_EV_READING, HZ_CT_PROTOBUF, b.data, b.len, &ev),
		      "field \"device_id\": control character 0x01 at offset 2");
	hz_buf_clear(&b);
	/* a nested string: invalid UTF-8 in a Timestamp is no string, but in unit it is */
	w_reading(&b, "d", 1, 20);
	w_bytes(&b, 7, "\xc0\xaf", 2); /* overlong '/' */
	ASSERT_REJECT(dec(HZ_EV_READING, HZ_CT_PROTOBUF, b.data, b.len, &ev), "field \"unit\": invalid UTF-8");
	hz_buf_clear(&b);
	/* ids: length and charset */
	char id64[65];
	memset(id64, 'a', 64);
	id64[64] = '\0';
	w_reading(&b, id64, 64, 20);
	ASSERT_REJECT(dec(HZ_EV_READING, HZ_CT_PROTOBUF, b.data, b.len, &ev),
		      "field \"device_id\": 64 bytes long, the limit for an id is 63");
	w_reading(&b, "d", 1, 20); /* a later device_id wins, as in protobuf */
	assert_int_equal(dec(HZ_EV_READING, HZ_CT_PROTOBUF, b.data, b.len, &ev), HZ_OK);
	w_str(&b, 1, id64);
	ASSERT_REJECT(dec(HZ_EV_READING, HZ_CT_PROTOBUF, b.data, b.len, &ev),
		      "field \"event_id\": 64 bytes long, the limit for an id is 63");
	id64[63] = '\0';
	w_str(&b, 1, id64);
	assert_int_equal(dec(HZ_EV_READING, HZ_CT_PROTOBUF, b.data, b.len, &ev), HZ_OK);
	assert_int_equal(strlen(ev.event_id), 63);
	w_str(&b, 1, "rd 1");
	ASSERT_REJECT(dec(HZ_EV_READING, HZ_CT_PROTOBUF, b.data, b.len, &ev),
		      "field \"event_id\": byte 0x20 at offset 2 is not printable ASCII");
	w_str(&b, 1, "r\xc3\xa9");
	ASSERT_REJECT(dec(HZ_EV_READING, HZ_CT_PROTOBUF, b.data, b.len, &ev),
		      "field \"event_id\": byte 0xc3 at offset 1 is not printable ASCII");
	/* a bad byte at every offset of ids up to 40 bytes long, on both sides
	 * of the eight-byte steps: named with its offset, the first one wins */
	for (size_t len = 1; len <= 40; len++)
		for (size_t at = 0; at < len; at++) {
			static const unsigned char bad[] = {0x01, 0x1f, 0x20, 0x7f, 0x80, 0xc3};
			for (size_t k = 0; k < sizeof(bad); k++) {
				char id[48], want[128];
				for (size_t i = 0; i < len; i++)
					id[i] = (char)("az09-_.~!"[i % 9]);
				id[len] = '\0';
				id[at] = (char)bad[k];
				if (at + 1 < len)
					id[len - 1] = 0x7f; /* a later one is not the one named */
				hz_buf_clear(&b);
				w_reading(&b, "d", 1, 20);
				w_str(&b, 1, id);
				snprintf(want, sizeof(want),
					 "field \"event_id\": byte 0x%02x at offset %zu is not printable ASCII",
					 bad[k], at);
				if (bad[k] == 0x80 || bad[k] == 0xc3) {
					/* not UTF-8 on its own: the wire scan refuses it first */
					assert_int_equal(dec(HZ_EV_READING, HZ_CT_PROTOBUF, b.data, b.len, &ev),
							 HZ_EINVAL);
				} else {
					ASSERT_REJECT(dec(HZ_EV_READING, HZ_CT_PROTOBUF, b.data, b.len, &ev), want);
				}
				hz_buf_clear(&b);
				w_reading(&b, id, len, 20);
				if (bad[k] == 0x20) {
					/* a space is fine in a device id; the later 0x7f is not */
					if (at + 1 < len) {
						snprintf(want, sizeof(want),
							 "field \"device_id\": control character 0x7f at offset %zu",
							 len - 1);
						ASSERT_REJECT(dec(HZ_EV_READING, HZ_CT_PROTOBUF, b.data, b.len, &ev),
							      want);
					} else {
						assert_int_equal(
						    dec(HZ_EV_READING, HZ_CT_PROTOBUF, b.data, b.len, &ev), HZ_OK);
					}
				} else if (bad[k] < 0x80) {
					snprintf(want, sizeof(want),
						 "field \"device_id\": control character 0x%02x at offset %zu",
						 bad[k], at);
					ASSERT_REJECT(dec(HZ_EV_READING, HZ_CT_PROTOBUF, b.data, b.len, &ev), want);
				}
			}
			/* and the id whole, every byte good */
			char id[48];
			for (size_t i = 0; i < len; i++)
				id[i] = (char)("az09-_.~!"[i % 9]);
			id[len] = '\0';
			hz_buf_clear(&b);
			w_reading(&b, id, len, 20);
			w_str(&b, 1, id);
			assert_int_equal(dec(HZ_EV_READING, HZ_CT_PROTOBUF, b.data, b.len, &ev), HZ_OK);
			assert_string_equal(ev.device_id, id);
			assert_string_equal(ev.event_id, id);
		}
	hz_buf_clear(&b);
	w_reading(&b, "d", 1, 20);
	/* non-ASCII is fine in other ids */
	w_str(&b, 1, "rd-2");
	w_str(&b, 3, "\xe7\x83\x9f-17");
	assert_int_equal(dec(HZ_EV_READING, HZ_CT_PROTOBUF, b.data, b.len, &ev), HZ_OK);
	assert_string_equal(ev.device_id, "\xe7\x83\x9f-17");
	/* max_string */
	char *big = malloc(5000);
	memset(big, 'x', 4999);
	big[4999] = '\0';
	w_str(&b, 7, big);
	ASSERT_REJECT(dec(HZ_EV_READING, HZ_CT_PROTOBUF, b.data, b.len, &ev),
		      "field \"unit\": 4999 bytes, the limit is 4096");
	char js[6000];
	snprintf(js, sizeof(js), "{\"eventId\":\"r\",\"observedAt\":\"2026-05-31T23:00:00Z\",\"deviceId\":\"d\","
				 "\"metric\":1,\"unit\":\"%s\"}", big);
	ASSERT_REJECT(decs(HZ_EV_READING, js, &ev), "field \"unit\": 4999 bytes, the limit is 4096");
	free(big);
	hz_buf_free(&b);
}

static void test_repeated_limit(void **state)
{
	(void)state;
	struct hz_event ev;
	char *urls[40];
	for (int i = 0; i < 40; i++)
		urls[i] = "https://img.example/p.jpg";
	Hazard__V1__HazardReport *rp = (Hazard__V1__HazardReport *)sample(HZ_EV_REPORT);
	rp->photo_urls = urls;
	rp->n_photo_urls = 32;
	assert_int_equal(dec(HZ_EV_REPORT, HZ_CT_PROTOBUF, packed, pack(&rp->base), &ev), HZ_OK);
	assert_int_equal(ev.u.report.photo_urls.n, 32);
	rp->n_photo_urls = 33;
	ASSERT_REJECT(dec(HZ_EV_REPORT, HZ_CT_PROTOBUF, packed, pack(&rp->base), &ev),
		      "field \"photo_urls\": more than 32 items");
	struct hz_buf js = HZ_BUF_INIT;
	assert_int_equal(hz_json_from_pb(&rp->base, &js), HZ_OK);
	ASSERT_REJECT(dec(HZ_EV_REPORT, HZ_CT_JSON, js.data, js.len, &ev),
		      "field \"photo_urls\": more than 32 items");
	hz_buf_free(&js);
}

static void test_payload_limit_and_truncation(void **state)
{
	(void)state;
	struct hz_event ev;
	static unsigned char big[65537];
	memset(big, ' ', sizeof(big));
	ASSERT_REJECT(dec(HZ_EV_READING, HZ_CT_AUTO, big, sizeof(big), &ev),
		      "payload of 65537 bytes exceeds the limit of 65536 bytes");

	size_t n = pack(sample(HZ_EV_READING));
	unsigned char copy[256];
	assert_true(n <= sizeof(copy));
	memcpy(copy, packed, n);
	/* every proper prefix is refused except the three that end on a field
	 * boundary after the required ones (metric, value, unit); none crashes
	 * and none reads past its end (exact-size copies, ASan watches) */
	int ok = 0;
	for (size_t cut = 0; cut < n; cut++) {
		unsigned char *p = malloc(cut ? cut : 1);
		memcpy(p, copy, cut);
		int rc = dec(HZ_EV_READING, HZ_CT_PROTOBUF, p, cut, &ev);
		assert_true(rc == HZ_OK || rc == HZ_EINVAL);
		ok += rc == HZ_OK;
		free(p);
	}
	assert_int_equal(ok, 3);
	/* cut inside device_id: event_id (2+7), observed_at (2+11) come first */
	ASSERT_REJECT(dec(HZ_EV_READING, HZ_CT_PROTOBUF, copy, 26, &ev),
		      "protobuf: truncated field 3 at offset 22");
	ASSERT_REJECT(dec(HZ_EV_READING, HZ_CT_PROTOBUF, copy, 12, &ev),
		      "protobuf: truncated field 2 at offset 9");
	ASSERT_REJECT(dec(HZ_EV_READING, HZ_CT_PROTOBUF, "\x0b\x00", 2, &ev),
		      "protobuf: unsupported wire type 3 in field 1 at offset 0");
	ASSERT_REJECT(dec(HZ_EV_READING, HZ_CT_PROTOBUF, "\x08\x01", 2, &ev),
		      "field \"event_id\": wire type 0, expected 2");
	ASSERT_REJECT(dec(HZ_EV_READING, HZ_CT_PROTOBUF, "\x31\x00\x00", 3, &ev),
		      "protobuf: truncated field 6 at offset 0");
	ASSERT_REJECT(dec(HZ_EV_READING, HZ_CT_PROTOBUF, "\x28\xff\xff", 3, &ev),
		      "protobuf: truncated varint in field 5 at offset 0");
	ASSERT_REJECT(dec(HZ_EV_READING, HZ_CT_PROTOBUF, "\x00", 1, &ev),
		      "protobuf: invalid field number 0 at offset 0");
}

/* The measured trap: protobuf-c allocates ~88 bytes per 2-byte empty
 * sub-message. A megabyte of them must stop at the per-message budget,
 * inside an arena whose total cap would otherwise be hit, and quickly. */
static void test_arena_cap(void **state)
{
	(void)state;
	struct hz_event ev;
	struct hz_arena *small = hz_arena_new(300 * 1024);
	size_t n = 1 << 20;
	unsigned char *p = malloc(n);
	for (size_t i = 0; i < n; i += 2) {
		p[i] = 0x12; /* field 2 (observed_at), length-delimited */
		p[i + 1] = 0x00;
	}
	lim.max_payload = 2 << 20;
	struct timespec t0, t1;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	int rc = hz_codec_decode(HZ_EV_READING, HZ_CT_PROTOBUF, p, n, &lim, NOW, small, &ev, err, sizeof(err));
	clock_gettime(CLOCK_MONOTONIC, &t1);
	assert_int_equal(rc, HZ_EINVAL);
	assert_string_equal(err, "message needs more than 262144 bytes of memory to decode");
	assert_int_equal(hz_arena_used(small), 0); /* rewound */
	double ms = (double)(t1.tv_sec - t0.tv_sec) * 1e3 + (double)(t1.tv_nsec - t0.tv_nsec) / 1e6;
	assert_true(ms < 2000); /* measured: a few ms; ASan included, far below this */

	/* unknown fields are kept by protobuf-c: the same budget bounds them */
	for (size_t i = 0; i < n; i += 2) {
		p[i] = 0x78; /* field 15, varint */
		p[i + 1] = 0x00;
	}
	rc = hz_codec_decode(HZ_EV_READING, HZ_CT_PROTOBUF, p, n, &lim, NOW, small, &ev, err, sizeof(err));
	assert_int_equal(rc, HZ_EINVAL);
	assert_string_equal(err, "message needs more than 262144 bytes of memory to decode");

	/* the batch arena itself full is not the message's fault */
	hz_arena_alloc(small, 300 * 1024 - 64);
	size_t m = pack(sample(HZ_EV_READING));
	rc = hz_codec_decode(HZ_EV_READING, HZ_CT_PROTOBUF, packed, m, &lim, NOW, small, &ev, err, sizeof(err));
	assert_int_equal(rc, HZ_EFULL);
	hz_arena_reset(small);
	rc = hz_codec_decode(HZ_EV_READING, HZ_CT_PROTOBUF, packed, m, &lim, NOW, small, &ev, err, sizeof(err));
	assert_int_equal(rc, HZ_OK);
	free(p);
	hz_arena_destroy(small);
}

static void test_nan_inf_is_fault(void **state)
{
	(void)state;
	struct hz_event ev;
	struct hz_buf b = HZ_BUF_INIT;
	double bad[] = {NAN, INFINITY, -INFINITY};
	const char *why[] = {"field \"value\": reading is NaN", "field \"value\": reading is infinite",
			     "field \"value\": reading is infinite"};
	for (int i = 0; i < 3; i++) {
		hz_buf_clear(&b);
		w_reading(&b, "smk-17", 6, bad[i]);
		size_t mark = hz_arena_used(arena);
		assert_int_equal(dec(HZ_EV_READING, HZ_CT_PROTOBUF, b.data, b.len, &ev), HZ_EFAULTVAL);
		assert_string_equal(err, why[i]);
		/* fully filled, and still valid after the call */
		assert_true(hz_arena_used(arena) > mark);
		assert_string_equal(ev.event_id, "rd-1");
		assert_string_equal(ev.device_id, "smk-17");
		assert_int_equal(ev.u.reading.metric, HZ_METRIC_TEMPERATURE);
		assert_true(isnan(bad[i]) ? isnan(ev.u.reading.value) : ev.u.reading.value == bad[i]);
	}
	const char *js[] = {"\"NaN\"", "\"Infinity\"", "\"-Infinity\""};
	for (int i = 0; i < 3; i++) {
		char s[256];
		snprintf(s, sizeof(s), "{\"eventId\":\"r\",\"observedAt\":\"2026-05-31T23:00:00Z\","
				       "\"deviceId\":\"smk-17\",\"metric\":\"METRIC_SMOKE\",\"value\":%s}", js[i]);
		assert_int_equal(decs(HZ_EV_READING, s, &ev), HZ_EFAULTVAL);
		assert_string_equal(err, why[i]);
		assert_string_equal(ev.device_id, "smk-17");
	}
	/* a NaN in a message that is also missing a field is plain invalid */
	hz_buf_clear(&b);
	w_str(&b, 1, "rd-1");
	w_double(&b, 6, NAN);
	ASSERT_REJECT(dec(HZ_EV_READING, HZ_CT_PROTOBUF, b.data, b.len, &ev),
		      "missing required field \"observed_at\"");
	hz_buf_free(&b);
}

static void test_timestamps(void **state)
{
	(void)state;
	struct hz_event ev;
	char js[512];
#define TS_FMT "{\"eventId\":\"r\",\"observedAt\":\"%s\",\"deviceId\":\"d\",\"metric\":1}"
	snprintf(js, sizeof(js), TS_FMT, "2031-01-01T00:00:00Z");
	ASSERT_REJECT(decs(HZ_EV_READING, js, &ev), "observed_at 2031-01-01T00:00:00Z is 1675 days in the future");
	snprintf(js, sizeof(js), TS_FMT, "2026-06-01T01:00:00Z"); /* clock skew within a day */
	assert_int_equal(decs(HZ_EV_READING, js, &ev), HZ_OK);
	snprintf(js, sizeof(js), TS_FMT, "2026-06-02T00:00:00Z"); /* exactly the limit */
	assert_int_equal(decs(HZ_EV_READING, js, &ev), HZ_OK);
	snprintf(js, sizeof(js), TS_FMT, "2026-06-02T00:00:01Z");
	ASSERT_REJECT(decs(HZ_EV_READING, js, &ev), "observed_at 2026-06-02T00:00:01Z is 86401 seconds in the future");
	snprintf(js, sizeof(js), TS_FMT, "1999-12-31T23:59:59.5Z");
	ASSERT_REJECT(decs(HZ_EV_READING, js, &ev),
		      "observed_at 1999-12-31T23:59:59.500000Z is before 2000-01-01T00:00:00Z");
	snprintf(js, sizeof(js), TS_FMT, "2000-01-01T08:00:00+08:00");
	assert_int_equal(decs(HZ_EV_READING, js, &ev), HZ_OK);
	assert_true(ev.at_us == lim.min_time_us);
	/* protobuf: zero Timestamp present = 1970; out-of-range seconds */
	struct hz_buf b = HZ_BUF_INIT;
	w_str(&b, 1, "r");
	w_bytes(&b, 2, "", 0);
	w_str(&b, 3, "d");
	w_tag(&b, 5, 0);
	w_varint(&b, 1);
	ASSERT_REJECT(dec(HZ_EV_READING, HZ_CT_PROTOBUF, b.data, b.len, &ev),
		      "observed_at 1970-01-01T00:00:00Z is before 2000-01-01T00:00:00Z");
	w_bytes(&b, 2, "\x08\xff\xff\xff\xff\xff\xff\xff\xff\x7f", 10); /* seconds = INT64_MAX */
	ASSERT_REJECT(dec(HZ_EV_READING, HZ_CT_PROTOBUF, b.data, b.len, &ev),
		      "field \"observed_at\": timestamp out of range");
	/* optional times are checked against min_time, not the future skew */
	Hazard__V1__Command *cm = (Hazard__V1__Command *)sample(HZ_EV_COMMAND);
	Google__Protobuf__Timestamp old = ts_of(T("1990-01-01T00:00:00Z"));
	cm->due_at = &old;
	ASSERT_REJECT(dec(HZ_EV_COMMAND, HZ_CT_PROTOBUF, packed, pack(&cm->base), &ev),
		      "due_at 1990-01-01T00:00:00Z is before 2000-01-01T00:00:00Z");
	hz_buf_free(&b);
}

static void test_auto_detect_and_content_type(void **state)
{
	(void)state;
	struct hz_event ev;
	const char *js = " \r\n\t {\"eventId\":\"r\",\"observedAt\":\"2026-05-31T23:00:00Z\",\"deviceId\":\"d\","
			 "\"metric\":\"METRIC_SMOKE\"}";
	assert_int_equal(dec(HZ_EV_READING, HZ_CT_AUTO, js, strlen(js), &ev), HZ_OK);
	assert_string_equal(ev.event_id, "r");
	/* the same bytes declared protobuf are refused as protobuf */
	assert_int_equal(dec(HZ_EV_READING, HZ_CT_PROTOBUF, js, strlen(js), &ev), HZ_EINVAL);
	assert_string_equal(err, "field \"site_id\": wire type 0, expected 2"); /* ' ' is field 4, varint */
	size_t n = pack(sample(HZ_EV_READING));
	assert_int_equal(dec(HZ_EV_READING, HZ_CT_AUTO, packed, n, &ev), HZ_OK);
	assert_string_equal(ev.event_id, "rd-0001");
	/* declared JSON but protobuf bytes */
	assert_int_equal(dec(HZ_EV_READING, HZ_CT_JSON, packed, n, &ev), HZ_EINVAL);
	assert_non_null(strstr(err, "json: "));

	struct {
		const char *mime;
		enum hz_content_type ct;
	} cases[] = {
		{"application/json", HZ_CT_JSON},
		{"application/json; charset=utf-8", HZ_CT_JSON},
		{"Application/JSON", HZ_CT_JSON},
		{" application/json ;charset=UTF-8", HZ_CT_JSON},
		{"application/x-protobuf", HZ_CT_PROTOBUF},
		{"application/protobuf; proto=hazard.v1.SensorReading", HZ_CT_PROTOBUF},
		{"application/vnd.google.protobuf", HZ_CT_PROTOBUF},
		{"application/octet-stream", HZ_CT_PROTOBUF},
		{"text/plain", HZ_CT_AUTO},
		{"application/jsonx", HZ_CT_AUTO},
		{"", HZ_CT_AUTO},
	};
	for (size_t i = 0; i < HZ_ARRAY_LEN(cases); i++)
		assert_int_equal(hz_content_type_parse(cases[i].mime, strlen(cases[i].mime)), cases[i].ct);
	assert_int_equal(hz_content_type_parse(NULL, 0), HZ_CT_AUTO);
	/* length-bounded: no terminator needed */
	assert_int_equal(hz_content_type_parse("application/jsonGARBAGE", 16), HZ_CT_JSON);
}

static void test_forward_compat_and_rewind(void **state)
{
	(void)state;
	struct hz_event ev;
	struct hz_buf b = HZ_BUF_INIT;
	/* unknown protobuf fields of every wire type are skipped */
	w_reading(&b, "d", 1, 20);
	w_tag(&b, 100, 0);
	w_varint(&b, 7);
	w_bytes(&b, 101, "\xff\x00", 2);
	w_tag(&b, 102, 5);
	assert_int_equal(hz_buf_append(&b, "abcd", 4), HZ_OK);
	w_double(&b, 103, 1.0);
	assert_int_equal(dec(HZ_EV_READING, HZ_CT_PROTOBUF, b.data, b.len, &ev), HZ_OK);
	assert_true(ev.u.reading.value == 20);
	/* a failed decode gives its arena space back */
	size_t used = hz_arena_used(arena);
	assert_int_equal(dec(HZ_EV_READING, HZ_CT_PROTOBUF, "\x0a\x01\xff", 3, &ev), HZ_EINVAL);
	assert_int_equal(decs(HZ_EV_READING, "{\"eventId\":\"r\",\"photo\":[1,2,3]}", &ev), HZ_EINVAL);
	assert_int_equal(hz_arena_used(arena), used);
	hz_buf_free(&b);
}

/* ------------------------------------------------------------ JSON output */

static void test_json_output(void **state)
{
	(void)state;
	struct hz_buf js = HZ_BUF_INIT;
	Hazard__V1__SensorReading rd = HAZARD__V1__SENSOR_READING__INIT;
	Google__Protobuf__Timestamp ts = ts_of(T("2026-05-31T23:00:00Z"));
	rd.event_id = "r1";
	rd.observed_at = &ts;
	rd.device_id = "d1";
	rd.metric = HAZARD__V1__METRIC__METRIC_SMOKE;
	rd.value = 12.5;
	assert_int_equal(hz_json_from_pb(&rd.base, &js), HZ_OK);
	assert_int_equal(hz_buf_cstr(&js), HZ_OK);
	assert_string_equal((char *)js.data, "{\"eventId\":\"r1\",\"observedAt\":\"2026-05-31T23:00:00Z\","
					     "\"deviceId\":\"d1\",\"metric\":\"METRIC_SMOKE\",\"value\":12.5}");
	/* fractions: 3, 6, 9 digits; NaN; 0.1 shortest; unknown enum as a number; escapes */
	struct {
		int32_t nanos;
		double v;
		const char *want;
	} cases[] = {
		{500000000, NAN, "\"observedAt\":\"2026-05-31T23:00:00.500Z\""},
		{123456000, INFINITY, "\"observedAt\":\"2026-05-31T23:00:00.123456Z\""},
		{1, -INFINITY, "\"observedAt\":\"2026-05-31T23:00:00.000000001Z\""},
	};
	const char *vals[] = {"\"value\":\"NaN\"", "\"value\":\"Infinity\"", "\"value\":\"-Infinity\""};
	for (int i = 0; i < 3; i++) {
		hz_buf_clear(&js);
		ts.nanos = cases[i].nanos;
		rd.value = cases[i].v;
		assert_int_equal(hz_json_from_pb(&rd.base, &js), HZ_OK);
		assert_int_equal(hz_buf_cstr(&js), HZ_OK);
		assert_non_null(strstr((char *)js.data, cases[i].want));
		assert_non_null(strstr((char *)js.data, vals[i]));
	}
	hz_buf_clear(&js);
	ts.nanos = 0;
	rd.value = 0.1;
	rd.metric = (Hazard__V1__Metric)42;
	rd.unit = "\"a\\b\"\n\x01\xff";
	assert_int_equal(hz_json_from_pb(&rd.base, &js), HZ_OK);
	assert_int_equal(hz_buf_cstr(&js), HZ_OK);
	assert_non_null(strstr((char *)js.data, "\"metric\":42,\"value\":0.1,"));
	assert_non_null(strstr((char *)js.data, "\"unit\":\"\\\"a\\\\b\\\"\\n\\u0001\\ufffd\""));
	/* int64 as a string, repeated, bool, out-of-range timestamp */
	hz_buf_clear(&js);
	assert_int_equal(hz_json_from_pb(sample(HZ_EV_COMMAND), &js), HZ_OK);
	assert_int_equal(hz_buf_cstr(&js), HZ_OK);
	assert_non_null(strstr((char *)js.data, "\"ticketId\":\"9007199254740993\""));
	assert_non_null(strstr((char *)js.data, "\"evidenceUrls\":[\"https://img.example/fixed.jpg\"]"));
	assert_non_null(strstr((char *)js.data, "\"rectifyMode\":\"RECTIFY_MODE_BY_DEADLINE\""));
	assert_null(strstr((char *)js.data, "silence")); /* defaults omitted */
	assert_null(strstr((char *)js.data, "mode\":"));
	hz_buf_clear(&js);
	assert_int_equal(hz_json_from_pb(sample(HZ_EV_REPORT), &js), HZ_OK);
	assert_int_equal(hz_buf_cstr(&js), HZ_OK);
	assert_non_null(strstr((char *)js.data, "\"supervised\":true"));
	/* nine fractional digits survive JSON -> pb -> JSON (hz_time_parse keeps µs) */
	const char *in = "{\"observedAt\":\"2026-05-31T20:00:00.123456789-03:30\",\"value\":-0.0}";
	ProtobufCMessage *m = NULL;
	assert_int_equal(hz_json_to_pb(&hazard__v1__sensor_reading__descriptor, in, strlen(in), NULL, 0, &m,
				       err, sizeof(err)), HZ_OK);
	Hazard__V1__SensorReading *r2 = (Hazard__V1__SensorReading *)m;
	assert_int_equal(r2->observed_at->nanos, 123456789);
	assert_true(r2->value == 0 && signbit(r2->value));
	hz_buf_clear(&js);
	assert_int_equal(hz_json_from_pb(m, &js), HZ_OK);
	assert_int_equal(hz_buf_cstr(&js), HZ_OK);
	/* -0.0 is a default, as protobuf-c packs it: omitted */
	assert_string_equal((char *)js.data, "{\"observedAt\":\"2026-05-31T23:30:00.123456789Z\"}");
	protobuf_c_message_free_unpacked(m, NULL);
	size_t before = js.len;
	ts.seconds = INT64_C(300000000000);
	assert_int_equal(hz_json_from_pb(&rd.base, &js), HZ_EINVAL);
	assert_int_equal(js.len, before);
	hz_buf_free(&js);
}

static void test_encode_ticket_event(void **state)
{
	(void)state;
	struct hz_ticket_event te;
	memset(&te, 0, sizeof(te));
	snprintf(te.event_id, sizeof(te.event_id), "tk-77-3");
	te.emitted_us = T("2026-05-31T23:00:01.25Z");
	te.tk.ticket_id = 77;
	te.tk.kind = HZ_KIND_ALARM;
	te.tk.state = HZ_STATE_CONFIRMED;
	te.tk.level = HZ_LEVEL_RED;
	te.tk.tier = HZ_TIER_COUNTY;
	te.tk.mode = HZ_MODE_EXERCISE;
	snprintf(te.tk.site_id, sizeof(te.tk.site_id), "site-9");
	snprintf(te.tk.town_code, sizeof(te.tk.town_code), "330102001");
	snprintf(te.tk.county_code, sizeof(te.tk.county_code), "330102");
	snprintf(te.tk.hazard_type, sizeof(te.tk.hazard_type), "smoke");
	snprintf(te.tk.device_id, sizeof(te.tk.device_id), "smk-17");
	te.tk.opened_us = T("2026-05-31T22:59:00Z");
	te.tk.updated_us = te.emitted_us;
	te.tk.deadline_us = T("2026-05-31T23:05:00Z");
	te.tk.event_count = 3;
	te.from_state = HZ_STATE_DISCOVERED;
	te.change = "state";
	te.actor = "op-duty-3";
	te.reason = NULL;
	te.cause_event_id = "cmd-0001";

	struct hz_buf out = HZ_BUF_INIT;
	assert_int_equal(hz_buf_append(&out, "X", 1), HZ_OK); /* appends, keeps what is there */
	assert_int_equal(hz_codec_encode_ticket_event(&te, HZ_CT_PROTOBUF, &out), HZ_OK);
	assert_int_equal(out.data[0], 'X');
	Hazard__V1__TicketEvent *m = hazard__v1__ticket_event__unpack(NULL, out.len - 1, out.data + 1);
	assert_non_null(m);
	assert_string_equal(m->event_id, "tk-77-3");
	assert_true(m->emitted_at->seconds == te.emitted_us / HZ_US_PER_SEC);
	assert_int_equal(m->emitted_at->nanos, 250000000);
	assert_int_equal(m->from_state, HAZARD__V1__STATE__STATE_DISCOVERED);
	assert_string_equal(m->change, "state");
	assert_string_equal(m->reason, "");
	assert_string_equal(m->cause_event_id, "cmd-0001");
	assert_non_null(m->ticket);
	assert_true(m->ticket->ticket_id == 77);
	assert_int_equal(m->ticket->kind, HAZARD__V1__KIND__KIND_ALARM);
	assert_int_equal(m->ticket->state, HAZARD__V1__STATE__STATE_CONFIRMED);
	assert_int_equal(m->ticket->level, HAZARD__V1__LEVEL__LEVEL_RED);
	assert_int_equal(m->ticket->tier, HAZARD__V1__TIER__TIER_COUNTY);
	assert_int_equal(m->ticket->mode, HAZARD__V1__MODE__MODE_EXERCISE);
	assert_string_equal(m->ticket->town_code, "330102001");
	assert_string_equal(m->ticket->device_id, "smk-17");
	assert_non_null(m->ticket->opened_at);
	assert_null(m->ticket->acked_at);
	assert_null(m->ticket->closed_at);
	assert_true(m->ticket->deadline_at->seconds == T("2026-05-31T23:05:00Z") / HZ_US_PER_SEC);
	assert_true(m->ticket->event_count == 3);
	hazard__v1__ticket_event__free_unpacked(m, NULL);

	hz_buf_clear(&out);
	assert_int_equal(hz_codec_encode_ticket_event(&te, HZ_CT_JSON, &out), HZ_OK);
	assert_int_equal(hz_buf_cstr(&out), HZ_OK);
	assert_string_equal((char *)out.data,
			    "{\"eventId\":\"tk-77-3\",\"emittedAt\":\"2026-05-31T23:00:01.250Z\",\"ticket\":"
			    "{\"ticketId\":\"77\",\"kind\":\"KIND_ALARM\",\"state\":\"STATE_CONFIRMED\","
			    "\"level\":\"LEVEL_RED\",\"siteId\":\"site-9\",\"townCode\":\"330102001\","
			    "\"countyCode\":\"330102\",\"hazardType\":\"smoke\",\"tier\":\"TIER_COUNTY\","
			    "\"openedAt\":\"2026-05-31T22:59:00Z\",\"updatedAt\":\"2026-05-31T23:00:01.250Z\","
			    "\"deadlineAt\":\"2026-05-31T23:05:00Z\",\"eventCount\":\"3\",\"deviceId\":\"smk-17\","
			    "\"mode\":\"MODE_EXERCISE\"},\"fromState\":\"STATE_DISCOVERED\",\"change\":\"state\","
			    "\"actor\":\"op-duty-3\",\"causeEventId\":\"cmd-0001\"}");
	/* and it reads back through the generic mapping */
	ProtobufCMessage *back = NULL;
	assert_int_equal(hz_json_to_pb(&hazard__v1__ticket_event__descriptor, (char *)out.data, out.len, NULL,
				       0, &back, err, sizeof(err)), HZ_OK);
	Hazard__V1__TicketEvent *tb = (Hazard__V1__TicketEvent *)back;
	assert_true(tb->ticket->ticket_id == 77);
	assert_int_equal(tb->ticket->tier, HAZARD__V1__TIER__TIER_COUNTY);
	assert_int_equal(tb->emitted_at->nanos, 250000000);
	protobuf_c_message_free_unpacked(back, NULL);

	/* a fixed string without its terminator is refused, nothing written */
	memset(te.tk.site_id, 'a', sizeof(te.tk.site_id));
	hz_buf_clear(&out);
	assert_int_equal(hz_codec_encode_ticket_event(&te, HZ_CT_PROTOBUF, &out), HZ_EINVAL);
	assert_int_equal(out.len, 0);
	hz_buf_free(&out);
}

/* Every field of struct hz_ticket survives TicketEvent and back (the
 * outbox replay path): a field added to the struct but not to the
 * message, or read back into the wrong place, fails the comparison. */
static void test_ticket_whole_roundtrip(void **state)
{
	(void)state;
	struct hz_ticket_event te;
	memset(&te, 0, sizeof(te));
	struct hz_ticket *tk = &te.tk;
	snprintf(te.event_id, sizeof(te.event_id), "te-901");
	te.emitted_us = T("2026-06-01T08:00:00Z");
	te.from_state = HZ_STATE_RECTIFYING;
	te.change = "closed";
	te.actor = "p-county-1";
	te.reason = "re-inspected";
	te.cause_event_id = "cmd-901";
	tk->ticket_id = 901;
	tk->kind = HZ_KIND_HAZARD;
	tk->state = HZ_STATE_CLOSED;
	tk->level = HZ_LEVEL_ORANGE;
	tk->tier = HZ_TIER_TOWN;
	tk->mode = HZ_MODE_TEST;
	snprintf(tk->site_id, sizeof(tk->site_id), "site-dh-07");
	snprintf(tk->town_code, sizeof(tk->town_code), "330110004");
	snprintf(tk->county_code, sizeof(tk->county_code), "330110");
	snprintf(tk->hazard_type, sizeof(tk->hazard_type), "blocked_exit");
	snprintf(tk->device_id, sizeof(tk->device_id), "dev-1");
	int64_t t0 = T("2026-05-20T09:00:00Z");
	tk->opened_us = t0;
	tk->updated_us = t0 + 11;
	tk->acked_us = t0 + 12;
	tk->deadline_us = t0 + 13;
	tk->closed_us = t0 + 14;
	tk->event_count = 15;
	tk->ack_due_us = t0 + 16;
	tk->escalation_repeat = 17;
	tk->reopened_count = 18;
	tk->rectify_mode = HZ_RECTIFY_BY_DEADLINE;
	tk->assigned_us = t0 + 19;
	tk->rectify_due_us = t0 + 20;
	tk->rectified_us = t0 + 21;
	tk->overdue_us = t0 + 22;
	tk->flapping_us = t0 + 23;
	tk->silenced_count = 24;
	tk->held_count = 25;
	snprintf(tk->acked_by, sizeof(tk->acked_by), "p-grid-1");
	snprintf(tk->assignee, sizeof(tk->assignee), "ms-xianghu");
	snprintf(tk->rectified_by, sizeof(tk->rectified_by), "p-owner-2");
	snprintf(tk->verified_by, sizeof(tk->verified_by), "p-town-3");
	snprintf(tk->closed_by, sizeof(tk->closed_by), "p-town-3");

	struct hz_buf out = HZ_BUF_INIT;
	assert_int_equal(hz_codec_encode_ticket_event(&te, HZ_CT_PROTOBUF, &out), HZ_OK);
	struct hz_ticket_event back;
	struct hz_ticket_event_strings strs;
	assert_int_equal(hz_codec_decode_ticket_event(out.data, out.len, &back, &strs), HZ_OK);
	assert_memory_equal(&back.tk, tk, sizeof(*tk));
	assert_string_equal(back.reason, "re-inspected");

	/* the JSON form names them as the contract does */
	hz_buf_clear(&out);
	assert_int_equal(hz_codec_encode_ticket_event(&te, HZ_CT_JSON, &out), HZ_OK);
	assert_int_equal(hz_buf_cstr(&out), HZ_OK);
	const char *js = (const char *)out.data;
	assert_non_null(strstr(js, "\"assignee\":\"ms-xianghu\""));
	assert_non_null(strstr(js, "\"rectifyMode\":\"RECTIFY_MODE_BY_DEADLINE\""));
	assert_non_null(strstr(js, "\"verifiedBy\":\"p-town-3\""));
	assert_non_null(strstr(js, "\"reopenedCount\":18"));

	/* an unterminated person id is refused like any fixed string */
	memset(tk->verified_by, 'v', sizeof(tk->verified_by));
	hz_buf_clear(&out);
	assert_int_equal(hz_codec_encode_ticket_event(&te, HZ_CT_PROTOBUF, &out), HZ_EINVAL);
	hz_buf_free(&out);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(test_protobuf_fields, each),
		cmocka_unit_test_setup(test_json_equals_protobuf, each),
		cmocka_unit_test_setup(test_json_to_pb_pack_roundtrip, each),
		cmocka_unit_test_setup(test_json_names_and_values, each),
		cmocka_unit_test_setup(test_json_type_errors, each),
		cmocka_unit_test_setup(test_json_duplicate_nul_depth, each),
		cmocka_unit_test_setup(test_missing_required, each),
		cmocka_unit_test_setup(test_bad_enum_values, each),
		cmocka_unit_test_setup(test_protobuf_strings, each),
		cmocka_unit_test_setup(test_repeated_limit, each),
		cmocka_unit_test_setup(test_payload_limit_and_truncation, each),
		cmocka_unit_test_setup(test_arena_cap, each),
		cmocka_unit_test_setup(test_nan_inf_is_fault, each),
		cmocka_unit_test_setup(test_timestamps, each),
		cmocka_unit_test_setup(test_auto_detect_and_content_type, each),
		cmocka_unit_test_setup(test_forward_compat_and_rewind, each),
		cmocka_unit_test_setup(test_json_output, each),
		cmocka_unit_test_setup(test_encode_ticket_event, each),
		cmocka_unit_test_setup(test_ticket_whole_roundtrip, each),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
