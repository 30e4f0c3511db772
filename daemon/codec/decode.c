/*
 * decode.c - one input payload -> a validated struct hz_event.
 *
 * Path: size cap -> (protobuf) wire pre-scan, protobuf-c unpack into the
 * arena | (JSON) hz_json_to_pb into the arena -> per-message conversion and
 * validation. Both formats meet in the same generated struct, so every
 * rule below is written once. Strings are borrowed from the unpacked
 * struct, never copied again. Nothing here logs or reads the clock.
 */
#include "codec/codec.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "codec/json.h"
#include "codec/pbmeta.h"
#include "codec/wire.h"
#include "google/protobuf/timestamp.pb-c.h"
#include "hazard.pb-c.h"

#define US_PER_DAY (INT64_C(86400) * HZ_US_PER_SEC)

void hz_codec_limits_default(struct hz_codec_limits *lim)
{
	lim->max_payload = 64 * 1024;
	lim->max_string = 4 * 1024;
	lim->max_repeated = 32;
	lim->arena_per_msg = 256 * 1024;
	lim->min_time_us = INT64_C(946684800) * HZ_US_PER_SEC; /* 2000-01-01T00:00:00Z */
	lim->max_future_us = US_PER_DAY;
}

/* ------------------------------------------------------- content types */

enum hz_content_type hz_content_type_parse(const char *mime, size_t len)
{
	static const struct {
		const char *name;
		enum hz_content_type ct;
	} tab[] = {
		{"application/json", HZ_CT_JSON},
		{"application/x-protobuf", HZ_CT_PROTOBUF},
		{"application/protobuf", HZ_CT_PROTOBUF},
		{"application/vnd.google.protobuf", HZ_CT_PROTOBUF},
		{"application/octet-stream", HZ_CT_PROTOBUF},
	};
	if (!mime)
		return HZ_CT_AUTO;
	const char *semi = memchr(mime, ';', len);
	size_t n = semi ? (size_t)(semi - mime) : len;
	while (n > 0 && (*mime == ' ' || *mime == '\t')) {
		mime++;
		n--;
	}
	while (n > 0 && (mime[n - 1] == ' ' || mime[n - 1] == '\t'))
		n--;
	for (size_t i = 0; i < HZ_ARRAY_LEN(tab); i++)
		if (strlen(tab[i].name) == n && strncasecmp(tab[i].name, mime, n) == 0)
			return tab[i].ct;
	return HZ_CT_AUTO;
}

/* ------------------------------------------------------ arena allocator */

/* protobuf-c allocator over the batch arena with a per-message budget.
 * free is a no-op: the arena is rewound or reset as a whole. */
struct arena_alloc {
	ProtobufCAllocator pa;
	struct hz_arena *arena;
	size_t start, cap;
	int why; /* 0, OVER_BUDGET or ARENA_FULL */
};
enum { OVER_BUDGET = 1, ARENA_FULL = 2 };

static void *aa_alloc(void *data, size_t n)
{
	struct arena_alloc *aa = data;
	size_t used = hz_arena_used(aa->arena) - aa->start;
	size_t need = (n + 15) & ~(size_t)15;
	if (need < n || used > aa->cap || need > aa->cap - used) {
		aa->why = OVER_BUDGET;
		return NULL;
	}
	void *p = hz_arena_alloc(aa->arena, n);
	if (!p)
		aa->why = ARENA_FULL;
	return p;
}

static void aa_free(void *data, void *p)
{
	(void)data;
	(void)p;
}

/* --------------------------------------------------------- validation */

struct vctx {
	const struct hz_codec_limits *lim;
	int64_t now_us;
	char *err;
	size_t errlen;
};

__attribute__((format(printf, 2, 3))) static int fail(struct vctx *v, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	if (v->err && v->errlen)
		vsnprintf(v->err, v->errlen, fmt, ap);
	va_end(ap);
	return HZ_EINVAL;
}

static int missing(struct vctx *v, const char *name)
{
	return fail(v, "missing required field \"%s\"", name);
}

/* "2031-01-01T00:00:00Z", with a fraction only when there is one. */
static const char *fmt_time(int64_t us, char *buf)
{
	hz_time_format(us, buf);
	if (us % HZ_US_PER_SEC == 0) {
		buf[19] = 'Z';
		buf[20] = '\0';
	}
	return buf;
}

/* Strings: length and, for ids, the bytes allowed. UTF-8 and NUL were
 * checked before (wire scan for protobuf; jansson for JSON). */
enum str_class {
	S_TEXT,     /* free text, up to max_string */
	S_ID,       /* up to 63 bytes, no control characters */
	S_CODE,     /* up to 31 bytes, no control characters */
	S_TYPE,     /* up to 47 bytes, no control characters */
	S_EVENT_ID, /* up to 63 bytes, printable ASCII without spaces */
};

static int check_str(struct vctx *v, const char *name, const char *s, enum str_class cls)
{
	size_t n = strlen(s);
	size_t max = cls == S_TEXT ? v->lim->max_string
		   : cls == S_CODE ? (size_t)HZ_CODEC_CODE_MAX
		   : cls == S_TYPE ? (size_t)HZ_CODEC_TYPE_MAX
				   : (size_t)HZ_CODEC_ID_MAX;
	if (cls == S_TEXT && n > max)
		return fail(v, "field \"%s\": %zu bytes, the limit is %zu", name, n, max);
	if (cls != S_TEXT && n > max)
		return fail(v, "field \"%s\": %zu bytes long, the limit for an id is %zu", name, n, max);
	if (cls == S_TEXT)
		return HZ_OK;
	/* Eight bytes a step while all are printable ASCII: no high bit, no
	 * 0x7f (the only byte that +1 sets the high bit of), none below the
	 * class's lowest. Anything else (UTF-8 in an id, a bad byte) is left
	 * to the byte loop, which says what and where. */
	const uint64_t ones = UINT64_C(0x0101010101010101), highs = UINT64_C(0x8080808080808080);
	const uint64_t low = ones * (cls == S_EVENT_ID ? 0x21 : 0x20);
	size_t i = 0;
	for (; n - i >= 8; i += 8) {
		uint64_t w;
		memcpy(&w, s + i, 8);
		if ((w & highs) || ((w + ones) & highs) || ((w - low) & ~w & highs))
			break;
	}
	for (; i < n; i++) {
		unsigned char ch = (unsigned char)s[i];
		if (cls == S_EVENT_ID && (ch <= 0x20 || ch >= 0x7f))
			return fail(v, "field \"%s\": byte 0x%02x at offset %zu is not printable ASCII",
				    name, ch, i);
		if (ch < 0x20 || ch == 0x7f)
			return fail(v, "field \"%s\": control character 0x%02x at offset %zu", name, ch, i);
	}
	return HZ_OK;
}

static int req_str(struct vctx *v, const char *name, const char *s, enum str_class cls,
		   const char **out)
{
	if (!s || !*s)
		return missing(v, name);
	*out = s;
	return check_str(v, name, s, cls);
}

static int opt_str(struct vctx *v, const char *name, const char *s, enum str_class cls,
		   const char **out)
{
	*out = s ? s : "";
	return check_str(v, name, *out, cls);
}

static int str_list(struct vctx *v, const char *name, char **arr, size_t n, enum str_class cls,
		    struct hz_strv *out)
{
	if (n > v->lim->max_repeated)
		return fail(v, "field \"%s\": more than %zu items", name, v->lim->max_repeated);
	for (size_t i = 0; i < n; i++) {
		char item[80];
		snprintf(item, sizeof(item), "%s[%zu]", name, i);
		if (!arr[i] || (cls != S_TEXT && !*arr[i]))
			return fail(v, "field \"%s\": empty string", item);
		if (check_str(v, item, arr[i], cls))
			return HZ_EINVAL;
	}
	out->v = (const char **)arr;
	out->n = n;
	return HZ_OK;
}

static int check_enum(struct vctx *v, const char *name, const ProtobufCEnumDescriptor *ed, int value)
{
	if (!protobuf_c_enum_descriptor_get_value(ed, value))
		return fail(v, "field \"%s\": unknown enum value %d", name, value);
	return HZ_OK;
}

static const char *enum_name(const ProtobufCEnumDescriptor *ed, int value)
{
	const ProtobufCEnumValue *e = protobuf_c_enum_descriptor_get_value(ed, value);
	return e ? e->name : "?";
}

/* A Timestamp -> µs, checked against the schema's range and min_time. */
static int get_time(struct vctx *v, const char *name, const Google__Protobuf__Timestamp *ts,
		    int64_t *us)
{
	char tb[HZ_TIME_BUFLEN], mb[HZ_TIME_BUFLEN];
	if (!hz_pb_ts_valid(ts))
		return fail(v, "field \"%s\": timestamp out of range", name);
	*us = ts->seconds * HZ_US_PER_SEC + ts->nanos / 1000;
	if (*us < v->lim->min_time_us)
		return fail(v, "%s %s is before %s", name, fmt_time(*us, tb),
			    fmt_time(v->lim->min_time_us, mb));
	return HZ_OK;
}

static int opt_time(struct vctx *v, const char *name, const Google__Protobuf__Timestamp *ts,
		    int64_t *us)
{
	*us = 0;
	return ts ? get_time(v, name, ts, us) : HZ_OK;
}

/* The source timestamp: required, and not further ahead than the skew. */
static int src_time(struct vctx *v, const char *name, const Google__Protobuf__Timestamp *ts,
		    int64_t *us)
{
	if (!ts)
		return missing(v, name);
	if (get_time(v, name, ts, us))
		return HZ_EINVAL;
	int64_t ahead = *us - v->now_us;
	if (ahead > v->lim->max_future_us) {
		char tb[HZ_TIME_BUFLEN];
		fmt_time(*us, tb);
		if (ahead >= 2 * US_PER_DAY)
			return fail(v, "%s %s is %lld days in the future", name, tb,
				    (long long)(ahead / US_PER_DAY));
		return fail(v, "%s %s is %lld seconds in the future", name, tb,
			    (long long)(ahead / HZ_US_PER_SEC));
	}
	return HZ_OK;
}

static int get_mode(struct vctx *v, int mode, enum hz_mode *out)
{
	if (check_enum(v, "mode", &hazard__v1__mode__descriptor, mode))
		return HZ_EINVAL;
	*out = (enum hz_mode)mode;
	return HZ_OK;
}

/* ------------------------------------------------------- per message */

static int conv_reading(struct vctx *v, const Hazard__V1__SensorReading *m, struct hz_event *ev)
{
	if (req_str(v, "event_id", m->event_id, S_EVENT_ID, &ev->event_id) ||
	    src_time(v, "observed_at", m->observed_at, &ev->at_us) ||
	    req_str(v, "device_id", m->device_id, S_ID, &ev->device_id) ||
	    opt_str(v, "site_id", m->site_id, S_ID, &ev->site_id) ||
	    check_enum(v, "metric", &hazard__v1__metric__descriptor, (int)m->metric))
		return HZ_EINVAL;
	if (m->metric == HAZARD__V1__METRIC__METRIC_UNSPECIFIED)
		return missing(v, "metric");
	if (opt_str(v, "unit", m->unit, S_TEXT, &ev->u.reading.unit) || get_mode(v, (int)m->mode, &ev->mode))
		return HZ_EINVAL;
	ev->u.reading.metric = (enum hz_metric)m->metric;
	ev->u.reading.value = m->value;
	if (isfinite(m->value))
		return HZ_OK;
	fail(v, "field \"value\": reading is %s", isnan(m->value) ? "NaN" : "infinite");
	return HZ_EFAULTVAL;
}

static int conv_status(struct vctx *v, const Hazard__V1__DeviceStatus *m, struct hz_event *ev)
{
	if (req_str(v, "event_id", m->event_id, S_EVENT_ID, &ev->event_id) ||
	    src_time(v, "observed_at", m->observed_at, &ev->at_us) ||
	    req_str(v, "device_id", m->device_id, S_ID, &ev->device_id) ||
	    check_enum(v, "state", &hazard__v1__device_state__descriptor, (int)m->state))
		return HZ_EINVAL;
	if (m->state == HAZARD__V1__DEVICE_STATE__DEVICE_STATE_UNSPECIFIED)
		return missing(v, "state");
	if (m->battery_pct > 100)
		return fail(v, "field \"battery_pct\": %u is more than 100", (unsigned)m->battery_pct);
	if (opt_str(v, "detail", m->detail, S_TEXT, &ev->u.status.detail) ||
	    get_mode(v, (int)m->mode, &ev->mode))
		return HZ_EINVAL;
	ev->u.status.state = (enum hz_device_state)m->state;
	ev->u.status.battery_pct = m->battery_pct;
	return HZ_OK;
}

static int conv_report(struct vctx *v, const Hazard__V1__HazardReport *m, struct hz_event *ev)
{
	if (req_str(v, "event_id", m->event_id, S_EVENT_ID, &ev->event_id) ||
	    src_time(v, "observed_at", m->observed_at, &ev->at_us) ||
	    req_str(v, "site_id", m->site_id, S_ID, &ev->site_id) ||
	    opt_str(v, "town_code", m->town_code, S_CODE, &ev->town_code) ||
	    opt_str(v, "inspector_id", m->inspector_id, S_ID, &ev->u.report.inspector_id) ||
	    check_enum(v, "category", &hazard__v1__hazard_category__descriptor, (int)m->category))
		return HZ_EINVAL;
	if (m->category == HAZARD__V1__HAZARD_CATEGORY__HAZARD_CATEGORY_UNSPECIFIED)
		return missing(v, "category");
	if (check_enum(v, "level", &hazard__v1__level__descriptor, (int)m->level) ||
	    opt_str(v, "description", m->description, S_TEXT, &ev->u.report.description) ||
	    str_list(v, "photo_urls", m->photo_urls, m->n_photo_urls, S_TEXT, &ev->u.report.photo_urls) ||
	    get_mode(v, (int)m->mode, &ev->mode))
		return HZ_EINVAL;
	ev->u.report.category = (int)m->category;
	ev->u.report.level = (enum hz_level)m->level;
	ev->u.report.supervised = m->supervised != 0;
	return HZ_OK;
}

static int conv_warning(struct vctx *v, const Hazard__V1__Warning *m, struct hz_event *ev)
{
	const ProtobufCEnumDescriptor *td = &hazard__v1__warning_type__descriptor;
	if (req_str(v, "event_id", m->event_id, S_EVENT_ID, &ev->event_id) ||
	    src_time(v, "sent_at", m->sent_at, &ev->at_us) ||
	    req_str(v, "warning_id", m->warning_id, S_ID, &ev->u.warning.warning_id) ||
	    check_enum(v, "type", td, (int)m->type))
		return HZ_EINVAL;
	if (m->type == HAZARD__V1__WARNING_TYPE__WARNING_TYPE_UNSPECIFIED)
		return missing(v, "type");
	if (str_list(v, "references", m->references, m->n_references, S_ID, &ev->u.warning.references) ||
	    str_list(v, "area_codes", m->area_codes, m->n_area_codes, S_CODE, &ev->u.warning.area_codes))
		return HZ_EINVAL;
	if (m->n_area_codes == 0)
		return missing(v, "area_codes");
	if (opt_str(v, "hazard_type", m->hazard_type, S_TYPE, &ev->u.warning.hazard_type) ||
	    check_enum(v, "level", &hazard__v1__level__descriptor, (int)m->level))
		return HZ_EINVAL;
	if (m->level == HAZARD__V1__LEVEL__LEVEL_UNSPECIFIED &&
	    (m->type == HAZARD__V1__WARNING_TYPE__WARNING_TYPE_ALERT ||
	     m->type == HAZARD__V1__WARNING_TYPE__WARNING_TYPE_UPDATE))
		return fail(v, "missing required field \"level\" (required when type is %s)",
			    enum_name(td, (int)m->type));
	if (opt_time(v, "onset", m->onset, &ev->u.warning.onset_us) ||
	    opt_time(v, "expires", m->expires, &ev->u.warning.expires_us) ||
	    opt_str(v, "sender", m->sender, S_TEXT, &ev->u.warning.sender) ||
	    opt_str(v, "headline", m->headline, S_TEXT, &ev->u.warning.headline) ||
	    opt_str(v, "description", m->description, S_TEXT, &ev->u.warning.description) ||
	    get_mode(v, (int)m->mode, &ev->mode))
		return HZ_EINVAL;
	ev->u.warning.type = (enum hz_warning_type)m->type;
	ev->u.warning.level = (enum hz_level)m->level;
	return HZ_OK;
}

static int conv_command(struct vctx *v, const Hazard__V1__Command *m, struct hz_event *ev)
{
	const ProtobufCEnumDescriptor *ad = &hazard__v1__action__descriptor;
	if (req_str(v, "command_id", m->command_id, S_EVENT_ID, &ev->event_id) ||
	    src_time(v, "acted_at", m->acted_at, &ev->at_us) ||
	    req_str(v, "actor_id", m->actor_id, S_ID, &ev->u.command.actor_id) ||
	    check_enum(v, "action", ad, (int)m->action))
		return HZ_EINVAL;
	if (m->action == HAZARD__V1__ACTION__ACTION_UNSPECIFIED)
		return missing(v, "action");
	if (m->ticket_id < 0)
		return fail(v, "field \"ticket_id\": %lld is not a ticket id", (long long)m->ticket_id);
	if (opt_str(v, "silence_target", m->silence_target, S_ID, &ev->u.command.silence_target))
		return HZ_EINVAL;
	if (m->action == HAZARD__V1__ACTION__ACTION_SILENCE) {
		if (m->ticket_id == 0 && !*ev->u.command.silence_target)
			return fail(v, "missing required field \"silence_target\" (or \"ticket_id\") for %s",
				    enum_name(ad, (int)m->action));
	} else if (m->ticket_id == 0) {
		return fail(v, "missing required field \"ticket_id\" (required for %s)",
			    enum_name(ad, (int)m->action));
	}
	if (opt_str(v, "reason", m->reason, S_TEXT, &ev->u.command.reason) ||
	    opt_str(v, "note", m->note, S_TEXT, &ev->u.command.note) ||
	    opt_str(v, "assignee", m->assignee, S_TEXT, &ev->u.command.assignee) ||
	    str_list(v, "evidence_urls", m->evidence_urls, m->n_evidence_urls, S_TEXT,
		     &ev->u.command.evidence_urls) ||
	    check_enum(v, "rectify_mode", &hazard__v1__rectify_mode__descriptor, (int)m->rectify_mode) ||
	    opt_time(v, "due_at", m->due_at, &ev->u.command.due_at_us) ||
	    opt_time(v, "silence_until", m->silence_until, &ev->u.command.silence_until_us) ||
	    get_mode(v, (int)m->mode, &ev->mode))
		return HZ_EINVAL;
	ev->u.command.action = (enum hz_action)m->action;
	ev->u.command.ticket_id = m->ticket_id;
	ev->u.command.rectify_mode = (int)m->rectify_mode;
	return HZ_OK;
}

/* ------------------------------------------------------------- decode */

static const ProtobufCMessageDescriptor *descriptor_of(enum hz_ev_kind kind)
{
	switch (kind) {
	case HZ_EV_READING:
		return &hazard__v1__sensor_reading__descriptor;
	case HZ_EV_STATUS:
		return &hazard__v1__device_status__descriptor;
	case HZ_EV_REPORT:
		return &hazard__v1__hazard_report__descriptor;
	case HZ_EV_WARNING:
		return &hazard__v1__warning__descriptor;
	case HZ_EV_COMMAND:
		return &hazard__v1__command__descriptor;
	case HZ_EV_NONE:
		break;
	}
	return NULL;
}

static bool looks_like_json(const unsigned char *p, size_t len)
{
	for (size_t i = 0; i < len; i++) {
		if (p[i] == ' ' || p[i] == '\t' || p[i] == '\r' || p[i] == '\n')
			continue;
		return p[i] == '{';
	}
	return false;
}

static int convert(struct vctx *v, enum hz_ev_kind kind, const ProtobufCMessage *m,
		   struct hz_event *ev)
{
	switch (kind) {
	case HZ_EV_READING:
		return conv_reading(v, (const Hazard__V1__SensorReading *)m, ev);
	case HZ_EV_STATUS:
		return conv_status(v, (const Hazard__V1__DeviceStatus *)m, ev);
	case HZ_EV_REPORT:
		return conv_report(v, (const Hazard__V1__HazardReport *)m, ev);
	case HZ_EV_WARNING:
		return conv_warning(v, (const Hazard__V1__Warning *)m, ev);
	case HZ_EV_COMMAND:
		return conv_command(v, (const Hazard__V1__Command *)m, ev);
	case HZ_EV_NONE:
		break;
	}
	return HZ_EINVAL;
}

int hz_codec_decode(enum hz_ev_kind kind, enum hz_content_type ct, const void *buf, size_t len,
		    const struct hz_codec_limits *lim, int64_t now_us, struct hz_arena *arena,
		    struct hz_event *ev, char *err, size_t errlen)
{
	struct vctx v = {lim, now_us, err, errlen};
	const ProtobufCMessageDescriptor *d = descriptor_of(kind);
	memset(ev, 0, sizeof(*ev));
	ev->kind = kind;
	ev->event_id = ev->device_id = ev->site_id = ev->town_code = "";
	if (!d)
		return fail(&v, "unknown event kind %d", (int)kind);
	if (len > lim->max_payload)
		return fail(&v, "payload of %zu bytes exceeds the limit of %zu bytes", len,
			    lim->max_payload);
	if (!buf)
		len = 0;
	if (ct == HZ_CT_AUTO)
		ct = looks_like_json(buf, len) ? HZ_CT_JSON : HZ_CT_PROTOBUF;

	struct arena_alloc aa = {{aa_alloc, aa_free, NULL}, arena, hz_arena_mark(arena),
				 lim->arena_per_msg, 0};
	aa.pa.allocator_data = &aa;
	ProtobufCMessage *m = NULL;
	int rc;
	if (ct == HZ_CT_JSON) {
		rc = hz_json_to_pb(d, buf, len, &aa.pa, HZ_JSON_MAX_DEPTH, &m, err, errlen);
	} else {
		rc = hz_wire_scan(d, buf, len, lim->max_string, lim->max_repeated, err, errlen);
		if (rc == HZ_OK) {
			m = protobuf_c_message_unpack(d, &aa.pa, len, buf);
			if (!m)
				rc = fail(&v, "protobuf: malformed %s message", d->short_name);
		}
	}
	if (rc != HZ_OK && aa.why == OVER_BUDGET) {
		rc = fail(&v, "message needs more than %zu bytes of memory to decode", lim->arena_per_msg);
	} else if (rc != HZ_OK && aa.why == ARENA_FULL) {
		hz_errf(err, errlen, "decode arena full");
		rc = HZ_EFULL;
	} else if (rc == HZ_ENOMEM) {
		rc = HZ_EFULL; /* malloc failed inside jansson: err says so */
	}
	if (rc == HZ_OK && !m) {
		fail(&v, "internal error: no message decoded");
		rc = HZ_EINVAL;
	}
	if (rc == HZ_OK)
		rc = convert(&v, kind, m, ev);
	if (rc != HZ_OK && rc != HZ_EFAULTVAL)
		hz_arena_rewind(arena, aa.start);
	return rc;
}
