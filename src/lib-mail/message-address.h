#ifndef LOFT_MESSAGE_ADDRESS_H
#define LOFT_MESSAGE_ADDRESS_H
/* RFC 5322 address-list parsing (3.4) with obsolete syntax (routes,
   comments as display names, phrases with dots) and groups, following
   Dovecot's message-address rules. Groups are returned as a start
   entry (mailbox = group name, domain NULL) followed by the members and
   an end entry (all fields NULL). */
#include "lib.h"

#define MESSAGE_ADDRESS_MAX_COUNT 10000

struct message_address {
	struct message_address *next;
	char *name, *route, *mailbox, *domain; /* NULL when absent */
	bool invalid_syntax;
};

/* Parse data[0..size) (an unfolded or folded header value). With
   fill_missing, a missing mailbox/domain becomes "MISSING_MAILBOX" /
   "MISSING_DOMAIN" and a broken angle address "SYNTAX_ERROR" (as in
   ENVELOPE). Returns NULL for an empty list. Free with
   message_address_free(). */
struct message_address *
message_address_parse(const void *data, size_t size, bool fill_missing);
void message_address_free(struct message_address **addr);

/* Write the list back as text ("Name <user@domain>, group: a@b;"),
   names as given (not re-encoded). */
void message_address_write(string_t *dest, const struct message_address *addr);

#endif
