/* UNSUBSCRIBE (RFC 3501 6.3.7) */
#include "imap-commands.h"

bool cmd_unsubscribe(struct client_command *cmd)
{
	return cmd_subscribe_full(cmd, false);
}
