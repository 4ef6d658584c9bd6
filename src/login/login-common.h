#ifndef LOFT_LOGIN_COMMON_H
#define LOFT_LOGIN_COMMON_H
/* Login processes (imap-login, pop3-login): unprivileged and chrooted,
   they do the TLS handshake and the pre-authentication protocol, ask the
   auth service to verify credentials, then hand the connection to a
   post-login process through the master (DESIGN.md "Processes"). */
#include "lib.h"
#include "log.h"
#include "settings.h"
#include <event2/event.h>
#include <event2/bufferevent.h>
#include <openssl/ssl.h>

/* Pre-login input limit per line (Dovecot: LOGIN_MAX_INBUF_SIZE). */
#define LOGIN_MAX_INBUF_SIZE 4096
/* Idle time before a client that hasn't logged in is dropped. */
#define LOGIN_TIMEOUT_SECS 180
/* Bad commands before the client is disconnected. */
#define LOGIN_MAX_BAD_COMMANDS 3
/* Bytes of pipelined input carried to the post-login process. */
#define LOGIN_MAX_HANDOFF_INPUT 16384

struct login_client;

enum login_auth_result {
	LOGIN_AUTH_OK,
	LOGIN_AUTH_FAILED,       /* wrong user/password */
	LOGIN_AUTH_TEMPFAIL,     /* auth service unavailable */
	LOGIN_AUTH_ABORTED,      /* client cancelled ("*") */
	LOGIN_AUTH_BAD_INPUT,    /* malformed SASL response */
	LOGIN_AUTH_SESSION_FAILED, /* master couldn't start the session */
};

struct login_protocol {
	const char *name;               /* "imap", "pop3" */
	size_t context_size;
	void (*greeting)(struct login_client *client);
	/* Input arrived in client->input; consume what can be handled. */
	void (*input)(struct login_client *client);
	/* SASL challenge to send (base64, "" for an empty one). */
	void (*auth_challenge)(struct login_client *client, const char *b64);
	/* Authentication finished without a session (failure of any kind);
	   reason is client-safe and may be NULL. */
	void (*auth_failed)(struct login_client *client,
			    enum login_auth_result result, const char *reason);
	/* Session was started: reply info for the handoff: IMAP passes its
	   tag so that the post-login process answers "OK Logged in". */
	const char *(*handoff_tag)(struct login_client *client);
	void (*destroy)(struct login_client *client);
};

struct login_client {
	struct login_client *prev, *next;
	const struct login_protocol *proto;
	const struct loft_settings *set;
	int fd;
	struct bufferevent *bev;
	struct evbuffer *input;          /* bufferevent_get_input(bev) */
	SSL *ssl;
	bool tls, secured, starttls, destroyed;
	bool fd_owned_by_bev;            /* implicit TLS: bev closes fd */
	char rip[64], lip[64];
	unsigned int rport, lport;
	char session_id[32];
	time_t created;
	struct event *timeout;
	unsigned int bad_counter;
	unsigned int auth_attempts;
	time_t auth_first_started;
	char *last_user;                 /* for the Disconnected log line */
	char *last_mech;
	bool authenticating;             /* SASL exchange or auth lookup */
	bool waiting_master;             /* SESSION_START sent */
	struct sasl_mech *sasl;
	char *auth_user;                 /* decoded credentials */
	char *auth_pass;
	/* TLS proxy to the post-login process */
	struct bufferevent *proxy;
	void *context;                   /* protocol data (context_size) */
	void *context_auth;              /* pending auth lookup */
};

extern const struct login_protocol imap_login_protocol;
extern const struct login_protocol pop3_login_protocol;

void login_client_send(struct login_client *client, const char *data);
void login_client_sendf(struct login_client *client, const char *fmt, ...)
	ATTR_FORMAT(2, 3);
/* Start TLS after the protocol's "begin TLS" reply has been queued. */
void login_client_starttls(struct login_client *client);
/* Close the connection; reason goes to the "Disconnected: " log line. */
void login_client_destroy(struct login_client *client, const char *reason);
/* Whether cleartext credentials may be sent now (disable_plaintext_auth,
   ssl=required; localhost and TLS count as secured). */
bool login_client_plaintext_allowed(const struct login_client *client);
bool login_client_tls_available(const struct login_client *client);
/* Whether mechanism name (case-insensitive) is in auth_mechanisms and
   usable now. */
bool login_client_mech_allowed(const struct login_client *client,
			       const char *mech);
/* "PLAIN LOGIN" style list of mechanisms usable now. Caller frees. */
char *login_client_mech_list(const struct login_client *client,
			     const char *sep);
/* Begin SASL (AUTHENTICATE / AUTH): initial_b64 may be NULL (no SASL-IR)
   or "=" (empty initial response). */
void login_client_auth_begin(struct login_client *client, const char *mech,
			     const char *initial_b64);
/* Feed one line of SASL response from the client ("*" cancels). */
void login_client_auth_continue(struct login_client *client, const char *line);
/* LOGIN / USER+PASS: verify credentials (method=PLAIN in the logs). */
void login_client_auth_plain(struct login_client *client, const char *user,
			     const char *pass);
/* Count a bad command; disconnects after too many. Returns false if the
   client was destroyed. */
bool login_client_bad_command(struct login_client *client);
void login_client_set_last_user(struct login_client *client, const char *user);

/* capability helper shared by imap-login */
char *imap_login_capability(const struct login_client *client);

#endif
