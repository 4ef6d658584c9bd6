#ifndef LOFT_IMAP_ENVELOPE_H
#define LOFT_IMAP_ENVELOPE_H
/* FETCH ENVELOPE (RFC 3501 7.4.2):
     (date subject from sender reply-to to cc bcc in-reply-to message-id)
   rendered as Dovecot does: fields are taken from the header as raw
   (not RFC 2047-decoded) text, unfolded; Sender and Reply-To default
   to From when absent or empty; address lists are parsed with groups
   ((NIL NIL "group" NIL) ... (NIL NIL NIL NIL)), obsolete route
   syntax and comments; display names without their quotes; missing
   fields are NIL; values with 8-bit bytes or CR/LF become literals. */
#include "lib.h"

/* Append the parenthesised ENVELOPE "(date subject ... message-id)",
   outer parentheses included, of the message header
   hdr[0..hdr_size) (the header block of the message or of a
   message/rfc822 part; the body need not be included) to dest.
   Never fails; returns 0. */
int imap_envelope_write(const unsigned char *hdr, size_t hdr_size,
			string_t *dest);

/* Write an RFC 5322 address list (the raw field value, may be folded)
   as an IMAP address list "((name adl mailbox host)...)" or NIL when
   it yields no addresses, exactly as inside ENVELOPE. */
void imap_envelope_write_address_list(const char *value, size_t size,
				      string_t *dest);

#endif
