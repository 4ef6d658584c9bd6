#ifndef LOFT_LMTP_CLIENT_H
#define LOFT_LMTP_CLIENT_H
/* One LMTP connection (RFC 2033) in loft-lmtp: command input through
   lib-smtp's parser, replies in order (pipelining, RFC 2920), one
   transaction at a time, one DATA reply per accepted recipient. */
#include "lib.h"
#include "settings.h"
#include "smtp-parser.h"
#include "smtp-address.h"
#include "smtp-data.h"
#include <event2/event.h>
#include <event2/bufferevent.h>
#include <openssl/ssl.h>

/* Recipients per transaction (Dovecot's lmtp default is unlimited;
   we bound it). */
#define LMTP_MAX_RECIPIENTS 1000
/* Consecutive bad commands before the connection is closed. */
#define LMTP_MAX_BAD_COMMANDS 10
#define LMTP_IDLE_TIMEOUT_SECS 300
/* Stop reading input while this much output is queued. */
#define LMTP_OUTPUT_THROTTLE (64 * 1024)

struct lmtp_server {
	const struct loft_settings *set;
	struct event_base *base;
	SSL_CTX *ssl_ctx;           /* NULL = no STARTTLS */
	char *hostname;
	unsigned int connection_count;
	bool running_as_root;
	/* called after a connection is gone (connection_count is already
	   decremented); may be NULL */
	void (*connection_closed)(struct lmtp_server *server);
};

struct lmtp_recipient {
	char *address;        /* as given, encoded (no <>) */
	char *username;       /* canonical user from userdb */
	char *detail;         /* "" if none */
	char *orcpt;          /* ORCPT address or NULL */
	char *home, *mail;    /* from userdb, may be NULL */
	long long uid, gid;   /* -1 if userdb gave none */
};

enum lmtp_state {
	LMTP_STATE_COMMAND = 0,
	LMTP_STATE_DATA,
	LMTP_STATE_BDAT,      /* reading a BDAT chunk (RFC 3030) */
	LMTP_STATE_LOOKUP,    /* waiting for a userdb reply */
	LMTP_STATE_CLOSING,   /* flush output, then close */
};

struct lmtp_client {
	struct lmtp_server *server;
	struct bufferevent *bev;
	struct event *ev_close;   /* LMTP_STATE_CLOSING: waits for the flush */
	unsigned int close_ticks;
	char *rip;            /* NULL for unix sockets ("local") */
	unsigned int rport;
	char *session_id;
	unsigned int seq;     /* transaction counter in this session */

	struct smtp_command_parser *parser;
	enum lmtp_state state;
	unsigned int bad_commands;
	char *lhlo;           /* NULL until LHLO */
	bool tls;

	/* transaction */
	bool mail_given;
	char *mail_from;      /* encoded reverse-path ("" = null sender) */
	char *trans_id;
	struct lmtp_recipient *rcpts;
	unsigned int rcpts_count;
	struct smtp_data_reader *data_reader;
	string_t *message;    /* prepended headers + message, CRLF */
	/* BDAT: bytes of the current chunk still to read, whether it is
	   the LAST one, whether it is read only to be thrown away (the
	   command was refused), and the transaction's state */
	uint64_t bdat_remaining, bdat_chunk_size;
	bool bdat_last, bdat_discard, bdat_started, bdat_failed;
	bool bdat_too_large;
	size_t header_size;   /* bytes of prepended headers in message */

	/* pending RCPT during LMTP_STATE_LOOKUP */
	struct lmtp_recipient pending_rcpt;
	struct lmtp_userdb_lookup *lookup;
};

void lmtp_client_create(struct lmtp_server *server, evutil_socket_t fd,
			const char *rip, unsigned int rport, bool implicit_tls);
/* Queue a reply line (see smtp_reply_append). */
void lmtp_client_reply(struct lmtp_client *client, unsigned int code,
		       const char *enh_code, const char *fmt, ...)
	ATTR_FORMAT(4, 5);
void lmtp_client_reply_raw(struct lmtp_client *client, const char *text);
/* Drop the transaction (RSET, after DATA, LHLO, STARTTLS). */
void lmtp_client_transaction_reset(struct lmtp_client *client);
void lmtp_recipient_free(struct lmtp_recipient *rcpt);
/* Reply "221"-style and close once the output is flushed. */
void lmtp_client_close(struct lmtp_client *client, const char *reason);
/* Resume reading commands (after an async RCPT lookup). */
void lmtp_client_resume(struct lmtp_client *client);
/* Switch the connection to TLS (after "220 2.0.0 Begin TLS"). */
int lmtp_client_start_tls(struct lmtp_client *client, const char **error_r);

/* lmtp-commands.c */
void lmtp_command_execute(struct lmtp_client *client,
			  const struct smtp_command *cmd);
/* DATA (or BDAT LAST) finished: deliver and reply per recipient. */
void lmtp_command_data_finished(struct lmtp_client *client);
/* A BDAT chunk has been read completely. */
void lmtp_command_bdat_chunk_done(struct lmtp_client *client);

#endif
