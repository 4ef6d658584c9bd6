/* LIST (RFC 3501 6.3.8) and LSUB (6.3.9): '*' matches anything, '%'
   anything but the hierarchy separator; parents that don't exist as
   mailboxes are listed \Noselect when a pattern needs them. */
#include "imap-commands.h"
#include "imap-util.h"
#include "imap-quote.h"

#include <stdlib.h>
#include <strings.h>

/* Patterns longer than this can't match a mailbox name anyway and
   would make matching needlessly slow. */
#define LIST_MAX_PATTERN_LEN 1024

/* Wildcard match, dynamic programming over the pattern: O(p*n). */
static bool list_match(const char *pattern, const char *name, char sep)
{
	size_t plen = strlen(pattern), nlen = strlen(name);
	bool *cur = i_new(bool, nlen + 1), *next = i_new(bool, nlen + 1);
	bool ret;

	/* cur[j]: pattern[0..i) matches name[0..j) */
	cur[0] = true;
	for (size_t i = 0; i < plen; i++) {
		char p = pattern[i];
		memset(next, 0, nlen + 1);
		if (p == '*' || p == '%') {
			bool reach = false;
			for (size_t j = 0; j <= nlen; j++) {
				if (cur[j])
					reach = true;
				next[j] = reach;
				if (p == '%' && j < nlen && name[j] == sep)
					reach = false;
			}
		} else {
			for (size_t j = 0; j < nlen; j++) {
				if (cur[j] && name[j] == p)
					next[j + 1] = true;
			}
		}
		bool *tmp = cur; cur = next; next = tmp;
	}
	ret = cur[nlen];
	free(cur);
	free(next);
	return ret;
}

/* "inbox" and "InBoX.foo" in patterns mean INBOX. */
static char *list_pattern_normalize(const char *ref, const char *pattern,
				    char sep)
{
	char *full;

	if (pattern[0] == sep && ref[0] != '\0' && ref[strlen(ref) - 1] == sep)
		pattern++;
	full = i_strdup_printf("%s%s", ref, pattern);
	if (strncasecmp(full, "INBOX", 5) == 0 &&
	    (full[5] == '\0' || full[5] == sep))
		memcpy(full, "INBOX", 5);
	return full;
}

static void list_send(struct client *client, bool lsub, const char *flags,
		      char sep, const char *name)
{
	string_t *str = str_new(128);

	str_printfa(str, "* %s (%s) ", lsub ? "LSUB" : "LIST", flags);
	if (sep == '\0') {
		str_append(str, "NIL ");
	} else {
		char sepstr[2] = { sep, '\0' };
		imap_append_quoted(str, sepstr);
		str_append_c(str, ' ');
	}
	imap_append_astring(str, name);
	client_send_line(client, str_c(str));
	str_free(&str);
}

static bool name_in(char *const *names, unsigned int count, const char *name)
{
	for (unsigned int i = 0; i < count; i++) {
		if (strcmp(names[i], name) == 0)
			return true;
	}
	return false;
}

static bool has_children(char *const *names, unsigned int count,
			 const char *name, char sep)
{
	size_t len = strlen(name);

	for (unsigned int i = 0; i < count; i++) {
		if (strncmp(names[i], name, len) == 0 && names[i][len] == sep)
			return true;
	}
	return false;
}

/* List parents of names that match the pattern but aren't in names
   themselves (e.g. "a" for "a.b" with pattern "%"), once each. */
static void list_parents(struct client *client, bool lsub, char *const *names,
			 unsigned int count, char *const *existing,
			 unsigned int existing_count, const char *pattern,
			 char sep)
{
	char **sent = NULL;
	unsigned int sent_count = 0;

	/* RFC 3501 6.3.8/6.3.9: levels of hierarchy matched by '%' are
	   returned even when they aren't mailboxes themselves */
	if (strchr(pattern, '%') == NULL)
		return;

	for (unsigned int i = 0; i < count && sep != '\0'; i++) {
		char *parent = i_strdup(names[i]);
		char *p;
		while ((p = strrchr(parent, sep)) != NULL) {
			*p = '\0';
			if (parent[0] == '\0' || name_in(names, count, parent) ||
			    name_in(sent, sent_count, parent) ||
			    !list_match(pattern, parent, sep))
				continue;
			bool exists = name_in(existing, existing_count, parent);
			list_send(client, lsub, lsub ? "\\Noselect" :
				  exists ? "\\HasChildren" :
				  "\\Noselect \\HasChildren", sep, parent);
			sent = i_realloc(sent, (sent_count + 1) * sizeof(*sent));
			sent[sent_count++] = i_strdup(parent);
		}
		free(parent);
	}
	for (unsigned int i = 0; i < sent_count; i++)
		free(sent[i]);
	free(sent);
}

static void list_mailboxes(struct client *client, const char *pattern,
			   char sep, struct mailbox_info *infos,
			   unsigned int count)
{
	char **names = i_new(char *, count + 1);

	for (unsigned int i = 0; i < count; i++)
		names[i] = infos[i].name;
	for (unsigned int i = 0; i < count; i++) {
		if (!list_match(pattern, names[i], sep))
			continue;
		string_t *flags = str_new(64);
		if ((infos[i].flags & MAILBOX_NOSELECT) != 0)
			str_append(flags, "\\Noselect ");
		if ((infos[i].flags & MAILBOX_NOINFERIORS) != 0)
			str_append(flags, "\\Noinferiors");
		else if (has_children(names, count, names[i], sep))
			str_append(flags, "\\HasChildren");
		else
			str_append(flags, "\\HasNoChildren");
		list_send(client, false, str_c(flags), sep, names[i]);
		str_free(&flags);
	}
	list_parents(client, false, names, count, names, count, pattern, sep);
	free(names);
}

static int list_subscriptions(struct client *client, const char *pattern,
			      char sep, const char **error_r)
{
	char **subs;

	if (mail_user_subscriptions(client->user, &subs, error_r) < 0)
		return -1;
	unsigned int count = str_array_length(subs);
	for (unsigned int i = 0; i < count; i++) {
		if (list_match(pattern, subs[i], sep))
			list_send(client, true, "", sep, subs[i]);
	}
	list_parents(client, true, subs, count, NULL, 0, pattern, sep);
	str_split_free(&subs);
	return 0;
}

bool cmd_list_full(struct client_command *cmd, bool lsub)
{
	struct client *client = cmd->client;
	char sep = mail_user_separator(client->user);
	const char *ref, *pattern, *error;
	struct mailbox_info *infos;
	unsigned int count;

	if (cmd->args[0].type == IMAP_ARG_EOL ||
	    cmd->args[1].type == IMAP_ARG_EOL) {
		client_command_error(cmd, "Missing arguments.");
		return true;
	}
	if (!imap_arg_get_astring(&cmd->args[0], &ref) ||
	    !imap_arg_get_astring(&cmd->args[1], &pattern) ||
	    cmd->args[2].type != IMAP_ARG_EOL) {
		client_command_error(cmd, "Invalid arguments.");
		return true;
	}
	if (strlen(ref) + strlen(pattern) > LIST_MAX_PATTERN_LEN) {
		client_command_error(cmd, "Pattern too long.");
		return true;
	}
	if (pattern[0] == '\0' && !lsub) {
		/* RFC 3501 6.3.8: the hierarchy separator and the root */
		list_send(client, false, "\\Noselect", sep, "");
		client_command_reply(cmd, "OK List completed.");
		return true;
	}
	char *full = list_pattern_normalize(ref, pattern, sep);
	int ret = 0;
	if (lsub) {
		ret = list_subscriptions(client, full, sep, &error);
	} else if ((ret = mail_user_list(client->user, &infos, &count,
					 &error)) == 0) {
		list_mailboxes(client, full, sep, infos, count);
		mailbox_info_list_free(&infos, count);
	}
	free(full);
	if (ret < 0)
		imap_reply_storage_error(cmd, error);
	else
		client_command_reply(cmd, lsub ? "OK Lsub completed." :
				     "OK List completed.");
	return true;
}

bool cmd_list(struct client_command *cmd)
{
	return cmd_list_full(cmd, false);
}
