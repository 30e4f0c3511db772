/*
 * test_units.c - unit conversion to the canonical unit of each metric and
 * the physical-range check that turns impossible values into faults.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <math.h>
#include <string.h>

#include "codec/units.h"

static char err[256];

static struct hz_event reading(enum hz_metric m, double v, const char *unit)
{
	struct hz_event ev;
	memset(&ev, 0, sizeof(ev));
	ev.kind = HZ_EV_READING;
	ev.event_id = "r1";
	ev.u.reading.metric = m;
	ev.u.reading.value = v;
	ev.u.reading.unit = unit;
	return ev;
}

/* Normalise and return the canonical value; the call must succeed. */
static double conv(enum hz_metric m, double v, const char *unit)
{
	struct hz_event ev = reading(m, v, unit);
	err[0] = '\0';
	int rc = hz_units_normalise(&ev, err, sizeof(err));
	if (rc != HZ_OK)
		print_error("%s %g %s: %s\n", hz_metric_name(m), v, unit ? unit : "(null)", err);
	assert_int_equal(rc, HZ_OK);
	assert_string_equal(ev.u.reading.unit, hz_units_canonical(m));
	return ev.u.reading.value;
}

static void test_canonical_names(void **state)
{
	(void)state;
	assert_string_equal(hz_units_canonical(HZ_METRIC_SMOKE), "%/m");
	assert_string_equal(hz_units_canonical(HZ_METRIC_TEMPERATURE), "degC");
	assert_string_equal(hz_units_canonical(HZ_METRIC_GAS_LEL), "%LEL");
	assert_string_equal(hz_units_canonical(HZ_METRIC_CO), "ppm");
	assert_string_equal(hz_units_canonical(HZ_METRIC_CHARGER_CURRENT), "A");
	assert_string_equal(hz_units_canonical(HZ_METRIC_RESIDUAL_CURRENT), "mA");
	assert_string_equal(hz_units_canonical(HZ_METRIC_WATER_LEVEL), "m");
	assert_string_equal(hz_units_canonical(HZ_METRIC_PRESSURE), "MPa");
	assert_string_equal(hz_units_canonical(HZ_METRIC_NONE), "");
	assert_string_equal(hz_units_canonical(HZ_METRIC_COUNT), "");
	assert_string_equal(hz_units_canonical((enum hz_metric)-1), "");
}

static void test_canonical_passthrough(void **state)
{
	(void)state;
	/* empty unit, NULL unit and the canonical name itself: unchanged */
	assert_true(conv(HZ_METRIC_TEMPERATURE, 21.5, "") == 21.5);
	assert_true(conv(HZ_METRIC_TEMPERATURE, 21.5, NULL) == 21.5);
	assert_true(conv(HZ_METRIC_TEMPERATURE, 21.5, "degC") == 21.5);
	assert_true(conv(HZ_METRIC_SMOKE, 4, "%/m") == 4);
	assert_true(conv(HZ_METRIC_GAS_LEL, 25, "%LEL") == 25);
	assert_true(conv(HZ_METRIC_CO, 35, "ppm") == 35);
	assert_true(conv(HZ_METRIC_CHARGER_CURRENT, 2.5, "A") == 2.5);
	assert_true(conv(HZ_METRIC_RESIDUAL_CURRENT, 30, "mA") == 30);
	assert_true(conv(HZ_METRIC_WATER_LEVEL, 2.5, "m") == 2.5);
	assert_true(conv(HZ_METRIC_PRESSURE, 0.35, "MPa") == 0.35);
}

static void test_conversions(void **state)
{
	(void)state;
	/* smoke: %/m = 100 * (1 - 10^(-dB/10)) */
	assert_float_equal(conv(HZ_METRIC_SMOKE, 1, "dB/m"), 20.5672, 1e-4);
	assert_float_equal(conv(HZ_METRIC_SMOKE, 0.1, "dB/m"), 2.2763, 1e-4);
	assert_float_equal(conv(HZ_METRIC_SMOKE, 0, "dB/m"), 0, 1e-12);
	/* temperature */
	assert_float_equal(conv(HZ_METRIC_TEMPERATURE, 57, "C"), 57, 1e-12);
	assert_float_equal(conv(HZ_METRIC_TEMPERATURE, 57, "\xc2\xb0" "C"), 57, 1e-12);
	assert_float_equal(conv(HZ_METRIC_TEMPERATURE, 57, "\xe2\x84\x83"), 57, 1e-12);
	assert_float_equal(conv(HZ_METRIC_TEMPERATURE, 212, "F"), 100, 1e-9);
	assert_float_equal(conv(HZ_METRIC_TEMPERATURE, -40, "degF"), -40, 1e-9);
	assert_float_equal(conv(HZ_METRIC_TEMPERATURE, 135, "\xc2\xb0" "F"), 57.2222, 1e-4);
	assert_float_equal(conv(HZ_METRIC_TEMPERATURE, 300, "K"), 26.85, 1e-9);
	/* gas: methane, 1 %LEL = 500 ppm */
	assert_float_equal(conv(HZ_METRIC_GAS_LEL, 2500, "ppm"), 5, 1e-9);
	assert_float_equal(conv(HZ_METRIC_GAS_LEL, 50000, "ppm"), 100, 1e-9);
	/* CO: ppm = mg/m3 * 24.45 / 28.01 */
	assert_float_equal(conv(HZ_METRIC_CO, 28.01, "mg/m3"), 24.45, 1e-9);
	assert_float_equal(conv(HZ_METRIC_CO, 100, "mg/m\xc2\xb3"), 87.2903, 1e-4);
	/* currents */
	assert_float_equal(conv(HZ_METRIC_CHARGER_CURRENT, 2500, "mA"), 2.5, 1e-12);
	assert_float_equal(conv(HZ_METRIC_RESIDUAL_CURRENT, 0.03, "A"), 30, 1e-9);
	/* water level */
	assert_float_equal(conv(HZ_METRIC_WATER_LEVEL, 250, "cm"), 2.5, 1e-12);
	assert_float_equal(conv(HZ_METRIC_WATER_LEVEL, 1250, "mm"), 1.25, 1e-12);
	assert_float_equal(conv(HZ_METRIC_WATER_LEVEL, -300, "cm"), -3, 1e-12);
	/* pressure */
	assert_float_equal(conv(HZ_METRIC_PRESSURE, 350, "kPa"), 0.35, 1e-12);
	assert_float_equal(conv(HZ_METRIC_PRESSURE, 3.5, "bar"), 0.35, 1e-12);
	assert_float_equal(conv(HZ_METRIC_PRESSURE, 350000, "Pa"), 0.35, 1e-12);
}

static void test_unknown_units(void **state)
{
	(void)state;
	struct {
		enum hz_metric m;
		const char *unit, *want;
	} cases[] = {
		{HZ_METRIC_TEMPERATURE, "furlong", "unit \"furlong\" is not valid for metric temperature"},
		{HZ_METRIC_TEMPERATURE, "A", "unit \"A\" is not valid for metric temperature"},
		{HZ_METRIC_TEMPERATURE, "c", "unit \"c\" is not valid for metric temperature"},
		{HZ_METRIC_CO, "%LEL", "unit \"%LEL\" is not valid for metric co"},
		{HZ_METRIC_GAS_LEL, "mg/m3", "unit \"mg/m3\" is not valid for metric gas_lel"},
		{HZ_METRIC_CHARGER_CURRENT, "MA", "unit \"MA\" is not valid for metric charger_current"},
		{HZ_METRIC_PRESSURE, "psi", "unit \"psi\" is not valid for metric pressure"},
		{HZ_METRIC_SMOKE, "\x01\"x", "unit \"\\x01\\x22x\" is not valid for metric smoke"},
	};
	for (size_t i = 0; i < HZ_ARRAY_LEN(cases); i++) {
		struct hz_event ev = reading(cases[i].m, 10, cases[i].unit);
		assert_int_equal(hz_units_normalise(&ev, err, sizeof(err)), HZ_EINVAL);
		assert_string_equal(err, cases[i].want);
		/* unchanged */
		assert_true(ev.u.reading.value == 10);
		assert_string_equal(ev.u.reading.unit, cases[i].unit);
	}
	struct hz_event ev = reading(HZ_METRIC_NONE, 1, "");
	assert_int_equal(hz_units_normalise(&ev, err, sizeof(err)), HZ_EINVAL);
	assert_string_equal(err, "not a reading with a metric");
	ev = reading(HZ_METRIC_SMOKE, 1, "");
	ev.kind = HZ_EV_STATUS;
	assert_int_equal(hz_units_normalise(&ev, err, sizeof(err)), HZ_EINVAL);
	ev = reading(HZ_METRIC_COUNT, 1, "");
	assert_int_equal(hz_units_normalise(&ev, err, sizeof(err)), HZ_EINVAL);
	/* err may be NULL */
	ev = reading(HZ_METRIC_SMOKE, 1, "x");
	assert_int_equal(hz_units_normalise(&ev, NULL, 0), HZ_EINVAL);
}

static void test_physical_range(void **state)
{
	(void)state;
	struct {
		enum hz_metric m;
		double v;
		const char *unit, *want; /* want NULL: accepted */
	} cases[] = {
		{HZ_METRIC_TEMPERATURE, 9999, "", "temperature 9999 degC is outside the physical range -60..1500 degC"},
		{HZ_METRIC_TEMPERATURE, 1500, "", NULL},
		{HZ_METRIC_TEMPERATURE, -60, "C", NULL},
		{HZ_METRIC_TEMPERATURE, 1500.5, "", "temperature 1500.5 degC is outside the physical range -60..1500 degC"},
		{HZ_METRIC_TEMPERATURE, -61, "", "temperature -61 degC is outside the physical range -60..1500 degC"},
		{HZ_METRIC_TEMPERATURE, 0, "K", "temperature -273.15 degC is outside the physical range -60..1500 degC"},
		{HZ_METRIC_TEMPERATURE, 3002, "F", "temperature 1650 degC is outside the physical range -60..1500 degC"},
		{HZ_METRIC_SMOKE, -0.5, "", "smoke -0.5 %/m is outside the physical range 0..100 %/m"},
		{HZ_METRIC_SMOKE, 100.5, "", "smoke 100.5 %/m is outside the physical range 0..100 %/m"},
		{HZ_METRIC_SMOKE, 50, "dB/m", NULL}, /* saturates just under 100 %/m */
		{HZ_METRIC_SMOKE, -1, "dB/m", "smoke -25.8925 %/m is outside the physical range 0..100 %/m"},
		{HZ_METRIC_GAS_LEL, 101, "", "gas_lel 101 %LEL is outside the physical range 0..100 %LEL"},
		{HZ_METRIC_GAS_LEL, 60000, "ppm", "gas_lel 120 %LEL is outside the physical range 0..100 %LEL"},
		{HZ_METRIC_CO, 10001, "", "co 10001 ppm is outside the physical range 0..10000 ppm"},
		{HZ_METRIC_CO, -1, "", "co -1 ppm is outside the physical range 0..10000 ppm"},
		{HZ_METRIC_CHARGER_CURRENT, 150000, "mA", "charger_current 150 A is outside the physical range 0..100 A"},
		{HZ_METRIC_CHARGER_CURRENT, 100, "A", NULL},
		{HZ_METRIC_RESIDUAL_CURRENT, 11, "A", "residual_current 11000 mA is outside the physical range 0..10000 mA"},
		{HZ_METRIC_WATER_LEVEL, -51, "", "water_level -51 m is outside the physical range -50..500 m"},
		{HZ_METRIC_WATER_LEVEL, 50001, "cm", "water_level 500.01 m is outside the physical range -50..500 m"},
		{HZ_METRIC_PRESSURE, 1001, "bar", "pressure 100.1 MPa is outside the physical range 0..100 MPa"},
		{HZ_METRIC_PRESSURE, -1, "kPa", "pressure -0.001 MPa is outside the physical range 0..100 MPa"},
	};
	for (size_t i = 0; i < HZ_ARRAY_LEN(cases); i++) {
		struct hz_event ev = reading(cases[i].m, cases[i].v, cases[i].unit);
		err[0] = '\0';
		int rc = hz_units_normalise(&ev, err, sizeof(err));
		if (!cases[i].want) {
			assert_int_equal(rc, HZ_OK);
			continue;
		}
		assert_int_equal(rc, HZ_EFAULTVAL);
		assert_string_equal(err, cases[i].want);
		/* the converted value stays, for the fault ticket */
		assert_string_equal(ev.u.reading.unit, hz_units_canonical(cases[i].m));
	}
}

static void test_not_finite(void **state)
{
	(void)state;
	double bad[] = {NAN, INFINITY, -INFINITY};
	for (int i = 0; i < 3; i++) {
		struct hz_event ev = reading(HZ_METRIC_TEMPERATURE, bad[i], "F");
		assert_int_equal(hz_units_normalise(&ev, err, sizeof(err)), HZ_EFAULTVAL);
		assert_string_equal(err, "temperature reading is not a finite number");
	}
	/* a huge dB/m value does not overflow into a fault: 10^-x underflows to 0 */
	struct hz_event ev = reading(HZ_METRIC_SMOKE, 1e308, "dB/m");
	assert_int_equal(hz_units_normalise(&ev, err, sizeof(err)), HZ_OK);
	assert_true(ev.u.reading.value == 100);
	/* but a huge negative one does */
	ev = reading(HZ_METRIC_SMOKE, -1e308, "dB/m");
	assert_int_equal(hz_units_normalise(&ev, err, sizeof(err)), HZ_EFAULTVAL);
	ev = reading(HZ_METRIC_PRESSURE, 1e308, "Pa");
	assert_int_equal(hz_units_normalise(&ev, err, sizeof(err)), HZ_EFAULTVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_canonical_names),
		cmocka_unit_test(test_canonical_passthrough),
		cmocka_unit_test(test_conversions),
		cmocka_unit_test(test_unknown_units),
		cmocka_unit_test(test_physical_range),
		cmocka_unit_test(test_not_finite),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
