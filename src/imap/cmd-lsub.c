/* LSUB (RFC 3501 6.3.9) */
#include "imap-commands.h"

bool cmd_lsub(struct client_command *cmd)
{
	return cmd_list_full(cmd, true);
}
