/*
 * out_kafka.c - librdkafka producer for outputs; delivery reports are
 * collected into two small rings drained by hz_out_kafka_poll.
 */
#include "out/out_kafka.h"
#include "in/in_kafka.h"
#include "core/log.h"

#include <librdkafka/rdkafka.h>
#include <stdlib.h>
#include <string.h>

#define RING 65536

struct ring {
	uint64_t v[RING];
	size_t head, n;
};

struct hz_out_kafka {
	rd_kafka_t *rk;
	struct ring ok, fail;
	struct hz_out_kafka_stats st;
};

static void push(struct ring *r, uint64_t v)
{
	if (r->n == RING)
		return; /* the outbox re-sends whatever is not confirmed */
	r->v[(r->head + r->n) % RING] = v;
	r->n++;
}

static size_t drain(struct ring *r, uint64_t *out, size_t max)
{
	size_t n = 0;
	while (r->n && n < max) {
		out[n++] = r->v[r->head];
		r->head = (r->head + 1) % RING;
		r->n--;
	}
	return n;
}

static void on_delivery(rd_kafka_t *rk, const rd_kafka_message_t *m, void *opaque)
{
	(void)rk;
	struct hz_out_kafka *o = opaque;
	uint64_t tag = (uint64_t)(uintptr_t)m->_private;
	o->st.in_flight--;
	if (m->err) {
		o->st.failed++;
		hz_warn("kafka: could not deliver to %s: %s", rd_kafka_topic_name(m->rkt),
			rd_kafka_err2str(m->err));
		push(&o->fail, tag);
	} else {
		o->st.delivered++;
		push(&o->ok, tag);
	}
}

struct hz_out_kafka *hz_out_kafka_new(const struct hz_config *cfg, char *err, size_t errlen)
{
	struct hz_out_kafka *o = calloc(1, sizeof(*o));
	if (!o) {
		hz_errf(err, errlen, "out of memory");
		return NULL;
	}
	rd_kafka_conf_t *c = rd_kafka_conf_new();
	char e[512];
	const char *kv[][2] = {{"bootstrap.servers", cfg->kafka_brokers},
			       {"client.id", "hazardd-out"},
			       {"enable.idempotence", "true"},
			       {"linger.ms", "5"},
			       {"message.timeout.ms", "30000"}};
	for (size_t i = 0; i < HZ_ARRAY_LEN(kv); i++)
		if (rd_kafka_conf_set(c, kv[i][0], kv[i][1], e, sizeof(e)) != RD_KAFKA_CONF_OK) {
			hz_errf(err, errlen, "kafka producer: %s: %s", kv[i][0], e);
			goto fail;
		}
	if (hz_kafka_conf_apply(c, cfg, err, errlen))
		goto fail;
	rd_kafka_conf_set_opaque(c, o);
	rd_kafka_conf_set_dr_msg_cb(c, on_delivery);
	o->rk = rd_kafka_new(RD_KAFKA_PRODUCER, c, e, sizeof(e));
	if (!o->rk) {
		hz_errf(err, errlen, "could not create the Kafka producer: %s", e);
		free(o);
		return NULL;
	}
	return o;
fail:
	rd_kafka_conf_destroy(c);
	free(o);
	return NULL;
}

int hz_out_kafka_publish(struct hz_out_kafka *o, const char *topic, const char *key,
			 const void *payload, size_t len, const char *content_type,
			 const char *event_id, const char *const *headers, uint64_t tag)
{
	rd_kafka_headers_t *h = rd_kafka_headers_new(8);
	if (content_type)
		rd_kafka_header_add(h, "content-type", -1, content_type, -1);
	if (event_id)
		rd_kafka_header_add(h, "event-id", -1, event_id, -1);
	for (const char *const *p = headers; p && p[0] && p[1]; p += 2)
		rd_kafka_header_add(h, p[0], -1, p[1], -1);
	rd_kafka_resp_err_t e = rd_kafka_producev(
		o->rk, RD_KAFKA_V_TOPIC(topic), RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
		RD_KAFKA_V_KEY(key, key ? strlen(key) : 0),
		RD_KAFKA_V_VALUE((void *)(uintptr_t)payload, len), RD_KAFKA_V_HEADERS(h),
		RD_KAFKA_V_OPAQUE((void *)(uintptr_t)tag), RD_KAFKA_V_END);
	if (e) {
		rd_kafka_headers_destroy(h); /* not taken on failure */
		if (e == RD_KAFKA_RESP_ERR__QUEUE_FULL)
			return HZ_EFULL;
		hz_warn("kafka: could not produce to %s: %s", topic, rd_kafka_err2str(e));
		return HZ_ERR;
	}
	o->st.produced++;
	o->st.in_flight++;
	return HZ_OK;
}

void hz_out_kafka_poll(struct hz_out_kafka *o, uint64_t *ok, size_t *n_ok, uint64_t *fail,
		       size_t *n_fail, size_t max)
{
	rd_kafka_poll(o->rk, 0);
	*n_ok = drain(&o->ok, ok, max);
	*n_fail = drain(&o->fail, fail, max);
}

void hz_out_kafka_stats(const struct hz_out_kafka *o, struct hz_out_kafka_stats *st)
{
	*st = o->st;
}

void hz_out_kafka_flush(struct hz_out_kafka *o, int timeout_ms)
{
	if (o)
		rd_kafka_flush(o->rk, timeout_ms);
}

void hz_out_kafka_destroy(struct hz_out_kafka *o)
{
	if (!o)
		return;
	rd_kafka_destroy(o->rk);
	free(o);
}
