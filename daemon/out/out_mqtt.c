/*
 * out_mqtt.c - the MQTT output sink (see out_mqtt.h): a Paho MQTTAsync
 * publisher with a fixed window of slots, one per publish awaiting its
 * PUBACK. A slot holds the caller's tag until the result is polled, so the
 * result queues can never hold more than the window.
 *
 * The client starts clean and keeps no session: when the connection drops,
 * Paho fails every publish in flight at once (onFailure5) instead of
 * resending them on a later connection, and the pipeline re-publishes from
 * its outbox. Paho's callbacks only move slots between lists under our
 * lock; they never wait.
 *
 * Not here: encoding (codec/), choosing topics, the outbox (store/).
 */
#include "out/out_mqtt.h"

#include <MQTTAsync.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/log.h"

enum slot_state { SLOT_FREE, SLOT_INFLIGHT, SLOT_DONE, SLOT_FAILED };

struct slot {
	struct hz_out_mqtt *o;
	uint64_t tag;
	enum slot_state state;
};

/* Slot indices in arrival order; capacity = number of slots. */
struct ring {
	uint32_t *v;
	size_t head, n;
};

struct hz_out_mqtt {
	char *url, *client_id, *username, *password, *ca_file, *cert_file, *key_file;
	bool tls, tls_verify;
	int keepalive_s, reconnect_min_s, reconnect_max_s;
	MQTTAsync cli;

	pthread_mutex_t lock;
	pthread_cond_t cond;       /* a publish completed; the disconnect finished */
	struct slot *slots;
	size_t nslots;
	size_t window;             /* lock; min(nslots, the broker's Receive Maximum) */
	uint32_t *free_stack;
	size_t nfree;
	struct ring done, failed;
	size_t inflight;
	uint64_t published, acked, nfailed;
	bool disc_done;

	atomic_bool connected;
	_Atomic uint64_t connects;
};

static void ring_push(struct ring *r, size_t cap, uint32_t i)
{
	r->v[(r->head + r->n++) % cap] = i;
}

static size_t ring_pop(struct hz_out_mqtt *o, struct ring *r, uint64_t *tags, size_t max)
{
	size_t k = 0;
	pthread_mutex_lock(&o->lock);
	while (k < max && r->n) {
		uint32_t i = r->v[r->head];
		r->head = (r->head + 1) % o->nslots;
		r->n--;
		tags[k++] = o->slots[i].tag;
		o->slots[i].state = SLOT_FREE;
		o->free_stack[o->nfree++] = i;
	}
	pthread_mutex_unlock(&o->lock);
	return k;
}

/* ---- Paho callbacks (Paho's threads) ---- */

static void complete(struct slot *s, bool ok)
{
	struct hz_out_mqtt *o = s->o;
	pthread_mutex_lock(&o->lock);
	if (s->state == SLOT_INFLIGHT) {
		uint32_t i = (uint32_t)(s - o->slots);
		s->state = ok ? SLOT_DONE : SLOT_FAILED;
		ring_push(ok ? &o->done : &o->failed, o->nslots, i);
		o->inflight--;
		if (ok)
			o->acked++;
		else
			o->nfailed++;
		pthread_cond_broadcast(&o->cond);
	}
	pthread_mutex_unlock(&o->lock);
}

static void on_pub_ok(void *ctx, MQTTAsync_successData5 *d)
{
	(void)d;
	complete(ctx, true);
}

static void on_pub_failed(void *ctx, MQTTAsync_failureData5 *d)
{
	struct slot *s = ctx;
	if (d && d->reasonCode >= MQTTREASONCODE_UNSPECIFIED_ERROR)
		hz_warn("MQTT broker refused a publish of \"%s\": %s", s->o->client_id,
			MQTTReasonCode_toString(d->reasonCode));
	complete(s, false);
}

static void on_connected(void *ctx, char *cause)
{
	struct hz_out_mqtt *o = ctx;
	(void)cause;
	atomic_store(&o->connected, true);
	uint64_t n = atomic_fetch_add(&o->connects, 1);
	hz_info("%s MQTT broker \"%s\" as \"%s\"", n ? "reconnected to" : "connected to", o->url,
		o->client_id);
}

static void on_connect_ok(void *ctx, MQTTAsync_successData5 *d)
{
	struct hz_out_mqtt *o = ctx;
	if (!MQTTProperties_hasProperty(&d->properties, MQTTPROPERTY_CODE_RECEIVE_MAXIMUM))
		return;
	int rm = MQTTProperties_getNumericValue(&d->properties, MQTTPROPERTY_CODE_RECEIVE_MAXIMUM);
	pthread_mutex_lock(&o->lock);
	if (rm > 0 && (size_t)rm < o->window) {
		hz_info("MQTT output window %zu lowered to the broker's receive maximum %d",
			o->window, rm);
		o->window = (size_t)rm;
	}
	pthread_mutex_unlock(&o->lock);
}

static void on_connect_failed(void *ctx, MQTTAsync_failureData5 *d)
{
	struct hz_out_mqtt *o = ctx;
	hz_warn("could not connect to MQTT broker \"%s\": %s; retrying", o->url,
		d->message	? d->message
		: d->reasonCode ? MQTTReasonCode_toString(d->reasonCode)
				: MQTTAsync_strerror(d->code));
}

static void on_lost(void *ctx, char *cause)
{
	struct hz_out_mqtt *o = ctx;
	atomic_store(&o->connected, false);
	hz_warn("lost connection to MQTT broker \"%s\" (\"%s\"): %s; reconnecting", o->url,
		o->client_id, cause ? cause : "connection closed");
}

static void on_disconnected(void *ctx, MQTTAsync_successData5 *d)
{
	struct hz_out_mqtt *o = ctx;
	(void)d;
	atomic_store(&o->connected, false);
	pthread_mutex_lock(&o->lock);
	o->disc_done = true;
	pthread_cond_broadcast(&o->cond);
	pthread_mutex_unlock(&o->lock);
}

static void on_disconnect_failed(void *ctx, MQTTAsync_failureData5 *d)
{
	(void)d;
	on_disconnected(ctx, NULL);
}

/* ---- API ---- */

static char *dup_or_null(const char *s)
{
	return s && *s ? strdup(s) : NULL;
}

struct hz_out_mqtt *hz_out_mqtt_new(const struct hz_out_mqtt_config *cfg, char *err,
				    size_t errlen)
{
	if (!cfg->url || !*cfg->url || !cfg->client_id || !*cfg->client_id) {
		hz_errf(err, errlen, "mqtt output needs url and client_id");
		return NULL;
	}
	struct hz_out_mqtt *o = calloc(1, sizeof(*o));
	if (!o) {
		hz_errf(err, errlen, "out of memory");
		return NULL;
	}
	pthread_mutex_init(&o->lock, NULL);
	pthread_condattr_t ca;
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&o->cond, &ca);
	pthread_condattr_destroy(&ca);

	o->url = strdup(cfg->url);
	o->username = dup_or_null(cfg->username);
	o->password = cfg->password ? strdup(cfg->password) : NULL;
	o->ca_file = dup_or_null(cfg->ca_file);
	o->cert_file = dup_or_null(cfg->cert_file);
	o->key_file = dup_or_null(cfg->key_file);
	o->nslots = o->window = cfg->window ? cfg->window : 100;
	if (o->nslots > 65535)
		o->nslots = o->window = 65535; /* MQTT packet ids */
	o->slots = calloc(o->nslots, sizeof(*o->slots));
	o->free_stack = calloc(o->nslots, sizeof(*o->free_stack));
	o->done.v = calloc(o->nslots, sizeof(uint32_t));
	o->failed.v = calloc(o->nslots, sizeof(uint32_t));
	if (!o->url || asprintf(&o->client_id, "%s-out", cfg->client_id) < 0 || !o->slots ||
	    !o->free_stack || !o->done.v || !o->failed.v) {
		hz_errf(err, errlen, "out of memory");
		goto fail;
	}
	for (size_t i = 0; i < o->nslots; i++) {
		o->slots[i].o = o;
		o->free_stack[o->nfree++] = (uint32_t)(o->nslots - 1 - i);
	}
	o->tls = strncmp(o->url, "ssl://", 6) == 0 || strncmp(o->url, "mqtts://", 8) == 0 ||
		 strncmp(o->url, "wss://", 6) == 0;
	o->tls_verify = cfg->tls_verify;
	o->keepalive_s = cfg->keepalive_s > 0 ? cfg->keepalive_s : 30;
	o->reconnect_min_s = cfg->reconnect_min_s > 0 ? cfg->reconnect_min_s : 1;
	o->reconnect_max_s = HZ_MAX(cfg->reconnect_max_s > 0 ? cfg->reconnect_max_s : 30,
				    o->reconnect_min_s);

	MQTTAsync_createOptions cro = MQTTAsync_createOptions_initializer5;
	int rc = MQTTAsync_createWithOptions(&o->cli, o->url, o->client_id,
					     MQTTCLIENT_PERSISTENCE_NONE, NULL, &cro);
	if (rc != MQTTASYNC_SUCCESS) {
		o->cli = NULL;
		hz_errf(err, errlen, "could not create MQTT client for \"%s\": %s", o->url,
			MQTTAsync_strerror(rc));
		goto fail;
	}
	if ((rc = MQTTAsync_setConnectionLostCallback(o->cli, o, on_lost)) ||
	    (rc = MQTTAsync_setConnected(o->cli, o, on_connected))) {
		hz_errf(err, errlen, "could not set MQTT callbacks: %s", MQTTAsync_strerror(rc));
		goto fail;
	}

	MQTTAsync_connectOptions co = MQTTAsync_connectOptions_initializer5;
	MQTTAsync_SSLOptions ssl = MQTTAsync_SSLOptions_initializer;
	co.keepAliveInterval = o->keepalive_s;
	co.cleanstart = 1; /* no session: a lost connection fails what is in flight */
	co.maxInflight = (int)o->nslots;
	co.automaticReconnect = 1;
	co.minRetryInterval = o->reconnect_min_s;
	co.maxRetryInterval = o->reconnect_max_s;
	co.username = o->username;
	co.password = o->password;
	co.onSuccess5 = on_connect_ok;
	co.onFailure5 = on_connect_failed;
	co.context = o;
	if (o->tls) {
		ssl.trustStore = o->ca_file;
		ssl.keyStore = o->cert_file;
		ssl.privateKey = o->key_file;
		ssl.enableServerCertAuth = o->tls_verify;
		ssl.verify = o->tls_verify;
		co.ssl = &ssl;
	}
	if ((rc = MQTTAsync_connect(o->cli, &co)) != MQTTASYNC_SUCCESS) {
		hz_errf(err, errlen, "could not start connecting to MQTT broker \"%s\": %s", o->url,
			MQTTAsync_strerror(rc));
		goto fail;
	}
	return o;
fail:
	hz_out_mqtt_destroy(o);
	return NULL;
}

int hz_out_mqtt_publish(struct hz_out_mqtt *o, const char *topic, const void *payload, size_t len,
			const char *content_type, const char *event_id, uint64_t tag)
{
	if (!atomic_load(&o->connected))
		return HZ_ETRANSIENT;
	if (len > INT32_MAX) {
		hz_err("MQTT output message for \"%s\" too large: %zu bytes", topic, len);
		return HZ_ERR;
	}
	pthread_mutex_lock(&o->lock);
	if (o->inflight >= o->window || o->nfree == 0) {
		pthread_mutex_unlock(&o->lock);
		return HZ_EFULL;
	}
	uint32_t i = o->free_stack[--o->nfree];
	struct slot *s = &o->slots[i];
	s->tag = tag;
	s->state = SLOT_INFLIGHT;
	o->inflight++;
	pthread_mutex_unlock(&o->lock);

	MQTTAsync_message msg = MQTTAsync_message_initializer;
	msg.payload = (void *)payload;
	msg.payloadlen = (int)len;
	msg.qos = 1;
	MQTTProperty pr;
	if (content_type && *content_type) {
		memset(&pr, 0, sizeof(pr));
		pr.identifier = MQTTPROPERTY_CODE_CONTENT_TYPE;
		pr.value.data.data = (char *)content_type;
		pr.value.data.len = (int)strlen(content_type);
		MQTTProperties_add(&msg.properties, &pr); /* copies */
	}
	if (event_id && *event_id) {
		memset(&pr, 0, sizeof(pr));
		pr.identifier = MQTTPROPERTY_CODE_USER_PROPERTY;
		pr.value.data.data = "event-id";
		pr.value.data.len = 8;
		pr.value.value.data = (char *)event_id;
		pr.value.value.len = (int)strlen(event_id);
		MQTTProperties_add(&msg.properties, &pr);
	}
	MQTTAsync_responseOptions ro = MQTTAsync_responseOptions_initializer;
	ro.onSuccess5 = on_pub_ok;
	ro.onFailure5 = on_pub_failed;
	ro.context = s;
	int rc = MQTTAsync_sendMessage(o->cli, topic, &msg, &ro); /* copies topic and payload */
	MQTTProperties_free(&msg.properties);
	if (rc == MQTTASYNC_SUCCESS) {
		pthread_mutex_lock(&o->lock);
		o->published++;
		pthread_mutex_unlock(&o->lock);
		return HZ_OK;
	}
	/* Not queued: no callback will come for this slot. */
	pthread_mutex_lock(&o->lock);
	s->state = SLOT_FREE;
	o->free_stack[o->nfree++] = i;
	o->inflight--;
	pthread_mutex_unlock(&o->lock);
	switch (rc) {
	case MQTTASYNC_DISCONNECTED:
		return HZ_ETRANSIENT;
	case MQTTASYNC_MAX_MESSAGES_INFLIGHT:
	case MQTTASYNC_MAX_BUFFERED_MESSAGES:
		return HZ_EFULL;
	default:
		hz_err("could not publish to MQTT topic \"%s\": %s", topic, MQTTAsync_strerror(rc));
		return HZ_ERR;
	}
}

size_t hz_out_mqtt_poll_done(struct hz_out_mqtt *o, uint64_t *tags, size_t max)
{
	return ring_pop(o, &o->done, tags, max);
}

size_t hz_out_mqtt_poll_failed(struct hz_out_mqtt *o, uint64_t *tags, size_t max)
{
	return ring_pop(o, &o->failed, tags, max);
}

bool hz_out_mqtt_connected(const struct hz_out_mqtt *o)
{
	return atomic_load(&((struct hz_out_mqtt *)o)->connected);
}

void hz_out_mqtt_stats(struct hz_out_mqtt *o, struct hz_out_mqtt_stats *st)
{
	memset(st, 0, sizeof(*st));
	pthread_mutex_lock(&o->lock);
	st->published = o->published;
	st->acked = o->acked;
	st->failed = o->nfailed;
	st->inflight = o->inflight;
	pthread_mutex_unlock(&o->lock);
	st->connects = atomic_load(&o->connects);
	st->connected = atomic_load(&o->connected);
}

static void deadline_in(struct timespec *ts, int ms)
{
	clock_gettime(CLOCK_MONOTONIC, ts);
	ts->tv_sec += ms / 1000;
	ts->tv_nsec += (long)(ms % 1000) * 1000000L;
	if (ts->tv_nsec >= 1000000000L) {
		ts->tv_sec++;
		ts->tv_nsec -= 1000000000L;
	}
}

size_t hz_out_mqtt_flush(struct hz_out_mqtt *o, int timeout_ms)
{
	struct timespec ts;
	deadline_in(&ts, timeout_ms);
	pthread_mutex_lock(&o->lock);
	while (o->inflight && pthread_cond_timedwait(&o->cond, &o->lock, &ts) == 0)
		;
	size_t n = o->inflight;
	pthread_mutex_unlock(&o->lock);
	return n;
}

void hz_out_mqtt_destroy(struct hz_out_mqtt *o)
{
	if (!o)
		return;
	if (o->cli) {
		MQTTAsync_disconnectOptions dopt = MQTTAsync_disconnectOptions_initializer5;
		dopt.timeout = 1000;
		dopt.onSuccess5 = on_disconnected;
		dopt.onFailure5 = on_disconnect_failed;
		dopt.context = o;
		if (MQTTAsync_disconnect(o->cli, &dopt) == MQTTASYNC_SUCCESS) {
			struct timespec ts;
			deadline_in(&ts, 3000);
			pthread_mutex_lock(&o->lock);
			while (!o->disc_done && pthread_cond_timedwait(&o->cond, &o->lock, &ts) == 0)
				;
			pthread_mutex_unlock(&o->lock);
		}
		/* Fails what is still in flight into the slots: free them after. */
		MQTTAsync_destroy(&o->cli);
	}
	free(o->slots);
	free(o->free_stack);
	free(o->done.v);
	free(o->failed.v);
	free(o->url);
	free(o->client_id);
	free(o->username);
	free(o->password);
	free(o->ca_file);
	free(o->cert_file);
	free(o->key_file);
	pthread_cond_destroy(&o->cond);
	pthread_mutex_destroy(&o->lock);
	free(o);
}
