-- 001_registry.sql - the schema, the migration ledger and the registry.
--
-- The registry describes the world hazardd watches: the administrative
-- chain (city > county > town > village > grid), the registered sites with
-- their risk grade, the devices installed in them, the people who answer
-- for each org unit and tier, and who is on duty.
--
-- Writers: `hazardctl import` only (COPY into temporary tables, then upsert,
-- in one transaction that also bumps hazard.registry_version).
-- Readers: hazardd loads an immutable in-memory snapshot
-- (daemon/registry/registry.c) and reloads it when registry_version moves;
-- dashboards read it for names and coordinates.
--
-- Applied by daemon/store/migrate.c inside one transaction under an advisory
-- lock; this file must not contain BEGIN or COMMIT.

CREATE SCHEMA IF NOT EXISTS hazard;

-- One row per applied migration file (NNN_name.sql). migrate.c creates this
-- table itself before reading it, so the definition here only documents it.
CREATE TABLE IF NOT EXISTS hazard.schema_migrations (
	version    int PRIMARY KEY,
	name       text NOT NULL,
	applied_at timestamptz NOT NULL DEFAULT now()
);

-- The administrative chain. Codes follow the national division codes where
-- they exist (330100 Hangzhou, 330106 Xihu district, 330106001 a street);
-- villages and grids extend their parent's code. A parent is always of a
-- higher level, which also rules out cycles (checked on import).
CREATE TABLE hazard.org_units (
	code        text PRIMARY KEY,
	name        text NOT NULL,
	level       text NOT NULL
		CHECK (level IN ('city', 'county', 'town', 'village', 'grid')),
	parent_code text REFERENCES hazard.org_units (code),
	lat         double precision,
	lon         double precision,
	CHECK (parent_code IS NULL OR parent_code <> code)
);
CREATE INDEX org_units_parent_idx ON hazard.org_units (parent_code);

-- Registered places (单位场所). org_code is the smallest unit that owns the
-- site (its grid or village); town_code and county_code are denormalised
-- from that chain because every ticket is routed and counted by them.
CREATE TABLE hazard.sites (
	site_id     text PRIMARY KEY,
	name        text,
	kind        text NOT NULL,  -- factory, shop, warehouse, ebike_shed, homestay, high_rise, ...
	risk_grade  text NOT NULL
		CHECK (risk_grade IN ('major', 'significant', 'general', 'low')),
	org_code    text NOT NULL REFERENCES hazard.org_units (code),
	town_code   text NOT NULL REFERENCES hazard.org_units (code),
	county_code text NOT NULL REFERENCES hazard.org_units (code),
	lat         double precision,
	lon         double precision
);
CREATE INDEX sites_town_idx ON hazard.sites (town_code);
CREATE INDEX sites_org_idx ON hazard.sites (org_code);

-- Installed sensors. metric uses the names of hz_metric_name() (core/names.c);
-- range_min/range_max is the sensor's physical range: a reading outside it is
-- a device fault, not a hazard (RELIABILITY.md rule 5). NULL means the
-- metric's default range.
CREATE TABLE hazard.devices (
	device_id    text PRIMARY KEY,
	site_id      text NOT NULL REFERENCES hazard.sites (site_id),
	kind         text NOT NULL,  -- smoke_detector, heat_detector, gas_detector, co_detector, ...
	metric       text
		CHECK (metric IN ('smoke', 'temperature', 'gas_lel', 'co', 'charger_current',
		                  'residual_current', 'water_level', 'pressure')),
	range_min    double precision,
	range_max    double precision,
	installed_at timestamptz,
	CHECK (range_min IS NULL OR range_max IS NULL OR range_min < range_max)
);
CREATE INDEX devices_site_idx ON hazard.devices (site_id);

-- People who acknowledge and drive tickets: grid inspectors, town station
-- staff, county and city duty officers. tier is the tier they normally serve.
CREATE TABLE hazard.people (
	person_id text PRIMARY KEY,
	name      text NOT NULL,
	phone     text,
	org_code  text NOT NULL REFERENCES hazard.org_units (code),
	tier      text NOT NULL CHECK (tier IN ('grid', 'town', 'county', 'city'))
);

-- Who answers a call (叫应) for an org unit at a tier. A ticket at tier T for
-- a site is addressed to the roster of the site's org unit at that tier
-- (grid: the site's grid or village; town, county, city: that unit).
-- starts_at/ends_at bound a shift; NULL means always.
CREATE TABLE hazard.duty_roster (
	org_code  text NOT NULL REFERENCES hazard.org_units (code),
	tier      text NOT NULL CHECK (tier IN ('grid', 'town', 'county', 'city')),
	person_id text NOT NULL REFERENCES hazard.people (person_id),
	role      text NOT NULL DEFAULT 'primary',
	starts_at timestamptz,
	ends_at   timestamptz,
	PRIMARY KEY (org_code, tier, person_id),
	CHECK (starts_at IS NULL OR ends_at IS NULL OR starts_at < ends_at)
);
CREATE INDEX duty_roster_person_idx ON hazard.duty_roster (person_id);

-- One row, bumped by every import. hazardd polls it (a one-row primary key
-- read) and reloads its snapshot when it changes.
CREATE TABLE hazard.registry_version (
	id         int PRIMARY KEY CHECK (id = 1),
	version    bigint NOT NULL,
	updated_at timestamptz
);
INSERT INTO hazard.registry_version (id, version, updated_at) VALUES (1, 0, now());
