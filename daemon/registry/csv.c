/*
 * csv.c - RFC 4180 records from a stdio stream, one character at a time
 * (getc_unlocked: registry files are read once per import, not per event).
 * Fields are stored back to back in one reused buffer.
 */
#include "registry/csv.h"

#include <string.h>

void hz_csv_init(struct hz_csv *c, FILE *f)
{
	memset(c, 0, sizeof(*c));
	c->f = f;
	c->line = 1;
}

void hz_csv_free(struct hz_csv *c) { hz_buf_free(&c->buf); }

static int end_field(struct hz_csv *c, size_t start, char *err, size_t errlen)
{
	if (c->nfields >= HZ_CSV_MAX_FIELDS) {
		hz_errf(err, errlen, "more than %d fields", HZ_CSV_MAX_FIELDS);
		return HZ_EINVAL;
	}
	if (hz_buf_append(&c->buf, "", 1)) {
		hz_errf(err, errlen, "out of memory");
		return HZ_ENOMEM;
	}
	c->off[c->nfields++] = start;
	return HZ_OK;
}

int hz_csv_next(struct hz_csv *c, char *err, size_t errlen)
{
	int ch;
	for (;;) {
		hz_buf_clear(&c->buf);
		c->nfields = 0;
		if (!c->started) {
			c->started = true;
			/* a UTF-8 byte order mark, as spreadsheet programs write */
			int b0 = getc_unlocked(c->f);
			if (b0 == 0xEF) {
				int b1 = getc_unlocked(c->f), b2 = getc_unlocked(c->f);
				if (b1 != 0xBB || b2 != 0xBF) {
					hz_errf(err, errlen,
						"not UTF-8 (a broken byte order mark)");
					return HZ_EINVAL;
				}
			} else if (b0 != EOF) {
				ungetc(b0, c->f);
			}
		}
		c->record_line = c->line;
		ch = getc_unlocked(c->f);
		if (ch == EOF)
			return 0;
		if (ch == '\n' || ch == '\r') { /* blank line */
			if (ch == '\r' && (ch = getc_unlocked(c->f)) != '\n' && ch != EOF)
				ungetc(ch, c->f);
			c->line++;
			continue;
		}
		break;
	}
	size_t start = 0;
	bool quoted = false, was_quoted = false;
	for (;; ch = getc_unlocked(c->f)) {
		if (ch == '\0') {
			/* fields are C strings: a NUL would cut one short unseen */
			hz_errf(err, errlen, "field %zu: a NUL byte", c->nfields + 1);
			return HZ_EINVAL;
		}
		if (quoted) {
			if (ch == EOF) {
				hz_errf(err, errlen, "unterminated quoted field");
				return HZ_EINVAL;
			}
			if (ch == '"') {
				int next = getc_unlocked(c->f);
				if (next == '"') {
					if (hz_buf_append(&c->buf, "\"", 1))
						goto nomem;
					continue;
				}
				quoted = false;
				ch = next; /* fall through to the unquoted handling */
			} else {
				if (ch == '\n')
					c->line++;
				char cc = (char)ch;
				if (hz_buf_append(&c->buf, &cc, 1))
					goto nomem;
				continue;
			}
		}
		if (ch == ',' || ch == '\n' || ch == '\r' || ch == EOF) {
			int rc = end_field(c, start, err, errlen);
			if (rc)
				return rc;
			start = c->buf.len;
			was_quoted = false;
			if (ch == ',')
				continue;
			if (ch == '\r') {
				ch = getc_unlocked(c->f);
				if (ch != '\n' && ch != EOF)
					ungetc(ch, c->f);
			}
			if (ch != EOF)
				c->line++;
			return 1;
		}
		if (ch == '"') {
			if (c->buf.len != start || was_quoted) {
				hz_errf(err, errlen, "field %zu: a quote inside an unquoted field",
					c->nfields + 1);
				return HZ_EINVAL;
			}
			quoted = was_quoted = true;
			continue;
		}
		if (was_quoted) {
			hz_errf(err, errlen, "field %zu: text after a closing quote",
				c->nfields + 1);
			return HZ_EINVAL;
		}
		char cc = (char)ch;
		if (hz_buf_append(&c->buf, &cc, 1))
			goto nomem;
	}
nomem:
	hz_errf(err, errlen, "out of memory");
	return HZ_ENOMEM;
}
