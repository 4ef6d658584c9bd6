#ifndef LOFT_LOGIN_AUTH_H
#define LOFT_LOGIN_AUTH_H
/* Authentication of login clients: SASL exchange (lib-auth/sasl.h) and
   credential verification by the auth service (lib-auth/auth-client.h). */
#include "login-common.h"

void login_auth_init(struct event_base *base, const struct loft_settings *set,
		     const char *socket_path);
void login_auth_deinit(void);
/* Forget any exchange or lookup in progress for this client. */
void login_auth_abort(struct login_client *client);

#endif
