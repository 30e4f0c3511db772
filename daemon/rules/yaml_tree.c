/*
 * yaml_tree.c - libyaml event stream -> hz_ynode tree.
 * Bounded: at most HZ_YAML_MAX_DEPTH levels and HZ_YAML_MAX_NODES nodes.
 */
#include "rules/yaml_tree.h"

#include <stdlib.h>
#include <string.h>
#include <yaml.h>

#define HZ_YAML_MAX_DEPTH 32
#define HZ_YAML_MAX_NODES 200000

struct builder {
	const char *name;
	char *err;
	size_t errlen;
	size_t nodes;
	struct hz_ynode *stack[HZ_YAML_MAX_DEPTH];
	struct hz_ynode *last[HZ_YAML_MAX_DEPTH]; /* last child, for O(1) append */
	char *pending_key[HZ_YAML_MAX_DEPTH];     /* map key waiting for its value */
	int depth;
	struct hz_ynode *root;
};

void hz_yaml_free(struct hz_ynode *n)
{
	while (n) {
		struct hz_ynode *next = n->next;
		hz_yaml_free(n->child);
		free(n->scalar);
		free(n->key);
		free(n);
		n = next;
	}
}

const struct hz_ynode *hz_yaml_get(const struct hz_ynode *map, const char *key)
{
	if (!map || map->type != HZ_Y_MAP)
		return NULL;
	for (const struct hz_ynode *c = map->child; c; c = c->next)
		if (c->key && !strcmp(c->key, key))
			return c;
	return NULL;
}

static int fail(struct builder *b, const yaml_mark_t *m, const char *msg)
{
	hz_errf(b->err, b->errlen, "%s:%zu:%zu: %s", b->name, m->line + 1, m->column + 1, msg);
	return -1;
}

/* Attach `n` to the open container, or make it the root. For a map, the
 * first scalar is a key and the next node its value. */
static int attach(struct builder *b, struct hz_ynode *n, const yaml_mark_t *m)
{
	if (b->depth == 0) {
		if (b->root) {
			hz_yaml_free(n);
			return fail(b, m, "more than one document");
		}
		b->root = n;
		return 0;
	}
	int d = b->depth - 1;
	struct hz_ynode *parent = b->stack[d];
	if (parent->type == HZ_Y_MAP) {
		if (!b->pending_key[d]) {
			if (n->type != HZ_Y_SCALAR) {
				hz_yaml_free(n);
				return fail(b, m, "a map key must be a plain scalar");
			}
			for (struct hz_ynode *c = parent->child; c; c = c->next)
				if (!strcmp(c->key, n->scalar)) {
					char msg[160];
					snprintf(msg, sizeof(msg), "duplicate key \"%.100s\"", n->scalar);
					hz_yaml_free(n);
					return fail(b, m, msg);
				}
			b->pending_key[d] = n->scalar;
			n->scalar = NULL;
			hz_yaml_free(n);
			return 0;
		}
		n->key = b->pending_key[d];
		b->pending_key[d] = NULL;
	}
	if (b->last[d])
		b->last[d]->next = n;
	else
		parent->child = n;
	b->last[d] = n;
	return 0;
}

static struct hz_ynode *node_new(struct builder *b, enum hz_ynode_type t, const yaml_mark_t *m)
{
	if (++b->nodes > HZ_YAML_MAX_NODES) {
		fail(b, m, "document too large");
		return NULL;
	}
	struct hz_ynode *n = calloc(1, sizeof(*n));
	if (!n) {
		fail(b, m, "out of memory");
		return NULL;
	}
	n->type = t;
	n->line = (int)m->line + 1;
	n->col = (int)m->column + 1;
	return n;
}

struct hz_ynode *hz_yaml_parse(const char *name, const char *text, size_t len, char *err,
			       size_t errlen)
{
	struct builder b = {.name = name, .err = err, .errlen = errlen};
	yaml_parser_t p;
	if (!yaml_parser_initialize(&p)) {
		hz_errf(err, errlen, "%s: could not initialise the YAML parser", name);
		return NULL;
	}
	yaml_parser_set_input_string(&p, (const unsigned char *)text, len);
	int rc = 0, done = 0;
	while (!done && rc == 0) {
		yaml_event_t ev;
		if (!yaml_parser_parse(&p, &ev)) {
			hz_errf(err, errlen, "%s:%zu:%zu: %s", name, p.problem_mark.line + 1,
				p.problem_mark.column + 1, p.problem ? p.problem : "syntax error");
			rc = -1;
			break;
		}
		struct hz_ynode *n;
		switch (ev.type) {
		case YAML_STREAM_END_EVENT:
			done = 1;
			break;
		case YAML_ALIAS_EVENT:
			rc = fail(&b, &ev.start_mark, "aliases are not allowed");
			break;
		case YAML_SCALAR_EVENT:
			if (ev.data.scalar.anchor) {
				rc = fail(&b, &ev.start_mark, "anchors are not allowed");
				break;
			}
			n = node_new(&b, HZ_Y_SCALAR, &ev.start_mark);
			if (!n) {
				rc = -1;
				break;
			}
			n->scalar = strndup((const char *)ev.data.scalar.value, ev.data.scalar.length);
			if (!n->scalar || strlen(n->scalar) != ev.data.scalar.length) {
				hz_yaml_free(n);
				rc = fail(&b, &ev.start_mark, "NUL byte in a scalar");
				break;
			}
			rc = attach(&b, n, &ev.start_mark);
			break;
		case YAML_SEQUENCE_START_EVENT:
		case YAML_MAPPING_START_EVENT:
			if (b.depth == HZ_YAML_MAX_DEPTH) {
				rc = fail(&b, &ev.start_mark, "nested too deeply");
				break;
			}
			n = node_new(&b, ev.type == YAML_MAPPING_START_EVENT ? HZ_Y_MAP : HZ_Y_SEQ,
				     &ev.start_mark);
			if (!n) {
				rc = -1;
				break;
			}
			rc = attach(&b, n, &ev.start_mark);
			if (rc == 0) {
				b.stack[b.depth] = n;
				b.last[b.depth] = NULL;
				b.pending_key[b.depth] = NULL;
				b.depth++;
			}
			break;
		case YAML_SEQUENCE_END_EVENT:
		case YAML_MAPPING_END_EVENT:
			b.depth--;
			free(b.pending_key[b.depth]);
			b.pending_key[b.depth] = NULL;
			break;
		default:
			break;
		}
		yaml_event_delete(&ev);
	}
	yaml_parser_delete(&p);
	for (int d = 0; d < b.depth; d++)
		free(b.pending_key[d]);
	if (rc) {
		hz_yaml_free(b.root);
		return NULL;
	}
	if (!b.root) {
		hz_errf(err, errlen, "%s: empty document", name);
		return NULL;
	}
	return b.root;
}
