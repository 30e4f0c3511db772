/*
 * import.h - load the registry from CSV files into PostgreSQL:
 * org_units.csv, sites.csv, devices.csv, people.csv, duty.csv and
 * rescue_units.csv in one
 * directory (any subset; a header row names the columns, in any order).
 *
 * Every row is checked before anything is written (types and grades here,
 * references against the files and the database in SQL), and errors name
 * file:line and column. Then COPY into temporary tables and INSERT ... ON
 * CONFLICT DO UPDATE, all in one transaction that also bumps
 * hazard.registry_version: an import is applied whole or not at all, and
 * rows absent from the files are kept (an upsert, not a replace).
 *
 * Columns (* = required):
 *   org_units.csv  code*, name*, level*, parent_code, lat, lon,
 *                  area (town|countryside; empty: inherited, see registry.h)
 *   sites.csv      site_id*, name, kind*, risk_grade*, org_code*, town_code,
 *                  county_code, lat, lon  (town/county derived when empty)
 *   devices.csv    device_id*, site_id*, kind*, metric, range_min, range_max,
 *                  installed_at  (metric derived from a known kind when empty)
 *   people.csv     person_id*, name*, phone, org_code*, tier*
 *   duty.csv       org_code*, tier*, person_id*, role, starts_at, ends_at
 *   rescue_units.csv  unit_id*, name*, kind* (micro_station|full_time_brigade|
 *                  fire_rescue_station), org_code*, lat*, lon*, phone
 * Ids and codes are ASCII letters, digits and . _ : - (they appear in MQTT
 * topics); names are UTF-8.
 */
#ifndef HZ_REGISTRY_IMPORT_H
#define HZ_REGISTRY_IMPORT_H

#include "core/hz.h"

#include <libpq-fe.h>

enum hz_import_file {
	HZ_IMP_ORG,
	HZ_IMP_SITE,
	HZ_IMP_DEVICE,
	HZ_IMP_PERSON,
	HZ_IMP_DUTY,
	HZ_IMP_UNIT,
	HZ_IMP_NFILES
};

struct hz_import_stats {
	bool present[HZ_IMP_NFILES];
	size_t rows[HZ_IMP_NFILES];    /* rows read */
	size_t changed[HZ_IMP_NFILES]; /* rows inserted or different from before */
	int64_t version;               /* registry_version after the import */
};

/* The file name of each kind ("org_units.csv", ...). */
const char *hz_import_file_name(enum hz_import_file f);

/* Import the CSV files found in `dir`. `pg` must be idle. Returns 0,
 * HZ_EINVAL (bad rows: err holds up to 10 "file:line: column c: problem"
 * lines joined by newlines), HZ_ENOTFOUND (no file found), HZ_ETRANSIENT or
 * HZ_ERR. Nothing is changed unless 0 is returned. */
int hz_registry_import(PGconn *pg, const char *dir, struct hz_import_stats *st, char *err,
		       size_t errlen);

#endif
