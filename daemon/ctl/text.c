/*
 * text.c - display width, fitting, the aligned table, colours and times for
 * hazardctl's human output. See text.h.
 *
 * The width table is a short list of ranges, searched linearly: a table
 * row costs a few dozen comparisons per character, nothing next to the
 * database round trip that produced it.
 */
#include "ctl/text.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* Decode one UTF-8 character at p; sets *cp (U+FFFD for an invalid byte)
 * and returns its length in bytes (>= 1). */
static size_t utf8_next(const unsigned char *p, unsigned *cp)
{
	unsigned c = p[0];
	size_t n;
	if (c < 0x80) {
		*cp = c;
		return 1;
	}
	if ((c & 0xE0) == 0xC0) {
		n = 2;
		c &= 0x1F;
	} else if ((c & 0xF0) == 0xE0) {
		n = 3;
		c &= 0x0F;
	} else if ((c & 0xF8) == 0xF0) {
		n = 4;
		c &= 0x07;
	} else {
		*cp = 0xFFFD;
		return 1;
	}
	for (size_t i = 1; i < n; i++) {
		if ((p[i] & 0xC0) != 0x80) {
			*cp = 0xFFFD;
			return 1;
		}
		c = (c << 6) | (p[i] & 0x3F);
	}
	*cp = c;
	return n;
}

struct range {
	unsigned lo, hi;
};

static bool in(const struct range *r, size_t n, unsigned cp)
{
	for (size_t i = 0; i < n; i++)
		if (cp >= r[i].lo && cp <= r[i].hi)
			return true;
	return false;
}

static const struct range zero_width[] = {
	{0x0300, 0x036F}, {0x0483, 0x0489}, {0x0591, 0x05BD}, {0x0610, 0x061A},
	{0x064B, 0x065F}, {0x0E31, 0x0E31}, {0x0E34, 0x0E3A}, {0x0E47, 0x0E4E},
	{0x1AB0, 0x1AFF}, {0x1DC0, 0x1DFF}, {0x200B, 0x200F}, {0x2028, 0x202E},
	{0x2060, 0x2064}, {0x20D0, 0x20FF}, {0x302A, 0x302F}, {0x3099, 0x309A},
	{0xFE00, 0xFE0F}, {0xFE20, 0xFE2F}, {0xFEFF, 0xFEFF}, {0xE0100, 0xE01EF},
};

static const struct range wide[] = {
	{0x1100, 0x115F},   {0x231A, 0x231B},   {0x2329, 0x232A},   {0x23E9, 0x23EC},
	{0x23F0, 0x23F0},   {0x23F3, 0x23F3},   {0x25FD, 0x25FE},   {0x2614, 0x2615},
	{0x2648, 0x2653},   {0x267F, 0x267F},   {0x2693, 0x2693},   {0x26A1, 0x26A1},
	{0x26AA, 0x26AB},   {0x26BD, 0x26BE},   {0x26C4, 0x26C5},   {0x26CE, 0x26CE},
	{0x26D4, 0x26D4},   {0x26EA, 0x26EA},   {0x26F2, 0x26F5},   {0x26FA, 0x26FD},
	{0x2705, 0x2705},   {0x270A, 0x270B},   {0x2728, 0x2728},   {0x274C, 0x274C},
	{0x2753, 0x2755},   {0x2757, 0x2757},   {0x2795, 0x2797},   {0x27B0, 0x27B0},
	{0x2B1B, 0x2B1C},   {0x2B50, 0x2B50},   {0x2B55, 0x2B55},   {0x2E80, 0x303E},
	{0x3041, 0x3247},   {0x3250, 0x4DBF},   {0x4E00, 0xA4CF},   {0xA960, 0xA97F},
	{0xAC00, 0xD7A3},   {0xF900, 0xFAFF},   {0xFE10, 0xFE19},   {0xFE30, 0xFE6F},
	{0xFF00, 0xFF60},   {0xFFE0, 0xFFE6},   {0x16FE0, 0x16FE4}, {0x17000, 0x18CFF},
	{0x1B000, 0x1B2FF}, {0x1F004, 0x1F004}, {0x1F0CF, 0x1F0CF}, {0x1F18E, 0x1F18E},
	{0x1F191, 0x1F19A}, {0x1F200, 0x1F251}, {0x1F300, 0x1F320}, {0x1F32D, 0x1F335},
	{0x1F337, 0x1F37C}, {0x1F37E, 0x1F393}, {0x1F3A0, 0x1F3CA}, {0x1F3CF, 0x1F3D3},
	{0x1F3E0, 0x1F3F0}, {0x1F3F4, 0x1F3F4}, {0x1F3F8, 0x1F43E}, {0x1F440, 0x1F440},
	{0x1F442, 0x1F4FC}, {0x1F4FF, 0x1F53D}, {0x1F54B, 0x1F54E}, {0x1F550, 0x1F567},
	{0x1F57A, 0x1F57A}, {0x1F595, 0x1F596}, {0x1F5A4, 0x1F5A4}, {0x1F5FB, 0x1F64F},
	{0x1F680, 0x1F6C5}, {0x1F6CC, 0x1F6CC}, {0x1F6D0, 0x1F6D2}, {0x1F6D5, 0x1F6D7},
	{0x1F6EB, 0x1F6EC}, {0x1F6F4, 0x1F6FC}, {0x1F7E0, 0x1F7EB}, {0x1F90C, 0x1F93A},
	{0x1F93C, 0x1F945}, {0x1F947, 0x1F9FF}, {0x1FA70, 0x1FAFF}, {0x20000, 0x2FFFD},
	{0x30000, 0x3FFFD},
};

static size_t cp_width(unsigned cp)
{
	if (cp < 0x20 || (cp >= 0x7F && cp < 0xA0))
		return 0;
	if (cp < 0x300)
		return 1;
	if (in(zero_width, HZ_ARRAY_LEN(zero_width), cp))
		return 0;
	return in(wide, HZ_ARRAY_LEN(wide), cp) ? 2 : 1;
}

size_t hz_ctl_width(const char *s)
{
	size_t w = 0;
	const unsigned char *p = (const unsigned char *)(s ? s : "");
	while (*p) {
		unsigned cp;
		p += utf8_next(p, &cp);
		w += cp_width(cp);
	}
	return w;
}

size_t hz_ctl_fit(const char *s, size_t cols, char *out, size_t outlen)
{
	static const char ellipsis[] = "\xE2\x80\xA6"; /* U+2026, one column */
	if (!outlen)
		return 0;
	s = s ? s : "";
	size_t total = hz_ctl_width(s);
	if (total <= cols && strlen(s) < outlen) {
		memcpy(out, s, strlen(s) + 1);
		return total;
	}
	/* room for the ellipsis: one column, three bytes */
	size_t budget = cols ? cols - 1 : 0, w = 0, o = 0;
	const unsigned char *p = (const unsigned char *)s;
	while (*p) {
		unsigned cp;
		size_t n = utf8_next(p, &cp), cw = cp_width(cp);
		if (w + cw > budget || o + n + sizeof(ellipsis) > outlen)
			break;
		memcpy(out + o, p, n);
		o += n;
		w += cw;
		p += n;
	}
	if (cols && o + sizeof(ellipsis) <= outlen) {
		memcpy(out + o, ellipsis, sizeof(ellipsis));
		return w + 1;
	}
	out[o] = '\0';
	return w;
}

void hz_ctl_pad(FILE *f, const char *s, size_t cols)
{
	size_t w = hz_ctl_width(s);
	fputs(s ? s : "", f);
	for (; w < cols; w++)
		fputc(' ', f);
}

/* ---- table ---- */

void hz_ctl_table_init(struct hz_ctl_table *t, const char *const *head, size_t ncols)
{
	memset(t, 0, sizeof(*t));
	t->head = head;
	t->ncols = HZ_MIN(ncols, (size_t)HZ_CTL_TABLE_MAXCOLS);
}

int hz_ctl_table_add(struct hz_ctl_table *t, const char *const *cells)
{
	if (t->nrows == t->cap) {
		size_t cap = t->cap ? t->cap * 2 : 32;
		char **c = realloc(t->cells, cap * t->ncols * sizeof(*c));
		if (!c)
			return HZ_ENOMEM;
		t->cells = c;
		const char **g = realloc(t->sgr, cap * t->ncols * sizeof(*g));
		if (!g)
			return HZ_ENOMEM;
		t->sgr = g;
		t->cap = cap;
	}
	size_t base = t->nrows * t->ncols;
	for (size_t i = 0; i < t->ncols; i++) {
		char *d = strdup(cells[i] ? cells[i] : "");
		if (!d) {
			while (i--)
				free(t->cells[base + i]);
			return HZ_ENOMEM;
		}
		t->cells[base + i] = d;
		t->sgr[base + i] = NULL;
	}
	t->nrows++;
	return HZ_OK;
}

void hz_ctl_table_colour(struct hz_ctl_table *t, size_t col, const char *sgr)
{
	if (t->nrows && col < t->ncols)
		t->sgr[(t->nrows - 1) * t->ncols + col] = sgr && *sgr ? sgr : NULL;
}

void hz_ctl_table_print(const struct hz_ctl_table *t, FILE *f, bool colour)
{
	size_t w[HZ_CTL_TABLE_MAXCOLS] = {0};
	for (size_t c = 0; c < t->ncols; c++)
		w[c] = hz_ctl_width(t->head[c]);
	for (size_t r = 0; r < t->nrows; r++)
		for (size_t c = 0; c < t->ncols; c++)
			w[c] = HZ_MAX(w[c], hz_ctl_width(t->cells[r * t->ncols + c]));
	for (size_t c = 0; c < t->ncols; c++)
		if (t->limit[c] && w[c] > t->limit[c])
			w[c] = HZ_MAX(t->limit[c], hz_ctl_width(t->head[c]));
	for (size_t r = 0; r <= t->nrows; r++) {
		for (size_t c = 0; c < t->ncols; c++) {
			const char *s = r == 0 ? t->head[c] : t->cells[(r - 1) * t->ncols + c];
			const char *sgr = r == 0 ? NULL : t->sgr[(r - 1) * t->ncols + c];
			char cut[512];
			size_t sw = hz_ctl_width(s);
			if (sw > w[c]) {
				sw = hz_ctl_fit(s, w[c], cut, sizeof(cut));
				s = cut;
			}
			if (colour && sgr)
				fprintf(f, "%s%s%s", sgr, s, HZ_CTL_SGR_RESET);
			else
				fputs(s, f);
			if (c + 1 < t->ncols)
				for (size_t k = sw; k < w[c] + 2; k++)
					fputc(' ', f);
		}
		fputc('\n', f);
	}
}

void hz_ctl_table_free(struct hz_ctl_table *t)
{
	for (size_t i = 0; i < t->nrows * t->ncols; i++)
		free(t->cells[i]);
	free(t->cells);
	free(t->sgr);
	t->cells = NULL;
	t->sgr = NULL;
	t->nrows = t->cap = 0;
}

/* ---- colour ---- */

bool hz_ctl_colour_wanted(enum hz_ctl_colour mode, bool is_tty, const char *no_color,
			  const char *term)
{
	if (mode != HZ_CTL_COLOUR_AUTO)
		return mode == HZ_CTL_COLOUR_ALWAYS;
	if (!is_tty || (no_color && *no_color))
		return false;
	return !(term && strcmp(term, "dumb") == 0);
}

bool hz_ctl_term_256(const char *term, const char *colorterm)
{
	return (colorterm && *colorterm) || (term && strstr(term, "256color"));
}

const char *hz_ctl_level_sgr(enum hz_level level, bool c256)
{
	switch (level) {
	case HZ_LEVEL_RED: return "\033[1;31m";
	case HZ_LEVEL_ORANGE: return c256 ? "\033[38;5;208m" : "\033[1;33m";
	case HZ_LEVEL_YELLOW: return "\033[33m";
	case HZ_LEVEL_BLUE: return "\033[34m";
	default: return "";
	}
}

/* ---- time ---- */

#define MAX_DURATION_S (INT64_C(100) * 366 * 86400)

int hz_ctl_parse_duration(const char *s, int64_t *us)
{
	if (!s || !*s)
		return HZ_EINVAL;
	int64_t total = 0;
	const char *p = s;
	bool bare = true;
	while (*p) {
		if (*p < '0' || *p > '9')
			return HZ_EINVAL;
		char *end;
		errno = 0;
		long long n = strtoll(p, &end, 10);
		if (errno || n > MAX_DURATION_S)
			return HZ_EINVAL;
		int64_t unit;
		switch (*end) {
		case '\0': unit = bare ? 1 : 0; break;
		case 's': unit = 1; break;
		case 'm': unit = 60; break;
		case 'h': unit = 3600; break;
		case 'd': unit = 86400; break;
		case 'w': unit = 7 * 86400; break;
		default: unit = 0;
		}
		if (!unit)
			return HZ_EINVAL;
		total += (int64_t)n * unit;
		if (total > MAX_DURATION_S)
			return HZ_EINVAL;
		p = *end ? end + 1 : end;
		bare = false;
	}
	*us = total * HZ_US_PER_SEC;
	return HZ_OK;
}

int hz_ctl_parse_since(const char *s, int64_t now_us, int64_t *since_us)
{
	int64_t d;
	if (s && hz_time_parse(s, since_us) == 0)
		return HZ_OK;
	if (hz_ctl_parse_duration(s, &d))
		return HZ_EINVAL;
	*since_us = now_us - d;
	return HZ_OK;
}

void hz_ctl_fmt_age(int64_t age_us, char *buf, size_t len)
{
	if (age_us < 0) {
		snprintf(buf, len, "-");
		return;
	}
	long long s = (long long)(age_us / HZ_US_PER_SEC);
	if (s < 60)
		snprintf(buf, len, "%llds", s);
	else if (s < 3600)
		snprintf(buf, len, "%lldm", s / 60);
	else if (s < 86400)
		snprintf(buf, len, "%lldh%02lldm", s / 3600, s / 60 % 60);
	else if (s < 10 * 86400)
		snprintf(buf, len, "%lldd%02lldh", s / 86400, s / 3600 % 24);
	else
		snprintf(buf, len, "%lldd", s / 86400);
}

void hz_ctl_fmt_duration(double seconds, char *buf, size_t len)
{
	if (!(seconds >= 0)) {
		snprintf(buf, len, "-");
		return;
	}
	long long s = (long long)(seconds + 0.5);
	if (s < 60)
		snprintf(buf, len, "%llds", s);
	else if (s < 3600)
		snprintf(buf, len, "%lldm%02llds", s / 60, s % 60);
	else if (s < 86400)
		snprintf(buf, len, "%lldh%02lldm", s / 3600, s / 60 % 60);
	else
		snprintf(buf, len, "%lldd%02lldh", s / 86400, s / 3600 % 24);
}

void hz_ctl_fmt_local(int64_t us, int64_t now_us, bool short_today, char *buf, size_t len)
{
	if (!us) {
		snprintf(buf, len, "-");
		return;
	}
	time_t t = (time_t)(us / HZ_US_PER_SEC - (us % HZ_US_PER_SEC < 0));
	time_t n = (time_t)(now_us / HZ_US_PER_SEC);
	struct tm tm, tn;
	if (!localtime_r(&t, &tm) || !localtime_r(&n, &tn)) {
		snprintf(buf, len, "?");
		return;
	}
	if (short_today && tm.tm_year == tn.tm_year && tm.tm_yday == tn.tm_yday)
		strftime(buf, len, "%H:%M:%S", &tm);
	else
		strftime(buf, len, "%Y-%m-%d %H:%M:%S", &tm);
}

const char *hz_ctl_fmt_time(int64_t us, char *buf, size_t len)
{
	if (us == 0) {
		snprintf(buf, len, "-");
		return buf;
	}
	time_t t = (time_t)(us / HZ_US_PER_SEC - (us % HZ_US_PER_SEC < 0));
	struct tm tm;
	char off[8], date[32];
	if (!localtime_r(&t, &tm)) {
		snprintf(buf, len, "?");
		return buf;
	}
	strftime(off, sizeof(off), "%z", &tm); /* +0800 */
	strftime(date, sizeof(date), "%Y-%m-%dT%H:%M:%S", &tm);
	if (strcmp(off, "+0000") == 0)
		snprintf(buf, len, "%sZ", date);
	else
		snprintf(buf, len, "%s%.3s:%.2s", date, off, off + 3);
	return buf;
}
