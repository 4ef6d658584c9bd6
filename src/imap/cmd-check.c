/* CHECK (RFC 3501 6.4.1): everything is durable already; sync. */
#include "imap-commands.h"

bool cmd_check(struct client_command *cmd)
{
	client_command_reply(cmd, "OK Check completed.");
	return true;
}
