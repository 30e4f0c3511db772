-- 012: operator commands and the closed loop (闭环).
--
-- Every command (from MQTT hazard/v1/commands, Kafka hazard.commands or
-- hazardctl) is applied by one function, daemon/store/command.c, in one
-- transaction: the ticket row locked FOR UPDATE, the state-machine table
-- (daemon/tickets/state.c) and the actor's rights checked, the ticket
-- changed, a history row, a TicketEvent and a CommandResult in the outbox,
-- and the command's row here. Writers: hazardd and hazardctl, through that
-- function only. Readers: the same function (replays), dashboards, audits.

-- One row per command_id, applied or refused: the idempotence of commands.
-- A command whose id is here already changes nothing and gets its stored
-- result back (the same bytes), whether it is a crash replay or a client
-- retrying.
CREATE TABLE hazard.commands (
	command_id  text PRIMARY KEY,
	received_at timestamptz NOT NULL DEFAULT now(),
	acted_at    timestamptz,          -- the actor's own clock, as sent
	source      text NOT NULL CHECK (source IN ('mqtt', 'kafka', 'hazardctl')),
	actor       text NOT NULL,
	action      text NOT NULL,
	ticket_id   bigint,
	mode        text NOT NULL DEFAULT 'actual' CHECK (mode IN ('actual', 'exercise', 'test')),
	outcome     text NOT NULL CHECK (outcome IN ('applied', 'refused')),
	reason      text,                 -- why refused; flags (clock skew) when applied
	result      bytea NOT NULL        -- the hazard.v1.CommandResult as published (protobuf)
);
CREATE INDEX commands_ticket_idx ON hazard.commands (ticket_id);

-- What the loop records on the ticket itself.
ALTER TABLE hazard.tickets
	ADD COLUMN acked_by       text,
	ADD COLUMN assignee       text,         -- dispatch: unit, brigade or person
	ADD COLUMN assigned_at    timestamptz,
	ADD COLUMN rectify_mode   text CHECK (rectify_mode IN ('on_spot', 'by_deadline')),
	ADD COLUMN rectify_due_at timestamptz,  -- 限期整改: by when
	ADD COLUMN rectified_by   text,
	ADD COLUMN rectified_at   timestamptz,
	ADD COLUMN verified_by    text,         -- 核销: who re-inspected and closed it
	ADD COLUMN closed_by      text,
	ADD COLUMN reopened_count int NOT NULL DEFAULT 0;

-- Who did it, at which tier, when by their own clock, and with what
-- evidence. action is the command's action (NULL for rule-driven rows);
-- flags notes a clock skew beyond pipeline.command_skew.
ALTER TABLE hazard.ticket_history
	ADD COLUMN action        text,
	ADD COLUMN actor_tier    text,
	ADD COLUMN acted_at      timestamptz,
	ADD COLUMN note          text,
	ADD COLUMN evidence_urls text[],
	ADD COLUMN assignee      text,
	ADD COLUMN flags         text;

-- Outbox rows written outside the daemon (hazardctl) carry their origin; a
-- running daemon claims them (claimed_by = its mqtt.client_id) and
-- publishes them within a scan interval (250 ms). A claim older than a
-- minute whose row is still here is taken again, so a daemon that died
-- holding one does not strand it (a re-publish keeps its event id).
ALTER TABLE hazard.outbox
	ADD COLUMN origin     text,
	ADD COLUMN claimed_by text,
	ADD COLUMN claimed_at timestamptz;
CREATE INDEX outbox_foreign_idx ON hazard.outbox (id) WHERE origin IS NOT NULL;
