-- 006: deadlines of open tickets. Hazards have a close-out deadline
-- (15 days by default for supervised ones): still open at deadline_at, a
-- ticket is overdue, and the timer scan marks overdue_at and escalates it
-- one tier, once. A warning's deadline_at is its expiry: the scan closes
-- it then.
ALTER TABLE hazard.tickets ADD COLUMN overdue_at timestamptz;

CREATE INDEX tickets_closeout_due_idx ON hazard.tickets (deadline_at)
	WHERE overdue_at IS NULL AND deadline_at IS NOT NULL
	AND state NOT IN ('closed', 'dismissed');
