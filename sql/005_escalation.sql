-- 005: call-and-respond (叫应) escalation timers.
--
-- An open ticket that is not acknowledged carries the deadline of its
-- current tier in ack_due_at. The deadline is computed when the ticket
-- opens (or its level rises) in the batch that changes it; the timer scan
-- claims due tickets with FOR UPDATE SKIP LOCKED and moves each one tier
-- up (or repeats the top tier's notice) with a check-and-set in the same
-- transaction that records the escalation. Timers therefore live here and
-- survive restarts and rebalances; an acknowledgement (acked_at) ends
-- them.
ALTER TABLE hazard.tickets
	ADD COLUMN ack_due_at timestamptz,
	ADD COLUMN escalation_repeat int NOT NULL DEFAULT 0;

CREATE INDEX tickets_ack_due_idx ON hazard.tickets (ack_due_at)
	WHERE acked_at IS NULL AND ack_due_at IS NOT NULL;

-- One row per escalation step: (ticket, tier, repeat) is unique, so a step
-- can never be recorded twice, whatever two daemons or a crash do.
CREATE TABLE hazard.escalations (
	ticket_id  bigint NOT NULL REFERENCES hazard.tickets,
	tier       text NOT NULL CHECK (tier IN ('grid','town','county','city')),
	repeat     int NOT NULL DEFAULT 0,
	at         timestamptz NOT NULL,
	from_tier  text,
	level      text NOT NULL,
	org_code   text,           -- the unit whose duty roster was called
	due_at     timestamptz,    -- the next deadline set by this step
	reason     text NOT NULL,
	PRIMARY KEY (ticket_id, tier, repeat)
);
