/*
 * text.h - what hazardctl needs to print for people: terminal display width
 * of UTF-8 (CJK counts two columns), truncation and padding by columns, an
 * aligned table with optional per-cell colour, ages, durations, and the
 * decision whether to colour at all.
 *
 * Pure functions (time is passed in) except the table printer, which writes
 * to the FILE it is given. Deliberately no locale: wcwidth() depends on
 * LANG, which is often C on a station's terminal; our own table does not.
 */
#ifndef HZ_CTL_TEXT_H
#define HZ_CTL_TEXT_H

#include "core/event.h"
#include "core/hz.h"

#include <stdio.h>

/* Columns `s` takes on a terminal: East Asian wide and fullwidth characters
 * (CJK, Hangul, fullwidth forms, most emoji) count two, combining marks and
 * zero-width characters none, control characters none, an invalid byte
 * one. */
size_t hz_ctl_width(const char *s);

/* Copy `s` into out (outlen bytes) cut to at most `cols` columns, never in
 * the middle of a character; a cut string ends with "…" (one column,
 * counted in `cols`). Returns the columns of the result. */
size_t hz_ctl_fit(const char *s, size_t cols, char *out, size_t outlen);

/* Print `s` then spaces up to `cols` columns (nothing extra when wider). */
void hz_ctl_pad(FILE *f, const char *s, size_t cols);

#define HZ_CTL_TABLE_MAXCOLS 16

/* A table of strings printed with aligned columns, two spaces apart, no
 * trailing blanks. Cells are copied. */
struct hz_ctl_table {
	size_t ncols, nrows, cap;
	const char *const *head;
	size_t limit[HZ_CTL_TABLE_MAXCOLS]; /* widest a column may get; 0: any */
	char **cells;                       /* nrows * ncols, owned */
	const char **sgr;                   /* per cell, static strings or NULL */
};

/* ncols <= HZ_CTL_TABLE_MAXCOLS; `head` is borrowed for the table's life. */
void hz_ctl_table_init(struct hz_ctl_table *t, const char *const *head, size_t ncols);
/* Append a row of ncols cells (NULL prints as ""). HZ_ENOMEM. */
int hz_ctl_table_add(struct hz_ctl_table *t, const char *const *cells);
/* Colour cell `col` of the last row with an SGR sequence (static string). */
void hz_ctl_table_colour(struct hz_ctl_table *t, size_t col, const char *sgr);
/* Print; colours only when `colour`. Cells wider than their column's
 * limit are cut with "…". */
void hz_ctl_table_print(const struct hz_ctl_table *t, FILE *f, bool colour);
void hz_ctl_table_free(struct hz_ctl_table *t);

/* ---- colour ---- */

enum hz_ctl_colour { HZ_CTL_COLOUR_AUTO = 0, HZ_CTL_COLOUR_ALWAYS, HZ_CTL_COLOUR_NEVER };

#define HZ_CTL_SGR_RESET "\033[0m"

/* Whether to colour: ALWAYS yes, NEVER no; AUTO only on a terminal, with
 * NO_COLOR unset or empty (no-color.org) and TERM not "dumb". */
bool hz_ctl_colour_wanted(enum hz_ctl_colour mode, bool is_tty, const char *no_color,
			  const char *term);
/* Whether the terminal has 256 colours: TERM names 256color, or COLORTERM
 * is set (truecolor, 24bit). */
bool hz_ctl_term_256(const char *term, const char *colorterm);
/* The SGR sequence of a level: red bold red, orange 256-colour 208 (bold
 * yellow on 8-colour terminals), yellow yellow, blue blue; "" for none. */
const char *hz_ctl_level_sgr(enum hz_level level, bool c256);

/* ---- time ---- */

/* A duration: a bare number of seconds, or numbers with units s, m, h, d,
 * w, one after another ("90s", "15m", "1h30m", "7d"). Returns 0 or
 * HZ_EINVAL (also for overflow, past 100 years). */
int hz_ctl_parse_duration(const char *s, int64_t *us);
/* --since: an RFC 3339 time, or a duration back from `now_us`. */
int hz_ctl_parse_since(const char *s, int64_t now_us, int64_t *since_us);
/* An age for a table: "45s", "12m", "3h05m", "2d04h", "31d"; "-" for
 * negative ages (clock skew). */
void hz_ctl_fmt_age(int64_t age_us, char *buf, size_t len);
/* A duration for figures: "38s", "4m12s", "2h10m", "3d02h". */
void hz_ctl_fmt_duration(double seconds, char *buf, size_t len);
/* Local time: "2025-10-27 11:15:02" or, when it is the same local day as
 * `now_us`, "11:15:02" (short); "-" for 0. */
void hz_ctl_fmt_local(int64_t us, int64_t now_us, bool short_today, char *buf, size_t len);

/* Local time to the second with its offset, RFC 3339: "2025-10-27T11:15:02+08:00",
 * "...Z" in UTC; "-" for 0. `buf` needs 32 bytes. Returns buf. */
const char *hz_ctl_fmt_time(int64_t us, char *buf, size_t len);

#endif
