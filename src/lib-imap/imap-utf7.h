#ifndef LOFT_IMAP_UTF7_H
#define LOFT_IMAP_UTF7_H
/* Modified UTF-7 mailbox names (RFC 3501 5.1.3) <-> UTF-8. */
#include "lib.h"

/* Append the mUTF-7 form of UTF-8 src to dest. Returns 0, or -1 if src
   is not valid UTF-8 (overlong forms, surrogates, > U+10FFFF; dest may
   then hold a partial result). */
int imap_utf8_to_utf7(const char *src, string_t *dest);
/* Append the UTF-8 form of mUTF-7 src to dest. Strict: returns -1 for
   anything RFC 3501 5.1.3 does not allow: bytes outside 0x20..0x7e,
   a shift sequence that is unterminated, empty ("&-" is '&' itself),
   encodes printable US-ASCII, has non-zero padding bits, an odd number
   of UTF-16 bytes, bad surrogates, or directly follows another one. */
int imap_utf7_to_utf8(const char *src, string_t *dest);
/* True if src is valid mUTF-7 (as imap_utf7_to_utf8() would accept). */
bool imap_utf7_is_valid(const char *src);

#endif
