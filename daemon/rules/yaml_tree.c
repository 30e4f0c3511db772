/*
 * yaml_tree.c - libyaml event stream -> hz_ynode tree.
 * Bounded: at most HZ_YAML_MAX_DEPTH levels, HZ_YAML_MAX_NODES nodes and
 * HZ_YAML_MAX_KEYS keys in one map. Duplicate keys are found by a linear
 * scan of the map, O(keys) per key: the key bound keeps a hostile file to
 * O(nodes * HZ_YAML_MAX_KEYS) work (without it, one flat map of 100,000
 * keys took 18 s). Every message, including "empty document", carries
 * name:line:col.
 */
#include "rules/yaml_tree.h"

#include <stdlib.h>
#include <string.h>
#include <yaml.h>

#define HZ_YAML_MAX_DEPTH 32
#define HZ_YAML_MAX_NODES 200000
#define HZ_YAML_MAX_KEYS 1000 /* per map; the rules file's largest has ~10 */

struct builder {
	const char *name;
	char *err;
	size_t errlen;
	size_t nodes;
	struct hz_ynode *stack[HZ_YAML_MAX_DEPTH];
	struct hz_ynode *last[HZ_YAML_MAX_DEPTH]; /* last child, for O(1) append */
	char *pending_key[HZ_YAML_MAX_DEPTH];     /* map key waiting for its value */
	size_t keys[HZ_YAML_MAX_DEPTH];           /* keys in the open map */
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

/* libyaml gives only a byte offset for a reader error (bad UTF-8, a
 * control character): count lines and characters up to it, as its marks do. */
static yaml_mark_t mark_at(const char *text, size_t len, size_t off)
{
	yaml_mark_t m = {0, 0, 0};
	if (off > len)
		off = len;
	for (size_t i = 0; i < off; i++) {
		unsigned char ch = (unsigned char)text[i];
		if (ch == '\n' || (ch == '\r' && (i + 1 == len || text[i + 1] != '\n'))) {
			m.line++;
			m.column = 0;
		} else if ((ch & 0xC0) != 0x80 && ch != '\r') {
			m.column++; /* a character starts here */
		}
	}
	m.index = off;
	return m;
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
			if (b->keys[d] == HZ_YAML_MAX_KEYS) {
				char msg[64];
				snprintf(msg, sizeof(msg), "a map with more than %d keys", HZ_YAML_MAX_KEYS);
				hz_yaml_free(n);
				return fail(b, m, msg);
			}
			for (struct hz_ynode *c = parent->child; c; c = c->next)
				if (!strcmp(c->key, n->scalar)) {
					char msg[160];
					snprintf(msg, sizeof(msg), "duplicate key \"%.100s\"", n->scalar);
					hz_yaml_free(n);
					return fail(b, m, msg);
				}
			b->keys[d]++;
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
		hz_errf(err, errlen, "%s:1:1: could not initialise the YAML parser", name);
		return NULL;
	}
	yaml_parser_set_input_string(&p, (const unsigned char *)text, len);
	int rc = 0, done = 0;
	yaml_mark_t end = {0, 0, 0};
	while (!done && rc == 0) {
		yaml_event_t ev;
		if (!yaml_parser_parse(&p, &ev)) {
			yaml_mark_t at = p.problem_mark;
			if (p.error == YAML_READER_ERROR) /* only the byte offset is set */
				at = mark_at(text, len, p.problem_offset);
			fail(&b, &at, p.problem ? p.problem : "syntax error");
			rc = -1;
			break;
		}
		struct hz_ynode *n;
		switch (ev.type) {
		case YAML_STREAM_END_EVENT:
			done = 1;
			end = ev.start_mark;
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
			if (ev.type == YAML_SEQUENCE_START_EVENT ? ev.data.sequence_start.anchor != NULL
								 : ev.data.mapping_start.anchor != NULL) {
				rc = fail(&b, &ev.start_mark, "anchors are not allowed");
				break;
			}
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
				b.keys[b.depth] = 0;
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
		fail(&b, &end, "empty document");
		return NULL;
	}
	return b.root;
}
