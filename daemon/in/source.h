/*
 * source.h - a raw message as a source hands it to the pipeline, before
 * decoding, with the coordinates needed to acknowledge it and to record
 * where it came from in a dead letter.
 *
 * Sources (in_mqtt.c, in_kafka.c) are the only files that include Paho or
 * librdkafka headers. Payload and strings are borrowed from the source
 * until the source is told the message is durable (commit) or the batch
 * is abandoned.
 */
#ifndef HZ_SOURCE_H
#define HZ_SOURCE_H

#include "core/event.h"

enum hz_content_type { HZ_CT_AUTO = 0, HZ_CT_PROTOBUF, HZ_CT_JSON };

enum hz_source_kind { HZ_SRC_MQTT = 1, HZ_SRC_KAFKA = 2 };

#define HZ_TOPIC_PARAM_MAX 64

struct hz_msg {
	enum hz_source_kind source;
	enum hz_ev_kind kind;          /* what the topic carries */
	enum hz_content_type ct;       /* from MQTT v5 content-type / Kafka header, else AUTO */
	const void *payload;
	size_t len;
	const char *topic;
	/* Parameters taken from an MQTT topic ("" when absent):
	 * hazard/v1/readings/<site>/<device>, status/<device>, reports/<town>. */
	char topic_site[HZ_TOPIC_PARAM_MAX];
	char topic_device[HZ_TOPIC_PARAM_MAX];
	char topic_town[HZ_TOPIC_PARAM_MAX];
	/* Kafka: partition and offset. MQTT: partition 0, offset = spool sequence. */
	int32_t partition;
	int64_t offset;
	int64_t received_us;           /* wall clock at arrival */
};

/* Map a MIME type ("application/json", "application/x-protobuf",
 * "application/protobuf", "application/octet-stream") to a content type;
 * NULL or unknown gives HZ_CT_AUTO. */
enum hz_content_type hz_content_type_parse(const char *mime, size_t len);

#endif
