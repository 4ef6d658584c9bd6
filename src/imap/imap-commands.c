/* The command table (RFC 3501 6, plus IDLE, ID, ENABLE, NAMESPACE,
   UNSELECT, MOVE and UID EXPUNGE). */
#include "imap-commands.h"

#include <strings.h>

#define SEL COMMAND_FLAG_SELECTED
#define UID COMMAND_FLAG_UID

static const struct command commands[] = {
	{ "APPEND", cmd_append, 0 },
	{ "CAPABILITY", cmd_capability, 0 },
	{ "CHECK", cmd_check, SEL },
	{ "CLOSE", cmd_close, SEL | COMMAND_FLAG_NO_SYNC },
	{ "COPY", cmd_copy, SEL | UID },
	{ "CREATE", cmd_create, 0 },
	{ "DELETE", cmd_delete, 0 },
	{ "ENABLE", cmd_enable, 0 },
	{ "EXAMINE", cmd_examine, COMMAND_FLAG_NO_SYNC },
	{ "EXPUNGE", cmd_expunge, SEL | UID },
	{ "FETCH", cmd_fetch, SEL | UID | COMMAND_FLAG_NO_EXPUNGES },
	{ "ID", cmd_id, 0 },
	{ "IDLE", cmd_idle, COMMAND_FLAG_NO_SYNC },
	{ "LIST", cmd_list, 0 },
	{ "LOGOUT", cmd_logout, COMMAND_FLAG_NO_SYNC },
	{ "LSUB", cmd_lsub, 0 },
	{ "MOVE", cmd_move, SEL | UID },
	{ "NAMESPACE", cmd_namespace, 0 },
	{ "NOOP", cmd_noop, 0 },
	{ "RENAME", cmd_rename, 0 },
	{ "SEARCH", cmd_search, SEL | UID | COMMAND_FLAG_NO_EXPUNGES },
	{ "SELECT", cmd_select, COMMAND_FLAG_NO_SYNC },
	{ "STATUS", cmd_status, 0 },
	{ "STORE", cmd_store, SEL | UID | COMMAND_FLAG_NO_EXPUNGES },
	{ "SUBSCRIBE", cmd_subscribe, 0 },
	{ "UNSELECT", cmd_unselect, SEL | COMMAND_FLAG_NO_SYNC },
	{ "UNSUBSCRIBE", cmd_unsubscribe, 0 },
};

const struct command *command_find(const char *name)
{
	for (unsigned int i = 0; i < N_ELEMENTS(commands); i++) {
		if (strcasecmp(commands[i].name, name) == 0)
			return &commands[i];
	}
	return NULL;
}
