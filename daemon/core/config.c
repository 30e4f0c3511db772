/*
 * config.c - the table of every setting, the file parser and the
 * environment overrides. The table is the single source for defaults,
 * validation, --print-config and the README's reference.
 *
 * Deliberately a flat `key = value` format: it gives exact file:line
 * errors, needs no library, and maps one-to-one onto environment names.
 */
#include "core/config.h"

#include "core/log.h"

#include <ctype.h>
#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

enum ctype { C_STR, C_SECRET, C_BOOL, C_INT, C_DURATION, C_SIZE, C_DOUBLE };

struct centry {
	const char *key;
	enum ctype type;
	const char *def;
	size_t off;
	const char *help;
};

#define O(f) offsetof(struct hz_config, f)

static const struct centry table[] = {
	{"log.level", C_STR, "info", O(log_level), "error | warn | info | debug"},
	{"log.escalation_file", C_STR, "", O(escalation_log),
	 "escalation log file, one JSON object per line; empty: none"},
	{"log.escalation_stdout", C_BOOL, "true", O(escalation_stdout),
	 "also write the escalation log to stdout"},

	{"pg.dsn", C_SECRET, "dbname=hazard", O(pg_dsn), "libpq connection string"},
	{"pg.sql_dir", C_STR, "", O(pg_sql_dir),
	 "directory of numbered migrations; empty: found next to the binary "
	 "(../share/hazardd/sql) or in the usual places"},
	{"pg.migrate", C_BOOL, "true", O(pg_migrate), "apply pending migrations at start"},
	{"pg.statement_timeout", C_DURATION, "10s", O(pg_statement_timeout_us),
	 "a stalled database is detected after this"},
	{"pg.retry_max", C_DURATION, "5s", O(pg_retry_max_us),
	 "ceiling of the back-off between reconnects"},

	{"pipeline.batch_max", C_INT, "1000", O(batch_max), "messages per transaction"},
	{"pipeline.batch_wait", C_DURATION, "5ms", O(batch_wait_us),
	 "longest wait to fill a batch"},
	{"pipeline.max_payload", C_SIZE, "64KiB", O(max_payload),
	 "larger messages are dead letters"},
	{"pipeline.future_skew", C_DURATION, "1d", O(future_skew_us),
	 "source timestamps further ahead are dead letters"},
	{"pipeline.command_skew", C_DURATION, "10m", O(command_skew_us),
	 "a command's acted_at further from the database clock is flagged (ahead: taken as now)"},
	{"pipeline.outbox_retry", C_DURATION, "5s", O(outbox_retry_us),
	 "re-publish outputs not confirmed after this"},

	{"registry.refresh", C_DURATION, "10s", O(registry_refresh_us),
	 "how often to check hazard.registry_version"},

	{"escalation.takeover_grace", C_DURATION, "2s", O(takeover_grace_us),
	 "a timer of a ticket owned by another instance's Kafka partition is fired here once "
	 "it is this late (its owner is gone or stalled); owned and unowned timers fire at once"},

	{"rules.file", C_STR, "/etc/hazardd/rules.yaml", O(rules_file), "rules (YAML)"},
	{"rules.context_refresh", C_DURATION, "1s", O(context_refresh_us),
	 "how often to re-read silences and open inhibiting/warning tickets"},

	{"dispatch.hazard_types", C_STR, "fire_smoke,fire_heat", O(dispatch_hazard_types),
	 "hazard types whose EscalationNotice names the nearest rescue units; empty: none"},
	{"dispatch.speed_town_kmh", C_DOUBLE, "30", O(dispatch_speed_town_kmh),
	 "travel speed of a rescue unit to a town site"},
	{"dispatch.speed_country_kmh", C_DOUBLE, "40", O(dispatch_speed_country_kmh),
	 "travel speed to a countryside site"},
	{"dispatch.road_factor", C_DOUBLE, "1.3", O(dispatch_road_factor),
	 "road distance / straight-line distance (>= 1)"},
	{"dispatch.micro_circle", C_DURATION, "3m", O(dispatch_micro_circle_us),
	 "towns: a micro fire station arrives within this (the 3 of 1-3-5)"},
	{"dispatch.brigade_circle", C_DURATION, "5m", O(dispatch_brigade_circle_us),
	 "towns: a full-time brigade arrives within this (the 5 of 1-3-5)"},
	{"dispatch.country_circle", C_DURATION, "15m", O(dispatch_country_circle_us),
	 "countryside: any rescue unit arrives within this (the 15-minute circle)"},

	{"mqtt.enabled", C_BOOL, "true", O(mqtt_enabled), "consume MQTT"},
	{"mqtt.url", C_STR, "tcp://127.0.0.1:1883", O(mqtt_url), "tcp:// or ssl://"},
	{"mqtt.client_id", C_STR, "hazardd-1", O(mqtt_client_id),
	 "unique per instance; names the persistent session and the spool"},
	{"mqtt.username", C_STR, "", O(mqtt_username), ""},
	{"mqtt.password", C_SECRET, "", O(mqtt_password), ""},
	{"mqtt.topic_prefix", C_STR, "hazard/v1", O(mqtt_topic_prefix), ""},
	{"mqtt.share_group", C_STR, "", O(mqtt_share_group),
	 "subscribe as $share/<group>/... to spread load over instances"},
	{"mqtt.spool_dir", C_STR, "/var/lib/hazardd/spool", O(mqtt_spool_dir),
	 "crash-safe spool of acknowledged MQTT messages"},
	{"mqtt.queue_max", C_INT, "20000", O(mqtt_queue_max),
	 "messages held in memory before MQTT is back-pressured"},
	{"mqtt.sync_interval", C_DURATION, "100ms", O(mqtt_sync_interval_us),
	 "fdatasync of the spool (process crashes lose nothing regardless)"},
	{"mqtt.keepalive", C_DURATION, "30s", O(mqtt_keepalive_us), ""},
	{"mqtt.session_expiry", C_DURATION, "7d", O(mqtt_session_expiry_us),
	 "how long the broker keeps our queue while we are away"},
	{"mqtt.ca_file", C_STR, "", O(mqtt_ca_file), "TLS"},
	{"mqtt.cert_file", C_STR, "", O(mqtt_cert_file), "TLS client certificate"},
	{"mqtt.key_file", C_STR, "", O(mqtt_key_file), "TLS client key"},
	{"mqtt.tls_verify", C_BOOL, "true", O(mqtt_tls_verify), "verify the broker certificate"},
	{"mqtt.out_enabled", C_BOOL, "true", O(mqtt_out_enabled), "publish outputs on MQTT"},
	{"mqtt.out_format", C_STR, "json", O(mqtt_out_format), "json | protobuf"},

	{"kafka.enabled", C_BOOL, "true", O(kafka_enabled), "consume Kafka"},
	{"kafka.brokers", C_STR, "127.0.0.1:9092", O(kafka_brokers), "bootstrap servers"},
	{"kafka.group_id", C_STR, "hazardd", O(kafka_group_id), "consumer group"},
	{"kafka.topic.readings", C_STR, "hazard.readings", O(kafka_topic_readings), ""},
	{"kafka.topic.status", C_STR, "hazard.status", O(kafka_topic_status), ""},
	{"kafka.topic.reports", C_STR, "hazard.reports", O(kafka_topic_reports), ""},
	{"kafka.topic.warnings", C_STR, "hazard.warnings", O(kafka_topic_warnings), ""},
	{"kafka.topic.commands", C_STR, "hazard.commands", O(kafka_topic_commands), ""},
	{"kafka.topic.tickets", C_STR, "hazard.tickets", O(kafka_topic_tickets), ""},
	{"kafka.topic.escalations", C_STR, "hazard.escalations", O(kafka_topic_escalations), ""},
	{"kafka.topic.results", C_STR, "hazard.command-results", O(kafka_topic_results), ""},
	{"kafka.topic.ratings", C_STR, "hazard.ratings", O(kafka_topic_ratings), ""},
	{"kafka.topic.deadletter", C_STR, "hazard.deadletter", O(kafka_topic_deadletter), ""},
	{"kafka.out_enabled", C_BOOL, "true", O(kafka_out_enabled), "produce outputs to Kafka"},
	{"kafka.out_format", C_STR, "protobuf", O(kafka_out_format), "protobuf | json"},
};

static const char KAFKA_PASSTHRU[] = "kafka.rdkafka.";

static char **slot_str(struct hz_config *c, const struct centry *e)
{
	return (char **)((char *)c + e->off);
}

static void set_str(struct hz_config *c, const struct centry *e, const char *v)
{
	char **s = slot_str(c, e);
	free(*s);
	*s = strdup(v);
}

int hz_parse_duration(const char *s, int64_t *us)
{
	char *end;
	errno = 0;
	double v = strtod(s, &end);
	/* !(v >= 0) also refuses "nan", which would pass v < 0 and make the
	 * conversion to int64_t below undefined */
	if (end == s || errno || !(v >= 0))
		return HZ_EINVAL;
	while (*end == ' ')
		end++;
	double mul;
	if (!*end || !strcmp(end, "s"))
		mul = 1e6;
	else if (!strcmp(end, "ms"))
		mul = 1e3;
	else if (!strcmp(end, "us"))
		mul = 1;
	else if (!strcmp(end, "m") || !strcmp(end, "min"))
		mul = 60e6;
	else if (!strcmp(end, "h"))
		mul = 3600e6;
	else if (!strcmp(end, "d"))
		mul = 86400e6;
	else
		return HZ_EINVAL;
	double r = v * mul;
	if (r > 9.0e18)
		return HZ_EINVAL;
	*us = (int64_t)r;
	return HZ_OK;
}

int hz_parse_size(const char *s, int64_t *bytes)
{
	char *end;
	errno = 0;
	long long v = strtoll(s, &end, 10);
	if (end == s || errno || v < 0)
		return HZ_EINVAL;
	while (*end == ' ')
		end++;
	long long mul;
	if (!*end || !strcmp(end, "B"))
		mul = 1;
	else if (!strcmp(end, "KiB") || !strcmp(end, "K"))
		mul = 1024;
	else if (!strcmp(end, "MiB") || !strcmp(end, "M"))
		mul = 1024 * 1024;
	else if (!strcmp(end, "GiB") || !strcmp(end, "G"))
		mul = 1024LL * 1024 * 1024;
	else
		return HZ_EINVAL;
	if (v > INT64_MAX / mul)
		return HZ_EINVAL;
	*bytes = v * mul;
	return HZ_OK;
}

static int parse_bool(const char *s, bool *b)
{
	if (!strcmp(s, "true") || !strcmp(s, "yes") || !strcmp(s, "on") || !strcmp(s, "1"))
		*b = true;
	else if (!strcmp(s, "false") || !strcmp(s, "no") || !strcmp(s, "off") || !strcmp(s, "0"))
		*b = false;
	else
		return HZ_EINVAL;
	return HZ_OK;
}

/* Set one key; on error, err gets "key: reason" (the caller prefixes where). */
static int config_set(struct hz_config *c, const char *key, const char *val, char *err,
		      size_t errlen)
{
	if (!strncmp(key, KAFKA_PASSTHRU, sizeof(KAFKA_PASSTHRU) - 1)) {
		const char *prop = key + sizeof(KAFKA_PASSTHRU) - 1;
		if (!*prop) {
			hz_errf(err, errlen, "%s: missing librdkafka property name", key);
			return HZ_ECONFIG;
		}
		for (size_t i = 0; i < c->n_kafka_props; i++)
			if (!strcmp(c->kafka_props[i].key, prop)) {
				free(c->kafka_props[i].value);
				c->kafka_props[i].value = strdup(val);
				return HZ_OK;
			}
		if (c->n_kafka_props == HZ_CONFIG_MAX_PASSTHRU) {
			hz_errf(err, errlen, "%s: too many librdkafka properties (max %d)", key,
				HZ_CONFIG_MAX_PASSTHRU);
			return HZ_ECONFIG;
		}
		c->kafka_props[c->n_kafka_props].key = strdup(prop);
		c->kafka_props[c->n_kafka_props].value = strdup(val);
		c->n_kafka_props++;
		return HZ_OK;
	}
	const struct centry *e = NULL;
	for (size_t i = 0; i < HZ_ARRAY_LEN(table); i++)
		if (!strcmp(table[i].key, key)) {
			e = &table[i];
			break;
		}
	if (!e) {
		hz_errf(err, errlen, "%s: unknown key", key);
		return HZ_ECONFIG;
	}
	void *slot = (char *)c + e->off;
	int rc = HZ_OK;
	const char *what = "";
	switch (e->type) {
	case C_STR:
	case C_SECRET:
		set_str(c, e, val);
		break;
	case C_BOOL:
		rc = parse_bool(val, slot);
		what = "expected true or false";
		break;
	case C_INT: {
		char *end;
		errno = 0;
		long v = strtol(val, &end, 10);
		if (end == val || *end || errno || v < 0 || v > 100000000) {
			rc = HZ_EINVAL;
			what = "expected a non-negative integer";
		} else {
			*(int *)slot = (int)v;
		}
		break;
	}
	case C_DURATION:
		rc = hz_parse_duration(val, slot);
		what = "expected a duration such as 500ms, 5s, 2m, 1h, 15d";
		break;
	case C_SIZE:
		rc = hz_parse_size(val, slot);
		what = "expected a size such as 4096, 64KiB, 16MiB";
		break;
	case C_DOUBLE: {
		char *end;
		errno = 0;
		double v = strtod(val, &end);
		if (end == val || *end || errno || !(v >= 0) || v > 1e9) {
			rc = HZ_EINVAL;
			what = "expected a non-negative number";
		} else {
			*(double *)slot = v;
		}
		break;
	}
	}
	if (rc) {
		hz_errf(err, errlen, "%s: invalid value \"%s\": %s", key, val, what);
		return HZ_ECONFIG;
	}
	return HZ_OK;
}

void hz_config_init(struct hz_config *c)
{
	memset(c, 0, sizeof(*c));
	for (size_t i = 0; i < HZ_ARRAY_LEN(table); i++) {
		int rc = config_set(c, table[i].key, table[i].def, NULL, 0);
		(void)rc; /* defaults are valid by construction (unit-tested) */
	}
}

static char *trim(char *s)
{
	while (isspace((unsigned char)*s))
		s++;
	char *e = s + strlen(s);
	while (e > s && isspace((unsigned char)e[-1]))
		*--e = '\0';
	return s;
}

int hz_config_parse(struct hz_config *c, const char *name, const char *text, size_t len,
		    char *err, size_t errlen)
{
	size_t pos = 0;
	int line = 0;
	char buf[4096] = "";
	while (pos < len) {
		line++;
		size_t end = pos;
		while (end < len && text[end] != '\n')
			end++;
		size_t n = end - pos;
		if (n >= sizeof(buf)) {
			hz_errf(err, errlen, "%s:%d: line too long", name, line);
			return HZ_ECONFIG;
		}
		if (memchr(text + pos, '\0', n)) {
			hz_errf(err, errlen, "%s:%d: NUL byte", name, line);
			return HZ_ECONFIG;
		}
		memcpy(buf, text + pos, n);
		buf[n] = '\0';
		pos = end + 1;
		char *s = trim(buf);
		if (!*s || *s == '#')
			continue;
		char *eq = strchr(s, '=');
		if (!eq) {
			hz_errf(err, errlen, "%s:%d: expected \"key = value\"", name, line);
			return HZ_ECONFIG;
		}
		*eq = '\0';
		char *key = trim(s), *val = trim(eq + 1);
		if (*val == '"') {
			/* "quoted": may hold # and leading or trailing blanks */
			char *close = strchr(val + 1, '"');
			char *rest = close ? trim(close + 1) : NULL;
			if (!close || (*rest && *rest != '#')) {
				hz_errf(err, errlen, "%s:%d: %s: unterminated or malformed quoted value",
					name, line, key);
				return HZ_ECONFIG;
			}
			*close = '\0';
			val++;
		} else {
			/* an unquoted value ends at " #": the rest is a comment */
			for (char *h = strchr(val, '#'); h; h = strchr(h + 1, '#'))
				if (h == val || h[-1] == ' ' || h[-1] == '\t') {
					*h = '\0';
					val = trim(val);
					break;
				}
		}
		char e2[512];
		if (config_set(c, key, val, e2, sizeof(e2))) {
			hz_errf(err, errlen, "%s:%d: %s", name, line, e2);
			return HZ_ECONFIG;
		}
	}
	return HZ_OK;
}

int hz_config_load(struct hz_config *c, const char *path, char *err, size_t errlen)
{
	FILE *f = fopen(path, "rb");
	if (!f) {
		hz_errf(err, errlen, "could not open config file \"%s\": %s", path, strerror(errno));
		return HZ_ECONFIG;
	}
	char *text = NULL;
	size_t len = 0, cap = 0;
	char chunk[8192];
	size_t n;
	while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0) {
		if (len + n > cap) {
			cap = (len + n) * 2;
			char *t = realloc(text, cap);
			if (!t) {
				free(text);
				fclose(f);
				hz_errf(err, errlen, "out of memory reading \"%s\"", path);
				return HZ_ENOMEM;
			}
			text = t;
		}
		memcpy(text + len, chunk, n);
		len += n;
	}
	fclose(f);
	int rc = hz_config_parse(c, path, text ? text : "", len, err, errlen);
	free(text);
	if (rc)
		return rc;
	extern char **environ;
	return hz_config_env(c, environ, err, errlen);
}

/* HAZARDD_PG_DSN -> pg.dsn: compare against each key's environment name. */
static void env_name(const char *key, char *out, size_t outlen)
{
	size_t o = (size_t)snprintf(out, outlen, "HAZARDD_");
	for (const char *p = key; *p && o + 1 < outlen; p++)
		out[o++] = (*p == '.' || *p == '-') ? '_' : (char)toupper((unsigned char)*p);
	out[o] = '\0';
}

int hz_config_env(struct hz_config *c, char *const *envp, char *err, size_t errlen)
{
	for (size_t i = 0; i < HZ_ARRAY_LEN(table); i++) {
		char name[128];
		env_name(table[i].key, name, sizeof(name));
		size_t nl = strlen(name);
		for (char *const *e = envp; e && *e; e++) {
			if (strncmp(*e, name, nl) || (*e)[nl] != '=')
				continue;
			char e2[512];
			if (config_set(c, table[i].key, *e + nl + 1, e2, sizeof(e2))) {
				hz_errf(err, errlen, "environment %s: %s", name, e2);
				return HZ_ECONFIG;
			}
		}
	}
	return HZ_OK;
}

int hz_config_validate(const struct hz_config *c, char *err, size_t errlen)
{
	if (hz_log_level_parse(c->log_level) < 0) {
		hz_errf(err, errlen, "log.level: invalid value \"%s\": expected error, warn, info or debug",
			c->log_level);
		return HZ_ECONFIG;
	}
	const char *fmts[] = {c->mqtt_out_format, c->kafka_out_format};
	const char *keys[] = {"mqtt.out_format", "kafka.out_format"};
	for (int i = 0; i < 2; i++)
		if (strcmp(fmts[i], "json") && strcmp(fmts[i], "protobuf")) {
			hz_errf(err, errlen, "%s: invalid value \"%s\": expected json or protobuf",
				keys[i], fmts[i]);
			return HZ_ECONFIG;
		}
	if (c->batch_max < 1) {
		hz_errf(err, errlen, "pipeline.batch_max: must be at least 1");
		return HZ_ECONFIG;
	}
	if (c->mqtt_queue_max < 1) {
		hz_errf(err, errlen, "mqtt.queue_max: must be at least 1");
		return HZ_ECONFIG;
	}
	if (c->max_payload < 64 || c->max_payload > 16 * 1024 * 1024) {
		hz_errf(err, errlen, "pipeline.max_payload: must be between 64 and 16MiB");
		return HZ_ECONFIG;
	}
	if (!c->mqtt_enabled && !c->kafka_enabled) {
		hz_errf(err, errlen, "mqtt.enabled and kafka.enabled are both false: nothing to consume");
		return HZ_ECONFIG;
	}
	if (c->dispatch_speed_town_kmh <= 0 || c->dispatch_speed_country_kmh <= 0) {
		hz_errf(err, errlen, "dispatch.speed_town_kmh, dispatch.speed_country_kmh: must be "
				     "above 0");
		return HZ_ECONFIG;
	}
	if (c->dispatch_road_factor < 1) {
		hz_errf(err, errlen, "dispatch.road_factor: must be at least 1");
		return HZ_ECONFIG;
	}
	if (c->mqtt_enabled && !*c->mqtt_client_id) {
		hz_errf(err, errlen, "mqtt.client_id: must not be empty");
		return HZ_ECONFIG;
	}
	return HZ_OK;
}

static bool secret_key(const char *k)
{
	return strstr(k, "password") || strstr(k, "secret") || strstr(k, "sasl") ||
	       strstr(k, "key.password");
}

void hz_config_print(const struct hz_config *c, FILE *f)
{
	for (size_t i = 0; i < HZ_ARRAY_LEN(table); i++) {
		const struct centry *e = &table[i];
		const void *slot = (const char *)c + e->off;
		fprintf(f, "%-28s = ", e->key);
		switch (e->type) {
		case C_STR:
			fprintf(f, "%s", *(char *const *)slot);
			break;
		case C_SECRET:
			fprintf(f, "%s", **(char *const *)slot ? "********" : "");
			break;
		case C_BOOL:
			fprintf(f, "%s", *(const bool *)slot ? "true" : "false");
			break;
		case C_INT:
			fprintf(f, "%d", *(const int *)slot);
			break;
		case C_DURATION:
			fprintf(f, "%lldms", (long long)(*(const int64_t *)slot / 1000));
			break;
		case C_SIZE:
			fprintf(f, "%lld", (long long)*(const int64_t *)slot);
			break;
		case C_DOUBLE:
			fprintf(f, "%g", *(const double *)slot);
			break;
		}
		fprintf(f, "%s%s\n", *e->help ? "   # " : "", e->help);
	}
	for (size_t i = 0; i < c->n_kafka_props; i++)
		fprintf(f, "%s%-14s = %s\n", KAFKA_PASSTHRU, c->kafka_props[i].key,
			secret_key(c->kafka_props[i].key) ? "********" : c->kafka_props[i].value);
}

void hz_config_free(struct hz_config *c)
{
	for (size_t i = 0; i < HZ_ARRAY_LEN(table); i++)
		if (table[i].type == C_STR || table[i].type == C_SECRET) {
			char **s = slot_str(c, &table[i]);
			free(*s);
			*s = NULL;
		}
	for (size_t i = 0; i < c->n_kafka_props; i++) {
		free(c->kafka_props[i].key);
		free(c->kafka_props[i].value);
	}
	c->n_kafka_props = 0;
}
