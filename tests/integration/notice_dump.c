/*
 * notice_dump.c - reads Kafka EscalationNotices framed by `kcat -f '%R%s'`
 * (a 4-byte big-endian length, then the protobuf bytes) on stdin, decodes
 * each with the daemon's codec and prints it as the escalation-log JSON
 * line, so shell tests can grep the notice that went out on Kafka. A
 * message that does not decode prints {"undecodable":LENGTH}.
 */
#include <stdio.h>
#include <stdlib.h>

#include "codec/outbox.h"
#include "core/buf.h"
#include "out/out_log.h"
#include "tickets/ticket.h"

int main(void)
{
	unsigned char hdr[4];
	struct hz_buf line = HZ_BUF_INIT;
	while (fread(hdr, 1, 4, stdin) == 4) {
		size_t len =
			(size_t)hdr[0] << 24 | (size_t)hdr[1] << 16 | (size_t)hdr[2] << 8 | hdr[3];
		if (len > 1 << 20)
			return 2;
		unsigned char *msg = malloc(len ? len : 1);
		if (!msg || fread(msg, 1, len, stdin) != len) {
			free(msg);
			return 2;
		}
		struct hz_escalation esc;
		if (hz_codec_decode_escalation(msg, len, &esc) == HZ_OK) {
			hz_out_log_format_escalation(&esc, &line);
			fwrite(line.data, 1, line.len, stdout);
		} else {
			printf("{\"undecodable\":%zu}\n", len);
		}
		free(msg);
	}
	hz_buf_free(&line);
	return 0;
}
