#ifndef LOFT_IMAP_BODYSTRUCTURE_H
#define LOFT_IMAP_BODYSTRUCTURE_H
/* FETCH BODY / BODYSTRUCTURE (RFC 3501 7.4.2, 6.4.5), with Dovecot's
   choices for defaults and corner cases: no Content-Type → "text"
   "plain" ("charset" "us-ascii"); missing Content-Transfer-Encoding →
   "7bit"; body size in bytes and line counts as in the message data
   (which is CRLF, so RFC 3501's octet counts); message/rfc822 parts
   carry the encapsulated ENVELOPE, BODYSTRUCTURE and line count;
   multipart with BODYSTRUCTURE adds ("boundary" ...) params,
   disposition, language, location. */
#include "lib.h"
#include "message-parser.h"

/* Append the BODY (extended=false) or BODYSTRUCTURE (extended=true),
   outer parentheses included (ready for "FETCH (BODYSTRUCTURE " ...),
   of part (normally the root returned by message_parse(data, size))
   to dest. data is the same whole message the part tree was parsed
   from. Never fails; returns 0. */
int imap_bodystructure_write(const struct message_part *part,
			     const unsigned char *data, bool extended,
			     string_t *dest);

#endif
