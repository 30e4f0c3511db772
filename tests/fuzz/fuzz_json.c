/*
 * fuzz_json.c - the generic proto3 JSON mapping. The first byte picks a
 * message type (the five inputs and TicketEvent); the rest is the text.
 * Whatever hz_json_to_pb accepts must survive: pb -> JSON -> pb -> JSON
 * gives the same JSON twice, and pb -> protobuf bytes -> pb -> JSON too.
 * That pins the reader, the writer and protobuf-c's layout to each other.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "codec/json.h"
#include "hazard.pb-c.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size); /* libFuzzer's ABI */

#define CHECK(c)                \
	do {                    \
		if (!(c))       \
			abort(); \
	} while (0)

static const ProtobufCMessageDescriptor *const types[] = {
	&hazard__v1__sensor_reading__descriptor, &hazard__v1__device_status__descriptor,
	&hazard__v1__hazard_report__descriptor, &hazard__v1__warning__descriptor,
	&hazard__v1__command__descriptor, &hazard__v1__ticket_event__descriptor,
};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	const ProtobufCMessageDescriptor *d = types[data[0] % HZ_ARRAY_LEN(types)];
	ProtobufCMessage *m = NULL, *m2 = NULL, *m3 = NULL;
	struct hz_buf j1 = HZ_BUF_INIT, j2 = HZ_BUF_INIT, j3 = HZ_BUF_INIT;
	char err[256];
	err[0] = '\0';
	int rc = hz_json_to_pb(d, (const char *)data + 1, size - 1, NULL, 0, &m, err, sizeof(err));
	if (rc != HZ_OK) {
		CHECK(m == NULL && err[0] != '\0');
		return 0;
	}
	CHECK(m && m->descriptor == d);
	CHECK(hz_json_from_pb(m, &j1) == HZ_OK);
	CHECK(hz_json_to_pb(d, (const char *)j1.data, j1.len, NULL, 0, &m2, err, sizeof(err)) == HZ_OK);
	CHECK(hz_json_from_pb(m2, &j2) == HZ_OK);
	CHECK(j1.len == j2.len && memcmp(j1.data, j2.data, j1.len) == 0);

	size_t n = protobuf_c_message_get_packed_size(m);
	uint8_t *bin = malloc(n ? n : 1);
	CHECK(bin != NULL);
	CHECK(protobuf_c_message_pack(m, bin) == n);
	m3 = protobuf_c_message_unpack(d, NULL, n, bin);
	CHECK(m3 != NULL);
	CHECK(hz_json_from_pb(m3, &j3) == HZ_OK);
	CHECK(j1.len == j3.len && memcmp(j1.data, j3.data, j1.len) == 0);

	free(bin);
	protobuf_c_message_free_unpacked(m, NULL);
	protobuf_c_message_free_unpacked(m2, NULL);
	protobuf_c_message_free_unpacked(m3, NULL);
	hz_buf_free(&j1);
	hz_buf_free(&j2);
	hz_buf_free(&j3);
	return 0;
}
