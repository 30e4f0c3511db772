/*
 * yaml_tree.h - a YAML document read by libyaml into a small tree of maps,
 * sequences and scalars, each node knowing its line and column, so rule
 * errors can say "rules.yaml:12:7: expected a number".
 *
 * Aliases and anchors (on scalars, maps and sequences) are refused (no
 * billion laughs); depth, node count and keys per map are bounded. Every
 * error, even "empty document", starts with name:line:col. The tree owns
 * all its memory; free it with hz_yaml_free.
 */
#ifndef HZ_YAML_TREE_H
#define HZ_YAML_TREE_H

#include "core/hz.h"

enum hz_ynode_type { HZ_Y_SCALAR, HZ_Y_MAP, HZ_Y_SEQ };

struct hz_ynode {
	enum hz_ynode_type type;
	int line, col;             /* 1-based */
	char *scalar;              /* HZ_Y_SCALAR */
	char *key;                 /* set when this node is a map value */
	struct hz_ynode *child;    /* first child of a map (values, keyed) or sequence */
	struct hz_ynode *next;     /* next sibling */
};

/* Parse `len` bytes. Returns the root (a map, sequence or scalar), or NULL
 * with "name:line:col: reason" in err. */
struct hz_ynode *hz_yaml_parse(const char *name, const char *text, size_t len, char *err,
			       size_t errlen);
void hz_yaml_free(struct hz_ynode *n);  /* accepts NULL */
/* The value for `key` in a map, or NULL. */
const struct hz_ynode *hz_yaml_get(const struct hz_ynode *map, const char *key);

#endif
