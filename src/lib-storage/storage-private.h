#ifndef LOFT_STORAGE_PRIVATE_H
#define LOFT_STORAGE_PRIVATE_H
/* Internals shared by the files of lib-storage. Not for other modules. */
#include "mail-storage.h"
#include "log.h"
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <strings.h>
#include <sys/stat.h>

#define MAILBOX_NAME_MAX_LENGTH 255
#define MAILBOX_NAME_MAX_DEPTH 16
#define MAILDIR_MAX_KEYWORDS 26
#define KEYWORD_NAME_MAX_LENGTH 128
/* Dovecot's MAILDIR_UIDLIST_LOCK_STALE_TIMEOUT */
#define UIDLIST_LOCK_STALE_SECS 120
#define UIDLIST_LOCK_WAIT_SECS 30
/* an empty dovecot-uidlist.lock (creator killed before writing its
   pid) is stale after this */
#define UIDLIST_LOCK_EMPTY_STALE_SECS 3
#define MESSAGE_MAX_SIZE (256u * 1024 * 1024)
#define INDEX_FILE_NAME "loft.index.sqlite"
#define MAILBOX_CACHE_POP3_UIDL "pop3.uidl"

/* --- mail-location.c: "maildir:~/Maildir:INDEX=..:CONTROL=.." --- */
struct mail_location {
	char *root;        /* Maildir root (INBOX) */
	char *index_dir;   /* where loft.index.sqlite lives */
	char *control_dir; /* NULL = same as the mailbox dirs */
};
int mail_location_parse(const char *location, const char *username,
			const char *home, struct mail_location *loc_r,
			const char **error_r);
void mail_location_free(struct mail_location *loc);

/* --- mailbox-name.c: wire name <-> Maildir++ folder name --- */
/* Validate a wire name and give its folder name on disk: "" for INBOX,
   ".A.B" otherwise (caller frees). */
int mailbox_name_to_dir(char sep, const char *name, char **dir_r,
			const char **error_r);
/* Folder dir name (".A.B") -> wire name with sep; NULL if the dir name
   is not a valid mailbox (caller frees). */
char *mailbox_name_from_dir(char sep, const char *dir);
bool mailbox_name_is_inbox(const char *name);
/* RFC 3501 5.1.3 modified UTF-7: true when well-formed. */
bool mailbox_name_mutf7_valid(const char *name);

/* --- maildir-filename.c --- */
/* New unique base name "<secs>.M<usecs>P<pid>.<host>" (caller frees). */
char *maildir_filename_generate(void);
/* Length of the base part (up to ":2," / ':'). */
size_t maildir_filename_base_len(const char *fname);
/* ",S=<n>" / ",W=<n>" field of the base name; false if absent. */
bool maildir_filename_get_size(const char *fname, char key, uint64_t *size_r);
/* Flags and keyword letters (a..z -> bit 0..25) from ":2,<flags>". */
void maildir_filename_get_flags(const char *fname, enum mail_flags *flags_r,
				uint32_t *kw_bits_r);
/* base + ":2," + sorted letters (keeps unknown letters of old_fname). */
char *maildir_filename_set_flags(const char *base, const char *old_fname,
				 enum mail_flags flags, uint32_t kw_bits);

/* --- maildir-uidlist.c: dovecot-uidlist version 3 --- */
struct uidlist_rec {
	uint32_t uid;
	char *base;   /* file name without ":2,..." */
	char *ext;    /* extension fields as read ("W123 S100"), or NULL */
};
struct maildir_uidlist {
	uint32_t version;
	uint32_t uidvalidity;
	uint32_t next_uid;
	char guid[33];
	char *hdr_ext;          /* unknown header fields, kept */
	struct uidlist_rec *recs;
	unsigned int count, alloc;
	bool exists;            /* file was there */
	bool clean_end;         /* ends with '\n' (safe to append) */
};
/* Parse a whole file's contents. Limits: 64 KiB lines. -1 on a broken
   header (caller recreates). */
int maildir_uidlist_parse(const char *data, size_t size,
			  struct maildir_uidlist *ul, const char **error_r);
/* Read path; a missing file gives an empty list with exists=false. */
int maildir_uidlist_read(const char *path, struct maildir_uidlist *ul,
			 const char **error_r);
/* Header and last record only (for appending): -1 when the file can't
   be appended to as is (then read it whole). No records are loaded. */
int maildir_uidlist_read_tail(const char *path, struct maildir_uidlist *ul);
void maildir_uidlist_add(struct maildir_uidlist *ul, uint32_t uid,
			 const char *base, const char *ext);
void maildir_uidlist_clear(struct maildir_uidlist *ul);
/* Whole file via path.tmp + rename; fsync unless mode is NEVER. */
int maildir_uidlist_write(const char *path, struct maildir_uidlist *ul,
			  enum mail_fsync_mode fsync_mode);
/* Append records [first..count) in place (Dovecot does the same). */
int maildir_uidlist_append(const char *path, struct maildir_uidlist *ul,
			   unsigned int first, enum mail_fsync_mode fsync_mode);
/* dovecot-uidlist.lock (O_EXCL dotlock "pid:host", stale after 120 s
   or when its process is gone). */
int maildir_uidlist_lock(const char *control_dir, const char **error_r);
void maildir_uidlist_unlock(const char *control_dir);
/* Generic Dovecot-style dotlock "<path>.lock". */
int storage_dotlock(const char *path, const char **error_r);
void storage_dotunlock(const char *path);
/* Next UIDVALIDITY via the root's dovecot-uidvalidity file. */
uint32_t maildir_uidvalidity_next(const char *root);
void maildir_guid_generate(char guid[33]);

/* --- maildir-keywords.c: dovecot-keywords --- */
struct maildir_keywords {
	char *names[MAILDIR_MAX_KEYWORDS];
	bool changed;
};
int maildir_keywords_read(const char *path, struct maildir_keywords *kw);
int maildir_keywords_write(const char *path, struct maildir_keywords *kw,
			   enum mail_fsync_mode fsync_mode);
void maildir_keywords_clear(struct maildir_keywords *kw);
/* Index of name, adding it if add; -1 if not found / full. */
int maildir_keywords_lookup(struct maildir_keywords *kw, const char *name,
			    bool add);
/* RFC 3501 atom, not starting with '\', bounded length. */
bool maildir_keyword_is_valid(const char *name);

/* --- subscription-file.c --- */
/* Names are storage names: "INBOX" or the folder dir without its
   leading '.', levels joined with '.'. Version 2 ("V\t2") and the old
   headerless format are read; version 2 is written. */
int subsfile_read(const char *path, char ***names_r);
/* rename_to != NULL: rename name (and its children) instead. */
int subsfile_update(const char *path, const char *name, bool set,
		    const char *rename_to, enum mail_fsync_mode fsync_mode);

/* --- index-sqlite.c --- */
/* messages.vsize of a message whose vsize (size with CRLF line endings)
   is not known yet: the sync gives it to a file whose name has no W=
   and whose dovecot-uidlist record has no W field, without reading the
   file; mailbox_get_vsize() computes it at the first need and stores
   it. Stored as -1 in SQLite: a real vsize is never negative (at most
   twice MESSAGE_MAX_SIZE), and an index written before this sentinel
   existed holds only real sizes (the sync read the file, or took the
   physical size when it couldn't). A W= or W field that says
   UINT64_MAX is nonsense and is taken as unknown, i.e. computed. */
#define INDEX_VSIZE_UNKNOWN UINT64_MAX
struct index_mailbox_row {
	int64_t id;
	uint32_t uidvalidity, uidnext, first_recent_uid;
	uint64_t highestmodseq;
	char *sig;
};
struct index_msg_row {
	uint32_t uid;
	char *filename;
	enum mail_flags flags;
	char *keywords;  /* space separated, "" if none */
	uint64_t modseq;
	int64_t internaldate;
	uint64_t size, vsize;
	char *guid;
};
int index_db_open(struct mail_user *user, const char **error_r);
void index_db_close(struct mail_user *user);
/* After an SQLITE_CORRUPT/NOTADB: drop the files and start over. */
int index_db_recreate(struct mail_user *user);
/* Reopen if another process replaced or removed the file. */
int index_db_check_replaced(struct mail_user *user);
int index_db_begin(struct mail_user *user, bool write);
/* A read transaction for many small reads (parse cache lookups of a
   SEARCH; the sync check and view update of mailbox_sync()), begun when
   none is open and left open: it shares its snapshot with later read
   transactions (index_db_begin(user, false) nests in it) and ends at
   index_db_lazy_end(), which every write transaction and every sync
   entry point (maildir_sync(), mailbox_sync(), mailbox_open(), ...)
   calls first, so no decision is made on an old snapshot and none is
   held between IMAP commands. */
void index_db_lazy_read(struct mail_user *user);
void index_db_lazy_end(struct mail_user *user);
int index_db_commit(struct mail_user *user);
void index_db_rollback(struct mail_user *user);
int64_t index_db_data_version(struct mail_user *user);
/* Log an SQLite error (and note corruption). Returns -1. */
int index_db_error(struct mail_user *user, int rc, const char *what);
/* Get (create=true: create if missing) a mailbox row. 0 = not found. */
int index_mailbox_get(struct mail_user *user, const char *dir, bool create,
		      struct index_mailbox_row *row_r);
void index_mailbox_row_free(struct index_mailbox_row *row);
int index_mailbox_update(struct mail_user *user,
			 const struct index_mailbox_row *row);
int index_mailbox_delete(struct mail_user *user, int64_t id);
int index_mailbox_rename(struct mail_user *user, const char *olddir,
			 const char *newdir);
/* ++highestmodseq of the mailbox, returns the new value (in a write
   transaction). */
uint64_t index_mailbox_next_modseq(struct mail_user *user, int64_t id);
/* All rows (ORDER BY uid), or those with modseq > min_modseq. */
int index_msgs_load(struct mail_user *user, int64_t id, uint64_t min_modseq,
		    struct index_msg_row **rows_r, unsigned int *count_r);
void index_msgs_free(struct index_msg_row **rows, unsigned int count);
void index_msg_row_free(struct index_msg_row *row);
int index_msg_get(struct mail_user *user, int64_t id, uint32_t uid,
		  struct index_msg_row *row_r);
int index_msg_upsert(struct mail_user *user, int64_t id,
		     const struct index_msg_row *row);
int index_msg_delete(struct mail_user *user, int64_t id, uint32_t uid,
		     uint64_t modseq);
/* Fill in the vsize of a message whose row has INDEX_VSIZE_UNKNOWN;
   guid guards against a UID given to another message meanwhile (the
   index rebuilt). Leaves a row that already has a vsize alone. */
int index_msg_set_vsize(struct mail_user *user, int64_t id, uint32_t uid,
			const char *guid, uint64_t vsize);
/* The vsize the index has for uid (if its guid is still guid): 1
   (INDEX_VSIZE_UNKNOWN if not computed yet), 0 no such row, -1 error. */
int index_msg_get_vsize(struct mail_user *user, int64_t id, uint32_t uid,
			const char *guid, uint64_t *vsize_r);
int index_expunges_since(struct mail_user *user, int64_t id,
			 uint64_t modseq, uint32_t **uids_r,
			 unsigned int *count_r);
int index_msg_stats(struct mail_user *user, int64_t id,
		    uint32_t first_recent_uid, struct mailbox_status *st);
struct index_cache_value {
	uint32_t uid;
	char *value;
};
/* The values of field for UIDs >= first_uid, by UID, until their sizes
   add up to max_bytes (at least one): *values_r (caller frees with
   index_cache_values_free()) and *last_uid_r, the highest UID they
   cover (UINT32_MAX: all the rest). A UID missing in between has no
   value cached. */
int index_cache_get_run(struct mail_user *user, int64_t id, const char *field,
			uint32_t first_uid, size_t max_bytes,
			struct index_cache_value **values_r,
			unsigned int *count_r, uint32_t *last_uid_r);
void index_cache_values_free(struct index_cache_value **values,
			     unsigned int count);
char *index_cache_get(struct mail_user *user, int64_t id, uint32_t uid,
		      const char *field);
void index_cache_set(struct mail_user *user, int64_t id, uint32_t uid,
		     const char *field, const char *value);

/* --- the user (mail-user.c) --- */
struct mail_user {
	char *username;
	struct mail_location loc;
	char sep;
	enum mail_fsync_mode fsync;
	sqlite3 *db;
	char *db_path;
	sqlite3_stmt *stmts[32];
	int txn_depth;
	bool txn_failed;
	bool lazy_read;   /* the open transaction is index_db_lazy_read()'s */
	bool db_corrupt;  /* seen SQLITE_CORRUPT: recreate at next sync */
	ino_t db_ino;     /* to notice a rebuild by another process */
	unsigned int db_generation; /* ++ at every (re)open of another file */
	unsigned int db_opens;      /* ++ at every open: a new connection,
				       whose data_version starts anew */
	int db_hold_fd;             /* closed by mail_user_release_memory():
				       the file, held open; else -1 */
	uint64_t commit_count;      /* ++ at every commit of ours */
	unsigned int sync_scans;    /* ++ at every Maildir scan (tests) */
	unsigned int vsize_reads;   /* ++ at every file read only for its
				       vsize (tests) */
	char *error;   /* last client-safe error */
};
const char *mail_user_set_error(struct mail_user *user, const char *fmt, ...)
	ATTR_FORMAT(2, 3);

/* A resolved mailbox: paths of one Maildir++ folder. */
struct maildir_mbox {
	char *name;     /* wire name */
	char *dir;      /* "" or ".A.B" */
	char *path;     /* the Maildir (cur/ new/ tmp/) */
	char *control;  /* where dovecot-uidlist etc. live */
};
int maildir_mbox_resolve(struct mail_user *user, const char *name,
			 struct maildir_mbox *mb_r, const char **error_r);
void maildir_mbox_free(struct maildir_mbox *mb);
bool maildir_mbox_exists(const struct maildir_mbox *mb);
/* Create cur/new/tmp (+ maildirfolder for non-INBOX). */
int maildir_mbox_create_dirs(struct mail_user *user,
			     const struct maildir_mbox *mb);
char *maildir_mbox_file(const struct maildir_mbox *mb, const char *name);

/* --- maildir-sync.c: Maildir + dovecot-uidlist -> index --- */
/* Scan the folder when its dirs/uidlist changed (or force), assigning
   UIDs to new files, dropping vanished ones, moving new/ to cur/ when
   move_new. Updates the index. */
int maildir_sync(struct mail_user *user, const struct maildir_mbox *mb,
		 bool move_new, bool force, int64_t *id_r,
		 const char **error_r);
/* The same; when the index's signature for the Maildir (as it matched
   or as the scan recorded it) has no deadline (see the rule at the top
   of maildir-sync.c), *stable_sig_r is a copy of it (caller frees),
   else NULL. */
int maildir_sync_view(struct mail_user *user, const struct maildir_mbox *mb,
		      bool move_new, bool force, int64_t *id_r,
		      char **stable_sig_r, const char **error_r);
/* True while the Maildir still has the stamps of such a signature:
   nothing changed since (no index access needed to know it). */
bool maildir_sync_unchanged(const struct maildir_mbox *mb, const char *sig,
			    bool move_new);
/* Our own change to a Maildir (the rule is at the top of
   maildir-sync.c): take maildir_sync_stamps() before changing cur/,
   new/ or dovecot-uidlist (caller frees), then, in the write
   transaction that records the change in the index, call
   maildir_sync_own_change() with the mailbox row (it updates row->sig
   when the index matched the "before" stamps; returns 1 if it did,
   the caller writes the row) or maildir_sync_own_change_update()
   (reads and writes the row itself). added_to_new: a file was put in
   new/ (read-write sessions still have to move it). */
#define MAILDIR_SIG_CUR 0x01
#define MAILDIR_SIG_NEW 0x02
#define MAILDIR_SIG_UIDLIST 0x04
#define MAILDIR_SIG_ALL 0x07
char *maildir_sync_stamps(const struct maildir_mbox *mb, unsigned int parts);
int maildir_sync_own_change(struct mail_user *user,
			    const struct maildir_mbox *mb,
			    struct index_mailbox_row *row, const char *before,
			    bool added_to_new);
int maildir_sync_own_change_update(struct mail_user *user,
				   const struct maildir_mbox *mb,
				   const char *before);
/* Keyword names of the bits of one file (space separated, "" if
   none). */
char *maildir_sync_keywords_str(const struct maildir_keywords *kw,
				uint32_t bits);

/* --- maildir-save.c --- */
struct maildir_save_item {
	char *tmp_path;         /* file in tmp/ */
	char *base;
	enum mail_flags flags;
	const char *const *keywords;
	time_t internal_date;
	uint64_t size, vsize;
	uint32_t uid;           /* result */
};
/* Rename tmp files into place and give them UIDs (one lock, one
   index transaction). */
int maildir_save_commit(struct mail_user *user, const struct maildir_mbox *mb,
			struct maildir_save_item *items, unsigned int count,
			uint32_t *uidvalidity_r, const char **error_r);
/* Size of data when served with CRLF (bare LF counted as CRLF). */
uint64_t maildir_crlf_size(const unsigned char *data, size_t size);
int maildir_fsync_dir(const char *dir);

/* --- the selected mailbox (mailbox.c, mailbox-sync.c) --- */
struct view_rec {
	struct mail_record rec;
	char *filename;    /* "cur/<name>" or "new/<name>" */
	char **kw;         /* NULL-terminated, rec.keywords points here */
	char *guid;
	uint64_t vsize;    /* INDEX_VSIZE_UNKNOWN until mailbox_get_vsize() */
};
/* A vsize computed by this session, not written to the index yet */
struct mailbox_vsize_pending {
	uint32_t uid;
	char *guid;
	uint64_t vsize;
};
struct mailbox_cache_pending {
	uint32_t uid;
	char *field;
	char *value;
};
/* Values of one cache field for the UIDs first_uid..last_uid, read at
   once (mailbox-cache.c) */
struct mailbox_cache_run {
	char *field;            /* NULL: a free slot */
	unsigned int lookups;   /* single lookups since the last sync */
	bool loaded;
	uint32_t first_uid, last_uid;
	struct index_cache_value *values;   /* by UID; missing: not cached */
	unsigned int count;
};
struct mailbox {
	struct mail_user *user;
	struct maildir_mbox mb;
	int64_t id;
	bool readonly;
	struct view_rec *recs;
	unsigned int count, alloc;
	uint32_t uidvalidity, uidnext;
	uint64_t modseq;       /* highestmodseq the view reflects */
	char **keywords;       /* dovecot-keywords names, NULL-terminated */
	int notify_fd;
	unsigned int db_generation;
	/* index state the view last caught up with (data_version of the
	   connection db_opens) */
	int64_t data_version;
	unsigned int db_opens;
	/* the stable signature of the index when the view last caught up
	   with it, and our commit count then (mailbox_sync()'s quick
	   check), or NULL */
	char *quick_sig;
	uint64_t quick_commit_count;
	uint64_t commit_count;
	/* mailbox_cache_set() values not written yet: one transaction
	   for many (mailbox_cache_flush()) */
	struct mailbox_cache_pending *cache_pending;
	unsigned int cache_pending_count, cache_pending_alloc;
	struct mailbox_cache_run cache_runs[4];
	unsigned int cache_run_loads;   /* statements that read a run (tests) */
	/* vsizes computed by mailbox_get_vsize(), for the index: one
	   transaction for many (mailbox_vsize_flush()) */
	struct mailbox_vsize_pending *vsize_pending;
	unsigned int vsize_pending_count, vsize_pending_alloc;
	unsigned int vsize_lookup_misses;
	/* mailbox_get_status() of the view; false after any change */
	bool status_valid;
	struct mailbox_status status;
};
void mailbox_view_set_rec(struct view_rec *vr, const struct index_msg_row *row,
			  bool recent);
void mailbox_view_rec_free(struct view_rec *vr);
void mailbox_view_remove(struct mailbox *box, unsigned int idx);
void mailbox_view_append(struct mailbox *box, const struct index_msg_row *row,
			 bool recent);
void mailbox_refresh_keywords(struct mailbox *box);
/* The file was renamed by someone else (flags changed): find its name
   now (forced Maildir sync). 1 if found, 0 if expunged, -1 error. */
int mailbox_refresh_filename(struct mailbox *box, struct view_rec *vr);
/* Write the pending cache values (in one transaction). */
void mailbox_cache_flush(struct mailbox *box);
/* The message's file as it is on disk (LF), following a rename by
   another session; caller frees *data_r. -1 with *error_r when it
   vanished or couldn't be read. */
int mailbox_view_rec_read(struct mailbox *box, struct view_rec *vr,
			  char **data_r, size_t *size_r, const char **error_r);
/* mailbox-vsize.c: a vsize this session computed (vr->vsize was
   INDEX_VSIZE_UNKNOWN): kept in the view and queued for the index */
void mailbox_vsize_learned(struct mailbox *box, struct view_rec *vr,
			   uint64_t vsize);
/* mailbox_get_vsize() of a view record */
int mailbox_view_rec_vsize(struct mailbox *box, struct view_rec *vr,
			   uint64_t *vsize_r, const char **error_r);
/* Write the queued vsizes (one transaction); at a sync and the close. */
void mailbox_vsize_flush(struct mailbox *box);
/* Forget the cache values read in runs (at a sync: they may be stale;
   at the close: frees them). */
void mailbox_cache_runs_reset(struct mailbox *box);
/* Mark rows with uid >= first_recent_uid as \Recent for this (read-write)
   session and move first_recent_uid past them in the index. */
int mailbox_claim_recent(struct mailbox *box, uint32_t *first_recent_r);

#endif
