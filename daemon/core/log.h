/*
 * log.h - the daemon's diagnostic log (stderr or a file), PostgreSQL-style
 * wording: lowercase, no period, cause after a colon.
 *
 * The level is checked before the arguments are evaluated. This is not the
 * escalation log (out/out_log.c), which is a contract for operators.
 */
#ifndef HZ_LOG_H
#define HZ_LOG_H

#include <stdio.h>

enum hz_log_level { HZ_LOG_ERROR = 0, HZ_LOG_WARN, HZ_LOG_INFO, HZ_LOG_DEBUG };

extern int hz_log_level_current;

void hz_log_set_level(enum hz_log_level l);
/* Parse "error", "warn", "info", "debug"; returns -1 when unknown. */
int hz_log_level_parse(const char *s);
/* Send the log to `f` (default stderr). Not owned. */
void hz_log_set_file(FILE *f);
void hz_log_write(enum hz_log_level l, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

#define hz_log(l, ...) \
	do { if ((int)(l) <= hz_log_level_current) hz_log_write((l), __VA_ARGS__); } while (0)
#define hz_err(...)   hz_log(HZ_LOG_ERROR, __VA_ARGS__)
#define hz_warn(...)  hz_log(HZ_LOG_WARN, __VA_ARGS__)
#define hz_info(...)  hz_log(HZ_LOG_INFO, __VA_ARGS__)
#define hz_debug(...) hz_log(HZ_LOG_DEBUG, __VA_ARGS__)

#endif
