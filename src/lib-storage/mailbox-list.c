/* LIST/LSUB support: the Maildir++ folders of the root, their
   hierarchy flags, and Dovecot's subscriptions file. */
#include "storage-private.h"
#include <dirent.h>
#include <errno.h>
#include <stdlib.h>

#define LIST_MAX_MAILBOXES 100000

struct name_list {
	char **names;
	bool *selectable;
	unsigned int count, alloc;
};

static void name_list_add(struct name_list *l, const char *name, bool sel)
{
	if (l->count == l->alloc) {
		l->alloc = l->alloc == 0 ? 32 : l->alloc * 2;
		l->names = i_realloc(l->names, l->alloc * sizeof(*l->names));
		l->selectable = i_realloc(l->selectable,
					  l->alloc * sizeof(*l->selectable));
	}
	l->names[l->count] = i_strdup(name);
	l->selectable[l->count++] = sel;
}

static int name_find(const struct name_list *l, const char *name)
{
	unsigned int i;

	for (i = 0; i < l->count; i++) {
		if (strcmp(l->names[i], name) == 0)
			return (int)i;
	}
	return -1;
}

static int wire_cmp(const void *p1, const void *p2)
{
	const struct mailbox_info *a = p1, *b = p2;

	if (strcmp(a->name, "INBOX") == 0)
		return -1;
	if (strcmp(b->name, "INBOX") == 0)
		return 1;
	return strcmp(a->name, b->name);
}

/* Storage name ("INBOX" / "A.B") -> wire name, NULL if impossible. */
static char *storage_to_wire(struct mail_user *user, const char *storage)
{
	char *dir, *name;

	if (strcmp(storage, "INBOX") == 0)
		return i_strdup("INBOX");
	dir = i_strdup_printf(".%s", storage);
	name = mailbox_name_from_dir(user->sep, dir);
	free(dir);
	return name;
}

static void add_parents(struct mail_user *user, struct name_list *l)
{
	unsigned int i, n = l->count;
	char *p;

	/* ".A.B" without ".A": list "A" as \Noselect */
	for (i = 0; i < n; i++) {
		char *copy = i_strdup(l->names[i]);
		while ((p = strrchr(copy, user->sep)) != NULL) {
			*p = '\0';
			if (name_find(l, copy) < 0)
				name_list_add(l, copy, false);
		}
		free(copy);
	}
}

static bool has_children(const struct name_list *l, const char *name,
			 char sep)
{
	size_t len = strlen(name);
	unsigned int i;

	for (i = 0; i < l->count; i++) {
		if (strncmp(l->names[i], name, len) == 0 &&
		    l->names[i][len] == sep)
			return true;
	}
	return false;
}

int mail_user_list(struct mail_user *user, struct mailbox_info **list_r,
		   unsigned int *count_r, const char **error_r)
{
	struct name_list l;
	struct mailbox_info *list;
	struct dirent *d;
	struct stat st;
	char **subs = NULL;
	unsigned int i, k;
	DIR *dir;

	memset(&l, 0, sizeof(l));
	dir = opendir(user->loc.root);
	if (dir == NULL) {
		i_error("opendir(%s) failed: %s", user->loc.root, strerror(errno));
		*error_r = "Internal error listing mailboxes";
		return -1;
	}
	name_list_add(&l, "INBOX", true);
	while ((d = readdir(dir)) != NULL && l.count < LIST_MAX_MAILBOXES) {
		if (d->d_name[0] != '.' || d->d_type == DT_REG)
			continue;
		char *name = mailbox_name_from_dir(user->sep, d->d_name);
		if (name == NULL)
			continue;
		char *cur = i_strdup_printf("%s/%s/cur", user->loc.root,
					    d->d_name);
		char *path = cur + 0;
		bool sel = stat(cur, &st) == 0 && S_ISDIR(st.st_mode);
		path[strlen(path) - 4] = '\0';
		if (sel || (stat(path, &st) == 0 && S_ISDIR(st.st_mode)))
			name_list_add(&l, name, sel);
		free(cur);
		free(name);
	}
	closedir(dir);
	add_parents(user, &l);

	char *sp = i_strdup_printf("%s/subscriptions",
				   user->loc.control_dir != NULL ?
				   user->loc.control_dir : user->loc.root);
	(void)subsfile_read(sp, &subs);
	free(sp);

	list = i_new(struct mailbox_info, l.count + 1);
	for (i = 0; i < l.count; i++) {
		list[i].name = l.names[i];
		list[i].flags = l.selectable[i] ? 0 : MAILBOX_NOSELECT;
		list[i].flags |= has_children(&l, l.names[i], user->sep) ?
			MAILBOX_HASCHILDREN : MAILBOX_HASNOCHILDREN;
		for (k = 0; subs != NULL && subs[k] != NULL; k++) {
			char *w = storage_to_wire(user, subs[k]);
			bool match = w != NULL && strcmp(w, l.names[i]) == 0;
			free(w);
			if (match) {
				list[i].flags |= MAILBOX_SUBSCRIBED;
				break;
			}
		}
	}
	if (l.count > 1)
		qsort(list, l.count, sizeof(*list), wire_cmp);
	*list_r = list;
	*count_r = l.count;
	str_split_free(&subs);
	free(l.names);
	free(l.selectable);
	return 0;
}

void mailbox_info_list_free(struct mailbox_info **_list, unsigned int count)
{
	struct mailbox_info *list = *_list;
	unsigned int i;

	if (list == NULL)
		return;
	for (i = 0; i < count; i++)
		free(list[i].name);
	free(list);
	*_list = NULL;
}

int mail_user_subscriptions(struct mail_user *user, char ***names_r,
			    const char **error_r)
{
	char *sp = i_strdup_printf("%s/subscriptions",
				   user->loc.control_dir != NULL ?
				   user->loc.control_dir : user->loc.root);
	char **subs, **out;
	unsigned int i, n = 0;
	int ret;

	ret = subsfile_read(sp, &subs);
	free(sp);
	out = i_new(char *, str_array_length(subs) + 1);
	for (i = 0; subs[i] != NULL; i++) {
		char *w = storage_to_wire(user, subs[i]);
		if (w != NULL)
			out[n++] = w;
	}
	str_split_free(&subs);
	*names_r = out;
	if (ret < 0)
		*error_r = "Internal error reading subscriptions";
	return ret;
}

int mail_user_subscribe(struct mail_user *user, const char *name, bool set,
			const char **error_r)
{
	char *dir, *sp;
	int ret;

	if (mailbox_name_to_dir(user->sep, name, &dir, error_r) < 0)
		return -1;
	sp = i_strdup_printf("%s/subscriptions",
			     user->loc.control_dir != NULL ?
			     user->loc.control_dir : user->loc.root);
	ret = subsfile_update(sp, dir[0] == '\0' ? "INBOX" : dir + 1, set,
			      NULL, user->fsync);
	if (ret < 0)
		*error_r = "Internal error updating subscriptions";
	free(sp);
	free(dir);
	return ret;
}
