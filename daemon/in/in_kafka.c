/*
 * in_kafka.c - librdkafka consumer: batch consume from the consumer queue,
 * seek assigned partitions to the positions PostgreSQL holds, store
 * offsets only after the batch is durable.
 *
 * It does not retry, buffer or decode: the pipeline owns all of that.
 */
#include "in/in_kafka.h"
#include "core/log.h"

#include <librdkafka/rdkafka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct hz_in_kafka {
	rd_kafka_t *rk;
	rd_kafka_queue_t *q;
	const struct hz_config *cfg;
	hz_offset_lookup_fn lookup;
	void *opaque;
	rd_kafka_message_t **held;
	size_t n_held, cap_held;
	/* scratch for release: the partitions whose offset is stored (cap_held) */
	struct stored {
		rd_kafka_topic_t *rkt;
		int32_t partition;
	} *stored;
	struct hz_in_kafka_stats st;
	const char *topic_of_kind[HZ_EV_COMMAND + 1];
	/* what this member holds now: the timers of tickets opened from
	 * these partitions are this instance's to fire (store/pgtext.h) */
	rd_kafka_topic_partition_list_t *owned;
	uint64_t owned_gen;
};

static enum hz_ev_kind kind_of(const struct hz_in_kafka *k, const char *topic)
{
	for (int i = HZ_EV_READING; i <= HZ_EV_COMMAND; i++)
		if (!strcmp(k->topic_of_kind[i], topic))
			return (enum hz_ev_kind)i;
	return HZ_EV_NONE;
}

int hz_kafka_conf_apply(void *conf, const struct hz_config *cfg, char *err, size_t errlen)
{
	char e[512];
	for (size_t i = 0; i < cfg->n_kafka_props; i++) {
		const struct hz_kv *kv = &cfg->kafka_props[i];
		if (rd_kafka_conf_set(conf, kv->key, kv->value, e, sizeof(e)) != RD_KAFKA_CONF_OK) {
			hz_errf(err, errlen, "kafka.rdkafka.%s: %s", kv->key, e);
			return HZ_ECONFIG;
		}
	}
	return HZ_OK;
}

static void set_owned(struct hz_in_kafka *k, const rd_kafka_topic_partition_list_t *parts)
{
	if (k->owned)
		rd_kafka_topic_partition_list_destroy(k->owned);
	/* on allocation failure nothing is owned: this instance's timers
	 * then fire after the take-over grace, never not at all */
	k->owned = parts ? rd_kafka_topic_partition_list_copy(parts) : NULL;
	k->owned_gen++;
}

/* ": topic[0,3,5] topic2[1]" for the log; partitions of a topic are
 * listed together only when adjacent in the list (they usually are). */
static const char *describe(const rd_kafka_topic_partition_list_t *parts, char *buf, size_t len)
{
	size_t w = 0;
	buf[0] = 0;
	for (int i = 0; i < parts->cnt && w + 16 < len; i++) {
		const rd_kafka_topic_partition_t *p = &parts->elems[i];
		bool same = i > 0 && !strcmp(parts->elems[i - 1].topic, p->topic);
		int r = same ? snprintf(buf + w - 1, len - w + 1, ",%d]", (int)p->partition) - 1
			     : snprintf(buf + w, len - w, "%s%s[%d]", i ? " " : ": ", p->topic,
					(int)p->partition);
		if (r < 0 || (size_t)r >= len - w)
			break;
		w += (size_t)r;
	}
	return buf;
}

uint64_t hz_in_kafka_assignment(const struct hz_in_kafka *k, size_t *n)
{
	*n = k->owned ? (size_t)k->owned->cnt : 0;
	return k->owned_gen;
}

void hz_in_kafka_assigned_at(const struct hz_in_kafka *k, size_t i, const char **topic,
			     int32_t *partition)
{
	*topic = k->owned->elems[i].topic;
	*partition = k->owned->elems[i].partition;
}

static void on_rebalance(rd_kafka_t *rk, rd_kafka_resp_err_t e,
			 rd_kafka_topic_partition_list_t *parts, void *opaque)
{
	struct hz_in_kafka *k = opaque;
	if (e == RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS) {
		for (int i = 0; i < parts->cnt; i++) {
			rd_kafka_topic_partition_t *p = &parts->elems[i];
			char src[300];
			snprintf(src, sizeof(src), "kafka:%s", p->topic);
			int64_t next;
			int rc = k->lookup ? k->lookup(k->opaque, src, p->partition, &next) : HZ_ENOTFOUND;
			if (rc == HZ_OK) {
				p->offset = next;
			} else {
				p->offset = RD_KAFKA_OFFSET_STORED;
				if (rc != HZ_ENOTFOUND)
					hz_warn("kafka: could not read the position of %s [%d] from "
						"PostgreSQL: starting from Kafka's committed offset",
						p->topic, (int)p->partition);
			}
		}
		k->st.assignments++;
		k->st.assigned_partitions = parts->cnt;
		set_owned(k, parts);
		char list[512];
		hz_info("kafka: assigned %d partitions%s", parts->cnt, describe(parts, list, sizeof(list)));
		rd_kafka_assign(rk, parts);
	} else {
		/* Revocation happens inside poll, when no batch is in flight:
		 * everything handed out before was committed or abandoned. */
		k->st.revocations++;
		k->st.assigned_partitions = 0;
		/* The timers of the revoked partitions stay this instance's
		 * until the next assignment says otherwise: ownership is only a
		 * preference (exactly-once rests on the database), and an empty
		 * set would leave them to the take-over grace during every
		 * rebalance. */
		hz_info("kafka: partitions revoked (%s)", rd_kafka_err2str(e));
		rd_kafka_assign(rk, NULL);
	}
}

static void on_error(rd_kafka_t *rk, int e, const char *reason, void *opaque)
{
	(void)rk;
	struct hz_in_kafka *k = opaque;
	k->st.errors++;
	hz_warn("kafka consumer: %s: %s", rd_kafka_err2name((rd_kafka_resp_err_t)e), reason);
}

static int set(rd_kafka_conf_t *c, const char *key, const char *val, char *err, size_t errlen)
{
	char e[512];
	if (rd_kafka_conf_set(c, key, val, e, sizeof(e)) != RD_KAFKA_CONF_OK) {
		hz_errf(err, errlen, "kafka: %s: %s", key, e);
		return HZ_ECONFIG;
	}
	return HZ_OK;
}

struct hz_in_kafka *hz_in_kafka_new(const struct hz_config *cfg, hz_offset_lookup_fn lookup,
				    void *opaque, char *err, size_t errlen)
{
	struct hz_in_kafka *k = calloc(1, sizeof(*k));
	if (!k) {
		hz_errf(err, errlen, "out of memory");
		return NULL;
	}
	k->cfg = cfg;
	k->lookup = lookup;
	k->opaque = opaque;
	k->topic_of_kind[HZ_EV_NONE] = "";
	k->topic_of_kind[HZ_EV_READING] = cfg->kafka_topic_readings;
	k->topic_of_kind[HZ_EV_STATUS] = cfg->kafka_topic_status;
	k->topic_of_kind[HZ_EV_REPORT] = cfg->kafka_topic_reports;
	k->topic_of_kind[HZ_EV_WARNING] = cfg->kafka_topic_warnings;
	k->topic_of_kind[HZ_EV_COMMAND] = cfg->kafka_topic_commands;

	rd_kafka_conf_t *c = rd_kafka_conf_new();
	/* Our defaults first; the operator's pass-through properties win,
	 * except the three that the delivery guarantee depends on. */
	if (set(c, "bootstrap.servers", cfg->kafka_brokers, err, errlen) ||
	    set(c, "group.id", cfg->kafka_group_id, err, errlen) ||
	    set(c, "auto.offset.reset", "earliest", err, errlen) ||
	    set(c, "client.id", "hazardd", err, errlen) ||
	    set(c, "max.poll.interval.ms", "60000", err, errlen) ||
	    set(c, "session.timeout.ms", "10000", err, errlen) ||
	    /* Static membership: a restarted instance (same client id) takes
	     * its partitions back at once instead of waiting for the dead
	     * member's session to expire. */
	    set(c, "group.instance.id", cfg->mqtt_client_id, err, errlen) ||
	    hz_kafka_conf_apply(c, cfg, err, errlen) ||
	    set(c, "enable.auto.offset.store", "false", err, errlen) ||
	    set(c, "enable.auto.commit", "true", err, errlen) ||
	    set(c, "enable.partition.eof", "false", err, errlen)) {
		rd_kafka_conf_destroy(c);
		free(k);
		return NULL;
	}
	rd_kafka_conf_set_opaque(c, k);
	rd_kafka_conf_set_rebalance_cb(c, on_rebalance);
	rd_kafka_conf_set_error_cb(c, on_error);
	char e[512];
	k->rk = rd_kafka_new(RD_KAFKA_CONSUMER, c, e, sizeof(e));
	if (!k->rk) {
		hz_errf(err, errlen, "could not create the Kafka consumer: %s", e);
		free(k);
		return NULL;
	}
	rd_kafka_poll_set_consumer(k->rk);
	k->q = rd_kafka_queue_get_consumer(k->rk);

	rd_kafka_topic_partition_list_t *topics = rd_kafka_topic_partition_list_new(5);
	for (int i = HZ_EV_READING; i <= HZ_EV_COMMAND; i++)
		if (*k->topic_of_kind[i])
			rd_kafka_topic_partition_list_add(topics, k->topic_of_kind[i],
							  RD_KAFKA_PARTITION_UA);
	rd_kafka_resp_err_t r = rd_kafka_subscribe(k->rk, topics);
	rd_kafka_topic_partition_list_destroy(topics);
	if (r) {
		hz_errf(err, errlen, "could not subscribe to the Kafka topics: %s", rd_kafka_err2str(r));
		hz_in_kafka_destroy(k);
		return NULL;
	}
	return k;
}

static enum hz_content_type header_ct(const rd_kafka_message_t *m)
{
	rd_kafka_headers_t *h = NULL;
	const void *v;
	size_t n;
	if (rd_kafka_message_headers(m, &h) || !h)
		return HZ_CT_AUTO;
	if (rd_kafka_header_get_last(h, "content-type", &v, &n))
		return HZ_CT_AUTO;
	return hz_content_type_parse(v, n);
}

size_t hz_in_kafka_poll(struct hz_in_kafka *k, struct hz_msg *out, size_t max, int timeout_ms)
{
	if (k->cap_held < max) {
		rd_kafka_message_t **nh = realloc(k->held, max * sizeof(*nh));
		if (!nh)
			return 0;
		k->held = nh;
		struct stored *ns = realloc(k->stored, max * sizeof(*ns));
		if (!ns)
			return 0;
		k->stored = ns;
		k->cap_held = max;
	}
	ssize_t got = rd_kafka_consume_batch_queue(k->q, timeout_ms, k->held + k->n_held,
						   max - k->n_held);
	if (got <= 0)
		return 0;
	size_t n = 0;
	int64_t now = hz_now_us();
	for (ssize_t i = 0; i < got; i++) {
		rd_kafka_message_t *m = k->held[k->n_held + (size_t)i];
		if (m->err) {
			k->st.errors++;
			hz_warn("kafka: consume error: %s", rd_kafka_message_errstr(m));
			rd_kafka_message_destroy(m);
			continue;
		}
		k->held[k->n_held + n] = m;
		struct hz_msg *o = &out[n++];
		memset(o, 0, sizeof(*o));
		o->source = HZ_SRC_KAFKA;
		o->topic = rd_kafka_topic_name(m->rkt);
		o->kind = kind_of(k, o->topic);
		o->ct = header_ct(m);
		o->payload = m->payload ? m->payload : "";
		o->len = m->len;
		o->partition = m->partition;
		o->offset = m->offset;
		o->received_us = now;
	}
	k->n_held += n;
	k->st.received += n;
	return n;
}

void hz_in_kafka_release(struct hz_in_kafka *k, bool committed)
{
	if (committed) {
		/* Store the highest offset + 1 per partition; the auto-committer
		 * sends it to Kafka. Stores for partitions no longer assigned
		 * are refused by librdkafka, which is what we want.
		 * The last message of each partition is the one stored: walking
		 * from the end, the first one met of each partition. A batch
		 * holds runs of one partition, so the last partition met is
		 * tried first; the list is at most one entry a partition. */
		size_t n_stored = 0, last = 0;
		for (size_t i = k->n_held; i-- > 0;) {
			rd_kafka_message_t *m = k->held[i];
			bool seen = n_stored && k->stored[last].rkt == m->rkt &&
				    k->stored[last].partition == m->partition;
			for (size_t j = 0; j < n_stored && !seen; j++)
				if (k->stored[j].rkt == m->rkt && k->stored[j].partition == m->partition) {
					seen = true;
					last = j;
				}
			if (seen)
				continue;
			last = n_stored;
			k->stored[n_stored++] = (struct stored){m->rkt, m->partition};
			rd_kafka_offset_store(m->rkt, m->partition, m->offset);
		}
	}
	for (size_t i = 0; i < k->n_held; i++)
		rd_kafka_message_destroy(k->held[i]);
	k->n_held = 0;
}

const char *hz_in_kafka_source_name(const struct hz_msg *m, char *buf, size_t len)
{
	snprintf(buf, len, "kafka:%s", m->topic);
	return buf;
}

void hz_in_kafka_stats(const struct hz_in_kafka *k, struct hz_in_kafka_stats *st)
{
	*st = k->st;
}

void hz_in_kafka_close(struct hz_in_kafka *k)
{
	if (k && k->rk)
		rd_kafka_consumer_close(k->rk);
}

void hz_in_kafka_destroy(struct hz_in_kafka *k)
{
	if (!k)
		return;
	hz_in_kafka_release(k, false);
	if (k->q)
		rd_kafka_queue_destroy(k->q);
	if (k->rk)
		rd_kafka_destroy(k->rk);
	if (k->owned)
		rd_kafka_topic_partition_list_destroy(k->owned);
	free(k->held);
	free(k->stored);
	free(k);
}
