/*
 * rparse.h - reading values out of the rules file's YAML tree. Every
 * helper names the node's file, line and column in its error, keeps the
 * first error only (`failed` stays set) and returns 0 or -1, so a section
 * parser can report everything it checks and stop at the end.
 */
#ifndef HZ_RPARSE_H
#define HZ_RPARSE_H

#include "rules/rules.h"
#include "rules/yaml_tree.h"

struct hz_rp {
	const char *name;  /* the file, for messages */
	char *err;
	size_t errlen;
	int failed;
};

int hz_rp_bad(struct hz_rp *c, const struct hz_ynode *n, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
int hz_rp_scalar(struct hz_rp *c, const struct hz_ynode *n, const char *what);
int hz_rp_double(struct hz_rp *c, const struct hz_ynode *n, double *out);  /* finite */
/* A name that `parse` turns into a positive value ("unknown WHAT" otherwise). */
int hz_rp_enum(struct hz_rp *c, const struct hz_ynode *n, int (*parse)(const char *),
	       const char *what, int *out);
int hz_rp_str(struct hz_rp *c, const struct hz_ynode *n, char *dst, size_t cap); /* non-empty */
int hz_rp_duration(struct hz_rp *c, const struct hz_ynode *n, int64_t *us);     /* 30s, 5m, 15d */
int hz_rp_bool(struct hz_rp *c, const struct hz_ynode *n, bool *out);
int hz_rp_count(struct hz_rp *c, const struct hz_ynode *n, int lo, int hi, int *out);
/* A name or a list of names. */
int hz_rp_match(struct hz_rp *c, const struct hz_ynode *n, struct hz_match *m);

/* Name parsers for hz_rp_enum: 0 when unknown. */
int hz_rp_level(const char *s);
int hz_rp_metric(const char *s);
int hz_rp_kind(const char *s);
int hz_rp_tier(const char *s);
int hz_rp_risk(const char *s);
int hz_rp_category(const char *s);

#endif
