/*
 * in_mqtt.h - the MQTT source: Paho MQTTAsync, MQTT v5, QoS 1, a persistent
 * broker session, and a local spool that makes every message durable
 * before Paho acknowledges it.
 *
 * Paho sends the PUBACK for a QoS 1 message as soon as the arrival callback
 * returns, whatever it returns (0 only parks the message in Paho's memory,
 * already acknowledged). So the callback appends the message to the spool
 * (spool.h) and returns 1; the pipeline reads it back from the spool with
 * hz_in_mqtt_poll. Messages the pipeline had not committed when the
 * process died are replayed from the spool on the next start, before live
 * ones; the broker redelivers what it had sent but we had not acknowledged.
 *
 * The callback never waits for the pipeline: it runs on Paho's one receive
 * thread for the whole process while holding Paho's global lock, so
 * waiting there would stall every Paho client in the process (the MQTT
 * output's publishes from the engine thread included) and their
 * keep-alives. Memory is bounded instead by queue_max (records handed out
 * and not released) and disk by spool_max_bytes: above it the source
 * disconnects (the broker keeps the session and queues for us) and
 * reconnects when the pipeline has committed half of it.
 *
 * One instance per process and client id: the spool directory is locked,
 * and the broker lets one connection hold a client id. Scale out with a
 * shared subscription (share_group) and a distinct client id and spool
 * directory per instance.
 */
#ifndef HZ_IN_MQTT_H
#define HZ_IN_MQTT_H

#include "in/source.h"

struct hz_in_mqtt;

struct hz_in_mqtt_config {
	const char *url;           /* tcp://host:1883, ssl://host:8883 (mqtts:// too) */
	const char *client_id;     /* also names the position: "mqtt-spool:<client_id>" */
	const char *username, *password; /* NULL for none; never logged */
	const char *topic_prefix;  /* NULL: "hazard/v1" */
	const char *share_group;   /* NULL or "": no $share/<group>/ prefix */
	const char *spool_dir;
	int keepalive_s;           /* 0: 30 */
	int session_expiry_s;      /* how long the broker keeps our session and queue
	                            * while we are away; 0: 86400 */
	size_t queue_max;          /* messages handed out by poll and not yet released;
	                            * past it poll returns 0 at once (release first);
	                            * 0: 65536 */
	int sync_interval_ms;      /* fdatasync the spool this often, for machine crashes
	                            * (a process crash loses nothing either way);
	                            * 0: 100; < 0: before acknowledging each message */
	const char *ca_file, *cert_file, *key_file; /* TLS, for ssl:// and mqtts:// */
	bool tls_verify;           /* check the broker's certificate and host name */
	size_t spool_max_bytes;    /* disconnect above this much uncommitted spool;
	                            * 0: 1 GiB; at least 4 segments */
	size_t segment_bytes;      /* spool segment size; 0: 64 MiB */
	int reconnect_min_s, reconnect_max_s; /* backoff; 0: 1 and 30 */
	int receive_max;           /* v5 Receive Maximum: messages the broker may have
	                            * unacknowledged on the way to us, all delivered
	                            * again after a crash or a pause. 0: not sent, the
	                            * broker's default (65,535 for mosquitto). Measured:
	                            * 1000 cuts redelivery to 1000 and the backlog
	                            * drain rate by about a quarter. mosquitto applies
	                            * the value in force when a message was queued:
	                            * keep it fixed for the life of a session */
};

struct hz_in_mqtt_stats {
	uint64_t received;      /* messages Paho handed to us */
	uint64_t spooled;       /* appended to the spool (and so acknowledged) */
	uint64_t delivered;     /* handed to the pipeline by poll */
	uint64_t replayed;      /* of those, spooled by an earlier run */
	uint64_t queue_depth;   /* spooled, not yet handed out */
	uint64_t unreleased;    /* handed out, not yet released */
	uint64_t spool_bytes;   /* on disk, not yet committed (whole segments) */
	uint64_t spool_errors;  /* failed appends (retried) and syncs */
	uint64_t synced_seq;    /* last seq on stable storage */
	uint64_t connects;      /* successful connections, the first included */
	uint64_t pauses;        /* disconnects because the spool was over its limit */
	bool connected;
	bool subscribed;        /* the broker granted every subscription */
	bool paused;
	bool blocked;           /* the callback is retrying a failed spool append */
};

/* Check the config, open and recover the spool: records with seq >=
 * committed_next (the first seq not yet in PostgreSQL; 0 or 1 for none)
 * come out of poll first. Does not connect. NULL with err set on failure.
 * The config's strings are copied. */
struct hz_in_mqtt *hz_in_mqtt_new(const struct hz_in_mqtt_config *cfg, uint64_t committed_next,
				  char *err, size_t errlen);

/* Start connecting and subscribing (again after every reconnect) with
 * automatic reconnect. Returns once the connect is under way: 0, or HZ_ERR
 * with err set when Paho refused to start. */
int hz_in_mqtt_start(struct hz_in_mqtt *m, char *err, size_t errlen);

/* Fill up to `max` messages, waiting up to timeout_ms when there is none:
 * replayed records first, then live ones, in seq order. Returns how many.
 * For each: source HZ_SRC_MQTT; kind from the topic (HZ_EV_NONE when the
 * topic does not have the expected shape: a dead letter, never dropped);
 * ct from the v5 content-type property; topic parameters; partition 0;
 * offset = spool seq; received_us = arrival time (of the first arrival, for
 * a replay). Topic and payload are NUL-terminated and valid until
 * hz_in_mqtt_release covers their offset. Engine thread only. */
size_t hz_in_mqtt_poll(struct hz_in_mqtt *m, struct hz_msg *out, size_t max, int timeout_ms);

/* Everything with offset <= upto_seq is committed in PostgreSQL (the
 * pipeline stored next_offset = upto_seq + 1 for hz_in_mqtt_source_name):
 * free those messages and the spool segments that hold only them. */
void hz_in_mqtt_release(struct hz_in_mqtt *m, uint64_t upto_seq);

/* "mqtt-spool:<client_id>": the source name for hazard.source_offsets. */
const char *hz_in_mqtt_source_name(const struct hz_in_mqtt *m);

bool hz_in_mqtt_connected(const struct hz_in_mqtt *m);
void hz_in_mqtt_stats(struct hz_in_mqtt *m, struct hz_in_mqtt_stats *st);

/* Disconnect, keeping the broker session (no unsubscribe: the broker must
 * go on queueing for us while we are down), and sync the spool. Messages
 * that arrive meanwhile are spooled and come back on the next start; poll
 * still returns what is spooled. Waits up to about 3 s. */
void hz_in_mqtt_stop(struct hz_in_mqtt *m);

/* Stop if needed and free everything. Accepts NULL. */
void hz_in_mqtt_destroy(struct hz_in_mqtt *m);

#endif
