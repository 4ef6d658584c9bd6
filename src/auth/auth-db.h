#ifndef LOFT_AUTH_DB_H
#define LOFT_AUTH_DB_H
/* passdb and userdb drivers of the auth process: passwd-file (passdb and
   userdb), static (userdb) and prefetch (userdb fields from the passdb's
   userdb_ extra fields). */
#include "lib.h"
#include "settings.h"
#include "auth-var-expand.h"

/* Ordered key=value list; keys are unique. */
struct auth_fields {
	char **keys;
	char **values;
	unsigned int count, alloc;
};

void auth_fields_set(struct auth_fields *fields, const char *key,
		     const char *value);
const char *auth_fields_get(const struct auth_fields *fields, const char *key);
void auth_fields_clear(struct auth_fields *fields);

enum auth_db_result {
	AUTH_DB_OK = 0,
	AUTH_DB_NOTFOUND,        /* unknown user */
	AUTH_DB_MISMATCH,        /* password mismatch */
	AUTH_DB_DISABLED,        /* nologin, or found in a deny passdb */
	AUTH_DB_INTERNAL_ERROR,
};

struct auth_passdb {
	char *name;              /* driver name for logs: "passwd-file" */
	bool deny;
	struct passwd_file_db *pwfile;
	/* default_fields / override_fields: their userdb_* fields are
	   added to the prefetched userdb fields (templates, %vars) */
	struct auth_fields default_fields, override_fields;
};

struct auth_userdb {
	char *name;
	struct passwd_file_db *pwfile; /* passwd-file */
	struct auth_fields static_fields; /* static: unexpanded templates */
	/* default_fields / override_fields (templates, %vars): set before /
	   after the fields the userdb found */
	struct auth_fields default_fields, override_fields;
	bool allow_all_users;    /* static */
	bool prefetch;
};

/* Passdb lookup result details. */
struct auth_passdb_result {
	char *canonical_user;          /* "user=" field, or NULL */
	char *reason;                  /* "reason=" with nologin, or NULL */
	struct auth_fields userdb_fields; /* prefetched userdb_ fields */
	const char *error;             /* internal error text (static) */
};

/* Create from settings. Returns NULL with *error_r (caller frees). */
struct auth_passdb *auth_passdb_create(const struct auth_db_settings *set,
				       char **error_r);
void auth_passdb_destroy(struct auth_passdb **passdb);
struct auth_userdb *auth_userdb_create(const struct auth_db_settings *set,
				       char **error_r);
void auth_userdb_destroy(struct auth_userdb **userdb);

/* Verify password (NULL = existence check only, as for USER lookups
   through a static userdb) against one passdb. */
enum auth_db_result
auth_passdb_verify(struct auth_passdb *passdb, const struct auth_var_values *vals,
		   const char *password, struct auth_passdb_result *result_r);
void auth_passdb_result_free(struct auth_passdb_result *result);

/* Userdb lookup; found fields are set into fields (uid/gid resolved to
   numbers). prefetched = the passdb's userdb_ fields or NULL. Returns
   AUTH_DB_OK, AUTH_DB_NOTFOUND or AUTH_DB_INTERNAL_ERROR (*error_r). */
enum auth_db_result
auth_userdb_lookup(struct auth_userdb *userdb, const struct auth_var_values *vals,
		   const struct auth_fields *prefetched,
		   struct auth_fields *fields, const char **error_r);

#endif
