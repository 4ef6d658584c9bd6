/* STORE: flags and keywords live in the Maildir file name, so a change
   is a rename in cur/ (then a new modseq in the index). +FLAGS/-FLAGS
   apply to the flags in the file's current name, not to the session's
   possibly older view, so concurrent changes aren't lost. */
#include "storage-private.h"
#include <errno.h>
#include <unistd.h>

#define STORE_RENAME_TRIES 4

/* Keyword names -> bits, adding missing ones (under the uidlist lock)
   when add. Unknown names are skipped when !add. */
static int keywords_to_bits(struct mailbox *box, const char *const *kws,
			    bool add, struct maildir_keywords *kw,
			    uint32_t *bits_r, const char **error_r)
{
	char *path = i_strdup_printf("%s/dovecot-keywords", box->mb.control);
	bool locked = false;
	unsigned int i;
	int idx, ret = 0;

	*bits_r = 0;
	if (kws == NULL || kws[0] == NULL) {
		/* nothing to map (the flags-only STORE) */
		free(path);
		return 0;
	}
	(void)maildir_keywords_read(path, kw);
	for (i = 0; kws != NULL && kws[i] != NULL && ret == 0; i++) {
		idx = maildir_keywords_lookup(kw, kws[i], false);
		if (idx < 0 && add && !locked) {
			/* adding keywords needs the uidlist lock */
			if (maildir_uidlist_lock(box->mb.control, error_r) < 0) {
				ret = -1;
				break;
			}
			locked = true;
			(void)maildir_keywords_read(path, kw);
			idx = maildir_keywords_lookup(kw, kws[i], false);
		}
		if (idx < 0 && add)
			idx = maildir_keywords_lookup(kw, kws[i], true);
		if (idx < 0 && add) {
			*error_r = "Too many keywords in the mailbox";
			ret = -1;
		} else if (idx >= 0) {
			*bits_r |= 1u << idx;
		}
	}
	if (ret == 0 && kw->changed &&
	    maildir_keywords_write(path, kw, box->user->fsync) < 0) {
		*error_r = "Internal error writing dovecot-keywords";
		ret = -1;
	}
	if (locked)
		maildir_uidlist_unlock(box->mb.control);
	if (ret == 0 && locked)
		mailbox_refresh_keywords(box);
	free(path);
	return ret;
}

static uint32_t modify(enum modify_type type, uint32_t cur, uint32_t req)
{
	switch (type) {
	case MODIFY_ADD:
		return cur | req;
	case MODIFY_REMOVE:
		return cur & ~req;
	case MODIFY_REPLACE:
		break;
	}
	return req;
}

struct store_result {
	char *filename;   /* "cur/<new name>" */
	char *before;     /* Maildir stamps before the rename, or NULL */
	enum mail_flags old_flags, flags;
	uint32_t old_bits, bits;
};

/* 1 = renamed (or unchanged), 0 = expunged, -1 = error */
static int store_rename(struct mailbox *box, struct view_rec *vr,
			enum modify_type type, enum mail_flags req_flags,
			uint32_t req_bits, struct store_result *res)
{
	unsigned int try;
	int err;

	for (try = 0; try < STORE_RENAME_TRIES; try++) {
		const char *f = strchr(vr->filename, '/') + 1;
		char *base = i_strndup(f, maildir_filename_base_len(f));
		maildir_filename_get_flags(f, &res->old_flags, &res->old_bits);
		res->flags = modify(type, res->old_flags, req_flags);
		res->bits = modify(type, res->old_bits, req_bits);
		char *nf = maildir_filename_set_flags(base, f, res->flags,
						      res->bits);
		char *from = i_strdup_printf("%s/%s", box->mb.path, vr->filename);
		char *to = i_strdup_printf("%s/cur/%s", box->mb.path, nf);
		int r = 0;
		i_free(res->before);
		if (strcmp(from, to) == 0)
			r = access(from, F_OK);
		else {
			res->before = maildir_sync_stamps(&box->mb,
							  MAILDIR_SIG_CUR);
			r = rename(from, to);
		}
		err = errno;
		free(base);
		free(from);
		free(to);
		if (r == 0) {
			if (box->user->fsync == FSYNC_MODE_ALWAYS) {
				char *d = maildir_mbox_file(&box->mb, "cur");
				(void)maildir_fsync_dir(d);
				free(d);
			}
			res->filename = i_strdup_printf("cur/%s", nf);
			free(nf);
			return 1;
		}
		free(nf);
		if (err != ENOENT) {
			i_error("rename(%s/%s) failed: %s", box->mb.path,
				vr->filename, strerror(err));
			return -1;
		}
		int ret = mailbox_refresh_filename(box, vr);
		if (ret <= 0)
			return ret;
	}
	i_error("%s: message kept being renamed while changing flags",
		box->mb.path);
	return -1;
}

static void store_index(struct mailbox *box, struct view_rec *vr,
			const struct store_result *res, const char *kwstr)
{
	struct index_msg_row row;

	if (index_db_begin(box->user, true) < 0)
		return;
	if (index_msg_get(box->user, box->id, vr->rec.uid, &row) > 0) {
		free(row.filename);
		row.filename = i_strdup(res->filename);
		row.flags = res->flags;
		free(row.keywords);
		row.keywords = i_strdup(kwstr);
		if (res->flags != res->old_flags || res->bits != res->old_bits)
			row.modseq = index_mailbox_next_modseq(box->user, box->id);
		(void)index_msg_upsert(box->user, box->id, &row);
		vr->rec.modseq = row.modseq;
		index_msg_row_free(&row);
		(void)maildir_sync_own_change_update(box->user, &box->mb,
						     res->before);
	}
	if (index_db_commit(box->user) < 0)
		i_error("%s: flag change not indexed yet", box->mb.path);
}

int mailbox_update_flags(struct mailbox *box, uint32_t seq,
			 enum modify_type type, enum mail_flags flags,
			 const char *const *keywords, const char **error_r)
{
	struct maildir_keywords kw;
	struct store_result res;
	struct view_rec *vr;
	uint32_t req_bits;
	unsigned int i;
	int ret;

	if (box->readonly) {
		*error_r = "Mailbox is read-only";
		return -1;
	}
	if (seq == 0 || seq > box->count) {
		*error_r = "Invalid message sequence";
		return -1;
	}
	for (i = 0; keywords != NULL && keywords[i] != NULL; i++) {
		if (!maildir_keyword_is_valid(keywords[i])) {
			*error_r = "Invalid keyword";
			return -1;
		}
	}
	vr = &box->recs[seq - 1];
	memset(&kw, 0, sizeof(kw));
	memset(&res, 0, sizeof(res));
	if (keywords_to_bits(box, keywords, type != MODIFY_REMOVE, &kw,
			     &req_bits, error_r) < 0) {
		maildir_keywords_clear(&kw);
		return -1;
	}
	ret = store_rename(box, vr, type, flags & MAIL_FLAGS_STORED_MASK,
			   req_bits, &res);
	if (ret <= 0) {
		maildir_keywords_clear(&kw);
		i_free(res.before);
		if (ret == 0)
			return 0; /* expunged meanwhile: nothing to do */
		*error_r = "Internal error changing flags";
		return -1;
	}
	if ((res.old_bits | res.bits) != 0) {
		/* the file may use letters added by someone else */
		char *path = i_strdup_printf("%s/dovecot-keywords",
					     box->mb.control);
		(void)maildir_keywords_read(path, &kw);
		free(path);
	}
	char *kwstr = maildir_sync_keywords_str(&kw, res.bits);
	store_index(box, vr, &res, kwstr);
	free(vr->filename);
	vr->filename = res.filename;
	vr->rec.flags = res.flags | (vr->rec.flags & MAIL_RECENT);
	str_split_free(&vr->kw);
	vr->kw = kwstr[0] == '\0' ? i_new(char *, 1) : str_split(kwstr, " ");
	vr->rec.keywords = (const char *const *)vr->kw;
	free(kwstr);
	i_free(res.before);
	maildir_keywords_clear(&kw);
	box->status_valid = false;
	return 0;
}
