/* CREATE (RFC 3501 6.3.3) */
#include "imap-commands.h"
#include "imap-util.h"

#include <stdlib.h>

bool cmd_create(struct client_command *cmd)
{
	struct client *client = cmd->client;
	const char *name, *error;
	char sep = mail_user_separator(client->user);

	if (!imap_arg_get_mailbox(cmd, &cmd->args[0], &name))
		return true;
	char *dup = i_strdup(name);
	size_t len = strlen(dup);
	/* "foo/" means: create foo, intending to put children in it */
	if (len > 1 && dup[len - 1] == sep)
		dup[len - 1] = '\0';
	if (mail_user_mailbox_exists(client->user, dup)) {
		client_command_reply(cmd,
			"NO [ALREADYEXISTS] Mailbox already exists");
	} else if (mail_user_mailbox_create(client->user, dup, &error) < 0) {
		imap_reply_storage_error(cmd, error);
	} else {
		client_command_reply(cmd, "OK Create completed.");
	}
	free(dup);
	return true;
}
