/*
 * bench_kafka.c - the two halves of the Kafka throughput benchmark.
 *
 *   bench_kafka produce BROKERS TOPIC N REGISTRY_DIR ALARM_SHARE
 *       N protobuf SensorReadings for the registry's devices, keyed by
 *       site; a share of them above the red threshold of the default
 *       rules (they change a ticket), the rest quiet.
 *   bench_kafka consume BROKERS TOPIC N
 *       the raw baseline: a plain librdkafka consumer-group member
 *       reading the same N messages in batches. Prints seconds (from the
 *       first message, so the group join is left out) and CPU seconds.
 *
 * Prints one line of `key=value` figures for run.sh to collect.
 */
#include <librdkafka/rdkafka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include "core/hz.h"
#include "hazard.pb-c.h"

static double cpu_s(void)
{
	struct rusage ru;
	getrusage(RUSAGE_SELF, &ru);
	return (double)ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 + (double)ru.ru_stime.tv_sec +
	       ru.ru_stime.tv_usec / 1e6;
}

struct dev {
	char id[64], site[64];
	int metric;
};

static int load_devices(const char *dir, struct dev **out)
{
	char path[512], line[512];
	snprintf(path, sizeof(path), "%s/devices.csv", dir);
	FILE *f = fopen(path, "r");
	if (!f)
		return -1;
	size_t n = 0, cap = 0;
	struct dev *v = NULL;
	static const char *const metrics[] = {"", "smoke", "temperature", "gas_lel", "co",
					      "charger_current", "residual_current", "water_level",
					      "pressure"};
	while (fgets(line, sizeof(line), f)) {
		char *id = strtok(line, ","), *site = strtok(NULL, ","), *kind = strtok(NULL, ","),
		     *metric = strtok(NULL, ",");
		if (!id || !site || !kind || !metric || !strcmp(id, "device_id"))
			continue;
		int m = 0;
		for (int i = 1; i < 9; i++)
			if (!strcmp(metric, metrics[i]))
				m = i;
		if (!m)
			continue;
		if (n == cap) {
			cap = cap ? cap * 2 : 1024;
			v = realloc(v, cap * sizeof(*v));
		}
		snprintf(v[n].id, sizeof(v[n].id), "%s", id);
		snprintf(v[n].site, sizeof(v[n].site), "%s", site);
		v[n].metric = m;
		n++;
	}
	fclose(f);
	*out = v;
	return (int)n;
}

/* quiet and alarm values per metric (canonical units; see deploy/rules.yaml) */
static const double quiet[] = {0, 0.2, 24, 0.5, 3, 2.5, 20, 0.1, 0.35};
static const double alarm[] = {0, 12, 95, 60, 250, 18, 1200, 2.5, 0.01};

static int produce(const char *brokers, const char *topic, long n, const char *dir, double share)
{
	struct dev *devs;
	int nd = load_devices(dir, &devs);
	if (nd <= 0) {
		fprintf(stderr, "bench_kafka: no devices in %s\n", dir);
		return 1;
	}
	char e[512];
	rd_kafka_conf_t *c = rd_kafka_conf_new();
	rd_kafka_conf_set(c, "bootstrap.servers", brokers, e, sizeof(e));
	rd_kafka_conf_set(c, "linger.ms", "20", e, sizeof(e));
	rd_kafka_conf_set(c, "queue.buffering.max.messages", "1000000", e, sizeof(e));
	rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_PRODUCER, c, e, sizeof(e));
	if (!rk) {
		fprintf(stderr, "bench_kafka: %s\n", e);
		return 1;
	}
	long every = share > 0 ? (long)(1.0 / share) : 0;
	int64_t t0 = hz_now_us();
	unsigned char buf[256];
	long alarms = 0;
	for (long i = 0; i < n; i++) {
		const struct dev *d = &devs[i % nd];
		Hazard__V1__SensorReading r = HAZARD__V1__SENSOR_READING__INIT;
		Google__Protobuf__Timestamp ts = GOOGLE__PROTOBUF__TIMESTAMP__INIT;
		char id[48];
		snprintf(id, sizeof(id), "bench-%ld", i);
		ts.seconds = t0 / HZ_US_PER_SEC;
		r.event_id = id;
		r.observed_at = &ts;
		r.device_id = (char *)d->id;
		r.metric = (Hazard__V1__Metric)d->metric;
		bool is_alarm = every && i % every == every / 2;
		alarms += is_alarm;
		r.value = is_alarm ? alarm[d->metric] : quiet[d->metric];
		size_t len = hazard__v1__sensor_reading__pack(&r, buf);
		while (rd_kafka_producev(rk, RD_KAFKA_V_TOPIC(topic), RD_KAFKA_V_KEY(d->site, strlen(d->site)),
					 RD_KAFKA_V_VALUE(buf, len), RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
					 RD_KAFKA_V_END) == RD_KAFKA_RESP_ERR__QUEUE_FULL)
			rd_kafka_poll(rk, 10);
		rd_kafka_poll(rk, 0);
	}
	rd_kafka_flush(rk, 60000);
	double s = (double)(hz_now_us() - t0) / 1e6;
	printf("produced=%ld alarms=%ld seconds=%.3f rate=%.0f\n", n, alarms, s, n / s);
	rd_kafka_destroy(rk);
	free(devs);
	return 0;
}

static int consume(const char *brokers, const char *topic, long n)
{
	char e[512], group[64];
	snprintf(group, sizeof(group), "bench-raw-%ld", (long)hz_now_us());
	rd_kafka_conf_t *c = rd_kafka_conf_new();
	rd_kafka_conf_set(c, "bootstrap.servers", brokers, e, sizeof(e));
	rd_kafka_conf_set(c, "group.id", group, e, sizeof(e));
	rd_kafka_conf_set(c, "auto.offset.reset", "earliest", e, sizeof(e));
	rd_kafka_conf_set(c, "enable.auto.offset.store", "false", e, sizeof(e));
	rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_CONSUMER, c, e, sizeof(e));
	rd_kafka_poll_set_consumer(rk);
	rd_kafka_topic_partition_list_t *t = rd_kafka_topic_partition_list_new(1);
	rd_kafka_topic_partition_list_add(t, topic, RD_KAFKA_PARTITION_UA);
	rd_kafka_subscribe(rk, t);
	rd_kafka_topic_partition_list_destroy(t);
	rd_kafka_queue_t *q = rd_kafka_queue_get_consumer(rk);
	rd_kafka_message_t *msgs[1000];
	long got = 0;
	int64_t t0 = 0;
	double c0 = 0;
	size_t bytes = 0;
	while (got < n) {
		ssize_t k = rd_kafka_consume_batch_queue(q, 1000, msgs, 1000);
		for (ssize_t i = 0; i < k; i++) {
			if (!msgs[i]->err) {
				if (!t0) {
					t0 = hz_now_us();
					c0 = cpu_s();
				}
				got++;
				bytes += msgs[i]->len; /* touch the payload, as any consumer does */
			}
			rd_kafka_message_destroy(msgs[i]);
		}
	}
	double s = (double)(hz_now_us() - t0) / 1e6, cpu = cpu_s() - c0;
	printf("consumed=%ld seconds=%.3f rate=%.0f cpu=%.3f bytes=%zu\n", got, s, got / s, cpu,
	       bytes);
	rd_kafka_queue_destroy(q);
	rd_kafka_consumer_close(rk);
	rd_kafka_destroy(rk);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc == 7 && !strcmp(argv[1], "produce"))
		return produce(argv[2], argv[3], atol(argv[4]), argv[5], atof(argv[6]));
	if (argc == 5 && !strcmp(argv[1], "consume"))
		return consume(argv[2], argv[3], atol(argv[4]));
	fprintf(stderr, "usage: bench_kafka produce BROKERS TOPIC N REGISTRY_DIR ALARM_SHARE\n"
			"       bench_kafka consume BROKERS TOPIC N\n");
	return 2;
}
