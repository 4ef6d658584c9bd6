#ifndef LOFT_MESSAGE_HEADER_H
#define LOFT_MESSAGE_HEADER_H
/* Iterating the fields of an RFC 5322 header block in memory, with
   Dovecot's message-header-parser rules: a field runs until a line that
   does not start with SP/TAB; the name ends at the first ':' (trailing
   whitespace trimmed); a line without ':' is a field whose whole line
   is the name and whose value is empty; the block ends at an empty line
   (LF or CRLF) or at the end of the data. */
#include "lib.h"

struct message_header_field {
	const unsigned char *name;
	size_t name_len;
	/* raw value: after ':' up to the end of the field, excluding the
	   final [CR]LF, folding line breaks included */
	const unsigned char *value;
	size_t value_len;
	/* offsets of the whole field (including its final line break)
	   relative to the start of the data given to the iterator */
	size_t start, end;
	unsigned int lines;
	bool has_colon;
	bool no_newline; /* the last line ended at end of data */
};

struct message_header_iter {
	const unsigned char *data;
	size_t pos, size;
	bool eoh;      /* the empty line ending the header was reached */
	size_t eoh_end; /* offset just after the empty line */
};

void message_header_iter_init(struct message_header_iter *iter,
			      const void *data, size_t size);
/* Returns true with the next field, false at the end of the header
   (iter->eoh tells whether an empty line ended it; iter->pos is then
   the offset where the body starts). */
bool message_header_iter_next(struct message_header_iter *iter,
			      struct message_header_field *field_r);

bool message_header_field_is(const struct message_header_field *field,
			     const char *name);

/* Append the value as Dovecot's "full_value" with SKIP_INITIAL_LWSP and
   DROP_CR: leading whitespace after ':' skipped (only one if the value
   is all whitespace), continuation lines joined with "\n" (their
   leading whitespace kept), CRs before LFs dropped, NUL bytes replaced
   by U+FFFD (as Dovecot's message_header_strdup()). Appends at most
   max_size bytes. */
void message_header_field_get_value(const struct message_header_field *field,
				    string_t *dest, size_t max_size);
/* Same, but line breaks are removed entirely (RFC 5322 unfolding). */
void message_header_field_get_unfolded(const struct message_header_field *field,
				       string_t *dest, size_t max_size);

/* Find the first field called name in the header block; returns true
   and its value as message_header_field_get_value() would. */
bool message_header_find(const void *hdr, size_t hdr_size, const char *name,
			 string_t *value_r);

#endif
