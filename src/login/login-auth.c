/* SASL and credential verification for login clients. */
#include "login-auth.h"
#include "login-session.h"
#include "auth-client.h"
#include "sasl.h"
#include <stdio.h>
#include <stdlib.h>

static struct auth_client *auth_client;

struct login_auth_request {
	struct login_client *client;  /* NULL when the client went away */
};

void login_auth_init(struct event_base *base, const struct loft_settings *set,
		     const char *socket_path)
{
	auth_client = auth_client_create(base, socket_path);
}

void login_auth_deinit(void)
{
	if (auth_client != NULL)
		auth_client_destroy(&auth_client);
}

static bool mech_is_plaintext(const char *mech)
{
	return strcasecmp(mech, "PLAIN") == 0 || strcasecmp(mech, "LOGIN") == 0;
}

bool login_client_mech_allowed(const struct login_client *client,
			       const char *mech)
{
	char **mechs = client->set->auth_mechanisms;
	bool found = false;
	for (unsigned int i = 0; mechs != NULL && mechs[i] != NULL; i++) {
		if (strcasecmp(mechs[i], mech) == 0)
			found = true;
	}
	if (!found)
		return false;
	if (mech_is_plaintext(mech) && !login_client_plaintext_allowed(client))
		return false;
	return true;
}

char *login_client_mech_list(const struct login_client *client, const char *sep)
{
	string_t *str = str_new(64);
	char **mechs = client->set->auth_mechanisms;
	for (unsigned int i = 0; mechs != NULL && mechs[i] != NULL; i++) {
		char *upper = i_strdup(mechs[i]);
		str_ucase(upper);
		/* only mechanisms loft implements */
		struct sasl_mech *m = sasl_mech_create(upper);
		if (m != NULL && login_client_mech_allowed(client, upper)) {
			if (str_len(str) > 0)
				str_append(str, sep);
			str_append(str, upper);
		}
		if (m != NULL)
			sasl_mech_destroy(&m);
		free(upper);
	}
	return str_free_without_data(&str);
}

static void auth_attempt_start(struct login_client *client, const char *mech)
{
	if (client->auth_attempts++ == 0)
		client->auth_first_started = time(NULL);
	free(client->last_mech);
	client->last_mech = i_strdup(mech);
	client->authenticating = true;
}

static void auth_finish_fail(struct login_client *client,
			     enum login_auth_result result, const char *reason)
{
	client->authenticating = false;
	if (client->sasl != NULL)
		sasl_mech_destroy(&client->sasl);
	client->proto->auth_failed(client, result, reason);
}

static void auth_verify_callback(const struct auth_client_result *result,
				 void *context)
{
	struct login_auth_request *req = context;
	struct login_client *client = req->client;
	free(req);
	if (client == NULL)
		return;
	client->context_auth = NULL;
	if (client->auth_pass != NULL) {
		safe_memset(client->auth_pass, 0, strlen(client->auth_pass));
		i_free(client->auth_pass);
	}
	switch (result->status) {
	case AUTH_CLIENT_OK: {
		client->authenticating = false;
		if (client->sasl != NULL)
			sasl_mech_destroy(&client->sasl);
		string_t *all = str_new(128);
		for (unsigned int i = 0; i < result->fields_count; i++) {
			if (i > 0)
				str_append_c(all, '\t');
			str_printfa(all, "%s=%s", result->fields[i].key,
				    result->fields[i].value);
		}
		char uid[16], gid[16];
		snprintf(uid, sizeof(uid), "%u", (unsigned int)result->uid);
		snprintf(gid, sizeof(gid), "%u", (unsigned int)result->gid);
		struct login_userdb_fields fields = {
			.user = result->user != NULL ? result->user : client->auth_user,
			.uid = result->uid_set ? uid : NULL,
			.gid = result->gid_set ? gid : NULL,
			.home = result->home, .mail = result->mail,
			.all = str_c(all),
		};
		login_client_set_last_user(client, fields.user);
		login_session_start(client, &fields);
		str_free(&all);
		break;
	}
	case AUTH_CLIENT_FAIL:
	case AUTH_CLIENT_NOTFOUND:
		auth_finish_fail(client, LOGIN_AUTH_FAILED, NULL);
		break;
	default:
		auth_finish_fail(client, LOGIN_AUTH_TEMPFAIL, NULL);
		break;
	}
}

static void auth_verify(struct login_client *client, const char *user,
			const char *pass)
{
	login_client_set_last_user(client, user);
	free(client->auth_user);
	client->auth_user = i_strdup(user);
	struct login_auth_request *req = i_new(struct login_auth_request, 1);
	req->client = client;
	client->context_auth = req;
	struct auth_client_request request = {
		.service = client->proto->name,
		.mech = client->last_mech,
		.user = user,
		.password = pass,
		.rip = client->rip,
		.lip = client->lip,
		.session = client->session_id,
		.secured = client->secured,
	};
	auth_client_passdb_verify(auth_client, &request, auth_verify_callback, req);
}

void login_auth_abort(struct login_client *client)
{
	struct login_auth_request *req = client->context_auth;
	if (req != NULL) {
		/* the lookup's callback will find no client */
		req->client = NULL;
		client->context_auth = NULL;
	}
	if (client->sasl != NULL)
		sasl_mech_destroy(&client->sasl);
	login_session_forget(client);
}

static void sasl_step(struct login_client *client, const unsigned char *data,
		      size_t len, bool have_data)
{
	const char *challenge, *user, *pass, *error;
	bool done;
	if (sasl_mech_input(client->sasl, have_data ? data : NULL, len,
			    &challenge, &done, &user, &pass, &error) < 0) {
		auth_finish_fail(client, LOGIN_AUTH_BAD_INPUT, error);
		return;
	}
	if (!done) {
		string_t *b64 = str_new(64);
		base64_encode(challenge, strlen(challenge), b64);
		client->proto->auth_challenge(client, str_c(b64));
		str_free(&b64);
		return;
	}
	auth_verify(client, user, pass);
}

static void sasl_input_b64(struct login_client *client, const char *b64)
{
	string_t *data = str_new(128);
	if (strcmp(b64, "=") != 0 &&
	    base64_decode(b64, strlen(b64), data) < 0) {
		str_free(&data);
		auth_finish_fail(client, LOGIN_AUTH_BAD_INPUT,
				 "Invalid base64 data in continued response");
		return;
	}
	sasl_step(client, str_data(data), str_len(data), true);
	safe_memset(data->data, 0, data->alloc);
	str_free(&data);
}

void login_client_auth_begin(struct login_client *client, const char *mech,
			     const char *initial_b64)
{
	auth_attempt_start(client, mech);
	str_ucase(client->last_mech);
	client->sasl = sasl_mech_create(mech);
	if (client->sasl == NULL) {
		auth_finish_fail(client, LOGIN_AUTH_BAD_INPUT,
				 "Unsupported authentication mechanism.");
		return;
	}
	if (initial_b64 == NULL)
		sasl_step(client, NULL, 0, false);
	else
		sasl_input_b64(client, initial_b64);
}

void login_client_auth_continue(struct login_client *client, const char *line)
{
	if (strcmp(line, "*") == 0) {
		auth_finish_fail(client, LOGIN_AUTH_ABORTED,
				 "Authentication aborted by client.");
		return;
	}
	sasl_input_b64(client, line);
}

void login_client_auth_plain(struct login_client *client, const char *user,
			     const char *pass)
{
	auth_attempt_start(client, "PLAIN");
	auth_verify(client, user, pass);
}
