-- 015: rescue units (救援力量) and whether an org unit is town or countryside.
--
-- hazard.rescue_units: the full-time brigades (专职消防队), micro fire
-- stations (微型消防站) and state fire rescue stations (消防救援站) with their
-- coordinates. Written by `hazardctl import` from rescue_units.csv in the
-- same transaction (and registry_version bump) as the other registry files;
-- loaded into the daemon's registry snapshot, where a grid index finds the
-- nearest unit of each kind for a site (daemon/registry/rescue.c). For fire
-- alarms the EscalationNotice names them, with distance, estimated minutes
-- and whether the site is inside the unit's rescue circle (救援圈).
--
-- org_units.area: 'town' (城镇) or 'countryside' (乡村) for the rescue
-- circle that applies under that unit (1-3-5 minutes in towns, 15 minutes
-- in the countryside). NULL means inherit from the parent; when no unit of
-- a site's chain says, the village-level unit decides by its name: a 村
-- (village committee) is countryside, anything else (社区, a residents'
-- community) is town. Coverage (sites outside every circle) is computed in C
-- from the same snapshot and settings as the daemon, not in a view, so the
-- two cannot disagree about speeds or circles: `hazardctl rescue-coverage`.
ALTER TABLE hazard.org_units ADD COLUMN area text
	CHECK (area IN ('town', 'countryside'));

CREATE TABLE hazard.rescue_units (
	unit_id  text PRIMARY KEY,
	name     text NOT NULL,
	kind     text NOT NULL
		CHECK (kind IN ('micro_station', 'full_time_brigade', 'fire_rescue_station')),
	org_code text NOT NULL REFERENCES hazard.org_units (code),  -- the unit that runs it
	lat      double precision NOT NULL CHECK (lat BETWEEN -90 AND 90),
	lon      double precision NOT NULL CHECK (lon BETWEEN -180 AND 180),
	phone    text
);
CREATE INDEX rescue_units_org_idx ON hazard.rescue_units (org_code);
