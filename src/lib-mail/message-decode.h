#ifndef LOFT_MESSAGE_DECODE_H
#define LOFT_MESSAGE_DECODE_H
/* Content-Transfer-Encoding decoding (RFC 2045 6.7, 6.8) and RFC 2047
   encoded-word decoding, tolerant of garbage as mail in the wild needs:
   invalid base64 characters are skipped, broken quoted-printable
   escapes are kept literally, unknown charsets are taken as UTF-8. */
#include "lib.h"
#include "message-parser.h"

/* Append the decoded bytes. */
void message_decode_base64(const void *data, size_t size, string_t *dest);
void message_decode_qp(const void *data, size_t size, string_t *dest);
/* Decode by the Content-Transfer-Encoding name (base64,
   quoted-printable; anything else is copied as is). */
void message_decode_transfer(const char *encoding, const void *data,
			     size_t size, string_t *dest);

/* Decode a header value to UTF-8: line breaks unfolded, RFC 2047
   encoded-words decoded (whitespace between adjacent encoded-words
   dropped, adjacent words of one charset converted together so that a
   character split between them survives, RFC 2231 "*lang" suffixes
   ignored), other bytes taken as
   UTF-8 with invalid sequences replaced by U+FFFD. */
void message_header_decode_utf8(const void *value, size_t size,
				string_t *dest);

/* Append the body of part, transfer-decoded; with to_utf8 the text is
   converted from the part's charset (default us-ascii) to UTF-8. data
   is the whole message. */
void message_decode_body(const struct message_part *part,
			 const unsigned char *data, bool to_utf8,
			 string_t *dest);

#endif
