/* NAMESPACE (RFC 2342): one personal namespace. */
#include "imap-commands.h"
#include "imap-quote.h"

bool cmd_namespace(struct client_command *cmd)
{
	struct client *client = cmd->client;
	const char *prefix = client->ns_prefix;
	char sep = mail_user_separator(client->user);
	string_t *str = str_new(128);

	str_append(str, "* NAMESPACE ((");
	imap_append_quoted(str, prefix);
	str_append_c(str, ' ');
	if (sep == '\0') {
		str_append(str, "NIL");
	} else {
		char sepstr[2] = { sep, '\0' };
		imap_append_quoted(str, sepstr);
	}
	str_append(str, ")) NIL NIL");
	client_send_line(client, str_c(str));
	str_free(&str);
	client_command_reply(cmd, "OK Namespace completed.");
	return true;
}
