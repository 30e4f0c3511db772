-- 003_delivery.sql - what makes delivery exactly-once in effect: dead letters,
-- consumed positions and the outbox.
--
-- Writers: hazardd's batched writer, in the same transaction as the ticket
-- changes the batch caused. Readers: `hazardctl dead-letters`, the outbox
-- publisher (after commit), the Kafka source at start-up and on assignment.

-- Input that can never be processed (undecodable, invalid, refused by a
-- constraint), kept with its raw bytes and source coordinates.
CREATE TABLE hazard.dead_letters (
	id          bigserial PRIMARY KEY,
	received_at timestamptz NOT NULL DEFAULT now(),
	source      text NOT NULL CHECK (source IN ('mqtt', 'kafka')),
	topic       text NOT NULL,
	partition   int,
	"offset"    bigint,
	reason      text NOT NULL,
	payload     bytea NOT NULL,
	event_id    text,
	-- Chosen by the writer from the message's coordinates (and payload
	-- digest), so a redelivered poison message stays one dead letter:
	-- INSERT ... ON CONFLICT (dedupe_key) DO NOTHING.
	dedupe_key  text UNIQUE
);
CREATE INDEX dead_letters_received_idx ON hazard.dead_letters (received_at);

-- The next offset to consume per source partition (Kafka partitions; the
-- MQTT spool as source 'mqtt' partition 0). Written in the same transaction
-- as the effects of the messages below it, so after a crash the daemon
-- resumes exactly where its committed effects end.
CREATE TABLE hazard.source_offsets (
	source      text NOT NULL,
	partition   int NOT NULL,
	next_offset bigint NOT NULL CHECK (next_offset >= 0),
	updated_at  timestamptz NOT NULL DEFAULT now(),
	PRIMARY KEY (source, partition)
);

-- Output messages (TicketEvent, EscalationNotice, CommandResult, TownRating)
-- written in the transaction that caused them, published after commit and
-- deleted once the broker has acknowledged them. The id is the stable
-- message id, so a re-publish after a crash is recognisable downstream.
CREATE TABLE hazard.outbox (
	id           bigserial PRIMARY KEY,
	created_at   timestamptz NOT NULL DEFAULT now(),
	kind         text NOT NULL,  -- ticket, escalation, result, rating, deadletter
	msg_key      text,           -- Kafka message key (site or town)
	mqtt_topic   text,           -- NULL: not published on MQTT
	kafka_topic  text,           -- NULL: not published on Kafka
	content_type text,
	payload      bytea NOT NULL
);
