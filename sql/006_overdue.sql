-- 006: close-out deadlines (hazards: 15 days by default for supervised
-- ones). A ticket still open at deadline_at is overdue: the timer scan
-- marks overdue_at and escalates it one tier, once.
ALTER TABLE hazard.tickets ADD COLUMN overdue_at timestamptz;

CREATE INDEX tickets_closeout_due_idx ON hazard.tickets (deadline_at)
	WHERE overdue_at IS NULL AND deadline_at IS NOT NULL;
