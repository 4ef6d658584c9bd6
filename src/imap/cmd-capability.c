/* CAPABILITY (RFC 3501 6.1.1) */
#include "imap-commands.h"

bool cmd_capability(struct client_command *cmd)
{
	client_send_linef(cmd->client, "* CAPABILITY %s",
			  str_c(cmd->client->capability));
	client_command_reply(cmd, "OK Capability completed.");
	return true;
}
