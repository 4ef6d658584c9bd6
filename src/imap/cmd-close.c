/* CLOSE (RFC 3501 6.4.2): expunge \Deleted silently, then unselect. */
#include "imap-commands.h"
#include "imap-util.h"

bool cmd_close(struct client_command *cmd)
{
	struct client *client = cmd->client;
	const char *error;

	if (!mailbox_is_readonly(client->mailbox)) {
		uint32_t count = mailbox_count(client->mailbox);
		unsigned int deleted = 0;
		for (uint32_t seq = 1; seq <= count; seq++) {
			const struct mail_record *rec =
				mailbox_get(client->mailbox, seq);
			if (rec != NULL && (rec->flags & MAIL_DELETED) != 0)
				deleted++;
		}
		if (deleted > 0 &&
		    mailbox_expunge(client->mailbox, NULL, 0, &error) < 0) {
			client_close_mailbox(client);
			imap_reply_storage_error(cmd, error);
			return true;
		}
		client->expunged_count += deleted;
	}
	client_close_mailbox(client);
	client_command_reply(cmd, "OK Close completed.");
	return true;
}
