#ifndef LOFT_SMTP_REPLY_H
#define LOFT_SMTP_REPLY_H
/* SMTP/LMTP reply writer (RFC 5321 4.2, enhanced status codes RFC 3463).
   Replies are appended to a string_t that the caller sends. CR, LF and
   other control characters in the text are replaced by spaces, so a
   client-supplied address can never inject a reply line. */
#include "lib.h"

/* Append "CODE ENH TEXT\r\n" (enh_code may be NULL). code is 200..599. */
void smtp_reply_append(string_t *out, unsigned int code, const char *enh_code,
		       const char *fmt, ...) ATTR_FORMAT(4, 5);
/* Append a multi-line reply: "CODE-line1\r\n ... CODE lineN\r\n" from a
   NULL-terminated list (no enhanced code, as EHLO/LHLO replies). */
void smtp_reply_append_lines(string_t *out, unsigned int code,
			     const char *const *lines);

#endif
