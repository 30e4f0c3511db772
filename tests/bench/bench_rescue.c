/*
 * bench_rescue.c - the dispatch suggestion at scale: N sites (default
 * 1,000,000) and U rescue units (default 3,000) spread over a
 * Zhejiang-sized box, dense around one city like a real registry. Prints
 * the index build time, the time to suggest for every site (nearest unit
 * of each of the three kinds, the rescue-coverage loop) and, as the
 * baseline, a brute-force scan for a sample of sites scaled up.
 *
 *   bench_rescue [N] [U]
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "registry/rescue.h"

static uint64_t rs = 0x9E3779B97F4A7C15ULL;
static double rnd(double lo, double hi)
{
	rs ^= rs >> 12;
	rs ^= rs << 25;
	rs ^= rs >> 27;
	return lo + (hi - lo) * (double)((rs * 2685821657736338717ULL) >> 11) / 9007199254740992.0;
}

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
	size_t n = argc > 1 ? (size_t)atol(argv[1]) : 1000000;
	size_t nu = argc > 2 ? (size_t)atol(argv[2]) : 3000;
	struct hz_rescue_unit *u = calloc(nu, sizeof(*u));
	double *lat = malloc(n * sizeof(double)), *lon = malloc(n * sizeof(double));
	if (!u || !lat || !lon)
		return 1;
	for (size_t i = 0; i < nu; i++) {
		snprintf(u[i].unit_id, sizeof(u[i].unit_id), "U%06zu", i);
		u[i].kind = i % 4 == 0    ? HZ_UNIT_BRIGADE
			    : i % 40 == 1 ? HZ_UNIT_FIRE_STATION
					  : HZ_UNIT_MICRO_STATION;
		bool city = i % 3 != 0;
		u[i].lat = city ? rnd(30.0, 30.6) : rnd(27.0, 31.2);
		u[i].lon = city ? rnd(119.8, 120.6) : rnd(118.0, 122.5);
	}
	for (size_t i = 0; i < n; i++) {
		bool city = i % 3 != 0;
		lat[i] = city ? rnd(30.0, 30.6) : rnd(27.0, 31.2);
		lon[i] = city ? rnd(119.8, 120.6) : rnd(118.0, 122.5);
	}
	double t0 = now_s();
	struct hz_rescue_index *ix = hz_rescue_index_new(u, nu);
	double t_build = now_s() - t0;
	struct hz_dispatch_params p;
	hz_dispatch_params_default(&p);
	size_t inside = 0;
	t0 = now_s();
	for (size_t i = 0; i < n; i++) {
		struct hz_dispatch d;
		hz_dispatch_suggest(ix, &p, lat[i], lon[i],
				    i % 2 ? HZ_AREA_TOWN : HZ_AREA_COUNTRYSIDE, &d);
		inside += d.inside_circle;
	}
	double t_all = now_s() - t0;
	/* baseline: three brute-force scans (one per kind) for a sample */
	size_t sample = n < 2000 ? n : 2000;
	volatile double sink = 0;
	t0 = now_s();
	for (size_t i = 0; i < sample; i++)
		for (int k = HZ_UNIT_MICRO_STATION; k < HZ_UNIT_KIND_COUNT; k++) {
			double best = INFINITY;
			for (size_t j = 0; j < nu; j++)
				if (u[j].kind == k) {
					double dd = hz_geo_distance_m(lat[i], lon[i], u[j].lat,
								      u[j].lon);
					if (dd < best)
						best = dd;
				}
			sink += best;
		}
	double t_scan = (now_s() - t0) * (double)n / (double)sample;
	printf("bench_rescue: %zu sites, %zu units\n", n, nu);
	printf("  index build            %8.2f ms\n", t_build * 1e3);
	printf("  suggest, every site    %8.2f s  (%.2f us per site, 3 kinds; %zu "
	       "inside a circle)\n",
	       t_all, t_all / (double)n * 1e6, inside);
	printf("  brute-force scan       %8.2f s  (estimated from %zu sites)\n", t_scan, sample);
	printf("  ratio scan / index     %8.1f\n", t_scan / t_all);
	hz_rescue_index_destroy(ix);
	free(u);
	free(lat);
	free(lon);
	return sink < 0;
}
