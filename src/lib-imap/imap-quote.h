#ifndef LOFT_IMAP_QUOTE_H
#define LOFT_IMAP_QUOTE_H
/* Writing IMAP strings (RFC 3501 4.3, 4.5, 9 "string"/"nstring"/
   "astring"), with Dovecot's choice between quoted and literal:
   a quoted string when the value has no CR, LF or 8-bit byte and at
   most 4 quoted-specials ('"', '\\', each escaped with '\\'), otherwise
   a literal "{n}\r\n" followed by the bytes. (Dovecot does not switch
   to literals on length alone; IMAP_QUOTE_MAX_QUOTED is unused.) */
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
/* nstring with CR/LF removed first (a line break not followed by
   whitespace becomes one space), as Dovecot's imap_append_nstring_nolf()
   (BODYSTRUCTURE id/description/location). */
void imap_append_nstring_nolf(string_t *dest, const char *str);
/* string for human-readable text (ENVELOPE subject and display names),
   as Dovecot's imap_append_string_for_humans(): TAB/CR/LF become space,
   runs of whitespace collapse, leading/trailing whitespace is dropped,
   NUL becomes 0x80; any such change, '"', '\\' or 8-bit forces a
   literal; unchanged text is quoted. */
void imap_append_string_for_humans(string_t *dest, const void *data,
				   size_t size);

#endif
