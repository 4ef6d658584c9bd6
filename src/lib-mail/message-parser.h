#ifndef LOFT_MESSAGE_PARSER_H
#define LOFT_MESSAGE_PARSER_H
/* RFC 5322 / MIME (RFC 2045, 2046) message structure parser.

   Works on a whole message in memory, normally with CRLF line endings
   (as mailbox_msg_read() returns it); bare LF line ends are tolerated
   and counted as line ends. The parser never fails: malformed input
   yields a best-effort tree, the way Dovecot's message-parser does
   (a missing closing boundary → the part runs to the end of its
   parent; a multipart without boundary parameter has no children and
   BODYSTRUCTURE shows one empty text/plain part in it; a boundary line
   of an outer multipart ends inner parts, even inside a header).

   Limits, as Dovecot's message-parser applies them:
     MESSAGE_PARSER_MAX_NESTING  nested multipart / message/rfc822 depth;
       a part that would nest deeper loses its multipart/rfc822 flag and
       its body is opaque (no children)
     MESSAGE_PARSER_MAX_PARTS    total parts in one message; the part
       that reaches it gets the rest of the message as its body
       (boundaries after it are body text)
     MESSAGE_PARSER_MAX_HEADER_FIELDS  Content-* fields examined per part
   Header field values are truncated to MESSAGE_PARSER_MAX_FIELD_SIZE
   bytes for the parsed properties below (the raw bytes stay served).
   Boundary matching follows Dovecot (longest matching prefix, innermost
   first, boundaries truncated to 80 bytes), except that a boundary that
   itself ends in "--" is also recognised. */
#include "lib.h"

#define MESSAGE_PARSER_MAX_NESTING 100
#define MESSAGE_PARSER_MAX_PARTS 10000
#define MESSAGE_PARSER_MAX_HEADER_FIELDS 10000
#define MESSAGE_PARSER_MAX_FIELD_SIZE (64 * 1024)

enum message_part_flags {
	/* Content-Type: multipart/... (children are the body parts; none
	   if the boundary parameter is missing) */
	MESSAGE_PART_FLAG_MULTIPART = 0x01,
	/* multipart/digest: children default to message/rfc822 */
	MESSAGE_PART_FLAG_MULTIPART_DIGEST = 0x02,
	/* message/rfc822 (only that, as Dovecot): children holds exactly
	   one part, the encapsulated message */
	MESSAGE_PART_FLAG_MESSAGE_RFC822 = 0x04,
	/* text/... (or no Content-Type): BODY/BODYSTRUCTURE include the
	   body line count */
	MESSAGE_PART_FLAG_TEXT = 0x08,
	/* the header had a MIME-Version or Content-Type field, or the part
	   is a body part of a multipart. Without it Content-* is ignored. */
	MESSAGE_PART_FLAG_IS_MIME = 0x10,
	/* the header has no empty line ending it (it ran to the end of the
	   data, or a boundary line cut it short); the body is empty */
	MESSAGE_PART_FLAG_NO_HEADER_END = 0x20,
};

/* A parameter of Content-Type / Content-Disposition, after RFC 2231
   continuation joining (name*0, name*1...) and unquoting. The name is
   as written in the header (not lowercased, as Dovecot); for RFC 2231
   extended values the name keeps a trailing '*' and the value its
   charset'lang' prefix, still %-encoded (as Dovecot). */
struct message_param {
	char *name;
	char *value;
};

struct message_part {
	struct message_part *parent;
	struct message_part *next;     /* next sibling */
	struct message_part *children; /* first child */
	unsigned int children_count;   /* direct children */

	/* Byte offsets into the message data. The header starts at
	   header_offset and is header_size bytes long, including the
	   empty line that ends it (if any). The body follows directly:
	   body_offset = header_offset + header_size. For a multipart
	   child the header starts after the boundary line's CRLF, and the
	   body ends before the CRLF that precedes the next boundary. */
	size_t header_offset;
	size_t header_size;
	size_t body_offset;
	size_t body_size;
	/* Line counts: the number of LFs in the range (as Dovecot). */
	unsigned int header_lines;
	unsigned int body_lines;

	enum message_part_flags flags;

	/* Parsed MIME fields; NULL when absent. Strings are NUL-terminated
	   and may contain 8-bit bytes. content_type/subtype are as written
	   in the header (not lowercased; compare with strcasecmp). When
	   Content-Type is missing or unparsable they are NULL and the
	   defaults apply (text/plain; charset=us-ascii, or message/rfc822
	   inside multipart/digest). */
	char *content_type;
	char *content_subtype;
	struct message_param *ctype_params;
	unsigned int ctype_params_count;

	char *transfer_encoding;  /* Content-Transfer-Encoding token */
	char *content_id;         /* Content-ID, raw value (trimmed) */
	char *description;        /* Content-Description, raw (trimmed) */
	char *md5;                /* Content-MD5 */
	char *disposition;        /* Content-Disposition type token */
	struct message_param *disposition_params;
	unsigned int disposition_params_count;
	char **language;          /* Content-Language list, NULL-terminated,
	                             NULL when absent */
	char *location;           /* Content-Location (unfolded) */
};

/* Parse data[0..size) into a part tree. Never returns NULL. The tree
   does not reference data (offsets only). Free with message_part_free(). */
struct message_part *message_parse(const unsigned char *data, size_t size);
void message_part_free(struct message_part **part);

/* Find a part by IMAP part number (RFC 3501 6.4.5): "1", "1.2", ...
   Numbering: for a non-multipart top-level message, part "1" is the
   message body itself; for a message/rfc822 part, its subparts are
   numbered like the encapsulated message's. Returns NULL if no such
   part. "" returns the root. */
const struct message_part *
message_part_find(const struct message_part *root, const char *number);

/* Case-insensitive parameter lookup; NULL if absent. */
const char *message_part_param(const struct message_param *params,
			       unsigned int count, const char *name);

/* True if the part's effective Content-Type is type/subtype
   (case-insensitive); subtype may be NULL to match any. */
bool message_part_is_type(const struct message_part *part,
			  const char *type, const char *subtype);

#endif
