#ifndef LOFT_CHARSET_UTF8_H
#define LOFT_CHARSET_UTF8_H
/* Charset conversion to UTF-8 with glibc iconv (no tables of our own),
   and UTF-8 helpers. Invalid or incomplete input sequences become
   U+FFFD; conversion never fails half-way. */
#include "lib.h"

#define CHARSET_NAME_MAX_LEN 64
#define UNICODE_REPLACEMENT_UTF8 "\xEF\xBF\xBD"

/* True for names that mean UTF-8 or its subset US-ASCII (no iconv). */
bool charset_is_utf8(const char *charset);

/* Append data[0..size) converted from charset to UTF-8 (a few mail
   charset names glibc lacks, e.g. ks_c_5601-1987, x-gbk, are mapped to
   the names it knows). Returns 0, or
   -1 if the charset is unknown (the data is then appended as UTF-8
   with invalid sequences replaced, so the caller always gets text). */
int charset_to_utf8(const char *charset, const void *data, size_t size,
		    string_t *dest);

/* Append data as UTF-8, replacing invalid sequences with U+FFFD. */
void utf8_append_valid(string_t *dest, const void *data, size_t size);
/* True if the whole buffer is valid UTF-8. */
bool utf8_is_valid(const void *data, size_t size);

#endif
