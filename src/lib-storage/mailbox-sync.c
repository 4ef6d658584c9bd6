/* Opening a view and bringing it up to date: other sessions' and
   programs' changes arrive through the index (modseqs, expunge records),
   after maildir_sync() has folded in what changed on disk. */
#include "storage-private.h"
#include <errno.h>
#include <stdlib.h>
#include <sys/inotify.h>
#include <unistd.h>

int mailbox_claim_recent(struct mailbox *box, uint32_t *first_recent_r)
{
	struct index_mailbox_row row;
	uint32_t last = box->count == 0 ? 0 : box->recs[box->count - 1].rec.uid;
	int ret;

	*first_recent_r = UINT32_MAX;
	if (index_db_begin(box->user, !box->readonly) < 0)
		return -1;
	ret = index_mailbox_get(box->user, box->mb.dir, false, &row);
	if (ret > 0) {
		*first_recent_r = row.first_recent_uid;
		/* the first read-write session that sees them owns them */
		if (!box->readonly && row.first_recent_uid <= last) {
			row.first_recent_uid = last + 1;
			ret = index_mailbox_update(box->user, &row) < 0 ? -1 : 1;
		}
		index_mailbox_row_free(&row);
	}
	if (index_db_commit(box->user) < 0)
		ret = -1;
	return ret < 0 ? -1 : 0;
}

static void mark_recent_from(struct mailbox *box, unsigned int first_idx,
			     uint32_t first_recent_uid)
{
	unsigned int i;

	box->status_valid = false;
	for (i = first_idx; i < box->count; i++) {
		if (box->recs[i].rec.uid >= first_recent_uid)
			box->recs[i].rec.flags |= MAIL_RECENT;
	}
}

static int load_view(struct mailbox *box, const char **error_r)
{
	struct index_mailbox_row row;
	struct index_msg_row *rows;
	unsigned int n, i;
	uint32_t first_recent;
	int ret;

	if (index_db_begin(box->user, false) < 0) {
		*error_r = "Internal error: mail index failed";
		return -1;
	}
	ret = index_mailbox_get(box->user, box->mb.dir, false, &row);
	if (ret > 0) {
		box->uidvalidity = row.uidvalidity;
		box->uidnext = row.uidnext;
		box->modseq = row.highestmodseq;
		index_mailbox_row_free(&row);
		ret = index_msgs_load(box->user, box->id, 0, &rows, &n);
		for (i = 0; ret == 0 && i < n; i++)
			mailbox_view_append(box, &rows[i], false);
		if (ret == 0)
			index_msgs_free(&rows, n);
	} else {
		ret = -1;
	}
	if (index_db_commit(box->user) < 0)
		ret = -1;
	if (ret == 0 && mailbox_claim_recent(box, &first_recent) == 0)
		mark_recent_from(box, 0, first_recent);
	if (ret < 0)
		*error_r = "Internal error: mail index failed";
	return ret;
}

int mailbox_open(struct mail_user *user, const char *name, bool readonly,
		 struct mailbox **box_r, const char **error_r)
{
	struct mailbox *box;

	*box_r = NULL;
	box = i_new(struct mailbox, 1);
	box->user = user;
	box->readonly = readonly;
	box->notify_fd = -1;
	if (maildir_mbox_resolve(user, name, &box->mb, error_r) < 0 ||
	    maildir_sync(user, &box->mb, !readonly, false, &box->id,
			 error_r) < 0 ||
	    load_view(box, error_r) < 0) {
		mailbox_close(&box);
		return -1;
	}
	mailbox_refresh_keywords(box);
	index_db_lazy_end(user);
	box->db_generation = user->db_generation;
	box->data_version = -1;
	*box_r = box;
	return 0;
}

static void drain_notify(struct mailbox *box)
{
	char buf[4096];

	if (box->notify_fd < 0)
		return;
	while (read(box->notify_fd, buf, sizeof(buf)) > 0)
		;
}

static bool uid_in(const uint32_t *uids, unsigned int count, uint32_t uid)
{
	unsigned int lo = 0, hi = count;

	while (lo < hi) {
		unsigned int mid = (lo + hi) / 2;
		if (uids[mid] == uid)
			return true;
		if (uids[mid] < uid)
			lo = mid + 1;
		else
			hi = mid;
	}
	return false;
}

static void report_expunges(struct mailbox *box, const uint32_t *uids,
			    unsigned int count,
			    const struct mailbox_sync_callbacks *cb,
			    void *context)
{
	unsigned int i = 0;

	while (i < box->count) {
		if (!uid_in(uids, count, box->recs[i].rec.uid)) {
			i++;
			continue;
		}
		if (cb != NULL && cb->expunged != NULL)
			cb->expunged(context, i + 1);
		mailbox_view_remove(box, i);
	}
}

static bool kw_str_equal(char *const *kw, const char *s)
{
	string_t *str = str_new(64);
	unsigned int i;
	bool ret;

	for (i = 0; kw[i] != NULL; i++) {
		if (i > 0)
			str_append_c(str, ' ');
		str_append(str, kw[i]);
	}
	ret = strcmp(str_c(str), s) == 0;
	str_free(&str);
	return ret;
}

/* Apply changed/new rows (sorted by UID). full: rows are all messages
   (anything in the view but not in rows is expunged). */
static void apply_rows(struct mailbox *box, struct index_msg_row *rows,
		       unsigned int n, bool full,
		       const struct mailbox_sync_callbacks *cb, void *context,
		       unsigned int *first_new_r)
{
	unsigned int i, seq, old_count;
	uint32_t last;
	uint32_t *changed = i_new(uint32_t, n + 1);
	unsigned int nchanged = 0;

	if (full) {
		uint32_t *keep = i_new(uint32_t, n + 1);
		uint32_t *gone = i_new(uint32_t, box->count + 1);
		unsigned int ngone = 0;
		for (i = 0; i < n; i++)
			keep[i] = rows[i].uid;
		for (i = 0; i < box->count; i++) {
			if (!uid_in(keep, n, box->recs[i].rec.uid))
				gone[ngone++] = box->recs[i].rec.uid;
		}
		report_expunges(box, gone, ngone, cb, context);
		free(keep);
		free(gone);
	}
	old_count = box->count;
	last = box->count == 0 ? 0 : box->recs[box->count - 1].rec.uid;
	for (i = 0; i < n; i++) {
		seq = rows[i].uid <= last ? mailbox_uid_to_seq(box, rows[i].uid) : 0;
		if (seq != 0) {
			struct view_rec *vr = &box->recs[seq - 1];
			bool differs = (vr->rec.flags & MAIL_FLAGS_STORED_MASK) !=
				rows[i].flags || !kw_str_equal(vr->kw, rows[i].keywords) ||
				vr->rec.modseq != rows[i].modseq;
			bool recent = (vr->rec.flags & MAIL_RECENT) != 0;
			mailbox_view_set_rec(vr, &rows[i], recent);
			if (differs)
				changed[nchanged++] = seq;
		} else if (rows[i].uid > last) {
			mailbox_view_append(box, &rows[i], false);
			last = rows[i].uid;
		}
		/* else: a UID below the view's last one that it never saw;
		   IMAP can't show it in this session (can't happen while
		   UIDs are given under the uidlist lock) */
	}
	for (i = 0; i < nchanged; i++) {
		if (cb != NULL && cb->flags_changed != NULL)
			cb->flags_changed(context, changed[i]);
	}
	free(changed);
	*first_new_r = old_count;
}

static int sync_view(struct mailbox *box,
		     const struct mailbox_sync_callbacks *cb, void *context,
		     unsigned int *first_new_r)
{
	struct index_mailbox_row row;
	struct index_msg_row *rows = NULL;
	uint32_t *uids = NULL;
	unsigned int n = 0, nuids = 0;
	int ret;

	*first_new_r = box->count;
	if (index_db_begin(box->user, false) < 0)
		return -1;
	ret = index_mailbox_get(box->user, box->mb.dir, false, &row);
	if (ret <= 0) {
		index_db_rollback(box->user);
		return -1;
	}
	if (row.highestmodseq == box->modseq &&
	    row.uidvalidity == box->uidvalidity) {
		index_mailbox_row_free(&row);
		return index_db_commit(box->user);
	}
	if (row.highestmodseq < box->modseq ||
	    row.uidvalidity != box->uidvalidity) {
		/* the index was rebuilt: compare everything */
		if (row.uidvalidity != box->uidvalidity)
			i_error("%s: UIDVALIDITY changed under an open session",
				box->mb.path);
		ret = index_msgs_load(box->user, box->id, 0, &rows, &n);
		if (ret == 0)
			apply_rows(box, rows, n, true, cb, context, first_new_r);
	} else {
		ret = index_expunges_since(box->user, box->id, box->modseq,
					   &uids, &nuids);
		if (ret == 0)
			report_expunges(box, uids, nuids, cb, context);
		if (ret == 0)
			ret = index_msgs_load(box->user, box->id, box->modseq,
					      &rows, &n);
		if (ret == 0)
			apply_rows(box, rows, n, false, cb, context, first_new_r);
	}
	if (ret == 0) {
		box->modseq = row.highestmodseq;
		box->uidvalidity = row.uidvalidity;
		box->uidnext = row.uidnext;
	}
	index_msgs_free(&rows, n);
	free(uids);
	index_mailbox_row_free(&row);
	if (index_db_commit(box->user) < 0)
		ret = -1;
	return ret;
}

/* the view has caught up with the index as of sig (owned; NULL: no
   stable signature) */
static void mailbox_set_quick_sig(struct mailbox *box, char *sig)
{
	free(box->quick_sig);
	box->quick_sig = sig;
	box->quick_commit_count = box->user->commit_count;
}

int mailbox_sync(struct mailbox *box, const struct mailbox_sync_callbacks *cb,
		 void *context, const char **error_r)
{
	unsigned int first_new, old_count;
	uint32_t first_recent;
	int64_t id;

	drain_notify(box);
	mailbox_cache_flush(box);
	mailbox_vsize_flush(box);
	mailbox_cache_runs_reset(box);
	/* Nothing changed since the view caught up with an index that
	   matched the Maildir by stamps without a deadline, and we changed
	   nothing since: any change (ours, another session's, LMTP's, any
	   Maildir writer's) moves a stamp. Then the index isn't touched at
	   all: an idle session's index stays closed through its IDLE checks
	   and NOOPs (mail_user_release_memory()). */
	if (box->quick_sig != NULL &&
	    box->quick_commit_count == box->user->commit_count &&
	    maildir_sync_unchanged(&box->mb, box->quick_sig, !box->readonly))
		return 0;
	i_free(box->quick_sig);
	char *stable_sig;
	/* on success leaves a read transaction open (index_db_lazy_read()):
	   the checks below share it */
	if (maildir_sync_view(box->user, &box->mb, !box->readonly, false, &id,
			      &stable_sig, error_r) < 0)
		return -1;
	if (id != box->id || box->db_generation != box->user->db_generation) {
		/* mailbox re-created or index rebuilt: compare everything */
		box->db_generation = box->user->db_generation;
		box->id = id;
		box->modseq = UINT64_MAX;
	}
	old_count = box->count;
	/* nobody (no other connection: data_version; not us: commit
	   count) changed the index since the view caught up */
	int64_t dv = index_db_data_version(box->user);
	if (dv >= 0 && dv == box->data_version &&
	    box->db_opens == box->user->db_opens &&
	    box->commit_count == box->user->commit_count &&
	    box->modseq != UINT64_MAX) {
		index_db_lazy_end(box->user);
		drain_notify(box);
		mailbox_set_quick_sig(box, stable_sig);
		return 0;
	}
	if (sync_view(box, cb, context, &first_new) < 0) {
		index_db_lazy_end(box->user);
		free(stable_sig);
		*error_r = "Internal error: mail index failed";
		return -1;
	}
	index_db_lazy_end(box->user);
	mailbox_set_quick_sig(box, stable_sig);
	box->data_version = dv;
	box->db_opens = box->user->db_opens;
	box->commit_count = box->user->commit_count;
	box->status_valid = false;
	if (box->count > first_new) {
		if (mailbox_claim_recent(box, &first_recent) == 0)
			mark_recent_from(box, first_new, first_recent);
		mailbox_refresh_keywords(box);
	}
	if (box->count != old_count || box->count > first_new) {
		if (cb != NULL && cb->new_messages != NULL &&
		    box->count > first_new)
			cb->new_messages(context, box->count);
	}
	/* our own renames/moves above woke the fd too */
	drain_notify(box);
	return 0;
}

int mailbox_notify_fd(struct mailbox *box)
{
	static const char *const dirs[] = { "cur", "new" };
	unsigned int i;

	if (box->notify_fd >= 0)
		return box->notify_fd;
	box->notify_fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
	if (box->notify_fd < 0) {
		i_error("inotify_init1() failed: %s", strerror(errno));
		return -1;
	}
	for (i = 0; i < N_ELEMENTS(dirs); i++) {
		char *p = maildir_mbox_file(&box->mb, dirs[i]);
		if (inotify_add_watch(box->notify_fd, p, IN_CREATE | IN_DELETE |
				      IN_MOVED_FROM | IN_MOVED_TO) < 0)
			i_error("inotify_add_watch(%s) failed: %s", p,
				strerror(errno));
		free(p);
	}
	return box->notify_fd;
}
