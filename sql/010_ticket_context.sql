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
