/* MOVE (RFC 6851): COPY + expunge of the sources. */
#include "imap-commands.h"

bool cmd_move(struct client_command *cmd)
{
	return cmd_copy_full(cmd, true);
}
