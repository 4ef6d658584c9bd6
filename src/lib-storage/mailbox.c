/* A session's view of a selected mailbox: records by sequence number,
   message bodies, STORE, COPY and EXPUNGE. Opening and syncing the view
   is in mailbox-sync.c. */
#include "storage-private.h"
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <unistd.h>

static char **split_keywords(const char *s)
{
	if (s == NULL || s[0] == '\0')
		return i_new(char *, 1);
	return str_split(s, " ");
}

void mailbox_view_set_rec(struct view_rec *vr, const struct index_msg_row *row,
			  bool recent)
{
	uint64_t vsize = row->vsize;

	/* a vsize this session computed that the row read doesn't have
	   (not written yet, or written after the read) is kept */
	if (vsize == INDEX_VSIZE_UNKNOWN && vr->guid != NULL &&
	    vr->rec.uid == row->uid && strcmp(vr->guid, row->guid) == 0)
		vsize = vr->vsize;
	mailbox_view_rec_free(vr);
	vr->filename = i_strdup(row->filename);
	vr->kw = split_keywords(row->keywords);
	vr->guid = i_strdup(row->guid);
	vr->rec.uid = row->uid;
	vr->rec.flags = (row->flags & MAIL_FLAGS_STORED_MASK) |
		(recent ? MAIL_RECENT : 0);
	vr->rec.keywords = (const char *const *)vr->kw;
	vr->rec.internal_date = (time_t)row->internaldate;
	vr->rec.size = row->size;
	vr->vsize = vsize;
	vr->rec.modseq = row->modseq;
	vr->rec.guid = vr->guid;
}

void mailbox_view_rec_free(struct view_rec *vr)
{
	i_free(vr->filename);
	i_free(vr->guid);
	if (vr->kw != NULL)
		str_split_free(&vr->kw);
	vr->rec.keywords = NULL;
}

void mailbox_view_remove(struct mailbox *box, unsigned int idx)
{
	box->status_valid = false;
	mailbox_view_rec_free(&box->recs[idx]);
	memmove(&box->recs[idx], &box->recs[idx + 1],
		(box->count - idx - 1) * sizeof(*box->recs));
	box->count--;
}

void mailbox_view_append(struct mailbox *box, const struct index_msg_row *row,
			 bool recent)
{
	box->status_valid = false;
	if (box->count == box->alloc) {
		box->alloc = box->alloc == 0 ? 64 : box->alloc * 2;
		box->recs = i_realloc(box->recs, box->alloc * sizeof(*box->recs));
	}
	memset(&box->recs[box->count], 0, sizeof(*box->recs));
	mailbox_view_set_rec(&box->recs[box->count++], row, recent);
}

void mailbox_refresh_keywords(struct mailbox *box)
{
	char *path = i_strdup_printf("%s/dovecot-keywords", box->mb.control);
	struct maildir_keywords kw;
	unsigned int i, n = 0;

	memset(&kw, 0, sizeof(kw));
	(void)maildir_keywords_read(path, &kw);
	free(path);
	if (box->keywords != NULL)
		str_split_free(&box->keywords);
	box->keywords = i_new(char *, MAILDIR_MAX_KEYWORDS + 1);
	for (i = 0; i < MAILDIR_MAX_KEYWORDS; i++) {
		if (kw.names[i] != NULL)
			box->keywords[n++] = i_strdup(kw.names[i]);
	}
	maildir_keywords_clear(&kw);
}

void mailbox_close(struct mailbox **_box)
{
	struct mailbox *box = *_box;
	unsigned int i;

	if (box == NULL)
		return;
	*_box = NULL;
	mailbox_cache_flush(box);
	mailbox_cache_runs_reset(box);
	mailbox_vsize_flush(box);
	index_db_lazy_end(box->user);
	free(box->cache_pending);
	free(box->vsize_pending);
	for (i = 0; i < box->count; i++)
		mailbox_view_rec_free(&box->recs[i]);
	free(box->recs);
	if (box->keywords != NULL)
		str_split_free(&box->keywords);
	if (box->notify_fd >= 0)
		(void)close(box->notify_fd);
	maildir_mbox_free(&box->mb);
	free(box->quick_sig);
	free(box);
}

const char *mailbox_name(const struct mailbox *box)
{
	return box->mb.name;
}

bool mailbox_is_readonly(const struct mailbox *box)
{
	return box->readonly;
}

uint32_t mailbox_uidvalidity(const struct mailbox *box)
{
	return box->uidvalidity;
}

void mailbox_get_status(struct mailbox *box, struct mailbox_status *st)
{
	unsigned int i;

	if (box->status_valid) {
		*st = box->status;
		return;
	}
	memset(st, 0, sizeof(*st));
	st->messages = box->count;
	st->uidvalidity = box->uidvalidity;
	st->uidnext = box->uidnext;
	if (box->count > 0 && st->uidnext <= box->recs[box->count - 1].rec.uid)
		st->uidnext = box->recs[box->count - 1].rec.uid + 1;
	st->highestmodseq = box->modseq;
	for (i = 0; i < box->count; i++) {
		const struct mail_record *r = &box->recs[i].rec;
		if ((r->flags & MAIL_RECENT) != 0)
			st->recent++;
		if ((r->flags & MAIL_SEEN) == 0)
			st->unseen++;
	}
	/* counted again only after the view changed */
	box->status = *st;
	box->status_valid = true;
}

const char *const *mailbox_keywords(struct mailbox *box)
{
	if (box->keywords == NULL)
		mailbox_refresh_keywords(box);
	return (const char *const *)box->keywords;
}

bool mailbox_keywords_can_add(struct mailbox *box)
{
	const char *const *kw = mailbox_keywords(box);

	return str_array_length((char *const *)kw) < MAILDIR_MAX_KEYWORDS;
}

uint32_t mailbox_first_unseen_seq(struct mailbox *box)
{
	unsigned int i;

	for (i = 0; i < box->count; i++) {
		if ((box->recs[i].rec.flags & MAIL_SEEN) == 0)
			return i + 1;
	}
	return 0;
}

uint32_t mailbox_count(struct mailbox *box)
{
	return box->count;
}

const struct mail_record *mailbox_get(struct mailbox *box, uint32_t seq)
{
	if (seq == 0 || seq > box->count)
		return NULL;
	return &box->recs[seq - 1].rec;
}

uint32_t mailbox_uid_to_seq(struct mailbox *box, uint32_t uid)
{
	unsigned int lo = 0, hi = box->count;

	while (lo < hi) {
		unsigned int mid = (lo + hi) / 2;
		if (box->recs[mid].rec.uid == uid)
			return mid + 1;
		if (box->recs[mid].rec.uid < uid)
			lo = mid + 1;
		else
			hi = mid;
	}
	return 0;
}

int mailbox_refresh_filename(struct mailbox *box, struct view_rec *vr)
{
	struct index_msg_row row;
	const char *error;
	int64_t id;
	int ret;

	if (maildir_sync(box->user, &box->mb, !box->readonly, true, &id,
			 &error) < 0)
		return -1;
	ret = index_msg_get(box->user, box->id, vr->rec.uid, &row);
	if (ret > 0) {
		free(vr->filename);
		vr->filename = row.filename;
		row.filename = NULL;
		index_msg_row_free(&row);
	}
	return ret;
}

/* LF -> CRLF (a LF that has a CR before it stays). vsize is what the
   result's size should be (from the file name or the index): with it
   the data is converted in one pass; if it is too small, counted. */
static unsigned char *to_crlf(const unsigned char *data, size_t size,
			      uint64_t vsize, size_t *size_r)
{
	const unsigned char *p, *end = data + size, *nl;
	uint64_t out_size = vsize >= size && vsize - size <= size ? vsize :
		maildir_crlf_size(data, size);
	unsigned char *out;
	size_t j;

	for (;;) {
		bool fits = true;
		out = i_malloc(out_size + 1);
		j = 0;
		p = data;
		while ((nl = memchr(p, '\n', (size_t)(end - p))) != NULL) {
			size_t len = (size_t)(nl - p);
			bool add_cr = nl == data || nl[-1] != '\r';
			if (j + len + 1 + (add_cr ? 1 : 0) > out_size) {
				fits = false;
				break;
			}
			memcpy(out + j, p, len);
			j += len;
			if (add_cr)
				out[j++] = '\r';
			out[j++] = '\n';
			p = nl + 1;
		}
		if (fits && j + (size_t)(end - p) <= out_size)
			break;
		/* the hint was wrong: the exact size always fits */
		free(out);
		out_size = maildir_crlf_size(data, size);
	}
	memcpy(out + j, p, (size_t)(end - p));
	j += (size_t)(end - p);
	out[j] = '\0';
	*size_r = j;
	return out;
}

int mailbox_view_rec_read(struct mailbox *box, struct view_rec *vr,
			  char **data_r, size_t *size_r, const char **error_r)
{
	char *path;
	int try, ret = -1, err = 0;

	*data_r = NULL;
	*size_r = 0;
	for (try = 0; try < 2; try++) {
		path = i_strdup_printf("%s/%s", box->mb.path, vr->filename);
		ret = read_file(path, MESSAGE_MAX_SIZE, data_r, size_r);
		err = errno;
		if (ret < 0 && err != ENOENT)
			i_error("read(%s) failed: %s", path, strerror(err));
		free(path);
		if (ret == 0 || err != ENOENT || try == 1)
			break;
		if (mailbox_refresh_filename(box, vr) <= 0)
			break;
	}
	if (ret < 0) {
		*error_r = err == ENOENT ? "Message was expunged" :
			"Internal error reading the message";
		return -1;
	}
	return 0;
}

int mailbox_msg_read(struct mailbox *box, uint32_t seq,
		     unsigned char **data_r, size_t *size_r,
		     const char **error_r)
{
	struct view_rec *vr;
	char *data;
	size_t size;

	*data_r = NULL;
	*size_r = 0;
	if (seq == 0 || seq > box->count) {
		*error_r = "Invalid message sequence";
		return -1;
	}
	vr = &box->recs[seq - 1];
	if (mailbox_view_rec_read(box, vr, &data, &size, error_r) < 0)
		return -1;
	*data_r = to_crlf((const unsigned char *)data, size,
			  vr->vsize == INDEX_VSIZE_UNKNOWN ? 0 : vr->vsize,
			  size_r);
	free(data);
	/* the served size is the vsize: known now without another read */
	if (vr->vsize == INDEX_VSIZE_UNKNOWN)
		mailbox_vsize_learned(box, vr, *size_r);
	return 0;
}

static int link_or_copy(struct mailbox *box, struct view_rec *vr,
			const struct maildir_mbox *dest,
			struct maildir_save_item *item)
{
	char *src, *gen, *data;
	const char *error;
	uint64_t vsize;
	size_t size;
	int ret = 0, fd;

	/* the new name's W= is the real vsize (read now if not known) */
	if (mailbox_view_rec_vsize(box, vr, &vsize, &error) < 0)
		return -1;
	src = i_strdup_printf("%s/%s", box->mb.path, vr->filename);
	gen = maildir_filename_generate();
	item->base = i_strdup_printf("%s,S=%llu,W=%llu", gen,
				     (unsigned long long)vr->rec.size,
				     (unsigned long long)vsize);
	free(gen);
	item->tmp_path = i_strdup_printf("%s/tmp/%s", dest->path, item->base);
	if (link(src, item->tmp_path) < 0 && errno == ENOENT &&
	    mailbox_refresh_filename(box, vr) > 0) {
		/* renamed by another session meanwhile */
		free(src);
		src = i_strdup_printf("%s/%s", box->mb.path, vr->filename);
	}
	if (access(item->tmp_path, F_OK) < 0 && link(src, item->tmp_path) < 0) {
		/* other filesystem or no hard links: copy */
		if (read_file(src, MESSAGE_MAX_SIZE, &data, &size) < 0) {
			free(src);
			return -1;
		}
		fd = open(item->tmp_path, O_WRONLY | O_CREAT | O_EXCL, 0600);
		if (fd < 0 || write_full(fd, data, size) < 0 ||
		    (box->user->fsync != FSYNC_MODE_NEVER && fsync(fd) < 0))
			ret = -1;
		if (fd >= 0)
			(void)close(fd);
		free(data);
		if (ret == 0) {
			struct timespec ts[2] = {
				{ vr->rec.internal_date, 0 },
				{ vr->rec.internal_date, 0 } };
			(void)utimensat(AT_FDCWD, item->tmp_path, ts, 0);
		}
	}
	free(src);
	item->flags = vr->rec.flags & MAIL_FLAGS_STORED_MASK;
	item->keywords = vr->rec.keywords;
	item->internal_date = vr->rec.internal_date;
	item->size = vr->rec.size;
	item->vsize = vsize;
	return ret;
}

int mailbox_copy(struct mailbox *box, const uint32_t *seqs,
		 unsigned int count, const char *dest_mailbox,
		 uint32_t *dest_uidvalidity_r, uint32_t **dest_uids_r,
		 const char **error_r)
{
	struct maildir_save_item *items;
	struct maildir_mbox dest;
	unsigned int i, n = 0;
	int ret = 0;

	*dest_uids_r = NULL;
	if (maildir_mbox_resolve(box->user, dest_mailbox, &dest, error_r) < 0)
		return -1;
	if (!maildir_mbox_exists(&dest)) {
		*error_r = mail_user_set_error(box->user,
			"Mailbox doesn't exist: %s", dest_mailbox);
		maildir_mbox_free(&dest);
		return -1;
	}
	items = i_new(struct maildir_save_item, count + 1);
	for (i = 0; i < count && ret == 0; i++) {
		if (seqs[i] == 0 || seqs[i] > box->count) {
			*error_r = "Invalid message sequence";
			ret = -1;
		} else if (link_or_copy(box, &box->recs[seqs[i] - 1], &dest,
					&items[n++]) < 0) {
			*error_r = "Some of the requested messages no longer exist";
			ret = -1;
		}
	}
	if (ret == 0 && n > 0)
		ret = maildir_save_commit(box->user, &dest, items, n,
					  dest_uidvalidity_r, error_r);
	if (ret == 0) {
		*dest_uids_r = i_new(uint32_t, count + 1);
		for (i = 0; i < n; i++)
			(*dest_uids_r)[i] = items[i].uid;
	}
	for (i = 0; i < n; i++) {
		if (ret < 0 && items[i].tmp_path != NULL)
			(void)unlink(items[i].tmp_path);
		free(items[i].tmp_path);
		free(items[i].base);
	}
	free(items);
	maildir_mbox_free(&dest);
	return ret;
}

/* Returns 1 if unlinked, 0 if already gone, -1 on error. */
static int expunge_unlink(struct mailbox *box, struct view_rec *vr)
{
	int try;

	for (try = 0; try < 2; try++) {
		char *path = i_strdup_printf("%s/%s", box->mb.path, vr->filename);
		int r = unlink(path);
		int err = errno;
		free(path);
		if (r == 0)
			return 1;
		if (err != ENOENT) {
			i_error("unlink(%s) failed: %s", vr->filename,
				strerror(err));
			return -1;
		}
		if (try == 1 || mailbox_refresh_filename(box, vr) <= 0)
			return 0;
	}
	return 0;
}

static int expunge_where(struct mailbox *box, const uint32_t *uids,
			 unsigned int uids_count, const uint32_t *seqs,
			 unsigned int seqs_count, const char **error_r)
{
	bool *want = i_new(bool, box->count + 1);
	uint32_t *gone = i_new(uint32_t, box->count + 1);
	unsigned int i, k, ngone = 0;
	uint64_t modseq;
	int ret = 0;

	if (box->readonly) {
		*error_r = "Mailbox is read-only";
		free(want);
		free(gone);
		return -1;
	}
	if (seqs != NULL) {
		for (k = 0; k < seqs_count; k++) {
			if (seqs[k] >= 1 && seqs[k] <= box->count)
				want[seqs[k] - 1] = true;
		}
	} else {
		for (i = 0; i < box->count; i++)
			want[i] = (box->recs[i].rec.flags & MAIL_DELETED) != 0;
		if (uids != NULL) {
			for (i = 0; i < box->count; i++) {
				bool in = false;
				for (k = 0; k < uids_count && !in && want[i]; k++)
					in = uids[k] == box->recs[i].rec.uid;
				want[i] = want[i] && in;
			}
		}
	}
	/* files first (no index lock held while renames are chased) */
	unsigned int parts = 0;
	for (i = 0; i < box->count; i++) {
		if (want[i])
			parts |= strncmp(box->recs[i].filename, "new/", 4) == 0 ?
				MAILDIR_SIG_NEW : MAILDIR_SIG_CUR;
	}
	char *before = parts == 0 ? NULL :
		maildir_sync_stamps(&box->mb, parts);
	for (i = 0; i < box->count && ret == 0; i++) {
		if (!want[i])
			continue;
		int r = expunge_unlink(box, &box->recs[i]);
		if (r < 0)
			ret = -1;
		else
			gone[ngone++] = box->recs[i].rec.uid;
	}
	if (ngone > 0 && box->user->fsync == FSYNC_MODE_ALWAYS) {
		char *d = maildir_mbox_file(&box->mb, "cur");
		(void)maildir_fsync_dir(d);
		free(d);
	}
	if (ngone > 0 && index_db_begin(box->user, true) == 0) {
		modseq = index_mailbox_next_modseq(box->user, box->id);
		for (k = 0; k < ngone; k++)
			(void)index_msg_delete(box->user, box->id, gone[k], modseq);
		(void)maildir_sync_own_change_update(box->user, &box->mb,
						     before);
		if (index_db_commit(box->user) < 0)
			i_error("%s: expunges not indexed yet", box->mb.path);
	}
	free(before);
	free(want);
	free(gone);
	if (ret < 0)
		*error_r = "Internal error expunging messages";
	return ret;
}

int mailbox_expunge(struct mailbox *box, const uint32_t *uids,
		    unsigned int uids_count, const char **error_r)
{
	return expunge_where(box, uids, uids_count, NULL, 0, error_r);
}

int mailbox_expunge_seqs(struct mailbox *box, const uint32_t *seqs,
			 unsigned int count, const char **error_r)
{
	return expunge_where(box, NULL, 0, seqs, count, error_r);
}
