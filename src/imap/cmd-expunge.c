/* EXPUNGE (RFC 3501 6.4.3) and UID EXPUNGE (RFC 4315 2.1). The EXPUNGE
   responses come from the sync after the command. */
#include "imap-commands.h"
#include "imap-util.h"

#include <stdlib.h>

bool cmd_expunge(struct client_command *cmd)
{
	struct client *client = cmd->client;
	struct mailbox *box = client->mailbox;
	uint32_t *seqs = NULL, *uids = NULL;
	unsigned int count = 0, n = 0;
	const char *set, *error;

	if (cmd->uid) {
		if (!imap_arg_get_atom(&cmd->args[0], &set) ||
		    cmd->args[1].type != IMAP_ARG_EOL) {
			client_command_error(cmd, "Invalid arguments.");
			return true;
		}
		if (imap_seqset_get_seqs(cmd, set, true, &seqs, &count) < 0)
			return true;
	} else if (cmd->args[0].type != IMAP_ARG_EOL) {
		client_command_error(cmd, "Unexpected arguments.");
		return true;
	}
	if (mailbox_is_readonly(box)) {
		free(seqs);
		client_command_reply(cmd, "NO [READ-ONLY] Mailbox is read-only.");
		return true;
	}
	/* count what will go, for the logout statistics */
	uint32_t total = cmd->uid ? count : mailbox_count(box);
	uids = i_new(uint32_t, total + 1);
	for (uint32_t i = 0; i < total; i++) {
		const struct mail_record *rec =
			mailbox_get(box, cmd->uid ? seqs[i] : i + 1);
		if (rec != NULL && (rec->flags & MAIL_DELETED) != 0)
			uids[n++] = rec->uid;
	}
	int ret = 0;
	if (n > 0) {
		ret = cmd->uid ? mailbox_expunge(box, uids, n, &error) :
			mailbox_expunge(box, NULL, 0, &error);
	}
	if (ret < 0) {
		imap_reply_storage_error(cmd, error);
	} else {
		client->expunged_count += n;
		client_command_reply(cmd, "OK Expunge completed.");
	}
	free(seqs);
	free(uids);
	return true;
}
