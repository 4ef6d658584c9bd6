#ifndef LOFT_AUTH_CLIENT_H
#define LOFT_AUTH_CLIENT_H
/* Asynchronous client of loft-auth (protocol in auth-protocol.h) for the
   login processes, lmtp and loftadm. One unix socket connection
   multiplexes all requests; it is opened on the first request and again
   after the auth process went away (restart). A request that is pending
   when the connection drops, or can't be sent because the socket is not
   there, ends with AUTH_CLIENT_TEMPFAIL. Callbacks always run from the
   event loop, never from inside the call that started the request, and
   must not destroy the client. The process must ignore SIGPIPE (every
   loft process does, via master_service_init()). */
#include "lib.h"
#include <sys/types.h>

struct event_base;

enum auth_client_status {
	AUTH_CLIENT_OK = 0,       /* password ok / user found */
	AUTH_CLIENT_FAIL,         /* wrong password, unknown user, disabled */
	AUTH_CLIENT_NOTFOUND,     /* userdb lookup: no such user */
	AUTH_CLIENT_TEMPFAIL,     /* internal error, auth down, timeout */
};

struct auth_client_field {
	const char *key;
	const char *value;
};

/* Everything points into memory valid only during the callback. */
struct auth_client_result {
	enum auth_client_status status;
	const char *user;      /* canonical user (OK), else NULL or as sent */
	const char *reason;    /* FAIL/TEMPFAIL reason from auth, may be NULL */
	/* reply fields other than user/reason/temp, e.g. uid, home, mail */
	const struct auth_client_field *fields;
	unsigned int fields_count;
	bool uid_set, gid_set;
	uid_t uid;
	gid_t gid;
	const char *home;      /* NULL if not set */
	const char *mail;      /* NULL if not set */
};

struct auth_client_request {
	const char *service;   /* "imap", "pop3" */
	const char *user;
	const char *password;
	const char *mech;      /* "PLAIN", "LOGIN", NULL */
	const char *rip, *lip; /* NULL = unknown */
	const char *session;   /* session id for logs, NULL = none */
	bool secured;          /* TLS or localhost */
};

typedef void auth_client_callback_t(const struct auth_client_result *result,
				    void *context);

#define AUTH_CLIENT_MAX_REPLY_LINE 65536
/* A request without a reply for this long ends with TEMPFAIL. */
#define AUTH_CLIENT_REQUEST_TIMEOUT_SECS 60

/* Create a client for the auth socket at socket_path. No connection is
   made until the first request. */
struct auth_client *auth_client_create(struct event_base *base,
				       const char *socket_path);
/* Close the connection and free the client. Pending requests are
   dropped without calling their callbacks. */
void auth_client_destroy(struct auth_client **client);

/* Verify a password (PASS). Returns the request id (never 0), which can
   be given to auth_client_cancel(). */
unsigned int auth_client_passdb_verify(struct auth_client *client,
				       const struct auth_client_request *request,
				       auth_client_callback_t *callback,
				       void *context);
/* Userdb lookup (USER). Result status OK, NOTFOUND, FAIL or TEMPFAIL. */
unsigned int auth_client_userdb_lookup(struct auth_client *client,
				       const char *service, const char *user,
				       auth_client_callback_t *callback,
				       void *context);
/* Forget a pending request: its callback won't be called. */
void auth_client_cancel(struct auth_client *client, unsigned int id);
/* Number of requests waiting for a reply. */
unsigned int auth_client_pending_count(const struct auth_client *client);

#endif
