-- 002_tickets.sql - tickets, their append-only history, and the events that
-- fed them.
--
-- A ticket is the closed loop (闭环) of one alarm, hazard, warning or device
-- fault: discovered -> confirmed -> controlled -> rectifying -> closed, or
-- dismissed as a false alarm. Writers: hazardd's batched writer
-- (daemon/store/batch.c) for rule-driven changes and operator commands.
-- Readers: `hazardctl tickets`, dashboards, daemon/store/tickets_read.c.

CREATE TABLE hazard.tickets (
	ticket_id      bigserial PRIMARY KEY,
	kind           text NOT NULL CHECK (kind IN ('alarm', 'hazard', 'warning', 'fault')),
	state          text NOT NULL
		CHECK (state IN ('discovered', 'confirmed', 'controlled', 'rectifying',
		                 'closed', 'dismissed')),
	level          text NOT NULL CHECK (level IN ('none', 'blue', 'yellow', 'orange', 'red')),
	-- No foreign keys to the registry: a ticket outlives registry edits, and
	-- warnings and reports may name places the registry does not know.
	site_id        text,
	town_code      text,
	county_code    text,
	hazard_type    text NOT NULL,
	tier           text NOT NULL CHECK (tier IN ('grid', 'town', 'county', 'city')),
	device_id      text,
	-- What makes two events the same episode, e.g. "<site>|<hazard_type>"
	-- (chosen by the rules). See tickets_open_episode_key below.
	episode_key    text NOT NULL,
	mode           text NOT NULL DEFAULT 'actual'
		CHECK (mode IN ('actual', 'exercise', 'test')),
	opened_at      timestamptz NOT NULL,
	updated_at     timestamptz NOT NULL,
	acked_at       timestamptz,
	deadline_at    timestamptz,  -- the next ack or close-out deadline; NULL when none
	closed_at      timestamptz,
	event_count    bigint NOT NULL DEFAULT 1,
	first_event_id text,
	last_event_id  text
);

-- At most one open ticket per episode. This is a database guarantee, not a
-- cache: two daemons racing on the same episode get a unique violation
-- (23505) on the second INSERT and join the first ticket instead. Once the
-- ticket is closed or dismissed a new episode may open.
CREATE UNIQUE INDEX tickets_open_episode_key ON hazard.tickets (episode_key)
	WHERE state NOT IN ('closed', 'dismissed');
-- The town station's view ("open tickets in my town") and state filters.
CREATE INDEX tickets_town_state_idx ON hazard.tickets (town_code, state);
CREATE INDEX tickets_open_state_idx ON hazard.tickets (state)
	WHERE state NOT IN ('closed', 'dismissed');
-- Escalation timers: the due tickets are the open ones with the smallest
-- deadline_at, claimed with FOR UPDATE SKIP LOCKED.
CREATE INDEX tickets_open_deadline_idx ON hazard.tickets (deadline_at)
	WHERE state NOT IN ('closed', 'dismissed') AND deadline_at IS NOT NULL;

-- Every change of a ticket: state transitions, level and tier changes,
-- escalations, comments. seq counts from 1 per ticket. Append-only: the
-- trigger below refuses UPDATE, DELETE and TRUNCATE, so the record of who did
-- what and when cannot be rewritten by the application role.
CREATE TABLE hazard.ticket_history (
	ticket_id  bigint NOT NULL REFERENCES hazard.tickets (ticket_id),
	seq        int NOT NULL CHECK (seq > 0),
	at         timestamptz NOT NULL,
	from_state text,   -- NULL when the ticket was opened
	to_state   text NOT NULL,
	level      text,
	tier       text,
	actor      text NOT NULL,  -- "hazardd" for rule-driven changes, else the person id
	reason     text,
	event_id   text,           -- the input event or command that caused the change
	PRIMARY KEY (ticket_id, seq)
);

CREATE FUNCTION hazard.ticket_history_refuse_change() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
	RAISE EXCEPTION 'hazard.ticket_history is append-only: % refused', TG_OP
		USING ERRCODE = 'restrict_violation',
		      HINT = 'add a new history row instead of changing an old one';
END
$$;

CREATE TRIGGER ticket_history_append_only
	BEFORE UPDATE OR DELETE ON hazard.ticket_history
	FOR EACH ROW EXECUTE FUNCTION hazard.ticket_history_refuse_change();
CREATE TRIGGER ticket_history_no_truncate
	BEFORE TRUNCATE ON hazard.ticket_history
	FOR EACH STATEMENT EXECUTE FUNCTION hazard.ticket_history_refuse_change();

-- Every input event that opened or joined a ticket. The primary key is the
-- idempotence of replays: an event replayed after a crash (Kafka redelivery,
-- MQTT spool) conflicts here and changes nothing. One event may feed more
-- than one ticket (two rules with different hazard types), hence the pair;
-- the writer checks event_id alone before applying anything.
CREATE TABLE hazard.ticket_events (
	event_id    text NOT NULL,
	ticket_id   bigint NOT NULL,
	received_at timestamptz NOT NULL DEFAULT now(),
	PRIMARY KEY (event_id, ticket_id)
);
CREATE INDEX ticket_events_ticket_idx ON hazard.ticket_events (ticket_id);
