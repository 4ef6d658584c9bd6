/* SELECT (RFC 3501 6.3.1); EXAMINE shares the code. */
#include "imap-commands.h"
#include "imap-util.h"

bool cmd_select_full(struct client_command *cmd, bool readonly)
{
	struct client *client = cmd->client;
	struct mailbox_status status;
	const char *name, *error;
	uint32_t unseen;

	if (!imap_arg_get_mailbox(cmd, &cmd->args[0], &name))
		return true;
	if (client->mailbox != NULL) {
		client_close_mailbox(client);
		client_send_line(client, "* OK [CLOSED] Previous mailbox closed.");
	}
	if (!mail_user_mailbox_exists(client->user, name)) {
		imap_reply_nonexistent(cmd, name);
		return true;
	}
	if (mailbox_open(client->user, name, readonly, &client->mailbox,
			 &error) < 0) {
		client->mailbox = NULL;
		imap_reply_storage_error(cmd, error);
		return true;
	}
	client_known_init(client);
	mailbox_get_status(client->mailbox, &status);
	bool examine = readonly;
	readonly = mailbox_is_readonly(client->mailbox);

	client_send_mailbox_flags(client);
	client_send_linef(client, "* %u EXISTS", client->known_count);
	client_send_linef(client, "* %u RECENT", status.recent);
	unseen = mailbox_first_unseen_seq(client->mailbox);
	if (unseen != 0)
		client_send_linef(client, "* OK [UNSEEN %u] First unseen.", unseen);
	client_send_linef(client, "* OK [UIDVALIDITY %u] UIDs valid",
			  status.uidvalidity);
	client_send_linef(client, "* OK [UIDNEXT %u] Predicted next UID",
			  status.uidnext);
	client_command_replyf(cmd, "OK [%s] %s completed.",
			      readonly ? "READ-ONLY" : "READ-WRITE",
			      examine ? "Examine" : "Select");
	return true;
}

bool cmd_select(struct client_command *cmd)
{
	return cmd_select_full(cmd, false);
}
