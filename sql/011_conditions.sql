-- 011: state that conditions over time keep in PostgreSQL.
--
-- device_seen: when each device last said anything (a reading, a status,
-- even a malformed value), by the database's clock. hazardd writes it in
-- the batch transaction, at most every quarter of the silence limit per
-- device, so a device reporting every few seconds costs a few writes per
-- limit. The silence scan (daemon/store/offline.c) opens a device_offline
-- fault ticket for a device quiet past its limit and closes it once the
-- device is heard again; both are timers in the database, like escalation
-- deadlines, so a restart or a second instance neither forgets nor doubles
-- them. Rows are seeded from hazard.devices when the daemon loads the
-- registry, so a device that never reports at all is found too.
CREATE TABLE hazard.device_seen (
	device_id text PRIMARY KEY,
	seen_at   timestamptz NOT NULL
);
CREATE INDEX device_seen_at_idx ON hazard.device_seen (seen_at);

-- Open offline tickets, by device: the scan's "already reported" test and
-- its "heard again" join.
CREATE INDEX tickets_open_offline_idx ON hazard.tickets (device_id)
	WHERE hazard_type = 'device_offline' AND state NOT IN ('closed', 'dismissed');

-- A ticket whose condition cleared too often (flapping) is held open and
-- marked with the time it was first found flapping.
ALTER TABLE hazard.tickets ADD COLUMN flapping_at timestamptz;
