-- 009: silences (maintenance windows). An operator silences a device, a
-- site or an org unit (and everything under it) for a period: events there
-- still open or join their tickets and are recorded and counted, but call
-- nobody (no acknowledgement deadline). A red level is never silenced.
-- Writers: `hazardctl silence add|cancel` (daemon/store/context.c, the same
-- function a future Command "silence" will call). Reader: the daemon, which
-- keeps the active rows in memory and re-reads them every second.
CREATE TABLE hazard.silences (
	silence_id  bigserial PRIMARY KEY,
	target_kind text NOT NULL CHECK (target_kind IN ('device', 'site', 'org')),
	target_id   text NOT NULL CHECK (length(target_id) BETWEEN 1 AND 63),
	starts_at   timestamptz NOT NULL,
	ends_at     timestamptz NOT NULL,
	actor       text NOT NULL,
	reason      text NOT NULL CHECK (length(reason) BETWEEN 1 AND 500),
	created_at  timestamptz NOT NULL DEFAULT now(),
	cancelled   boolean NOT NULL DEFAULT false,
	cancelled_at timestamptz,
	cancelled_by text,
	CHECK (ends_at > starts_at)
);
-- What the daemon reads every second: the silences not over yet.
CREATE INDEX silences_live_idx ON hazard.silences (ends_at) WHERE NOT cancelled;
