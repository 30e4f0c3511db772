/*
 * units.h - one canonical unit per metric, and the physical range a sensor
 * of that metric can produce. Readings arrive in whatever unit the gateway
 * uses; rules only ever see canonical values.
 *
 *   smoke            %/m    (also dB/m)
 *   temperature      degC   (also C, °C, ℃, F, degF, °F, ℉, K)
 *   gas_lel          %LEL   (also ppm, as methane: 1 %LEL = 500 ppm)
 *   co               ppm    (also mg/m3, mg/m³ at 25 °C: ppm = mg/m3 * 24.45 / 28.01)
 *   charger_current  A      (also mA)
 *   residual_current mA     (also A)
 *   water_level      m      (also cm, mm)
 *   pressure         MPa    (also kPa, bar, Pa)
 */
#ifndef HZ_CODEC_UNITS_H
#define HZ_CODEC_UNITS_H

#include "core/event.h"

/* "degC", "%/m", ...; "" for HZ_METRIC_NONE or an out-of-range value. */
const char *hz_units_canonical(enum hz_metric m);

/*
 * Convert ev->u.reading.value from ev->u.reading.unit ("" = canonical) to
 * the metric's canonical unit, and set unit to the canonical name (a
 * static string). Only for HZ_EV_READING events.
 *
 * Returns HZ_OK; HZ_EINVAL when the unit is not one of the metric's
 * ("unit \"furlong\" is not valid for metric temperature") or the event is
 * not a reading with a metric (ev unchanged); HZ_EFAULTVAL when the
 * converted value is not finite or outside the range a sensor can produce
 * ("temperature 9999 degC is outside the physical range -60..1500 degC"):
 * ev then holds the converted value, for the device-fault ticket.
 */
int hz_units_normalise(struct hz_event *ev, char *err, size_t errlen);

#endif
