/* RENAME (RFC 3501 6.3.5) */
#include "imap-commands.h"
#include "imap-util.h"

bool cmd_rename(struct client_command *cmd)
{
	struct client *client = cmd->client;
	const char *oldname, *newname, *error;

	if (!imap_arg_get_mailbox(cmd, &cmd->args[0], &oldname) ||
	    !imap_arg_get_mailbox(cmd, &cmd->args[1], &newname))
		return true;
	if (!mail_user_mailbox_exists(client->user, oldname)) {
		imap_reply_nonexistent(cmd, oldname);
		return true;
	}
	if (mail_user_mailbox_exists(client->user, newname) &&
	    strcmp(oldname, newname) != 0) {
		client_command_reply(cmd,
			"NO [ALREADYEXISTS] Target mailbox already exists");
		return true;
	}
	if (mail_user_mailbox_rename(client->user, oldname, newname, &error) < 0)
		imap_reply_storage_error(cmd, error);
	else
		client_command_reply(cmd, "OK Rename completed.");
	return true;
}
