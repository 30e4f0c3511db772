/*
 * log.c - diagnostic log lines: "2026-11-23T11:29:59.123456Z hazardd[pid] LEVEL: text".
 * One fprintf per line under the stdio lock, so threads do not interleave.
 */
#include "core/log.h"
#include "core/hz.h"

#include <stdarg.h>
#include <string.h>
#include <unistd.h>

int hz_log_level_current = HZ_LOG_INFO;
static FILE *log_file;

static const char *const level_names[] = {"error", "warn", "info", "debug"};

void hz_log_set_level(enum hz_log_level l)
{
	hz_log_level_current = (int)l;
}

int hz_log_level_parse(const char *s)
{
	for (size_t i = 0; i < HZ_ARRAY_LEN(level_names); i++)
		if (strcmp(s, level_names[i]) == 0)
			return (int)i;
	return -1;
}

void hz_log_set_file(FILE *f)
{
	log_file = f;
}

void hz_log_write(enum hz_log_level l, const char *fmt, ...)
{
	FILE *f = log_file ? log_file : stderr;
	char ts[HZ_TIME_BUFLEN], line[2048];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	fprintf(f, "%s hazardd[%d] %s: %s\n", hz_time_format(hz_now_us(), ts), (int)getpid(),
		level_names[l], line);
	fflush(f);
}
