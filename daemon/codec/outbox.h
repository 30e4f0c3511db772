/*
 * outbox.h - read back an output written to hazard.outbox (a TicketEvent,
 * EscalationNotice, TownRating or CommandResult in protobuf, by the daemon
 * or by hazardctl), to publish it in every sink's format with the same
 * event id: after a restart, or when hazardctl wrote it.
 */
#ifndef HZ_CODEC_OUTBOX_H
#define HZ_CODEC_OUTBOX_H

#include "tickets/ticket.h"

/* Storage for the strings a decoded ticket event points to. */
struct hz_ticket_event_strings {
	char change[32];
	char actor[HZ_ID_MAX];
	char reason[640];   /* a command's whole TicketEvent reason (HZ_CMD_TE_REASON_MAX):
			     * a reopen's says how call-and-respond restarted, at its end */
	char cause[HZ_ID_MAX];
};

/* Decode; te's strings point into *strs. HZ_OK or HZ_EINVAL. Strings
 * longer than their fixed fields are truncated. */
int hz_codec_decode_ticket_event(const void *buf, size_t len, struct hz_ticket_event *te,
				 struct hz_ticket_event_strings *strs);

/* Decode an EscalationNotice written by hz_codec_encode_escalation. */
int hz_codec_decode_escalation(const void *buf, size_t len, struct hz_escalation *esc);

/* Decode a TownRating written by hz_codec_encode_rating. */
int hz_codec_decode_rating(const void *buf, size_t len, struct hz_town_rating *tr);

/* Decode a CommandResult written by hz_codec_encode_command_result. */
int hz_codec_decode_command_result(const void *buf, size_t len, struct hz_command_result *cr);

#endif
