#ifndef LOFT_AUTH_REQUEST_H
#define LOFT_AUTH_REQUEST_H
/* PASS and USER lookups through the configured passdbs and userdbs, with
   Dovecot's semantics: passdbs in order (an unknown user or a password
   mismatch continues with the next one, the first success wins), then
   the userdbs in order (the first that knows the user wins). Logs like
   Dovecot with auth_verbose / auth_debug:
     auth: Info: passwd-file(user,1.2.3.4,<session>): unknown user
     auth: Info: passwd-file(user,1.2.3.4,<session>): Password mismatch
   The password is never logged. These calls block (password hashing,
   file reads): loft-auth runs PASS in worker processes (auth-worker.h). */
#include "lib.h"
#include "settings.h"
#include "auth-db.h"

/* Dovecot's default auth_username_chars. */
#define AUTH_USERNAME_CHARS \
	"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ01234567890.-_@"
#define AUTH_USERNAME_MAX_LEN 255

struct auth;

struct auth_request_info {
	const char *service;
	const char *user;
	const char *password;  /* PASS only */
	const char *rip, *lip, *session, *mech;
	bool secured;
	bool trusted;          /* from the auth-userdb socket */
};

enum auth_request_status {
	AUTH_REQUEST_OK = 0,
	AUTH_REQUEST_FAIL,
	AUTH_REQUEST_TEMPFAIL,
	AUTH_REQUEST_NOTFOUND,   /* USER only */
};

struct auth_request_reply {
	enum auth_request_status status;
	char *user;              /* canonical user, may be NULL on failure */
	char *reason;            /* may be NULL */
	struct auth_fields fields; /* userdb fields on success */
};

/* Create passdbs/userdbs from settings. NULL with *error_r (caller
   frees) on an unsupported driver or bad args. */
struct auth *auth_create(const struct loft_settings *set, char **error_r);
void auth_destroy(struct auth **auth);
const struct loft_settings *auth_settings(const struct auth *auth);

/* Verify a password, then look up the userdb. */
void auth_request_pass(struct auth *auth, const struct auth_request_info *info,
		       struct auth_request_reply *reply_r);
/* Userdb lookup only. */
void auth_request_user(struct auth *auth, const struct auth_request_info *info,
		       struct auth_request_reply *reply_r);
void auth_request_reply_free(struct auth_request_reply *reply);

#endif
