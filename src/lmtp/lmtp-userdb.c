/* userdb lookups through auth_client: see lmtp-userdb.h. */
#include "lmtp-userdb.h"
#include "auth-client.h"
#include <stdlib.h>

struct lmtp_userdb_lookup {
	unsigned int id;
	lmtp_userdb_callback_t *callback;
	void *context;
};

static struct auth_client *auth_client;

static void lmtp_userdb_cb(const struct auth_client_result *result,
			   void *context)
{
	struct lmtp_userdb_lookup *lookup = context;
	lmtp_userdb_callback_t *callback = lookup->callback;
	void *cb_context = lookup->context;
	struct lmtp_userdb_reply reply;

	free(lookup);
	switch (result->status) {
	case AUTH_CLIENT_OK:
		if (result->user == NULL || result->user[0] == '\0') {
			callback(LMTP_USERDB_TEMPFAIL, NULL,
				 "userdb reply without user", cb_context);
			return;
		}
		reply.user = result->user;
		reply.home = result->home;
		reply.mail = result->mail;
		reply.uid = result->uid_set ? (long long)result->uid : -1;
		reply.gid = result->gid_set ? (long long)result->gid : -1;
		callback(LMTP_USERDB_FOUND, &reply, NULL, cb_context);
		return;
	case AUTH_CLIENT_NOTFOUND:
	case AUTH_CLIENT_FAIL:
		/* a FAIL without temp=1 means the user is unknown/disabled */
		callback(LMTP_USERDB_NOTFOUND, NULL, result->reason, cb_context);
		return;
	case AUTH_CLIENT_TEMPFAIL:
		break;
	}
	callback(LMTP_USERDB_TEMPFAIL, NULL, result->reason != NULL ?
		 result->reason : "userdb lookup failed", cb_context);
}

void lmtp_userdb_init(struct event_base *base, const char *socket_path)
{
	auth_client = auth_client_create(base, socket_path);
}

void lmtp_userdb_deinit(void)
{
	if (auth_client != NULL)
		auth_client_destroy(&auth_client);
}

struct lmtp_userdb_lookup *
lmtp_userdb_lookup(const char *user, lmtp_userdb_callback_t *callback,
		   void *context)
{
	struct lmtp_userdb_lookup *lookup = i_new(struct lmtp_userdb_lookup, 1);

	lookup->callback = callback;
	lookup->context = context;
	lookup->id = auth_client_userdb_lookup(auth_client, "lmtp", user,
					       lmtp_userdb_cb, lookup);
	return lookup;
}

void lmtp_userdb_lookup_abort(struct lmtp_userdb_lookup **_lookup)
{
	struct lmtp_userdb_lookup *lookup = *_lookup;

	if (lookup == NULL)
		return;
	*_lookup = NULL;
	auth_client_cancel(auth_client, lookup->id);
	free(lookup);
}
