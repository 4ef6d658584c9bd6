/* NAMESPACE (RFC 2342): one personal namespace. */
#include "imap-commands.h"
#include "imap-quote.h"

bool cmd_namespace(struct client_command *cmd)
{
	struct client *client = cmd->client;
	const struct loft_settings *set = client->set;
	const char *prefix = "";
	char sep = mail_user_separator(client->user);
	string_t *str = str_new(128);

	for (unsigned int i = 0; i < set->namespaces_count; i++) {
		if (set->namespaces[i].inbox && set->namespaces[i].prefix != NULL)
			prefix = set->namespaces[i].prefix;
	}
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
