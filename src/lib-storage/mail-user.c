/* A user's mail storage: Maildir++ root, mailbox paths, create/delete/
   rename and STATUS. Listing and subscriptions are in mailbox-list.c. */
#include "storage-private.h"
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#define CREATE_MODE 0700
#define RMDIR_MAX_DEPTH 4

const char *mail_user_set_error(struct mail_user *user, const char *fmt, ...)
{
	va_list args;

	free(user->error);
	va_start(args, fmt);
	user->error = i_strdup_vprintf(fmt, args);
	va_end(args);
	return user->error;
}

static int mkdir_p(const char *path)
{
	char *copy, *p;
	int ret = 0;

	if (mkdir(path, CREATE_MODE) == 0 || errno == EEXIST)
		return 0;
	if (errno != ENOENT)
		return -1;
	copy = i_strdup(path);
	for (p = copy + 1; *p != '\0' && ret == 0; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(copy, CREATE_MODE) < 0 && errno != EEXIST)
			ret = -1;
		*p = '/';
	}
	free(copy);
	if (ret == 0 && mkdir(path, CREATE_MODE) < 0 && errno != EEXIST)
		ret = -1;
	return ret;
}

char *maildir_mbox_file(const struct maildir_mbox *mb, const char *name)
{
	return i_strdup_printf("%s/%s", mb->path, name);
}

int maildir_mbox_resolve(struct mail_user *user, const char *name,
			 struct maildir_mbox *mb_r, const char **error_r)
{
	memset(mb_r, 0, sizeof(*mb_r));
	if (mailbox_name_to_dir(user->sep, name, &mb_r->dir, error_r) < 0)
		return -1;
	mb_r->name = i_strdup(mailbox_name_is_inbox(name) ? "INBOX" : name);
	mb_r->path = mb_r->dir[0] == '\0' ? i_strdup(user->loc.root) :
		i_strdup_printf("%s/%s", user->loc.root, mb_r->dir);
	if (user->loc.control_dir == NULL)
		mb_r->control = i_strdup(mb_r->path);
	else if (mb_r->dir[0] == '\0')
		mb_r->control = i_strdup(user->loc.control_dir);
	else
		mb_r->control = i_strdup_printf("%s/%s", user->loc.control_dir,
						mb_r->dir);
	return 0;
}

void maildir_mbox_free(struct maildir_mbox *mb)
{
	i_free(mb->name);
	i_free(mb->dir);
	i_free(mb->path);
	i_free(mb->control);
}

bool maildir_mbox_exists(const struct maildir_mbox *mb)
{
	char *cur = maildir_mbox_file(mb, "cur");
	struct stat st;
	bool ret = stat(cur, &st) == 0 && S_ISDIR(st.st_mode);

	free(cur);
	return ret;
}

int maildir_mbox_create_dirs(struct mail_user *user,
			     const struct maildir_mbox *mb)
{
	static const char *const subdirs[] = { "cur", "new", "tmp" };
	unsigned int i;
	char *p;
	int fd;

	if (mkdir_p(mb->path) < 0) {
		i_error("mkdir(%s) failed: %s", mb->path, strerror(errno));
		return -1;
	}
	for (i = 0; i < N_ELEMENTS(subdirs); i++) {
		p = maildir_mbox_file(mb, subdirs[i]);
		if (mkdir(p, CREATE_MODE) < 0 && errno != EEXIST) {
			i_error("mkdir(%s) failed: %s", p, strerror(errno));
			free(p);
			return -1;
		}
		free(p);
	}
	if (mb->dir[0] != '\0') {
		/* Dovecot (and Courier) mark Maildir++ folders this way */
		p = maildir_mbox_file(mb, "maildirfolder");
		fd = open(p, O_WRONLY | O_CREAT, 0600);
		if (fd >= 0)
			(void)close(fd);
		free(p);
	}
	if (strcmp(mb->control, mb->path) != 0 && mkdir_p(mb->control) < 0) {
		i_error("mkdir(%s) failed: %s", mb->control, strerror(errno));
		return -1;
	}
	return 0;
}

static int mail_user_open_full(const struct mail_user_settings *set,
			       bool lazy_index, struct mail_user **user_r,
			       const char **error_r)
{
	struct mail_user *user;
	struct maildir_mbox inbox;

	*user_r = NULL;
	if (set->username == NULL || set->username[0] == '\0') {
		*error_r = "No username";
		return -1;
	}
	if (set->separator != 0 &&
	    (set->separator <= 0x20 || set->separator >= 0x7f ||
	     strchr("&*%\"\\", set->separator) != NULL ||
	     (set->separator >= '0' && set->separator <= '9') ||
	     ((set->separator | 0x20) >= 'a' &&
	      (set->separator | 0x20) <= 'z'))) {
		*error_r = "Invalid hierarchy separator";
		return -1;
	}
	user = i_new(struct mail_user, 1);
	user->db_hold_fd = -1;
	user->username = i_strdup(set->username);
	user->sep = set->separator == 0 ? '.' : set->separator;
	user->fsync = set->fsync;
	if (mail_location_parse(set->mail_location, set->username,
				set->home, &user->loc, error_r) < 0) {
		mail_user_close(&user);
		return -1;
	}
	if (mkdir_p(user->loc.root) < 0 || mkdir_p(user->loc.index_dir) < 0 ||
	    (user->loc.control_dir != NULL &&
	     mkdir_p(user->loc.control_dir) < 0)) {
		i_error("mkdir(%s) failed: %s", user->loc.root, strerror(errno));
		*error_r = "Internal error: can't create the Maildir";
		mail_user_close(&user);
		return -1;
	}
	if (maildir_mbox_resolve(user, "INBOX", &inbox, error_r) < 0 ||
	    maildir_mbox_create_dirs(user, &inbox) < 0) {
		maildir_mbox_free(&inbox);
		*error_r = "Internal error: can't create the Maildir";
		mail_user_close(&user);
		return -1;
	}
	maildir_mbox_free(&inbox);
	if (lazy_index) {
		/* opened at its first use (index-sqlite.c): a session that
		   never needs it doesn't open SQLite at all */
		user->db_path = i_strdup_printf("%s/" INDEX_FILE_NAME,
						user->loc.index_dir);
	} else if (index_db_open(user, error_r) < 0) {
		mail_user_close(&user);
		return -1;
	}
	*user_r = user;
	return 0;
}

int mail_user_open(const struct mail_user_settings *set,
		   struct mail_user **user_r, const char **error_r)
{
	return mail_user_open_full(set, false, user_r, error_r);
}

int mail_user_open_lazy(const struct mail_user_settings *set,
			struct mail_user **user_r, const char **error_r)
{
	return mail_user_open_full(set, true, user_r, error_r);
}

void mail_user_close(struct mail_user **_user)
{
	struct mail_user *user = *_user;

	if (user == NULL)
		return;
	*_user = NULL;
	index_db_close(user);
	mail_location_free(&user->loc);
	free(user->db_path);
	free(user->username);
	free(user->error);
	free(user);
}

char mail_user_separator(const struct mail_user *user)
{
	return user->sep;
}

const char *mail_user_root(const struct mail_user *user)
{
	return user->loc.root;
}

bool mail_user_mailbox_exists(struct mail_user *user, const char *name)
{
	struct maildir_mbox mb;
	const char *error;
	bool ret;

	if (maildir_mbox_resolve(user, name, &mb, &error) < 0)
		return false;
	ret = maildir_mbox_exists(&mb);
	maildir_mbox_free(&mb);
	return ret;
}

/* A trailing separator only says "will have children" (RFC 3501
   6.3.3); Maildir++ needs no parent dirs. */
static char *strip_trailing_sep(struct mail_user *user, const char *name)
{
	size_t len = strlen(name);

	if (len > 1 && name[len - 1] == user->sep)
		return i_strndup(name, len - 1);
	return i_strdup(name);
}

static int create_uidlist(struct mail_user *user, const struct maildir_mbox *mb)
{
	char *path = i_strdup_printf("%s/dovecot-uidlist", mb->control);
	struct maildir_uidlist ul;
	const char *error;
	int ret = 0;

	memset(&ul, 0, sizeof(ul));
	if (maildir_uidlist_lock(mb->control, &error) < 0) {
		free(path);
		return -1;
	}
	if (access(path, F_OK) < 0) {
		ul.uidvalidity = maildir_uidvalidity_next(user->loc.root);
		ul.next_uid = 1;
		ret = maildir_uidlist_write(path, &ul, user->fsync);
	}
	maildir_uidlist_unlock(mb->control);
	maildir_uidlist_clear(&ul);
	free(path);
	return ret;
}

int mail_user_mailbox_create(struct mail_user *user, const char *name,
			     const char **error_r)
{
	struct maildir_mbox mb;
	struct index_mailbox_row row;
	char *n = strip_trailing_sep(user, name);
	int ret;

	ret = maildir_mbox_resolve(user, n, &mb, error_r);
	free(n);
	if (ret < 0)
		return -1;
	if (mb.dir[0] == '\0' || maildir_mbox_exists(&mb)) {
		*error_r = "Mailbox already exists";
		maildir_mbox_free(&mb);
		return -1;
	}
	if (mkdir(mb.path, CREATE_MODE) < 0 && errno != EEXIST) {
		i_error("mkdir(%s) failed: %s", mb.path, strerror(errno));
		ret = -1;
	}
	/* a stale index row of an earlier mailbox with this name */
	if (ret == 0 && index_mailbox_get(user, mb.dir, false, &row) > 0) {
		(void)index_mailbox_delete(user, row.id);
		index_mailbox_row_free(&row);
	}
	if (ret == 0)
		ret = maildir_mbox_create_dirs(user, &mb);
	if (ret == 0)
		ret = create_uidlist(user, &mb);
	if (ret < 0)
		*error_r = "Internal error creating the mailbox";
	maildir_mbox_free(&mb);
	return ret;
}

static int rm_rf(const char *path, unsigned int depth)
{
	struct dirent *d;
	DIR *dir;
	int ret = 0;

	if (unlink(path) == 0 || errno == ENOENT)
		return 0;
	if (errno != EISDIR && errno != EPERM)
		return -1;
	if (depth > RMDIR_MAX_DEPTH || (dir = opendir(path)) == NULL)
		return -1;
	while ((d = readdir(dir)) != NULL) {
		if (strcmp(d->d_name, ".") == 0 || strcmp(d->d_name, "..") == 0)
			continue;
		char *p = i_strdup_printf("%s/%s", path, d->d_name);
		if (rm_rf(p, depth + 1) < 0)
			ret = -1;
		free(p);
	}
	closedir(dir);
	if (rmdir(path) < 0 && errno != ENOENT)
		ret = -1;
	return ret;
}

static int trash_dir(const char *root, const char *path)
{
	static unsigned int counter;
	char *trash = i_strdup_printf("%s/..loft-deleted.%ld.%lld.%u", root,
				      (long)getpid(), (long long)time(NULL),
				      counter++);
	int ret = 0;

	/* rename first so that the mailbox vanishes atomically */
	if (rename(path, trash) < 0) {
		if (errno != ENOENT) {
			i_error("rename(%s, %s) failed: %s", path, trash,
				strerror(errno));
			ret = -1;
		}
	} else if (rm_rf(trash, 0) < 0) {
		i_error("removing %s failed: %s", trash, strerror(errno));
	}
	free(trash);
	return ret;
}

int mail_user_mailbox_delete(struct mail_user *user, const char *name,
			     const char **error_r)
{
	struct maildir_mbox mb;
	struct index_mailbox_row row;
	int ret = 0;

	if (maildir_mbox_resolve(user, name, &mb, error_r) < 0)
		return -1;
	if (mb.dir[0] == '\0') {
		*error_r = "INBOX can't be deleted.";
		maildir_mbox_free(&mb);
		return -1;
	}
	if (!maildir_mbox_exists(&mb)) {
		*error_r = mail_user_set_error(user, "Mailbox doesn't exist: %s",
					       name);
		maildir_mbox_free(&mb);
		return -1;
	}
	if (trash_dir(user->loc.root, mb.path) < 0) {
		*error_r = "Internal error deleting the mailbox";
		ret = -1;
	}
	if (ret == 0 && strcmp(mb.control, mb.path) != 0)
		(void)trash_dir(user->loc.control_dir, mb.control);
	if (ret == 0 && index_mailbox_get(user, mb.dir, false, &row) > 0) {
		(void)index_mailbox_delete(user, row.id);
		index_mailbox_row_free(&row);
	}
	maildir_mbox_free(&mb);
	return ret;
}

/* Dir names of olddir's children (".Old.x", ...). */
static char **list_children(const char *root, const char *olddir)
{
	size_t len = strlen(olddir);
	unsigned int count = 0;
	char **names = i_new(char *, 1);
	struct dirent *d;
	DIR *dir = opendir(root);

	if (dir == NULL)
		return names;
	while ((d = readdir(dir)) != NULL) {
		if (strncmp(d->d_name, olddir, len) != 0 || d->d_name[len] != '.')
			continue;
		names = i_realloc(names, (count + 2) * sizeof(*names));
		names[count++] = i_strdup(d->d_name);
		names[count] = NULL;
	}
	closedir(dir);
	return names;
}

static int rename_tree(const char *root, const char *olddir,
		       const char *newdir, char **children)
{
	unsigned int i;
	char *from, *to;
	int ret = 0;

	from = i_strdup_printf("%s/%s", root, olddir);
	to = i_strdup_printf("%s/%s", root, newdir);
	if (rename(from, to) < 0 && errno != ENOENT) {
		i_error("rename(%s, %s) failed: %s", from, to, strerror(errno));
		ret = -1;
	}
	free(from);
	free(to);
	for (i = 0; ret == 0 && children[i] != NULL; i++) {
		from = i_strdup_printf("%s/%s", root, children[i]);
		to = i_strdup_printf("%s/%s%s", root, newdir,
				     children[i] + strlen(olddir));
		if (rename(from, to) < 0 && errno != ENOENT) {
			i_error("rename(%s, %s) failed: %s", from, to,
				strerror(errno));
			ret = -1;
		}
		free(from);
		free(to);
	}
	return ret;
}

static char *subs_path(struct mail_user *user)
{
	return i_strdup_printf("%s/subscriptions", user->loc.control_dir != NULL ?
			       user->loc.control_dir : user->loc.root);
}

static int rename_inbox(struct mail_user *user, struct maildir_mbox *inbox,
			const char *newname, const char **error_r)
{
	static const char *const subdirs[] = { "new", "cur" };
	struct maildir_mbox dest;
	struct dirent *d;
	unsigned int i;
	int64_t id;
	int ret;

	/* RFC 3501 6.3.5: move INBOX's messages, INBOX stays (empty) */
	if (mail_user_mailbox_create(user, newname, error_r) < 0)
		return -1;
	if (maildir_mbox_resolve(user, newname, &dest, error_r) < 0)
		return -1;
	if ((ret = maildir_uidlist_lock(inbox->control, error_r)) == 0) {
		/* keyword letters in the file names need the same table */
		struct maildir_keywords kw;
		char *kp = i_strdup_printf("%s/dovecot-keywords", inbox->control);
		bool any = false;
		memset(&kw, 0, sizeof(kw));
		(void)maildir_keywords_read(kp, &kw);
		free(kp);
		for (i = 0; i < MAILDIR_MAX_KEYWORDS; i++)
			any |= kw.names[i] != NULL;
		if (any) {
			kp = i_strdup_printf("%s/dovecot-keywords", dest.control);
			(void)maildir_keywords_write(kp, &kw, user->fsync);
			free(kp);
		}
		maildir_keywords_clear(&kw);
		for (i = 0; i < N_ELEMENTS(subdirs); i++) {
			char *dp = maildir_mbox_file(inbox, subdirs[i]);
			DIR *dir = opendir(dp);
			while (dir != NULL && (d = readdir(dir)) != NULL) {
				if (d->d_name[0] == '.')
					continue;
				char *from = i_strdup_printf("%s/%s", dp, d->d_name);
				char *to = i_strdup_printf("%s/%s/%s", dest.path,
							   subdirs[i], d->d_name);
				if (rename(from, to) < 0)
					i_error("rename(%s, %s) failed: %s", from,
						to, strerror(errno));
				free(from);
				free(to);
			}
			if (dir != NULL)
				closedir(dir);
			free(dp);
		}
		maildir_uidlist_unlock(inbox->control);
	}
	if (ret == 0) {
		(void)maildir_sync(user, inbox, false, true, &id, error_r);
		(void)maildir_sync(user, &dest, false, true, &id, error_r);
		index_db_lazy_end(user);
	}
	maildir_mbox_free(&dest);
	return ret;
}

static int rename_checked(struct mail_user *user, struct maildir_mbox *old,
			  struct maildir_mbox *new, const char **error_r)
{
	struct index_mailbox_row row;
	char **children = list_children(user->loc.root, old->dir);
	char *sp;
	unsigned int i;
	int ret = 0;

	for (i = 0; children[i] != NULL; i++) {
		char *target = i_strdup_printf("%s/%s%s", user->loc.root, new->dir,
					       children[i] + strlen(old->dir));
		struct stat st;
		if (stat(target, &st) == 0)
			ret = -1;
		free(target);
	}
	if (ret < 0) {
		*error_r = "Target mailbox already exists";
		str_split_free(&children);
		return -1;
	}
	if (index_mailbox_get(user, new->dir, false, &row) > 0) {
		(void)index_mailbox_delete(user, row.id);
		index_mailbox_row_free(&row);
	}
	ret = rename_tree(user->loc.root, old->dir, new->dir, children);
	if (ret == 0 && user->loc.control_dir != NULL) {
		char **cc = list_children(user->loc.control_dir, old->dir);
		(void)rename_tree(user->loc.control_dir, old->dir, new->dir, cc);
		str_split_free(&cc);
	}
	if (ret == 0) {
		(void)index_mailbox_rename(user, old->dir, new->dir);
		sp = subs_path(user);
		(void)subsfile_update(sp, old->dir + 1, true, new->dir + 1,
				      user->fsync);
		free(sp);
	} else {
		*error_r = "Internal error renaming the mailbox";
	}
	str_split_free(&children);
	return ret;
}

int mail_user_mailbox_rename(struct mail_user *user, const char *oldname,
			     const char *newname, const char **error_r)
{
	struct maildir_mbox old, new;
	char *n = strip_trailing_sep(user, newname);
	size_t len;
	int ret;

	if (maildir_mbox_resolve(user, oldname, &old, error_r) < 0) {
		free(n);
		return -1;
	}
	if (maildir_mbox_resolve(user, n, &new, error_r) < 0) {
		maildir_mbox_free(&old);
		free(n);
		return -1;
	}
	len = strlen(old.dir);
	if (!maildir_mbox_exists(&old)) {
		*error_r = mail_user_set_error(user, "Mailbox doesn't exist: %s",
					       oldname);
		ret = -1;
	} else if (new.dir[0] == '\0' || maildir_mbox_exists(&new)) {
		*error_r = "Mailbox already exists";
		ret = -1;
	} else if (old.dir[0] == '\0') {
		ret = rename_inbox(user, &old, n, error_r);
	} else if (strncmp(new.dir, old.dir, len) == 0 && new.dir[len] == '.') {
		*error_r = "Can't rename mailbox under itself.";
		ret = -1;
	} else {
		ret = rename_checked(user, &old, &new, error_r);
	}
	maildir_mbox_free(&old);
	maildir_mbox_free(&new);
	free(n);
	return ret;
}

int mail_user_mailbox_status(struct mail_user *user, const char *name,
			     struct mailbox_status *status_r,
			     const char **error_r)
{
	struct index_mailbox_row row;
	struct maildir_mbox mb;
	int64_t id;
	int ret;

	memset(status_r, 0, sizeof(*status_r));
	if (maildir_mbox_resolve(user, name, &mb, error_r) < 0)
		return -1;
	ret = maildir_sync(user, &mb, false, false, &id, error_r);
	if (ret == 0 && index_db_begin(user, false) == 0) {
		if (index_mailbox_get(user, mb.dir, false, &row) > 0) {
			status_r->uidvalidity = row.uidvalidity;
			status_r->uidnext = row.uidnext;
			status_r->highestmodseq = row.highestmodseq;
			ret = index_msg_stats(user, row.id, row.first_recent_uid,
					      status_r);
			index_mailbox_row_free(&row);
		} else {
			ret = -1;
		}
		if (index_db_commit(user) < 0)
			ret = -1;
		if (ret < 0)
			*error_r = "Internal error: mail index failed";
	} else if (ret == 0) {
		*error_r = "Internal error: mail index failed";
		ret = -1;
	}
	index_db_lazy_end(user);
	maildir_mbox_free(&mb);
	return ret;
}
