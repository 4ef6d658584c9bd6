/* DELETE (RFC 3501 6.3.4) */
#include "imap-commands.h"
#include "imap-util.h"

#include <strings.h>

bool cmd_delete(struct client_command *cmd)
{
	struct client *client = cmd->client;
	const char *name, *error;

	if (!imap_arg_get_mailbox(cmd, &cmd->args[0], &name))
		return true;
	if (strcmp(name, "INBOX") == 0) {
		client_command_reply(cmd, "NO INBOX can't be deleted.");
		return true;
	}
	if (!mail_user_mailbox_exists(client->user, name)) {
		imap_reply_nonexistent(cmd, name);
		return true;
	}
	if (client->mailbox != NULL &&
	    strcmp(mailbox_name(client->mailbox), name) == 0) {
		/* deleting the selected mailbox: unselect it first */
		client_close_mailbox(client);
		client_send_line(client, "* OK [CLOSED] Previous mailbox closed.");
	}
	if (mail_user_mailbox_delete(client->user, name, &error) < 0)
		imap_reply_storage_error(cmd, error);
	else
		client_command_reply(cmd, "OK Delete completed.");
	return true;
}
