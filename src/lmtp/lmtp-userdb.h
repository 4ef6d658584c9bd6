#ifndef LOFT_LMTP_USERDB_H
#define LOFT_LMTP_USERDB_H
/* userdb lookups for loft-lmtp: a thin layer over lib-auth's
   auth_client (the "auth-userdb" socket), mapping its results to what
   RCPT needs. */
#include "lib.h"
#include <event2/event.h>

enum lmtp_userdb_result {
	LMTP_USERDB_FOUND = 1,
	LMTP_USERDB_NOTFOUND = 0,
	LMTP_USERDB_TEMPFAIL = -1,
};

struct lmtp_userdb_reply {
	const char *user;  /* canonical user name */
	const char *home, *mail; /* may be NULL */
	long long uid, gid;      /* -1 if not given */
};

typedef void lmtp_userdb_callback_t(enum lmtp_userdb_result result,
				    const struct lmtp_userdb_reply *reply,
				    const char *error, void *context);
struct lmtp_userdb_lookup;

/* socket_path: the auth-userdb socket. */
void lmtp_userdb_init(struct event_base *base, const char *socket_path);
void lmtp_userdb_deinit(void);
/* Look up user (service=lmtp). The callback runs later from the event
   loop, never from inside this call. Returns a handle for abort. */
struct lmtp_userdb_lookup *
lmtp_userdb_lookup(const char *user, lmtp_userdb_callback_t *callback,
		   void *context);
/* Cancel a pending lookup: its callback is not called. */
void lmtp_userdb_lookup_abort(struct lmtp_userdb_lookup **lookup);

#endif
