#ifndef LOFT_POP3_FORMAT_H
#define LOFT_POP3_FORMAT_H
/* Pieces of loft-pop3 that need no storage: Dovecot-style %-templates
   (pop3_uidl_format, pop3_logout_format), the RETR/TOP byte-stuffing
   writer (RFC 1939 3) and the TOP length computation. */
#include "lib.h"

struct pop3_format_var {
	char key;               /* e.g. 'u' for %u */
	const char *long_key;   /* e.g. "uid" for %{uid}, may be NULL */
	const char *value;
};

/* Expand a template like Dovecot's var_expand: "%%" is '%', "%k" or
   "%{long}" is a variable; between '%' and the key come an optional
   zero-padded width ("%08") and modifiers: X (the decimal value as
   upper-case hex), x (lower-case hex), L (lower-case), U (upper-case).
   Unknown keys fail with *error_r. Appends to dest. */
int pop3_format_expand(string_t *dest, const char *format,
		       const struct pop3_format_var *vars, unsigned int count,
		       const char **error_r);
/* True if format uses the variable key (short or long form). */
bool pop3_format_has_key(const char *format, char key, const char *long_key);

/* Append data[0..size) to out with a '.' doubled at the start of each
   line. *line_start carries the state between calls (start with true).
   data should have CRLF line ends. */
void pop3_dot_stuff(const unsigned char *data, size_t size, bool *line_start,
		    string_t *out);
/* Bytes of a CRLF message that TOP msg lines sends: the header, the empty
   line after it, and then at most lines body lines (RFC 1939 7). A
   message without an empty line is all header. */
size_t pop3_top_length(const unsigned char *data, size_t size, uint64_t lines);

#endif
