-- 014: tamper-evident ticket history, drills flagged on every row, and the
-- dashboard views.
--
-- 1. Hash chain. Every hazard.ticket_history row carries
--      prev_hash = the hash of the same ticket's row seq - 1 (NULL for seq 1)
--      hash      = sha256(canonical bytes of the row, prev_hash included)
--    computed by the BEFORE INSERT trigger below, so every writer (the batch
--    writer, the escalation timers, acknowledgements, the command path) gets
--    it without knowing. `hazardctl verify` recomputes the chain in C
--    (OpenSSL, daemon/store/verify.c) from the rows and reports every break.
--
--    The canonical bytes of a row: twenty fields, each written as a
--    netstring, "<length>:<bytes>," where <length> is the byte length of
--    <bytes> in decimal ASCII, so no content can be taken for a separator:
--       1 the literal "th1" (the version of this format)
--       2 ticket_id, decimal
--       3 seq, decimal
--       4 at, integer microseconds since 1970-01-01 00:00:00 UTC, decimal
--         (a minus sign before 1970)
--       5 from_state   6 to_state   7 level   8 tier   9 actor
--      10 reason      11 event_id  12 mode (actual, exercise, test)
--      13 action      14 actor_tier
--      15 acted_at, integer microseconds like `at` (empty when NULL)
--      16 note
--      17 evidence_urls: each URL as a netstring, one after the other, and
--         that whole text as the field (empty when there is none)
--      18 assignee    19 flags     (the command columns of 012)
--      20 prev_hash, 64 lowercase hex digits (empty for seq 1)
--    Text is UTF-8; a NULL is written as the empty string ("0:,").
--    Example (ticket 7, seq 1, a drill opened by hazardd at
--    2024-04-24 23:06:40.123456 UTC):
--      3:th1,1:7,1:1,16:1714000000123456,0:,10:discovered,6:orange,4:grid,
--      7:hazardd,22:rule smoke-obscuration,4:mq-1,8:exercise,0:,0:,0:,0:,
--      0:,0:,0:,0:,
--    (one line, nothing between the fields) and hash is its SHA-256,
--    e44778b8fff380cf1d4c99fa3fd5c5a4b2ef3e4350cc20ec2ab01d8eb746ba6d
--    (`printf '%s' '3:th1,...' | sha256sum`). Seq 2 ends with
--    "64:e44778b8...ba6d," instead of "0:,". Evidence ["a", "bc"] is
--    the field "9:1:a,2:bc,,".
--
--    Within one INSERT statement a BEFORE ROW trigger sees the rows the
--    statement inserted before (a new ticket's seq 1 and 2 in one statement
--    chain correctly: tests/integration/t_chain.sh checks it). Writers
--    already hold the ticket's row lock when they append, so seq - 1 is
--    committed or ours. A missing previous row (a gap) chains to NULL and
--    verify reports the gap; the insert is not refused, so a broken chain
--    never stops alarms from being recorded.
--
--    What the chain proves: a row changed or removed in the middle, or a
--    reordering, shows as a break. It is an unkeyed hash, so someone who
--    can rewrite the table and recompute every later hash of that ticket is
--    not caught, nor is the removal of a ticket's newest rows; anchoring the
--    newest hashes outside the database is the remedy (not built).
--
-- 2. Drills (CAP status Exercise/Test): tickets.mode exists since 002; the
--    rows a ticket causes now say so too: ticket_history.mode,
--    ticket_events.mode and escalations.mode. Writers set them; a writer
--    that does not (NULL) gets the ticket's mode from a trigger.
--
-- 3. Views for dashboards (hazard.v_*), at the end of this file.

ALTER TABLE hazard.ticket_history
	ADD COLUMN mode text CHECK (mode IN ('actual', 'exercise', 'test')),
	ADD COLUMN prev_hash bytea,
	ADD COLUMN hash bytea;
ALTER TABLE hazard.ticket_events
	ADD COLUMN mode text CHECK (mode IN ('actual', 'exercise', 'test'));
ALTER TABLE hazard.escalations
	ADD COLUMN mode text CHECK (mode IN ('actual', 'exercise', 'test'));

-- One field as a netstring: "<byte length>:<UTF-8 bytes>,"; NULL as "".
-- STABLE, not IMMUTABLE, like convert_to() and extract() on a timestamptz
-- inside: a SQL function is inlined into its caller only when its body is
-- no more volatile than it says, and the inlined form costs ~10 us a row
-- where calling it costs ~300 us (measured).
CREATE FUNCTION hazard.netstring(v text) RETURNS bytea
LANGUAGE sql STABLE PARALLEL SAFE AS $$
	SELECT convert_to(octet_length(convert_to(coalesce(v, ''), 'UTF8'))::text || ':', 'UTF8')
	       || convert_to(coalesce(v, ''), 'UTF8') || '\x2c'::bytea
$$;

-- A list as the netstrings of its items, one after the other, as text. Its
-- own function so that the sub-select stays out of ticket_history_canon,
-- which is then inlined (a sub-select stops that: 67 us a row instead of 5,
-- measured); only rows with evidence call it.
CREATE FUNCTION hazard.netstrings(v text[]) RETURNS text
LANGUAGE sql STABLE PARALLEL SAFE AS $$
	SELECT string_agg(convert_from(hazard.netstring(u), 'UTF8'), '' ORDER BY o)
	FROM unnest(v) WITH ORDINALITY AS x(u, o)
$$;

-- The canonical bytes of a history row (see above). The same row always
-- gives the same bytes, whatever the session's time zone or DateStyle,
-- since `at` is written as a number (STABLE only for inlining, as above).
CREATE FUNCTION hazard.ticket_history_canon(ticket_id bigint, seq int, at timestamptz,
	from_state text, to_state text, level text, tier text, actor text, reason text,
	event_id text, mode text, action text, actor_tier text, acted_at timestamptz, note text,
	evidence_urls text[], assignee text, flags text, prev_hash bytea) RETURNS bytea
LANGUAGE sql STABLE PARALLEL SAFE AS $$
	SELECT hazard.netstring('th1') || hazard.netstring(ticket_id::text)
	       || hazard.netstring(seq::text)
	       || hazard.netstring(((extract(epoch FROM at) * 1000000)::numeric(30, 0))::text)
	       || hazard.netstring(from_state) || hazard.netstring(to_state)
	       || hazard.netstring(level) || hazard.netstring(tier) || hazard.netstring(actor)
	       || hazard.netstring(reason) || hazard.netstring(event_id) || hazard.netstring(mode)
	       || hazard.netstring(action) || hazard.netstring(actor_tier)
	       || hazard.netstring(((extract(epoch FROM acted_at) * 1000000)::numeric(30, 0))::text)
	       || hazard.netstring(note)
	       || CASE WHEN evidence_urls IS NULL THEN hazard.netstring(NULL)
	               ELSE hazard.netstring(hazard.netstrings(evidence_urls)) END
	       || hazard.netstring(assignee) || hazard.netstring(flags)
	       || hazard.netstring(encode(prev_hash, 'hex'))
$$;

-- BEFORE INSERT: mode from the ticket when the writer gave none, then the
-- link and the hash. Cost per row: one primary-key probe for seq - 1 (and
-- one on tickets when mode is NULL) and a SHA-256 of ~200 bytes; measured
-- in the README ("Tamper-evident history").
CREATE FUNCTION hazard.ticket_history_chain() RETURNS trigger
LANGUAGE plpgsql VOLATILE AS $$
BEGIN
	IF NEW.mode IS NULL THEN
		SELECT t.mode INTO NEW.mode FROM hazard.tickets t WHERE t.ticket_id = NEW.ticket_id;
	END IF;
	NEW.prev_hash := NULL;
	IF NEW.seq > 1 THEN
		SELECT h.hash INTO NEW.prev_hash FROM hazard.ticket_history h
		WHERE h.ticket_id = NEW.ticket_id AND h.seq = NEW.seq - 1;
	END IF;
	NEW.hash := sha256(hazard.ticket_history_canon(NEW.ticket_id, NEW.seq, NEW.at,
		NEW.from_state, NEW.to_state, NEW.level, NEW.tier, NEW.actor, NEW.reason,
		NEW.event_id, NEW.mode, NEW.action, NEW.actor_tier, NEW.acted_at, NEW.note,
		NEW.evidence_urls, NEW.assignee, NEW.flags, NEW.prev_hash));
	RETURN NEW;
END
$$;

-- Rows written before this migration: chained now, in seq order, one
-- set-based UPDATE per seq value (row seq n of every ticket at once, after
-- every row n - 1 has its hash). The append-only trigger is off for the
-- length of this transaction only; ALTER TABLE holds an exclusive lock
-- meanwhile, so no writer can slip a row in.
ALTER TABLE hazard.ticket_history DISABLE TRIGGER ticket_history_append_only;
CREATE INDEX ticket_history_backfill_seq ON hazard.ticket_history (seq);
UPDATE hazard.ticket_history h SET mode = t.mode FROM hazard.tickets t
WHERE t.ticket_id = h.ticket_id;
DO $$
DECLARE
	s int := 1;
	top int;
BEGIN
	SELECT max(seq) INTO top FROM hazard.ticket_history;
	WHILE s <= coalesce(top, 0) LOOP
		UPDATE hazard.ticket_history h SET prev_hash = p.hash
		FROM hazard.ticket_history p
		WHERE h.seq = s AND p.ticket_id = h.ticket_id AND p.seq = s - 1;
		UPDATE hazard.ticket_history h
		SET hash = sha256(hazard.ticket_history_canon(h.ticket_id, h.seq, h.at,
			h.from_state, h.to_state, h.level, h.tier, h.actor, h.reason, h.event_id,
			h.mode, h.action, h.actor_tier, h.acted_at, h.note, h.evidence_urls,
			h.assignee, h.flags, h.prev_hash))
		WHERE h.seq = s;
		s := s + 1;
	END LOOP;
END
$$;
DROP INDEX hazard.ticket_history_backfill_seq;
ALTER TABLE hazard.ticket_history ENABLE TRIGGER ticket_history_append_only;
ALTER TABLE hazard.ticket_history ALTER COLUMN mode SET NOT NULL;

CREATE TRIGGER ticket_history_chain
	BEFORE INSERT ON hazard.ticket_history
	FOR EACH ROW EXECUTE FUNCTION hazard.ticket_history_chain();

-- ticket_events and escalations: the writers pass the mode; this fills it
-- for one that does not (the WHEN clause keeps the common case free).
CREATE FUNCTION hazard.mode_from_ticket() RETURNS trigger
LANGUAGE plpgsql VOLATILE AS $$
BEGIN
	SELECT t.mode INTO NEW.mode FROM hazard.tickets t WHERE t.ticket_id = NEW.ticket_id;
	NEW.mode := coalesce(NEW.mode, 'actual');
	RETURN NEW;
END
$$;
UPDATE hazard.ticket_events e SET mode = t.mode FROM hazard.tickets t
WHERE t.ticket_id = e.ticket_id;
UPDATE hazard.ticket_events SET mode = 'actual' WHERE mode IS NULL;
UPDATE hazard.escalations e SET mode = t.mode FROM hazard.tickets t
WHERE t.ticket_id = e.ticket_id;
ALTER TABLE hazard.ticket_events ALTER COLUMN mode SET NOT NULL;
ALTER TABLE hazard.escalations ALTER COLUMN mode SET NOT NULL;
CREATE TRIGGER ticket_events_mode BEFORE INSERT ON hazard.ticket_events
	FOR EACH ROW WHEN (NEW.mode IS NULL) EXECUTE FUNCTION hazard.mode_from_ticket();
CREATE TRIGGER escalations_mode BEFORE INSERT ON hazard.escalations
	FOR EACH ROW WHEN (NEW.mode IS NULL) EXECUTE FUNCTION hazard.mode_from_ticket();

-- ---------------------------------------------------------------- views
-- One view per question a dashboard asks, over the live tickets (mode
-- actual) unless the name says otherwise; drills are in v_drills. They are
-- plain views over the indexed tables: fine for a town's or a county's
-- figures; a city-wide history over years would want materialised rollups.

-- Open tickets by town and level, with how many nobody acknowledged yet
-- and how many are past their close-out deadline (as v_overdue counts).
CREATE VIEW hazard.v_open_by_town_level AS
SELECT t.town_code, t.level,
       count(*) AS open_tickets,
       count(*) FILTER (WHERE t.acked_at IS NULL) AS unacknowledged,
       count(*) FILTER (WHERE t.kind <> 'warning' AND t.deadline_at <= now()) AS overdue,
       min(t.opened_at) AS oldest_opened_at
FROM hazard.tickets t
WHERE t.mode = 'actual' AND t.state NOT IN ('closed', 'dismissed')
GROUP BY t.town_code, t.level;

-- Open tickets past their close-out deadline (hazards: 15 days for
-- supervised ones), whether or not the timer scan has marked them yet.
-- Warnings are left out: their deadline is their expiry.
CREATE VIEW hazard.v_overdue AS
SELECT t.ticket_id, t.kind, t.town_code, t.county_code, t.site_id, t.hazard_type, t.level,
       t.state, t.tier, t.opened_at, t.acked_at, t.deadline_at, t.overdue_at,
       now() - t.deadline_at AS overdue_for
FROM hazard.tickets t
WHERE t.mode = 'actual' AND t.state NOT IN ('closed', 'dismissed') AND t.kind <> 'warning'
  AND t.deadline_at IS NOT NULL AND t.deadline_at <= now();

-- Time to acknowledge, per ticket: NULL while nobody has; steps_before_ack
-- counts the escalation steps it took (0: answered at the first tier).
CREATE VIEW hazard.v_time_to_ack AS
SELECT t.ticket_id, t.kind, t.town_code, t.county_code, t.site_id, t.hazard_type, t.level,
       t.state, t.opened_at, t.acked_at,
       t.acked_at - t.opened_at AS time_to_ack,
       extract(epoch FROM t.acked_at - t.opened_at)::float8 AS seconds_to_ack,
       (SELECT count(*) FROM hazard.escalations e
        WHERE e.ticket_id = t.ticket_id AND e.at < coalesce(t.acked_at, 'infinity')) AS steps_before_ack
FROM hazard.tickets t
WHERE t.mode = 'actual';

-- Per town over the tickets opened in the last 30 days: how many were
-- acknowledged, and the median and 90th percentile time to do it.
CREATE VIEW hazard.v_time_to_ack_by_town AS
SELECT town_code,
       count(*) AS tickets,
       count(acked_at) AS acknowledged,
       count(*) - count(acked_at) AS not_acknowledged,
       percentile_cont(0.5) WITHIN GROUP (ORDER BY seconds_to_ack) AS median_seconds,
       percentile_cont(0.9) WITHIN GROUP (ORDER BY seconds_to_ack) AS p90_seconds
FROM hazard.v_time_to_ack
WHERE opened_at >= now() - interval '30 days'
GROUP BY town_code;

-- Every call-and-respond step (a hazard.escalations row) and what came of
-- it: 'answered' (acknowledged before the ticket's next step, or with no
-- next step), 'passed_on' (the next step came first), 'closed_unanswered'
-- (closed without an acknowledgement, no next step), 'waiting' (still open,
-- nobody answered yet), 'acked_before' (a close-out escalation of a ticket
-- acknowledged earlier: nobody was asked to answer).
CREATE VIEW hazard.v_escalation_steps AS
SELECT e.ticket_id, e.tier, e.repeat, e.from_tier, e.org_code, e.level, e.at, e.due_at,
       t.town_code, t.acked_at, n.at AS next_step_at,
       CASE WHEN t.acked_at IS NOT NULL AND t.acked_at < e.at THEN 'acked_before'
            WHEN t.acked_at IS NOT NULL AND (n.at IS NULL OR t.acked_at < n.at) THEN 'answered'
            WHEN n.at IS NOT NULL THEN 'passed_on'
            WHEN t.state IN ('closed', 'dismissed') THEN 'closed_unanswered'
            ELSE 'waiting' END AS outcome,
       CASE WHEN t.acked_at >= e.at AND (n.at IS NULL OR t.acked_at < n.at)
            THEN t.acked_at - e.at END AS time_to_answer
FROM hazard.escalations e
JOIN hazard.tickets t ON t.ticket_id = e.ticket_id
LEFT JOIN LATERAL (SELECT min(x.at) AS at FROM hazard.escalations x
                   WHERE x.ticket_id = e.ticket_id AND x.at > e.at) n ON true
WHERE e.mode = 'actual';

-- Call-and-respond performance per org unit and tier over the last 30
-- days: steps that called it, how many it answered before the next step,
-- and its median time to answer. answered_pct leaves out the steps still
-- waiting.
CREATE VIEW hazard.v_call_response AS
SELECT org_code, tier,
       count(*) AS steps,
       count(*) FILTER (WHERE outcome = 'answered') AS answered,
       count(*) FILTER (WHERE outcome = 'passed_on') AS passed_on,
       count(*) FILTER (WHERE outcome = 'closed_unanswered') AS closed_unanswered,
       count(*) FILTER (WHERE outcome = 'waiting') AS waiting,
       round(100.0 * count(*) FILTER (WHERE outcome = 'answered')
             / nullif(count(*) FILTER (WHERE outcome <> 'waiting'), 0), 1) AS answered_pct,
       percentile_cont(0.5) WITHIN GROUP (ORDER BY extract(epoch FROM time_to_answer))
             AS median_seconds_to_answer
FROM hazard.v_escalation_steps
WHERE at >= now() - interval '30 days' AND outcome <> 'acked_before'
GROUP BY org_code, tier;

-- Drills (mode exercise or test), which every other view leaves out: each
-- drill ticket with its time to acknowledge and its escalation steps.
CREATE VIEW hazard.v_drills AS
SELECT t.ticket_id, t.mode, t.kind, t.town_code, t.county_code, t.site_id, t.hazard_type,
       t.level, t.state, t.tier, t.opened_at, t.acked_at,
       t.acked_at - t.opened_at AS time_to_ack, t.closed_at, t.event_count,
       (SELECT count(*) FROM hazard.escalations e WHERE e.ticket_id = t.ticket_id)
             AS escalation_steps
FROM hazard.tickets t
WHERE t.mode <> 'actual';
