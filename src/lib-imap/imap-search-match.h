#ifndef LOFT_IMAP_SEARCH_MATCH_H
#define LOFT_IMAP_SEARCH_MATCH_H
/* Message-content matching for SEARCH (RFC 3501 6.4.4).

   Matching is substring, case-insensitive: both sides are converted
   to UTF-8 and casefolded (ASCII plus simple Unicode lowercase
   mapping), as Dovecot's i;unicode-casemap does for the common cases.
   Keys are UTF-8 (the SEARCH CHARSET has already been applied by the
   caller; for CHARSET US-ASCII the key is ASCII). An empty key matches
   whenever the field/part exists. */
#include "lib.h"
#include <time.h>
#include "message-parser.h"

/* HEADER <field> <key>, and FROM/TO/CC/BCC/SUBJECT: 1 if any field
   named field (case-insensitive) in the header block hdr[0..hdr_size)
   contains key. The value is unfolded and RFC 2047-decoded to UTF-8.
   For address fields (From, To, Cc, Bcc, Sender, Reply-To, Resent-*)
   the match is done on the address text as Dovecot does: the parsed
   list written back as "Name <local@domain>, ..." with encoded words
   decoded. Returns 1 match, 0 no match. */
int imap_search_header(const unsigned char *hdr, size_t hdr_size,
		       const char *field, const char *key);

/* BODY <key>: 1 if the decoded text of any body part contains key.
   Every leaf part is transfer-decoded (base64, quoted-printable); text
   parts (text/..., and parts without Content-Type) are converted from
   their charset to UTF-8, others taken as UTF-8. Headers (MIME headers,
   headers of encapsulated messages) are not searched. data is the
   whole message; parts its parse tree (or NULL to parse here). */
int imap_search_body(const unsigned char *data, size_t size,
		     const struct message_part *parts, const char *key);

/* TEXT <key>: 1 if key is in the decoded headers (of the whole message,
   RFC 2047-decoded) or in the body as for imap_search_body(). */
int imap_search_text(const unsigned char *data, size_t size,
		     const struct message_part *parts, const char *key);

/* SENTBEFORE/SENTON/SENTSINCE: parse the (first) Date: field of hdr. On
   success returns 0 and sets *day_r to the calendar day of the date in
   its own timezone, as time_t of that day's 00:00:00 UTC (so comparing
   with a SEARCH date, also as 00:00 UTC, gives RFC 3501's "disregarding
   time and timezone"), and *time_r to the exact UTC time. Returns -1
   when there is no Date: field or it does not parse (RFC 5322 3.3
   including obsolete forms). Either output pointer may be NULL. */
int imap_search_sent_date(const unsigned char *hdr, size_t hdr_size,
			  time_t *day_r, time_t *time_r);

/* Casefold UTF-8 text (ASCII + simple Unicode lowercase) into dest,
   the same normalisation the matchers use for keys. Invalid UTF-8 is
   kept bytewise. */
void imap_search_casefold(const void *data, size_t size, string_t *dest);

#endif
