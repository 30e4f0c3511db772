/*
 * in_mqtt.c - the MQTT source (see in_mqtt.h for the contract): Paho
 * callbacks append to the spool, the engine thread reads the spool, a
 * housekeeping thread syncs it and pauses the subscription when the
 * pipeline falls too far behind.
 *
 * Threads: Paho's receive thread runs on_message / on_connected /
 * on_lost; our housekeeping thread runs hk_main; the engine thread calls
 * poll, release and stats. Only the first two call Paho, and neither ever
 * waits for the engine, so no lock order can close a cycle. The one wait
 * inside a callback is for a spool append that fails (disk full): the
 * message is not acknowledged until it is stored.
 *
 * Not here: decoding (codec/), committing positions (store/batch.c).
 */
#include "in/in_mqtt.h"

#include <MQTTAsync.h>
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/log.h"
#include "in/spool.h"

#define N_TOPICS 5
#define SCRATCH 256
#define HK_TICK_MS 100
/* Having waited for a first message, poll waits this much more for a fuller
 * batch: without it a reader as fast as the broker wakes once per message
 * (measured: 1.2 context switches per message, 40 % of the drain rate). */
#define POLL_LINGER_US 1000
#define BLOCKED_LOG_US (10 * HZ_US_PER_SEC)

struct hz_in_mqtt {
	/* config, owned copies */
	char *url, *client_id, *username, *password, *prefix, *spool_dir;
	char *ca_file, *cert_file, *key_file;
	char *source_name;
	char *topics[N_TOPICS];
	int qos[N_TOPICS];
	size_t prefix_len, queue_max, spool_max;
	int sync_ms;
	int keepalive_s, session_expiry_s, reconnect_min_s, reconnect_max_s, receive_max;
	bool tls, tls_verify;

	MQTTAsync cli;
	struct hz_spool *sp;

	/* shared with Paho's threads */
	atomic_bool connected, paused, stopping, blocked, subscribed;
	_Atomic uint64_t received, spool_errors, connects, pauses;
	_Atomic int64_t blocked_logged_us;
	_Atomic int64_t subscribe_us;  /* last subscribe sent */

	/* housekeeping thread */
	pthread_t hk;
	bool hk_running;
	pthread_mutex_t hk_lock;
	pthread_cond_t hk_cond;
	bool hk_stop;            /* hk_lock */
	bool disc_done;          /* hk_lock: the stop's disconnect completed */

	/* engine thread */
	uint64_t recovered_seq, handed_seq, released_seq;
	uint64_t delivered, replayed;
	bool started, stopped, wedged;
	struct hz_spool_rec scratch[SCRATCH];
};

/* ---- topics ---- */

/* Copy one topic level into dst; false when empty or too long. */
static bool take_level(char *dst, const char *s, size_t n)
{
	if (n == 0 || n >= HZ_TOPIC_PARAM_MAX)
		return false;
	memcpy(dst, s, n);
	dst[n] = 0;
	return true;
}

/* Split what follows the prefix into kind and parameters. Any other shape
 * leaves HZ_EV_NONE and empty parameters: the pipeline dead-letters it. */
static void topic_parse(const struct hz_in_mqtt *m, const char *t, size_t tl, struct hz_msg *msg)
{
	msg->kind = HZ_EV_NONE;
	msg->topic_site[0] = msg->topic_device[0] = msg->topic_town[0] = 0;
	if (tl <= m->prefix_len || memcmp(t, m->prefix, m->prefix_len) != 0 ||
	    t[m->prefix_len] != '/' || memchr(t, 0, tl))
		return;
	const char *lv[4];
	size_t ll[4], n = 0;
	const char *p = t + m->prefix_len + 1, *end = t + tl;
	for (;;) {
		const char *slash = memchr(p, '/', (size_t)(end - p));
		const char *e = slash ? slash : end;
		if (n == HZ_ARRAY_LEN(lv))
			return; /* too many levels */
		lv[n] = p;
		ll[n++] = (size_t)(e - p);
		if (!slash)
			break;
		p = slash + 1;
	}
#define IS(i, word) (ll[i] == sizeof(word) - 1 && memcmp(lv[i], word, sizeof(word) - 1) == 0)
	if (IS(0, "readings") && n == 3) {
		if (take_level(msg->topic_site, lv[1], ll[1]) &&
		    take_level(msg->topic_device, lv[2], ll[2]))
			msg->kind = HZ_EV_READING;
	} else if (IS(0, "status") && n == 2) {
		if (take_level(msg->topic_device, lv[1], ll[1]))
			msg->kind = HZ_EV_STATUS;
	} else if (IS(0, "reports") && n == 2) {
		if (take_level(msg->topic_town, lv[1], ll[1]))
			msg->kind = HZ_EV_REPORT;
	} else if (IS(0, "warnings") && n == 1) {
		msg->kind = HZ_EV_WARNING;
	} else if (IS(0, "commands") && n == 1) {
		msg->kind = HZ_EV_COMMAND;
	}
#undef IS
	if (msg->kind == HZ_EV_NONE)
		msg->topic_site[0] = msg->topic_device[0] = msg->topic_town[0] = 0;
}

/* ---- Paho callbacks (Paho's receive thread, Paho's global lock held) ---- */

static void sleep_ms(int ms)
{
	struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

static int on_message(void *ctx, char *topic, int topic_len, MQTTAsync_message *msg)
{
	struct hz_in_mqtt *m = ctx;
	size_t tl = topic_len > 0 ? (size_t)topic_len : strlen(topic);
	enum hz_content_type ct = HZ_CT_AUTO;
	MQTTProperty *p =
		MQTTProperties_getProperty(&msg->properties, MQTTPROPERTY_CODE_CONTENT_TYPE);
	if (p)
		ct = hz_content_type_parse(p->value.data.data, (size_t)p->value.data.len);
	atomic_fetch_add_explicit(&m->received, 1, memory_order_relaxed);
	int64_t now = hz_now_us();
	for (;;) {
		char err[256];
		int rc = hz_spool_append(m->sp, topic, tl, (uint8_t)ct, msg->payload,
					 (size_t)msg->payloadlen, now, NULL, err, sizeof(err));
		if (rc == HZ_OK)
			break;
		atomic_fetch_add(&m->spool_errors, 1);
		if (rc == HZ_EINVAL) {
			/* Larger than MQTT allows; cannot happen with a conforming
			 * broker. Storing it is impossible, so it is dropped. */
			hz_err("dropping MQTT message on \"%.*s\": %s", (int)HZ_MIN(tl, 200),
			       topic, err);
			goto done;
		}
		/* Not stored, so not acknowledged: wait and try again. Paho reads
		 * nothing meanwhile and the broker keeps the rest. */
		int64_t mono = hz_mono_us();
		if (!atomic_exchange(&m->blocked, true) ||
		    mono - atomic_load(&m->blocked_logged_us) > BLOCKED_LOG_US) {
			atomic_store(&m->blocked_logged_us, mono);
			hz_err("could not spool MQTT message, holding its acknowledgement and "
			       "retrying: %s",
			       err);
		}
		sleep_ms(100);
	}
	if (atomic_exchange(&m->blocked, false))
		hz_info("MQTT spool appends work again");
	if (m->sync_ms < 0) {
		char err[256];
		if (hz_spool_sync(m->sp, err, sizeof(err))) {
			atomic_fetch_add(&m->spool_errors, 1);
			hz_err("%s", err);
		}
	}
done:
	MQTTAsync_freeMessage(&msg);
	MQTTAsync_free(topic);
	return 1;
}

static void on_subscribed(void *ctx, MQTTAsync_successData5 *d)
{
	struct hz_in_mqtt *m = ctx;
	bool ok = true;
	for (int i = 0; i < d->alt.sub.reasonCodeCount && i < N_TOPICS; i++) {
		int rc = d->alt.sub.reasonCodeCount > 1 ? (int)d->alt.sub.reasonCodes[i]
							: (int)d->reasonCode;
		if (rc >= MQTTREASONCODE_UNSPECIFIED_ERROR) {
			hz_err("MQTT broker refused the subscription to \"%s\": %s", m->topics[i],
			       MQTTReasonCode_toString((enum MQTTReasonCodes)rc));
			ok = false;
		} else if (rc != 1) {
			hz_warn("MQTT broker granted QoS %d, not 1, for \"%s\"", rc, m->topics[i]);
		}
	}
	atomic_store(&m->subscribed, ok);
	if (ok)
		hz_info("subscribed to %d MQTT topics under \"%s\"", N_TOPICS, m->prefix);
}

static void on_subscribe_failed(void *ctx, MQTTAsync_failureData5 *d)
{
	struct hz_in_mqtt *m = ctx;
	if (atomic_load(&m->stopping) || atomic_load(&m->paused))
		return; /* cancelled by our own disconnect */
	hz_err("could not subscribe to MQTT topics under \"%s\": %s", m->prefix,
	       d->message	 ? d->message
	       : d->reasonCode ? MQTTReasonCode_toString(d->reasonCode)
			       : MQTTAsync_strerror(d->code));
}

static void subscribe(struct hz_in_mqtt *m)
{
	MQTTAsync_responseOptions ro = MQTTAsync_responseOptions_initializer;
	ro.onSuccess5 = on_subscribed;
	ro.onFailure5 = on_subscribe_failed;
	ro.context = m;
	int rc = MQTTAsync_subscribeMany(m->cli, N_TOPICS, m->topics, m->qos, &ro);
	if (rc != MQTTASYNC_SUCCESS)
		hz_err("could not subscribe to MQTT topics under \"%s\": %s", m->prefix,
		       MQTTAsync_strerror(rc));
}

/* Every successful (re)connect: subscribe again. With a session the broker
 * kept, this is idempotent; without one (the broker lost it) it is what
 * makes messages flow again. */
static void on_connected(void *ctx, char *cause)
{
	struct hz_in_mqtt *m = ctx;
	(void)cause;
	atomic_store(&m->connected, true);
	uint64_t n = atomic_fetch_add(&m->connects, 1);
	hz_info("%s MQTT broker \"%s\" as \"%s\"", n ? "reconnected to" : "connected to", m->url,
		m->client_id);
	atomic_store(&m->subscribed, false);
	atomic_store(&m->subscribe_us, hz_mono_us());
	subscribe(m);
}

static void on_connect_ok(void *ctx, MQTTAsync_successData5 *d)
{
	struct hz_in_mqtt *m = ctx;
	if (!d->alt.connect.sessionPresent)
		hz_info("MQTT broker \"%s\" had no session for \"%s\": starting a new one", m->url,
			m->client_id);
}

static void on_connect_failed(void *ctx, MQTTAsync_failureData5 *d)
{
	struct hz_in_mqtt *m = ctx;
	hz_warn("could not connect to MQTT broker \"%s\": %s; retrying", m->url,
		d->message ? d->message
			   : d->reasonCode ? MQTTReasonCode_toString(d->reasonCode)
					   : MQTTAsync_strerror(d->code));
}

static void on_lost(void *ctx, char *cause)
{
	struct hz_in_mqtt *m = ctx;
	atomic_store(&m->connected, false);
	atomic_store(&m->subscribed, false);
	if (!atomic_load(&m->stopping) && !atomic_load(&m->paused))
		hz_warn("lost connection to MQTT broker \"%s\": %s; reconnecting", m->url,
			cause ? cause : "connection closed");
}

static void on_server_disconnect(void *ctx, MQTTProperties *props, enum MQTTReasonCodes rc)
{
	struct hz_in_mqtt *m = ctx;
	(void)props;
	atomic_store(&m->connected, false);
	hz_warn("MQTT broker \"%s\" disconnected \"%s\": %s%s", m->url, m->client_id,
		MQTTReasonCode_toString(rc),
		rc == MQTTREASONCODE_SESSION_TAKEN_OVER ? " (another client uses this client id)"
							: "");
}

static void on_disconnect_done(void *ctx, MQTTAsync_successData5 *d)
{
	struct hz_in_mqtt *m = ctx;
	(void)d;
	atomic_store(&m->connected, false);
	pthread_mutex_lock(&m->hk_lock);
	m->disc_done = true;
	pthread_cond_broadcast(&m->hk_cond);
	pthread_mutex_unlock(&m->hk_lock);
}

static void on_disconnect_failed(void *ctx, MQTTAsync_failureData5 *d)
{
	(void)d;
	on_disconnect_done(ctx, NULL);
}

/* ---- connecting ---- */

static int connect_now(struct hz_in_mqtt *m, char *err, size_t errlen)
{
	MQTTAsync_connectOptions co = MQTTAsync_connectOptions_initializer5;
	MQTTAsync_SSLOptions ssl = MQTTAsync_SSLOptions_initializer;
	MQTTProperties props = MQTTProperties_initializer;
	MQTTProperty pr;
	memset(&pr, 0, sizeof(pr));

	co.keepAliveInterval = m->keepalive_s;
	co.cleanstart = 0; /* resume the session: the broker queued for us */
	co.automaticReconnect = 1;
	co.minRetryInterval = m->reconnect_min_s;
	co.maxRetryInterval = m->reconnect_max_s;
	co.username = m->username;
	co.password = m->password;
	co.onSuccess5 = on_connect_ok;
	co.onFailure5 = on_connect_failed;
	co.context = m;
	pr.identifier = MQTTPROPERTY_CODE_SESSION_EXPIRY_INTERVAL;
	pr.value.integer4 = (unsigned)m->session_expiry_s;
	MQTTProperties_add(&props, &pr);
	if (m->receive_max) {
		memset(&pr, 0, sizeof(pr));
		pr.identifier = MQTTPROPERTY_CODE_RECEIVE_MAXIMUM;
		pr.value.integer2 = (unsigned short)m->receive_max;
		MQTTProperties_add(&props, &pr);
	}
	co.connectProperties = &props;
	if (m->tls) {
		ssl.trustStore = m->ca_file;
		ssl.keyStore = m->cert_file;
		ssl.privateKey = m->key_file;
		ssl.enableServerCertAuth = m->tls_verify;
		ssl.verify = m->tls_verify;
		co.ssl = &ssl;
	}
	int rc = MQTTAsync_connect(m->cli, &co); /* copies what it keeps */
	MQTTProperties_free(&props);
	if (rc != MQTTASYNC_SUCCESS) {
		hz_errf(err, errlen, "could not start connecting to MQTT broker \"%s\": %s", m->url,
			MQTTAsync_strerror(rc));
		return HZ_ERR;
	}
	return HZ_OK;
}

static void disconnect_now(struct hz_in_mqtt *m, int timeout_ms)
{
	MQTTAsync_disconnectOptions dopt = MQTTAsync_disconnectOptions_initializer5;
	dopt.timeout = timeout_ms;
	dopt.onSuccess5 = on_disconnect_done;
	dopt.onFailure5 = on_disconnect_failed;
	dopt.context = m;
	pthread_mutex_lock(&m->hk_lock);
	m->disc_done = false;
	pthread_mutex_unlock(&m->hk_lock);
	/* No session-expiry property: the broker keeps the session and what
	 * arrives for it. */
	int rc = MQTTAsync_disconnect(m->cli, &dopt);
	if (rc != MQTTASYNC_SUCCESS) {
		pthread_mutex_lock(&m->hk_lock);
		m->disc_done = true;
		pthread_mutex_unlock(&m->hk_lock);
	}
}

/* ---- housekeeping thread: sync, flow control ---- */

static void hk_sync(struct hz_in_mqtt *m)
{
	char err[256];
	if (hz_spool_sync(m->sp, err, sizeof(err))) {
		atomic_fetch_add(&m->spool_errors, 1);
		hz_err("%s", err);
	}
}

static void hk_flow(struct hz_in_mqtt *m)
{
	if (atomic_load(&m->blocked))
		return; /* Paho's lock is held by the blocked callback */
	struct hz_spool_stats st;
	hz_spool_stats(m->sp, &st);
	bool paused = atomic_load(&m->paused);
	if (!paused && st.disk_bytes > m->spool_max) {
		atomic_store(&m->paused, true);
		atomic_fetch_add(&m->pauses, 1);
		hz_warn("MQTT source paused: %" PRIu64 " bytes spooled and not committed, over "
			"the limit of %zu; the broker queues meanwhile",
			st.disk_bytes, m->spool_max);
		disconnect_now(m, 0);
	} else if (paused && st.disk_bytes <= m->spool_max / 2) {
		char err[256];
		hz_info("MQTT source resumed: %" PRIu64 " bytes spooled and not committed",
			st.disk_bytes);
		if (connect_now(m, err, sizeof(err)))
			hz_err("%s", err); /* stays paused; tried again next tick */
		else
			atomic_store(&m->paused, false);
	} else if (!paused && atomic_load(&m->connected) && !atomic_load(&m->subscribed)) {
		int64_t now = hz_mono_us();
		if (now - atomic_load(&m->subscribe_us) > 5 * HZ_US_PER_SEC) {
			/* no SUBACK, or a refusal: ask again */
			atomic_store(&m->subscribe_us, now);
			subscribe(m);
		}
	}
}

static void *hk_main(void *arg)
{
	struct hz_in_mqtt *m = arg;
	int tick = m->sync_ms > 0 ? HZ_MIN(m->sync_ms, HK_TICK_MS) : HK_TICK_MS;
	int64_t last_sync = hz_mono_us();
	pthread_mutex_lock(&m->hk_lock);
	while (!m->hk_stop) {
		struct timespec ts;
		clock_gettime(CLOCK_MONOTONIC, &ts);
		ts.tv_nsec += (long)tick * 1000000L;
		if (ts.tv_nsec >= 1000000000L) {
			ts.tv_sec++;
			ts.tv_nsec -= 1000000000L;
		}
		pthread_cond_timedwait(&m->hk_cond, &m->hk_lock, &ts);
		if (m->hk_stop)
			break;
		pthread_mutex_unlock(&m->hk_lock);
		int64_t now = hz_mono_us();
		if (m->sync_ms > 0 && now - last_sync >= (int64_t)m->sync_ms * 1000) {
			last_sync = now;
			hk_sync(m);
		}
		hk_flow(m);
		pthread_mutex_lock(&m->hk_lock);
	}
	pthread_mutex_unlock(&m->hk_lock);
	return NULL;
}

/* ---- public API ---- */

static char *dup_or_null(const char *s)
{
	return s && *s ? strdup(s) : NULL;
}

static void free_strings(struct hz_in_mqtt *m)
{
	char **v[] = {&m->url, &m->client_id, &m->username, &m->password, &m->prefix,
		      &m->spool_dir, &m->ca_file, &m->cert_file, &m->key_file, &m->source_name};
	for (size_t i = 0; i < HZ_ARRAY_LEN(v); i++) {
		free(*v[i]);
		*v[i] = NULL;
	}
	for (int i = 0; i < N_TOPICS; i++)
		free(m->topics[i]);
}

struct hz_in_mqtt *hz_in_mqtt_new(const struct hz_in_mqtt_config *cfg, uint64_t committed_next,
				  char *err, size_t errlen)
{
	if (!cfg->url || !*cfg->url || !cfg->client_id || !*cfg->client_id || !cfg->spool_dir ||
	    !*cfg->spool_dir) {
		hz_errf(err, errlen, "mqtt source needs url, client_id and spool_dir");
		return NULL;
	}
	struct hz_in_mqtt *m = calloc(1, sizeof(*m));
	if (!m) {
		hz_errf(err, errlen, "out of memory");
		return NULL;
	}
	pthread_mutex_init(&m->hk_lock, NULL);
	pthread_condattr_t ca;
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&m->hk_cond, &ca);
	pthread_condattr_destroy(&ca);

	const char *prefix = cfg->topic_prefix && *cfg->topic_prefix ? cfg->topic_prefix
								       : "hazard/v1";
	m->url = strdup(cfg->url);
	m->client_id = strdup(cfg->client_id);
	m->username = dup_or_null(cfg->username);
	m->password = cfg->password ? strdup(cfg->password) : NULL;
	m->prefix = strdup(prefix);
	m->spool_dir = strdup(cfg->spool_dir);
	m->ca_file = dup_or_null(cfg->ca_file);
	m->cert_file = dup_or_null(cfg->cert_file);
	m->key_file = dup_or_null(cfg->key_file);
	if (!m->url || !m->client_id || !m->prefix || !m->spool_dir ||
	    asprintf(&m->source_name, "mqtt-spool:%s", cfg->client_id) < 0) {
		m->source_name = NULL;
		hz_errf(err, errlen, "out of memory");
		goto fail;
	}
	m->prefix_len = strlen(m->prefix);
	while (m->prefix_len > 0 && m->prefix[m->prefix_len - 1] == '/')
		m->prefix[--m->prefix_len] = 0;
	if (m->prefix_len == 0 || strpbrk(m->prefix, "+#")) {
		hz_errf(err, errlen, "invalid MQTT topic prefix \"%s\"", prefix);
		goto fail;
	}
	m->tls = strncmp(m->url, "ssl://", 6) == 0 || strncmp(m->url, "mqtts://", 8) == 0 ||
		 strncmp(m->url, "wss://", 6) == 0;
	m->tls_verify = cfg->tls_verify;
	m->keepalive_s = cfg->keepalive_s > 0 ? cfg->keepalive_s : 30;
	m->session_expiry_s = cfg->session_expiry_s > 0 ? cfg->session_expiry_s : 86400;
	m->queue_max = cfg->queue_max ? cfg->queue_max : 65536;
	m->sync_ms = cfg->sync_interval_ms ? cfg->sync_interval_ms : 100;
	m->receive_max = cfg->receive_max > 0 ? HZ_MIN(cfg->receive_max, 65535) : 0;
	m->reconnect_min_s = cfg->reconnect_min_s > 0 ? cfg->reconnect_min_s : 1;
	m->reconnect_max_s = HZ_MAX(cfg->reconnect_max_s > 0 ? cfg->reconnect_max_s : 30,
				    m->reconnect_min_s);
	size_t seg = cfg->segment_bytes ? cfg->segment_bytes : HZ_SPOOL_SEGMENT_DEFAULT;
	m->spool_max = cfg->spool_max_bytes ? cfg->spool_max_bytes : (size_t)1 << 30;
	if (m->spool_max < 4 * seg) {
		hz_errf(err, errlen, "mqtt spool_max_bytes (%zu) must be at least 4 segments (%zu)",
			m->spool_max, 4 * seg);
		goto fail;
	}

	/* Subscribe one level deeper than the contract (# instead of +/+) so
	 * that a message on a mis-shaped topic reaches us as a dead letter
	 * instead of matching nothing. */
	static const char *const kinds[N_TOPICS] = {"readings/#", "status/#", "reports/#",
						    "warnings/#", "commands/#"};
	bool share = cfg->share_group && *cfg->share_group;
	for (int i = 0; i < N_TOPICS; i++) {
		int rc = share ? asprintf(&m->topics[i], "$share/%s/%s/%s", cfg->share_group,
					  m->prefix, kinds[i])
			       : asprintf(&m->topics[i], "%s/%s", m->prefix, kinds[i]);
		if (rc < 0) {
			m->topics[i] = NULL;
			hz_errf(err, errlen, "out of memory");
			goto fail;
		}
		m->qos[i] = 1;
	}

	struct hz_spool_opts so = {.segment_bytes = seg};
	char why[512];
	m->sp = hz_spool_open(m->spool_dir, &so, committed_next ? committed_next - 1 : 0, why,
			      sizeof(why));
	if (!m->sp) {
		hz_errf(err, errlen, "%s", why);
		goto fail;
	}
	struct hz_spool_stats st;
	hz_spool_stats(m->sp, &st);
	m->recovered_seq = st.recovered_seq;
	m->handed_seq = m->released_seq = st.read_seq;

	MQTTAsync_createOptions cro = MQTTAsync_createOptions_initializer5;
	int rc = MQTTAsync_createWithOptions(&m->cli, m->url, m->client_id,
					     MQTTCLIENT_PERSISTENCE_NONE, NULL, &cro);
	if (rc != MQTTASYNC_SUCCESS) {
		m->cli = NULL;
		hz_errf(err, errlen, "could not create MQTT client for \"%s\": %s", m->url,
			MQTTAsync_strerror(rc));
		goto fail;
	}
	if ((rc = MQTTAsync_setCallbacks(m->cli, m, on_lost, on_message, NULL)) ||
	    (rc = MQTTAsync_setConnected(m->cli, m, on_connected)) ||
	    (rc = MQTTAsync_setDisconnected(m->cli, m, on_server_disconnect))) {
		hz_errf(err, errlen, "could not set MQTT callbacks: %s", MQTTAsync_strerror(rc));
		goto fail;
	}
	return m;
fail:
	hz_in_mqtt_destroy(m);
	return NULL;
}

int hz_in_mqtt_start(struct hz_in_mqtt *m, char *err, size_t errlen)
{
	if (m->started) {
		hz_errf(err, errlen, "mqtt source already started");
		return HZ_ERR;
	}
	m->hk_stop = false;
	if (pthread_create(&m->hk, NULL, hk_main, m)) {
		hz_errf(err, errlen, "could not start the MQTT spool thread");
		return HZ_ERR;
	}
	m->hk_running = true;
	m->started = true;
	if (connect_now(m, err, errlen)) {
		hz_in_mqtt_stop(m);
		return HZ_ERR;
	}
	return HZ_OK;
}

size_t hz_in_mqtt_poll(struct hz_in_mqtt *m, struct hz_msg *out, size_t max, int timeout_ms)
{
	size_t held = (size_t)(m->handed_seq - m->released_seq);
	if (held >= m->queue_max)
		return 0;
	max = HZ_MIN(max, m->queue_max - held);
	size_t n = 0;
	bool waited = false;
	while (n < max) {
		size_t got = hz_spool_read(m->sp, m->scratch, HZ_MIN(max - n, (size_t)SCRATCH));
		if (got == 0) {
			if (n || waited || timeout_ms <= 0 ||
			    !hz_spool_wait(m->sp, max, POLL_LINGER_US, timeout_ms))
				break;
			waited = true;
			continue;
		}
		for (size_t i = 0; i < got; i++) {
			const struct hz_spool_rec *r = &m->scratch[i];
			struct hz_msg *msg = &out[n++];
			msg->source = HZ_SRC_MQTT;
			msg->ct = r->ct <= HZ_CT_JSON ? (enum hz_content_type)r->ct : HZ_CT_AUTO;
			msg->payload = r->payload;
			msg->len = r->len;
			msg->topic = r->topic;
			topic_parse(m, r->topic, r->topic_len, msg);
			msg->partition = 0;
			msg->offset = (int64_t)r->seq;
			msg->received_us = r->received_us;
			if (r->seq <= m->recovered_seq)
				m->replayed++;
			m->handed_seq = r->seq;
		}
		m->delivered += got;
	}
	return n;
}

void hz_in_mqtt_release(struct hz_in_mqtt *m, uint64_t upto_seq)
{
	if (upto_seq > m->handed_seq)
		upto_seq = m->handed_seq;
	if (upto_seq <= m->released_seq)
		return;
	m->released_seq = upto_seq;
	hz_spool_committed(m->sp, upto_seq);
}

const char *hz_in_mqtt_source_name(const struct hz_in_mqtt *m)
{
	return m->source_name;
}

bool hz_in_mqtt_connected(const struct hz_in_mqtt *m)
{
	return atomic_load(&((struct hz_in_mqtt *)m)->connected);
}

void hz_in_mqtt_stats(struct hz_in_mqtt *m, struct hz_in_mqtt_stats *st)
{
	struct hz_spool_stats ss;
	hz_spool_stats(m->sp, &ss);
	memset(st, 0, sizeof(*st));
	st->received = atomic_load(&m->received);
	st->spooled = ss.appends;
	st->delivered = m->delivered;
	st->replayed = m->replayed;
	st->queue_depth = ss.next_seq - 1 > m->handed_seq ? ss.next_seq - 1 - m->handed_seq : 0;
	st->unreleased = m->handed_seq - m->released_seq;
	st->spool_bytes = ss.disk_bytes;
	st->spool_errors = atomic_load(&m->spool_errors);
	st->synced_seq = ss.synced_seq;
	st->connects = atomic_load(&m->connects);
	st->pauses = atomic_load(&m->pauses);
	st->connected = atomic_load(&m->connected);
	st->subscribed = atomic_load(&m->subscribed);
	st->paused = atomic_load(&m->paused);
	st->blocked = atomic_load(&m->blocked);
}

void hz_in_mqtt_stop(struct hz_in_mqtt *m)
{
	if (!m || !m->started || m->stopped)
		return;
	m->stopped = true;
	atomic_store(&m->stopping, true);
	if (m->hk_running) {
		pthread_mutex_lock(&m->hk_lock);
		m->hk_stop = true;
		pthread_cond_broadcast(&m->hk_cond);
		pthread_mutex_unlock(&m->hk_lock);
		pthread_join(m->hk, NULL);
		m->hk_running = false;
	}
	/* A callback stuck on a failed append holds Paho's global lock: any
	 * Paho call would wait for it. Leave the client to the process exit;
	 * the broker redelivers the unacknowledged message. */
	for (int i = 0; i < 30 && atomic_load(&m->blocked); i++)
		sleep_ms(100);
	if (atomic_load(&m->blocked)) {
		hz_err("MQTT source stopped with a message it could not spool; the broker will "
		       "deliver it again");
		m->wedged = true;
		return;
	}
	disconnect_now(m, 1000);
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	ts.tv_sec += 3;
	pthread_mutex_lock(&m->hk_lock);
	while (!m->disc_done)
		if (pthread_cond_timedwait(&m->hk_cond, &m->hk_lock, &ts))
			break;
	pthread_mutex_unlock(&m->hk_lock);
	atomic_store(&m->connected, false);
	hk_sync(m);
}

void hz_in_mqtt_destroy(struct hz_in_mqtt *m)
{
	if (!m)
		return;
	hz_in_mqtt_stop(m);
	if (m->wedged)
		return; /* see hz_in_mqtt_stop: Paho still calls into m */
	if (m->cli)
		MQTTAsync_destroy(&m->cli);
	hz_spool_close(m->sp);
	free_strings(m);
	pthread_cond_destroy(&m->hk_cond);
	pthread_mutex_destroy(&m->hk_lock);
	free(m);
}
