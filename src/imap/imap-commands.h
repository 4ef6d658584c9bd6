#ifndef LOFT_IMAP_COMMANDS_H
#define LOFT_IMAP_COMMANDS_H
/* The IMAP command table: one cmd-*.c file per command. */
#include "imap-client.h"

/* Find a command by name (case-insensitive), NULL if unknown. */
const struct command *command_find(const char *name);

bool cmd_append(struct client_command *cmd);
bool cmd_capability(struct client_command *cmd);
bool cmd_check(struct client_command *cmd);
bool cmd_close(struct client_command *cmd);
bool cmd_copy(struct client_command *cmd);
bool cmd_create(struct client_command *cmd);
bool cmd_delete(struct client_command *cmd);
bool cmd_enable(struct client_command *cmd);
bool cmd_examine(struct client_command *cmd);
bool cmd_expunge(struct client_command *cmd);
bool cmd_fetch(struct client_command *cmd);
bool cmd_id(struct client_command *cmd);
bool cmd_idle(struct client_command *cmd);
bool cmd_list(struct client_command *cmd);
bool cmd_logout(struct client_command *cmd);
bool cmd_lsub(struct client_command *cmd);
bool cmd_move(struct client_command *cmd);
bool cmd_namespace(struct client_command *cmd);
bool cmd_noop(struct client_command *cmd);
bool cmd_rename(struct client_command *cmd);
bool cmd_search(struct client_command *cmd);
bool cmd_select(struct client_command *cmd);
bool cmd_status(struct client_command *cmd);
bool cmd_store(struct client_command *cmd);
bool cmd_subscribe(struct client_command *cmd);
bool cmd_unselect(struct client_command *cmd);
bool cmd_unsubscribe(struct client_command *cmd);

/* SELECT and EXAMINE share this (cmd-select.c). */
bool cmd_select_full(struct client_command *cmd, bool readonly);
/* LIST and LSUB share this (cmd-list.c). */
bool cmd_list_full(struct client_command *cmd, bool lsub);
/* SUBSCRIBE and UNSUBSCRIBE (cmd-subscribe.c). */
bool cmd_subscribe_full(struct client_command *cmd, bool subscribe);
/* COPY and MOVE (cmd-copy.c). */
bool cmd_copy_full(struct client_command *cmd, bool move);

#endif
