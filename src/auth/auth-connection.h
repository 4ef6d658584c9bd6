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

/* Take over fd (a connected unix socket). userdb = the connection came
   from the auth-userdb socket: USER requests are allowed there and
   the plaintext-auth check is skipped (lmtp, loftadm). */
void auth_connection_create(struct auth *auth, struct event_base *base,
			    int fd, bool userdb);
/* Close every connection (shutdown). */
void auth_connections_destroy_all(void);
unsigned int auth_connections_count(void);

#endif
