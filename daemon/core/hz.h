/*
 * hz.h - definitions every hazardd module shares: return codes, the clock,
 * small helpers. Nothing here allocates or does I/O.
 */
#ifndef HZ_H
#define HZ_H

#include <stddef.h>
#include <stdint.h>
#include <stdbool.h>

/* Return codes: 0 on success, a negative hz_rc on failure. */
enum hz_rc {
	HZ_OK = 0,
	HZ_ERR = -1,        /* generic failure; err text says why */
	HZ_ENOMEM = -2,
	HZ_EINVAL = -3,     /* bad input: becomes a dead letter */
	HZ_EFAULTVAL = -4,  /* well-formed, but a value a sensor cannot produce:
	                     * dead letter and a device-fault ticket */
	HZ_ENOTFOUND = -5,  /* unknown device, site, ticket, key */
	HZ_ETRANSIENT = -6, /* retry later (database or broker unavailable) */
	HZ_EFULL = -7,      /* a bounded queue or budget is full */
	HZ_EDUP = -8,       /* already applied (idempotent replay) */
	HZ_ECONFIG = -9,
};

#define HZ_ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))
#define HZ_MIN(a, b) ((a) < (b) ? (a) : (b))
#define HZ_MAX(a, b) ((a) > (b) ? (a) : (b))

#define HZ_US_PER_SEC INT64_C(1000000)

/* Wall clock in microseconds since the Unix epoch. Rule evaluation never
 * calls this: it takes `now` as an argument. */
int64_t hz_now_us(void);
/* Monotonic clock in microseconds, for intervals and timeouts. */
int64_t hz_mono_us(void);

/* Format `us` as RFC 3339 UTC with microseconds ("2026-11-23T11:29:59.123456Z").
 * `buf` needs HZ_TIME_BUFLEN bytes. Returns buf. */
#define HZ_TIME_BUFLEN 32
char *hz_time_format(int64_t us, char *buf);
/* Parse RFC 3339 ("2026-11-23T11:29:59Z", fraction and offset optional).
 * Returns 0 and sets *us, or HZ_EINVAL. */
int hz_time_parse(const char *s, int64_t *us);

/* snprintf into err/errlen that tolerates err == NULL. */
void hz_errf(char *err, size_t errlen, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* True when s[0..len) is valid UTF-8 with no NUL byte. */
bool hz_utf8_valid(const char *s, size_t len);

/* A 64-bit hash of p[0..len) for in-memory tables, eight bytes a step.
 * Not stable across versions: nothing stores it. */
uint64_t hz_hash(const void *p, size_t len, uint64_t seed);

#endif
