/*
 * sim_check.c - reads `hazard-sim --print` lines on stdin (topic TAB
 * content-type TAB key TAB payload, protobuf in hex) and decodes each with
 * the daemon's codec, so tests can check that the simulator's good
 * messages are valid and its malformed ones are refused for the right
 * reason. Prints one summary line:
 *
 *   decoded ok=N invalid=N fault=N unknown_device=N bad_ids=N exercise=N
 *
 * bad_ids counts decoded messages whose event id is not PREFIX-<n> with n
 * increasing (PREFIX from argv[1], default "sim").
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "codec/codec.h"
#include "core/arena.h"
#include "core/log.h"

static int hexval(int c)
{
	return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

int main(int argc, char **argv)
{
	const char *prefix = argc > 1 ? argv[1] : "sim";
	size_t plen = strlen(prefix);
	hz_log_set_level(HZ_LOG_ERROR);
	struct hz_codec_limits lim;
	hz_codec_limits_default(&lim);
	struct hz_arena *arena = hz_arena_new(64 << 20);
	char *line = NULL;
	size_t cap = 0;
	ssize_t n;
	unsigned char *bin = NULL;
	size_t bincap = 0;
	uint64_t ok = 0, invalid = 0, fault = 0, unknown = 0, bad_ids = 0, exercise = 0, lines = 0;
	int64_t last_id = -1;
	while ((n = getline(&line, &cap, stdin)) > 0) {
		if (line[n - 1] == '\n')
			line[--n] = 0;
		char *topic = line, *ct = strchr(topic, '\t'), *key, *pl;
		if (!ct || !(key = strchr(ct + 1, '\t')) || !(pl = strchr(key + 1, '\t'))) {
			fprintf(stderr, "sim_check: malformed line %" PRIu64 "\n", lines + 1);
			return 2;
		}
		*ct++ = 0;
		*key++ = 0;
		*pl++ = 0;
		lines++;
		enum hz_ev_kind kind = strstr(topic, "readings")  ? HZ_EV_READING
				       : strstr(topic, "status")  ? HZ_EV_STATUS
				       : strstr(topic, "reports") ? HZ_EV_REPORT
								  : HZ_EV_NONE;
		enum hz_content_type t = hz_content_type_parse(ct, strlen(ct));
		const void *buf = pl;
		size_t len = (size_t)(n - (pl - line));
		if (t == HZ_CT_PROTOBUF) {
			if (len / 2 > bincap) {
				unsigned char *nb = realloc(bin, len / 2 + 1);
				if (!nb)
					return 2;
				bin = nb;
				bincap = len / 2 + 1;
			}
			for (size_t i = 0; i + 1 < len; i += 2)
				bin[i / 2] = (unsigned char)(hexval(pl[i]) << 4 | hexval(pl[i + 1]));
			buf = bin;
			len /= 2;
		}
		struct hz_event ev;
		char err[256];
		hz_arena_reset(arena);
		int rc = hz_codec_decode(kind, t, buf, len, &lim, hz_now_us(), arena, &ev, err,
					 sizeof(err));
		if (rc == HZ_EINVAL) {
			invalid++;
			continue;
		}
		if (rc == HZ_EFAULTVAL)
			fault++;
		else if (rc == HZ_OK)
			ok++;
		else
			return fprintf(stderr, "sim_check: decode returned %d: %s\n", rc, err), 2;
		if (ev.kind == HZ_EV_READING && strncmp(ev.device_id, "DEV-UNKNOWN-", 12) == 0)
			unknown++;
		if (ev.mode == HZ_MODE_EXERCISE)
			exercise++;
		char *end;
		int64_t id = strncmp(ev.event_id, prefix, plen) == 0 && ev.event_id[plen] == '-'
				     ? strtoll(ev.event_id + plen + 1, &end, 10)
				     : -1;
		if (id <= last_id || *end)
			bad_ids++;
		else
			last_id = id;
	}
	printf("decoded ok=%" PRIu64 " invalid=%" PRIu64 " fault=%" PRIu64 " unknown_device=%" PRIu64
	       " bad_ids=%" PRIu64 " exercise=%" PRIu64 " lines=%" PRIu64 "\n",
	       ok, invalid, fault, unknown, bad_ids, exercise, lines);
	free(line);
	free(bin);
	hz_arena_destroy(arena);
	return 0;
}
