/* Delivery and APPEND: write tmp/, fsync, rename into new/ or cur/,
   then under the dovecot-uidlist lock give the UID, append it to
   dovecot-uidlist and record the message in the index. A crash after
   the rename leaves a file without a UID: the next sync gives it one. */
#include "storage-private.h"
#include "maildir-save-lock.h"
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/time.h>
#include <unistd.h>

uint64_t maildir_crlf_size(const unsigned char *data, size_t size)
{
	const unsigned char *p = data, *end = data + size, *nl;
	uint64_t vsize = size;

	while ((nl = memchr(p, '\n', (size_t)(end - p))) != NULL) {
		if (nl == data || nl[-1] != '\r')
			vsize++;
		p = nl + 1;
	}
	return vsize;
}

int maildir_fsync_dir(const char *dir)
{
	int fd = open(dir, O_RDONLY | O_DIRECTORY);
	int ret = 0;

	if (fd < 0) {
		i_error("open(%s) failed: %s", dir, strerror(errno));
		return -1;
	}
	if (fsync(fd) < 0 && errno != EINVAL) {
		i_error("fsync(%s) failed: %s", dir, strerror(errno));
		ret = -1;
	}
	(void)close(fd);
	return ret;
}

/* CRLF -> LF, like Dovecot stores mail. A CRLF right after a bare CR
   stays as is: reading adds a CR only before a LF that has none, so
   "\r\r\n" then comes back byte for byte. */
static unsigned char *to_lf(const unsigned char *data, size_t size,
			    size_t *size_r)
{
	unsigned char *out = i_malloc(size + 1);
	size_t i, j = 0;

	for (i = 0; i < size; i++) {
		if (data[i] == '\r' && i + 1 < size && data[i + 1] == '\n' &&
		    (j == 0 || out[j - 1] != '\r'))
			continue;
		out[j++] = data[i];
	}
	*size_r = j;
	return out;
}

static int write_tmp(struct mail_user *user, const struct maildir_mbox *mb,
		     const void *data, size_t size, time_t internal_date,
		     struct maildir_save_item *item, const char **error_r)
{
	unsigned char *lf;
	size_t lf_size;
	char *base;
	int fd, ret = 0;

	lf = to_lf(data, size, &lf_size);
	item->size = lf_size;
	item->vsize = maildir_crlf_size(lf, lf_size);
	base = maildir_filename_generate();
	item->base = i_strdup_printf("%s,S=%llu,W=%llu", base,
				     (unsigned long long)item->size,
				     (unsigned long long)item->vsize);
	free(base);
	item->tmp_path = i_strdup_printf("%s/tmp/%s", mb->path, item->base);
	fd = open(item->tmp_path, O_WRONLY | O_CREAT | O_EXCL, 0600);
	if (fd < 0) {
		i_error("open(%s) failed: %s", item->tmp_path, strerror(errno));
		ret = -1;
	} else {
		if (write_full(fd, lf, lf_size) < 0) {
			i_error("write(%s) failed: %s", item->tmp_path,
				strerror(errno));
			ret = -1;
		} else if (user->fsync != FSYNC_MODE_NEVER && fsync(fd) < 0) {
			i_error("fsync(%s) failed: %s", item->tmp_path,
				strerror(errno));
			ret = -1;
		}
		if (close(fd) < 0)
			ret = -1;
		if (ret < 0)
			(void)unlink(item->tmp_path);
	}
	free(lf);
	if (ret == 0 && internal_date > 0) {
		/* INTERNALDATE is the file's mtime, as in Dovecot */
		struct timeval tv[2] = { { internal_date, 0 }, { internal_date, 0 } };
		if (utimes(item->tmp_path, tv) < 0)
			i_error("utimes(%s) failed: %s", item->tmp_path,
				strerror(errno));
	}
	item->internal_date = internal_date > 0 ? internal_date : time(NULL);
	if (ret < 0) {
		*error_r = errno == ENOSPC || errno == EDQUOT ?
			"Not enough disk space" :
			"Internal error saving the message";
	}
	return ret;
}

static int map_keywords(struct mail_user *user,
			const struct maildir_mbox *mb,
			struct maildir_save_item *items, unsigned int count,
			struct maildir_keywords *kw, uint32_t *bits,
			const char **error_r)
{
	char *path = i_strdup_printf("%s/dovecot-keywords", mb->control);
	unsigned int i, k;
	int idx, ret = 0;

	(void)maildir_keywords_read(path, kw);
	for (i = 0; i < count && ret == 0; i++) {
		bits[i] = 0;
		for (k = 0; items[i].keywords != NULL &&
			    items[i].keywords[k] != NULL; k++) {
			idx = maildir_keywords_lookup(kw, items[i].keywords[k], true);
			if (idx < 0) {
				*error_r = "Too many keywords in the mailbox";
				ret = -1;
				break;
			}
			bits[i] |= 1u << idx;
		}
	}
	if (ret == 0 && kw->changed &&
	    maildir_keywords_write(path, kw, user->fsync) < 0) {
		*error_r = "Internal error writing dovecot-keywords";
		ret = -1;
	}
	free(path);
	return ret;
}

/* Flushes left for after the dovecot-uidlist lock is released: the
   new/ and cur/ directories that got renames and the dovecot-uidlist
   that got our lines. The caller replies only after they are done, so
   the rule "acknowledged = on disk" holds, but other deliveries to the
   mailbox don't wait for our flushes while we hold the lock. */
struct maildir_save_flush {
	int dir_fds[2];   /* new/, cur/; -1 = none */
	int uidlist_fd;   /* -1 = none */
};

static void save_flush_init(struct maildir_save_flush *fl)
{
	fl->dir_fds[0] = fl->dir_fds[1] = -1;
	fl->uidlist_fd = -1;
}

/* Do the flushes (if ok) and close. Returns -1 if a flush of
   dovecot-uidlist failed (the UID may not be on disk). */
static int save_flush_finish(struct maildir_save_flush *fl, bool ok,
			     const char *ul_path)
{
	int ret = 0;

	for (unsigned int i = 0; i < N_ELEMENTS(fl->dir_fds); i++) {
		if (fl->dir_fds[i] < 0)
			continue;
		if (ok && fsync(fl->dir_fds[i]) < 0 && errno != EINVAL)
			i_error("fsync(%s/%s) failed: %s", ul_path,
				i == 0 ? "../new" : "../cur", strerror(errno));
		(void)close(fl->dir_fds[i]);
		fl->dir_fds[i] = -1;
	}
	if (fl->uidlist_fd >= 0) {
		if (ok && fdatasync(fl->uidlist_fd) < 0) {
			i_error("fdatasync(%s) failed: %s", ul_path,
				strerror(errno));
			ret = -1;
		}
		(void)close(fl->uidlist_fd);
		fl->uidlist_fd = -1;
	}
	return ret;
}

static int move_into_place(struct mail_user *user,
			   const struct maildir_mbox *mb,
			   struct maildir_save_item *items, unsigned int count,
			   const uint32_t *bits, char **fnames,
			   struct maildir_save_flush *flush,
			   const char **error_r)
{
	bool used_new = false, used_cur = false;
	unsigned int i;

	for (i = 0; i < count; i++) {
		enum mail_flags fl = items[i].flags & MAIL_FLAGS_STORED_MASK;
		if (fl == 0 && bits[i] == 0) {
			fnames[i] = i_strdup_printf("new/%s", items[i].base);
			used_new = true;
		} else {
			char *f = maildir_filename_set_flags(items[i].base, NULL,
							     fl, bits[i]);
			fnames[i] = i_strdup_printf("cur/%s", f);
			free(f);
			used_cur = true;
		}
		char *dest = i_strdup_printf("%s/%s", mb->path, fnames[i]);
		int r = rename(items[i].tmp_path, dest);
		if (r < 0)
			i_error("rename(%s, %s) failed: %s", items[i].tmp_path,
				dest, strerror(errno));
		free(dest);
		if (r < 0) {
			*error_r = "Internal error saving the message";
			return -1;
		}
	}
	if (user->fsync != FSYNC_MODE_NEVER) {
		char *d;
		/* opened now, flushed after the unlock */
		if (used_new) {
			d = maildir_mbox_file(mb, "new");
			flush->dir_fds[0] = open(d, O_RDONLY | O_DIRECTORY);
			if (flush->dir_fds[0] < 0)
				(void)maildir_fsync_dir(d);
			free(d);
		}
		if (used_cur) {
			d = maildir_mbox_file(mb, "cur");
			flush->dir_fds[1] = open(d, O_RDONLY | O_DIRECTORY);
			if (flush->dir_fds[1] < 0)
				(void)maildir_fsync_dir(d);
			free(d);
		}
	}
	return 0;
}

static void record_in_index(struct mail_user *user,
			    const struct maildir_mbox *mb,
			    const struct maildir_uidlist *ul,
			    struct maildir_save_item *items, unsigned int count,
			    const struct maildir_keywords *kw,
			    const uint32_t *bits, char **fnames,
			    const char *before)
{
	bool added_to_new = false;

	struct index_mailbox_row row;
	unsigned int i;
	int ret;

	if (index_db_begin(user, true) < 0)
		return;
	ret = index_mailbox_get(user, mb->dir, true, &row) < 0 ? -1 : 0;
	if (ret == 0 && row.uidvalidity != 0 &&
	    row.uidvalidity != ul->uidvalidity) {
		/* the next sync sorts this out */
		ret = -1;
	}
	if (ret == 0 && row.uidvalidity == 0) {
		row.uidvalidity = ul->uidvalidity;
		row.first_recent_uid = items[0].uid;
	}
	uint64_t modseq = ret == 0 ? index_mailbox_next_modseq(user, row.id) : 0;
	for (i = 0; i < count && ret == 0; i++) {
		struct index_msg_row m = {
			.uid = items[i].uid,
			.filename = fnames[i],
			.flags = items[i].flags & MAIL_FLAGS_STORED_MASK,
			.modseq = modseq,
			.internaldate = items[i].internal_date,
			.size = items[i].size,
			.vsize = items[i].vsize,
		};
		m.keywords = maildir_sync_keywords_str(kw, bits[i]);
		m.guid = i_strdup(items[i].base);
		added_to_new |= strncmp(fnames[i], "new/", 4) == 0;
		ret = index_msg_upsert(user, row.id, &m);
		free(m.keywords);
		free(m.guid);
	}
	if (ret == 0) {
		if (row.uidnext < ul->next_uid)
			row.uidnext = ul->next_uid;
		(void)maildir_sync_own_change(user, mb, &row, before,
					      added_to_new);
		ret = index_mailbox_update(user, &row);
	}
	if (ret == 0)
		ret = index_db_commit(user);
	else
		index_db_rollback(user);
	index_mailbox_row_free(&row);
	if (ret < 0)
		i_error("%s: message saved but not indexed yet", mb->path);
}

int maildir_save_commit(struct mail_user *user, const struct maildir_mbox *mb,
			struct maildir_save_item *items, unsigned int count,
			uint32_t *uidvalidity_r, const char **error_r)
{
	char *ul_path = i_strdup_printf("%s/dovecot-uidlist", mb->control);
	struct maildir_uidlist ul;
	struct maildir_keywords kw;
	uint32_t *bits = i_new(uint32_t, count + 1);
	char **fnames = i_new(char *, count + 1);
	char *before = NULL;
	unsigned int i, first, parts;
	bool fast, have_kw = false;
	struct maildir_save_flush flush;
	int64_t id;
	int ret;

	save_flush_init(&flush);
	memset(&ul, 0, sizeof(ul));
	memset(&kw, 0, sizeof(kw));
	if (access(ul_path, F_OK) < 0) {
		/* give the existing files their UIDs first */
		(void)maildir_sync(user, mb, false, true, &id, error_r);
	}
	if (maildir_save_lock(user, mb->control, error_r) < 0) {
		ret = -1;
		goto out;
	}
	/* appending needs only the header and the last line: saving stays
	   O(1) in the mailbox size */
	fast = maildir_uidlist_read_tail(ul_path, &ul) == 0;
	ret = fast ? 0 : maildir_uidlist_read(ul_path, &ul, error_r);
	for (i = 0; i < count && ret == 0 && !have_kw; i++)
		have_kw = items[i].keywords != NULL && items[i].keywords[0] != NULL;
	if (ret == 0 && have_kw)
		ret = map_keywords(user, mb, items, count, &kw, bits, error_r);
	/* stamps before our renames and uidlist write (see maildir-sync.c) */
	parts = MAILDIR_SIG_UIDLIST;
	for (i = 0; i < count; i++) {
		parts |= (items[i].flags & MAIL_FLAGS_STORED_MASK) == 0 &&
			bits[i] == 0 ? MAILDIR_SIG_NEW : MAILDIR_SIG_CUR;
	}
	before = ret == 0 ? maildir_sync_stamps(mb, parts) : NULL;
	if (ret == 0)
		ret = move_into_place(user, mb, items, count, bits, fnames,
				      &flush, error_r);
	if (ret == 0) {
		first = ul.count;
		for (i = 0; i < count; i++) {
			items[i].uid = ul.next_uid;
			maildir_uidlist_add(&ul, ul.next_uid, items[i].base, NULL);
		}
		if (ul.uidvalidity == 0 || (!fast && (!ul.exists ||
				!ul.clean_end || ul.version != 3 ||
				ul.guid[0] == '\0'))) {
			if (ul.uidvalidity == 0)
				ul.uidvalidity =
					maildir_uidvalidity_next(user->loc.root);
			ret = maildir_uidlist_write(ul_path, &ul, user->fsync);
		} else if (user->fsync != FSYNC_MODE_NEVER && ul.exists &&
			   ul.clean_end && ul.version == 3 &&
			   ul.guid[0] != '\0' &&
			   (flush.uidlist_fd = open(ul_path, O_RDONLY)) >= 0) {
			/* a plain append (these are the conditions under
			   which maildir_uidlist_append() doesn't rewrite):
			   its fdatasync() comes after the unlock */
			ret = maildir_uidlist_append(ul_path, &ul, first,
						     FSYNC_MODE_NEVER);
		} else {
			ret = maildir_uidlist_append(ul_path, &ul, first,
						     user->fsync);
		}
		if (ret < 0) {
			/* the files stay: the next sync gives them UIDs */
			*error_r = "Internal error writing dovecot-uidlist";
		}
	}
	if (ret == 0) {
		record_in_index(user, mb, &ul, items, count, &kw, bits, fnames,
				before);
		if (uidvalidity_r != NULL)
			*uidvalidity_r = ul.uidvalidity;
	}
	maildir_uidlist_unlock(mb->control);
	/* the acknowledgement waits for these */
	if (save_flush_finish(&flush, ret == 0, ul_path) < 0) {
		*error_r = "Internal error writing dovecot-uidlist";
		ret = -1;
	}
out:
	for (i = 0; i < count; i++) {
		free(fnames[i]);
		if (ret < 0)
			(void)unlink(items[i].tmp_path);
	}
	free(fnames);
	free(bits);
	free(before);
	maildir_uidlist_clear(&ul);
	maildir_keywords_clear(&kw);
	free(ul_path);
	return ret;
}

static void save_item_free(struct maildir_save_item *item)
{
	i_free(item->tmp_path);
	i_free(item->base);
}

int mail_user_save(struct mail_user *user, const char *mailbox,
		   const void *data, size_t size, enum mail_flags flags,
		   const char *const *keywords, time_t internal_date,
		   uint32_t *uidvalidity_r, uint32_t *uid_r,
		   const char **error_r)
{
	struct maildir_save_item item;
	struct maildir_mbox mb;
	unsigned int i;
	int ret;

	memset(&item, 0, sizeof(item));
	if (size > MESSAGE_MAX_SIZE) {
		*error_r = "Message too large";
		return -1;
	}
	for (i = 0; keywords != NULL && keywords[i] != NULL; i++) {
		if (!maildir_keyword_is_valid(keywords[i])) {
			*error_r = "Invalid keyword";
			return -1;
		}
	}
	if (maildir_mbox_resolve(user, mailbox, &mb, error_r) < 0)
		return -1;
	if (!maildir_mbox_exists(&mb)) {
		*error_r = mail_user_set_error(user, "Mailbox doesn't exist: %s",
					       mailbox);
		maildir_mbox_free(&mb);
		return -1;
	}
	ret = write_tmp(user, &mb, data, size, internal_date, &item, error_r);
	if (ret == 0) {
		item.flags = flags & MAIL_FLAGS_STORED_MASK;
		item.keywords = keywords;
		ret = maildir_save_commit(user, &mb, &item, 1, uidvalidity_r,
					  error_r);
	}
	if (ret == 0 && uid_r != NULL)
		*uid_r = item.uid;
	save_item_free(&item);
	maildir_mbox_free(&mb);
	return ret;
}
