#ifndef LOFT_LMTP_LOCAL_H
#define LOFT_LMTP_LOCAL_H
/* Local delivery for loft-lmtp: the headers LMTP prepends (as Dovecot's
   lmtp does) and saving into the recipient's mailbox, as the
   recipient's uid/gid when loft-lmtp runs as root. */
#include "lmtp-client.h"

/* Start/stop local delivery: the cache of open recipients
   (lmtp-user-cache.h), closed at deinit. */
void lmtp_local_init(struct lmtp_server *server);
void lmtp_local_deinit(void);

/* Append Return-Path, Delivered-To (only when the transaction has one
   recipient, per lmtp_hdr_delivery_address) and Received (when
   lmtp_add_received_header) to dest, CRLF line ends. */
void lmtp_local_add_headers(struct lmtp_client *client, string_t *dest);

/* Deliver client->message to rcpt. Appends the reply for this
   recipient ("250 2.0.0 <rcpt> <session> Saved", 451/452 on failure) to
   reply. session_id is the delivery's id for the reply and log. */
void lmtp_local_deliver(struct lmtp_client *client,
			const struct lmtp_recipient *rcpt,
			const char *session_id, string_t *reply);

#endif
