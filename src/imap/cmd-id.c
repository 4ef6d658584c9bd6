/* ID (RFC 2971): check the client's list, answer with our name. */
#include "imap-commands.h"

#define ID_MAX_PAIRS 30
#define ID_MAX_KEY_LEN 30
#define ID_MAX_VALUE_LEN 1024

static bool id_args_valid(const struct imap_arg *arg)
{
	const struct imap_arg *list;
	unsigned int count;
	const char *key, *value;

	if (arg->type == IMAP_ARG_NIL)
		return true;
	if (!imap_arg_get_list(arg, &list, &count) || count % 2 != 0 ||
	    count / 2 > ID_MAX_PAIRS)
		return false;
	for (unsigned int i = 0; i < count; i += 2) {
		if (!imap_arg_get_string(&list[i], &key) ||
		    !imap_arg_get_nstring(&list[i + 1], &value) ||
		    list[i].str_len > ID_MAX_KEY_LEN ||
		    (value != NULL && list[i + 1].str_len > ID_MAX_VALUE_LEN))
			return false;
	}
	return true;
}

bool cmd_id(struct client_command *cmd)
{
	if (!id_args_valid(&cmd->args[0]) ||
	    cmd->args[1].type != IMAP_ARG_EOL) {
		client_command_error(cmd, "Invalid ID parameters");
		return true;
	}
	client_send_line(cmd->client, "* ID (\"name\" \"loft\")");
	client_command_reply(cmd, "OK ID completed.");
	return true;
}
