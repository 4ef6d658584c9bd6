/* pop3-login: the POP3 AUTHORIZATION state (RFC 1939 4, CAPA RFC 2449,
   STLS RFC 2595, AUTH RFC 5034). */
#include "login-common.h"
#include <stdlib.h>
#include <strings.h>
#include <event2/buffer.h>

struct pop3_login_context {
	char *user;            /* from USER */
	bool sasl_continue;
};

static struct pop3_login_context *ctx_of(struct login_client *client)
{
	return client->context;
}

static void pop3_greeting(struct login_client *client)
{
	login_client_sendf(client, "+OK %s\r\n", client->set->login_greeting != NULL ?
			   client->set->login_greeting : "loft ready.");
}

static void cmd_capa(struct login_client *client)
{
	string_t *str = str_new(128);
	str_append(str, "+OK\r\nCAPA\r\nTOP\r\nUIDL\r\nRESP-CODES\r\nPIPELINING\r\nAUTH-RESP-CODE\r\n");
	if (login_client_tls_available(client))
		str_append(str, "STLS\r\n");
	if (login_client_plaintext_allowed(client))
		str_append(str, "USER\r\n");
	char *mechs = login_client_mech_list(client, " ");
	if (mechs[0] != '\0')
		str_printfa(str, "SASL %s\r\n", mechs);
	free(mechs);
	str_append(str, ".\r\n");
	login_client_send(client, str_c(str));
	str_free(&str);
}

static void cmd_stls(struct login_client *client)
{
	if (client->tls) {
		login_client_send(client, "-ERR TLS is already active.\r\n");
		return;
	}
	if (!login_client_tls_available(client)) {
		login_client_send(client, "-ERR TLS support isn't enabled.\r\n");
		return;
	}
	login_client_send(client, "+OK Begin TLS negotiation now.\r\n");
	login_client_starttls(client);
}

static bool plaintext_refused(struct login_client *client)
{
	if (login_client_plaintext_allowed(client))
		return false;
	login_client_send(client, "-ERR [AUTH] Plaintext authentication disallowed on non-secure (SSL/TLS) connections.\r\n");
	if (client->auth_attempts++ == 0)
		client->auth_first_started = time(NULL);
	return true;
}

static void cmd_user(struct login_client *client, const char *args)
{
	if (plaintext_refused(client))
		return;
	if (args == NULL || args[0] == '\0') {
		login_client_send(client, "-ERR No username given.\r\n");
		return;
	}
	struct pop3_login_context *ctx = ctx_of(client);
	free(ctx->user);
	ctx->user = i_strdup(args);
	login_client_send(client, "+OK\r\n");
}

static void cmd_pass(struct login_client *client, const char *args)
{
	struct pop3_login_context *ctx = ctx_of(client);
	if (plaintext_refused(client))
		return;
	if (ctx->user == NULL) {
		login_client_send(client, "-ERR No username given.\r\n");
		login_client_bad_command(client);
		return;
	}
	login_client_auth_plain(client, ctx->user, args == NULL ? "" : args);
	i_free(ctx->user);
}

static void cmd_auth(struct login_client *client, const char *args)
{
	if (args == NULL || args[0] == '\0') {
		/* RFC 1734 style listing, as Dovecot does */
		char *mechs = login_client_mech_list(client, "\r\n");
		login_client_sendf(client, "+OK\r\n%s%s.\r\n", mechs,
				   mechs[0] != '\0' ? "\r\n" : "");
		free(mechs);
		return;
	}
	char **parts = str_split(args, " ");
	const char *mech = parts[0];
	const char *ir = parts[1];
	if (ir != NULL && parts[2] != NULL) {
		login_client_send(client, "-ERR Invalid arguments.\r\n");
		str_split_free(&parts);
		return;
	}
	if ((strcasecmp(mech, "PLAIN") == 0 || strcasecmp(mech, "LOGIN") == 0) &&
	    plaintext_refused(client)) {
		str_split_free(&parts);
		return;
	}
	if (!login_client_mech_allowed(client, mech)) {
		login_client_send(client, "-ERR Unsupported authentication mechanism.\r\n");
		str_split_free(&parts);
		return;
	}
	login_client_auth_begin(client, mech, ir);
	str_split_free(&parts);
}

static void pop3_command(struct login_client *client, char *line)
{
	char *args = strchr(line, ' ');
	if (args != NULL)
		*args++ = '\0';
	if (strcasecmp(line, "CAPA") == 0)
		cmd_capa(client);
	else if (strcasecmp(line, "STLS") == 0)
		cmd_stls(client);
	else if (strcasecmp(line, "USER") == 0)
		cmd_user(client, args);
	else if (strcasecmp(line, "PASS") == 0)
		cmd_pass(client, args);
	else if (strcasecmp(line, "AUTH") == 0)
		cmd_auth(client, args);
	else if (strcasecmp(line, "NOOP") == 0)
		login_client_send(client, "+OK\r\n");
	else if (strcasecmp(line, "QUIT") == 0) {
		login_client_send(client, "+OK Logging out\r\n");
		login_client_destroy(client, "Aborted login by logging out");
	} else {
		login_client_send(client, "-ERR Unknown command.\r\n");
		login_client_bad_command(client);
	}
}

static void pop3_input(struct login_client *client)
{
	struct pop3_login_context *ctx = ctx_of(client);
	while (!client->destroyed && !client->waiting_master &&
	       (!client->authenticating || ctx->sasl_continue)) {
		size_t len;
		char *line = evbuffer_readln(client->input, &len, EVBUFFER_EOL_CRLF);
		if (line == NULL) {
			if (evbuffer_get_length(client->input) > LOGIN_MAX_INBUF_SIZE) {
				login_client_send(client, "-ERR Input line too long.\r\n");
				login_client_destroy(client, "Input buffer full");
			}
			return;
		}
		if (len > LOGIN_MAX_INBUF_SIZE) {
			login_client_send(client, "-ERR Input line too long.\r\n");
			free(line);
			login_client_destroy(client, "Input buffer full");
			return;
		}
		if (ctx->sasl_continue) {
			ctx->sasl_continue = false;
			login_client_auth_continue(client, line);
		} else {
			pop3_command(client, line);
		}
		safe_memset(line, 0, len);
		free(line);
	}
}

static void pop3_auth_challenge(struct login_client *client, const char *b64)
{
	ctx_of(client)->sasl_continue = true;
	login_client_sendf(client, "+ %s\r\n", b64);
}

static void pop3_auth_failed(struct login_client *client,
			     enum login_auth_result result, const char *reason)
{
	ctx_of(client)->sasl_continue = false;
	switch (result) {
	case LOGIN_AUTH_FAILED:
		login_client_send(client, "-ERR [AUTH] Authentication failed.\r\n");
		break;
	case LOGIN_AUTH_ABORTED:
		login_client_send(client, "-ERR Authentication aborted by client.\r\n");
		break;
	case LOGIN_AUTH_BAD_INPUT:
		login_client_sendf(client, "-ERR %s\r\n", reason != NULL ? reason :
				   "Invalid authentication data.");
		break;
	case LOGIN_AUTH_TEMPFAIL:
		login_client_send(client, "-ERR [SYS/TEMP] Temporary authentication failure.\r\n");
		break;
	case LOGIN_AUTH_SESSION_FAILED:
		if (reason != NULL) {
			/* e.g. mail_max_userip_connections */
			login_client_sendf(client, "-ERR [SYS/TEMP] %s\r\n",
					   reason);
			break;
		}
		/* fall through */
	case LOGIN_AUTH_OK:
		login_client_send(client, "-ERR [SYS/TEMP] Internal error occurred. Refer to server log for more information.\r\n");
		break;
	}
	if (!client->destroyed && result != LOGIN_AUTH_SESSION_FAILED)
		bufferevent_trigger(client->bev, EV_READ, BEV_TRIG_DEFER_CALLBACKS);
}

static void pop3_destroy(struct login_client *client)
{
	free(ctx_of(client)->user);
}

const struct login_protocol pop3_login_protocol = {
	.name = "pop3",
	.context_size = sizeof(struct pop3_login_context),
	.greeting = pop3_greeting,
	.input = pop3_input,
	.auth_challenge = pop3_auth_challenge,
	.auth_failed = pop3_auth_failed,
	.handoff_tag = NULL,
	.destroy = pop3_destroy,
};
