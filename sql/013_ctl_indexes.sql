-- 013: indexes for the operators' read paths (hazardctl tickets list,
-- hazardctl stats). Without them the default "newest first" list and the
-- time windows of stats are sequential scans of every ticket and every
-- escalation ever recorded.
CREATE INDEX IF NOT EXISTS tickets_opened_idx ON hazard.tickets (opened_at DESC, ticket_id DESC);
CREATE INDEX IF NOT EXISTS escalations_at_idx ON hazard.escalations (at);
