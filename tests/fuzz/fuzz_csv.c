/*
 * fuzz_csv.c - the registry CSV reader behind `hazardctl import`, on
 * anything, read through a memory stream as the importer reads a file.
 * It checks the reader's promises: records come one physical line or more
 * apart, 1..HZ_CSV_MAX_FIELDS fields each, stored back to back and
 * NUL-terminated (so no field is cut short by a NUL byte); the reader
 * ends, with a message on refusal. Whatever it accepts is written back as
 * fully quoted CSV and read again: the records must come back the same.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "registry/csv.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size); /* libFuzzer's ABI */

#define CHECK(c)                \
	do {                    \
		if (!(c))       \
			abort(); \
	} while (0)

static void append_quoted(struct hz_buf *b, const char *v)
{
	CHECK(hz_buf_append(b, "\"", 1) == HZ_OK);
	for (const char *p = v; *p; p++) {
		CHECK(hz_buf_append(b, p, 1) == HZ_OK);
		if (*p == '"')
			CHECK(hz_buf_append(b, "\"", 1) == HZ_OK);
	}
	CHECK(hz_buf_append(b, "\"", 1) == HZ_OK);
}

/* Read every record of `text`; append each, fully quoted, to `out` (when
 * not NULL) and its fields, NUL-separated and counted, to `fields`. */
static int read_all(const char *text, size_t len, struct hz_buf *out, struct hz_buf *fields)
{
	/* fmemopen refuses a zero size on some C libraries: an empty file is a blank line */
	static const char empty[] = "\n";
	FILE *f = fmemopen(len ? (void *)(uintptr_t)text : (void *)(uintptr_t)empty,
			   len ? len : 1, "rb");
	CHECK(f != NULL);
	struct hz_csv csv;
	hz_csv_init(&csv, f);
	char err[256];
	int rc;
	long prev_line = 0;
	size_t records = 0;
	for (;;) {
		err[0] = '\0';
		rc = hz_csv_next(&csv, err, sizeof(err));
		if (rc != 1)
			break;
		records++;
		CHECK(records <= len + 1);
		CHECK(csv.record_line > prev_line && csv.record_line <= csv.line);
		prev_line = csv.record_line;
		CHECK(csv.nfields >= 1 && csv.nfields <= HZ_CSV_MAX_FIELDS);
		CHECK(hz_buf_append(fields, &csv.nfields, sizeof(csv.nfields)) == HZ_OK);
		size_t expect = 0;
		for (size_t i = 0; i < csv.nfields; i++) {
			CHECK(csv.off[i] == expect);
			const char *v = hz_csv_field(&csv, i);
			size_t n = strlen(v);
			expect += n + 1;
			CHECK(expect <= csv.buf.len);
			CHECK(hz_buf_append(fields, v, n + 1) == HZ_OK);
			if (!out)
				continue;
			if (i)
				CHECK(hz_buf_append(out, ",", 1) == HZ_OK);
			append_quoted(out, v);
		}
		CHECK(expect == csv.buf.len); /* nothing stored but the fields */
		if (out)
			CHECK(hz_buf_append(out, "\r\n", 2) == HZ_OK);
	}
	CHECK(rc == 0 || rc == HZ_EINVAL || rc == HZ_ENOMEM);
	if (rc)
		CHECK(err[0] != '\0');
	hz_csv_free(&csv);
	fclose(f);
	return rc;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct hz_buf out = HZ_BUF_INIT, f1 = HZ_BUF_INIT, f2 = HZ_BUF_INIT;
	if (read_all((const char *)data, size, &out, &f1) == 0) {
		CHECK(read_all((const char *)out.data, out.len, NULL, &f2) == 0);
		CHECK(f1.len == f2.len && (f1.len == 0 || memcmp(f1.data, f2.data, f1.len) == 0));
	}
	hz_buf_free(&out);
	hz_buf_free(&f1);
	hz_buf_free(&f2);
	return 0;
}
