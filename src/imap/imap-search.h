#ifndef LOFT_IMAP_SEARCH_H
#define LOFT_IMAP_SEARCH_H
/* SEARCH programs (RFC 3501 6.4.4): every search key, parsed into a
   tree and matched against messages of the selected mailbox. */
#include "imap-client.h"

/* Deepest nesting of NOT/OR/parentheses accepted. */
#define IMAP_SEARCH_MAX_DEPTH 64

struct imap_search;

/* Parse search keys (after CHARSET). uid_star/seq_star are the values
   '*' takes in UID and sequence sets. Returns 0 or -1 with a
   client-safe *error_r (caller replies BAD). */
int imap_search_parse(const struct imap_arg *args, uint32_t seq_star,
		      uint32_t uid_star, struct imap_search **search_r,
		      const char **error_r);
void imap_search_free(struct imap_search **search);

/* 1 if message seq of box matches, 0 if not. client_seq is its number
   as the client knows it (for sequence set keys). A message whose file
   has vanished doesn't match. */
int imap_search_match(struct imap_search *search, struct mailbox *box,
		      uint32_t seq, uint32_t client_seq);

/* The fields called field (case-insensitive) of the header block hdr,
   each whole with its line breaks, concatenated: what SEARCH keeps in
   the parse cache for FROM/TO/CC/BCC/SUBJECT. imap_search_header() on
   the result matches exactly as on the whole block. Caller frees;
   *size_r is its size (it may hold NUL bytes when hdr does). */
char *imap_search_header_fields(const unsigned char *hdr, size_t hdr_size,
				const char *field, size_t *size_r);

#endif
