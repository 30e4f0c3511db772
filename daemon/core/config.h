/*
 * config.h - hazardd's configuration: one flat file of `section.key = value`
 * lines, every key overridable by an environment variable HAZARDD_SECTION_KEY
 * (dots and dashes become underscores, upper case).
 *
 * Every setting is one row of a table {key, type, default, offset, help}
 * in config.c; `hazardd --print-config` prints the effective values from
 * the same table (secrets shown as "********"). An unknown key or a bad
 * value stops start-up naming file:line: key.
 */
#ifndef HZ_CONFIG_H
#define HZ_CONFIG_H

#include "hz.h"
#include <stdio.h>

#define HZ_CONFIG_MAX_PASSTHRU 64

struct hz_kv {
	char *key, *value;
};

struct hz_config {
	/* log */
	char *log_level;
	char *escalation_log;        /* path, "" for none */
	bool escalation_stdout;      /* also write each line to stdout */

	/* pg */
	char *pg_dsn;
	char *pg_sql_dir;
	bool pg_migrate;
	int64_t pg_statement_timeout_us;
	int64_t pg_retry_max_us;     /* back-off ceiling for transient failures */

	/* pipeline */
	int batch_max;
	int64_t batch_wait_us;
	int64_t max_payload;
	int64_t future_skew_us;
	int64_t outbox_retry_us;
	int64_t command_skew_us;

	/* registry */
	int64_t registry_refresh_us;
	int64_t context_refresh_us;

	/* escalation timers */
	int64_t takeover_grace_us;

	/* rules */
	char *rules_file;

	/* dispatch: rescue units named in fire alarms' EscalationNotices */
	char *dispatch_hazard_types;           /* comma-separated; empty: none */
	double dispatch_speed_town_kmh;
	double dispatch_speed_country_kmh;
	double dispatch_road_factor;
	int64_t dispatch_micro_circle_us;      /* towns: micro fire station */
	int64_t dispatch_brigade_circle_us;    /* towns: full-time brigade, fire station */
	int64_t dispatch_country_circle_us;    /* countryside: every kind */

	/* mqtt */
	bool mqtt_enabled;
	char *mqtt_url;
	char *mqtt_client_id;
	char *mqtt_username;
	char *mqtt_password;
	char *mqtt_topic_prefix;
	char *mqtt_share_group;
	char *mqtt_spool_dir;
	int mqtt_queue_max;
	int64_t mqtt_sync_interval_us;
	int64_t mqtt_keepalive_us;
	int64_t mqtt_session_expiry_us;
	char *mqtt_ca_file, *mqtt_cert_file, *mqtt_key_file;
	bool mqtt_tls_verify;
	bool mqtt_out_enabled;
	char *mqtt_out_format;       /* json | protobuf */

	/* kafka */
	bool kafka_enabled;
	char *kafka_brokers;
	char *kafka_group_id;
	char *kafka_topic_readings, *kafka_topic_status, *kafka_topic_reports;
	char *kafka_topic_warnings, *kafka_topic_commands;
	char *kafka_topic_tickets, *kafka_topic_escalations, *kafka_topic_results;
	char *kafka_topic_ratings, *kafka_topic_deadletter;
	bool kafka_out_enabled;
	char *kafka_out_format;      /* protobuf | json */
	/* kafka.consumer.<prop> / kafka.producer.<prop> / kafka.<prop>:
	 * passed to librdkafka as they are (SASL, TLS, timeouts). */
	struct hz_kv kafka_props[HZ_CONFIG_MAX_PASSTHRU];
	size_t n_kafka_props;
};

/* Fill defaults. */
void hz_config_init(struct hz_config *c);
/* Read `path` over the defaults, then the environment over that.
 * Returns 0, or HZ_ECONFIG with "file:line: key: reason" in err. */
int hz_config_load(struct hz_config *c, const char *path, char *err, size_t errlen);
/* Parse config text (for tests and fuzzing); `name` is used in errors. */
int hz_config_parse(struct hz_config *c, const char *name, const char *text, size_t len,
		    char *err, size_t errlen);
/* Apply HAZARDD_* environment variables. */
int hz_config_env(struct hz_config *c, char *const *envp, char *err, size_t errlen);
/* Cross-field checks after loading. */
int hz_config_validate(const struct hz_config *c, char *err, size_t errlen);
/* Print `key = value` lines, secrets masked. */
void hz_config_print(const struct hz_config *c, FILE *f);
void hz_config_free(struct hz_config *c);

/* Parse "250ms", "5s", "2m", "1h", "15d" (a bare number is seconds). */
int hz_parse_duration(const char *s, int64_t *us);
/* Parse "64KiB", "16MiB", "1GiB", "4096". */
int hz_parse_size(const char *s, int64_t *bytes);

#endif
