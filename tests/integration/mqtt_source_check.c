/*
 * mqtt_source_check.c - a driver for tests/integration/t_mqtt_source.sh:
 * publishes known messages, receives them through hz_in_mqtt the way the
 * pipeline does (poll, commit, release), and measures backlog drains
 * against a raw Paho subscriber. Prints lines a shell script can check.
 *
 *   pub URL COUNT [-p PREFIX] [-s START] [-w WINDOW]
 *   recv URL -c CLIENT -d SPOOL [-n COMMITTED_NEXT] [-u IDS] [-b COMMIT_EVERY] [-L LAG]
 *        [-S SLEEP_US] [-t TIMEOUT_S] [-I IDLE_MS] [-p PREFIX] [-q]
 *        [-M SPOOL_MAX -G SEGMENT_BYTES -P] [-R RECEIVE_MAX]
 *        (-u IDS: until ids 0..IDS-1 were all seen; -I: or nothing came for IDLE_MS;
 *        -P: commit nothing until the source paused itself for a full spool)
 *   drain URL -c CLIENT -d SPOOL -u COUNT [-p PREFIX]     (through hz_in_mqtt)
 *   raw URL -c CLIENT -u COUNT [-p PREFIX] [-e]           (raw Paho; -e: set up
 *        the session only)
 *   out URL -c CLIENT -u COUNT [-p PREFIX]  publish through hz_out_mqtt to
 *        PREFIX/out/tickets/t<i % 3>, payload "out-<i>", event id "ev-<i>",
 *        re-publishing what fails, until every tag came back done
 *   forget URL -c CLIENT  remove the client's broker session
 *   paho-lock URL        how long another client's Paho call waits while an
 *                        arrival callback is blocked
 *
 * Message i goes to a topic chosen by i % 8 and carries its expectation in
 * the payload: "id=I kind=K site=S device=D town=T ct=C" ("-" for empty).
 */
#include <MQTTAsync.h>
#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "core/log.h"
#include "in/in_mqtt.h"
#include "out/out_mqtt.h"

static const char *url, *client_id, *spool_dir, *prefix = "hazard/v1";
static uint64_t committed_next, until_ids, commit_every = 100, commit_lag, sleep_us;
static unsigned start_id, window = 1000;
static int timeout_s = 60, idle_ms;
static bool quiet, setup_only, hold_until_paused;
static size_t spool_max, segment_bytes = 16 << 20;
static int receive_max;

static void die(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
static void die(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	fprintf(stderr, "mqtt_source_check: ");
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
	exit(2);
}

static double now_s(void)
{
	return (double)hz_mono_us() / 1e6;
}

static void sleep_us_(long us)
{
	struct timespec ts = {us / 1000000, (us % 1000000) * 1000};
	nanosleep(&ts, NULL);
}

/* ---- the test corpus ---- */

static const char *const ct_names[] = {"application/json", "application/x-protobuf", NULL};

static void make_msg(unsigned i, char *topic, size_t tl, char *pl, size_t pll, int *ct)
{
	char site[16] = "-", dev[16] = "-", town[16] = "-";
	const char *kind;
	switch (i % 8) {
	case 0: case 1: case 2: case 3:
		snprintf(site, sizeof(site), "s%u", i % 5);
		snprintf(dev, sizeof(dev), "d%u", i);
		snprintf(topic, tl, "%s/readings/%s/%s", prefix, site, dev);
		kind = "reading";
		break;
	case 4:
		snprintf(dev, sizeof(dev), "d%u", i);
		snprintf(topic, tl, "%s/status/%s", prefix, dev);
		kind = "status";
		break;
	case 5:
		snprintf(town, sizeof(town), "t%u", i % 3);
		snprintf(topic, tl, "%s/reports/%s", prefix, town);
		kind = "report";
		break;
	case 6:
		snprintf(topic, tl, "%s/warnings", prefix);
		kind = "warning";
		break;
	default:
		snprintf(topic, tl, "%s/commands", prefix);
		kind = "command";
		break;
	}
	*ct = (int)(i % 3);
	/* enum hz_content_type: json 2, protobuf 1, auto 0 */
	int want_ct = *ct == 0 ? HZ_CT_JSON : *ct == 1 ? HZ_CT_PROTOBUF : HZ_CT_AUTO;
	snprintf(pl, pll, "id=%u kind=%s site=%s device=%s town=%s ct=%d", i, kind, site, dev,
		 town, want_ct);
}

/* ---- pub ---- */

static atomic_ulong acked, failed;

static void on_pub_ok(void *ctx, MQTTAsync_successData5 *d)
{
	(void)ctx;
	(void)d;
	atomic_fetch_add(&acked, 1);
}

static void on_pub_fail(void *ctx, MQTTAsync_failureData5 *d)
{
	(void)ctx;
	(void)d;
	atomic_fetch_add(&failed, 1);
}

static atomic_int conn_state; /* 0 pending, 1 ok, -1 failed */
static int recv_max = 65535;  /* the broker's Receive Maximum */

static void on_conn_ok(void *ctx, MQTTAsync_successData5 *d)
{
	(void)ctx;
	if (MQTTProperties_hasProperty(&d->properties, MQTTPROPERTY_CODE_RECEIVE_MAXIMUM))
		recv_max = MQTTProperties_getNumericValue(&d->properties,
							  MQTTPROPERTY_CODE_RECEIVE_MAXIMUM);
	atomic_store(&conn_state, 1);
}

static void on_conn_fail(void *ctx, MQTTAsync_failureData5 *d)
{
	(void)ctx;
	fprintf(stderr, "connect failed: %s\n", d->message ? d->message : "?");
	atomic_store(&conn_state, -1);
}

static MQTTAsync connect_client(const char *id, int cleanstart, bool session,
				MQTTAsync_messageArrived *ma, void *ctx)
{
	MQTTAsync cli;
	MQTTAsync_createOptions cro = MQTTAsync_createOptions_initializer5;
	if (MQTTAsync_createWithOptions(&cli, url, id, MQTTCLIENT_PERSISTENCE_NONE, NULL, &cro))
		die("could not create client");
	if (ma && MQTTAsync_setCallbacks(cli, ctx, NULL, ma, NULL))
		die("could not set callbacks");
	MQTTAsync_connectOptions co = MQTTAsync_connectOptions_initializer5;
	MQTTProperties props = MQTTProperties_initializer;
	if (session) {
		MQTTProperty pr;
		memset(&pr, 0, sizeof(pr));
		pr.identifier = MQTTPROPERTY_CODE_SESSION_EXPIRY_INTERVAL;
		pr.value.integer4 = 86400;
		MQTTProperties_add(&props, &pr);
		co.connectProperties = &props;
	}
	co.cleanstart = cleanstart;
	co.keepAliveInterval = 30;
	co.onSuccess5 = on_conn_ok;
	co.onFailure5 = on_conn_fail;
	atomic_store(&conn_state, 0);
	if (MQTTAsync_connect(cli, &co))
		die("could not start connecting");
	MQTTProperties_free(&props);
	for (int i = 0; i < 1000 && atomic_load(&conn_state) == 0; i++)
		sleep_us_(10000);
	if (atomic_load(&conn_state) != 1)
		die("could not connect to %s", url);
	return cli;
}

static int cmd_pub(unsigned count)
{
	MQTTAsync cli = connect_client("hz-check-pub", 1, false, NULL, NULL);
	/* More in flight than the broker's Receive Maximum and Paho queues the
	 * rest and trickles them out (measured: 284 msg/s with 10,000 against
	 * mosquitto's 100, 43,000 msg/s with 100). */
	if (window > (unsigned)recv_max)
		window = (unsigned)recv_max;
	double t0 = now_s();
	for (unsigned k = 0; k < count; k++) {
		unsigned i = start_id + k;
		char topic[128], pl[256];
		int ct;
		make_msg(i, topic, sizeof(topic), pl, sizeof(pl), &ct);
		MQTTAsync_message msg = MQTTAsync_message_initializer;
		msg.payload = pl;
		msg.payloadlen = (int)strlen(pl);
		msg.qos = 1;
		if (ct_names[ct]) {
			MQTTProperty pr;
			memset(&pr, 0, sizeof(pr));
			pr.identifier = MQTTPROPERTY_CODE_CONTENT_TYPE;
			pr.value.data.data = (char *)ct_names[ct];
			pr.value.data.len = (int)strlen(ct_names[ct]);
			MQTTProperties_add(&msg.properties, &pr);
		}
		MQTTAsync_responseOptions ro = MQTTAsync_responseOptions_initializer;
		ro.onSuccess5 = on_pub_ok;
		ro.onFailure5 = on_pub_fail;
		while (k - atomic_load(&acked) - atomic_load(&failed) >= window)
			sleep_us_(200);
		int rc;
		while ((rc = MQTTAsync_sendMessage(cli, topic, &msg, &ro)) ==
			       MQTTASYNC_MAX_BUFFERED_MESSAGES ||
		       rc == MQTTASYNC_MAX_MESSAGES_INFLIGHT)
			sleep_us_(1000);
		MQTTProperties_free(&msg.properties);
		if (rc)
			die("publish %u: %s", i, MQTTAsync_strerror(rc));
	}
	while (atomic_load(&acked) + atomic_load(&failed) < count && now_s() - t0 < timeout_s)
		sleep_us_(1000);
	double dt = now_s() - t0;
	printf("published %u acked %lu failed %lu in %.3f s (%.0f msg/s)\n", count,
	       atomic_load(&acked), atomic_load(&failed), dt, count / dt);
	MQTTAsync_disconnectOptions dopt = MQTTAsync_disconnectOptions_initializer5;
	MQTTAsync_disconnect(cli, &dopt);
	sleep_us_(100000);
	MQTTAsync_destroy(&cli);
	return atomic_load(&acked) == count ? 0 : 1;
}

static double cpu_s(void)
{
	struct rusage ru;
	getrusage(RUSAGE_SELF, &ru);
	return (double)ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 +
	       (double)ru.ru_stime.tv_sec + ru.ru_stime.tv_usec / 1e6;
}

/* CPU and context switches of this process so far, per thread. */
static void print_usage(const char *what, uint64_t n)
{
	struct rusage ru;
	getrusage(RUSAGE_SELF, &ru);
	double cpu = (double)ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 +
		     (double)ru.ru_stime.tv_sec + ru.ru_stime.tv_usec / 1e6;
	printf("usage %s: cpu %.3f s (user %.3f) = %.2f us/msg, voluntary switches %ld "
	       "(%.2f/msg), involuntary %ld\n",
	       what, cpu, (double)ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6,
	       n ? cpu * 1e6 / (double)n : 0.0, ru.ru_nvcsw, n ? (double)ru.ru_nvcsw / (double)n : 0.0,
	       ru.ru_nivcsw);
	/* Per thread, to see who switches. */
	DIR *d = opendir("/proc/self/task");
	struct dirent *de;
	while (d && (de = readdir(d))) {
		if (de->d_name[0] == '.')
			continue;
		char path[300], comm[64] = "?", line[256];
		long vol = -1, inv = -1;
		snprintf(path, sizeof(path), "/proc/self/task/%s/comm", de->d_name);
		FILE *f = fopen(path, "r");
		if (f) {
			if (fgets(comm, sizeof(comm), f))
				comm[strcspn(comm, "\n")] = 0;
			fclose(f);
		}
		snprintf(path, sizeof(path), "/proc/self/task/%s/status", de->d_name);
		if ((f = fopen(path, "r"))) {
			while (fgets(line, sizeof(line), f)) {
				sscanf(line, "voluntary_ctxt_switches: %ld", &vol);
				sscanf(line, "nonvoluntary_ctxt_switches: %ld", &inv);
			}
			fclose(f);
		}
		printf("  thread %-16s voluntary %ld involuntary %ld\n", comm, vol, inv);
	}
	if (d)
		closedir(d);
}

/* ---- recv and drain: through hz_in_mqtt ---- */

static struct hz_in_mqtt *source_start(void)
{
	struct hz_in_mqtt_config cfg = {
		.url = url,
		.client_id = client_id,
		.topic_prefix = prefix,
		.spool_dir = spool_dir,
		.queue_max = 100000,
		.segment_bytes = segment_bytes,
		.spool_max_bytes = spool_max,
		.receive_max = receive_max,
		.sync_interval_ms = getenv("HZ_CHECK_SYNC_MS") ? atoi(getenv("HZ_CHECK_SYNC_MS")) : 0,
	};
	char err[512];
	struct hz_in_mqtt *m = hz_in_mqtt_new(&cfg, committed_next, err, sizeof(err));
	if (!m)
		die("%s", err);
	if (hz_in_mqtt_start(m, err, sizeof(err)))
		die("%s", err);
	double t0 = now_s();
	struct hz_in_mqtt_stats st;
	do { /* a queued backlog may arrive (and pause us) before the SUBACK */
		sleep_us_(10000);
		hz_in_mqtt_stats(m, &st);
		if (now_s() - t0 > 20)
			die("not subscribed after 20 s");
	} while (!st.subscribed && !st.received);
	return m;
}

static const char *kind_name(enum hz_ev_kind k)
{
	static const char *const n[] = {"none", "reading", "status", "report", "warning", "command"};
	return (unsigned)k < HZ_ARRAY_LEN(n) ? n[k] : "?";
}

static const char *dash(const char *s)
{
	return *s ? s : "-";
}

static int cmd_recv(void)
{
	struct hz_in_mqtt *m = source_start();
	printf("READY\n");
	fflush(stdout);
	unsigned char *seen = calloc(until_ids + 1, 1);
	uint64_t distinct = 0, got = 0, bad = 0, since_commit = 0, last_seq = 0;
	static struct hz_msg msgs[256];
	double t0 = now_s(), last_msg = 0;
	bool paused_seen = false;
	while (distinct < until_ids && now_s() - t0 < timeout_s) {
		if (hold_until_paused && !paused_seen) {
			/* Commit nothing until the source pauses itself. */
			struct hz_in_mqtt_stats ps;
			hz_in_mqtt_stats(m, &ps);
			if (ps.paused) {
				paused_seen = true;
				printf("PAUSED spool_bytes=%" PRIu64 " received=%" PRIu64 "\n",
				       ps.spool_bytes, ps.received);
				since_commit = commit_every;
			}
		}
		size_t n = hz_in_mqtt_poll(m, msgs, HZ_ARRAY_LEN(msgs), 100);
		if (n)
			last_msg = now_s();
		else if (idle_ms && last_msg && now_s() - last_msg > idle_ms / 1000.0)
			break;
		for (size_t k = 0; k < n; k++) {
			const struct hz_msg *g = &msgs[k];
			unsigned id;
			char kind[16], site[64], dev[64], town[64];
			int ct;
			const char *p = g->payload;
			if (p[g->len] != 0)
				printf("BAD %" PRId64 " payload not NUL-terminated\n", g->offset);
			if (sscanf(p, "id=%u kind=%15s site=%63s device=%63s town=%63s ct=%d", &id, kind,
				   site, dev, town, &ct) != 6) {
				printf("MSG %" PRId64 " - %s %s\n", g->offset, kind_name(g->kind),
				       g->topic);
				continue;
			}
			if (strcmp(kind, kind_name(g->kind)) || strcmp(site, dash(g->topic_site)) ||
			    strcmp(dev, dash(g->topic_device)) || strcmp(town, dash(g->topic_town)) ||
			    ct != (int)g->ct || g->source != HZ_SRC_MQTT || g->partition != 0 ||
			    g->received_us <= 0) {
				printf("BAD %" PRId64 " id=%u got kind=%s site=%s device=%s town=%s "
				       "ct=%d\n",
				       g->offset, id, kind_name(g->kind), dash(g->topic_site),
				       dash(g->topic_device), dash(g->topic_town), (int)g->ct);
				bad++;
			}
			if (!quiet)
				printf("MSG %" PRId64 " %u %s\n", g->offset, id, kind);
			if (id < until_ids && !seen[id]) {
				seen[id] = 1;
				distinct++;
			}
			if ((uint64_t)g->offset <= last_seq)
				printf("BAD %" PRId64 " out of order after %" PRIu64 "\n", g->offset,
				       last_seq);
			last_seq = (uint64_t)g->offset;
		}
		got += n;
		since_commit += n;
		if ((!hold_until_paused || paused_seen) && since_commit >= commit_every &&
		    last_seq > commit_lag) {
			/* The pipeline's order: the position is durable (here: the
			 * COMMIT line is out) before the source may forget. -L keeps
			 * the last L handed out uncommitted, like batches in flight. */
			printf("COMMIT %" PRIu64 "\n", last_seq - commit_lag);
			fflush(stdout);
			hz_in_mqtt_release(m, last_seq - commit_lag);
			since_commit = 0;
		}
		fflush(stdout);
		if (n && sleep_us)
			sleep_us_((long)sleep_us);
	}
	if (last_seq) {
		printf("COMMIT %" PRIu64 "\n", last_seq);
		fflush(stdout);
		hz_in_mqtt_release(m, last_seq);
	}
	struct hz_in_mqtt_stats st;
	hz_in_mqtt_stats(m, &st);
	printf("DONE got=%" PRIu64 " distinct=%" PRIu64 " bad=%" PRIu64 " received=%" PRIu64
	       " spooled=%" PRIu64 " delivered=%" PRIu64 " replayed=%" PRIu64 " connects=%" PRIu64
	       " pauses=%" PRIu64 "\n",
	       got, distinct, bad, st.received, st.spooled, st.delivered, st.replayed, st.connects,
	       st.pauses);
	fflush(stdout);
	hz_in_mqtt_destroy(m);
	free(seen);
	return (distinct >= until_ids || idle_ms) && bad == 0 ? 0 : 1;
}

static int cmd_drain(void)
{
	double t0 = now_s();
	struct hz_in_mqtt *m = source_start();
	static struct hz_msg msgs[1024];
	uint64_t got = 0;
	double first = 0, last = 0;
	while (got < until_ids && now_s() - t0 < timeout_s) {
		size_t n = hz_in_mqtt_poll(m, msgs, HZ_ARRAY_LEN(msgs), 100);
		if (!n)
			continue;
		/* From the first message's arrival in the Paho callback, which may
		 * be before this loop started, to the last one handed out. */
		if (!got)
			first = now_s() - (double)(hz_now_us() - msgs[0].received_us) / 1e6;
		got += n;
		last = now_s();
		hz_in_mqtt_release(m, (uint64_t)msgs[n - 1].offset);
	}
	struct hz_in_mqtt_stats st;
	hz_in_mqtt_stats(m, &st);
	if (getenv("HZ_CHECK_USAGE"))
		print_usage("source", got);
	double cpu = cpu_s();
	hz_in_mqtt_destroy(m);
	printf("drain source got=%" PRIu64 " first_to_last=%.3f s rate=%.0f msg/s "
	       "(from start %.3f s) cpu=%.2f us/msg spooled=%" PRIu64 "\n",
	       got, last - first, got > 1 ? (got - 1) / (last - first) : 0.0, last - t0,
	       got ? cpu * 1e6 / (double)got : 0.0, st.spooled);
	return got >= until_ids ? 0 : 1;
}

/* ---- raw: the same subscription with nothing behind the callback ---- */

static atomic_ulong raw_got;
static double raw_first, raw_last;

static int raw_arrived(void *ctx, char *topic, int tl, MQTTAsync_message *msg)
{
	(void)ctx;
	(void)tl;
	unsigned long n = atomic_fetch_add(&raw_got, 1) + 1;
	if (n == 1)
		raw_first = now_s();
	raw_last = now_s();
	MQTTAsync_freeMessage(&msg);
	MQTTAsync_free(topic);
	return 1;
}

static atomic_int subacked;

static void on_sub_ok(void *ctx, MQTTAsync_successData5 *d)
{
	(void)ctx;
	(void)d;
	atomic_store(&subacked, 1);
}

static int cmd_raw(void)
{
	double t0 = now_s();
	MQTTAsync cli = connect_client(client_id, 0, true, raw_arrived, NULL);
	char *topics[5];
	int qos[5];
	static const char *const kinds[5] = {"readings/#", "status/#", "reports/#", "warnings/#",
					     "commands/#"};
	for (int i = 0; i < 5; i++) {
		if (asprintf(&topics[i], "%s/%s", prefix, kinds[i]) < 0)
			die("out of memory");
		qos[i] = 1;
	}
	MQTTAsync_responseOptions ro = MQTTAsync_responseOptions_initializer;
	ro.onSuccess5 = on_sub_ok;
	if (MQTTAsync_subscribeMany(cli, 5, topics, qos, &ro))
		die("could not subscribe");
	while (!atomic_load(&subacked))
		sleep_us_(1000);
	if (!setup_only)
		while (atomic_load(&raw_got) < until_ids && now_s() - t0 < timeout_s)
			sleep_us_(1000);
	unsigned long got = atomic_load(&raw_got);
	if (getenv("HZ_CHECK_USAGE") && !setup_only)
		print_usage("raw", got);
	double cpu = cpu_s();
	MQTTAsync_disconnectOptions dopt = MQTTAsync_disconnectOptions_initializer5;
	MQTTAsync_disconnect(cli, &dopt);
	sleep_us_(200000);
	MQTTAsync_destroy(&cli);
	for (int i = 0; i < 5; i++)
		free(topics[i]);
	if (setup_only) {
		printf("session set up for %s\n", client_id);
		return 0;
	}
	printf("drain raw got=%lu first_to_last=%.3f s rate=%.0f msg/s (from start %.3f s) "
	       "cpu=%.2f us/msg\n",
	       got, raw_last - raw_first, got > 1 ? (got - 1) / (raw_last - raw_first) : 0.0,
	       raw_last - t0, got ? cpu * 1e6 / (double)got : 0.0);
	return got >= until_ids ? 0 : 1;
}

/* ---- out: the output sink, the way the pipeline drives it ---- */

static int cmd_out(void)
{
	struct hz_out_mqtt_config cfg = {.url = url, .client_id = client_id, .window = window};
	char err[512];
	struct hz_out_mqtt *o = hz_out_mqtt_new(&cfg, err, sizeof(err));
	if (!o)
		die("%s", err);
	uint64_t n = until_ids, ndone = 0, nfailed = 0, next = 0, etransient = 0, efull = 0;
	unsigned char *done = calloc(n, 1);
	uint64_t *todo = malloc(n * sizeof(*todo)), ntodo = 0; /* failed, to publish again */
	uint64_t tags[256];
	double t0 = now_s();
	while (ndone < n && now_s() - t0 < timeout_s) {
		bool again = ntodo > 0;
		uint64_t i = again ? todo[ntodo - 1] : next;
		if (again || next < n) {
			char topic[256], pl[64], ev[32];
			snprintf(topic, sizeof(topic), "%s/out/tickets/t%" PRIu64, prefix, i % 3);
			snprintf(pl, sizeof(pl), "out-%" PRIu64, i);
			snprintf(ev, sizeof(ev), "ev-%" PRIu64, i);
			int rc = hz_out_mqtt_publish(o, topic, pl, strlen(pl), "application/json", ev, i);
			if (rc == HZ_OK) {
				if (again)
					ntodo--;
				else
					next++;
				continue;
			}
			if (rc == HZ_ETRANSIENT)
				etransient++;
			else if (rc == HZ_EFULL)
				efull++;
			else
				die("publish %" PRIu64 " failed: %d", i, rc);
		}
		size_t k = hz_out_mqtt_poll_done(o, tags, HZ_ARRAY_LEN(tags));
		if (k && !ndone) {
			printf("STARTED\n"); /* for a test that kills the broker mid-stream */
			fflush(stdout);
		}
		for (size_t j = 0; j < k; j++) {
			if (tags[j] >= n || done[tags[j]])
				printf("BAD tag %" PRIu64 " done twice or unknown\n", tags[j]);
			else
				done[tags[j]] = 1, ndone++;
		}
		size_t f = hz_out_mqtt_poll_failed(o, tags, HZ_ARRAY_LEN(tags));
		for (size_t j = 0; j < f; j++)
			todo[ntodo++] = tags[j];
		nfailed += f;
		if (!k && !f)
			sleep_us_(1000);
	}
	struct hz_out_mqtt_stats st;
	hz_out_mqtt_stats(o, &st);
	printf("OUT done=%" PRIu64 " failed=%" PRIu64 " republished=%" PRIu64 " busy=%" PRIu64
	       " disconnected=%" PRIu64 " connects=%" PRIu64 " in %.3f s\n",
	       ndone, nfailed, nfailed, efull, etransient, st.connects, now_s() - t0);
	fflush(stdout);
	hz_out_mqtt_destroy(o);
	free(done);
	free(todo);
	return ndone == n ? 0 : 1;
}

/* ---- paho-lock: the trap behind "never wait in the arrival callback" ---- */

static atomic_int in_callback;

static int slow_arrived(void *ctx, char *topic, int tl, MQTTAsync_message *msg)
{
	(void)ctx;
	(void)tl;
	atomic_store(&in_callback, 1);
	sleep_us_(2000000); /* a callback waiting 2 s for a full queue to drain */
	atomic_store(&in_callback, 2);
	MQTTAsync_freeMessage(&msg);
	MQTTAsync_free(topic);
	return 1;
}

static int cmd_paho_lock(void)
{
	MQTTAsync sub = connect_client("hz-check-lock-sub", 1, false, slow_arrived, NULL);
	char *t = "hz-check/lock";
	int q = 1;
	MQTTAsync_responseOptions ro = MQTTAsync_responseOptions_initializer;
	ro.onSuccess5 = on_sub_ok;
	MQTTAsync_subscribeMany(sub, 1, &t, &q, &ro);
	while (!atomic_load(&subacked))
		sleep_us_(1000);
	MQTTAsync pub = connect_client("hz-check-lock-pub", 1, false, NULL, NULL);
	MQTTAsync_message msg = MQTTAsync_message_initializer;
	msg.payload = "x";
	msg.payloadlen = 1;
	msg.qos = 1;
	MQTTAsync_sendMessage(pub, t, &msg, NULL);
	while (!atomic_load(&in_callback))
		sleep_us_(1000);
	/* Another client, another thread: should not care about sub's callback. */
	double t0 = now_s();
	MQTTAsync_sendMessage(pub, "hz-check/other", &msg, NULL);
	double dt = now_s() - t0;
	printf("paho-lock: MQTTAsync_sendMessage on another client waited %.3f s while an "
	       "arrival callback was blocked (callback %s)\n",
	       dt, atomic_load(&in_callback) == 2 ? "had returned" : "still blocked");
	MQTTAsync_disconnectOptions dopt = MQTTAsync_disconnectOptions_initializer5;
	MQTTAsync_disconnect(pub, &dopt);
	MQTTAsync_disconnect(sub, &dopt);
	sleep_us_(200000);
	MQTTAsync_destroy(&pub);
	MQTTAsync_destroy(&sub);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc < 3)
		die("usage: %s pub|recv|drain|raw|paho-lock URL [options]", argv[0]);
	const char *cmd = argv[1];
	url = argv[2];
	unsigned count = 0;
	int optind_ = 3;
	if (strcmp(cmd, "pub") == 0) {
		if (argc < 4)
			die("pub needs COUNT");
		count = (unsigned)strtoul(argv[3], NULL, 10);
		optind_ = 4;
	}
	optind = optind_;
	int c;
	while ((c = getopt(argc, argv, "c:d:n:u:b:L:S:t:p:s:w:qeI:M:G:PR:")) != -1) {
		switch (c) {
		case 'c': client_id = optarg; break;
		case 'd': spool_dir = optarg; break;
		case 'n': committed_next = strtoull(optarg, NULL, 10); break;
		case 'u': until_ids = strtoull(optarg, NULL, 10); break;
		case 'b': commit_every = strtoull(optarg, NULL, 10); break;
		case 'L': commit_lag = strtoull(optarg, NULL, 10); break;
		case 'S': sleep_us = strtoull(optarg, NULL, 10); break;
		case 't': timeout_s = atoi(optarg); break;
		case 'p': prefix = optarg; break;
		case 's': start_id = (unsigned)strtoul(optarg, NULL, 10); break;
		case 'w': window = (unsigned)strtoul(optarg, NULL, 10); break;
		case 'q': quiet = true; break;
		case 'e': setup_only = true; break;
		case 'I': idle_ms = atoi(optarg); break;
		case 'M': spool_max = strtoull(optarg, NULL, 10); break;
		case 'G': segment_bytes = strtoull(optarg, NULL, 10); break;
		case 'P': hold_until_paused = true; break;
		case 'R': receive_max = atoi(optarg); break;
		default: die("bad option");
		}
	}
	setvbuf(stdout, NULL, _IOFBF, 1 << 16);
	hz_log_set_level(getenv("HZ_CHECK_DEBUG") ? HZ_LOG_DEBUG : HZ_LOG_WARN);
	if (strcmp(cmd, "pub") == 0)
		return cmd_pub(count);
	if (strcmp(cmd, "paho-lock") == 0)
		return cmd_paho_lock();
	if (!client_id)
		die("-c CLIENT is required");
	if (strcmp(cmd, "raw") == 0)
		return cmd_raw();
	if (strcmp(cmd, "out") == 0)
		return cmd_out();
	if (strcmp(cmd, "forget") == 0) {
		/* Clean start and no session expiry: the broker drops the session. */
		MQTTAsync cli = connect_client(client_id, 1, false, NULL, NULL);
		MQTTAsync_disconnectOptions dopt = MQTTAsync_disconnectOptions_initializer5;
		MQTTAsync_disconnect(cli, &dopt);
		sleep_us_(100000);
		MQTTAsync_destroy(&cli);
		return 0;
	}
	if (!spool_dir)
		die("-d SPOOL is required");
	if (strcmp(cmd, "recv") == 0)
		return cmd_recv();
	if (strcmp(cmd, "drain") == 0)
		return cmd_drain();
	die("unknown command %s", cmd);
}
