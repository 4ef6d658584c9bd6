#ifndef LOFT_MAIL_STORAGE_H
#define LOFT_MAIL_STORAGE_H
/* Mail storage API: Maildir++ (Dovecot-compatible dovecot-uidlist,
   dovecot-keywords, subscriptions, filenames ",S=<size>,W=<vsize>:2,FLAGS")
   with a per-user SQLite (WAL) index that caches UIDs, flags, modseqs,
   internal dates, sizes and parse results. The Maildir and dovecot-uidlist
   are the truth; the index is rebuilt from them when missing or corrupt.

   Mailbox names in this API are IMAP wire names in modified UTF-7
   (RFC 3501 5.1.3) using the user's hierarchy separator
   (mail_user_separator()); "INBOX" is case-insensitive.

   Errors: functions returning int give 0 on success, -1 on failure with
   a short client-safe message in *error_r (static or owned by the
   object, valid until the next call). Internal errors are logged by the
   storage itself. Not thread-safe; one mail_user per process/session. */
#include "lib.h"
#include <time.h>

/* System flags (RFC 3501 2.3.2). */
enum mail_flags {
	MAIL_ANSWERED = 0x01,
	MAIL_FLAGGED  = 0x02,
	MAIL_DELETED  = 0x04,
	MAIL_SEEN     = 0x08,
	MAIL_DRAFT    = 0x10,
	MAIL_RECENT   = 0x20, /* session flag, never stored */
};
#define MAIL_FLAGS_STORED_MASK 0x1f

enum mail_fsync_mode { FSYNC_MODE_OPTIMIZED = 0, FSYNC_MODE_ALWAYS, FSYNC_MODE_NEVER };

struct mail_user_settings {
	const char *username;
	const char *home;          /* may be NULL */
	const char *mail_location; /* "maildir:~/Maildir[:INDEX=...][:LAYOUT=fs]"
	                              with %u %n %d %h already allowed in it */
	char separator;            /* 0 = layout default ('.') */
	enum mail_fsync_mode fsync;
};

struct mail_user;
struct mailbox;

/* Open a user's storage: resolves mail_location, creates the Maildir
   root (INBOX) if missing, opens/creates the index. */
int mail_user_open(const struct mail_user_settings *set,
		   struct mail_user **user_r, const char **error_r);
/* The same, but the index is opened (created, rebuilt if corrupt) only
   at its first use: a session that never needs it (LOGIN + LOGOUT)
   doesn't touch SQLite. An index that can't be opened then fails that
   command ("Internal error") instead of the login. */
int mail_user_open_lazy(const struct mail_user_settings *set,
			struct mail_user **user_r, const char **error_r);
void mail_user_close(struct mail_user **user);
/* Give back memory an idle session doesn't need: ends the index's lazily
   opened read transaction and closes the index (its next use reopens
   it; open mailboxes stay valid). No-op inside an explicit transaction. */
void mail_user_release_memory(struct mail_user *user);
/* True while the index is open (mail_user_release_memory() has
   something to give back). */
bool mail_user_index_is_open(const struct mail_user *user);
char mail_user_separator(const struct mail_user *user);
/* Root directory of the Maildir (INBOX). */
const char *mail_user_root(const struct mail_user *user);

/* --- mailbox list (RFC 3501 6.3.3 - 6.3.9) --- */
enum mailbox_list_flags {
	MAILBOX_NOSELECT = 0x01,
	MAILBOX_NOINFERIORS = 0x02,
	MAILBOX_HASCHILDREN = 0x04,
	MAILBOX_HASNOCHILDREN = 0x08,
	MAILBOX_SUBSCRIBED = 0x10,
	MAILBOX_NONEXISTENT = 0x20,
};
struct mailbox_info {
	char *name;                     /* wire name (mUTF-7) */
	enum mailbox_list_flags flags;
};
/* All mailboxes (INBOX first), with flags. Caller frees with
   mailbox_info_list_free(). */
int mail_user_list(struct mail_user *user, struct mailbox_info **list_r,
		   unsigned int *count_r, const char **error_r);
void mailbox_info_list_free(struct mailbox_info **list, unsigned int count);
/* Subscriptions (Dovecot's "subscriptions" file). */
int mail_user_subscriptions(struct mail_user *user, char ***names_r,
			    const char **error_r); /* free: str_split_free */
int mail_user_subscribe(struct mail_user *user, const char *name, bool set,
			const char **error_r);

/* Mailbox management. create fails if it exists ("Mailbox already
   exists"); delete of INBOX fails; rename of INBOX moves its messages
   into the new mailbox (RFC 3501 6.3.5). */
bool mail_user_mailbox_exists(struct mail_user *user, const char *name);
int mail_user_mailbox_create(struct mail_user *user, const char *name,
			     const char **error_r);
int mail_user_mailbox_delete(struct mail_user *user, const char *name,
			     const char **error_r);
int mail_user_mailbox_rename(struct mail_user *user, const char *oldname,
			     const char *newname, const char **error_r);

struct mailbox_status {
	uint32_t messages;
	uint32_t recent;
	uint32_t uidnext;
	uint32_t uidvalidity;
	uint32_t unseen;
	uint64_t highestmodseq;
	/* no sum of vsizes: a message's vsize may not be known before
	   mailbox_get_vsize() reads it (STATUS=SIZE would sum those) */
};
/* STATUS without selecting (syncs the Maildir first). */
int mail_user_mailbox_status(struct mail_user *user, const char *name,
			     struct mailbox_status *status_r,
			     const char **error_r);

/* --- delivery / APPEND (durable before returning 0) --- */
/* Save a message: data as received (CRLF or LF; stored with LF line
   endings like Dovecot), flags, keywords (NULL-terminated, may be NULL),
   internal date (0 = now). Writes tmp/, fsyncs per settings, renames into
   new/ (no flags) or cur/, assigns a UID under the dovecot-uidlist lock,
   records it in the index. uid_r/uidvalidity_r may be NULL. */
int mail_user_save(struct mail_user *user, const char *mailbox,
		   const void *data, size_t size, enum mail_flags flags,
		   const char *const *keywords, time_t internal_date,
		   uint32_t *uidvalidity_r, uint32_t *uid_r,
		   const char **error_r);

/* --- selected mailbox: a session's view (sequence numbers) --- */
int mailbox_open(struct mail_user *user, const char *name, bool readonly,
		 struct mailbox **box_r, const char **error_r);
void mailbox_close(struct mailbox **box);
const char *mailbox_name(const struct mailbox *box);
bool mailbox_is_readonly(const struct mailbox *box);
/* UIDVALIDITY of the open mailbox (O(1), unlike mailbox_get_status). */
uint32_t mailbox_uidvalidity(const struct mailbox *box);
/* Status of the view as the session currently sees it. */
void mailbox_get_status(struct mailbox *box, struct mailbox_status *status_r);
/* Keywords defined for this mailbox (NULL-terminated, owned by box). */
const char *const *mailbox_keywords(struct mailbox *box);
/* Whether new keywords can still be defined (a Maildir has 26 keyword
   letters): when false, PERMANENTFLAGS should not include \*. */
bool mailbox_keywords_can_add(struct mailbox *box);
/* Sequence of the first unseen message, 0 if none. */
uint32_t mailbox_first_unseen_seq(struct mailbox *box);

struct mail_record {
	uint32_t uid;
	enum mail_flags flags;         /* includes MAIL_RECENT for this session */
	const char *const *keywords;   /* NULL-terminated, owned by box */
	time_t internal_date;
	uint64_t size;                 /* physical size on disk (LF) */
	/* the vsize (RFC822.SIZE) is not here: mailbox_get_vsize() */
	uint64_t modseq;
	const char *guid;              /* Maildir base file name (Dovecot's
	                                  default message GUID) */
};
/* Number of messages in the view and access by 1-based sequence. The
   returned record stays valid until the next sync/modifying call. */
uint32_t mailbox_count(struct mailbox *box);
const struct mail_record *mailbox_get(struct mailbox *box, uint32_t seq);
/* Sequence of a UID, 0 if not in the view. */
uint32_t mailbox_uid_to_seq(struct mailbox *box, uint32_t uid);

/* The message's vsize: its size with CRLF line endings, as IMAP serves
   it (RFC 3501 RFC822.SIZE, POP3 LIST), in bytes. Known from the file
   name (W=) or dovecot-uidlist, or else computed by reading the file
   once (at the first need, like Dovecot) and kept in the index, so no
   session computes it again. Returns 0, or -1 when the file vanished
   ("Message was expunged") or couldn't be read. */
int mailbox_get_vsize(struct mailbox *box, uint32_t seq, uint64_t *vsize_r,
		      const char **error_r);
/* Write what the view computed for the index (vsizes, parse results)
   now rather than at the next mailbox_sync() or the close, and end the
   index read transaction: for a session that won't sync for a while
   (POP3 after its login). Errors are logged; the values are a cache. */
void mailbox_write_cached(struct mailbox *box);

/* The message as IMAP serves it: CRLF line endings (bare LF -> CRLF),
   *size_r == vsize. Caller frees *data_r. Returns -1 (and "expunged"
   error) if the file vanished. */
int mailbox_msg_read(struct mailbox *box, uint32_t seq,
		     unsigned char **data_r, size_t *size_r,
		     const char **error_r);

/* Parse-result cache in the index (envelope, bodystructure, ...):
   field is a short name, value any text. get returns a string the
   caller frees, or NULL. */
/* The field for a message's whole header block (kept apart from the
   other, small fields) */
#define MAILBOX_CACHE_HEADER_BLOCK "imap.header"
char *mailbox_cache_get(struct mailbox *box, uint32_t seq, const char *field);
void mailbox_cache_set(struct mailbox *box, uint32_t seq, const char *field,
		       const char *value);

/* POP3 UIDL that Dovecot kept for this message in dovecot-uidlist
   ("P" field, e.g. after a migration), or NULL when the default format
   applies. Caller frees. */
char *mailbox_get_pop3_uidl(struct mailbox *box, uint32_t seq);

enum modify_type { MODIFY_ADD, MODIFY_REMOVE, MODIFY_REPLACE };
/* STORE: change flags/keywords (renames the Maildir file, bumps modseq).
   New keywords are added to dovecot-keywords. */
int mailbox_update_flags(struct mailbox *box, uint32_t seq,
			 enum modify_type type, enum mail_flags flags,
			 const char *const *keywords, const char **error_r);
/* Copy messages (by seq) into another mailbox; dest UIDs returned in
   *dest_uids_r (caller frees, count == count) for UIDPLUS COPYUID. */
int mailbox_copy(struct mailbox *box, const uint32_t *seqs,
		 unsigned int count, const char *dest_mailbox,
		 uint32_t *dest_uidvalidity_r, uint32_t **dest_uids_r,
		 const char **error_r);
/* Expunge messages with \Deleted (and, if uids != NULL, only those UIDs).
   The expunges are reported through the next mailbox_sync(). */
int mailbox_expunge(struct mailbox *box, const uint32_t *uids,
		    unsigned int uids_count, const char **error_r);
/* Expunge the given messages regardless of flags (MOVE). */
int mailbox_expunge_seqs(struct mailbox *box, const uint32_t *seqs,
			 unsigned int count, const char **error_r);

/* Bring the view up to date with the Maildir and index (other sessions,
   deliveries): calls the callbacks in the order IMAP must report them:
   expunged(seq) for each removed message (sequence numbers as they are at
   that moment, i.e. highest first is not required: each call's seq is
   valid for the view before that removal), then flags_changed(seq) for
   messages whose flags/keywords changed since the last sync (including
   by this session unless it was done with .SILENT semantics: the caller
   filters), then new_messages(count) if the count grew. Any callback may
   be NULL. Returns -1 on error. */
struct mailbox_sync_callbacks {
	void (*expunged)(void *context, uint32_t seq);
	void (*flags_changed)(void *context, uint32_t seq);
	void (*new_messages)(void *context, uint32_t new_count);
};
int mailbox_sync(struct mailbox *box, const struct mailbox_sync_callbacks *cb,
		 void *context, const char **error_r);
/* A file descriptor (inotify on the Maildir and index) that becomes
   readable when something may have changed, for IDLE; -1 if none (then
   poll with mailbox_sync every second). Owned by box; mailbox_sync()
   drains it, so the caller only polls it and then calls mailbox_sync(). */
int mailbox_notify_fd(struct mailbox *box);

#endif
