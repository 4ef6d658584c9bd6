/* Maildir -> dovecot-uidlist -> index synchronization. The directories
   and dovecot-uidlist are the truth; the index row of a mailbox keeps a
   signature of them (inode, size, mtime of cur/, new/, dovecot-uidlist)
   as they were when the index last matched them.

   When a scan may be skipped (the rule; maildir_sync_sig_matches()):
   the signature in the index equals the stamps now, and its deadline
   (if any) has not passed. A signature gets a deadline "@<ns>" (one
   VERIFY period ahead, never pushed later while pending) when it may
   hide a change:
   - a scan whose stamps were younger than a timestamp tick (dirty): a
     change later in the same tick leaves the mtime as it was;
   - our own change (STORE rename, EXPUNGE unlink, APPEND/COPY save, the
     scan's own new/ -> cur/ moves and uidlist writes): we stat the
     directories before and after it and, if the index matched the
     "before" stamps, record the "after" stamps so that our own change
     does not force a scan. A foreign change between the two stats is
     folded into the "after" stamps.
   So a foreign change (other sessions, LMTP, any Maildir writer) is seen
   at the next sync when it changes a stamp, and at the latest at the
   first sync VERIFY (1 s) after it when it happened in the same tick as
   a stamp we took or while we were changing the same directory. This is
   Dovecot's rule too (MAILDIR_SYNC_SECS, cur_check_time in
   maildir_sync_quick_check()). */
#include "storage-private.h"
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

struct scan_entry {
	char *fname;       /* name inside cur/ or new/ */
	size_t base_len;
	bool in_new;
	unsigned int pass;
	uint32_t uid;
	unsigned long long secs;   /* the name's leading "<secs>." */
};

struct scan_ctx {
	struct mail_user *user;
	const struct maildir_mbox *mb;
	struct scan_entry *entries;
	unsigned int count, alloc;
	struct maildir_uidlist ul;
	struct maildir_keywords kw;
	bool kw_read;
	bool uidlist_changed, uidlist_rewrite;
	unsigned int uidlist_old_count;
	bool left_in_new;
	unsigned int pass;
};

/* A change made in the same timestamp tick as the one we saw would not
   change the mtime: such a stamp can't prove "unchanged" later. With
   sub-second stamps a tick is a few ms; else a second. */
#define SIG_DIRTY_NSECS (100 * 1000000LL)
#define SIG_DIRTY_SECS_NSECS (2000 * 1000000LL)
/* How long a signature that may hide a change is trusted (see the top) */
#define SIG_VERIFY_NSECS (1000 * 1000000LL)

static long long now_nsecs(void)
{
	struct timespec now;

	clock_gettime(CLOCK_REALTIME, &now);
	return (long long)now.tv_sec * 1000000000LL + now.tv_nsec;
}

static void stat_part(string_t *sig, const char *path, bool dir,
		      long long now, bool *dirty)
{
	struct stat st;
	long long age_ns;

	if (stat(path, &st) < 0 || (dir && !S_ISDIR(st.st_mode))) {
		str_append(sig, "-/");
		return;
	}
	str_printfa(sig, "%llu.%lld.%lld.%ld/", (unsigned long long)st.st_ino,
		    (long long)st.st_size, (long long)st.st_mtim.tv_sec,
		    (long)st.st_mtim.tv_nsec);
	age_ns = now - ((long long)st.st_mtim.tv_sec * 1000000000LL +
			st.st_mtim.tv_nsec);
	if (age_ns < (st.st_mtim.tv_nsec == 0 ? SIG_DIRTY_SECS_NSECS :
		      SIG_DIRTY_NSECS))
		*dirty = true;
}

/* Stamps of cur/, new/ and dovecot-uidlist: "<cur>/<new>/<uidlist>/";
   a part not in parts (MAILDIR_SIG_*) is "*". */
static char *make_sig_parts(const struct maildir_mbox *mb, unsigned int parts,
			    bool *dirty_r)
{
	string_t *sig = str_new(128);
	long long now = now_nsecs();
	char *p;

	*dirty_r = false;
	if ((parts & MAILDIR_SIG_CUR) != 0) {
		p = maildir_mbox_file(mb, "cur");
		stat_part(sig, p, true, now, dirty_r);
		free(p);
	} else {
		str_append(sig, "*/");
	}
	if ((parts & MAILDIR_SIG_NEW) != 0) {
		p = maildir_mbox_file(mb, "new");
		stat_part(sig, p, true, now, dirty_r);
		free(p);
	} else {
		str_append(sig, "*/");
	}
	if ((parts & MAILDIR_SIG_UIDLIST) != 0) {
		p = i_strdup_printf("%s/dovecot-uidlist", mb->control);
		stat_part(sig, p, false, now, dirty_r);
		free(p);
	} else {
		str_append(sig, "*/");
	}
	return str_free_without_data(&sig);
}

static char *make_sig(const struct maildir_mbox *mb, bool *dirty_r)
{
	return make_sig_parts(mb, MAILDIR_SIG_ALL, dirty_r);
}

/* Start and length of part i (0..2) of a signature's stamps. */
static bool sig_part(const char *sig, unsigned int i, const char **start_r,
		     size_t *len_r)
{
	const char *p = sig, *end;

	for (; i > 0; i--) {
		p = strchr(p, '/');
		if (p == NULL)
			return false;
		p++;
	}
	end = strchr(p, '/');
	if (end == NULL)
		return false;
	*start_r = p;
	*len_r = (size_t)(end - p);
	return true;
}

/* A stored signature: stamps, then "n" when files were left in new/
   (a read-write session must still move them), then "@<deadline ns>"
   when a scan is due at that time. "" = scan at the next sync. */
struct sig_parts {
	size_t stamps_len;
	bool left_in_new;
	long long deadline;   /* 0 = none */
};

static bool sig_parse(const char *sig, struct sig_parts *p_r)
{
	const char *p = sig;
	unsigned int i;

	memset(p_r, 0, sizeof(*p_r));
	for (i = 0; i < 3; i++) {
		p = strchr(p, '/');
		if (p == NULL)
			return false;
		p++;
	}
	p_r->stamps_len = (size_t)(p - sig);
	if (*p == 'n') {
		p_r->left_in_new = true;
		p++;
	}
	if (*p == '@') {
		p_r->deadline = strtoll(p + 1, NULL, 10);
		if (p_r->deadline <= 0)
			return false;
	} else if (*p != '\0') {
		return false;
	}
	return true;
}

static char *sig_build(const char *stamps, bool left_in_new,
		       long long deadline)
{
	string_t *str = str_new(strlen(stamps) + 24);

	str_append(str, stamps);
	if (left_in_new)
		str_append_c(str, 'n');
	if (deadline > 0)
		str_printfa(str, "@%lld", deadline);
	return str_free_without_data(&str);
}

/* The skip rule (see the top of the file). */
static bool sig_matches(const char *stored, const char *stamps,
			bool move_new)
{
	struct sig_parts p;

	if (!sig_parse(stored, &p) || p.stamps_len != strlen(stamps) ||
	    memcmp(stored, stamps, p.stamps_len) != 0)
		return false;
	if (p.left_in_new && move_new)
		return false;
	return p.deadline == 0 || now_nsecs() < p.deadline;
}

bool maildir_sync_unchanged(const struct maildir_mbox *mb, const char *sig,
			    bool move_new)
{
	bool dirty;
	char *now = make_sig(mb, &dirty);
	bool same = sig_matches(sig, now, move_new);

	free(now);
	return same;
}

char *maildir_sync_stamps(const struct maildir_mbox *mb, unsigned int parts)
{
	bool dirty;

	return make_sig_parts(mb, parts, &dirty);
}

int maildir_sync_own_change(struct mail_user *user,
			    const struct maildir_mbox *mb,
			    struct index_mailbox_row *row, const char *before,
			    bool added_to_new)
{
	struct sig_parts p;
	unsigned int i, parts = 0;
	const char *b, *r, *a;
	size_t blen, rlen, alen;
	char *after;

	if (before == NULL || !sig_parse(row->sig, &p))
		return 0;
	for (i = 0; i < 3; i++) {
		if (!sig_part(before, i, &b, &blen))
			return 0;
		if (blen == 1 && b[0] == '*')
			continue;
		if (!sig_part(row->sig, i, &r, &rlen) || rlen != blen ||
		    memcmp(r, b, blen) != 0) {
			/* the index didn't match the Maildir before our
			   change: leave the signature, the next sync scans */
			return 0;
		}
		parts |= 1u << i;
	}
	/* the parts we changed as they are now, the others as they were */
	after = maildir_sync_stamps(mb, parts);
	string_t *stamps = str_new(128);
	for (i = 0; i < 3; i++) {
		(void)sig_part(after, i, &a, &alen);
		(void)sig_part(row->sig, i, &r, &rlen);
		if ((parts & (1u << i)) != 0)
			str_append_n(stamps, a, alen);
		else
			str_append_n(stamps, r, rlen);
		str_append_c(stamps, '/');
	}
	free(after);
	if (p.deadline == 0)
		p.deadline = now_nsecs() + SIG_VERIFY_NSECS;
	free(row->sig);
	row->sig = sig_build(str_c(stamps), p.left_in_new || added_to_new,
			     p.deadline);
	str_free(&stamps);
	return 1;
}

int maildir_sync_own_change_update(struct mail_user *user,
				   const struct maildir_mbox *mb,
				   const char *before)
{
	struct index_mailbox_row row;
	int ret;

	if (before == NULL)
		return 0;
	ret = index_mailbox_get(user, mb->dir, false, &row);
	if (ret <= 0)
		return ret;
	if (maildir_sync_own_change(user, mb, &row, before, false) > 0)
		ret = index_mailbox_update(user, &row);
	else
		ret = 0;
	index_mailbox_row_free(&row);
	return ret;
}

static int scan_dir(struct scan_ctx *ctx, bool in_new)
{
	char *path = maildir_mbox_file(ctx->mb, in_new ? "new" : "cur");
	struct dirent *d;
	DIR *dir;

	dir = opendir(path);
	if (dir == NULL) {
		i_error("opendir(%s) failed: %s", path, strerror(errno));
		free(path);
		return -1;
	}
	while ((d = readdir(dir)) != NULL) {
		if (d->d_name[0] == '.' || strchr(d->d_name, '\n') != NULL ||
		    strchr(d->d_name, '\r') != NULL)
			continue;
		if (ctx->count == ctx->alloc) {
			ctx->alloc = ctx->alloc == 0 ? 128 : ctx->alloc * 2;
			ctx->entries = i_realloc(ctx->entries, ctx->alloc *
						 sizeof(*ctx->entries));
		}
		struct scan_entry *e = &ctx->entries[ctx->count++];
		e->fname = i_strdup(d->d_name);
		e->base_len = maildir_filename_base_len(e->fname);
		e->in_new = in_new;
		e->pass = ctx->pass;
		/* once here, not in every comparison of the sort */
		e->secs = strtoull(e->fname, NULL, 10);
		e->uid = 0;
	}
	closedir(dir);
	free(path);
	return 0;
}

static int base_cmp(const char *a, size_t alen, const char *b, size_t blen)
{
	int ret = memcmp(a, b, alen < blen ? alen : blen);

	if (ret != 0)
		return ret;
	return alen < blen ? -1 : (alen > blen ? 1 : 0);
}

static int entry_base_cmp(const void *p1, const void *p2)
{
	const struct scan_entry *a = p1, *b = p2;
	int ret = base_cmp(a->fname, a->base_len, b->fname, b->base_len);

	if (ret != 0)
		return ret;
	/* the later readdir pass has the newer name; cur/ before new/ */
	if (a->pass != b->pass)
		return a->pass > b->pass ? -1 : 1;
	return (int)a->in_new - (int)b->in_new;
}

static int entry_uid_cmp(const void *p1, const void *p2)
{
	const struct scan_entry *a = p1, *b = p2;

	return a->uid < b->uid ? -1 : (a->uid > b->uid ? 1 : 0);
}

/* Delivery order: "<secs>.<rest>" by seconds, then by name. */
static int entry_time_cmp(const void *p1, const void *p2)
{
	const struct scan_entry *a = *(const struct scan_entry *const *)p1;
	const struct scan_entry *b = *(const struct scan_entry *const *)p2;
	if (a->secs != b->secs)
		return a->secs < b->secs ? -1 : 1;
	return base_cmp(a->fname, a->base_len, b->fname, b->base_len);
}

static int rec_ptr_cmp(const void *p1, const void *p2)
{
	const struct uidlist_rec *a = *(const struct uidlist_rec *const *)p1;
	const struct uidlist_rec *b = *(const struct uidlist_rec *const *)p2;

	return strcmp(a->base, b->base);
}

static struct uidlist_rec *
find_rec(struct uidlist_rec **sorted, unsigned int count,
	 const struct scan_entry *e)
{
	unsigned int lo = 0, hi = count;

	while (lo < hi) {
		unsigned int mid = (lo + hi) / 2;
		const char *b = sorted[mid]->base;
		int ret = base_cmp(e->fname, e->base_len, b, strlen(b));
		if (ret == 0)
			return sorted[mid];
		if (ret < 0)
			hi = mid;
		else
			lo = mid + 1;
	}
	return NULL;
}

/* Give UIDs to files, drop vanished files from the uidlist. */
static void assign_uids(struct scan_ctx *ctx)
{
	struct maildir_uidlist *ul = &ctx->ul;
	struct uidlist_rec **sorted = i_new(struct uidlist_rec *, ul->count + 1);
	struct scan_entry **fresh = i_new(struct scan_entry *, ctx->count + 1);
	bool *used = i_new(bool, ul->count + 1);
	unsigned int i, nfresh = 0;

	for (i = 0; i < ul->count; i++)
		sorted[i] = &ul->recs[i];
	if (ul->count > 1)
		qsort(sorted, ul->count, sizeof(*sorted), rec_ptr_cmp);
	if (ctx->count > 1)
		qsort(ctx->entries, ctx->count, sizeof(*ctx->entries),
		      entry_base_cmp);

	for (i = 0; i < ctx->count; i++) {
		struct scan_entry *e = &ctx->entries[i];
		if (i > 0 && base_cmp(e->fname, e->base_len,
				      e[-1].fname, e[-1].base_len) == 0) {
			/* same message in new/ and cur/: keep the first */
			continue;
		}
		struct uidlist_rec *rec = find_rec(sorted, ul->count, e);
		if (rec != NULL) {
			e->uid = rec->uid;
			used[rec - ul->recs] = true;
		} else {
			fresh[nfresh++] = e;
		}
	}
	ctx->uidlist_old_count = ul->count;
	for (i = 0; i < ul->count; i++) {
		if (!used[i]) {
			ctx->uidlist_rewrite = true;
			break;
		}
	}
	if (ctx->uidlist_rewrite) {
		struct maildir_uidlist old = *ul;
		ul->recs = NULL;
		ul->count = ul->alloc = 0;
		for (i = 0; i < old.count; i++) {
			if (used[i])
				maildir_uidlist_add(ul, old.recs[i].uid,
						    old.recs[i].base,
						    old.recs[i].ext);
			free(old.recs[i].base);
			free(old.recs[i].ext);
		}
		free(old.recs);
		ctx->uidlist_old_count = ul->count;
	}
	if (nfresh > 1)
		qsort(fresh, nfresh, sizeof(*fresh), entry_time_cmp);
	for (i = 0; i < nfresh; i++) {
		char *base = i_strndup(fresh[i]->fname, fresh[i]->base_len);
		fresh[i]->uid = ul->next_uid;
		maildir_uidlist_add(ul, ul->next_uid, base, NULL);
		free(base);
	}
	if (nfresh > 0)
		ctx->uidlist_changed = true;
	if (ctx->uidlist_rewrite)
		ctx->uidlist_changed = true;
	free(sorted);
	free(fresh);
	free(used);
}

/* Returns how many files were moved. */
static unsigned int move_new_to_cur(struct scan_ctx *ctx)
{
	unsigned int i, moved = 0;

	for (i = 0; i < ctx->count; i++) {
		struct scan_entry *e = &ctx->entries[i];
		if (!e->in_new || e->uid == 0)
			continue;
		char *newname = strchr(e->fname, ':') != NULL ?
			i_strdup(e->fname) : i_strdup_printf("%s:2,", e->fname);
		char *from = i_strdup_printf("%s/new/%s", ctx->mb->path, e->fname);
		char *to = i_strdup_printf("%s/cur/%s", ctx->mb->path, newname);
		if (rename(from, to) == 0) {
			free(e->fname);
			e->fname = newname;
			e->in_new = false;
			moved++;
		} else {
			if (errno != ENOENT)
				i_error("rename(%s, %s) failed: %s", from, to,
					strerror(errno));
			free(newname);
			ctx->left_in_new = true;
		}
		free(from);
		free(to);
	}
	return moved;
}

char *maildir_sync_keywords_str(const struct maildir_keywords *kw,
				uint32_t bits)
{
	string_t *str = str_new(64);
	unsigned int i;

	for (i = 0; i < MAILDIR_MAX_KEYWORDS; i++) {
		if ((bits & (1u << i)) == 0 || kw->names[i] == NULL)
			continue;
		if (str_len(str) > 0)
			str_append_c(str, ' ');
		str_append(str, kw->names[i]);
	}
	return str_free_without_data(&str);
}

static const char *rec_ext(const struct maildir_uidlist *ul, uint32_t uid,
			   char key)
{
	unsigned int lo = 0, hi = ul->count;
	const char *p;

	while (lo < hi) {
		unsigned int mid = (lo + hi) / 2;
		if (ul->recs[mid].uid == uid) {
			p = ul->recs[mid].ext;
			while (p != NULL && *p != '\0') {
				if (*p == key)
					return p + 1;
				p = strchr(p, ' ');
				if (p != NULL)
					p++;
			}
			return NULL;
		}
		if (ul->recs[mid].uid < uid)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

/* INDEX_VSIZE_UNKNOWN when the field is missing or not a number
   (strtoull() would take "-1" or " 5"; an overflow gives UINT64_MAX) */
static uint64_t ext_num(const char *v)
{
	if (v == NULL || *v < '0' || *v > '9')
		return INDEX_VSIZE_UNKNOWN;
	return strtoull(v, NULL, 10);
}

/* Fill an index row for a file not yet in the index. */
static int new_row(struct scan_ctx *ctx, const struct scan_entry *e,
		   struct index_msg_row *row)
{
	char *path = i_strdup_printf("%s/%s/%s", ctx->mb->path,
				     e->in_new ? "new" : "cur", e->fname);
	struct stat st;
	uint32_t bits;
	const char *g;

	if (stat(path, &st) < 0) {
		free(path);
		return errno == ENOENT ? 0 : -1;
	}
	maildir_filename_get_flags(e->fname, &row->flags, &bits);
	if (bits != 0 && !ctx->kw_read) {
		char *kp = i_strdup_printf("%s/dovecot-keywords", ctx->mb->control);
		(void)maildir_keywords_read(kp, &ctx->kw);
		ctx->kw_read = true;
		free(kp);
	}
	row->keywords = maildir_sync_keywords_str(&ctx->kw, bits);
	row->uid = e->uid;
	row->internaldate = st.st_mtime;
	if (!maildir_filename_get_size(e->fname, 'S', &row->size))
		row->size = (uint64_t)st.st_size;
	/* without W= or a W field the file isn't read here (a cold index
	   build would read every message): mailbox_get_vsize() does it at
	   the first need */
	if (!maildir_filename_get_size(e->fname, 'W', &row->vsize))
		row->vsize = ext_num(rec_ext(&ctx->ul, e->uid, 'W'));
	g = rec_ext(&ctx->ul, e->uid, 'G');
	row->guid = g != NULL ? i_strndup(g, strcspn(g, " ")) :
		i_strndup(e->fname, e->base_len);
	row->filename = i_strdup_printf("%s/%s", e->in_new ? "new" : "cur",
					e->fname);
	free(path);
	return 1;
}

/* A POP3 UIDL kept by Dovecot in the uidlist ("P<uidl>"; empty = the
   base file name), e.g. after a migration: served instead of the
   default. Lives in the cache table. */
static void keep_pop3_uidl(struct scan_ctx *ctx, int64_t id,
			   const struct scan_entry *e)
{
	const char *p = rec_ext(&ctx->ul, e->uid, 'P');
	char *uidl;

	if (p == NULL)
		return;
	uidl = p[0] == ' ' || p[0] == '\0' ?
		i_strndup(e->fname, e->base_len) : i_strndup(p, strcspn(p, " "));
	index_cache_set(ctx->user, id, e->uid, MAILBOX_CACHE_POP3_UIDL, uidl);
	free(uidl);
}

struct index_apply {
	struct scan_ctx *ctx;
	int64_t id;
	uint64_t modseq;
};

static uint64_t apply_modseq(struct index_apply *ap)
{
	if (ap->modseq == 0)
		ap->modseq = index_mailbox_next_modseq(ap->ctx->user, ap->id);
	return ap->modseq;
}

static int apply_changed(struct index_apply *ap, const struct scan_entry *e,
			 struct index_msg_row *old)
{
	struct scan_ctx *ctx = ap->ctx;
	char *fname = i_strdup_printf("%s/%s", e->in_new ? "new" : "cur",
				      e->fname);
	enum mail_flags flags;
	uint32_t bits;
	char *kws;
	int ret = 0;

	if (strcmp(fname, old->filename) == 0) {
		free(fname);
		return 0;
	}
	maildir_filename_get_flags(e->fname, &flags, &bits);
	if (bits != 0 && !ctx->kw_read) {
		char *kp = i_strdup_printf("%s/dovecot-keywords", ctx->mb->control);
		(void)maildir_keywords_read(kp, &ctx->kw);
		ctx->kw_read = true;
		free(kp);
	}
	kws = maildir_sync_keywords_str(&ctx->kw, bits);
	if (flags != old->flags || strcmp(kws, old->keywords) != 0)
		old->modseq = apply_modseq(ap);
	free(old->filename);
	old->filename = fname;
	free(old->keywords);
	old->keywords = kws;
	old->flags = flags;
	ret = index_msg_upsert(ctx->user, ap->id, old);
	return ret;
}

static int apply_to_index(struct scan_ctx *ctx, struct index_mailbox_row *row)
{
	struct index_apply ap = { .ctx = ctx, .id = row->id };
	struct index_msg_row *rows;
	unsigned int nrows, i = 0, j = 0;
	int ret = 0;

	if (row->uidvalidity != 0 && row->uidvalidity != ctx->ul.uidvalidity) {
		i_warning("%s: UIDVALIDITY changed (%u -> %u)", ctx->mb->path,
			  row->uidvalidity, ctx->ul.uidvalidity);
		if (index_msgs_load(ctx->user, row->id, 0, &rows, &nrows) < 0)
			return -1;
		for (i = 0; i < nrows; i++)
			ret |= index_msg_delete(ctx->user, row->id, rows[i].uid,
						apply_modseq(&ap));
		index_msgs_free(&rows, nrows);
		i = 0;
	}
	if (row->uidvalidity == 0)
		row->first_recent_uid = ctx->uidlist_old_count == 0 ? 1 :
			ctx->ul.next_uid;
	if (index_msgs_load(ctx->user, row->id, 0, &rows, &nrows) < 0)
		return -1;
	if (ctx->count > 1)
		qsort(ctx->entries, ctx->count, sizeof(*ctx->entries),
		      entry_uid_cmp);
	while (j < ctx->count && ctx->entries[j].uid == 0)
		j++;
	while (ret == 0 && (i < nrows || j < ctx->count)) {
		struct scan_entry *e = j < ctx->count ? &ctx->entries[j] : NULL;
		if (e == NULL || (i < nrows && rows[i].uid < e->uid)) {
			ret = index_msg_delete(ctx->user, row->id, rows[i].uid,
					       apply_modseq(&ap));
			i++;
		} else if (i == nrows || e->uid < rows[i].uid) {
			struct index_msg_row nr;
			memset(&nr, 0, sizeof(nr));
			int r = new_row(ctx, e, &nr);
			if (r > 0) {
				nr.modseq = apply_modseq(&ap);
				ret = index_msg_upsert(ctx->user, row->id, &nr);
				if (ret == 0)
					keep_pop3_uidl(ctx, row->id, e);
			} else if (r < 0) {
				ret = -1;
			}
			free(nr.filename);
			free(nr.keywords);
			free(nr.guid);
			j++;
		} else {
			ret = apply_changed(&ap, e, &rows[i]);
			i++;
			j++;
		}
	}
	index_msgs_free(&rows, nrows);
	row->uidvalidity = ctx->ul.uidvalidity;
	row->uidnext = ctx->ul.next_uid;
	return ret;
}

static void scan_ctx_free(struct scan_ctx *ctx)
{
	unsigned int i;

	for (i = 0; i < ctx->count; i++)
		free(ctx->entries[i].fname);
	free(ctx->entries);
	maildir_uidlist_clear(&ctx->ul);
	maildir_keywords_clear(&ctx->kw);
}

static void seed_from_index(struct scan_ctx *ctx,
			    const struct index_mailbox_row *row)
{
	struct index_msg_row *rows;
	unsigned int n, i;

	/* dovecot-uidlist lost but the index knows the UIDs: keep them */
	if (row->uidvalidity == 0 ||
	    index_msgs_load(ctx->user, row->id, 0, &rows, &n) < 0)
		return;
	ctx->ul.uidvalidity = row->uidvalidity;
	ctx->ul.next_uid = row->uidnext > 0 ? row->uidnext : 1;
	for (i = 0; i < n; i++) {
		const char *f = strchr(rows[i].filename, '/');
		f = f == NULL ? rows[i].filename : f + 1;
		char *base = i_strndup(f, maildir_filename_base_len(f));
		maildir_uidlist_add(&ctx->ul, rows[i].uid, base, NULL);
		free(base);
	}
	index_msgs_free(&rows, n);
	if (n > 0)
		i_warning("%s: dovecot-uidlist missing, recreated from the index",
			  ctx->mb->control);
}

static int write_uidlist(struct scan_ctx *ctx)
{
	char *path = i_strdup_printf("%s/dovecot-uidlist", ctx->mb->control);
	int ret = 0;

	if (ctx->ul.uidvalidity == 0) {
		ctx->ul.uidvalidity =
			maildir_uidvalidity_next(ctx->user->loc.root);
		ctx->uidlist_rewrite = true;
	}
	if (!ctx->ul.exists || ctx->uidlist_rewrite)
		ret = maildir_uidlist_write(path, &ctx->ul, ctx->user->fsync);
	else if (ctx->uidlist_changed)
		ret = maildir_uidlist_append(path, &ctx->ul,
					     ctx->uidlist_old_count,
					     ctx->user->fsync);
	free(path);
	return ret;
}

/* Dovecot removes tmp/ files older than 36 hours: leftovers of
   interrupted deliveries. Only looked at when tmp/ itself changed. */
#define TMP_MAX_AGE_SECS (36 * 3600)

static void cleanup_tmp(const struct maildir_mbox *mb)
{
	char *path = maildir_mbox_file(mb, "tmp");
	time_t now = time(NULL);
	struct dirent *d;
	struct stat st;
	DIR *dir;

	if (stat(path, &st) < 0 || st.st_mtime > now - TMP_MAX_AGE_SECS / 2 ||
	    (dir = opendir(path)) == NULL) {
		free(path);
		return;
	}
	while ((d = readdir(dir)) != NULL) {
		if (d->d_name[0] == '.')
			continue;
		char *f = i_strdup_printf("%s/%s", path, d->d_name);
		if (stat(f, &st) == 0 && S_ISREG(st.st_mode) &&
		    st.st_mtime < now - TMP_MAX_AGE_SECS && st.st_atime <
		    now - TMP_MAX_AGE_SECS)
			(void)unlink(f);
		free(f);
	}
	closedir(dir);
	free(path);
}

/* Whether a uidlist record has no file in the scan (it would count as
   expunged). */
static bool scan_misses_uidlist(struct scan_ctx *ctx)
{
	unsigned int i;

	if (ctx->ul.count == 0)
		return false;
	if (ctx->count < ctx->ul.count)
		return true;
	if (ctx->count > 1)
		qsort(ctx->entries, ctx->count, sizeof(*ctx->entries),
		      entry_base_cmp);
	for (i = 0; i < ctx->ul.count; i++) {
		const char *base = ctx->ul.recs[i].base;
		size_t len = strlen(base);
		unsigned int lo = 0, hi = ctx->count;
		bool found = false;
		while (lo < hi && !found) {
			unsigned int mid = (lo + hi) / 2;
			const struct scan_entry *e = &ctx->entries[mid];
			int ret = base_cmp(e->fname, e->base_len, base, len);
			if (ret == 0)
				found = true;
			else if (ret < 0)
				lo = mid + 1;
			else
				hi = mid;
		}
		if (!found)
			return true;
	}
	return false;
}

static int scan_dirs(struct scan_ctx *ctx, char **sig_r, bool *dirty_r)
{
	bool stable = false, dirty_after;
	char *sig = NULL;
	int ret = 0;

	for (unsigned int try = 0; ret == 0; try++) {
		free(sig);
		sig = make_sig(ctx->mb, dirty_r);
		if (scan_dir(ctx, false) < 0 || scan_dir(ctx, true) < 0) {
			ret = -1;
			break;
		}
		/* a file renamed while readdir() ran may have been missed
		   (it would look expunged): rescan if the dirs changed */
		char *after = make_sig(ctx->mb, &dirty_after);
		stable = strcmp(after, sig) == 0;
		*dirty_r = *dirty_r || dirty_after;
		free(after);
		if (stable || try == 3)
			break;
		for (unsigned int i = 0; i < ctx->count; i++)
			free(ctx->entries[i].fname);
		ctx->count = 0;
	}
	if (ret == 0 && (*dirty_r || !stable) && scan_misses_uidlist(ctx)) {
		/* a rename in the same timestamp tick doesn't show in the
		   mtime: only what two passes both miss counts as expunged */
		ctx->pass = 1;
		if (scan_dir(ctx, false) < 0 || scan_dir(ctx, true) < 0)
			ret = -1;
	}
	*sig_r = sig;
	return ret;
}

static int sync_locked(struct scan_ctx *ctx, bool move_new, int64_t *id_r,
		       char **stable_sig_r, const char **error_r)
{
	struct mail_user *user = ctx->user;
	struct index_mailbox_row row;
	char *path, *sig;
	bool dirty, wrote = false;
	int ret;

	path = i_strdup_printf("%s/dovecot-uidlist", ctx->mb->control);
	ret = maildir_uidlist_read(path, &ctx->ul, error_r);
	free(path);
	sig = NULL;
	if (ret == 0)
		ret = scan_dirs(ctx, &sig, &dirty);
	if (ret < 0) {
		free(sig);
		*error_r = "Internal error reading the mailbox";
		return -1;
	}
	if (index_mailbox_get(user, ctx->mb->dir, true, &row) < 0) {
		free(sig);
		*error_r = "Internal error: mail index failed";
		return -1;
	}
	if (!ctx->ul.exists)
		seed_from_index(ctx, &row);
	assign_uids(ctx);
	if (move_new) {
		wrote = move_new_to_cur(ctx) > 0;
		cleanup_tmp(ctx->mb);
	}
	else {
		for (unsigned int i = 0; i < ctx->count; i++)
			ctx->left_in_new |= ctx->entries[i].in_new;
	}
	if (ctx->uidlist_changed || !ctx->ul.exists ||
	    ctx->ul.uidvalidity == 0) {
		if (write_uidlist(ctx) < 0) {
			free(sig);
			index_mailbox_row_free(&row);
			*error_r = "Internal error writing dovecot-uidlist";
			return -1;
		}
		wrote = true;
	}
	if (wrote) {
		/* our own writes changed the stamps: a foreign change since
		   the scan hides behind them until the deadline */
		free(sig);
		sig = make_sig(ctx->mb, &dirty);
		dirty = true;
	}
	ret = index_db_begin(user, true);
	if (ret == 0) {
		/* re-read inside the write transaction */
		index_mailbox_row_free(&row);
		ret = index_mailbox_get(user, ctx->mb->dir, true, &row) < 0 ? -1 :
			apply_to_index(ctx, &row);
	}
	if (ret == 0) {
		free(row.sig);
		row.sig = sig_build(sig, ctx->left_in_new, !dirty ? 0 :
				    now_nsecs() + SIG_VERIFY_NSECS);
		ret = index_mailbox_update(user, &row);
	}
	if (ret == 0)
		ret = index_db_commit(user);
	else
		index_db_rollback(user);
	if (ret == 0 && stable_sig_r != NULL && !dirty &&
	    !(ctx->left_in_new && move_new))
		*stable_sig_r = i_strdup(row.sig);
	*id_r = row.id;
	index_mailbox_row_free(&row);
	free(sig);
	if (ret < 0)
		*error_r = "Internal error: mail index failed";
	return ret;
}

int maildir_sync(struct mail_user *user, const struct maildir_mbox *mb,
		 bool move_new, bool force, int64_t *id_r,
		 const char **error_r)
{
	return maildir_sync_view(user, mb, move_new, force, id_r, NULL,
				 error_r);
}

int maildir_sync_view(struct mail_user *user, const struct maildir_mbox *mb,
		      bool move_new, bool force, int64_t *id_r,
		      char **stable_sig_r, const char **error_r)
{
	struct index_mailbox_row row;
	struct scan_ctx ctx;
	char *sig;
	bool dirty;
	int ret;

	if (stable_sig_r != NULL)
		*stable_sig_r = NULL;
	index_db_lazy_end(user);
	if ((user->db_corrupt && index_db_recreate(user) < 0) ||
	    index_db_check_replaced(user) < 0) {
		*error_r = "Internal error: mail index failed";
		return -1;
	}
	/* cur/ is missing or not a directory: the mailbox doesn't exist
	   (maildir_mbox_exists()) */
	sig = make_sig(mb, &dirty);
	if (strncmp(sig, "-/", 2) == 0) {
		free(sig);
		*error_r = mail_user_set_error(user, "Mailbox doesn't exist: %s",
					       mb->name);
		return -1;
	}
	/* mailbox_sync() goes on reading in the same snapshot */
	index_db_lazy_read(user);
	ret = index_mailbox_get(user, mb->dir, false, &row);
	if (ret > 0 && !force && sig_matches(row.sig, sig, move_new)) {
		struct sig_parts p;

		*id_r = row.id;
		/* no deadline: stamps that will prove "unchanged" by
		   themselves (maildir_sync_unchanged()) */
		if (stable_sig_r != NULL && sig_parse(row.sig, &p) &&
		    p.deadline == 0)
			*stable_sig_r = i_strdup(row.sig);
		index_mailbox_row_free(&row);
		free(sig);
		return 0;
	}
	if (ret > 0)
		index_mailbox_row_free(&row);
	free(sig);
	index_db_lazy_end(user);

	memset(&ctx, 0, sizeof(ctx));
	ctx.user = user;
	ctx.mb = mb;
	if (maildir_uidlist_lock(mb->control, error_r) < 0)
		return -1;
	user->sync_scans++;
	ret = sync_locked(&ctx, move_new, id_r, stable_sig_r, error_r);
	maildir_uidlist_unlock(mb->control);
	scan_ctx_free(&ctx);
	if (ret < 0 && user->db_corrupt && !force &&
	    index_db_recreate(user) == 0) {
		/* rebuilt: fill it again (once) */
		return maildir_sync(user, mb, move_new, true, id_r, error_r);
	}
	return ret;
}
