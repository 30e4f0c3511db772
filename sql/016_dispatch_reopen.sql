-- 016: dispatch names a registered assignee; a reopen restarts call-and-respond.
--
-- tickets.assignee_kind: what a dispatch's assignee is in the registry
-- (daemon/store/command.c refuses one that is none of these, or one outside
-- the ticket's county: tickets/state.c). NULL for tickets dispatched before
-- this migration (free text) and for tickets never dispatched.
ALTER TABLE hazard.tickets ADD COLUMN assignee_kind text
	CHECK (assignee_kind IN ('micro_station', 'full_time_brigade', 'fire_rescue_station',
	                         'person', 'org_unit'));

-- A reopen clears the ticket's acknowledgement (acked_at, acked_by) and sets
-- a new acknowledgement deadline at its tier, so the ticket is called again
-- and climbs the chain if nobody answers. Each life of a ticket between a
-- (re)opening and its close is a round: round 0 from opening, round N after
-- the N-th reopen (tickets.reopened_count is the current round). The
-- acknowledgement of an ended round would be lost with the ticket's columns,
-- so the reopen keeps it here, one row per ended round, in the command's
-- transaction. Writers: the command path only. Readers: the views below and
-- `hazardctl stats`, which judge each escalation step by its own round's
-- acknowledgement.
CREATE TABLE hazard.ticket_rounds (
	ticket_id   bigint NOT NULL REFERENCES hazard.tickets,
	round       int NOT NULL,
	acked_at    timestamptz,        -- that round's acknowledgement (NULL: none)
	acked_by    text,
	ended_at    timestamptz,        -- when it was closed or dismissed
	reopened_at timestamptz NOT NULL,
	reopened_by text NOT NULL,
	PRIMARY KEY (ticket_id, round)
);

-- The round an escalation step belongs to (the ticket's reopened_count when
-- it fired). (ticket, tier, repeat) stays the key: a reopen keeps the tier
-- and the top tier's repeat count, and tiers only climb, so a later round's
-- steps never reuse an earlier round's key (or its event id).
ALTER TABLE hazard.escalations ADD COLUMN round int NOT NULL DEFAULT 0;

-- The first acknowledgement a ticket ever had: an ended round's, else the
-- current one. Time to acknowledge is counted to it.
CREATE FUNCTION hazard.first_acked_at(p_ticket bigint, p_acked timestamptz)
RETURNS timestamptz LANGUAGE sql STABLE AS
$$ SELECT coalesce((SELECT min(r.acked_at) FROM hazard.ticket_rounds r
                    WHERE r.ticket_id = p_ticket), p_acked) $$;

CREATE OR REPLACE VIEW hazard.v_time_to_ack AS
SELECT t.ticket_id, t.kind, t.town_code, t.county_code, t.site_id, t.hazard_type, t.level,
       t.state, t.opened_at, f.acked_at,
       f.acked_at - t.opened_at AS time_to_ack,
       extract(epoch FROM f.acked_at - t.opened_at)::float8 AS seconds_to_ack,
       (SELECT count(*) FROM hazard.escalations e
        WHERE e.ticket_id = t.ticket_id AND e.at < coalesce(f.acked_at, 'infinity')) AS steps_before_ack
FROM hazard.tickets t
CROSS JOIN LATERAL (SELECT hazard.first_acked_at(t.ticket_id, t.acked_at) AS acked_at) f
WHERE t.mode = 'actual';

-- As in 014, with each step judged within its round: the acknowledgement
-- is that round's, the next step is the round's next, and a step of an
-- ended round with neither was closed unanswered.
CREATE OR REPLACE VIEW hazard.v_escalation_steps AS
SELECT e.ticket_id, e.tier, e.repeat, e.from_tier, e.org_code, e.level, e.at, e.due_at,
       t.town_code, a.acked_at, n.at AS next_step_at,
       CASE WHEN a.acked_at IS NOT NULL AND a.acked_at < e.at THEN 'acked_before'
            WHEN a.acked_at IS NOT NULL AND (n.at IS NULL OR a.acked_at < n.at) THEN 'answered'
            WHEN n.at IS NOT NULL THEN 'passed_on'
            WHEN a.ended THEN 'closed_unanswered'
            ELSE 'waiting' END AS outcome,
       CASE WHEN a.acked_at >= e.at AND (n.at IS NULL OR a.acked_at < n.at)
            THEN a.acked_at - e.at END AS time_to_answer,
       e.round
FROM hazard.escalations e
JOIN hazard.tickets t ON t.ticket_id = e.ticket_id
LEFT JOIN hazard.ticket_rounds r ON r.ticket_id = e.ticket_id AND r.round = e.round
CROSS JOIN LATERAL (SELECT CASE WHEN r.ticket_id IS NULL THEN t.acked_at ELSE r.acked_at END AS acked_at,
                           (r.ticket_id IS NOT NULL OR t.state IN ('closed', 'dismissed')) AS ended) a
LEFT JOIN LATERAL (SELECT min(x.at) AS at FROM hazard.escalations x
                   WHERE x.ticket_id = e.ticket_id AND x.round = e.round AND x.at > e.at) n ON true
WHERE e.mode = 'actual';
