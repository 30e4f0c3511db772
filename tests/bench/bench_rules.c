/*
 * bench_rules.c - rule evaluations per second on one core, for the
 * shipped rule set (deploy/rules.yaml) over a synthetic registry shaped
 * like the demo's (100 sites, ~10 devices each, every metric), with
 * readings of which ~1 % cross a threshold. Prints the median of 7 runs
 * with condition state (the daemon's path: hysteresis, windows, knocks,
 * in batches of 1,000 with the journal on), without it, and, as the
 * baseline, a loop that only reads the same events.
 *
 *   bench_rules [RULES_FILE] [N]
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/hz.h"
#include "registry/registry.h"
#include "rules/cond.h"
#include "rules/rules.h"

static int cmp_d(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

int main(int argc, char **argv)
{
	const char *path = argc > 1 ? argv[1] : "deploy/rules.yaml";
	long n = argc > 2 ? atol(argv[2]) : 2000000;
	char err[512];
	struct hz_rules *r = hz_rules_load(path, err, sizeof(err));
	if (!r) {
		fprintf(stderr, "bench_rules: %s\n", err);
		return 1;
	}
	enum { SITES = 100, PER = 10 };
	static const char *const kinds[] = {"smoke_detector", "heat_detector", "gas_detector",
					    "co_detector", "charger_monitor", "electrical_monitor",
					    "water_level_gauge", "pressure_gauge"};
	static const enum hz_metric metrics[] = {HZ_METRIC_SMOKE, HZ_METRIC_TEMPERATURE,
						 HZ_METRIC_GAS_LEL, HZ_METRIC_CO,
						 HZ_METRIC_CHARGER_CURRENT, HZ_METRIC_RESIDUAL_CURRENT,
						 HZ_METRIC_WATER_LEVEL, HZ_METRIC_PRESSURE};
	static const double quiet[] = {0.2, 24, 0.5, 3, 2.5, 20, 0.1, 0.35};
	static const double alarm[] = {12, 95, 60, 250, 18, 1200, 2.5, 0.01};
	struct hz_registry_builder *b = hz_registry_builder_new(4, SITES, SITES * PER, 0, 0);
	hz_registry_add_org(b, "C", "city", HZ_ORG_CITY, NULL, err, sizeof(err));
	hz_registry_add_org(b, "K", "county", HZ_ORG_COUNTY, "C", err, sizeof(err));
	hz_registry_add_org(b, "T", "town", HZ_ORG_TOWN, "K", err, sizeof(err));
	hz_registry_add_org(b, "G", "grid", HZ_ORG_GRID, "T", err, sizeof(err));
	char id[64], site[64];
	for (int s = 0; s < SITES; s++) {
		snprintf(site, sizeof(site), "S%03d", s);
		if (hz_registry_add_site(b, site, site, "shop", 1 + s % 4, "G", NULL, NULL, NAN, NAN,
					 err, sizeof(err)))
			fprintf(stderr, "bench_rules: %s\n", err);
	}
	/* the builder takes every site before any device */
	for (int s = 0; s < SITES; s++) {
		snprintf(site, sizeof(site), "S%03d", s);
		for (int d = 0; d < PER; d++) {
			snprintf(id, sizeof(id), "D%03d-%02d", s, d);
			int k = d % 8;
			if (hz_registry_add_device(b, id, site, kinds[k], metrics[k], false, 0, 0, err,
						   sizeof(err)))
				fprintf(stderr, "bench_rules: %s\n", err);
		}
	}
	struct hz_registry *reg;
	if (hz_registry_builder_finish(b, 1, &reg, err, sizeof(err))) {
		fprintf(stderr, "bench_rules: %s\n", err);
		return 1;
	}
	size_t nd;
	const struct hz_device *devs = hz_registry_devices(reg, &nd);
	enum { EVS = 4096 };
	static struct hz_event ev[EVS];
	for (int i = 0; i < EVS; i++) {
		const struct hz_device *d = &devs[(size_t)i * 7919 % nd];
		int k = 0;
		while (metrics[k] != d->metric)
			k++;
		ev[i] = (struct hz_event){.kind = HZ_EV_READING, .event_id = "b", .device_id = d->device_id,
					  .site_id = "", .town_code = "", .dev = d, .site = d->site};
		ev[i].u.reading.metric = d->metric;
		ev[i].u.reading.value = i % 100 == 50 ? alarm[k] : quiet[k];
		ev[i].u.reading.unit = "";
	}
	struct hz_intent out[8];
	double rate[7], base[7], srate[7];
	size_t hits = 0, shits = 0;
	struct hz_cond *c = hz_cond_new();
	int64_t clock = INT64_C(1790000000000000);
	for (int run = 0; run < 7; run++) {
		int64_t t0 = hz_mono_us();
		for (long i = 0; i < n; i++) {
			if (i % 1000 == 0) {
				if (i)
					hz_cond_commit(c);
				hz_cond_begin(c, 1000);
			}
			struct hz_event *e = &ev[i % EVS];
			e->at_us = clock += 1000; /* a reading every ms */
			shits += hz_rules_eval_cond(r, c, e, out, 8);
		}
		hz_cond_commit(c);
		srate[run] = (double)n / ((double)(hz_mono_us() - t0) / 1e6);
		t0 = hz_mono_us();
		for (long i = 0; i < n; i++)
			hits += hz_rules_eval(r, &ev[i % EVS], out, 8);
		rate[run] = (double)n / ((double)(hz_mono_us() - t0) / 1e6);
		volatile double sink = 0;
		t0 = hz_mono_us();
		for (long i = 0; i < n; i++)
			sink += ev[i % EVS].u.reading.value;
		base[run] = (double)n / ((double)(hz_mono_us() - t0) / 1e6);
	}
	qsort(rate, 7, sizeof(double), cmp_d);
	qsort(srate, 7, sizeof(double), cmp_d);
	qsort(base, 7, sizeof(double), cmp_d);
	size_t bytes = 0, recs = hz_cond_stats(c, &bytes);
	printf("rules, median of 7 runs x %ld readings, %zu threshold rules, %zu devices\n", n,
	       r->n_rule, nd);
	printf("  rule evaluations, with state %11.0f /s on one core (%.0f ns each; %.2f %% raise an intent)\n",
	       srate[3], 1e9 / srate[3], 100.0 * (double)shits / (7.0 * (double)n));
	printf("  condition state             %zu records, %zu KiB (%.0f bytes a record)\n", recs,
	       bytes / 1024, recs ? (double)bytes / (double)recs : 0.0);
	printf("  rule evaluations, stateless %12.0f /s on one core (%.0f ns each; %.2f %% raise an intent)\n",
	       rate[3], 1e9 / rate[3], 100.0 * (double)hits / (7.0 * (double)n));
	printf("  baseline: read the events   %12.0f /s\n", base[3]);
	hz_cond_destroy(c);
	hz_registry_destroy(reg);
	hz_rules_destroy(r);
	return 0;
}
