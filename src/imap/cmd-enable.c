/* ENABLE (RFC 5161). No extension that needs enabling is implemented
   (no CONDSTORE/QRESYNC/UTF8=ACCEPT), so nothing gets enabled. */
#include "imap-commands.h"

bool cmd_enable(struct client_command *cmd)
{
	const char *atom;

	if (cmd->args[0].type == IMAP_ARG_EOL) {
		client_command_error(cmd, "Missing arguments.");
		return true;
	}
	for (const struct imap_arg *arg = cmd->args; arg->type != IMAP_ARG_EOL;
	     arg++) {
		if (!imap_arg_get_atom(arg, &atom)) {
			client_command_error(cmd, "Invalid arguments.");
			return true;
		}
	}
	client_send_line(cmd->client, "* ENABLED");
	client_command_reply(cmd, "OK Enabled.");
	return true;
}
