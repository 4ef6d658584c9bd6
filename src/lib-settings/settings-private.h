#ifndef LOFT_SETTINGS_PRIVATE_H
#define LOFT_SETTINGS_PRIVATE_H
/* Typed settings tables shared by the parser, the printer and the
   snapshot code: one table per struct (STYLE.md habit 6). */
#include "settings.h"
#include <stddef.h>

enum setting_type {
	SET_STR,      /* char *, "" is stored as NULL */
	SET_BOOL,     /* bool: yes / no */
	SET_UINT,     /* unsigned int */
	SET_PORT,     /* unsigned int, 0..65535 (0 = disabled) */
	SET_OCTAL,    /* unsigned int, written in octal (unix modes) */
	SET_SIZE,     /* uint64_t bytes: "64k", "10M", "unlimited" = 0 */
	SET_TIME,     /* unsigned int seconds: "2 secs", "1 min" */
	SET_LIST,     /* char **, space or comma separated */
	SET_ENUM,     /* char *, one of values */
	SET_ENUM_INT, /* C enum (int): index into values */
	SET_FILE,     /* char * path, written "key = <path" */
};

struct setting_def {
	const char *name;
	enum setting_type type;
	size_t offset;
	const char *default_value; /* as written in dovecot.conf */
	const char *values;        /* SET_ENUM*: "a:b:c" */
};

struct setting_table {
	const char *name;
	const struct setting_def *defs;
	unsigned int count;
};

extern const struct setting_table settings_global_table;
extern const struct setting_table settings_service_table;
extern const struct setting_table settings_inet_listener_table;
extern const struct setting_table settings_unix_listener_table;
extern const struct setting_table settings_auth_db_table;
extern const struct setting_table settings_namespace_table;
extern const struct setting_table settings_mailbox_table;

#define SETTINGS_MAX_SERVICES 256
#define SETTINGS_MAX_LISTENERS 64
#define SETTINGS_MAX_AUTH_DBS 64
#define SETTINGS_MAX_NAMESPACES 256
#define SETTINGS_MAX_MAILBOXES 1024
#define SETTINGS_MAX_FILTERS 1024
#define SETTINGS_MAX_LIST 100000

const struct setting_def *
setting_table_find(const struct setting_table *table, const char *name);
/* Parse value into the field of obj. keyfile = the value came from
   "key = <path" (SET_FILE then keeps the path). Returns 0, or -1 with
   *error_r (caller frees) giving the reason without the setting name. */
int setting_parse(const struct setting_def *def, void *obj, const char *value,
		  bool keyfile, char **error_r);
/* Append the value in dovecot.conf syntax (without quoting). */
void setting_format(const struct setting_def *def, const void *obj,
		    string_t *dest);
bool setting_equals(const struct setting_def *def, const void *a,
		    const void *b);
void setting_table_defaults(const struct setting_table *table, void *obj);
void setting_table_free(const struct setting_table *table, void *obj);
void setting_table_copy(const struct setting_table *table, void *dest,
			const void *src);

/* Known Dovecot 2.3/2.4 settings loft accepts and ignores. context is
   "global", "service", "inet_listener", "unix_listener", "passdb",
   "userdb", "namespace", "mailbox". */
bool settings_known_ignored(const char *context, const char *name);
/* Known Dovecot block names whose contents are skipped with a warning. */
bool settings_known_ignored_block(const char *name);

/* Deep copies and frees of the sub-structs. */
void service_settings_copy(struct service_settings *dest,
			   const struct service_settings *src);
void service_settings_free(struct service_settings *service);
void auth_db_settings_free(struct auth_db_settings *db);
void namespace_settings_free(struct namespace_settings *ns);
void settings_filter_free(struct settings_filter *filter);
/* Add the default services (imap-login, pop3-login, lmtp, auth, imap,
   pop3) to set. */
void settings_add_default_services(struct loft_settings *set);
/* A service as configured when it has no default (all zero + name). */
void settings_service_init(struct service_settings *service, const char *name);
char **settings_list_dup(char *const *list);
char **settings_list_empty(void);
void settings_list_append(char ***list, const char *value);

struct loft_settings *settings_defaults_raw(void);
void settings_add_default_namespace(struct loft_settings *set);
/* Resolve $default_login_user/$default_internal_user service users and
   0 = default process_limit/client_limit/vsz_limit. */
void settings_finish_services(struct loft_settings *set);
void settings_service_resolve(const struct loft_settings *set,
			      struct service_settings *service);
/* key is a "<path" setting (ssl_cert...) or its 2.4 *_file alias
   (*path_alias_r: the value is a plain path). */
bool settings_global_is_file(const char *key, bool *path_alias_r);
bool settings_global_is_implemented(const char *key);

/* Set a global (root level) setting, including 2.4 aliases. Returns 1
   if set, 0 if it is a known but unsupported Dovecot setting, -1 on
   error (*error_r: full message without file:line). */
int settings_set_global(struct loft_settings *set, const char *key,
			const char *value, bool keyfile, char **error_r);

#endif
