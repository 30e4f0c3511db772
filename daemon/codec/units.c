/*
 * units.c - unit conversion and physical-range checks for readings.
 * Two small constant tables; a reading costs a few strcmp and one multiply.
 * It does not judge whether a value is dangerous (that is rules/), only
 * whether a working sensor could have produced it.
 */
#include "codec/units.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

/*
 * Physical range per metric, in the canonical unit: outside it the sensor
 * is broken, disconnected or lying, never "no hazard" (RELIABILITY.md,
 * rule 5). Wide on purpose: a real fire must never look like a fault.
 *   smoke            0..100 %/m       obscuration is a percentage
 *   temperature      -60..1500 degC   cold-store probes to flame-zone thermocouples
 *   gas_lel          0..100 %LEL      detectors saturate at 100 %LEL
 *   co               0..10000 ppm     electrochemical cells top out near 10,000 ppm
 *   charger_current  0..100 A         an e-bike charger circuit; above that the shunt is shorted
 *   residual_current 0..10000 mA      RCM range up to 10 A
 *   water_level      -50..500 m       above datum; wells below, reservoirs above
 *   pressure         0..100 MPa       hydrant and sprinkler gauges
 */
static const struct {
	const char *unit;
	double lo, hi;
} canon[HZ_METRIC_COUNT] = {
	[HZ_METRIC_NONE] = {"", 0, 0},
	[HZ_METRIC_SMOKE] = {"%/m", 0, 100},
	[HZ_METRIC_TEMPERATURE] = {"degC", -60, 1500},
	[HZ_METRIC_GAS_LEL] = {"%LEL", 0, 100},
	[HZ_METRIC_CO] = {"ppm", 0, 10000},
	[HZ_METRIC_CHARGER_CURRENT] = {"A", 0, 100},
	[HZ_METRIC_RESIDUAL_CURRENT] = {"mA", 0, 10000},
	[HZ_METRIC_WATER_LEVEL] = {"m", -50, 500},
	[HZ_METRIC_PRESSURE] = {"MPa", 0, 100},
};

enum conv { LINEAR, DB_TO_PCT, F_TO_C, K_TO_C };

/* canonical = value * mul for LINEAR; the others are formulas. */
static const struct {
	const char *unit;
	enum hz_metric metric;
	enum conv conv;
	double mul;
} alias[] = {
	{"%/m", HZ_METRIC_SMOKE, LINEAR, 1},
	{"dB/m", HZ_METRIC_SMOKE, DB_TO_PCT, 0},
	{"degC", HZ_METRIC_TEMPERATURE, LINEAR, 1},
	{"C", HZ_METRIC_TEMPERATURE, LINEAR, 1},
	{"\xc2\xb0" "C", HZ_METRIC_TEMPERATURE, LINEAR, 1},   /* °C */
	{"\xe2\x84\x83", HZ_METRIC_TEMPERATURE, LINEAR, 1},   /* ℃ */
	{"F", HZ_METRIC_TEMPERATURE, F_TO_C, 0},
	{"degF", HZ_METRIC_TEMPERATURE, F_TO_C, 0},
	{"\xc2\xb0" "F", HZ_METRIC_TEMPERATURE, F_TO_C, 0},   /* °F */
	{"\xe2\x84\x89", HZ_METRIC_TEMPERATURE, F_TO_C, 0},   /* ℉ */
	{"K", HZ_METRIC_TEMPERATURE, K_TO_C, 0},
	{"%LEL", HZ_METRIC_GAS_LEL, LINEAR, 1},
	{"ppm", HZ_METRIC_GAS_LEL, LINEAR, 1.0 / 500},        /* methane: 100 %LEL = 5 % vol */
	{"ppm", HZ_METRIC_CO, LINEAR, 1},
	{"mg/m3", HZ_METRIC_CO, LINEAR, 24.45 / 28.01},       /* molar volume / molar mass, 25 °C */
	{"mg/m\xc2\xb3", HZ_METRIC_CO, LINEAR, 24.45 / 28.01}, /* mg/m³ */
	{"A", HZ_METRIC_CHARGER_CURRENT, LINEAR, 1},
	{"mA", HZ_METRIC_CHARGER_CURRENT, LINEAR, 0.001},
	{"mA", HZ_METRIC_RESIDUAL_CURRENT, LINEAR, 1},
	{"A", HZ_METRIC_RESIDUAL_CURRENT, LINEAR, 1000},
	{"m", HZ_METRIC_WATER_LEVEL, LINEAR, 1},
	{"cm", HZ_METRIC_WATER_LEVEL, LINEAR, 0.01},
	{"mm", HZ_METRIC_WATER_LEVEL, LINEAR, 0.001},
	{"MPa", HZ_METRIC_PRESSURE, LINEAR, 1},
	{"kPa", HZ_METRIC_PRESSURE, LINEAR, 0.001},
	{"bar", HZ_METRIC_PRESSURE, LINEAR, 0.1},
	{"Pa", HZ_METRIC_PRESSURE, LINEAR, 1e-6},
};

const char *hz_units_canonical(enum hz_metric m)
{
	return (unsigned)m < HZ_METRIC_COUNT ? canon[m].unit : "";
}

/* The unit as it may appear in an error: printable ASCII, at most 32 bytes. */
static const char *shown(const char *s, char *tmp, size_t n)
{
	size_t o = 0;
	for (; *s && o + 5 < n && o < 32; s++) {
		unsigned char ch = (unsigned char)*s;
		if (ch >= 0x20 && ch < 0x7f && ch != '"')
			tmp[o++] = (char)ch;
		else
			o += (size_t)snprintf(tmp + o, n - o, "\\x%02x", ch);
	}
	tmp[o] = '\0';
	return tmp;
}

int hz_units_normalise(struct hz_event *ev, char *err, size_t errlen)
{
	enum hz_metric m = ev->u.reading.metric;
	if (ev->kind != HZ_EV_READING || m <= HZ_METRIC_NONE || m >= HZ_METRIC_COUNT) {
		hz_errf(err, errlen, "not a reading with a metric");
		return HZ_EINVAL;
	}
	const char *unit = ev->u.reading.unit ? ev->u.reading.unit : "";
	double v = ev->u.reading.value;
	if (*unit) {
		size_t i;
		for (i = 0; i < HZ_ARRAY_LEN(alias); i++)
			if (alias[i].metric == m && strcmp(alias[i].unit, unit) == 0)
				break;
		if (i == HZ_ARRAY_LEN(alias)) {
			char tmp[64];
			hz_errf(err, errlen, "unit \"%s\" is not valid for metric %s",
				shown(unit, tmp, sizeof(tmp)), hz_metric_name(m));
			return HZ_EINVAL;
		}
		switch (alias[i].conv) {
		case LINEAR:
			v *= alias[i].mul;
			break;
		case DB_TO_PCT:
			v = 100.0 * (1.0 - pow(10.0, -v / 10.0));
			break;
		case F_TO_C:
			v = (v - 32.0) * 5.0 / 9.0;
			break;
		case K_TO_C:
			v -= 273.15;
			break;
		}
	}
	ev->u.reading.value = v;
	ev->u.reading.unit = canon[m].unit;
	if (!isfinite(v)) {
		hz_errf(err, errlen, "%s reading is not a finite number", hz_metric_name(m));
		return HZ_EFAULTVAL;
	}
	if (v < canon[m].lo || v > canon[m].hi) {
		hz_errf(err, errlen, "%s %g %s is outside the physical range %g..%g %s",
			hz_metric_name(m), v, canon[m].unit, canon[m].lo, canon[m].hi, canon[m].unit);
		return HZ_EFAULTVAL;
	}
	return HZ_OK;
}
