/* SUBSCRIBE (RFC 3501 6.3.6); UNSUBSCRIBE shares the code. */
#include "imap-commands.h"
#include "imap-util.h"

bool cmd_subscribe_full(struct client_command *cmd, bool subscribe)
{
	struct client *client = cmd->client;
	const char *name, *error;

	if (!imap_arg_get_mailbox(cmd, &cmd->args[0], &name))
		return true;
	if (subscribe && !mail_user_mailbox_exists(client->user, name)) {
		imap_reply_nonexistent(cmd, name);
		return true;
	}
	if (mail_user_subscribe(client->user, name, subscribe, &error) < 0)
		imap_reply_storage_error(cmd, error);
	else if (subscribe)
		client_command_reply(cmd, "OK Subscribe completed.");
	else
		client_command_reply(cmd, "OK Unsubscribe completed.");
	return true;
}

bool cmd_subscribe(struct client_command *cmd)
{
	return cmd_subscribe_full(cmd, true);
}
