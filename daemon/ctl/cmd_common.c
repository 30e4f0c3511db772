/*
 * cmd_common.c - what every hazardctl command of ctl/ shares: connecting,
 * error, usage and help messages and the exit status they map to, number
 * arguments, JSON output, the daemon's settings and rules (ctl.h).
 */
#include "ctl/ctl.h"
#include "core/hz.h"
#include "store/pg.h"
#include "core/config.h"
#include "registry/rescue.h"
#include "rules/rules.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

PGconn *hz_ctl_connect(const char *dsn, int statement_timeout_ms)
{
	char err[1024];
	PGconn *pg = hz_pg_connect_ex(dsn ? dsn : getenv("HZ_PG_DSN"), "hazardctl",
				      statement_timeout_ms, err, sizeof(err));
	if (!pg)
		fprintf(stderr, "hazardctl: %s\n", err);
	return pg;
}

int hz_ctl_fail(int rc, const char *err)
{
	fprintf(stderr, "hazardctl: %s\n", err);
	return rc == HZ_ETRANSIENT ? HZ_CTL_EXIT_DB : HZ_CTL_EXIT_FAIL;
}

int hz_ctl_usage(const char *cmd, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	fputs("hazardctl: ", stderr);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\nTry 'hazardctl %s%s--help'.\n", cmd ? cmd : "", cmd ? " " : "");
	return HZ_CTL_EXIT_USAGE;
}

int hz_ctl_help(const char *synopsis, const char *help)
{
	printf("usage: hazardctl %s\n\n%s", synopsis, help);
	return HZ_CTL_EXIT_OK;
}

bool hz_ctl_parse_long(const char *s, long min, long *out)
{
	char *end;
	long v = strtol(s, &end, 10);
	if (end == s || *end || v < min)
		return false;
	*out = v;
	return true;
}

json_t *hz_ctl_json_time(int64_t us)
{
	char buf[HZ_TIME_BUFLEN];
	return us ? json_string(hz_time_format(us, buf)) : json_null();
}

json_t *hz_ctl_json_opt(const char *s) { return s && *s ? json_string(s) : json_null(); }

int hz_ctl_json_print(json_t *j)
{
	if (!j)
		return hz_ctl_fail(HZ_ENOMEM, "out of memory building JSON");
	int rc = json_dumpf(j, stdout, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
	fputc('\n', stdout);
	json_decref(j);
	return rc ? hz_ctl_fail(HZ_ERR, "could not write JSON") : HZ_CTL_EXIT_OK;
}

int hz_ctl_dispatch_params(const char *conf, struct hz_config *cfg, struct hz_dispatch_params *p,
			   char *err, size_t errlen)
{
	extern char **environ;
	hz_config_init(cfg);
	int rc = conf ? hz_config_load(cfg, conf, err, errlen)
		      : hz_config_env(cfg, environ, err, errlen);
	if (!rc)
		rc = hz_config_validate(cfg, err, errlen);
	if (rc) {
		hz_config_free(cfg);
		return rc;
	}
	hz_dispatch_params_from_config(p, cfg);
	return HZ_OK;
}

struct hz_rules *hz_ctl_load_rules(const char *conf, char *err, size_t errlen)
{
	extern char **environ;
	static const char deflt[] = "/etc/hazardd/hazardd.conf";
	const char *env = getenv("HAZARDD_CONFIG");
	const char *path = conf && *conf ? conf : env && *env ? env : deflt;
	struct hz_config cfg;
	hz_config_init(&cfg);
	/* no config at the default place: the defaults and the environment */
	int rc = path == deflt && access(path, R_OK) != 0
			 ? hz_config_env(&cfg, environ, err, errlen)
			 : hz_config_load(&cfg, path, err, errlen);
	struct hz_rules *r = NULL;
	if (!rc) {
		char why[1024];
		r = hz_rules_load(cfg.rules_file, why, sizeof(why));
		if (!r)
			hz_errf(err, errlen, "%s", why);
	}
	hz_config_free(&cfg);
	return r;
}
