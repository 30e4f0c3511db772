-- 004: headers on outbox rows, for dead letters published to the
-- hazard.deadletter topic: the original bytes are the payload and the
-- reason and source coordinates travel as Kafka headers.
--
-- Writer: hazardd's batch writer, in the transaction that records the dead
-- letter (so a dead letter is published at least once, and only when it
-- was recorded for the first time). Reader: the outbox publisher.
ALTER TABLE hazard.outbox ADD COLUMN headers jsonb;
