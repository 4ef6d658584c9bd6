/* EXAMINE (RFC 3501 6.3.2): SELECT read-only. */
#include "imap-commands.h"

bool cmd_examine(struct client_command *cmd)
{
	return cmd_select_full(cmd, true);
}
