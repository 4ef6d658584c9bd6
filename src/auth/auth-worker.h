#ifndef LOFT_AUTH_WORKER_H
#define LOFT_AUTH_WORKER_H
/* Password checks in worker processes, so that slow hashes (bcrypt,
   SHA-crypt, argon2) never block the auth process's event loop
   (DESIGN.md: blocking work goes to worker processes).

   The auth process forks the workers after dropping privileges. Each
   worker has the same passdbs/userdbs (forked copy), reads requests from
   a socketpair one at a time, runs auth_request_pass() and writes the
   reply. The channel uses auth-protocol.h's escaping:
     main -> worker:  PASS <id> service= user= password= rip= lip=
                      session= mech= secured=0|1 trusted=0|1
     worker -> main:  OK|FAIL|TEMPFAIL <id> [user=] [reason=] [key=value...]
   A worker that dies fails its pending requests with TEMPFAIL and is
   started again. */
#include "lib.h"
#include "auth-request.h"

struct event_base;
struct auth_worker_pool;
struct auth_worker_request;

/* Called with the reply; the reply is freed after the call. */
typedef void auth_worker_callback_t(const struct auth_request_reply *reply,
				    void *context);

/* Fork count workers (0 = no workers: requests run inline). */
struct auth_worker_pool *auth_worker_pool_create(struct auth *auth,
						 struct event_base *base,
						 unsigned int count);
/* Stop the workers. Pending callbacks are not called. */
void auth_worker_pool_destroy(struct auth_worker_pool **pool);

/* Verify a password in a worker. The callback is called later from the
   event loop, or at once when the pool has no workers. Returns a handle
   for auth_worker_request_abort() (NULL when already answered). */
struct auth_worker_request *
auth_worker_pass(struct auth_worker_pool *pool,
		 const struct auth_request_info *info,
		 auth_worker_callback_t *callback, void *context);
/* Forget a pending request: its callback won't be called. */
void auth_worker_request_abort(struct auth_worker_request **req);

#endif
