/* NOOP (RFC 3501 6.1.2): the sync after every command does the work. */
#include "imap-commands.h"

bool cmd_noop(struct client_command *cmd)
{
	client_command_reply(cmd, "OK NOOP completed.");
	return true;
}
