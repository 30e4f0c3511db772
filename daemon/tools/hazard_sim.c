/*
 * hazard_sim.c - hazard-sim: realistic input traffic for a registry, over
 * MQTT or Kafka, as protobuf or proto3 JSON; a demo feed and a load
 * generator that loses nothing (it waits for every acknowledgement and
 * publishes again what a broker failed).
 *
 * Devices report plausible normal values with noise and rare excursions; a
 * share of them drift into alarm and back (smoke rising, temperature
 * climbing, gas and CO leaks, charger and leakage currents, floods,
 * sprinkler pressure falling), some in other units than the canonical one.
 * Besides readings: device status heartbeats (now and then a low battery,
 * a fault or a tamper) and inspectors' hazard reports. A chosen share is
 * malformed on purpose. Event ids are "<prefix>-<n>", n counting from 0, so
 * a run is reproducible from its options and seed.
 *
 * Not here: reading anything back; judging what the daemon did with it.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <librdkafka/rdkafka.h>
#include <math.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "codec/json.h"
#include "core/buf.h"
#include "core/event.h"
#include "core/hz.h"
#include "core/log.h"
#include "hazard.pb-c.h"
#include "out/out_mqtt.h"
#include "registry/csv.h"

#define CT_PROTO "application/x-protobuf"
#define CT_JSON "application/json"

static const char usage_text[] =
	"usage: hazard-sim [OPTIONS] (--mqtt URL | --kafka BROKERS | --print)\n"
	"\n"
	"Publishes simulated sensor readings, device status heartbeats and hazard\n"
	"reports for a registry. Runs until --count or --duration, or until SIGINT or\n"
	"SIGTERM; then waits for every message to be acknowledged and reports what it\n"
	"sent, what was acknowledged and the rate achieved. Exit status 1 when a message\n"
	"could not be delivered.\n"
	"\n"
	"Where to:\n"
	"  --mqtt URL             MQTT broker (tcp://host:1883), QoS 1, MQTT v5 with a\n"
	"                         content-type and an event-id property; topics\n"
	"                         PREFIX/readings/<site>/<device>, PREFIX/status/<device>,\n"
	"                         PREFIX/reports/<town>\n"
	"  --kafka BROKERS        Kafka bootstrap servers; topics hazard.readings,\n"
	"                         hazard.status, hazard.reports; key = site id; header\n"
	"                         content-type\n"
	"  --print                one line per message on stdout instead:\n"
	"                         topic TAB content-type TAB key TAB payload\n"
	"                         (JSON as is, protobuf in hex)\n"
	"  --topic-prefix P       MQTT topic prefix (default hazard/v1)\n"
	"  --kafka-prefix P       Kafka topic prefix (default hazard: hazard.readings)\n"
	"  --client-id ID         MQTT client id (default hazard-sim-<pid>; \"-out\" is added)\n"
	"  --window N             messages awaiting acknowledgement (default 100; MQTT\n"
	"                         never more than the broker's Receive Maximum)\n"
	"\n"
	"What:\n"
	"  --registry DIR         devices.csv and sites.csv of a registry (deploy/demo/registry)\n"
	"  --devices N            without --registry: N synthetic devices (default 50)\n"
	"  --format proto|json    payload encoding (default proto)\n"
	"  --rate N               messages per second, 0 for as fast as possible (default 100)\n"
	"  --count N              stop after N messages\n"
	"  --duration S           stop after S seconds\n"
	"  --alarm-share F        share of devices that drift into alarm (default 0.02)\n"
	"  --status-share F       share of messages that are device status (default 0.05)\n"
	"  --report-share F       share of messages that are hazard reports (default 0.01)\n"
	"  --malformed-share F    share of messages malformed on purpose (default 0): truncated\n"
	"                         protobuf or JSON, invalid JSON, missing event_id, NaN value,\n"
	"                         unknown device, invalid UTF-8, oversized (100 KiB report)\n"
	"  --seed N               random seed (default 1)\n"
	"  --event-prefix P       event ids are P-<n> (default sim)\n"
	"  --exercise             mark every message MODE_EXERCISE\n"
	"  --quiet                no progress lines on stderr\n"
	"  -h, --help             this text\n";

/* ---- random numbers: splitmix64, reproducible from the seed ---- */

static uint64_t rng_state;

static uint64_t rnd(void)
{
	uint64_t z = (rng_state += UINT64_C(0x9E3779B97F4A7C15));
	z = (z ^ (z >> 30)) * UINT64_C(0xBF58476D1CE4E5B9);
	z = (z ^ (z >> 27)) * UINT64_C(0x94D049BB133111EB);
	return z ^ (z >> 31);
}

static double rnd01(void)
{
	return (double)(rnd() >> 11) / (double)(UINT64_C(1) << 53);
}

static unsigned rndn(unsigned n)
{
	return n ? (unsigned)(rnd() % n) : 0;
}

/* ---- the registry ---- */

/* How each metric behaves: normal band and noise; a rare excursion of up
 * to `bump` that stays below the lowest threshold of deploy/rules.yaml;
 * where an alarm episode peaks (below the base for pressure: it falls)
 * and its step per reading. Peaks cross the red thresholds and stay within
 * the physical ranges of codec/units.c. */
static const struct model {
	enum hz_metric m;
	double base_lo, base_hi, noise, bump, peak, step;
	const char *alt_unit; /* some devices report in this unit */
	double alt_scale, alt_offset;
} models[] = {
	{HZ_METRIC_SMOKE, 0.0, 0.3, 0.05, 1.2, 12.0, 0.8, NULL, 1, 0},
	{HZ_METRIC_TEMPERATURE, 16, 30, 0.4, 12, 95, 5, "degF", 1.8, 32},
	{HZ_METRIC_GAS_LEL, 0, 2, 0.3, 5, 55, 4, NULL, 1, 0},
	{HZ_METRIC_CO, 0, 8, 1, 20, 250, 20, NULL, 1, 0},
	{HZ_METRIC_CHARGER_CURRENT, 0, 5, 0.4, 2, 18, 1.5, NULL, 1, 0},
	{HZ_METRIC_RESIDUAL_CURRENT, 5, 40, 3, 40, 1100, 90, NULL, 1, 0},
	{HZ_METRIC_WATER_LEVEL, -0.5, 0.2, 0.02, 0.2, 2.3, 0.2, "cm", 100, 0},
	{HZ_METRIC_PRESSURE, 0.35, 0.6, 0.01, -0.15, 0.03, -0.04, "kPa", 1000, 0},
};

struct dev {
	char id[64], site[64];
	const struct model *md;
	bool has_range, alt_unit, drifter;
	double lo, hi, base;
	uint32_t n;          /* readings so far */
	uint32_t offset;     /* where in its alarm cycle it starts */
	uint32_t battery;
};

struct site {
	char id[64], town[32];
};

static struct dev *devs;
static size_t ndevs;
static struct site *sites;
static size_t nsites;

static const struct model *model_of(enum hz_metric m)
{
	for (size_t i = 0; i < HZ_ARRAY_LEN(models); i++)
		if (models[i].m == m)
			return &models[i];
	return NULL;
}

static void die(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
static void die(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	fputs("hazard-sim: ", stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
	exit(2);
}

/* Read DIR/NAME as CSV: calls row(fields by the wanted column names). */
static void read_csv(const char *dir, const char *name, const char *const *cols, size_t ncols,
		     void (*row)(const char **v))
{
	char path[4096], err[256];
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	FILE *f = fopen(path, "r");
	if (!f)
		die("could not open \"%s\": %s", path, strerror(errno));
	struct hz_csv c;
	hz_csv_init(&c, f);
	int rc = hz_csv_next(&c, err, sizeof(err));
	if (rc != 1)
		die("%s: no header line%s%s", path, rc < 0 ? ": " : "", rc < 0 ? err : "");
	size_t idx[16];
	for (size_t k = 0; k < ncols; k++) {
		idx[k] = SIZE_MAX;
		for (size_t i = 0; i < c.nfields; i++)
			if (strcmp(hz_csv_field(&c, i), cols[k]) == 0)
				idx[k] = i;
		if (idx[k] == SIZE_MAX)
			die("%s: no column \"%s\"", path, cols[k]);
	}
	while ((rc = hz_csv_next(&c, err, sizeof(err))) == 1) {
		const char *v[16];
		for (size_t k = 0; k < ncols; k++)
			v[k] = hz_csv_field(&c, idx[k]);
		row(v);
	}
	if (rc < 0)
		die("%s:%ld: %s", path, c.record_line, err);
	hz_csv_free(&c);
	fclose(f);
}

static void site_row(const char **v)
{
	struct site *s = realloc(sites, (nsites + 1) * sizeof(*s));
	if (!s)
		die("out of memory");
	sites = s;
	snprintf(sites[nsites].id, sizeof(sites[nsites].id), "%s", v[0]);
	snprintf(sites[nsites].town, sizeof(sites[nsites].town), "%s", v[1]);
	nsites++;
}

static void dev_init(struct dev *d)
{
	const struct model *md = d->md;
	d->base = md->base_lo + (md->base_hi - md->base_lo) * rnd01();
	d->alt_unit = md->alt_unit && rnd01() < 0.2;
	d->battery = 60 + rndn(41);
	d->offset = rndn(1000);
}

static void device_row(const char **v)
{
	const struct model *md = model_of(hz_metric_parse(v[2]));
	if (!md)
		return; /* a metric this simulator does not know */
	struct dev *d = realloc(devs, (ndevs + 1) * sizeof(*d));
	if (!d)
		die("out of memory");
	devs = d;
	d = &devs[ndevs++];
	memset(d, 0, sizeof(*d));
	snprintf(d->id, sizeof(d->id), "%s", v[0]);
	snprintf(d->site, sizeof(d->site), "%s", v[1]);
	d->md = md;
	if (*v[3] && *v[4]) {
		d->has_range = true;
		d->lo = strtod(v[3], NULL);
		d->hi = strtod(v[4], NULL);
	}
	dev_init(d);
}

static void load_registry(const char *dir)
{
	static const char *const scols[] = {"site_id", "town_code"};
	static const char *const dcols[] = {"device_id", "site_id", "metric", "range_min",
					    "range_max"};
	read_csv(dir, "sites.csv", scols, HZ_ARRAY_LEN(scols), site_row);
	read_csv(dir, "devices.csv", dcols, HZ_ARRAY_LEN(dcols), device_row);
	if (!ndevs || !nsites)
		die("registry \"%s\" has no devices or no sites", dir);
}

/* N devices on N/5 sites in 3 towns, metrics weighted like a real estate:
 * mostly smoke detectors. */
static void synthesize(size_t n)
{
	static const enum hz_metric mix[] = {
		HZ_METRIC_SMOKE, HZ_METRIC_SMOKE, HZ_METRIC_SMOKE, HZ_METRIC_TEMPERATURE,
		HZ_METRIC_GAS_LEL, HZ_METRIC_CO, HZ_METRIC_CHARGER_CURRENT,
		HZ_METRIC_RESIDUAL_CURRENT, HZ_METRIC_WATER_LEVEL, HZ_METRIC_PRESSURE};
	nsites = n / 5 + 1;
	sites = calloc(nsites, sizeof(*sites));
	devs = calloc(n, sizeof(*devs));
	if (!sites || !devs)
		die("out of memory");
	for (size_t i = 0; i < nsites; i++) {
		snprintf(sites[i].id, sizeof(sites[i].id), "SITE-SIM-%04zu", i);
		snprintf(sites[i].town, sizeof(sites[i].town), "T-SIM-%zu", i % 3);
	}
	for (size_t i = 0; i < n; i++) {
		struct dev *d = &devs[i];
		snprintf(d->id, sizeof(d->id), "DEV-SIM-%05zu", i);
		snprintf(d->site, sizeof(d->site), "%s", sites[i / 5].id);
		d->md = model_of(mix[i % HZ_ARRAY_LEN(mix)]);
		dev_init(d);
	}
	ndevs = n;
}

/* Pick round(share * n) drifters (at least one when share > 0). */
static size_t choose_drifters(double share)
{
	size_t k = (size_t)llround(share * (double)ndevs);
	if (share > 0 && k == 0)
		k = 1;
	if (k > ndevs)
		k = ndevs;
	for (size_t chosen = 0; chosen < k;) {
		struct dev *d = &devs[rndn((unsigned)ndevs)];
		if (!d->drifter) {
			d->drifter = true;
			chosen++;
		}
	}
	return k;
}

/* The next reading of d, in canonical units. A drifter cycles: normal,
 * rising to its peak, holding, falling back. */
static double next_value(struct dev *d)
{
	const struct model *md = d->md;
	double v = d->base + md->noise * (rnd01() * 2 - 1);
	uint32_t n = d->n++;
	if (d->drifter) {
		double span = md->peak - d->base;
		uint32_t ramp = (uint32_t)ceil(fabs(span / md->step)) + 1;
		uint32_t cycle = 6 * ramp, p = (n + d->offset) % cycle;
		double f = p < 3 * ramp   ? 0
			   : p < 4 * ramp ? (double)(p - 3 * ramp) / ramp
			   : p < 5 * ramp ? 1
					  : 1 - (double)(p - 5 * ramp) / ramp;
		v += span * f;
	} else if (rnd01() < 0.002) {
		v += md->bump * rnd01(); /* a brief excursion, below alarm */
	}
	if (d->has_range) {
		v = v < d->lo ? d->lo : v;
		v = v > d->hi ? d->hi : v;
	}
	/* Noise around a zero baseline must not go below what the sensor can
	 * report (obscuration, %LEL, ppm and currents are never negative). */
	if (v < 0 && md->base_lo >= 0)
		v = 0;
	return v;
}

/* ---- messages ---- */

enum msg_kind { M_READING, M_STATUS, M_REPORT, M_NKINDS };
static const char *const kind_names[M_NKINDS] = {"readings", "status", "reports"};

enum bad_kind {
	B_NONE, B_TRUNCATED, B_INVALID_JSON, B_MISSING_ID, B_NAN, B_UNKNOWN_DEVICE,
	B_INVALID_UTF8, B_OVERSIZED, B_NKINDS
};
static const char *const bad_names[B_NKINDS] = {
	"none", "truncated", "invalid_json", "missing_event_id", "nan_value", "unknown_device",
	"invalid_utf8", "oversized"};

struct msg {
	enum msg_kind kind;
	enum bad_kind bad;
	char topic[256];
	char key[64];
	char event_id[80];
	const char *ct;
	struct hz_buf payload;
};

struct opts {
	const char *mqtt, *kafka, *registry, *topic_prefix, *kafka_prefix, *client_id;
	const char *event_prefix;
	bool print, json, exercise, quiet;
	double rate, alarm_share, status_share, report_share, malformed_share, duration;
	uint64_t count, seed;
	size_t devices, window;
};

static struct opts opt = {
	.topic_prefix = "hazard/v1",
	.kafka_prefix = "hazard",
	.event_prefix = "sim",
	.rate = 100,
	.alarm_share = 0.02,
	.status_share = 0.05,
	.report_share = 0.01,
	.seed = 1,
	.devices = 50,
	.window = 100,
};

static void set_time(Google__Protobuf__Timestamp *ts, int64_t us)
{
	ts->seconds = us / HZ_US_PER_SEC;
	ts->nanos = (int32_t)(us % HZ_US_PER_SEC) * 1000;
}

static const ProtobufCMessageDescriptor *last_desc; /* of the last message encoded */

static void encode(struct msg *m, const ProtobufCMessage *pb)
{
	last_desc = pb->descriptor;
	hz_buf_clear(&m->payload);
	if (opt.json) {
		if (hz_json_from_pb(pb, &m->payload))
			die("could not encode JSON");
	} else {
		size_t n = protobuf_c_message_get_packed_size(pb);
		if (hz_buf_reserve(&m->payload, n))
			die("out of memory");
		m->payload.len = protobuf_c_message_pack(pb, m->payload.data);
	}
	m->ct = opt.json ? CT_JSON : CT_PROTO;
}

static void make_topic(struct msg *m, const char *a, const char *b)
{
	if (opt.kafka)
		snprintf(m->topic, sizeof(m->topic), "%s.%s", opt.kafka_prefix, kind_names[m->kind]);
	else if (b)
		snprintf(m->topic, sizeof(m->topic), "%s/%s/%s/%s", opt.topic_prefix,
			 kind_names[m->kind], a, b);
	else
		snprintf(m->topic, sizeof(m->topic), "%s/%s/%s", opt.topic_prefix,
			 kind_names[m->kind], a);
}

static Hazard__V1__Mode mode(void)
{
	return opt.exercise ? HAZARD__V1__MODE__MODE_EXERCISE : HAZARD__V1__MODE__MODE_ACTUAL;
}

static void make_reading(struct msg *m, uint64_t n, int64_t now)
{
	struct dev *d = &devs[n % ndevs];
	Hazard__V1__SensorReading r = HAZARD__V1__SENSOR_READING__INIT;
	Google__Protobuf__Timestamp ts = GOOGLE__PROTOBUF__TIMESTAMP__INIT;
	char unknown[64];
	set_time(&ts, now);
	r.event_id = m->event_id;
	r.observed_at = &ts;
	r.device_id = d->id;
	r.site_id = d->site;
	r.metric = (Hazard__V1__Metric)d->md->m;
	r.value = next_value(d);
	if (d->alt_unit && m->bad != B_INVALID_UTF8) {
		r.unit = (char *)d->md->alt_unit;
		r.value = r.value * d->md->alt_scale + d->md->alt_offset;
	}
	r.mode = mode();
	if (m->bad == B_NAN)
		r.value = NAN;
	if (m->bad == B_UNKNOWN_DEVICE) {
		snprintf(unknown, sizeof(unknown), "DEV-UNKNOWN-%" PRIu64, n);
		r.device_id = unknown;
	}
	if (m->bad == B_INVALID_UTF8 && !opt.json)
		r.unit = "\xff\xfe";
	m->kind = M_READING;
	make_topic(m, d->site, r.device_id);
	snprintf(m->key, sizeof(m->key), "%s", d->site);
	encode(m, &r.base);
	if (m->bad == B_INVALID_UTF8 && opt.json && m->payload.len) {
		/* The JSON writer replaces invalid UTF-8, so put it in by hand. */
		m->payload.len--; /* the closing brace */
		hz_buf_append(&m->payload, ",\"unit\":\"\xff\xfe\"}", 15);
	}
}

static void make_status(struct msg *m, uint64_t n, int64_t now)
{
	struct dev *d = &devs[rndn((unsigned)ndevs)];
	Hazard__V1__DeviceStatus s = HAZARD__V1__DEVICE_STATUS__INIT;
	Google__Protobuf__Timestamp ts = GOOGLE__PROTOBUF__TIMESTAMP__INIT;
	(void)n;
	set_time(&ts, now);
	s.event_id = m->event_id;
	s.observed_at = &ts;
	s.device_id = d->id;
	if (d->battery > 5 && rnd01() < 0.05)
		d->battery--;
	s.battery_pct = d->battery;
	double r = rnd01();
	if (r < 0.01) {
		s.state = HAZARD__V1__DEVICE_STATE__DEVICE_STATE_FAULT;
		s.detail = "sensor chamber contaminated";
	} else if (r < 0.015) {
		s.state = HAZARD__V1__DEVICE_STATE__DEVICE_STATE_TAMPER;
		s.detail = "enclosure opened";
	} else if (d->battery < 20) {
		s.state = HAZARD__V1__DEVICE_STATE__DEVICE_STATE_LOW_BATTERY;
	} else {
		s.state = HAZARD__V1__DEVICE_STATE__DEVICE_STATE_HEARTBEAT;
	}
	s.mode = mode();
	m->kind = M_STATUS;
	make_topic(m, d->id, NULL);
	snprintf(m->key, sizeof(m->key), "%s", d->site);
	encode(m, &s.base);
}

static void make_report(struct msg *m, uint64_t n, int64_t now)
{
	static const char *const what[] = {
		NULL,
		"escape stairwell door chained shut",
		"three e-bikes charging in the ground-floor corridor",
		"extinguishers past their inspection date on floors 2-4",
		"extension leads daisy-chained behind the kitchen",
		"gas hose perished at the cooker connection",
		"paint thinners stored under the staircase",
		"sprinkler valve closed, alarm panel showing faults",
		"delivery vans parked across the fire lane",
		"workers sleeping above the workshop floor",
		"emergency lighting not working",
	};
	static char big[100 * 1024 + 1];
	const struct site *st = &sites[rndn((unsigned)nsites)];
	Hazard__V1__HazardReport r = HAZARD__V1__HAZARD_REPORT__INIT;
	Google__Protobuf__Timestamp ts = GOOGLE__PROTOBUF__TIMESTAMP__INIT;
	char inspector[64], photo[2][128];
	char *photos[2] = {photo[0], photo[1]};
	(void)n;
	set_time(&ts, now - (int64_t)rndn(600) * HZ_US_PER_SEC);
	r.event_id = m->event_id;
	r.observed_at = &ts;
	r.site_id = (char *)st->id;
	r.town_code = (char *)st->town;
	snprintf(inspector, sizeof(inspector), "INS-%s-%02u", st->town, rndn(8) + 1);
	r.inspector_id = inspector;
	r.category = (Hazard__V1__HazardCategory)(rndn(10) + 1);
	r.level = rnd01() < 0.5 ? HAZARD__V1__LEVEL__LEVEL_UNSPECIFIED
				: (Hazard__V1__Level)(rndn(4) + 1);
	r.description = (char *)what[r.category];
	r.n_photo_urls = rndn(3);
	for (size_t i = 0; i < r.n_photo_urls; i++)
		snprintf(photo[i], sizeof(photo[i]), "https://photos.example/%s/%s-%zu.jpg", st->id,
			 m->event_id, i);
	r.photo_urls = photos;
	r.supervised = rnd01() < 0.3;
	r.mode = mode();
	if (m->bad == B_OVERSIZED) {
		if (!big[0])
			memset(big, 'x', sizeof(big) - 1);
		r.description = big;
	}
	m->kind = M_REPORT;
	make_topic(m, st->town, NULL);
	snprintf(m->key, sizeof(m->key), "%s", st->id);
	encode(m, &r.base);
}

/* Message n. */
static void make_msg(struct msg *m, uint64_t n)
{
	int64_t now = hz_now_us();
	m->bad = B_NONE;
	if (opt.malformed_share > 0 && rnd01() < opt.malformed_share)
		m->bad = (enum bad_kind)(1 + rndn(B_NKINDS - 1));
	snprintf(m->event_id, sizeof(m->event_id), "%s-%" PRIu64, opt.event_prefix, n);
	if (m->bad == B_MISSING_ID)
		m->event_id[0] = 0;
	double r = rnd01();
	if (m->bad == B_OVERSIZED)
		make_report(m, n, now);
	else if (m->bad != B_NONE || r >= opt.status_share + opt.report_share)
		make_reading(m, n, now);
	else if (r < opt.status_share)
		make_status(m, n, now);
	else
		make_report(m, n, now);

	switch (m->bad) {
	case B_TRUNCATED:
		if (opt.json) {
			m->payload.len /= 2;
			break;
		}
		/* Cut inside a field, never at a boundary between two (that
		 * would be a valid shorter message): shorten until it no longer
		 * parses. */
		while (m->payload.len > 1) {
			m->payload.len--;
			ProtobufCMessage *u = protobuf_c_message_unpack(last_desc, NULL, m->payload.len,
									 m->payload.data);
			if (!u)
				break;
			protobuf_c_message_free_unpacked(u, NULL);
		}
		break;
	case B_INVALID_JSON:
		hz_buf_clear(&m->payload);
		hz_buf_appendf(&m->payload, "{\"eventId\": \"%s\", \"deviceId\": oops", m->event_id);
		m->ct = CT_JSON;
		break;
	default:
		break;
	}
}

/* ---- sending ---- */

struct counts {
	uint64_t sent, acked, failed_attempts, lost;
	uint64_t by_kind[M_NKINDS], by_bad[B_NKINDS];
};

static struct counts cnt;
static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

static void print_msg(const struct msg *m)
{
	fputs(m->topic, stdout);
	printf("\t%s\t%s\t", m->ct, m->key);
	if (strcmp(m->ct, CT_PROTO) == 0) {
		for (size_t i = 0; i < m->payload.len; i++)
			printf("%02x", m->payload.data[i]);
	} else {
		fwrite(m->payload.data, 1, m->payload.len, stdout);
	}
	putchar('\n');
}

/* MQTT: hz_out_mqtt with a pool of slots holding each message until it is
 * acknowledged, so that a failed one is published again. Tag = slot. */
struct mslot {
	struct msg m;
};

static struct hz_out_mqtt *om;
static struct mslot *mslots;
static size_t *mq;        /* slots waiting to be (re)published, FIFO */
static size_t mq_head, mq_n, *mfree, nmfree;

static void mqtt_service(void)
{
	uint64_t tags[256];
	size_t n = hz_out_mqtt_poll_done(om, tags, HZ_ARRAY_LEN(tags));
	for (size_t i = 0; i < n; i++) {
		mfree[nmfree++] = tags[i];
		cnt.acked++;
	}
	n = hz_out_mqtt_poll_failed(om, tags, HZ_ARRAY_LEN(tags));
	for (size_t i = 0; i < n; i++) {
		mq[(mq_head + mq_n++) % opt.window] = tags[i];
		cnt.failed_attempts++;
	}
	while (mq_n) {
		size_t s = mq[mq_head];
		struct msg *m = &mslots[s].m;
		int rc = hz_out_mqtt_publish(om, m->topic, m->payload.data, m->payload.len, m->ct,
					     m->event_id, s);
		if (rc == HZ_EFULL || rc == HZ_ETRANSIENT)
			break;
		if (rc != HZ_OK)
			die("could not publish to \"%s\"", m->topic);
		mq_head = (mq_head + 1) % opt.window;
		mq_n--;
	}
}

static void sleep_us(int64_t us)
{
	struct timespec ts = {(time_t)(us / HZ_US_PER_SEC), (long)(us % HZ_US_PER_SEC) * 1000};
	nanosleep(&ts, NULL);
}

static void mqtt_open(void)
{
	char id[128], err[512];
	if (opt.client_id)
		snprintf(id, sizeof(id), "%s", opt.client_id);
	else
		snprintf(id, sizeof(id), "hazard-sim-%d", (int)getpid());
	struct hz_out_mqtt_config cfg = {.url = opt.mqtt, .client_id = id, .window = opt.window};
	if (!(om = hz_out_mqtt_new(&cfg, err, sizeof(err))))
		die("%s", err);
	mslots = calloc(opt.window, sizeof(*mslots));
	mq = calloc(opt.window, sizeof(*mq));
	mfree = calloc(opt.window, sizeof(*mfree));
	if (!mslots || !mq || !mfree)
		die("out of memory");
	for (size_t i = 0; i < opt.window; i++)
		mfree[nmfree++] = opt.window - 1 - i;
	for (int i = 0; i < 1000 && !hz_out_mqtt_connected(om); i++)
		sleep_us(10000);
	if (!hz_out_mqtt_connected(om))
		die("could not connect to MQTT broker \"%s\" in 10 s", opt.mqtt);
}

static struct msg *mqtt_next_slot(void)
{
	while (!nmfree) {
		mqtt_service();
		if (!nmfree)
			sleep_us(200);
	}
	size_t s = mfree[--nmfree];
	return &mslots[s].m;
}

static void mqtt_submit(struct msg *m)
{
	size_t s = (size_t)((struct mslot *)m - mslots);
	mq[(mq_head + mq_n++) % opt.window] = s;
	mqtt_service();
}

static void mqtt_close(void)
{
	int64_t end = hz_mono_us() + 30 * HZ_US_PER_SEC;
	while (nmfree < opt.window && hz_mono_us() < end) {
		mqtt_service();
		sleep_us(500);
	}
	cnt.lost = opt.window - nmfree;
	hz_out_mqtt_destroy(om);
	for (size_t i = 0; i < opt.window; i++)
		hz_buf_free(&mslots[i].m.payload);
	free(mslots);
	free(mq);
	free(mfree);
}

/* Kafka: librdkafka queues and retries; the delivery report counts. */
static rd_kafka_t *rk;

static void kafka_dr(rd_kafka_t *k, const rd_kafka_message_t *m, void *opaque)
{
	(void)k;
	(void)opaque;
	if (m->err) {
		cnt.lost++;
		fprintf(stderr, "hazard-sim: message to %s lost: %s\n", rd_kafka_topic_name(m->rkt),
			rd_kafka_err2str(m->err));
	} else {
		cnt.acked++;
	}
}

static void kafka_open(void)
{
	char err[512];
	rd_kafka_conf_t *conf = rd_kafka_conf_new();
	if (rd_kafka_conf_set(conf, "bootstrap.servers", opt.kafka, err, sizeof(err)) ||
	    rd_kafka_conf_set(conf, "linger.ms", "5", err, sizeof(err)) ||
	    rd_kafka_conf_set(conf, "enable.idempotence", "true", err, sizeof(err)))
		die("kafka config: %s", err);
	rd_kafka_conf_set_dr_msg_cb(conf, kafka_dr);
	if (!(rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof(err))))
		die("could not create Kafka producer: %s", err);
}

static void kafka_send(const struct msg *m)
{
	for (;;) {
		rd_kafka_resp_err_t e = rd_kafka_producev(
			rk, RD_KAFKA_V_TOPIC(m->topic), RD_KAFKA_V_KEY(m->key, strlen(m->key)),
			RD_KAFKA_V_VALUE(m->payload.data, m->payload.len),
			RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
			RD_KAFKA_V_HEADER("content-type", m->ct, (ssize_t)strlen(m->ct)),
			RD_KAFKA_V_END);
		if (e == RD_KAFKA_RESP_ERR_NO_ERROR)
			break;
		if (e != RD_KAFKA_RESP_ERR__QUEUE_FULL)
			die("could not produce to %s: %s", m->topic, rd_kafka_err2str(e));
		rd_kafka_poll(rk, 10);
	}
	rd_kafka_poll(rk, 0);
}

static void kafka_close(void)
{
	if (rd_kafka_flush(rk, 30000))
		fprintf(stderr, "hazard-sim: %d messages still queued after 30 s\n",
			rd_kafka_outq_len(rk));
	cnt.lost += (uint64_t)rd_kafka_outq_len(rk);
	rd_kafka_destroy(rk);
}

/* ---- main ---- */

static double num_arg(const char *name, const char *s, double lo, double hi)
{
	char *end;
	errno = 0;
	double v = strtod(s, &end);
	if (errno || end == s || *end || !(v >= lo && v <= hi))
		die("invalid value for --%s: \"%s\" (expected %g..%g)", name, s, lo, hi);
	return v;
}

static void parse_args(int argc, char **argv)
{
	enum {
		O_MQTT = 256, O_KAFKA, O_PRINT, O_TOPIC_PREFIX, O_KAFKA_PREFIX, O_CLIENT_ID,
		O_WINDOW, O_REGISTRY, O_DEVICES, O_FORMAT, O_RATE, O_COUNT, O_DURATION,
		O_ALARM, O_STATUS, O_REPORT, O_MALFORMED, O_SEED, O_EVENT_PREFIX, O_EXERCISE,
		O_QUIET
	};
	static const struct option lo[] = {
		{"mqtt", required_argument, NULL, O_MQTT},
		{"kafka", required_argument, NULL, O_KAFKA},
		{"brokers", required_argument, NULL, O_KAFKA},
		{"print", no_argument, NULL, O_PRINT},
		{"topic-prefix", required_argument, NULL, O_TOPIC_PREFIX},
		{"kafka-prefix", required_argument, NULL, O_KAFKA_PREFIX},
		{"client-id", required_argument, NULL, O_CLIENT_ID},
		{"window", required_argument, NULL, O_WINDOW},
		{"registry", required_argument, NULL, O_REGISTRY},
		{"devices", required_argument, NULL, O_DEVICES},
		{"format", required_argument, NULL, O_FORMAT},
		{"rate", required_argument, NULL, O_RATE},
		{"count", required_argument, NULL, O_COUNT},
		{"duration", required_argument, NULL, O_DURATION},
		{"alarm-share", required_argument, NULL, O_ALARM},
		{"status-share", required_argument, NULL, O_STATUS},
		{"report-share", required_argument, NULL, O_REPORT},
		{"malformed-share", required_argument, NULL, O_MALFORMED},
		{"seed", required_argument, NULL, O_SEED},
		{"event-prefix", required_argument, NULL, O_EVENT_PREFIX},
		{"exercise", no_argument, NULL, O_EXERCISE},
		{"quiet", no_argument, NULL, O_QUIET},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	int c;
	while ((c = getopt_long(argc, argv, "h", lo, NULL)) != -1) {
		switch (c) {
		case O_MQTT: opt.mqtt = optarg; break;
		case O_KAFKA: opt.kafka = optarg; break;
		case O_PRINT: opt.print = true; break;
		case O_TOPIC_PREFIX: opt.topic_prefix = optarg; break;
		case O_KAFKA_PREFIX: opt.kafka_prefix = optarg; break;
		case O_CLIENT_ID: opt.client_id = optarg; break;
		case O_WINDOW: opt.window = (size_t)num_arg("window", optarg, 1, 65535); break;
		case O_REGISTRY: opt.registry = optarg; break;
		case O_DEVICES: opt.devices = (size_t)num_arg("devices", optarg, 1, 1e7); break;
		case O_FORMAT:
			if (strcmp(optarg, "json") == 0)
				opt.json = true;
			else if (strcmp(optarg, "proto") == 0 || strcmp(optarg, "protobuf") == 0)
				opt.json = false;
			else
				die("invalid value for --format: \"%s\" (proto or json)", optarg);
			break;
		case O_RATE: opt.rate = num_arg("rate", optarg, 0, 1e9); break;
		case O_COUNT: opt.count = (uint64_t)num_arg("count", optarg, 1, 1e15); break;
		case O_DURATION: opt.duration = num_arg("duration", optarg, 0.001, 1e9); break;
		case O_ALARM: opt.alarm_share = num_arg("alarm-share", optarg, 0, 1); break;
		case O_STATUS: opt.status_share = num_arg("status-share", optarg, 0, 1); break;
		case O_REPORT: opt.report_share = num_arg("report-share", optarg, 0, 1); break;
		case O_MALFORMED:
			opt.malformed_share = num_arg("malformed-share", optarg, 0, 1);
			break;
		case O_SEED: opt.seed = (uint64_t)num_arg("seed", optarg, 0, 1e18); break;
		case O_EVENT_PREFIX: opt.event_prefix = optarg; break;
		case O_EXERCISE: opt.exercise = true; break;
		case O_QUIET: opt.quiet = true; break;
		case 'h': fputs(usage_text, stdout); exit(0);
		default: fputs(usage_text, stderr); exit(2);
		}
	}
	if (optind < argc)
		die("unexpected argument \"%s\" (see --help)", argv[optind]);
	if (!!opt.mqtt + !!opt.kafka + opt.print != 1)
		die("give exactly one of --mqtt URL, --kafka BROKERS, --print (see --help)");
	if (opt.status_share + opt.report_share > 1)
		die("--status-share and --report-share add up to more than 1");
}

int main(int argc, char **argv)
{
	parse_args(argc, argv);
	hz_log_set_level(HZ_LOG_WARN);
	rng_state = opt.seed;
	if (opt.registry)
		load_registry(opt.registry);
	else
		synthesize(opt.devices);
	size_t drifters = choose_drifters(opt.alarm_share);

	struct sigaction sa;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);

	if (opt.mqtt)
		mqtt_open();
	else if (opt.kafka)
		kafka_open();
	if (!opt.quiet)
		fprintf(stderr,
			"hazard-sim: %zu devices on %zu sites, %zu drifting into alarm; %s to %s, "
			"%.0f msg/s%s\n",
			ndevs, nsites, drifters, opt.json ? "JSON" : "protobuf",
			opt.mqtt ? opt.mqtt : opt.kafka ? opt.kafka : "stdout", opt.rate,
			opt.rate > 0 ? "" : " (as fast as possible)");

	struct msg pm = {.payload = HZ_BUF_INIT};
	int64_t t0 = hz_mono_us(), last_report = t0;
	uint64_t n = 0;
	while (!stop && (!opt.count || n < opt.count)) {
		int64_t now = hz_mono_us();
		if (opt.duration > 0 && now - t0 >= (int64_t)(opt.duration * 1e6))
			break;
		if (opt.rate > 0) {
			int64_t due = t0 + (int64_t)((double)n * 1e6 / opt.rate);
			if (due > now + 1000) {
				sleep_us(due - now);
				continue;
			}
		}
		struct msg *m = opt.mqtt ? mqtt_next_slot() : &pm;
		make_msg(m, n);
		cnt.by_kind[m->kind]++;
		cnt.by_bad[m->bad]++;
		if (opt.mqtt)
			mqtt_submit(m);
		else if (opt.kafka)
			kafka_send(m);
		else
			print_msg(m);
		n++;
		cnt.sent = n;
		if (!opt.quiet && now - last_report >= 10 * HZ_US_PER_SEC) {
			last_report = now;
			fprintf(stderr, "hazard-sim: %" PRIu64 " sent, %" PRIu64 " acknowledged\n",
				cnt.sent, opt.print ? cnt.sent : cnt.acked);
		}
	}
	double gen_s = (double)(hz_mono_us() - t0) / 1e6;
	if (opt.mqtt)
		mqtt_close();
	else if (opt.kafka)
		kafka_close();
	else
		cnt.acked = cnt.sent;
	fflush(stdout);
	double all_s = (double)(hz_mono_us() - t0) / 1e6;
	hz_buf_free(&pm.payload);

	char bad[512] = "";
	size_t off = 0;
	for (int b = 1; b < B_NKINDS; b++)
		if (cnt.by_bad[b])
			off += (size_t)snprintf(bad + off, sizeof(bad) - off, "%s%s %" PRIu64,
						off ? ", " : "", bad_names[b], cnt.by_bad[b]);
	uint64_t nbad = cnt.sent - cnt.by_bad[B_NONE];
	fprintf(stderr,
		"hazard-sim: sent %" PRIu64 " (readings %" PRIu64 ", status %" PRIu64
		", reports %" PRIu64 "; malformed %" PRIu64 "%s%s%s), acknowledged %" PRIu64
		", lost %" PRIu64 ", failed and sent again %" PRIu64 "; in %.3f s: %.0f msg/s sent, "
		"%.0f msg/s acknowledged\n",
		cnt.sent, cnt.by_kind[M_READING], cnt.by_kind[M_STATUS], cnt.by_kind[M_REPORT], nbad,
		nbad ? ": " : "", bad, nbad ? "" : "", cnt.acked, cnt.lost, cnt.failed_attempts,
		all_s, gen_s > 0 ? (double)cnt.sent / gen_s : 0.0,
		all_s > 0 ? (double)cnt.acked / all_s : 0.0);
	free(devs);
	free(sites);
	return cnt.acked == cnt.sent && !cnt.lost ? 0 : 1;
}
