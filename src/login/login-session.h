#ifndef LOFT_LOGIN_SESSION_H
#define LOFT_LOGIN_SESSION_H
/* Process-level state of a login process and the post-login hand-off. */
#include "login-common.h"

struct login_userdb_fields {
	const char *user;      /* canonical user name from auth */
	const char *uid, *gid, *home, *mail;
	const char *all;       /* tab-separated key=value of every field */
};

/* Create a client for an accepted connection. */
struct login_client *
login_client_create(struct event_base *base, const struct login_protocol *proto,
		    const struct loft_settings *set, SSL_CTX *ssl_ctx,
		    int fd, bool implicit_tls);
void login_client_free(struct login_client *client);
void login_clients_link(struct login_client *client);
void login_clients_unlink(struct login_client *client);
/* Called when a client is gone: service_count / client_limit book-keeping. */
void login_clients_released(void);
SSL_CTX *login_ssl_ctx(void);

/* After successful authentication: ask the master to start the
   post-login process and pass it the connection. */
void login_session_init(struct event_base *base);
void login_session_deinit(void);
/* Drop a destroyed client from the queue of sessions being started. */
void login_session_forget(struct login_client *client);
void login_session_start(struct login_client *client,
			 const struct login_userdb_fields *fields);

#endif
