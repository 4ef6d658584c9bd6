/* STORE (RFC 3501 6.4.6): [+-]FLAGS[.SILENT] with a flag list. */
#include "imap-commands.h"
#include "imap-util.h"

#include <stdlib.h>
#include <strings.h>

static int parse_store_item(const char *item, enum modify_type *type_r,
			    bool *silent_r)
{
	*type_r = MODIFY_REPLACE;
	if (*item == '+') {
		*type_r = MODIFY_ADD;
		item++;
	} else if (*item == '-') {
		*type_r = MODIFY_REMOVE;
		item++;
	}
	*silent_r = false;
	if (strcasecmp(item, "FLAGS.SILENT") == 0)
		*silent_r = true;
	else if (strcasecmp(item, "FLAGS") != 0)
		return -1;
	return 0;
}

static void store_send_fetch(struct client_command *cmd, uint32_t seq,
			     const struct mail_record *rec)
{
	string_t *str = str_new(128);

	str_printfa(str, "* %u FETCH (", seq);
	if (cmd->uid)
		str_printfa(str, "UID %u ", rec->uid);
	str_append(str, "FLAGS (");
	imap_write_flags(str, rec->flags, rec->keywords);
	str_append(str, "))");
	client_send_line(cmd->client, str_c(str));
	str_free(&str);
}

bool cmd_store(struct client_command *cmd)
{
	struct client *client = cmd->client;
	struct mailbox *box = client->mailbox;
	const struct imap_arg *flag_args;
	const char *set, *item, *error = NULL;
	enum modify_type type;
	enum mail_flags flags;
	char **keywords = NULL;
	uint32_t *seqs;
	unsigned int count;
	bool silent;

	if (!imap_arg_get_atom(&cmd->args[0], &set) ||
	    !imap_arg_get_atom(&cmd->args[1], &item) ||
	    cmd->args[2].type == IMAP_ARG_EOL) {
		client_command_error(cmd, "Invalid arguments.");
		return true;
	}
	if (parse_store_item(item, &type, &silent) < 0) {
		string_t *msg = str_new(64);
		str_printfa(msg, "Invalid STORE parameter %s", item);
		client_command_error(cmd, str_c(msg));
		str_free(&msg);
		return true;
	}
	if (cmd->args[2].type == IMAP_ARG_LIST) {
		if (cmd->args[3].type != IMAP_ARG_EOL) {
			client_command_error(cmd, "Invalid arguments.");
			return true;
		}
		flag_args = cmd->args[2].list;
	} else {
		flag_args = &cmd->args[2];
	}
	if (imap_parse_flags(flag_args, &flags, &keywords, &error) < 0) {
		client_command_error(cmd, error);
		return true;
	}
	if (imap_seqset_get_seqs(cmd, set, cmd->uid, &seqs, &count) < 0) {
		if (keywords != NULL)
			str_split_free(&keywords);
		return true;
	}
	if (mailbox_is_readonly(box)) {
		client_command_reply(cmd, "NO [READ-ONLY] Mailbox is read-only.");
		goto out;
	}
	for (unsigned int i = 0; i < count; i++) {
		const struct mail_record *rec = mailbox_get(box, seqs[i]);
		bool was_deleted = rec != NULL &&
			(rec->flags & MAIL_DELETED) != 0;
		if (mailbox_update_flags(box, seqs[i], type, flags,
					 (const char *const *)keywords,
					 &error) < 0)
			break;
		if (keywords != NULL)
			client_send_keywords_if_changed(client);
		rec = mailbox_get(box, seqs[i]);
		if (rec == NULL)
			continue;
		if (!was_deleted && (rec->flags & MAIL_DELETED) != 0)
			client->deleted_count++;
		if (!silent) {
			store_send_fetch(cmd, client_seq_from_storage(client,
								      seqs[i]),
					 rec);
		}
		client_known_update(client, rec);
	}
	if (error != NULL)
		imap_reply_storage_error(cmd, error);
	else if (cmd->seqs_expunged)
		client_command_reply(cmd, "NO [EXPUNGEISSUED] Some of the "
				     "requested messages no longer exist.");
	else
		client_command_reply(cmd, "OK Store completed.");
out:
	free(seqs);
	if (keywords != NULL)
		str_split_free(&keywords);
	return true;
}
