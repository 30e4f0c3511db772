/*
 * cmd_common.c - what every hazardctl command of ctl/ shares: connecting,
 * error and usage messages, and the exit status they map to (ctl.h).
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
	fprintf(stderr, "\nTry 'hazardctl %s --help'.\n", cmd);
	return HZ_CTL_EXIT_USAGE;
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
