/* SEARCH (RFC 3501 6.4.4) with CHARSET UTF-8 / US-ASCII. */
#include "imap-commands.h"
#include "imap-search.h"

#include <strings.h>

bool cmd_search(struct client_command *cmd)
{
	struct client *client = cmd->client;
	struct mailbox *box = client->mailbox;
	const struct imap_arg *args = cmd->args;
	struct imap_search *search;
	const char *charset, *error;

	if (imap_arg_atom_equals(args, "CHARSET")) {
		if (!imap_arg_get_astring(&args[1], &charset)) {
			client_command_error(cmd, "Missing CHARSET.");
			return true;
		}
		if (strcasecmp(charset, "UTF-8") != 0 &&
		    strcasecmp(charset, "US-ASCII") != 0) {
			client_command_replyf(cmd, "NO [BADCHARSET (US-ASCII UTF-8)] "
					      "Unsupported charset %s", charset);
			return true;
		}
		args += 2;
	}
	uint32_t count = mailbox_count(box);
	const struct mail_record *last = count == 0 ? NULL :
		mailbox_get(box, count);
	if (imap_search_parse(args, client->known_count,
			      last == NULL ? 0 : last->uid,
			      &search, &error) < 0) {
		client_command_error(cmd, error);
		return true;
	}
	string_t *str = str_new(256);
	str_append(str, "* SEARCH");
	for (uint32_t seq = 1; seq <= count; seq++) {
		/* 0: new to the storage, not yet told to the client */
		uint32_t client_seq = client_seq_from_storage(client, seq);
		if (client_seq == 0 ||
		    imap_search_match(search, box, seq, client_seq) <= 0)
			continue;
		if (cmd->uid)
			str_printfa(str, " %u", mailbox_get(box, seq)->uid);
		else
			str_printfa(str, " %u", client_seq);
	}
	client_send_line(client, str_c(str));
	str_free(&str);
	imap_search_free(&search);
	client_command_reply(cmd, "OK Search completed.");
	return true;
}
