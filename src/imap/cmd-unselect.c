/* UNSELECT (RFC 3691): like CLOSE without expunging. */
#include "imap-commands.h"

bool cmd_unselect(struct client_command *cmd)
{
	client_close_mailbox(cmd->client);
	client_command_reply(cmd, "OK Unselect completed.");
	return true;
}
