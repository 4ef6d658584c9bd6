#ifndef LOFT_AUTH_CONNECTION_H
#define LOFT_AUTH_CONNECTION_H
/* One client connection of loft-auth: reads request lines
   (auth-protocol.h), answers them, and holds failed PASS replies back
   for auth_failure_delay seconds with a timer, so that other requests
   on the same and other connections are answered meanwhile. */
#include "lib.h"

struct event_base;
struct auth;

/* Bytes of unsent replies after which a client that doesn't read is
   disconnected. */
#define AUTH_CONNECTION_MAX_OUTPUT (1024 * 1024)

enum auth_connection_type {
	/* loft protocol (auth-protocol.h), PASS only: login processes */
	AUTH_CONNECTION_LOGIN,
	/* loft protocol, PASS and USER, no plaintext-auth check: lmtp,
	   loftadm (the auth-userdb socket) */
	AUTH_CONNECTION_USERDB,
	/* Dovecot's auth client protocol (SASL server for Postfix/Exim),
	   see auth-sasl-server.h */
	AUTH_CONNECTION_SASL,
};

struct auth_worker_pool;

/* Password checks go through pool (set before the first connection). */
void auth_connections_init(struct auth_worker_pool *pool);

/* Take over fd (a connected unix socket). */
void auth_connection_create(struct auth *auth, struct event_base *base,
			    int fd, enum auth_connection_type type);
/* Close every connection (shutdown). */
void auth_connections_destroy_all(void);
unsigned int auth_connections_count(void);

#endif
