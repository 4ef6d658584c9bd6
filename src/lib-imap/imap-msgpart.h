#ifndef LOFT_IMAP_MSGPART_H
#define LOFT_IMAP_MSGPART_H
/* FETCH BODY[section]<partial> (RFC 3501 6.4.5).

   section is the text between the brackets, e.g. "", "HEADER", "TEXT",
   "1.2", "1.2.MIME", "HEADER.FIELDS (From To)",
   "2.HEADER.FIELDS.NOT (Subject)", "2.HEADER", "2.TEXT"
   (case-insensitive keywords; field names are atoms or strings).

   Semantics: "" = whole message; "HEADER" = the header including the
   blank line; "TEXT" = the body; "n" = the body of part n (for a
   non-multipart message "1" is its body); "n.MIME" = the MIME header
   of part n; "n.HEADER"/"n.TEXT"/"n.HEADER.FIELDS" apply to the
   message encapsulated in message/rfc822 part n (for a part that is
   not message/rfc822 they give an empty string, as in Dovecot). A
   part that does not exist gives an empty string (not an error).
   HEADER.FIELDS(.NOT) output contains the matching fields in message
   order (raw, still folded) followed by the empty line "\r\n". */
#include "lib.h"
#include "message-parser.h"

#define IMAP_MSGPART_MAX_SECTION_LEN 8192
#define IMAP_MSGPART_MAX_FIELDS 1000

struct imap_msgpart;

/* Parse a section spec. Returns 0 on success, -1 on a syntax error
   with a short client-safe message in *error_r (static). Free with
   imap_msgpart_free(). */
int imap_msgpart_parse(const char *section, struct imap_msgpart **mp_r,
		       const char **error_r);
void imap_msgpart_free(struct imap_msgpart **mp);

/* Set <origin.count> (RFC 3501 6.4.5 partial); count = UINT64_MAX for
   "to the end". Default: no partial. */
void imap_msgpart_set_partial(struct imap_msgpart *mp, uint64_t origin,
			      uint64_t count);
/* Parse the partial spec as written after "]" without the angle
   brackets: "origin.count" (FETCH) or "origin" (response form).
   Returns 0 or -1 on syntax error / count 0 is allowed. */
int imap_msgpart_parse_partial(const char *str, uint64_t *origin_r,
			       uint64_t *count_r);

/* Canonical section text for the FETCH response, e.g.
   "1.HEADER.FIELDS (FROM TO)": everything uppercased, field names
   given as strings written as quoted strings (as Dovecot answers).
   Owned by mp. */
const char *imap_msgpart_get_section(const struct imap_msgpart *mp);
/* True when the section fetches only header data (HEADER, MIME,
   HEADER.FIELDS...): such a fetch never needs the body. */
bool imap_msgpart_is_header_only(const struct imap_msgpart *mp);

/* Append the section's bytes (after applying partial) of the message
   data[0..size) to dest. parts is message_parse(data, size), or NULL
   to have it parsed here. Returns 0 on success (a non-existent part
   gives 0 bytes), -1 only on internal error with *error_r set. */
int imap_msgpart_get(const struct imap_msgpart *mp,
		     const unsigned char *data, size_t size,
		     const struct message_part *parts,
		     string_t *dest, const char **error_r);

/* Size of the full section (before partial), e.g. for RFC822.SIZE-like
   uses. Same arguments as imap_msgpart_get(). */
uint64_t imap_msgpart_get_full_size(const struct imap_msgpart *mp,
				    const unsigned char *data, size_t size,
				    const struct message_part *parts);

#endif
