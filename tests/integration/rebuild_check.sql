-- rebuild_check.sql - what a dashboard rebuilds from the tickets topic alone
-- (the last TicketEvent of each ticket, proto3 JSON, one per line in the
-- standard input) against hazard.tickets, column by column. Prints one line
-- per ticket that differs: "<ticket_id>: <field>=<from the topic>/<in the
-- table> ..."; tickets with no event at all are reported too. Nothing when
-- they agree. Used by hz_check_rebuild (pipeline_lib.sh).
CREATE TEMP TABLE ev (n bigserial, j jsonb);
\copy ev (j) from pstdin with (format csv, quote e'\x01', delimiter e'\x02')

WITH last AS (
	SELECT DISTINCT ON (id) id, j->'ticket' AS tk
	FROM (SELECT n, j, (j->'ticket'->>'ticketId')::int8 AS id FROM ev) e
	ORDER BY id, n DESC
), pair AS (
	-- (field, from the topic, in the table), each as text; NULL and the
	-- proto3 default (absent) are the same thing
	SELECT t.ticket_id, f.name, f.topic, f.tab
	FROM hazard.tickets t LEFT JOIN last l ON l.id = t.ticket_id
	CROSS JOIN LATERAL (VALUES
		('event', CASE WHEN l.id IS NULL THEN 'none' ELSE 'some' END, 'some'),
		('state', l.tk->>'state', 'STATE_' || upper(t.state)),
		('level', coalesce(l.tk->>'level', 'LEVEL_NONE'), 'LEVEL_' || upper(t.level)),
		('tier', l.tk->>'tier', 'TIER_' || upper(t.tier)),
		('mode', coalesce(l.tk->>'mode', 'MODE_ACTUAL'), 'MODE_' || upper(t.mode)),
		('kind', l.tk->>'kind', 'KIND_' || upper(t.kind)),
		('site_id', coalesce(l.tk->>'siteId', ''), coalesce(t.site_id, '')),
		('town_code', coalesce(l.tk->>'townCode', ''), coalesce(t.town_code, '')),
		('hazard_type', coalesce(l.tk->>'hazardType', ''), t.hazard_type),
		('device_id', coalesce(l.tk->>'deviceId', ''), coalesce(t.device_id, '')),
		('event_count', coalesce(l.tk->>'eventCount', '0'), t.event_count::text),
		('opened_at', (l.tk->>'openedAt')::timestamptz::text, t.opened_at::text),
		('updated_at', (l.tk->>'updatedAt')::timestamptz::text, t.updated_at::text),
		('acked_at', (l.tk->>'ackedAt')::timestamptz::text, t.acked_at::text),
		('deadline_at', (l.tk->>'deadlineAt')::timestamptz::text, t.deadline_at::text),
		('closed_at', (l.tk->>'closedAt')::timestamptz::text, t.closed_at::text),
		('acked_by', coalesce(l.tk->>'ackedBy', ''), coalesce(t.acked_by, '')),
		('ack_due_at', (l.tk->>'ackDueAt')::timestamptz::text, t.ack_due_at::text),
		('escalation_repeat', coalesce(l.tk->>'escalationRepeat', '0'), t.escalation_repeat::text),
		('assignee', coalesce(l.tk->>'assignee', ''), coalesce(t.assignee, '')),
		('assigned_at', (l.tk->>'assignedAt')::timestamptz::text, t.assigned_at::text),
		('rectify_mode', coalesce(l.tk->>'rectifyMode', ''),
			CASE t.rectify_mode WHEN 'on_spot' THEN 'RECTIFY_MODE_ON_THE_SPOT'
			WHEN 'by_deadline' THEN 'RECTIFY_MODE_BY_DEADLINE' ELSE '' END),
		('rectify_due_at', (l.tk->>'rectifyDueAt')::timestamptz::text, t.rectify_due_at::text),
		('rectified_by', coalesce(l.tk->>'rectifiedBy', ''), coalesce(t.rectified_by, '')),
		('rectified_at', (l.tk->>'rectifiedAt')::timestamptz::text, t.rectified_at::text),
		('verified_by', coalesce(l.tk->>'verifiedBy', ''), coalesce(t.verified_by, '')),
		('closed_by', coalesce(l.tk->>'closedBy', ''), coalesce(t.closed_by, '')),
		('reopened_count', coalesce(l.tk->>'reopenedCount', '0'), t.reopened_count::text),
		('overdue_at', (l.tk->>'overdueAt')::timestamptz::text, t.overdue_at::text),
		('flapping_at', (l.tk->>'flappingAt')::timestamptz::text, t.flapping_at::text),
		('silenced_count', coalesce(l.tk->>'silencedCount', '0'), t.silenced_count::text),
		('held_count', coalesce(l.tk->>'heldCount', '0'), t.held_count::text)
	) AS f(name, topic, tab)
)
SELECT ticket_id || ': ' || string_agg(name || '=' || coalesce(topic, 'NULL') || '/' ||
	coalesce(tab, 'NULL'), ' ' ORDER BY name)
FROM pair WHERE topic IS DISTINCT FROM tab
GROUP BY ticket_id ORDER BY ticket_id;
