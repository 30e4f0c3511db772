-- 010: what silences and inhibition did to a ticket. silenced_count counts
-- the events that joined it under a silence (they call nobody); held_count
-- the events of other episodes an inhibit rule held on it (e.g. a heat
-- alarm held on the site's open smoke alarm, a device offline fault held on
-- the town's power-outage warning). Each such event's ticket_events row says
-- so in `disposition` (and which silence in `silence_id`), so nothing that
-- was held or silenced is invisible.
ALTER TABLE hazard.tickets
	ADD COLUMN silenced_count bigint NOT NULL DEFAULT 0,
	ADD COLUMN held_count bigint NOT NULL DEFAULT 0;
ALTER TABLE hazard.ticket_events
	ADD COLUMN disposition text CHECK (disposition IN ('silenced', 'held')),
	ADD COLUMN silence_id bigint;

-- The daemon's context snapshot (daemon/store/context.c) re-reads the open
-- tickets of the hazard types its inhibit and area_raise rules name every
-- rules.context_refresh: an index over open tickets by type keeps that a
-- look-up of those rows only (measured: a sequential scan of 1 M open
-- tickets cost 300 ms a second of the engine's loop; the index, 0.1 ms).
CREATE INDEX tickets_open_type_idx ON hazard.tickets (hazard_type)
	WHERE state NOT IN ('closed', 'dismissed');
