/* test_config.c - the config table: defaults, parsing, errors with
 * file:line, environment overrides, secrets masked in --print-config. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/config.h"

static void test_defaults_valid(void **state)
{
	(void)state;
	struct hz_config c;
	char err[256];
	hz_config_init(&c);
	assert_int_equal(hz_config_validate(&c, err, sizeof(err)), 0);
	assert_string_equal(c.kafka_topic_readings, "hazard.readings");
	assert_int_equal(c.batch_max, 1000);
	assert_int_equal(c.batch_wait_us, 5000);
	assert_int_equal(c.max_payload, 64 * 1024);
	assert_true(c.mqtt_enabled);
	hz_config_free(&c);
}

static void test_parse_values(void **state)
{
	(void)state;
	struct hz_config c;
	char err[256];
	const char *text = "# comment\n\n pg.dsn = host=db1 dbname=hazard \n"
			   "pipeline.batch_wait = 250ms\nmqtt.enabled = no\n"
			   "pipeline.max_payload = 16KiB\nmqtt.url = \"ssl://b:8883\"\n"
			   "kafka.rdkafka.sasl.password = hunter2\nkafka.rdkafka.linger.ms = 7\n";
	hz_config_init(&c);
	assert_int_equal(hz_config_parse(&c, "t.conf", text, strlen(text), err, sizeof(err)), 0);
	assert_string_equal(c.pg_dsn, "host=db1 dbname=hazard");
	assert_int_equal(c.batch_wait_us, 250000);
	assert_false(c.mqtt_enabled);
	assert_int_equal(c.max_payload, 16384);
	assert_string_equal(c.mqtt_url, "ssl://b:8883");
	assert_int_equal(c.n_kafka_props, 2);
	assert_string_equal(c.kafka_props[1].key, "linger.ms");
	hz_config_free(&c);
}

static void expect_error(const char *text, const char *want)
{
	struct hz_config c;
	char err[256] = "";
	hz_config_init(&c);
	assert_int_equal(hz_config_parse(&c, "t.conf", text, strlen(text), err, sizeof(err)),
			 HZ_ECONFIG);
	if (!strstr(err, want))
		fail_msg("error \"%s\" does not contain \"%s\"", err, want);
	hz_config_free(&c);
}

static void test_errors_name_file_line_key(void **state)
{
	(void)state;
	expect_error("log.level = info\npg.dns = x\n", "t.conf:2: pg.dns: unknown key");
	expect_error("pipeline.batch_wait = soon\n", "t.conf:1: pipeline.batch_wait: invalid value \"soon\"");
	expect_error("\n\nmqtt.enabled = maybe\n", "t.conf:3: mqtt.enabled");
	expect_error("pipeline.batch_max = -3\n", "non-negative integer");
	expect_error("just words\n", "t.conf:1: expected \"key = value\"");
	expect_error("pipeline.max_payload = 12 parsecs\n", "expected a size");
}

static void test_inline_comments_and_quotes(void **state)
{
	(void)state;
	struct hz_config c;
	char err[256];
	const char *text = "log.level = debug   # chatty\n"
			   "mqtt.password = \"p#ss word\"  # quoted keeps #\n"
			   "pg.sql_dir =        # empty\n"
			   "kafka.brokers = a:1,b:2#not-a-comment\n";
	hz_config_init(&c);
	assert_int_equal(hz_config_parse(&c, "t", text, strlen(text), err, sizeof(err)), 0);
	assert_string_equal(c.log_level, "debug");
	assert_string_equal(c.mqtt_password, "p#ss word");
	assert_string_equal(c.pg_sql_dir, "");
	assert_string_equal(c.kafka_brokers, "a:1,b:2#not-a-comment");
	hz_config_free(&c);
	expect_error("mqtt.password = \"open\n", "t.conf:1: mqtt.password: unterminated");
}

/* The annotated example that ships must load and validate as it is. */
static void test_shipped_example(void **state)
{
	(void)state;
	struct hz_config c;
	char err[512];
	hz_config_init(&c);
	if (hz_config_load(&c, "deploy/hazardd.conf.example", err, sizeof(err)) ||
	    hz_config_validate(&c, err, sizeof(err)))
		fail_msg("deploy/hazardd.conf.example: %s", err);
	assert_string_equal(c.log_level, "info");
	assert_string_equal(c.kafka_out_format, "protobuf");
	assert_int_equal(c.batch_wait_us, 5000);
	hz_config_free(&c);
}

static void test_validate(void **state)
{
	(void)state;
	struct hz_config c;
	char err[256];
	hz_config_init(&c);
	free(c.mqtt_out_format);
	c.mqtt_out_format = strdup("xml");
	assert_int_equal(hz_config_validate(&c, err, sizeof(err)), HZ_ECONFIG);
	assert_non_null(strstr(err, "mqtt.out_format"));
	hz_config_free(&c);
	hz_config_init(&c);
	c.mqtt_enabled = c.kafka_enabled = false;
	assert_int_equal(hz_config_validate(&c, err, sizeof(err)), HZ_ECONFIG);
	hz_config_free(&c);
}

static void test_env_overrides(void **state)
{
	(void)state;
	struct hz_config c;
	char err[256];
	char *env[] = {"HAZARDD_PG_DSN=dbname=other", "HAZARDD_KAFKA_TOPIC_READINGS=r2",
		       "HAZARDD_PIPELINE_BATCH_MAX=7", "UNRELATED=1", NULL};
	hz_config_init(&c);
	assert_int_equal(hz_config_env(&c, env, err, sizeof(err)), 0);
	assert_string_equal(c.pg_dsn, "dbname=other");
	assert_string_equal(c.kafka_topic_readings, "r2");
	assert_int_equal(c.batch_max, 7);
	char *bad[] = {"HAZARDD_PIPELINE_BATCH_MAX=lots", NULL};
	assert_int_equal(hz_config_env(&c, bad, err, sizeof(err)), HZ_ECONFIG);
	assert_non_null(strstr(err, "HAZARDD_PIPELINE_BATCH_MAX"));
	hz_config_free(&c);
}

static void test_print_masks_secrets(void **state)
{
	(void)state;
	struct hz_config c;
	char err[256];
	const char *text = "pg.dsn = host=x password=canary-pg-123\nmqtt.password = canary-mq-456\n"
			   "kafka.rdkafka.sasl.password = canary-k-789\n";
	hz_config_init(&c);
	assert_int_equal(hz_config_parse(&c, "t", text, strlen(text), err, sizeof(err)), 0);
	char *out = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&out, &len);
	hz_config_print(&c, f);
	fclose(f);
	assert_null(strstr(out, "canary"));
	assert_non_null(strstr(out, "mqtt.password"));
	free(out);
	hz_config_free(&c);
}

static void test_durations_sizes(void **state)
{
	(void)state;
	int64_t v;
	assert_int_equal(hz_parse_duration("15d", &v), 0);
	assert_int_equal(v, 15LL * 86400 * 1000000);
	assert_int_equal(hz_parse_duration("1.5s", &v), 0);
	assert_int_equal(v, 1500000);
	assert_int_equal(hz_parse_duration("30", &v), 0);
	assert_int_equal(v, 30000000);
	assert_int_not_equal(hz_parse_duration("-1s", &v), 0);
	assert_int_not_equal(hz_parse_duration("nan", &v), 0);
	assert_int_not_equal(hz_parse_duration("-nan", &v), 0);
	assert_int_not_equal(hz_parse_duration("inf", &v), 0);
	assert_int_not_equal(hz_parse_duration("1 fortnight", &v), 0);
	assert_int_equal(hz_parse_size("2MiB", &v), 0);
	assert_int_equal(v, 2 * 1024 * 1024);
	assert_int_not_equal(hz_parse_size("99999999999999999999", &v), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_defaults_valid),
		cmocka_unit_test(test_parse_values),
		cmocka_unit_test(test_errors_name_file_line_key),
		cmocka_unit_test(test_inline_comments_and_quotes),
		cmocka_unit_test(test_shipped_example),
		cmocka_unit_test(test_validate),
		cmocka_unit_test(test_env_overrides),
		cmocka_unit_test(test_print_masks_secrets),
		cmocka_unit_test(test_durations_sizes),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
