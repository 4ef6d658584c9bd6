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

static int cmp_strp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* A sorted array of pointers to names (the strings aren't copied). */
static char **names_sorted(char *const *names, unsigned int count)
{
	char **sorted = i_new(char *, count + 1);

	memcpy(sorted, names, count * sizeof(*sorted));
	qsort(sorted, count, sizeof(*sorted), cmp_strp);
	return sorted;
}

/* Index of the first name >= key. */
static unsigned int names_lower_bound(char *const *sorted, unsigned int count,
				      const char *key)
{
	unsigned int lo = 0, hi = count;

	while (lo < hi) {
		unsigned int mid = lo + (hi - lo) / 2;
		if (strcmp(sorted[mid], key) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

static bool names_have(char *const *sorted, unsigned int count,
		       const char *name)
{
	unsigned int i = names_lower_bound(sorted, count, name);
	return i < count && strcmp(sorted[i], name) == 0;
}

static bool names_have_children(char *const *sorted, unsigned int count,
				const char *name, char sep)
{
	char *prefix = i_strdup_printf("%s%c", name, sep);
	unsigned int i = names_lower_bound(sorted, count, prefix);
	bool ret = i < count && str_begins(sorted[i], prefix);

	free(prefix);
	return ret;
}

/* List the parents of names that match the pattern but aren't names
   themselves (e.g. "a" for "a.b" with pattern "%"), once each.
   sorted is names sorted. */
static void list_parents(struct client *client, bool lsub,
			 char *const *sorted, unsigned int count,
			 const char *pattern, char sep)
{
	char **cands = NULL;
	unsigned int cands_count = 0, cands_alloc = 0;

	/* RFC 3501 6.3.8/6.3.9: levels of hierarchy matched by '%' are
	   returned even when they aren't mailboxes themselves */
	if (strchr(pattern, '%') == NULL || sep == '\0')
		return;
	for (unsigned int i = 0; i < count; i++) {
		for (const char *p = strchr(sorted[i], sep); p != NULL;
		     p = strchr(p + 1, sep)) {
			if (p == sorted[i])
				continue;
			if (cands_count == cands_alloc) {
				cands_alloc = cands_alloc == 0 ? 16 : cands_alloc * 2;
				cands = i_realloc(cands, cands_alloc * sizeof(*cands));
			}
			cands[cands_count++] = i_strndup(sorted[i],
						(size_t)(p - sorted[i]));
		}
	}
	if (cands_count > 0)
		qsort(cands, cands_count, sizeof(*cands), cmp_strp);
	for (unsigned int i = 0; i < cands_count; i++) {
		if ((i > 0 && strcmp(cands[i], cands[i - 1]) == 0) ||
		    names_have(sorted, count, cands[i]) ||
		    !list_match(pattern, cands[i], sep))
			continue;
		list_send(client, lsub, lsub ? "\\Noselect" :
			  "\\Noselect \\HasChildren", sep, cands[i]);
	}
	for (unsigned int i = 0; i < cands_count; i++)
		free(cands[i]);
	free(cands);
}

static void list_mailboxes(struct client *client, const char *pattern,
			   char sep, struct mailbox_info *infos,
			   unsigned int count)
{
	char **names = i_new(char *, count + 1);

	for (unsigned int i = 0; i < count; i++)
		names[i] = imap_mailbox_name_to_client(client, infos[i].name);
	char **sorted = names_sorted(names, count);
	for (unsigned int i = 0; i < count; i++) {
		if (!list_match(pattern, names[i], sep))
			continue;
		string_t *flags = str_new(64);
		if ((infos[i].flags & MAILBOX_NOSELECT) != 0)
			str_append(flags, "\\Noselect ");
		if ((infos[i].flags & MAILBOX_NOINFERIORS) != 0)
			str_append(flags, "\\Noinferiors");
		else if (names_have_children(sorted, count, names[i], sep))
			str_append(flags, "\\HasChildren");
		else
			str_append(flags, "\\HasNoChildren");
		list_send(client, false, str_c(flags), sep, names[i]);
		str_free(&flags);
	}
	list_parents(client, false, sorted, count, pattern, sep);
	free(sorted);
	for (unsigned int i = 0; i < count; i++)
		free(names[i]);
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
		char *name = imap_mailbox_name_to_client(client, subs[i]);
		free(subs[i]);
		subs[i] = name;
	}
	for (unsigned int i = 0; i < count; i++) {
		if (list_match(pattern, subs[i], sep))
			list_send(client, true, "", sep, subs[i]);
	}
	char **sorted = names_sorted(subs, count);
	list_parents(client, true, sorted, count, pattern, sep);
	free(sorted);
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
