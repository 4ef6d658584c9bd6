/* LOGOUT (RFC 3501 6.1.3) */
#include "imap-commands.h"

bool cmd_logout(struct client_command *cmd)
{
	client_send_line(cmd->client, "* BYE Logging out");
	cmd->client->logged_out = true;
	client_command_reply(cmd, "OK Logout completed.");
	return true;
}
