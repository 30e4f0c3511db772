/*
 * fuzz_config.c - hz_config_parse on anything, over the defaults, the way
 * hazardd -c FILE reads its file. It must refuse with "name:line: ..." or
 * accept; either way the config stays printable, checkable and freeable
 * (every string slot set, no leak when a key is set twice). Accepted
 * input is parsed a second time over the result: the same text applied
 * twice must give the same effective settings.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size); /* libFuzzer's ABI */

#define NAME "hazardd.conf"

#define CHECK(c)                \
	do {                    \
		if (!(c))       \
			abort(); \
	} while (0)

/* "hazardd.conf:<digits>: <something>" */
static void check_error(const char *err)
{
	size_t n = strlen(NAME);
	CHECK(strncmp(err, NAME ":", n + 1) == 0);
	const char *p = err + n + 1;
	CHECK(*p >= '0' && *p <= '9');
	while (*p >= '0' && *p <= '9')
		p++;
	CHECK(p[0] == ':' && p[1] == ' ' && p[2] != '\0');
}

/* --print-config into memory; the caller frees. */
static char *print(const struct hz_config *c, size_t *len)
{
	char *out = NULL;
	FILE *f = open_memstream(&out, len);
	CHECK(f != NULL);
	hz_config_print(c, f);
	CHECK(fclose(f) == 0);
	return out;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct hz_config c;
	char err[1024];
	memset(err, 0, sizeof(err));
	hz_config_init(&c);
	int rc = hz_config_parse(&c, NAME, (const char *)data, size, err, sizeof(err));
	if (rc != HZ_OK) {
		CHECK(rc == HZ_ECONFIG);
		check_error(err);
	}
	/* accepted or not, what was set so far is whole */
	size_t n1 = 0;
	char *p1 = print(&c, &n1);
	char verr[256];
	verr[0] = '\0';
	if (hz_config_validate(&c, verr, sizeof(verr)) != HZ_OK)
		CHECK(verr[0] != '\0');
	if (rc == HZ_OK) {
		CHECK(hz_config_parse(&c, NAME, (const char *)data, size, err, sizeof(err)) == HZ_OK);
		size_t n2 = 0;
		char *p2 = print(&c, &n2);
		CHECK(n1 == n2 && memcmp(p1, p2, n1) == 0);
		free(p2);
	}
	free(p1);
	hz_config_free(&c);
	return 0;
}
