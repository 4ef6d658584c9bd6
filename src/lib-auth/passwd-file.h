#ifndef LOFT_PASSWD_FILE_H
#define LOFT_PASSWD_FILE_H
/* Dovecot's passwd-file passdb/userdb
   (https://doc.dovecot.org/configuration_manual/authentication/passwd_file/):

     user:password:uid:gid:(gecos):home:(shell):extra_fields

   Fields after the user are optional; empty ones are unset. extra_fields
   are space-separated "key=value" (or bare "key", e.g. "nologin",
   "nopassword"); keys starting with "userdb_" are userdb fields
   (userdb_mail=maildir:~/Maildir, userdb_uid=...), the others passdb
   fields. Lines starting with '#' and empty lines are ignored; bad lines
   are logged as "passwd-file PATH:LINE: ..." and skipped; the first of
   duplicate users wins.

   Driver args (2.3 "args =" string): [scheme=SCHEME]
   [username_format=FORMAT] PATH, where PATH and FORMAT may hold %u %n
   %d %Lu ... (see auth-var-expand.h); a PATH with variables gives one
   file per expanded value (e.g. /etc/mail/%d/passwd). A file is re-read
   when its mtime, size or inode changes. */
#include "lib.h"
#include "auth-var-expand.h"
#include <sys/types.h>

#define PASSWD_FILE_MAX_LINE 16384
#define PASSWD_FILE_MAX_SIZE (64 * 1024 * 1024)
#define PASSWD_FILE_MAX_EXTRA_FIELDS 256
/* Distinct expanded paths kept open at once (per-domain files). */
#define PASSWD_FILE_MAX_CACHED_FILES 64

struct passwd_user {
	char *user;
	char *password;    /* NULL when the field is missing or empty */
	bool uid_set, gid_set;
	uid_t uid;
	gid_t gid;
	char *gecos;       /* NULL when empty */
	char *home;
	char *shell;
	/* extra fields as written: "key=value" or "key", NULL-terminated */
	char **extra_fields;
};

struct passwd_file;

/* Parse file contents. path is used for log lines only. Bad lines are
   logged with i_error("passwd-file %s:%u: ...") and skipped. Never
   fails; an empty file gives an empty table. */
struct passwd_file *passwd_file_parse(const char *path, const char *data,
				      size_t size);
void passwd_file_free(struct passwd_file **file);
unsigned int passwd_file_count(const struct passwd_file *file);
/* Exact (case-sensitive) lookup; NULL if absent. */
const struct passwd_user *passwd_file_find(const struct passwd_file *file,
					   const char *user);

/* Value of an extra field ("nologin" gives ""), NULL if absent. */
const char *passwd_user_extra_field(const struct passwd_user *pu,
				    const char *key);

struct passwd_file_db;

/* Parse driver args. default_scheme (may be NULL) is 2.4's
   passdb_default_password_scheme; "scheme=" in args overrides it.
   Returns NULL with *error_r (i_malloc'd, caller frees) on bad args. */
struct passwd_file_db *passwd_file_db_create(const char *args,
					     const char *default_scheme,
					     char **error_r);
void passwd_file_db_destroy(struct passwd_file_db **db);
/* The scheme for passwords without a {SCHEME} prefix (default CRYPT). */
const char *passwd_file_db_default_scheme(const struct passwd_file_db *db);
/* The path template, for log lines. */
const char *passwd_file_db_path(const struct passwd_file_db *db);

/* Look up vals->user (after username_format). Re-reads the file if it
   changed. Returns 1 and *user_r (valid until the next lookup on db) if
   found, 0 if not, -1 with *error_r (static text) if the file can't be
   read (a temporary failure). */
int passwd_file_db_lookup(struct passwd_file_db *db,
			  const struct auth_var_values *vals,
			  const struct passwd_user **user_r,
			  const char **error_r);

#endif
