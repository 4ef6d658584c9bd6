/* IDLE (RFC 2177): the client waits for changes until it sends DONE. */
#include "imap-commands.h"

bool cmd_idle(struct client_command *cmd)
{
	struct client *client = cmd->client;

	if (cmd->args[0].type != IMAP_ARG_EOL) {
		client_command_error(cmd, "Unexpected arguments.");
		return true;
	}
	/* tell about what happened so far, then wait */
	client_sync(client, false, true);
	client_send_line(client, "+ idling");
	client_flush(client);
	client_idle_start(cmd);
	return false;
}
