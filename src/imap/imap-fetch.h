#ifndef LOFT_IMAP_FETCH_H
#define LOFT_IMAP_FETCH_H
/* FETCH data items (RFC 3501 6.4.5, 7.4.2): parsing the request and
   writing one message's "* n FETCH (...)" response. */
#include "imap-client.h"

struct imap_fetch;

/* Parse the item (atom or list, incl. macros ALL/FAST/FULL) at args.
   uid adds UID (UID FETCH). Returns 0, or -1 with a client-safe error
   (caller replies BAD). */
int imap_fetch_parse(const struct imap_arg *args, bool uid,
		     struct imap_fetch **fetch_r, const char **error_r);
void imap_fetch_free(struct imap_fetch **fetch);
/* Free the last fetched message kept parsed for the next FETCH of the same
   message. Only while no FETCH is running (an idle session). */
void imap_fetch_cache_release(void);

/* Write the FETCH response for seq of the selected mailbox; sets \Seen
   first when a non-PEEK body item was asked for (and then includes
   FLAGS). Returns 0, or -1 if the message has vanished (expunged by
   another session): nothing is written. */
int imap_fetch_message(struct client *client, struct imap_fetch *fetch,
		       uint32_t seq);

#endif
