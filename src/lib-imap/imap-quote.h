#ifndef LOFT_IMAP_QUOTE_H
#define LOFT_IMAP_QUOTE_H
/* Writing IMAP strings (RFC 3501 4.3, 4.5, 9 "string"/"nstring"/
   "astring"), with Dovecot's choice between quoted and literal:
   a quoted string when the value has no CR, LF, NUL or 8-bit byte and
   is not too long (IMAP_QUOTE_MAX_QUOTED), otherwise a literal
   "{n}\r\n" followed by the bytes. Inside quotes '"' and '\' are
   escaped with '\'. */
#include "lib.h"

#define IMAP_QUOTE_MAX_QUOTED 1024

/* string: quoted or literal. */
void imap_append_string(string_t *dest, const char *str);
void imap_append_string_n(string_t *dest, const void *data, size_t size);
/* nstring: NIL when str is NULL, else as imap_append_string(). */
void imap_append_nstring(string_t *dest, const char *str);
/* astring: atom when possible (non-empty, only ATOM-CHARs and ']'),
   else as imap_append_string(). */
void imap_append_astring(string_t *dest, const char *str);
/* Always a quoted string; CR, LF and NUL are dropped. Use only for
   values known to be short and safe, such as tokens. */
void imap_append_quoted(string_t *dest, const char *str);
/* nstring for human-readable header text (ENVELOPE subject etc.):
   CR and LF are removed first (unfolding, as Dovecot's
   imap_append_nstring_nolf()), then NIL / quoted / literal. */
void imap_append_nstring_nolf(string_t *dest, const char *str);

#endif
