/* STATUS (RFC 3501 6.3.10) */
#include "imap-commands.h"
#include "imap-util.h"
#include "imap-quote.h"

#include <strings.h>

enum status_items {
	STATUS_MESSAGES = 0x01,
	STATUS_RECENT = 0x02,
	STATUS_UIDNEXT = 0x04,
	STATUS_UIDVALIDITY = 0x08,
	STATUS_UNSEEN = 0x10,
};

static const struct { const char *name; enum status_items item; } items[] = {
	{ "MESSAGES", STATUS_MESSAGES }, { "RECENT", STATUS_RECENT },
	{ "UIDNEXT", STATUS_UIDNEXT }, { "UIDVALIDITY", STATUS_UIDVALIDITY },
	{ "UNSEEN", STATUS_UNSEEN },
};

static void write_status(string_t *str, enum status_items wanted,
			 const struct mailbox_status *status)
{
	const uint32_t values[] = {
		status->messages, status->recent, status->uidnext,
		status->uidvalidity, status->unseen,
	};
	size_t start = str_len(str);

	for (unsigned int i = 0; i < N_ELEMENTS(items); i++) {
		if ((wanted & items[i].item) == 0)
			continue;
		if (str_len(str) > start)
			str_append_c(str, ' ');
		str_printfa(str, "%s %u", items[i].name, values[i]);
	}
}

bool cmd_status(struct client_command *cmd)
{
	struct client *client = cmd->client;
	const struct imap_arg *list;
	unsigned int count;
	enum status_items wanted = 0;
	struct mailbox_status status;
	const char *name, *item, *error;

	if (!imap_arg_get_mailbox(cmd, &cmd->args[0], &name))
		return true;
	if (!imap_arg_get_list(&cmd->args[1], &list, &count) || count == 0 ||
	    cmd->args[2].type != IMAP_ARG_EOL) {
		client_command_error(cmd, "Invalid arguments.");
		return true;
	}
	for (unsigned int i = 0; i < count; i++) {
		unsigned int j;
		if (!imap_arg_get_atom(&list[i], &item)) {
			client_command_error(cmd, "Status items must be atoms");
			return true;
		}
		for (j = 0; j < N_ELEMENTS(items); j++) {
			if (strcasecmp(items[j].name, item) == 0)
				break;
		}
		if (j == N_ELEMENTS(items)) {
			string_t *msg = str_new(64);
			str_printfa(msg, "Invalid status item %s", item);
			client_command_error(cmd, str_c(msg));
			str_free(&msg);
			return true;
		}
		wanted |= items[j].item;
	}
	if (!mail_user_mailbox_exists(client->user, name)) {
		imap_reply_nonexistent(cmd, name);
		return true;
	}
	if (mail_user_mailbox_status(client->user, name, &status, &error) < 0) {
		imap_reply_storage_error(cmd, error);
		return true;
	}
	string_t *str = str_new(128);
	const char *client_name;
	if (!imap_arg_get_astring(&cmd->args[0], &client_name))
		client_name = name;
	str_append(str, "* STATUS ");
	imap_append_astring(str, strcasecmp(client_name, "INBOX") == 0 ?
			    "INBOX" : client_name);
	str_append(str, " (");
	write_status(str, wanted, &status);
	str_append_c(str, ')');
	client_send_line(client, str_c(str));
	str_free(&str);
	client_command_reply(cmd, "OK Status completed.");
	return true;
}
