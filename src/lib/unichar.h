#ifndef LOFT_UNICHAR_H
#define LOFT_UNICHAR_H
/* UTF-8 encoding and decoding of single characters (RFC 3629). */
#include "lib.h"

/* Decode the UTF-8 sequence at p (at most left bytes). Returns its
   length (1-4) with the code point in *chr_r, or 0 if the sequence is
   invalid, overlong, a surrogate, above U+10FFFF or truncated. */
size_t uni_utf8_get_char(const unsigned char *p, size_t left, uint32_t *chr_r);
/* Append code point chr (<= U+10FFFF) to dest as UTF-8. */
void uni_ucs4_to_utf8_c(uint32_t chr, string_t *dest);

#endif
