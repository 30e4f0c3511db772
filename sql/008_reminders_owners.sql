-- 008: close-out reminders, and the partition that owns a ticket's timers.
--
-- Reminders: a hazard ticket with a close-out deadline carries its next
-- reminder in reminder_due_at (deadline_at minus reminder_before_us, one
-- of the rules' defaults.closeout_reminders). The timer scan claims due
-- ones with FOR UPDATE SKIP LOCKED, and fires each by a check-and-set on
-- reminder_before_us in the transaction that records it here, appends the
-- history row and queues the TicketEvent; then it sets the next one (or
-- NULL). (ticket, reminder) is unique, so a reminder is never recorded
-- twice, whatever two daemons or a crash do.
--
-- Owners: the Kafka topic and partition of the event that opened a ticket
-- (NULL for MQTT and hazardctl). The instance holding that partition fires
-- the ticket's timers at once; any other instance only once a timer is
-- escalation.takeover_grace late, so a timer is never forgotten when its
-- owner is gone. Ownership is a preference: exactly-once still rests on
-- SKIP LOCKED and the check-and-sets.
ALTER TABLE hazard.tickets
	ADD COLUMN reminder_due_at timestamptz,
	ADD COLUMN reminder_before_us bigint,
	ADD COLUMN source_topic text,
	ADD COLUMN source_partition int;

CREATE INDEX tickets_reminder_due_idx ON hazard.tickets (reminder_due_at)
	WHERE reminder_due_at IS NOT NULL AND state NOT IN ('closed', 'dismissed');

CREATE TABLE hazard.closeout_reminders (
	ticket_id   bigint NOT NULL REFERENCES hazard.tickets,
	before_us   bigint NOT NULL,     -- how long before deadline_at it was due
	due_at      timestamptz NOT NULL,
	at          timestamptz NOT NULL,
	deadline_at timestamptz NOT NULL,
	PRIMARY KEY (ticket_id, before_us)
);

-- Open hazard tickets from before this migration get the next reminder of
-- the built-in schedule (3 days and 1 day before the deadline) still
-- ahead, so an upgrade forgets none; later ones follow the rules. Their
-- owner stays NULL: any instance fires their timers.
UPDATE hazard.tickets t
	SET reminder_before_us = x.b,
	    reminder_due_at = t.deadline_at - x.b * interval '1 microsecond'
	FROM (SELECT ticket_id,
		     (SELECT max(b) FROM unnest(ARRAY[259200000000, 86400000000]::bigint[]) AS b
		      WHERE deadline_at - b * interval '1 microsecond' > now()) AS b
	      FROM hazard.tickets
	      WHERE kind = 'hazard' AND deadline_at > now() AND overdue_at IS NULL
		AND state NOT IN ('closed', 'dismissed')) x
	WHERE t.ticket_id = x.ticket_id AND x.b IS NOT NULL;
