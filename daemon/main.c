/*
 * main.c - hazardd: arguments, signals, wiring. No logic lives here.
 *
 *   hazardd -c FILE                 run
 *   hazardd -c FILE --check-config  validate config and rules, exit 0/1
 *   hazardd -c FILE --print-config  print the effective config (secrets masked)
 *
 * SIGHUP reloads the rules (a bad file is refused and the old rules stay)
 * and reopens the escalation log; SIGTERM/SIGINT drain and exit 0.
 */
#include "core/config.h"
#include "core/engine.h"
#include "core/log.h"
#include "rules/rules.h"

#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define HAZARDD_VERSION "0.1.0"

static volatile sig_atomic_t stop_flag, reload_flag;

static void on_stop(int sig)
{
	(void)sig;
	stop_flag = 1;
}

static void on_hup(int sig)
{
	(void)sig;
	reload_flag = 1;
}

static void usage(FILE *f)
{
	fprintf(f, "usage: hazardd -c FILE [--check-config | --print-config]\n"
		   "  -c, --config FILE   configuration file (key = value lines)\n"
		   "      --check-config  validate the configuration and the rules, then exit\n"
		   "      --print-config  print the effective configuration, then exit\n"
		   "  -V, --version       print the version\n"
		   "Every key can be overridden by an environment variable, e.g. pg.dsn by\n"
		   "HAZARDD_PG_DSN.\n");
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {{"config", required_argument, NULL, 'c'},
					     {"check-config", no_argument, NULL, 'k'},
					     {"print-config", no_argument, NULL, 'p'},
					     {"version", no_argument, NULL, 'V'},
					     {"help", no_argument, NULL, 'h'},
					     {NULL, 0, NULL, 0}};
	const char *path = NULL;
	bool check = false, print = false;
	int c;
	while ((c = getopt_long(argc, argv, "c:Vh", opts, NULL)) != -1) {
		switch (c) {
		case 'c':
			path = optarg;
			break;
		case 'k':
			check = true;
			break;
		case 'p':
			print = true;
			break;
		case 'V':
			printf("hazardd %s\n", HAZARDD_VERSION);
			return 0;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (!path || optind != argc) {
		usage(stderr);
		return 2;
	}

	struct hz_config cfg;
	char err[2048];
	hz_config_init(&cfg);
	if (hz_config_load(&cfg, path, err, sizeof(err)) ||
	    hz_config_validate(&cfg, err, sizeof(err))) {
		fprintf(stderr, "hazardd: %s\n", err);
		hz_config_free(&cfg);
		return 1;
	}
	hz_log_set_level((enum hz_log_level)hz_log_level_parse(cfg.log_level));
	if (print) {
		hz_config_print(&cfg, stdout);
		hz_config_free(&cfg);
		return 0;
	}
	if (check) {
		struct hz_rules *r = hz_rules_load(cfg.rules_file, err, sizeof(err));
		int rc = r ? 0 : 1;
		if (r)
			printf("%s: configuration is valid; %s: %zu threshold rules\n", path,
			       cfg.rules_file, r->n_rule);
		else
			fprintf(stderr, "hazardd: %s\n", err);
		hz_rules_destroy(r);
		hz_config_free(&cfg);
		return rc;
	}

	struct sigaction sa;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_stop;
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	sa.sa_handler = on_hup;
	sigaction(SIGHUP, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);

	hz_info("hazardd %s starting with %s", HAZARDD_VERSION, path);
	struct hz_engine *e = hz_engine_new(&cfg, err, sizeof(err));
	if (!e) {
		hz_err("could not start: %s", err);
		hz_config_free(&cfg);
		return 1;
	}
	int rc = hz_engine_run(e, &stop_flag, &reload_flag);
	struct hz_engine_stats st;
	hz_engine_stats(e, &st);
	hz_info("stopped: %llu messages in %llu batches, %llu intents, %llu dead letters",
		(unsigned long long)st.messages, (unsigned long long)st.batches,
		(unsigned long long)st.intents, (unsigned long long)st.dead_letters);
	hz_engine_destroy(e);
	hz_config_free(&cfg);
	return rc ? 1 : 0;
}
