-- 007: the township three-colour rating (三色预警): green / yellow / red
-- from a town's open tickets, by the formula in the rules file. The daemon
-- recomputes it periodically and, in the same transaction, records each
-- change here and queues a TownRating for the ratings topics. Drills
-- (mode exercise/test) are left out of the figures.
CREATE TABLE hazard.town_ratings (
	town_code    text PRIMARY KEY REFERENCES hazard.org_units,
	rating       text NOT NULL CHECK (rating IN ('green', 'yellow', 'red')),
	open_red     int NOT NULL,   -- open tickets at level red
	open_orange  int NOT NULL,   -- open tickets at level orange
	open_tickets int NOT NULL,   -- all open tickets
	overdue      int NOT NULL,   -- open tickets past their close-out deadline
	changed_at   timestamptz NOT NULL
);
