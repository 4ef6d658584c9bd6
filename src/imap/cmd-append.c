/* APPEND (RFC 3501 6.3.11) with APPENDUID (RFC 4315). The parser has
   read the whole command including the message literal (bounded by
   mail_max_message_size) before this runs. */
#include "imap-commands.h"
#include "imap-util.h"

#include <strings.h>

bool cmd_append(struct client_command *cmd)
{
	struct client *client = cmd->client;
	const struct imap_arg *args = cmd->args, *flag_list = NULL;
	enum mail_flags flags = 0;
	char **keywords = NULL;
	time_t internal_date = 0;
	uint32_t uidvalidity, uid;
	const char *name, *str, *error;

	if (!imap_arg_get_mailbox(cmd, args++, &name))
		return true;
	if (args->type == IMAP_ARG_LIST) {
		flag_list = args->list;
		args++;
	}
	if (args->type == IMAP_ARG_STRING && args[1].type != IMAP_ARG_EOL) {
		if (imap_parse_datetime(args->str, &internal_date) < 0) {
			client_command_error(cmd, "Invalid internal date.");
			return true;
		}
		args++;
	}
	if (!imap_arg_get_string(args, &str) ||
	    args[1].type != IMAP_ARG_EOL) {
		client_command_error(cmd, args->type == IMAP_ARG_EOL ?
				     "Missing message." : "Invalid arguments.");
		return true;
	}
	if (flag_list != NULL &&
	    imap_parse_flags(flag_list, &flags, &keywords, &error) < 0) {
		client_command_error(cmd, error);
		return true;
	}
	if (!mail_user_mailbox_exists(client->user, name)) {
		client_command_replyf(cmd, "NO [TRYCREATE] Mailbox doesn't exist: %s",
				      name);
	} else if (args->str_len == 0) {
		client_command_reply(cmd, "NO Can't save a zero byte message.");
	} else if (mail_user_save(client->user, name, args->str, args->str_len,
				  flags, (const char *const *)keywords,
				  internal_date, &uidvalidity, &uid,
				  &error) < 0) {
		imap_reply_storage_error(cmd, error);
	} else {
		client_command_replyf(cmd, "OK [APPENDUID %u %u] Append completed.",
				      uidvalidity, uid);
	}
	if (keywords != NULL)
		str_split_free(&keywords);
	return true;
}
