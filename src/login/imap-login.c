/* imap-login: the IMAP pre-authentication state (RFC 3501 6.1, 6.2;
   SASL-IR RFC 4959; ID RFC 2971). */
#include "login-common.h"
#include "imap-parser.h"
#include <stdlib.h>
#include <event2/buffer.h>

struct imap_login_context {
	struct imap_parser *parser;
	char *auth_tag;        /* tag of LOGIN / AUTHENTICATE in progress */
	bool sasl_continue;    /* waiting for a SASL response line */
};

static struct imap_login_context *ctx_of(struct login_client *client)
{
	return client->context;
}

char *imap_login_capability(const struct login_client *client)
{
	string_t *str = str_new(128);
	str_append(str, "IMAP4rev1 SASL-IR LOGIN-REFERRALS ID ENABLE IDLE LITERAL+");
	if (login_client_tls_available(client))
		str_append(str, " STARTTLS");
	if (!login_client_plaintext_allowed(client))
		str_append(str, " LOGINDISABLED");
	char *mechs = login_client_mech_list(client, " AUTH=");
	if (mechs[0] != '\0')
		str_printfa(str, " AUTH=%s", mechs);
	free(mechs);
	return str_free_without_data(&str);
}

static void imap_greeting(struct login_client *client)
{
	char *cap = imap_login_capability(client);
	login_client_sendf(client, "* OK [CAPABILITY %s] %s\r\n", cap,
			   client->set->login_greeting != NULL ?
			   client->set->login_greeting : "loft ready.");
	free(cap);
}

static void cmd_capability(struct login_client *client, const char *tag)
{
	char *cap = imap_login_capability(client);
	login_client_sendf(client, "* CAPABILITY %s\r\n%s OK Pre-login capabilities listed, post-login capabilities have more.\r\n",
			   cap, tag);
	free(cap);
}

static void cmd_starttls(struct login_client *client, const char *tag)
{
	if (client->tls) {
		login_client_sendf(client, "%s BAD TLS is already active.\r\n", tag);
		return;
	}
	if (!login_client_tls_available(client)) {
		login_client_sendf(client, "%s BAD TLS support isn't enabled.\r\n", tag);
		return;
	}
	login_client_sendf(client, "%s OK Begin TLS negotiation now.\r\n", tag);
	login_client_starttls(client);
}

static bool plaintext_refused(struct login_client *client, const char *tag)
{
	if (login_client_plaintext_allowed(client))
		return false;
	login_client_send(client, "* BAD [ALERT] Plaintext authentication not allowed without SSL/TLS, but your client did it anyway. If anyone was listening, the password was exposed.\r\n");
	login_client_sendf(client, "%s NO [PRIVACYREQUIRED] Plaintext authentication disallowed on non-secure (SSL/TLS) connections.\r\n", tag);
	client->auth_attempts++;
	if (client->auth_attempts == 1)
		client->auth_first_started = time(NULL);
	return true;
}

static void set_auth_tag(struct login_client *client, const char *tag)
{
	struct imap_login_context *ctx = ctx_of(client);
	free(ctx->auth_tag);
	ctx->auth_tag = i_strdup(tag);
}

static void cmd_login(struct login_client *client, const char *tag,
		      const struct imap_arg *args)
{
	const char *user, *pass;
	if (!imap_arg_get_astring(&args[0], &user) ||
	    !imap_arg_get_astring(&args[1], &pass) ||
	    !imap_arg_is_eol(&args[2])) {
		login_client_sendf(client, "%s BAD Invalid arguments.\r\n", tag);
		login_client_bad_command(client);
		return;
	}
	if (plaintext_refused(client, tag))
		return;
	set_auth_tag(client, tag);
	login_client_auth_plain(client, user, pass);
}

static void cmd_authenticate(struct login_client *client, const char *tag,
			     const struct imap_arg *args)
{
	const char *mech, *ir = NULL;
	if (!imap_arg_get_atom(&args[0], &mech) ||
	    (!imap_arg_is_eol(&args[1]) &&
	     (!imap_arg_get_atom(&args[1], &ir) || !imap_arg_is_eol(&args[2])))) {
		login_client_sendf(client, "%s BAD Invalid arguments.\r\n", tag);
		login_client_bad_command(client);
		return;
	}
	if ((strcasecmp(mech, "PLAIN") == 0 || strcasecmp(mech, "LOGIN") == 0) &&
	    plaintext_refused(client, tag))
		return;
	if (!login_client_mech_allowed(client, mech)) {
		login_client_sendf(client, "%s NO Unsupported authentication mechanism.\r\n", tag);
		return;
	}
	set_auth_tag(client, tag);
	login_client_auth_begin(client, mech, ir);
}

static void cmd_id(struct login_client *client, const char *tag)
{
	login_client_sendf(client, "* ID (\"name\" \"loft\")\r\n%s OK ID completed.\r\n", tag);
}

static void imap_command(struct login_client *client,
			 const struct imap_command_parsed *cmd)
{
	const char *tag = cmd->tag, *name = cmd->name;
	if (strcasecmp(name, "CAPABILITY") == 0)
		cmd_capability(client, tag);
	else if (strcasecmp(name, "NOOP") == 0)
		login_client_sendf(client, "%s OK NOOP completed.\r\n", tag);
	else if (strcasecmp(name, "LOGOUT") == 0) {
		login_client_sendf(client, "* BYE Logging out\r\n%s OK Logout completed.\r\n", tag);
		login_client_destroy(client, "Aborted login by logging out");
	} else if (strcasecmp(name, "STARTTLS") == 0)
		cmd_starttls(client, tag);
	else if (strcasecmp(name, "LOGIN") == 0)
		cmd_login(client, tag, cmd->args);
	else if (strcasecmp(name, "AUTHENTICATE") == 0)
		cmd_authenticate(client, tag, cmd->args);
	else if (strcasecmp(name, "ID") == 0)
		cmd_id(client, tag);
	else {
		login_client_sendf(client, "%s BAD Error in IMAP command received by server.\r\n", tag);
		login_client_bad_command(client);
	}
}

/* Read one SASL response line; returns false if no full line yet. */
static bool imap_sasl_line(struct login_client *client)
{
	size_t len;
	char *line = evbuffer_readln(client->input, &len, EVBUFFER_EOL_CRLF);
	if (line == NULL) {
		if (evbuffer_get_length(client->input) > LOGIN_MAX_INBUF_SIZE)
			login_client_destroy(client, "Input buffer full");
		return false;
	}
	ctx_of(client)->sasl_continue = false;
	login_client_auth_continue(client, line);
	safe_memset(line, 0, len);
	free(line);
	return true;
}

static void imap_input(struct login_client *client)
{
	struct imap_login_context *ctx = ctx_of(client);
	if (ctx->parser == NULL) {
		struct imap_parser_limits limits = {
			.max_line_length = LOGIN_MAX_INBUF_SIZE,
			.max_literal_size = LOGIN_MAX_INBUF_SIZE,
			.max_list_depth = 4, .max_args = 16,
		};
		ctx->parser = imap_parser_create(&limits);
	}
	while (!client->destroyed && !client->waiting_master) {
		if (ctx->sasl_continue) {
			if (!imap_sasl_line(client))
				return;
			continue;
		}
		if (client->authenticating)
			return; /* wait for the auth reply */
		size_t len = evbuffer_get_length(client->input);
		if (len == 0)
			return;
		/* the parser takes a contiguous view of what's buffered */
		if (len > LOGIN_MAX_INBUF_SIZE * 2)
			len = LOGIN_MAX_INBUF_SIZE * 2;
		unsigned char *data = evbuffer_pullup(client->input, (ev_ssize_t)len);
		size_t used = 0;
		enum imap_parser_result r = imap_parser_parse(ctx->parser, data, len, &used);
		if (r == IMAP_PARSER_COMMAND) {
			/* the command's strings live in the parser until the next
			   parse call: run it before draining */
			const struct imap_command_parsed *cmd =
				imap_parser_get_command(ctx->parser);
			evbuffer_drain(client->input, used);
			imap_command(client, cmd);
			continue;
		}
		evbuffer_drain(client->input, used);
		if (r == IMAP_PARSER_NEED_MORE) {
			if (used == 0)
				return;
			continue;
		}
		if (r == IMAP_PARSER_LITERAL_CONT) {
			login_client_send(client, "+ OK\r\n");
			continue;
		}
		/* error */
		enum imap_parser_error err;
		bool fatal;
		const char *msg = imap_parser_get_error(ctx->parser, &err, &fatal);
		const char *tag = imap_parser_get_tag(ctx->parser);
		if (tag == NULL)
			login_client_sendf(client, "* BAD Error in IMAP tag: %s\r\n", msg);
		else
			login_client_sendf(client, "%s BAD Error in IMAP command: %s\r\n", tag, msg);
		if (fatal) {
			login_client_destroy(client, "Too long argument");
			return;
		}
		if (!login_client_bad_command(client))
			return;
	}
}

static void imap_auth_challenge(struct login_client *client, const char *b64)
{
	ctx_of(client)->sasl_continue = true;
	login_client_sendf(client, "+ %s\r\n", b64);
}

static void imap_auth_failed(struct login_client *client,
			     enum login_auth_result result, const char *reason)
{
	struct imap_login_context *ctx = ctx_of(client);
	const char *tag = ctx->auth_tag != NULL ? ctx->auth_tag : "*";
	ctx->sasl_continue = false;
	switch (result) {
	case LOGIN_AUTH_FAILED:
		login_client_sendf(client, "%s NO [AUTHENTICATIONFAILED] Authentication failed.\r\n", tag);
		break;
	case LOGIN_AUTH_ABORTED:
		login_client_sendf(client, "%s BAD Authentication aborted by client.\r\n", tag);
		break;
	case LOGIN_AUTH_BAD_INPUT:
		login_client_sendf(client, "%s BAD %s\r\n", tag,
				   reason != NULL ? reason : "Invalid authentication data.");
		break;
	case LOGIN_AUTH_TEMPFAIL:
		login_client_sendf(client, "%s NO [UNAVAILABLE] Temporary authentication failure.\r\n", tag);
		break;
	case LOGIN_AUTH_SESSION_FAILED:
		if (reason != NULL) {
			/* e.g. mail_max_userip_connections */
			login_client_sendf(client, "%s NO [UNAVAILABLE] %s\r\n",
					   tag, reason);
			break;
		}
		/* fall through */
	case LOGIN_AUTH_OK:
		login_client_sendf(client, "%s NO [UNAVAILABLE] Internal error occurred. Refer to server log for more information.\r\n", tag);
		break;
	}
	/* continue with whatever the client pipelined meanwhile */
	if (!client->destroyed && result != LOGIN_AUTH_SESSION_FAILED)
		bufferevent_trigger(client->bev, EV_READ, BEV_TRIG_DEFER_CALLBACKS);
}

static const char *imap_handoff_tag(struct login_client *client)
{
	return ctx_of(client)->auth_tag;
}

static void imap_destroy(struct login_client *client)
{
	struct imap_login_context *ctx = ctx_of(client);
	if (ctx->parser != NULL)
		imap_parser_destroy(&ctx->parser);
	free(ctx->auth_tag);
}

const struct login_protocol imap_login_protocol = {
	.name = "imap",
	.context_size = sizeof(struct imap_login_context),
	.greeting = imap_greeting,
	.input = imap_input,
	.auth_challenge = imap_auth_challenge,
	.auth_failed = imap_auth_failed,
	.handoff_tag = imap_handoff_tag,
	.destroy = imap_destroy,
};
