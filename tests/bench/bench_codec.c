/*
 * bench_codec.c - ns per decode of a ~100-byte SensorReading (protobuf and
 * JSON) and per TicketEvent encode, next to the raw library calls they
 * wrap (protobuf-c unpack with malloc, jansson parse), so the cost of
 * validation is visible as a ratio. Prints the median of 7 runs; asserts
 * nothing about time.
 *
 *   build/bench/bench_codec [iterations per run, default 200000]
 */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "codec/codec.h"
#include "codec/units.h"
#include "google/protobuf/timestamp.pb-c.h"
#include "hazard.pb-c.h"

#define RUNS 7
#define NOW_US (INT64_C(1780272000) * HZ_US_PER_SEC) /* 2026-06-01T00:00:00Z */

static struct hz_codec_limits lim;
static struct hz_arena *arena;
static unsigned char pb[256];
static size_t pb_len;
static const char *js =
	"{\"eventId\":\"gw7-20260531-000123\",\"observedAt\":\"2026-05-31T23:59:00.250Z\","
	"\"deviceId\":\"smk-17-0042\",\"siteId\":\"site-0009\",\"metric\":\"METRIC_SMOKE\","
	"\"value\":3.5,\"unit\":\"%/m\"}";
static struct hz_ticket_event te;
static struct hz_buf out = HZ_BUF_INIT;
static volatile size_t sink;

static int64_t mono_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static void op_decode_pb(void)
{
	struct hz_event ev;
	if (hz_codec_decode(HZ_EV_READING, HZ_CT_PROTOBUF, pb, pb_len, &lim, NOW_US, arena, &ev, NULL, 0))
		abort();
	sink += strlen(ev.device_id);
	hz_arena_reset(arena);
}

static void op_decode_pb_units(void)
{
	struct hz_event ev;
	if (hz_codec_decode(HZ_EV_READING, HZ_CT_AUTO, pb, pb_len, &lim, NOW_US, arena, &ev, NULL, 0) ||
	    hz_units_normalise(&ev, NULL, 0))
		abort();
	sink += strlen(ev.device_id);
	hz_arena_reset(arena);
}

static void op_decode_json(void)
{
	struct hz_event ev;
	if (hz_codec_decode(HZ_EV_READING, HZ_CT_JSON, js, strlen(js), &lim, NOW_US, arena, &ev, NULL, 0))
		abort();
	sink += strlen(ev.device_id);
	hz_arena_reset(arena);
}

static void op_raw_unpack(void)
{
	Hazard__V1__SensorReading *m = hazard__v1__sensor_reading__unpack(NULL, pb_len, pb);
	if (!m)
		abort();
	sink += strlen(m->device_id);
	hazard__v1__sensor_reading__free_unpacked(m, NULL);
}

static void op_raw_jansson(void)
{
	json_t *j = json_loadb(js, strlen(js), JSON_REJECT_DUPLICATES, NULL);
	if (!j)
		abort();
	sink += json_object_size(j);
	json_decref(j);
}

static void op_encode_pb(void)
{
	hz_buf_clear(&out);
	if (hz_codec_encode_ticket_event(&te, HZ_CT_PROTOBUF, &out))
		abort();
	sink += out.len;
}

static void op_encode_json(void)
{
	hz_buf_clear(&out);
	if (hz_codec_encode_ticket_event(&te, HZ_CT_JSON, &out))
		abort();
	sink += out.len;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return (x > y) - (x < y);
}

/* Median ns per call over RUNS runs of n calls. */
static double measure(void (*op)(void), long n)
{
	double r[RUNS];
	for (long i = 0; i < n / 10; i++) /* warm caches, the arena's first block, the buffer */
		op();
	for (int k = 0; k < RUNS; k++) {
		int64_t t0 = mono_ns();
		for (long i = 0; i < n; i++)
			op();
		r[k] = (double)(mono_ns() - t0) / (double)n;
	}
	qsort(r, RUNS, sizeof(r[0]), cmp_double);
	return r[RUNS / 2];
}

static void setup(void)
{
	hz_codec_limits_default(&lim);
	arena = hz_arena_new(1 << 20);
	Hazard__V1__SensorReading rd = HAZARD__V1__SENSOR_READING__INIT;
	Google__Protobuf__Timestamp ts = GOOGLE__PROTOBUF__TIMESTAMP__INIT;
	ts.seconds = NOW_US / HZ_US_PER_SEC - 60;
	ts.nanos = 250000000;
	rd.event_id = "gw7-20260531-000123";
	rd.observed_at = &ts;
	rd.device_id = "smk-17-0042";
	rd.site_id = "site-0009";
	rd.metric = HAZARD__V1__METRIC__METRIC_SMOKE;
	rd.value = 3.5;
	rd.unit = "%/m";
	pb_len = hazard__v1__sensor_reading__pack(&rd, pb);

	snprintf(te.event_id, sizeof(te.event_id), "tk-77-3");
	te.emitted_us = NOW_US;
	te.tk.ticket_id = 77;
	te.tk.kind = HZ_KIND_ALARM;
	te.tk.state = HZ_STATE_CONFIRMED;
	te.tk.level = HZ_LEVEL_RED;
	te.tk.tier = HZ_TIER_TOWN;
	snprintf(te.tk.site_id, sizeof(te.tk.site_id), "site-0009");
	snprintf(te.tk.town_code, sizeof(te.tk.town_code), "330102001");
	snprintf(te.tk.county_code, sizeof(te.tk.county_code), "330102");
	snprintf(te.tk.hazard_type, sizeof(te.tk.hazard_type), "smoke");
	snprintf(te.tk.device_id, sizeof(te.tk.device_id), "smk-17-0042");
	te.tk.opened_us = NOW_US - 60 * HZ_US_PER_SEC;
	te.tk.updated_us = NOW_US;
	te.tk.deadline_us = NOW_US + 300 * HZ_US_PER_SEC;
	te.tk.event_count = 3;
	te.from_state = HZ_STATE_DISCOVERED;
	te.change = "state";
	te.actor = "hazardd";
	te.cause_event_id = "gw7-20260531-000123";
}

int main(int argc, char **argv)
{
	long n = argc > 1 ? atol(argv[1]) : 200000;
	if (n <= 0)
		n = 200000;
	setup();
	double dpb = measure(op_decode_pb, n), dpbu = measure(op_decode_pb_units, n);
	double djs = measure(op_decode_json, n);
	double rpb = measure(op_raw_unpack, n), rjs = measure(op_raw_jansson, n);
	double epb = measure(op_encode_pb, n), ejs = measure(op_encode_json, n);
	printf("codec, median of %d runs x %ld calls\n", RUNS, n);
	printf("  decode SensorReading protobuf (%zu B)       %7.0f ns/op   raw protobuf-c unpack+free %5.0f ns  ratio %.2f\n",
	       pb_len, dpb, rpb, dpb / rpb);
	printf("  decode + units protobuf, AUTO (%zu B)       %7.0f ns/op\n", pb_len, dpbu);
	printf("  decode SensorReading JSON (%zu B)          %7.0f ns/op   raw jansson parse+free     %5.0f ns  ratio %.2f\n",
	       strlen(js), djs, rjs, djs / rjs);
	hz_buf_clear(&out);
	hz_codec_encode_ticket_event(&te, HZ_CT_PROTOBUF, &out);
	size_t lpb = out.len;
	hz_buf_clear(&out);
	hz_codec_encode_ticket_event(&te, HZ_CT_JSON, &out);
	printf("  encode TicketEvent protobuf (%zu B)        %7.0f ns/op\n", lpb, epb);
	printf("  encode TicketEvent JSON (%zu B)           %7.0f ns/op\n", out.len, ejs);
	hz_buf_free(&out);
	hz_arena_destroy(arena);
	return 0;
}
