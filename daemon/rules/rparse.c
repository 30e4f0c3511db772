/*
 * rparse.c - reading values out of the rules file's YAML tree, with
 * "file:line:col: message" errors (rparse.h). Shared by every section's
 * parser (rules_load.c, context.c). Only the first error is kept.
 */
#include "rules/rparse.h"
#include "core/config.h"
#include "registry/registry.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int hz_rp_level(const char *s) { return (int)hz_level_parse(s); }
int hz_rp_metric(const char *s) { return (int)hz_metric_parse(s); }
int hz_rp_kind(const char *s) { return (int)hz_kind_parse(s); }
int hz_rp_tier(const char *s) { return (int)hz_tier_parse(s); }
int hz_rp_risk(const char *s) { return hz_risk_parse(s); }
int hz_rp_category(const char *s) { return hz_rules_category_parse(s); }

int hz_rp_bad(struct hz_rp *c, const struct hz_ynode *n, const char *fmt, ...)
{
	if (!c->failed) {
		char msg[256];
		va_list ap;
		va_start(ap, fmt);
		vsnprintf(msg, sizeof(msg), fmt, ap);
		va_end(ap);
		hz_errf(c->err, c->errlen, "%s:%d:%d: %s", c->name, n ? n->line : 0, n ? n->col : 0,
			msg);
	}
	c->failed = 1;
	return -1;
}

int hz_rp_scalar(struct hz_rp *c, const struct hz_ynode *n, const char *what)
{
	if (n->type != HZ_Y_SCALAR)
		return hz_rp_bad(c, n, "%s: expected a scalar", what);
	return 0;
}

int hz_rp_double(struct hz_rp *c, const struct hz_ynode *n, double *out)
{
	if (hz_rp_scalar(c, n, n->key ? n->key : "value"))
		return -1;
	char *end;
	errno = 0;
	double v = strtod(n->scalar, &end);
	if (end == n->scalar || *end || errno || !isfinite(v))
		return hz_rp_bad(c, n, "expected a finite number, got \"%s\"", n->scalar);
	*out = v;
	return 0;
}

int hz_rp_enum(struct hz_rp *c, const struct hz_ynode *n, int (*parse)(const char *),
		    const char *what, int *out)
{
	if (hz_rp_scalar(c, n, what))
		return -1;
	int v = parse(n->scalar);
	if (v <= 0)
		return hz_rp_bad(c, n, "unknown %s \"%s\"", what, n->scalar);
	*out = v;
	return 0;
}


int hz_rp_str(struct hz_rp *c, const struct hz_ynode *n, char *dst, size_t cap)
{
	if (hz_rp_scalar(c, n, n->key ? n->key : "value"))
		return -1;
	size_t len = strlen(n->scalar);
	if (len >= cap || !len)
		return hz_rp_bad(c, n, "\"%s\" is empty or too long", n->scalar);
	memcpy(dst, n->scalar, len + 1);
	return 0;
}

int hz_rp_duration(struct hz_rp *c, const struct hz_ynode *n, int64_t *us)
{
	if (hz_rp_scalar(c, n, n->key ? n->key : "value"))
		return -1;
	if (hz_parse_duration(n->scalar, us))
		return hz_rp_bad(c, n, "expected a duration such as 30s, 5m, 15d, got \"%s\"", n->scalar);
	return 0;
}

int hz_rp_bool(struct hz_rp *c, const struct hz_ynode *n, bool *out)
{
	if (n->type != HZ_Y_SCALAR || (strcmp(n->scalar, "true") && strcmp(n->scalar, "false")))
		return hz_rp_bad(c, n, "%s: expected true or false", n->key ? n->key : "value");
	*out = !strcmp(n->scalar, "true");
	return 0;
}

int hz_rp_count(struct hz_rp *c, const struct hz_ynode *n, int lo, int hi, int *out)
{
	double v = 0;
	if (hz_rp_double(c, n, &v))
		return -1;
	if (v != (int)v || v < lo || v > hi)
		return hz_rp_bad(c, n, "%s: expected a whole number from %d to %d", n->key, lo, hi);
	*out = (int)v;
	return 0;
}

/* A name or a list of names: "kind: x" or "kind: [x, y]". */
int hz_rp_match(struct hz_rp *c, const struct hz_ynode *n, struct hz_match *m)
{
	memset(m, 0, sizeof(*m));
	if (n->type == HZ_Y_SCALAR)
		return hz_rp_str(c, n, m->v[m->n++], sizeof(m->v[0]));
	if (n->type != HZ_Y_SEQ)
		return hz_rp_bad(c, n, "%s: expected a name or a list of names", n->key);
	for (const struct hz_ynode *i = n->child; i; i = i->next) {
		if (m->n == HZ_MATCH_MAX)
			return hz_rp_bad(c, i, "%s: at most %d names", n->key, HZ_MATCH_MAX);
		if (hz_rp_str(c, i, m->v[m->n], sizeof(m->v[0])))
			return -1;
		m->n++;
	}
	if (!m->n)
		return hz_rp_bad(c, n, "%s: an empty list matches nothing", n->key);
	return 0;
}
