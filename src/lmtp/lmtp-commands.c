/* loft-lmtp commands (RFC 2033, RFC 5321 4.1), replies worded like
   Dovecot's lmtp. */
#include "lmtp-client.h"
#include "lmtp-local.h"
#include "lmtp-userdb.h"
#include "smtp-reply.h"
#include "log.h"
#include <stdio.h>
#include <stdlib.h>
#include <strings.h>
#include <event2/buffer.h>

static bool lmtp_check_lhlo(struct lmtp_client *client)
{
	if (client->lhlo != NULL)
		return true;
	lmtp_client_reply(client, 503, "5.5.1", "Invalid command: Send LHLO first");
	return false;
}

static void cmd_lhlo(struct lmtp_client *client, const char *args)
{
	const struct loft_settings *set = client->server->set;
	const char *lines[10];
	unsigned int n = 0;
	char size_line[40];

	if (args[0] == '\0' || strchr(args, ' ') != NULL) {
		lmtp_client_reply(client, 501, "5.5.4", "Invalid parameters");
		return;
	}
	free(client->lhlo);
	client->lhlo = i_strndup(args, strnlen(args, 255));
	lmtp_client_transaction_reset(client);

	uint64_t max = set->mail_max_message_size;
	snprintf(size_line, sizeof(size_line), "SIZE %llu", (unsigned long long)
		 (max == 0 || max > SMTP_DATA_MAX_SIZE_CAP ?
		  SMTP_DATA_MAX_SIZE_CAP : max));
	lines[n++] = client->server->hostname;
	lines[n++] = "8BITMIME";
	lines[n++] = "CHUNKING";
	lines[n++] = "ENHANCEDSTATUSCODES";
	lines[n++] = "PIPELINING";
	if (client->server->ssl_ctx != NULL && !client->tls)
		lines[n++] = "STARTTLS";
	lines[n++] = size_line;
	lines[n++] = "VRFY";
	lines[n] = NULL;
	string_t *str = str_new(256);
	smtp_reply_append_lines(str, 250, lines);
	lmtp_client_reply_raw(client, str_c(str));
	str_free(&str);
}

static void cmd_starttls(struct lmtp_client *client, const char *args)
{
	const char *error;

	if (client->server->ssl_ctx == NULL) {
		lmtp_client_reply(client, 500, "5.5.1", "Unknown command");
		return;
	}
	if (client->tls) {
		lmtp_client_reply(client, 443, "5.5.1", "TLS is already active.");
		return;
	}
	lmtp_client_reply(client, 220, "2.0.0", "Begin TLS negotiation now.");
	if (lmtp_client_start_tls(client, &error) < 0) {
		i_error("STARTTLS failed: %s", error);
		lmtp_client_close(client, "TLS initialization failed");
		return;
	}
	/* RFC 3207 4.2: the client starts over with LHLO */
	i_free(client->lhlo);
	lmtp_client_transaction_reset(client);
}

static bool lmtp_mail_params_ok(struct lmtp_client *client,
				const struct smtp_envelope_cmd *cmd)
{
	uint64_t max = client->server->set->mail_max_message_size;

	for (unsigned int i = 0; i < cmd->params_count; i++) {
		const struct smtp_param *param = &cmd->params[i];
		if (strcmp(param->keyword, "SIZE") == 0) {
			uint64_t size;
			if (param->value == NULL ||
			    str_to_uint64(param->value, &size) < 0) {
				lmtp_client_reply(client, 501, "5.5.4",
						  "Invalid SIZE parameter");
				return false;
			}
			if (size > (max == 0 ? SMTP_DATA_MAX_SIZE_CAP : max)) {
				lmtp_client_reply(client, 552, "5.3.4",
					"Message size exceeds fixed maximum message size");
				return false;
			}
		} else if (strcmp(param->keyword, "BODY") == 0) {
			if (param->value == NULL ||
			    (strcasecmp(param->value, "7BIT") != 0 &&
			     strcasecmp(param->value, "8BITMIME") != 0)) {
				lmtp_client_reply(client, 555, "5.5.4",
					"Unsupported BODY parameter");
				return false;
			}
		} else if (strcmp(param->keyword, "AUTH") != 0 &&
			   strcmp(param->keyword, "RET") != 0 &&
			   strcmp(param->keyword, "ENVID") != 0 &&
			   strcmp(param->keyword, "SMTPUTF8") != 0) {
			lmtp_client_reply(client, 555, "5.5.4",
				"Unsupported MAIL parameter: %s", param->keyword);
			return false;
		}
	}
	return true;
}

static void cmd_mail(struct lmtp_client *client, const char *args)
{
	struct smtp_envelope_cmd cmd;
	const char *error;

	if (!lmtp_check_lhlo(client))
		return;
	if (client->mail_given) {
		lmtp_client_reply(client, 503, "5.5.1", "MAIL already given");
		return;
	}
	if (smtp_parse_mail(args, &cmd, &error) < 0) {
		lmtp_client_reply(client, 501, "5.5.4", "Invalid FROM: %s", error);
		client->bad_commands++;
		return;
	}
	if (lmtp_mail_params_ok(client, &cmd)) {
		client->mail_given = true;
		client->mail_from = smtp_address_encode(&cmd.path);
		client->seq++;
		client->trans_id = client->seq == 1 ? i_strdup(client->session_id) :
			i_strdup_printf("%s:%u", client->session_id, client->seq);
		lmtp_client_reply(client, 250, "2.1.0", "OK");
	}
	smtp_envelope_cmd_free(&cmd);
}

/* Split the local part at the first recipient_delimiter character:
   "user+detail" -> "user", "detail" (Dovecot's handling). */
static void lmtp_split_detail(const char *delims, const char *localpart,
			      char **user_r, char **detail_r)
{
	size_t pos = delims == NULL || delims[0] == '\0' ? strlen(localpart) :
		strcspn(localpart, delims);

	*user_r = i_strndup(localpart, pos);
	*detail_r = i_strdup(localpart[pos] == '\0' ? "" : localpart + pos + 1);
}

static void lmtp_rcpt_lookup_cb(enum lmtp_userdb_result result,
				const struct lmtp_userdb_reply *reply,
				const char *error, void *context)
{
	struct lmtp_client *client = context;
	struct lmtp_recipient *rcpt = &client->pending_rcpt;

	client->lookup = NULL;
	if (result == LMTP_USERDB_FOUND) {
		free(rcpt->username);
		rcpt->username = i_strdup(reply->user);
		rcpt->home = i_strdup(reply->home);
		rcpt->mail = i_strdup(reply->mail);
		rcpt->uid = reply->uid;
		rcpt->gid = reply->gid;
		client->rcpts = i_realloc(client->rcpts, sizeof(*client->rcpts) *
					  (client->rcpts_count + 1));
		client->rcpts[client->rcpts_count++] = *rcpt;
		memset(rcpt, 0, sizeof(*rcpt));
		lmtp_client_reply(client, 250, "2.1.5", "OK");
	} else if (result == LMTP_USERDB_NOTFOUND) {
		lmtp_client_reply(client, 550, "5.1.1", "<%s> User doesn't exist: %s",
				  rcpt->address, rcpt->username);
		lmtp_recipient_free(rcpt);
	} else {
		i_error("Failed to lookup user %s: %s", rcpt->username, error);
		lmtp_client_reply(client, 451, "4.3.0", "<%s> Temporary internal error",
				  rcpt->address);
		lmtp_recipient_free(rcpt);
	}
	lmtp_client_resume(client);
}

static void cmd_rcpt(struct lmtp_client *client, const char *args)
{
	struct smtp_envelope_cmd cmd;
	const char *error;
	char *user;

	if (!lmtp_check_lhlo(client))
		return;
	if (!client->mail_given) {
		lmtp_client_reply(client, 503, "5.5.0", "MAIL needed first");
		return;
	}
	if (smtp_parse_rcpt(args, &cmd, &error) < 0) {
		lmtp_client_reply(client, 501, "5.5.4", "Invalid TO: %s", error);
		client->bad_commands++;
		return;
	}
	if (client->rcpts_count >= LMTP_MAX_RECIPIENTS) {
		lmtp_client_reply(client, 451, "4.5.3", "Too many recipients");
		smtp_envelope_cmd_free(&cmd);
		return;
	}
	for (unsigned int i = 0; i < cmd.params_count; i++) {
		if (strcmp(cmd.params[i].keyword, "NOTIFY") != 0 &&
		    strcmp(cmd.params[i].keyword, "ORCPT") != 0) {
			lmtp_client_reply(client, 555, "5.5.4",
				"Unsupported RCPT parameter: %s", cmd.params[i].keyword);
			smtp_envelope_cmd_free(&cmd);
			return;
		}
	}
	struct lmtp_recipient *rcpt = &client->pending_rcpt;
	lmtp_recipient_free(rcpt);
	memset(rcpt, 0, sizeof(*rcpt));
	rcpt->uid = rcpt->gid = -1;
	rcpt->address = smtp_address_encode(&cmd.path);
	const char *orcpt = smtp_envelope_cmd_param(&cmd, "ORCPT", NULL);
	if (orcpt != NULL && strncasecmp(orcpt, "rfc822;", 7) == 0)
		rcpt->orcpt = i_strdup(orcpt + 7);
	lmtp_split_detail(client->server->set->recipient_delimiter,
			  cmd.path.localpart, &user, &rcpt->detail);
	/* the userdb sees the whole address without the detail;
	   auth_username_format decides what of it is the user name */
	rcpt->username = smtp_address_encode_parts(user, cmd.path.domain);
	free(user);
	smtp_envelope_cmd_free(&cmd);

	client->state = LMTP_STATE_LOOKUP;
	client->lookup = lmtp_userdb_lookup(rcpt->username, lmtp_rcpt_lookup_cb,
					    client);
}

static void cmd_data(struct lmtp_client *client, const char *args)
{
	if (!lmtp_check_lhlo(client))
		return;
	if (!client->mail_given) {
		lmtp_client_reply(client, 503, "5.5.0", "MAIL needed first");
		return;
	}
	if (client->rcpts_count == 0) {
		lmtp_client_reply(client, 554, "5.5.0", "No valid recipients");
		return;
	}
	if (client->bdat_started) {
		lmtp_client_reply(client, 503, "5.5.0", "DATA cannot be used after BDAT");
		return;
	}
	if (args[0] != '\0') {
		lmtp_client_reply(client, 501, "5.5.4", "Invalid parameters");
		return;
	}
	client->message = str_new(64 * 1024);
	lmtp_local_add_headers(client, client->message);
	client->header_size = str_len(client->message);
	client->data_reader =
		smtp_data_reader_create(client->server->set->mail_max_message_size);
	client->state = LMTP_STATE_DATA;
	lmtp_client_reply(client, 354, NULL, "OK");
}

/* Index of an earlier recipient that is the same user with the same
   detail (the same address up to case), or -1. */
static int lmtp_rcpt_find_duplicate(struct lmtp_client *client, unsigned int idx)
{
	const struct lmtp_recipient *rcpt = &client->rcpts[idx];

	for (unsigned int i = 0; i < idx; i++) {
		const struct lmtp_recipient *prev = &client->rcpts[i];
		if (strcmp(prev->username, rcpt->username) == 0 &&
		    strcmp(prev->detail, rcpt->detail) == 0)
			return (int)i;
	}
	return -1;
}

void lmtp_command_data_finished(struct lmtp_client *client)
{
	string_t *replies = str_new(256);

	client->state = LMTP_STATE_COMMAND;
	bool too_large = client->data_reader != NULL ?
		smtp_data_reader_too_large(client->data_reader) :
		client->bdat_too_large;
	if (too_large) {
		for (unsigned int i = 0; i < client->rcpts_count; i++) {
			smtp_reply_append(replies, 552, "5.3.4",
				"<%s> Message size exceeds administrative limit",
				client->rcpts[i].address);
		}
	} else {
		char **rcpt_replies = i_new(char *, client->rcpts_count);
		for (unsigned int i = 0; i < client->rcpts_count; i++) {
			int dup = lmtp_rcpt_find_duplicate(client, i);
			string_t *reply = str_new(128);
			if (dup >= 0) {
				/* like Dovecot: deliver once, same reply */
				str_append(reply, rcpt_replies[dup]);
			} else {
				char *id = i == 0 ? i_strdup(client->trans_id) :
					i_strdup_printf("%s:%u", client->trans_id, i + 1);
				lmtp_local_deliver(client, &client->rcpts[i], id, reply);
				free(id);
			}
			str_append(replies, str_c(reply));
			rcpt_replies[i] = str_free_without_data(&reply);
		}
		for (unsigned int i = 0; i < client->rcpts_count; i++)
			free(rcpt_replies[i]);
		free(rcpt_replies);
	}
	lmtp_client_reply_raw(client, str_c(replies));
	str_free(&replies);
	lmtp_client_transaction_reset(client);
}

/* BDAT chunk-size [LAST] (RFC 3030 2). The chunk's bytes are read even
   when the command is refused, to stay in step with the client. */
static void cmd_bdat(struct lmtp_client *client, const char *args)
{
	char **words = str_split(args, " ");
	unsigned int count = str_array_length(words);
	uint64_t size;

	if (count < 1 || count > 2 || str_to_uint64(words[0], &size) < 0 ||
	    (count == 2 && strcasecmp(words[1], "LAST") != 0)) {
		str_split_free(&words);
		/* without a valid size we can't find the next command */
		lmtp_client_reply(client, 501, "5.5.4", "Invalid BDAT parameters");
		lmtp_client_close(client, "Invalid BDAT parameters");
		return;
	}
	str_split_free(&words);
	client->bdat_remaining = size;
	client->bdat_chunk_size = size;
	client->bdat_last = count == 2;
	client->bdat_discard = true;
	if (client->lhlo == NULL) {
		lmtp_client_reply(client, 503, "5.5.1", "Invalid command: Send LHLO first");
	} else if (!client->mail_given) {
		lmtp_client_reply(client, 503, "5.5.0", "MAIL needed first");
	} else if (client->rcpts_count == 0) {
		lmtp_client_reply(client, 554, "5.5.0", "No valid recipients");
	} else if (client->bdat_failed) {
		lmtp_client_reply(client, 503, "5.5.0",
				  "Previous data chunk failed, issue RSET first");
	} else {
		client->bdat_discard = false;
		if (!client->bdat_started) {
			client->bdat_started = true;
			client->message = str_new(64 * 1024);
			lmtp_local_add_headers(client, client->message);
			client->header_size = str_len(client->message);
		}
	}
	if (size == 0)
		lmtp_command_bdat_chunk_done(client);
	else
		client->state = LMTP_STATE_BDAT;
}

void lmtp_command_bdat_chunk_done(struct lmtp_client *client)
{
	client->state = LMTP_STATE_COMMAND;
	if (client->bdat_discard)
		return; /* already answered */
	if (client->bdat_last) {
		lmtp_command_data_finished(client);
	} else if (client->bdat_too_large) {
		client->bdat_failed = true;
		lmtp_client_reply(client, 552, "5.3.4",
				  "Message size exceeds administrative limit");
	} else {
		lmtp_client_reply(client, 250, "2.0.0", "Added %llu octets",
				  (unsigned long long)client->bdat_chunk_size);
	}
}

static void cmd_rset(struct lmtp_client *client, const char *args)
{
	lmtp_client_transaction_reset(client);
	lmtp_client_reply(client, 250, "2.0.0", "OK");
}

static void cmd_noop(struct lmtp_client *client, const char *args)
{
	lmtp_client_reply(client, 250, "2.0.0", "OK");
}

static void cmd_vrfy(struct lmtp_client *client, const char *args)
{
	lmtp_client_reply(client, 252, "2.3.3", "Try RCPT instead");
}

static void cmd_quit(struct lmtp_client *client, const char *args)
{
	lmtp_client_reply(client, 221, "2.0.0", "%s Service closing transmission channel",
			  client->server->hostname);
	lmtp_client_close(client, "Client has quit the connection");
}

static const struct {
	const char *name;
	void (*func)(struct lmtp_client *client, const char *args);
} lmtp_commands[] = {
	{ "LHLO", cmd_lhlo }, { "STARTTLS", cmd_starttls },
	{ "MAIL", cmd_mail }, { "RCPT", cmd_rcpt }, { "DATA", cmd_data },
	{ "BDAT", cmd_bdat },
	{ "RSET", cmd_rset }, { "NOOP", cmd_noop }, { "VRFY", cmd_vrfy },
	{ "QUIT", cmd_quit },
};

void lmtp_command_execute(struct lmtp_client *client,
			  const struct smtp_command *cmd)
{
	for (unsigned int i = 0; i < N_ELEMENTS(lmtp_commands); i++) {
		if (strcmp(cmd->name, lmtp_commands[i].name) == 0) {
			unsigned int bad_before = client->bad_commands;
			lmtp_commands[i].func(client, cmd->args);
			if (client->bad_commands == bad_before)
				client->bad_commands = 0;
			else if (client->bad_commands > LMTP_MAX_BAD_COMMANDS &&
				 client->state != LMTP_STATE_CLOSING) {
				lmtp_client_reply(client, 421, "4.7.0",
					"%s Too many invalid commands.",
					client->server->hostname);
				lmtp_client_close(client, "Too many invalid commands");
			}
			return;
		}
	}
	lmtp_client_reply(client, 500, "5.5.1", "Unknown command");
	if (++client->bad_commands > LMTP_MAX_BAD_COMMANDS) {
		lmtp_client_reply(client, 421, "4.7.0", "%s Too many invalid commands.",
				  client->server->hostname);
		lmtp_client_close(client, "Too many invalid commands");
	}
}
