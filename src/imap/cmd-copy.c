/* COPY (RFC 3501 6.4.7) with COPYUID (RFC 4315), and MOVE (RFC 6851). */
#include "imap-commands.h"
#include "imap-util.h"
#include "imap-seqset.h"

#include <stdlib.h>
#include <strings.h>

bool cmd_copy_full(struct client_command *cmd, bool move)
{
	struct client *client = cmd->client;
	struct mailbox *box = client->mailbox;
	uint32_t *seqs, *src_uids, *dest_uids = NULL, uidvalidity = 0;
	unsigned int count;
	const char *set, *name, *error;

	if (!imap_arg_get_atom(&cmd->args[0], &set)) {
		client_command_error(cmd, cmd->args[0].type == IMAP_ARG_EOL ?
				     "Missing arguments." : "Invalid arguments.");
		return true;
	}
	if (!imap_arg_get_mailbox(cmd, &cmd->args[1], &name))
		return true;
	if (cmd->args[2].type != IMAP_ARG_EOL) {
		client_command_error(cmd, "Invalid arguments.");
		return true;
	}
	if (imap_seqset_get_seqs(cmd, set, cmd->uid, &seqs, &count) < 0)
		return true;
	if (!mail_user_mailbox_exists(client->user, name)) {
		client_command_replyf(cmd, "NO [TRYCREATE] Mailbox doesn't exist: %s",
				      name);
		free(seqs);
		return true;
	}
	if (move && mailbox_is_readonly(box)) {
		client_command_reply(cmd, "NO [READ-ONLY] Mailbox is read-only.");
		free(seqs);
		return true;
	}
	if (cmd->seqs_expunged) {
		/* like Dovecot: all or nothing */
		client_command_reply(cmd, "NO [EXPUNGEISSUED] Some of the "
				     "requested messages no longer exist.");
		free(seqs);
		return true;
	}
	if (count == 0) {
		client_command_reply(cmd, "OK No messages found.");
		free(seqs);
		return true;
	}
	src_uids = i_new(uint32_t, count);
	for (unsigned int i = 0; i < count; i++) {
		const struct mail_record *rec = mailbox_get(box, seqs[i]);
		src_uids[i] = rec == NULL ? 0 : rec->uid;
	}
	if (mailbox_copy(box, seqs, count, name, &uidvalidity, &dest_uids,
			 &error) < 0) {
		imap_reply_storage_error(cmd, error);
		goto out;
	}
	string_t *code = str_new(128);
	str_printfa(code, "COPYUID %u ", uidvalidity);
	imap_seqset_write_nums(code, src_uids, count);
	str_append_c(code, ' ');
	imap_seqset_write_nums(code, dest_uids, count);
	if (strcasecmp(name, "Trash") == 0)
		client->trashed_count += count;
	if (!move) {
		client_command_replyf(cmd, "OK [%s] Copy completed.", str_c(code));
	} else if (mailbox_expunge_seqs(box, seqs, count, &error) < 0) {
		imap_reply_storage_error(cmd, error);
	} else {
		client_send_linef(client, "* OK [%s] Moved UIDs.", str_c(code));
		client->expunged_count += count;
		client_command_reply(cmd, "OK Move completed.");
	}
	str_free(&code);
out:
	free(seqs);
	free(src_uids);
	free(dest_uids);
	return true;
}

bool cmd_copy(struct client_command *cmd)
{
	return cmd_copy_full(cmd, false);
}
