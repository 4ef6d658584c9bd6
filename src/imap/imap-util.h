#ifndef LOFT_IMAP_UTIL_H
#define LOFT_IMAP_UTIL_H
/* Helpers shared by the IMAP commands: flags, dates, mailbox name
   arguments and storage errors as IMAP replies. */
#include "imap-client.h"
#include <time.h>

/* Append "\Seen \Answered ... keyword" (no parentheses). */
void imap_write_flags(string_t *dest, enum mail_flags flags,
		      const char *const *keywords);
/* A hash of a keyword list (order-insensitive), to notice changes. */
uint32_t imap_keywords_hash(const char *const *keywords);

/* Parse a flag list for STORE/APPEND: args is the list contents (or a
   single flag). \Recent and unknown system flags are refused (RFC 3501
   2.3.2). *keywords_r is NULL-terminated, free with str_split_free().
   Returns 0 or -1 with a client-safe error. */
int imap_parse_flags(const struct imap_arg *args, enum mail_flags *flags_r,
		     char ***keywords_r, const char **error_r);

/* RFC 3501 date-time "dd-Mon-yyyy hh:mm:ss +zzzz" (day may be space
   padded) -> UTC time. Returns 0 or -1. */
int imap_parse_datetime(const char *str, time_t *time_r);
/* RFC 3501 date "d-Mon-yyyy" -> 00:00:00 UTC of that day. */
int imap_parse_date(const char *str, time_t *day_r);
/* Append "\"dd-Mon-yyyy hh:mm:ss +zzzz\"" in the server's local zone. */
void imap_write_datetime(string_t *dest, time_t t);

/* Read a mailbox name argument: astring, "INBOX" case-insensitively
   normalized, the namespace prefix removed (*name_r is the storage's
   name). Returns false after replying BAD/NO. */
bool imap_arg_get_mailbox(struct client_command *cmd,
			  const struct imap_arg *arg, const char **name_r);
/* Client mailbox name -> the storage's (namespace prefix removed,
   "inbox" -> "INBOX"); NULL if outside the namespace. Points into name
   or is static. */
const char *imap_mailbox_name_from_client(struct client *client,
					  const char *name);
/* Storage mailbox name -> the name the client sees (adds the
   namespace prefix; "INBOX" stays). Caller frees. */
char *imap_mailbox_name_to_client(struct client *client, const char *name);
/* Reply to a failed storage call: NO [code] message, Dovecot's codes
   (ALREADYEXISTS, NONEXISTENT, CANNOT, SERVERBUG with a timestamp ...). */
void imap_reply_storage_error(struct client_command *cmd, const char *error);
/* "NO [NONEXISTENT] Mailbox doesn't exist: NAME" */
void imap_reply_nonexistent(struct client_command *cmd, const char *name);

/* The messages a sequence set (or with uid, a UID set) names, as
   ascending sequence numbers of the selected mailbox. Sequence sets
   naming a message that doesn't exist are refused like Dovecot does
   ("BAD ... Invalid messageset"); messages the client still knows but
   that were expunged are left out (cmd->seqs_expunged is set); UID sets
   just match what exists.
   Returns 0 (caller frees *seqs_r) or -1 after replying BAD. */
int imap_seqset_get_seqs(struct client_command *cmd, const char *set,
			 bool uid, uint32_t **seqs_r, unsigned int *count_r);

#endif
