#ifndef LOFT_AUTH_CONNECTION_PRIVATE_H
#define LOFT_AUTH_CONNECTION_PRIVATE_H
/* Shared by the protocol handlers of auth connections. */
#include "auth-connection.h"

struct auth_sasl_request;
struct auth_request_info;
struct auth_request_reply;
struct conn_lookup;

struct auth_connection {
	struct auth_connection *prev, *next;
	struct auth *auth;
	struct event_base *base;
	struct bufferevent *bev;
	struct delayed_reply *delayed;
	unsigned int delayed_count;
	enum auth_connection_type type;
	/* SASL: requests waiting for a CONT from the client */
	struct auth_sasl_request *sasl_requests;
	unsigned int sasl_requests_count;
	bool sasl_handshake_done;
	/* password checks running in auth workers */
	struct conn_lookup *lookups;
	unsigned int lookups_count;
};

/* Password checks in progress on one connection. A login process has up
   to client_limit clients (1000 by default, Dovecot's high-performance
   mode) who may all log in at once; this only bounds a misbehaving
   peer. */
#define AUTH_CONNECTION_MAX_LOOKUPS 16384

typedef void auth_connection_pass_callback_t(struct auth_connection *conn,
					     uint32_t id,
					     const struct auth_request_reply *reply);

/* Verify a password (in an auth worker); callback gets conn and id
   back, unless conn was closed meanwhile. */
void auth_connection_pass(struct auth_connection *conn, uint32_t id,
			  const struct auth_request_info *info,
			  auth_connection_pass_callback_t *callback);

/* Queue a complete reply line (with LF). May destroy conn when the
   client doesn't read its replies. */
void auth_connection_write(struct auth_connection *conn, const char *line);
/* Send line (i_malloc'd, taken over) now, or after auth_failure_delay
   seconds when delay is true. */
void auth_connection_reply(struct auth_connection *conn, char *line,
			   bool delay);
/* Close the connection (e.g. after a protocol violation). */
void auth_connection_close(struct auth_connection *conn);

#endif
