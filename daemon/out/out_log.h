/*
 * out_log.h - the escalation log: one JSON object per line for every
 * ticket change and escalation, appended to a file (O_APPEND, one write
 * per line so concurrent readers never see half a line) and, when asked,
 * to stdout. This is a contract for duty operators and `hazardctl tail`:
 * field names are stable.
 */
#ifndef HZ_OUT_LOG_H
#define HZ_OUT_LOG_H

#include "core/buf.h"
#include "tickets/ticket.h"

struct hz_out_log;

/* path "" for none; to_stdout also writes each line to stdout. */
struct hz_out_log *hz_out_log_new(const char *path, bool to_stdout, char *err, size_t errlen);
/* Format the line for a ticket change into `line` (cleared first). */
void hz_out_log_format_ticket(const struct hz_ticket_event *te, struct hz_buf *line);
/* The line for an escalation step (type "escalation"). */
void hz_out_log_format_escalation(const struct hz_escalation *esc, struct hz_buf *line);
/* The line for a town rating change (type "rating"). */
void hz_out_log_format_rating(const struct hz_town_rating *tr, struct hz_buf *line);
/* The line for an operator command's result (type "command"): every command,
 * applied or refused, so a refusal is as visible as a change. */
void hz_out_log_format_result(const struct hz_command_result *cr, struct hz_buf *line);
/* Append a formatted line. Returns HZ_OK or HZ_ERR (disk full...). */
int hz_out_log_write(struct hz_out_log *l, const struct hz_buf *line);
/* Reopen the file (after log rotation: SIGHUP). */
int hz_out_log_reopen(struct hz_out_log *l, char *err, size_t errlen);
void hz_out_log_destroy(struct hz_out_log *l); /* accepts NULL */

#endif
