/* The per-user SQLite index (WAL): a cache of the Maildir and its
   dovecot-uidlist files. Missing or corrupt -> recreated and refilled
   from the Maildir by maildir_sync(). */
#include "storage-private.h"
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <stdlib.h>
#include <unistd.h>

/* 2: expunges_modseq; 3: cache_header (an index of version 1 or 2 is
   upgraded in place) */
#define INDEX_SCHEMA_VERSION 3
#define INDEX_SCHEMA_VERSION_STR "3"
#define INDEX_BUSY_TIMEOUT_MS 15000
/* how long the open waits for the WAL switch before it looks at the file:
   another process creating the index holds its lock for milliseconds */
#define INDEX_OPEN_BUSY_TIMEOUT_MS 1000
/* quick_check on open only for small files: it reads and checks every
   page, at every session start (a 300-message mailbox with its parse
   cache, 1.3 MB: ~10 ms). A larger index relies on SQLite's checks of the pages it
   reads: SQLITE_CORRUPT from any statement marks it for a rebuild at
   the next sync (index_db_error(), maildir_sync()). */
#define INDEX_QUICK_CHECK_MAX_SIZE (128 * 1024)
/* bytes a checkpointed WAL is cut back to (SQLite's default: never) */
#define INDEX_WAL_SIZE_LIMIT "4194304"

enum stmt_id {
	ST_MBOX_GET, ST_MBOX_CREATE, ST_MBOX_UPDATE, ST_MBOX_MODSEQ,
	ST_MSGS_LOAD, ST_MSGS_CHANGED, ST_MSG_GET, ST_MSG_UPSERT, ST_MSG_DELETE,
	ST_EXP_INSERT, ST_CACHE_DELETE, ST_EXP_SINCE, ST_STATS,
	ST_CACHE_GET, ST_CACHE_RUN, ST_CACHE_SET, ST_DATA_VERSION,
	ST_HDR_GET, ST_HDR_RUN, ST_HDR_SET, ST_HDR_DELETE,
	ST_BEGIN, ST_BEGIN_IMMEDIATE, ST_COMMIT, ST_ROLLBACK,
	ST_MSG_GET_VSIZE, ST_MSG_SET_VSIZE,
	ST_COUNT
};

static const char *const stmt_sql[ST_COUNT] = {
	[ST_MBOX_GET] = "SELECT id, uidvalidity, uidnext, highestmodseq, "
		"first_recent_uid, sig FROM mailboxes WHERE dir = ?1",
	[ST_MBOX_CREATE] = "INSERT INTO mailboxes(dir) VALUES (?1)",
	[ST_MBOX_UPDATE] = "UPDATE mailboxes SET uidvalidity = ?2, "
		"uidnext = ?3, highestmodseq = max(highestmodseq, ?4), "
		"first_recent_uid = ?5, sig = ?6 WHERE id = ?1",
	[ST_MBOX_MODSEQ] = "UPDATE mailboxes SET highestmodseq = "
		"highestmodseq + 1 WHERE id = ?1 RETURNING highestmodseq",
	[ST_MSGS_LOAD] = "SELECT uid, filename, flags, keywords, modseq, "
		"internaldate, size, vsize, guid FROM messages "
		"WHERE mailbox = ?1 AND modseq > ?2 ORDER BY uid",
	/* the few rows changed since a view's modseq: "+uid" keeps the
	   planner from walking every message of the mailbox in uid order
	   (the primary key) instead of the modseq index */
	[ST_MSGS_CHANGED] = "SELECT uid, filename, flags, keywords, modseq, "
		"internaldate, size, vsize, guid FROM messages "
		"WHERE mailbox = ?1 AND modseq > ?2 ORDER BY +uid",
	[ST_MSG_GET] = "SELECT uid, filename, flags, keywords, modseq, "
		"internaldate, size, vsize, guid FROM messages "
		"WHERE mailbox = ?1 AND uid = ?2",
	[ST_MSG_UPSERT] = "INSERT OR REPLACE INTO messages(mailbox, uid, "
		"filename, flags, keywords, modseq, internaldate, size, vsize, "
		"guid) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
	[ST_MSG_DELETE] = "DELETE FROM messages WHERE mailbox = ?1 AND uid = ?2",
	[ST_EXP_INSERT] = "INSERT OR REPLACE INTO expunges(mailbox, uid, modseq) "
		"VALUES (?1, ?2, ?3)",
	[ST_CACHE_DELETE] = "DELETE FROM cache WHERE mailbox = ?1 AND uid = ?2",
	/* expunges_modseq, as for ST_MSGS_CHANGED: the table keeps every
	   expunge of the mailbox's life */
	[ST_EXP_SINCE] = "SELECT uid FROM expunges WHERE mailbox = ?1 "
		"AND modseq > ?2 ORDER BY +uid",
	/* no sum of vsizes: some may not be known (INDEX_VSIZE_UNKNOWN) */
	[ST_STATS] = "SELECT count(*), coalesce(sum((flags & 8) = 0), 0), "
		"coalesce(sum(uid >= ?2), 0) FROM messages WHERE mailbox = ?1",
	[ST_CACHE_GET] = "SELECT value FROM cache WHERE mailbox = ?1 AND "
		"uid = ?2 AND field = ?3",
	/* the primary key's order: one pass over the mailbox's rows */
	[ST_CACHE_RUN] = "SELECT uid, value FROM cache WHERE mailbox = ?1 AND "
		"uid >= ?2 AND field = ?3 ORDER BY uid",
	[ST_CACHE_SET] = "INSERT OR REPLACE INTO cache(mailbox, uid, field, "
		"value) VALUES (?1, ?2, ?3, ?4)",
	[ST_DATA_VERSION] = "PRAGMA data_version",
	[ST_HDR_GET] = "SELECT value FROM cache_header WHERE mailbox = ?1 AND "
		"uid = ?2",
	[ST_HDR_RUN] = "SELECT uid, value FROM cache_header WHERE mailbox = ?1 "
		"AND uid >= ?2 ORDER BY uid",
	[ST_HDR_SET] = "INSERT OR REPLACE INTO cache_header(mailbox, uid, value) "
		"VALUES (?1, ?2, ?3)",
	[ST_HDR_DELETE] = "DELETE FROM cache_header WHERE mailbox = ?1 AND "
		"uid = ?2",
	/* prepared once: a command runs several transactions, and
	   sqlite3_exec() would parse each of these again */
	[ST_BEGIN] = "BEGIN",
	[ST_BEGIN_IMMEDIATE] = "BEGIN IMMEDIATE",
	[ST_COMMIT] = "COMMIT",
	[ST_ROLLBACK] = "ROLLBACK",
	[ST_MSG_GET_VSIZE] = "SELECT vsize FROM messages WHERE mailbox = ?1 "
		"AND uid = ?2 AND guid = ?3",
	[ST_MSG_SET_VSIZE] = "UPDATE messages SET vsize = ?4 WHERE "
		"mailbox = ?1 AND uid = ?2 AND guid = ?3 AND vsize = -1",
};

/* The header blocks (a few kB each) in a table of their own: in the
   cache table they took most of each leaf page, so that the small values
   of the other fields (a SEARCH FROM reads one per message) were spread
   over as many pages as the whole headers. */
#define CACHE_HEADER_TABLE_SQL \
	"CREATE TABLE IF NOT EXISTS cache_header(mailbox INTEGER NOT NULL," \
	" uid INTEGER NOT NULL, value TEXT," \
	" PRIMARY KEY(mailbox, uid)) WITHOUT ROWID;"

static const char schema_sql[] =
	"CREATE TABLE IF NOT EXISTS meta(key TEXT PRIMARY KEY, value TEXT);"
	"CREATE TABLE IF NOT EXISTS mailboxes(id INTEGER PRIMARY KEY, "
	" dir TEXT UNIQUE NOT NULL, uidvalidity INTEGER NOT NULL DEFAULT 0,"
	" uidnext INTEGER NOT NULL DEFAULT 1,"
	" highestmodseq INTEGER NOT NULL DEFAULT 1,"
	" first_recent_uid INTEGER NOT NULL DEFAULT 1,"
	" sig TEXT NOT NULL DEFAULT '');"
	"CREATE TABLE IF NOT EXISTS messages(mailbox INTEGER NOT NULL,"
	" uid INTEGER NOT NULL, filename TEXT NOT NULL,"
	" flags INTEGER NOT NULL, keywords TEXT NOT NULL,"
	" modseq INTEGER NOT NULL, internaldate INTEGER NOT NULL,"
	" size INTEGER NOT NULL, vsize INTEGER NOT NULL, guid TEXT NOT NULL,"
	" PRIMARY KEY(mailbox, uid)) WITHOUT ROWID;"
	"CREATE INDEX IF NOT EXISTS messages_modseq ON messages(mailbox, modseq);"
	"CREATE TABLE IF NOT EXISTS expunges(mailbox INTEGER NOT NULL,"
	" uid INTEGER NOT NULL, modseq INTEGER NOT NULL,"
	" PRIMARY KEY(mailbox, uid)) WITHOUT ROWID;"
	"CREATE INDEX IF NOT EXISTS expunges_modseq ON expunges(mailbox, modseq);"
	"CREATE TABLE IF NOT EXISTS cache(mailbox INTEGER NOT NULL,"
	" uid INTEGER NOT NULL, field TEXT NOT NULL, value TEXT,"
	" PRIMARY KEY(mailbox, uid, field)) WITHOUT ROWID;"
	CACHE_HEADER_TABLE_SQL
	"INSERT OR IGNORE INTO meta VALUES ('schema_version', "
	INDEX_SCHEMA_VERSION_STR ");";

/* version 1 or 2 -> 3; IF NOT EXISTS: two processes may both run it. The
   header blocks leave the cache table (they are refilled on demand). */
static const char schema_upgrade_sql[] =
	"BEGIN IMMEDIATE;"
	"CREATE INDEX IF NOT EXISTS expunges_modseq ON expunges(mailbox, modseq);"
	CACHE_HEADER_TABLE_SQL
	"DELETE FROM cache WHERE field = '" MAILBOX_CACHE_HEADER_BLOCK "';"
	"UPDATE meta SET value = " INDEX_SCHEMA_VERSION_STR
	" WHERE key = 'schema_version';"
	"COMMIT;";

int index_db_error(struct mail_user *user, int rc, const char *what)
{
	i_error("index %s: %s failed: %s", user->db_path, what,
		user->db == NULL ? sqlite3_errstr(rc) : sqlite3_errmsg(user->db));
	if (rc == SQLITE_CORRUPT || rc == SQLITE_NOTADB)
		user->db_corrupt = true;
	if (user->txn_depth > 0)
		user->txn_failed = true;
	return -1;
}

/* The index is opened lazily, at its first use (mail_user_open() only
   sets db_path): a session that never touches it (LOGIN + LOGOUT, POP3
   without a mailbox...) pays nothing for SQLite. After a failed open
   the next use tries again. */
static int index_db_ensure(struct mail_user *user)
{
	const char *error;

	if (user->db != NULL)
		return 0;
	if (user->db_path == NULL)
		return -1;
	return index_db_open(user, &error);
}

static sqlite3_stmt *stmt(struct mail_user *user, enum stmt_id id)
{
	sqlite3_stmt *st = user->stmts[id];
	int rc;

	if (st == NULL && index_db_ensure(user) < 0)
		return NULL;
	if (st != NULL) {
		sqlite3_reset(st);
		sqlite3_clear_bindings(st);
		return st;
	}
	rc = sqlite3_prepare_v3(user->db, stmt_sql[id], -1,
				SQLITE_PREPARE_PERSISTENT, &st, NULL);
	if (rc != SQLITE_OK) {
		(void)index_db_error(user, rc, "prepare");
		return NULL;
	}
	user->stmts[id] = st;
	return st;
}

static int exec(struct mail_user *user, const char *sql)
{
	int rc;

	if (index_db_ensure(user) < 0)
		return -1;
	rc = sqlite3_exec(user->db, sql, NULL, NULL, NULL);

	return rc == SQLITE_OK ? 0 : index_db_error(user, rc, sql);
}

/* step a statement that returns no rows */
static int step_done(struct mail_user *user, sqlite3_stmt *st,
		     const char *what)
{
	int rc;

	if (st == NULL)
		return -1;
	rc = sqlite3_step(st);
	sqlite3_reset(st);
	return rc == SQLITE_DONE ? 0 : index_db_error(user, rc, what);
}

/* BEGIN, COMMIT...: a prepared statement of its own */
static int exec_stmt(struct mail_user *user, enum stmt_id id)
{
	return step_done(user, stmt(user, id), stmt_sql[id]);
}

static void finalize_all(struct mail_user *user)
{
	unsigned int i;

	for (i = 0; i < N_ELEMENTS(user->stmts); i++) {
		if (user->stmts[i] != NULL)
			sqlite3_finalize(user->stmts[i]);
		user->stmts[i] = NULL;
	}
}

/* the schema version (1..INDEX_SCHEMA_VERSION), 0 = no schema yet,
   -1 = another version, -2 = error (logged; corruption noted) */
static int schema_version(struct mail_user *user)
{
	sqlite3_stmt *chk;
	int rc, ret;

	rc = sqlite3_prepare_v2(user->db, "SELECT value FROM meta WHERE "
				"key = 'schema_version'", -1, &chk, NULL);
	if (rc != SQLITE_OK) {
		/* "no such table" on a new file */
		if (rc == SQLITE_ERROR)
			return 0;
		(void)index_db_error(user, rc, "meta");
		return -2;
	}
	rc = sqlite3_step(chk);
	if (rc == SQLITE_DONE)
		ret = 0;
	else if (rc != SQLITE_ROW) {
		(void)index_db_error(user, rc, "meta");
		ret = -2;
	} else if (sqlite3_column_text(chk, 0) != NULL &&
		   strcmp((const char *)sqlite3_column_text(chk, 0),
			  INDEX_SCHEMA_VERSION_STR) == 0)
		ret = INDEX_SCHEMA_VERSION;
	else if (sqlite3_column_text(chk, 0) != NULL &&
		 (strcmp((const char *)sqlite3_column_text(chk, 0), "1") == 0 ||
		  strcmp((const char *)sqlite3_column_text(chk, 0), "2") == 0))
		ret = *sqlite3_column_text(chk, 0) - '0';
	else
		ret = -1;
	sqlite3_finalize(chk);
	return ret;
}

/* true if the file at path starts with an SQLite header in WAL mode
   (file format version numbers 2 at offsets 18 and 19) */
static bool index_file_is_wal(const char *path)
{
	unsigned char hdr[100];
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return false;
	ssize_t n = pread(fd, hdr, sizeof(hdr), 0);
	close(fd);
	return n == (ssize_t)sizeof(hdr) &&
		memcmp(hdr, "SQLite format 3", 16) == 0 &&
		hdr[18] == 2 && hdr[19] == 2;
}

static bool index_db_same_file(struct mail_user *user);

static void unlink_db_files(const char *path);

/* A new index appears whole: it is made under a temporary name (WAL
   mode, schema) and linked into place. Otherwise a process could open
   the empty file another one is still setting up, find it locked and
   not in WAL mode - what an index truncated under its holder looks
   like - and rebuild it, unlinking the creator's file under it (seen
   with three LMTP processes delivering to a new user at once). Another
   process linking first is fine: its index is used. */
static int index_db_create_new(struct mail_user *user)
{
	char *tmp = i_strdup_printf("%s.new.%ld", user->db_path,
				    (long)getpid());
	sqlite3 *db = NULL;
	int rc, ret = 0;

	unlink_db_files(tmp);
	rc = sqlite3_open_v2(tmp, &db, SQLITE_OPEN_READWRITE |
			     SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, NULL);
	if (rc == SQLITE_OK)
		rc = sqlite3_exec(db, "PRAGMA journal_mode=WAL", NULL, NULL,
				  NULL);
	if (rc == SQLITE_OK)
		rc = sqlite3_exec(db, schema_sql, NULL, NULL, NULL);
	if (rc != SQLITE_OK) {
		i_error("index %s: creating it failed: %s", tmp,
			db == NULL ? sqlite3_errstr(rc) : sqlite3_errmsg(db));
		ret = -1;
	}
	/* the last connection: checkpoints the WAL into the file */
	if (db != NULL && sqlite3_close(db) != SQLITE_OK)
		ret = -1;
	if (ret == 0 && link(tmp, user->db_path) < 0 && errno != EEXIST) {
		i_error("link(%s, %s) failed: %s", tmp, user->db_path,
			strerror(errno));
		ret = -1;
	}
	unlink_db_files(tmp);
	free(tmp);
	return ret;
}

static int try_open(struct mail_user *user)
{
	struct stat st;
	sqlite3_stmt *chk;
	bool same_file = index_db_same_file(user);
	int rc;

	if (access(user->db_path, F_OK) < 0 && errno == ENOENT &&
	    index_db_create_new(user) < 0)
		return -1;
	rc = sqlite3_open_v2(user->db_path, &user->db,
			     SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE |
			     SQLITE_OPEN_NOMUTEX, NULL);
	if (rc != SQLITE_OK)
		return index_db_error(user, rc, "open");
	sqlite3_busy_timeout(user->db, INDEX_OPEN_BUSY_TIMEOUT_MS);
	rc = sqlite3_exec(user->db, "PRAGMA journal_mode=WAL", NULL, NULL,
			  NULL);
	if (rc == SQLITE_BUSY && !index_file_is_wal(user->db_path)) {
		/* The file was truncated or overwritten while another
		   process (an LMTP process keeping the user open) holds it:
		   that holder's lock keeps the switch to WAL waiting for as
		   long as it stays open. The index is a cache: rebuild it
		   (the holder sees the new inode and reopens). */
		i_error("index %s: not a WAL database and locked by another "
			"process", user->db_path);
		user->db_corrupt = true;
		return -1;
	}
	sqlite3_busy_timeout(user->db, INDEX_BUSY_TIMEOUT_MS);
	/* a WAL index that was merely busy: wait for it the usual time */
	if (rc == SQLITE_BUSY)
		rc = sqlite3_exec(user->db, "PRAGMA journal_mode=WAL", NULL,
				  NULL, NULL);
	if (rc != SQLITE_OK)
		return index_db_error(user, rc, "PRAGMA journal_mode=WAL");
	/* No syncs: the index is a cache of the Maildir, dovecot-uidlist
	   and dovecot-keywords (which are synced per mail_fsync). After a
	   power loss it may have lost its last transactions (the next sync
	   puts them back from the Maildir) or be corrupt (then it is
	   rebuilt: index_db_recreate()). An application crash loses
	   nothing in WAL mode. */
	if (exec(user, "PRAGMA synchronous=OFF") < 0)
		return -1;
	/* Keep the -wal and -shm files when the last connection closes:
	   with one process per session, SQLite would otherwise unlink both
	   at every session's end and create them again (two new inodes, a
	   costly allocation on a busy file system) at the next one. The
	   close still checkpoints, and then truncates the WAL to nothing
	   (journal_size_limit >= 0), so the next open recovers nothing;
	   while open, the WAL is cut back to the limit after a restart. */
	int persist_wal = 1;
	(void)sqlite3_file_control(user->db, "main", SQLITE_FCNTL_PERSIST_WAL,
				   &persist_wal);
	if (exec(user, "PRAGMA journal_size_limit=" INDEX_WAL_SIZE_LIMIT) < 0)
		return -1;
	/* reopened after mail_user_release_memory(): the same file was
	   checked at the first open and the views stay valid (their next
	   sync is incremental; sync_view() notices a rebuilt index by its
	   modseq going back). A different file is a rebuild: check it and
	   make the views compare everything. */
	user->db_opens++;
	if (!same_file && stat(user->db_path, &st) == 0 &&
	    st.st_size <= INDEX_QUICK_CHECK_MAX_SIZE) {
		rc = sqlite3_prepare_v2(user->db, "PRAGMA quick_check(1)", -1,
					&chk, NULL);
		if (rc != SQLITE_OK)
			return index_db_error(user, rc, "quick_check");
		rc = sqlite3_step(chk);
		bool ok = rc == SQLITE_ROW &&
			strcmp((const char *)sqlite3_column_text(chk, 0), "ok") == 0;
		sqlite3_finalize(chk);
		if (!ok) {
			user->db_corrupt = true;
			i_error("index %s: quick_check failed", user->db_path);
			return -1;
		}
	}
	/* the schema script ends with the version row: when that is there,
	   the tables are (saves parsing the script at every session start) */
	int ver = same_file ? INDEX_SCHEMA_VERSION : schema_version(user);
	if (ver == 0) {
		if (exec(user, schema_sql) < 0)
			return -1;
		ver = schema_version(user);
	}
	if (ver > 0 && ver < INDEX_SCHEMA_VERSION) {
		if (exec(user, schema_upgrade_sql) < 0) {
			if (!sqlite3_get_autocommit(user->db))
				(void)sqlite3_exec(user->db, "ROLLBACK", NULL,
						   NULL, NULL);
			return -1;
		}
		ver = schema_version(user);
	}
	if (ver == -2)
		return -1;
	if (ver != INDEX_SCHEMA_VERSION) {
		i_error("index %s: unknown schema version", user->db_path);
		user->db_corrupt = true;
		return -1;
	}
	ino_t ino = stat(user->db_path, &st) == 0 ? st.st_ino : 0;
	/* a same_file that was replaced between the check and the open
	   counts as another file */
	if (!same_file || ino != user->db_ino) {
		user->db_generation++;
		user->db_ino = ino;
	}
	return 0;
}

void index_db_close(struct mail_user *user)
{
	index_db_lazy_end(user);
	finalize_all(user);
	if (user->db != NULL)
		sqlite3_close(user->db);
	user->db = NULL;
	user->txn_depth = 0;
	if (user->db_hold_fd >= 0)
		close(user->db_hold_fd);
	user->db_hold_fd = -1;
}

static void unlink_db_files(const char *path)
{
	static const char *const suffixes[] = { "", "-wal", "-shm", "-journal" };
	unsigned int i;

	for (i = 0; i < N_ELEMENTS(suffixes); i++) {
		char *p = i_strdup_printf("%s%s", path, suffixes[i]);
		if (unlink(p) < 0 && errno != ENOENT)
			i_error("unlink(%s) failed: %s", p, strerror(errno));
		free(p);
	}
}

int index_db_recreate(struct mail_user *user)
{
	i_warning("index %s is corrupt or unreadable: rebuilding it from "
		  "the Maildir", user->db_path);
	index_db_close(user);
	unlink_db_files(user->db_path);
	user->db_corrupt = false;
	if (try_open(user) < 0) {
		index_db_close(user);
		return -1;
	}
	return 0;
}

int index_db_check_replaced(struct mail_user *user)
{
	struct stat st;
	const char *error;

	index_db_lazy_end(user);
	if (user->db == NULL) {
		/* not opened yet (lazy) or a failed open: open it now */
		return index_db_ensure(user);
	}
	if (user->txn_depth == 0 &&
	    stat(user->db_path, &st) == 0 && st.st_ino == user->db_ino)
		return 0;
	if (user->txn_depth > 0)
		return 0;
	i_warning("index %s was replaced or removed: reopening it",
		  user->db_path);
	index_db_close(user);
	return index_db_open(user, &error);
}

int index_db_open(struct mail_user *user, const char **error_r)
{
	if (user->db_path == NULL) {
		user->db_path = i_strdup_printf("%s/" INDEX_FILE_NAME,
						user->loc.index_dir);
	}
	if (try_open(user) == 0)
		return 0;
	if (user->db_corrupt ||
	    sqlite3_errcode(user->db) == SQLITE_CORRUPT ||
	    sqlite3_errcode(user->db) == SQLITE_NOTADB) {
		if (index_db_recreate(user) == 0)
			return 0;
	}
	index_db_close(user);
	*error_r = "Internal error: can't open the mail index";
	return -1;
}

void index_db_lazy_read(struct mail_user *user)
{
	if (user->txn_depth > 0)
		return; /* inside a transaction already */
	if (index_db_ensure(user) < 0)
		return;
	if (exec_stmt(user, ST_BEGIN) < 0)
		return;
	user->txn_depth = 1;
	user->txn_failed = false;
	user->lazy_read = true;
}

void index_db_lazy_end(struct mail_user *user)
{
	if (!user->lazy_read)
		return;
	user->lazy_read = false;
	/* nested transactions inside it have ended by now */
	user->txn_depth = 0;
	(void)exec_stmt(user, user->txn_failed ? ST_ROLLBACK : ST_COMMIT);
}

bool mail_user_index_is_open(const struct mail_user *user)
{
	return user->db != NULL;
}

void mail_user_release_memory(struct mail_user *user)
{
	if (user->db == NULL || (user->txn_depth > 0 && !user->lazy_read))
		return;
	/* An open connection keeps ~130 kB (schema, prepared statements,
	   page cache) and the WAL's shared-memory map: more than the rest
	   of an idle session. Close it; the next use reopens it (~0.2 ms)
	   and, if it is the same file, carries on where the views were. */
	index_db_close(user);
	/* an fd on the file keeps its inode from being reused by a
	   rebuilt index, so the reopen can tell it is the same file */
	user->db_hold_fd = open(user->db_path, O_RDONLY | O_CLOEXEC);
}

/* reopened after mail_user_release_memory(): is it the file we held? */
static bool index_db_same_file(struct mail_user *user)
{
	struct stat held, cur;
	bool same;

	if (user->db_hold_fd < 0)
		return false;
	same = fstat(user->db_hold_fd, &held) == 0 && held.st_nlink > 0 &&
		stat(user->db_path, &cur) == 0 &&
		held.st_ino == cur.st_ino && held.st_dev == cur.st_dev;
	/* before SQLite opens the file: closing another fd of it would
	   drop SQLite's POSIX locks */
	close(user->db_hold_fd);
	user->db_hold_fd = -1;
	return same;
}

int index_db_begin(struct mail_user *user, bool write)
{
	/* a write must not upgrade an older snapshot (SQLITE_BUSY_SNAPSHOT);
	   a read may share the lazy one */
	if (write)
		index_db_lazy_end(user);
	if (user->txn_depth++ > 0)
		return 0;
	user->txn_failed = false;
	if (exec_stmt(user, write ? ST_BEGIN_IMMEDIATE : ST_BEGIN) < 0) {
		user->txn_depth = 0;
		return -1;
	}
	return 0;
}

int index_db_commit(struct mail_user *user)
{
	if (user->txn_depth == 0 || --user->txn_depth > 0)
		return 0;
	if (user->txn_failed) {
		(void)exec_stmt(user, ST_ROLLBACK);
		return -1;
	}
	if (exec_stmt(user, ST_COMMIT) < 0) {
		(void)exec_stmt(user, ST_ROLLBACK);
		return -1;
	}
	user->commit_count++;
	return 0;
}

void index_db_rollback(struct mail_user *user)
{
	if (user->txn_depth == 0)
		return;
	if (--user->txn_depth > 0) {
		user->txn_failed = true;
		return;
	}
	(void)exec_stmt(user, ST_ROLLBACK);
}

int64_t index_db_data_version(struct mail_user *user)
{
	sqlite3_stmt *st = stmt(user, ST_DATA_VERSION);
	int64_t v = -1;

	if (st != NULL && sqlite3_step(st) == SQLITE_ROW)
		v = sqlite3_column_int64(st, 0);
	if (st != NULL)
		sqlite3_reset(st);
	return v;
}

int index_mailbox_get(struct mail_user *user, const char *dir, bool create,
		      struct index_mailbox_row *row_r)
{
	sqlite3_stmt *st;
	int rc;

	memset(row_r, 0, sizeof(*row_r));
	for (;;) {
		if ((st = stmt(user, ST_MBOX_GET)) == NULL)
			return -1;
		sqlite3_bind_text(st, 1, dir, -1, SQLITE_STATIC);
		rc = sqlite3_step(st);
		if (rc == SQLITE_ROW) {
			row_r->id = sqlite3_column_int64(st, 0);
			row_r->uidvalidity = sqlite3_column_int64(st, 1);
			row_r->uidnext = sqlite3_column_int64(st, 2);
			row_r->highestmodseq = sqlite3_column_int64(st, 3);
			row_r->first_recent_uid = sqlite3_column_int64(st, 4);
			row_r->sig = i_strdup((const char *)
					      sqlite3_column_text(st, 5));
			sqlite3_reset(st);
			return 1;
		}
		sqlite3_reset(st);
		if (rc != SQLITE_DONE)
			return index_db_error(user, rc, "mailbox lookup");
		if (!create)
			return 0;
		if ((st = stmt(user, ST_MBOX_CREATE)) == NULL)
			return -1;
		sqlite3_bind_text(st, 1, dir, -1, SQLITE_STATIC);
		if (step_done(user, st, "mailbox create") < 0)
			return -1;
		create = false;
	}
}

void index_mailbox_row_free(struct index_mailbox_row *row)
{
	i_free(row->sig);
}

int index_mailbox_update(struct mail_user *user,
			 const struct index_mailbox_row *row)
{
	sqlite3_stmt *st = stmt(user, ST_MBOX_UPDATE);

	if (st == NULL)
		return -1;
	sqlite3_bind_int64(st, 1, row->id);
	sqlite3_bind_int64(st, 2, row->uidvalidity);
	sqlite3_bind_int64(st, 3, row->uidnext);
	sqlite3_bind_int64(st, 4, (int64_t)row->highestmodseq);
	sqlite3_bind_int64(st, 5, row->first_recent_uid);
	sqlite3_bind_text(st, 6, row->sig == NULL ? "" : row->sig, -1,
			  SQLITE_STATIC);
	return step_done(user, st, "mailbox update");
}

static int exec_id(struct mail_user *user, const char *sql, int64_t id)
{
	sqlite3_stmt *st;
	int rc = sqlite3_prepare_v2(user->db, sql, -1, &st, NULL);

	if (rc != SQLITE_OK)
		return index_db_error(user, rc, sql);
	sqlite3_bind_int64(st, 1, id);
	rc = sqlite3_step(st);
	sqlite3_finalize(st);
	return rc == SQLITE_DONE ? 0 : index_db_error(user, rc, sql);
}

int index_mailbox_delete(struct mail_user *user, int64_t id)
{
	int ret = 0;

	if (index_db_begin(user, true) < 0)
		return -1;
	if (exec_id(user, "DELETE FROM messages WHERE mailbox = ?1", id) < 0 ||
	    exec_id(user, "DELETE FROM expunges WHERE mailbox = ?1", id) < 0 ||
	    exec_id(user, "DELETE FROM cache WHERE mailbox = ?1", id) < 0 ||
	    exec_id(user, "DELETE FROM cache_header WHERE mailbox = ?1",
		    id) < 0 ||
	    exec_id(user, "DELETE FROM mailboxes WHERE id = ?1", id) < 0)
		ret = -1;
	if (index_db_commit(user) < 0)
		ret = -1;
	return ret;
}

int index_mailbox_rename(struct mail_user *user, const char *olddir,
			 const char *newdir)
{
	static const char sql[] =
		"UPDATE mailboxes SET dir = ?2 || substr(dir, length(?1) + 1) "
		"WHERE dir = ?1 OR substr(dir, 1, length(?1) + 1) = ?1 || '.'";
	sqlite3_stmt *st;
	int rc = sqlite3_prepare_v2(user->db, sql, -1, &st, NULL);

	if (rc != SQLITE_OK)
		return index_db_error(user, rc, "rename");
	sqlite3_bind_text(st, 1, olddir, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, newdir, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	sqlite3_finalize(st);
	return rc == SQLITE_DONE ? 0 : index_db_error(user, rc, "rename");
}

uint64_t index_mailbox_next_modseq(struct mail_user *user, int64_t id)
{
	sqlite3_stmt *st = stmt(user, ST_MBOX_MODSEQ);
	uint64_t modseq = 0;
	int rc;

	if (st == NULL)
		return 0;
	sqlite3_bind_int64(st, 1, id);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		modseq = (uint64_t)sqlite3_column_int64(st, 0);
		rc = sqlite3_step(st);
	}
	sqlite3_reset(st);
	if (rc != SQLITE_DONE)
		(void)index_db_error(user, rc, "modseq");
	return modseq;
}

static void read_msg_row(sqlite3_stmt *st, struct index_msg_row *row)
{
	row->uid = (uint32_t)sqlite3_column_int64(st, 0);
	row->filename = i_strdup((const char *)sqlite3_column_text(st, 1));
	row->flags = (enum mail_flags)sqlite3_column_int(st, 2) &
		MAIL_FLAGS_STORED_MASK;
	row->keywords = i_strdup((const char *)sqlite3_column_text(st, 3));
	row->modseq = (uint64_t)sqlite3_column_int64(st, 4);
	row->internaldate = sqlite3_column_int64(st, 5);
	row->size = (uint64_t)sqlite3_column_int64(st, 6);
	row->vsize = (uint64_t)sqlite3_column_int64(st, 7);
	row->guid = i_strdup((const char *)sqlite3_column_text(st, 8));
}

static void free_msg_row(struct index_msg_row *row)
{
	i_free(row->filename);
	i_free(row->keywords);
	i_free(row->guid);
}

int index_msgs_load(struct mail_user *user, int64_t id, uint64_t min_modseq,
		    struct index_msg_row **rows_r, unsigned int *count_r)
{
	sqlite3_stmt *st = stmt(user, min_modseq == 0 ? ST_MSGS_LOAD :
				ST_MSGS_CHANGED);
	struct index_msg_row *rows = NULL;
	unsigned int count = 0, alloc = 0;
	int rc;

	*rows_r = NULL;
	*count_r = 0;
	if (st == NULL)
		return -1;
	sqlite3_bind_int64(st, 1, id);
	sqlite3_bind_int64(st, 2, (int64_t)min_modseq);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		if (count == alloc) {
			alloc = alloc == 0 ? 64 : alloc * 2;
			rows = i_realloc(rows, alloc * sizeof(*rows));
		}
		read_msg_row(st, &rows[count++]);
	}
	sqlite3_reset(st);
	if (rc != SQLITE_DONE) {
		index_msgs_free(&rows, count);
		return index_db_error(user, rc, "load messages");
	}
	*rows_r = rows;
	*count_r = count;
	return 0;
}

void index_msgs_free(struct index_msg_row **rows, unsigned int count)
{
	unsigned int i;

	if (*rows == NULL)
		return;
	for (i = 0; i < count; i++)
		free_msg_row(&(*rows)[i]);
	i_free(*rows);
}

int index_msg_get(struct mail_user *user, int64_t id, uint32_t uid,
		  struct index_msg_row *row_r)
{
	sqlite3_stmt *st = stmt(user, ST_MSG_GET);
	int rc;

	memset(row_r, 0, sizeof(*row_r));
	if (st == NULL)
		return -1;
	sqlite3_bind_int64(st, 1, id);
	sqlite3_bind_int64(st, 2, uid);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		read_msg_row(st, row_r);
	sqlite3_reset(st);
	if (rc == SQLITE_ROW)
		return 1;
	return rc == SQLITE_DONE ? 0 : index_db_error(user, rc, "get message");
}

void index_msg_row_free(struct index_msg_row *row)
{
	free_msg_row(row);
}

int index_msg_upsert(struct mail_user *user, int64_t id,
		     const struct index_msg_row *row)
{
	sqlite3_stmt *st = stmt(user, ST_MSG_UPSERT);

	if (st == NULL)
		return -1;
	sqlite3_bind_int64(st, 1, id);
	sqlite3_bind_int64(st, 2, row->uid);
	sqlite3_bind_text(st, 3, row->filename, -1, SQLITE_STATIC);
	sqlite3_bind_int(st, 4, (int)(row->flags & MAIL_FLAGS_STORED_MASK));
	sqlite3_bind_text(st, 5, row->keywords == NULL ? "" : row->keywords,
			  -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 6, (int64_t)row->modseq);
	sqlite3_bind_int64(st, 7, row->internaldate);
	sqlite3_bind_int64(st, 8, (int64_t)row->size);
	sqlite3_bind_int64(st, 9, (int64_t)row->vsize);
	sqlite3_bind_text(st, 10, row->guid == NULL ? "" : row->guid, -1,
			  SQLITE_STATIC);
	return step_done(user, st, "store message");
}

int index_msg_delete(struct mail_user *user, int64_t id, uint32_t uid,
		     uint64_t modseq)
{
	sqlite3_stmt *st = stmt(user, ST_MSG_DELETE);

	if (st == NULL)
		return -1;
	sqlite3_bind_int64(st, 1, id);
	sqlite3_bind_int64(st, 2, uid);
	if (step_done(user, st, "delete message") < 0)
		return -1;
	if ((st = stmt(user, ST_EXP_INSERT)) == NULL)
		return -1;
	sqlite3_bind_int64(st, 1, id);
	sqlite3_bind_int64(st, 2, uid);
	sqlite3_bind_int64(st, 3, (int64_t)modseq);
	if (step_done(user, st, "record expunge") < 0)
		return -1;
	if ((st = stmt(user, ST_CACHE_DELETE)) == NULL)
		return -1;
	sqlite3_bind_int64(st, 1, id);
	sqlite3_bind_int64(st, 2, uid);
	if (step_done(user, st, "delete cache") < 0)
		return -1;
	if ((st = stmt(user, ST_HDR_DELETE)) == NULL)
		return -1;
	sqlite3_bind_int64(st, 1, id);
	sqlite3_bind_int64(st, 2, uid);
	return step_done(user, st, "delete cached header");
}

int index_msg_set_vsize(struct mail_user *user, int64_t id, uint32_t uid,
			const char *guid, uint64_t vsize)
{
	sqlite3_stmt *st = stmt(user, ST_MSG_SET_VSIZE);

	if (st == NULL)
		return -1;
	sqlite3_bind_int64(st, 1, id);
	sqlite3_bind_int64(st, 2, uid);
	sqlite3_bind_text(st, 3, guid, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 4, (int64_t)vsize);
	return step_done(user, st, "store vsize");
}

int index_msg_get_vsize(struct mail_user *user, int64_t id, uint32_t uid,
			const char *guid, uint64_t *vsize_r)
{
	sqlite3_stmt *st = stmt(user, ST_MSG_GET_VSIZE);
	int rc;

	*vsize_r = INDEX_VSIZE_UNKNOWN;
	if (st == NULL)
		return -1;
	sqlite3_bind_int64(st, 1, id);
	sqlite3_bind_int64(st, 2, uid);
	sqlite3_bind_text(st, 3, guid, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		*vsize_r = (uint64_t)sqlite3_column_int64(st, 0);
	sqlite3_reset(st);
	if (rc == SQLITE_ROW)
		return 1;
	return rc == SQLITE_DONE ? 0 : index_db_error(user, rc, "get vsize");
}

int index_expunges_since(struct mail_user *user, int64_t id,
			 uint64_t modseq, uint32_t **uids_r,
			 unsigned int *count_r)
{
	sqlite3_stmt *st = stmt(user, ST_EXP_SINCE);
	uint32_t *uids = NULL;
	unsigned int count = 0, alloc = 0;
	int rc;

	*uids_r = NULL;
	*count_r = 0;
	if (st == NULL)
		return -1;
	sqlite3_bind_int64(st, 1, id);
	sqlite3_bind_int64(st, 2, (int64_t)modseq);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		if (count == alloc) {
			alloc = alloc == 0 ? 32 : alloc * 2;
			uids = i_realloc(uids, alloc * sizeof(*uids));
		}
		uids[count++] = (uint32_t)sqlite3_column_int64(st, 0);
	}
	sqlite3_reset(st);
	if (rc != SQLITE_DONE) {
		free(uids);
		return index_db_error(user, rc, "expunges");
	}
	*uids_r = uids;
	*count_r = count;
	return 0;
}

int index_msg_stats(struct mail_user *user, int64_t id,
		    uint32_t first_recent_uid, struct mailbox_status *status)
{
	sqlite3_stmt *st = stmt(user, ST_STATS);
	int rc;

	if (st == NULL)
		return -1;
	sqlite3_bind_int64(st, 1, id);
	sqlite3_bind_int64(st, 2, first_recent_uid);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		status->messages = (uint32_t)sqlite3_column_int64(st, 0);
		status->unseen = (uint32_t)sqlite3_column_int64(st, 1);
		status->recent = (uint32_t)sqlite3_column_int64(st, 2);
	}
	sqlite3_reset(st);
	return rc == SQLITE_ROW ? 0 : index_db_error(user, rc, "status");
}

/* the header block lives in cache_header (CACHE_HEADER_TABLE_SQL) */
static bool cache_field_is_header(const char *field)
{
	return strcmp(field, MAILBOX_CACHE_HEADER_BLOCK) == 0;
}

char *index_cache_get(struct mail_user *user, int64_t id, uint32_t uid,
		      const char *field)
{
	bool hdr = cache_field_is_header(field);
	sqlite3_stmt *st = stmt(user, hdr ? ST_HDR_GET : ST_CACHE_GET);
	char *value = NULL;
	int rc;

	if (st == NULL)
		return NULL;
	sqlite3_bind_int64(st, 1, id);
	sqlite3_bind_int64(st, 2, uid);
	if (!hdr)
		sqlite3_bind_text(st, 3, field, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW && sqlite3_column_type(st, 0) != SQLITE_NULL) {
		const void *p = sqlite3_column_blob(st, 0);
		int len = sqlite3_column_bytes(st, 0);
		value = i_strndup(p == NULL ? "" : p, (size_t)len);
	} else if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
		(void)index_db_error(user, rc, "cache get");
	}
	sqlite3_reset(st);
	return value;
}

int index_cache_get_run(struct mail_user *user, int64_t id, const char *field,
			uint32_t first_uid, size_t max_bytes,
			struct index_cache_value **values_r,
			unsigned int *count_r, uint32_t *last_uid_r)
{
	bool hdr = cache_field_is_header(field);
	sqlite3_stmt *st = stmt(user, hdr ? ST_HDR_RUN : ST_CACHE_RUN);
	struct index_cache_value *values = NULL;
	unsigned int count = 0, alloc = 0;
	size_t bytes = 0;
	uint32_t last_uid = UINT32_MAX;
	int rc;

	*values_r = NULL;
	*count_r = 0;
	if (st == NULL)
		return -1;
	sqlite3_bind_int64(st, 1, id);
	sqlite3_bind_int64(st, 2, first_uid);
	if (!hdr)
		sqlite3_bind_text(st, 3, field, -1, SQLITE_STATIC);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		uint32_t uid = (uint32_t)sqlite3_column_int64(st, 0);
		const void *p = sqlite3_column_blob(st, 1);
		size_t len = (size_t)sqlite3_column_bytes(st, 1);

		if (sqlite3_column_type(st, 1) == SQLITE_NULL)
			continue;
		if (count > 0 && bytes + len > max_bytes) {
			/* the rows of this UID onwards are for another run */
			last_uid = uid - 1;
			rc = SQLITE_DONE;
			break;
		}
		if (count == alloc) {
			alloc = alloc == 0 ? 64 : alloc * 2;
			values = i_realloc(values, alloc * sizeof(*values));
		}
		values[count].uid = uid;
		values[count++].value = i_strndup(p == NULL ? "" : p, len);
		bytes += len;
	}
	sqlite3_reset(st);
	if (rc != SQLITE_DONE) {
		index_cache_values_free(&values, count);
		return index_db_error(user, rc, "cache run");
	}
	*values_r = values;
	*count_r = count;
	*last_uid_r = last_uid;
	return 0;
}

void index_cache_values_free(struct index_cache_value **values,
			     unsigned int count)
{
	if (*values == NULL)
		return;
	for (unsigned int i = 0; i < count; i++)
		free((*values)[i].value);
	i_free(*values);
}

void index_cache_set(struct mail_user *user, int64_t id, uint32_t uid,
		     const char *field, const char *value)
{
	bool hdr = cache_field_is_header(field);
	sqlite3_stmt *st = stmt(user, hdr ? ST_HDR_SET : ST_CACHE_SET);

	if (st == NULL)
		return;
	sqlite3_bind_int64(st, 1, id);
	sqlite3_bind_int64(st, 2, uid);
	if (hdr) {
		sqlite3_bind_text(st, 3, value, -1, SQLITE_STATIC);
	} else {
		sqlite3_bind_text(st, 3, field, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 4, value, -1, SQLITE_STATIC);
	}
	(void)step_done(user, st, "cache set");
}
