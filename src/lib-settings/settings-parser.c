/* Dovecot-syntax config parser (doc.dovecot.org, config file syntax of
   2.3 and 2.4): one statement per line, "key = value", "# comment",
   quoted values, "key = <file", "!include[_try] glob", "type [name] {"
   blocks closed by "}", "\" line continuation and $variables. */
#include "settings-private.h"
#include <stdlib.h>
#include <stdio.h>
#include <errno.h>
#include <glob.h>
#include <limits.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#define CONFIG_MAX_LINE_LENGTH (64 * 1024)
#define CONFIG_MAX_INCLUDE_DEPTH 16
#define CONFIG_MAX_BLOCK_DEPTH 16
#define CONFIG_MAX_FILE_SIZE (16 * 1024 * 1024)
#define CONFIG_MAX_TOTAL_SIZE (64 * 1024 * 1024)
#define CONFIG_MAX_WARNINGS 1000

#define IS_WHITE(c) ((c) == ' ' || (c) == '\t')

enum block_type {
	BLOCK_ROOT, BLOCK_SERVICE, BLOCK_INET, BLOCK_UNIX, BLOCK_PASSDB,
	BLOCK_USERDB, BLOCK_DB_FIELDS, BLOCK_NAMESPACE, BLOCK_MAILBOX,
	BLOCK_FILTER, BLOCK_PLUGIN, BLOCK_LIST, BLOCK_SKIP,
};

struct config_block {
	enum block_type type;
	unsigned int idx, idx2;
	const struct setting_def *list_def;
	char *desc;   /* "service imap-login" */
	char *file;
	unsigned int line;
};

struct config_parser {
	struct loft_settings *set;
	struct loft_settings *scratch; /* validates filter settings */
	struct config_block blocks[CONFIG_MAX_BLOCK_DEPTH + 1];
	unsigned int depth;
	unsigned int include_depth;
	size_t total_size;
	const char *file;
	unsigned int line;
	char *error;
	unsigned int warnings_count;

	/* $variables: last raw value of each root setting */
	char **var_names, **var_values;
	unsigned int vars_count;

	/* 2.4 mail_driver + mail_path ... -> mail_location */
	char *mail_driver, *mail_path, *mail_index_path, *mail_control_path;
	char *mail_inbox_path;
	char *passdb_default_password_scheme;
};

static int config_parse_data(struct config_parser *ctx, const char *path,
			     const char *data, size_t size);

static int ATTR_FORMAT(2, 3)
ctx_error(struct config_parser *ctx, const char *fmt, ...)
{
	va_list args;
	if (ctx->error != NULL)
		return -1;
	va_start(args, fmt);
	char *msg = i_strdup_vprintf(fmt, args);
	va_end(args);
	ctx->error = i_strdup_printf("%s:%u: %s", ctx->file, ctx->line, msg);
	free(msg);
	return -1;
}

static void ATTR_FORMAT(2, 3)
ctx_warning(struct config_parser *ctx, const char *fmt, ...)
{
	va_list args;
	if (ctx->warnings_count >= CONFIG_MAX_WARNINGS)
		return;
	va_start(args, fmt);
	char *msg = i_strdup_vprintf(fmt, args);
	va_end(args);
	char *line = i_strdup_printf("%s:%u: %s", ctx->file, ctx->line, msg);
	settings_list_append(&ctx->set->warnings, line);
	ctx->warnings_count++;
	free(line);
	free(msg);
}

static void ctx_unsupported(struct config_parser *ctx, const char *key)
{
	ctx_warning(ctx, "setting %s is not supported yet, ignored", key);
}

/* ---- variables ---- */

static void var_set(struct config_parser *ctx, const char *key,
		    const char *value)
{
	for (unsigned int i = 0; i < ctx->vars_count; i++) {
		if (strcmp(ctx->var_names[i], key) == 0) {
			free(ctx->var_values[i]);
			ctx->var_values[i] = i_strdup(value);
			return;
		}
	}
	ctx->var_names = i_realloc(ctx->var_names,
		sizeof(char *) * (ctx->vars_count + 1));
	ctx->var_values = i_realloc(ctx->var_values,
		sizeof(char *) * (ctx->vars_count + 1));
	ctx->var_names[ctx->vars_count] = i_strdup(key);
	ctx->var_values[ctx->vars_count++] = i_strdup(value);
}

/* Value of $name: the last value set in the file, else the default.
   Returns NULL if name is no setting (the text stays literal). */
static const char *var_get(struct config_parser *ctx, const char *name)
{
	for (unsigned int i = 0; i < ctx->vars_count; i++) {
		if (strcmp(ctx->var_names[i], name) == 0)
			return ctx->var_values[i];
	}
	const struct setting_def *def =
		setting_table_find(&settings_global_table, name);
	if (def != NULL)
		return def->default_value;
	if (settings_global_is_implemented(name) ||
	    settings_known_ignored("global", name))
		return "";
	return NULL;
}

static bool is_var_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		(c >= '0' && c <= '9') || c == '_';
}

static int expand_vars(struct config_parser *ctx, const char *value,
		       char **result_r)
{
	string_t *str = str_new(strlen(value) + 16);
	const char *p = value;

	while (*p != '\0') {
		if (*p != '$') {
			str_append_c(str, *p++);
			continue;
		}
		const char *start = p + 1;
		bool env = false;
		if (str_begins(start, "ENV:")) {
			env = true;
			start += 4;
		} else if (str_begins(start, "SET:")) {
			start += 4;
		}
		const char *end = start;
		while (is_var_char(*end))
			end++;
		char *name = i_strndup(start, (size_t)(end - start));
		const char *val = name[0] == '\0' ? NULL :
			env ? getenv(name) : var_get(ctx, name);
		if (env && val == NULL)
			val = "";
		free(name);
		if (val == NULL) {
			/* not a setting: keep "$" literally (crypt hashes
			   such as "$6$..." must survive) */
			str_append_c(str, *p++);
			continue;
		}
		str_append(str, val);
		p = end;
		if (str_len(str) > CONFIG_MAX_LINE_LENGTH) {
			str_free(&str);
			return ctx_error(ctx, "Value too long after $variable "
					 "expansion (max %u bytes)",
					 CONFIG_MAX_LINE_LENGTH);
		}
	}
	*result_r = str_free_without_data(&str);
	return 0;
}

/* ---- blocks ---- */

static struct config_block *cur_block(struct config_parser *ctx)
{
	return &ctx->blocks[ctx->depth];
}

static struct service_settings *block_service(struct config_parser *ctx,
					      const struct config_block *b)
{
	return &ctx->set->services[b->idx];
}

static struct auth_db_settings *block_db(struct config_parser *ctx,
					 const struct config_block *b)
{
	return b->type == BLOCK_PASSDB || (b->type == BLOCK_DB_FIELDS &&
					   b->idx2 == 1) ?
		&ctx->set->passdbs[b->idx] : &ctx->set->userdbs[b->idx];
}

static struct settings_filter *block_filter(struct config_parser *ctx,
					    const struct config_block *b)
{
	return &ctx->set->filters[b->idx];
}

/* ---- key = value ---- */

static void mail_location_rebuild(struct config_parser *ctx)
{
	const char *driver = ctx->mail_driver;
	const char *path = ctx->mail_path;
	if (driver == NULL) {
		if (path == NULL)
			return;
		driver = "maildir";
	}
	if (path == NULL)
		path = strcmp(driver, "maildir") == 0 ? "~/Maildir" : "~/mail";
	string_t *str = str_new(128);
	str_printfa(str, "%s:%s", driver, path);
	if (ctx->mail_index_path != NULL)
		str_printfa(str, ":INDEX=%s", ctx->mail_index_path);
	if (ctx->mail_control_path != NULL)
		str_printfa(str, ":CONTROL=%s", ctx->mail_control_path);
	if (ctx->mail_inbox_path != NULL)
		str_printfa(str, ":INBOX=%s", ctx->mail_inbox_path);
	free(ctx->set->mail_location);
	ctx->set->mail_location = str_free_without_data(&str);
}

/* 2.4 settings combined at the end: mail_driver + mail_path ... */
static char **mail_24_field(struct config_parser *ctx, const char *key)
{
	if (strcmp(key, "mail_driver") == 0)
		return &ctx->mail_driver;
	if (strcmp(key, "mail_path") == 0)
		return &ctx->mail_path;
	if (strcmp(key, "mail_index_path") == 0)
		return &ctx->mail_index_path;
	if (strcmp(key, "mail_control_path") == 0)
		return &ctx->mail_control_path;
	if (strcmp(key, "mail_inbox_path") == 0)
		return &ctx->mail_inbox_path;
	if (strcmp(key, "passdb_default_password_scheme") == 0)
		return &ctx->passdb_default_password_scheme;
	return NULL;
}

static int root_setting(struct config_parser *ctx, const char *key,
			const char *value, bool keyfile)
{
	char **field = mail_24_field(ctx, key);
	char *error;
	int ret;

	if (field != NULL) {
		free(*field);
		*field = value[0] == '\0' ? NULL : i_strdup(value);
		mail_location_rebuild(ctx);
		var_set(ctx, key, value);
		return 0;
	}
	ret = settings_set_global(ctx->set, key, value, keyfile, &error);
	if (ret < 0) {
		ctx_error(ctx, "%s", error);
		free(error);
		return -1;
	}
	if (ret == 0)
		ctx_unsupported(ctx, key);
	var_set(ctx, key, value);
	return 0;
}

/* A setting only one protocol reads can be applied globally even when
   it is inside "protocol NAME { }". */
static bool setting_is_protocol_only(const char *key, const char *protocol)
{
	if (str_begins(key, "imap_"))
		return strcmp(protocol, "imap") == 0;
	if (str_begins(key, "pop3_"))
		return strcmp(protocol, "pop3") == 0;
	if (str_begins(key, "lmtp_") || str_begins(key, "lda_") ||
	    strcmp(key, "postmaster_address") == 0 ||
	    strcmp(key, "recipient_delimiter") == 0)
		return strcmp(protocol, "lmtp") == 0 ||
			strcmp(protocol, "lda") == 0;
	return false;
}

static int filter_setting(struct config_parser *ctx, const char *key,
			  const char *value, bool keyfile)
{
	struct settings_filter *f = block_filter(ctx, cur_block(ctx));
	char *error, *line;
	int ret;

	if (mail_24_field(ctx, key) != NULL) {
		ctx_warning(ctx, "setting %s inside a filter block is not "
			    "supported yet, ignored", key);
		return 0;
	}
	ret = settings_set_global(ctx->scratch, key, value, keyfile, &error);
	if (ret < 0) {
		ctx_error(ctx, "%s", error);
		free(error);
		return -1;
	}
	if (ret == 0) {
		ctx_unsupported(ctx, key);
		return 0;
	}
	line = i_strdup_printf("%s=%s%s", key, keyfile ? "<" : "", value);
	settings_list_append(&f->settings, line);
	free(line);
	if (f->protocol != NULL && f->local == NULL && f->remote == NULL &&
	    f->local_name == NULL &&
	    setting_is_protocol_only(key, f->protocol)) {
		if (settings_set_global(ctx->set, key, value, keyfile,
					&error) < 0) {
			/* validated above on the scratch copy */
			free(error);
		}
	}
	return 0;
}

static int table_setting(struct config_parser *ctx,
			 const struct setting_table *table, const char *context,
			 void *obj, const char *key, const char *value)
{
	const struct setting_def *def = setting_table_find(table, key);
	char *error;

	if (def == NULL) {
		if (settings_known_ignored(context, key)) {
			ctx_unsupported(ctx, key);
			return 0;
		}
		return ctx_error(ctx, "Unknown setting: %s", key);
	}
	if (def->type == SET_FILE)
		return ctx_error(ctx, "Invalid setting %s: must be a path", key);
	if (setting_parse(def, obj, value, false, &error) < 0) {
		ctx_error(ctx, "Invalid setting %s: %s", key, error);
		free(error);
		return -1;
	}
	return 0;
}

static int auth_db_setting(struct config_parser *ctx, const char *key,
			   const char *value)
{
	struct config_block *b = cur_block(ctx);
	struct auth_db_settings *db = block_db(ctx, b);
	const char *context = b->type == BLOCK_PASSDB ? "passdb" : "userdb";
	const char *prefix = b->type == BLOCK_PASSDB ? "passdb_" : "userdb_";

	/* 2.4 allows the filter's prefix inside the block */
	if (setting_table_find(&settings_auth_db_table, key) == NULL &&
	    str_begins(key, prefix))
		key += strlen(prefix);
	if (strcmp(key, "name") == 0) {
		free(db->name);
		db->name = value[0] == '\0' ? NULL : i_strdup(value);
		return 0;
	}
	if (strcmp(key, "passwd_file_path") == 0)
		key = "args";
	else if (strcmp(key, "passwd_file_default_password_scheme") == 0)
		key = "default_password_scheme";
	if (strcmp(key, "result_success") == 0) {
		static const char *const values[] = {
			"return-ok", "return", "return-fail", "continue",
			"continue-ok", "continue-fail", NULL };
		for (unsigned int i = 0; values[i] != NULL; i++) {
			if (strcmp(values[i], value) == 0) {
				db->pass = str_begins(value, "continue");
				return 0;
			}
		}
		return ctx_error(ctx, "Invalid setting %s: Invalid value '%s'",
				 key, value);
	}
	return table_setting(ctx, &settings_auth_db_table, context, db,
			     key, value);
}

static int db_fields_setting(struct config_parser *ctx, const char *key,
			     const char *value)
{
	struct auth_db_settings *db = block_db(ctx, cur_block(ctx));
	string_t *str = str_new(128);
	if (db->default_fields != NULL)
		str_printfa(str, "%s ", db->default_fields);
	str_printfa(str, "%s=%s", key, value);
	free(db->default_fields);
	db->default_fields = str_free_without_data(&str);
	return 0;
}

static int list_block_setting(struct config_parser *ctx, const char *key,
			      const char *value)
{
	const struct setting_def *def = cur_block(ctx)->list_def;
	char ***list = (char ***)((char *)ctx->set + def->offset);
	unsigned int i, n = str_array_length(*list);
	bool found = false;

	for (i = 0; i < n; i++) {
		if (strcmp((*list)[i], key) == 0) {
			found = true;
			break;
		}
	}
	if (strcasecmp(value, "yes") == 0) {
		if (!found)
			settings_list_append(list, key);
	} else if (strcasecmp(value, "no") == 0) {
		if (found) {
			free((*list)[i]);
			memmove(*list + i, *list + i + 1,
				sizeof(char *) * (n - i));
		}
	} else {
		return ctx_error(ctx, "Invalid setting %s: Invalid boolean "
				 "value '%s' (use yes or no)", key, value);
	}
	return 0;
}

static int block_setting(struct config_parser *ctx, const char *key,
			 const char *value, bool keyfile)
{
	struct config_block *b = cur_block(ctx);
	char *line;

	if (keyfile && b->type != BLOCK_ROOT && b->type != BLOCK_FILTER &&
	    b->type != BLOCK_SKIP)
		return ctx_error(ctx, "Invalid setting %s: '<' file values "
				 "are not supported here", key);
	switch (b->type) {
	case BLOCK_ROOT:
		return root_setting(ctx, key, value, keyfile);
	case BLOCK_FILTER:
		return filter_setting(ctx, key, value, keyfile);
	case BLOCK_SERVICE:
		if (strcmp(key, "restart_request_count") == 0)
			key = "service_count";
		return table_setting(ctx, &settings_service_table, "service",
				     block_service(ctx, b), key, value);
	case BLOCK_INET:
		return table_setting(ctx, &settings_inet_listener_table,
				     "inet_listener",
				     &block_service(ctx, b)->inet_listeners[b->idx2],
				     key, value);
	case BLOCK_UNIX: {
		struct unix_listener_settings *l =
			&block_service(ctx, b)->unix_listeners[b->idx2];
		if (strcmp(key, "path") == 0 && value[0] != '\0') {
			free(l->path);
			l->path = i_strdup(value);
			return 0;
		}
		return table_setting(ctx, &settings_unix_listener_table,
				     "unix_listener", l, key, value);
	}
	case BLOCK_PASSDB:
	case BLOCK_USERDB:
		return auth_db_setting(ctx, key, value);
	case BLOCK_DB_FIELDS:
		return db_fields_setting(ctx, key, value);
	case BLOCK_NAMESPACE:
		if (strcmp(key, "list") == 0 && strcmp(value, "children") == 0)
			value = "yes";
		return table_setting(ctx, &settings_namespace_table,
				     "namespace", &ctx->set->namespaces[b->idx],
				     key, value);
	case BLOCK_MAILBOX:
		return table_setting(ctx, &settings_mailbox_table, "mailbox",
			&ctx->set->namespaces[b->idx].mailboxes[b->idx2],
			key, value);
	case BLOCK_PLUGIN:
		line = i_strdup_printf("%s=%s", key, value);
		settings_list_append(&ctx->set->plugin_settings, line);
		free(line);
		return 0;
	case BLOCK_LIST:
		return list_block_setting(ctx, key, value);
	case BLOCK_SKIP:
		return 0;
	}
	return ctx_error(ctx, "Internal error: bad block type");
}

/* ---- block begin / end ---- */

static unsigned int
find_or_add_service(struct config_parser *ctx, const char *name)
{
	struct loft_settings *set = ctx->set;
	for (unsigned int i = 0; i < set->services_count; i++) {
		if (strcmp(set->services[i].name, name) == 0)
			return i;
	}
	if (set->services_count >= SETTINGS_MAX_SERVICES) {
		ctx_error(ctx, "Too many service blocks");
		return UINT_MAX;
	}
	set->services = i_realloc(set->services,
		sizeof(*set->services) * (set->services_count + 1));
	settings_service_init(&set->services[set->services_count], name);
	return set->services_count++;
}

static unsigned int
find_or_add_listener(struct config_parser *ctx, struct service_settings *s,
		     bool inet, const char *name)
{
	unsigned int count = inet ? s->inet_listeners_count :
		s->unix_listeners_count;
	for (unsigned int i = 0; i < count; i++) {
		const char *n = inet ? s->inet_listeners[i].name :
			s->unix_listeners[i].path;
		if (strcmp(n, name) == 0)
			return i;
	}
	if (count >= SETTINGS_MAX_LISTENERS) {
		ctx_error(ctx, "Too many listeners in service %s", s->name);
		return UINT_MAX;
	}
	if (inet) {
		s->inet_listeners = i_realloc(s->inet_listeners,
			sizeof(*s->inet_listeners) * (count + 1));
		struct inet_listener_settings *l = &s->inet_listeners[count];
		memset(l, 0, sizeof(*l));
		setting_table_defaults(&settings_inet_listener_table, l);
		l->name = i_strdup(name);
		s->inet_listeners_count++;
	} else {
		s->unix_listeners = i_realloc(s->unix_listeners,
			sizeof(*s->unix_listeners) * (count + 1));
		struct unix_listener_settings *l = &s->unix_listeners[count];
		memset(l, 0, sizeof(*l));
		setting_table_defaults(&settings_unix_listener_table, l);
		l->path = i_strdup(name);
		s->unix_listeners_count++;
	}
	return count;
}

static unsigned int add_auth_db(struct config_parser *ctx, bool passdb,
				const char *name)
{
	struct auth_db_settings **dbs = passdb ? &ctx->set->passdbs :
		&ctx->set->userdbs;
	unsigned int *count = passdb ? &ctx->set->passdbs_count :
		&ctx->set->userdbs_count;
	if (*count >= SETTINGS_MAX_AUTH_DBS) {
		ctx_error(ctx, "Too many %s blocks", passdb ? "passdb" : "userdb");
		return UINT_MAX;
	}
	*dbs = i_realloc(*dbs, sizeof(**dbs) * (*count + 1));
	struct auth_db_settings *db = &(*dbs)[*count];
	memset(db, 0, sizeof(*db));
	setting_table_defaults(&settings_auth_db_table, db);
	db->name = name == NULL ? NULL : i_strdup(name);
	return (*count)++;
}

static unsigned int find_or_add_namespace(struct config_parser *ctx,
					  const char *name)
{
	struct loft_settings *set = ctx->set;
	for (unsigned int i = 0; name != NULL && i < set->namespaces_count; i++) {
		if (set->namespaces[i].name != NULL &&
		    strcmp(set->namespaces[i].name, name) == 0)
			return i;
	}
	if (set->namespaces_count >= SETTINGS_MAX_NAMESPACES) {
		ctx_error(ctx, "Too many namespace blocks");
		return UINT_MAX;
	}
	set->namespaces = i_realloc(set->namespaces,
		sizeof(*set->namespaces) * (set->namespaces_count + 1));
	struct namespace_settings *ns = &set->namespaces[set->namespaces_count];
	memset(ns, 0, sizeof(*ns));
	setting_table_defaults(&settings_namespace_table, ns);
	ns->name = name == NULL ? NULL : i_strdup(name);
	return set->namespaces_count++;
}

static unsigned int find_or_add_mailbox(struct config_parser *ctx,
					struct namespace_settings *ns,
					const char *name)
{
	for (unsigned int i = 0; i < ns->mailboxes_count; i++) {
		if (strcmp(ns->mailboxes[i].name, name) == 0)
			return i;
	}
	if (ns->mailboxes_count >= SETTINGS_MAX_MAILBOXES) {
		ctx_error(ctx, "Too many mailbox blocks");
		return UINT_MAX;
	}
	ns->mailboxes = i_realloc(ns->mailboxes,
		sizeof(*ns->mailboxes) * (ns->mailboxes_count + 1));
	struct mailbox_settings *box = &ns->mailboxes[ns->mailboxes_count];
	memset(box, 0, sizeof(*box));
	setting_table_defaults(&settings_mailbox_table, box);
	box->name = i_strdup(name);
	return ns->mailboxes_count++;
}

static unsigned int add_filter(struct config_parser *ctx, const char *type,
			       const char *name)
{
	struct loft_settings *set = ctx->set;
	const struct config_block *parent = cur_block(ctx);

	if (set->filters_count >= SETTINGS_MAX_FILTERS) {
		ctx_error(ctx, "Too many filter blocks");
		return UINT_MAX;
	}
	set->filters = i_realloc(set->filters,
		sizeof(*set->filters) * (set->filters_count + 1));
	struct settings_filter *f = &set->filters[set->filters_count];
	memset(f, 0, sizeof(*f));
	if (parent->type == BLOCK_FILTER) {
		const struct settings_filter *pf = &set->filters[parent->idx];
		f->protocol = i_strdup(pf->protocol);
		f->local = i_strdup(pf->local);
		f->remote = i_strdup(pf->remote);
		f->local_name = i_strdup(pf->local_name);
	}
	char **field = strcmp(type, "protocol") == 0 ? &f->protocol :
		strcmp(type, "local") == 0 ? &f->local :
		strcmp(type, "remote") == 0 ? &f->remote : &f->local_name;
	free(*field);
	*field = i_strdup(name);
	f->settings = settings_list_empty();
	return set->filters_count++;
}

static bool is_filter_type(const char *type)
{
	return strcmp(type, "protocol") == 0 || strcmp(type, "local") == 0 ||
		strcmp(type, "remote") == 0 || strcmp(type, "local_name") == 0;
}

/* Decide what kind of block "type name {" opens inside parent. */
static int block_open(struct config_parser *ctx, const char *type,
		      const char *name, struct config_block *b)
{
	const struct config_block *parent = cur_block(ctx);
	bool root = parent->type == BLOCK_ROOT;
	const struct setting_def *def;

	b->idx = b->idx2 = UINT_MAX;
	switch (parent->type) {
	case BLOCK_SKIP:
		b->type = BLOCK_SKIP;
		return 0;
	case BLOCK_ROOT:
	case BLOCK_FILTER:
		if (is_filter_type(type)) {
			if (name == NULL)
				return ctx_error(ctx, "%s block needs a name", type);
			b->type = BLOCK_FILTER;
			b->idx = add_filter(ctx, type, name);
			break;
		}
		if (!root && (strcmp(type, "service") == 0 ||
			      strcmp(type, "passdb") == 0 ||
			      strcmp(type, "userdb") == 0 ||
			      strcmp(type, "namespace") == 0 ||
			      strcmp(type, "plugin") == 0)) {
			ctx_warning(ctx, "%s block inside a filter block is "
				    "not supported yet, ignored", type);
			b->type = BLOCK_SKIP;
			return 0;
		}
		if (strcmp(type, "service") == 0) {
			if (name == NULL)
				return ctx_error(ctx, "service block needs a name");
			b->type = BLOCK_SERVICE;
			b->idx = find_or_add_service(ctx, name);
		} else if (strcmp(type, "passdb") == 0 ||
			   strcmp(type, "userdb") == 0) {
			bool passdb = type[0] == 'p';
			b->type = passdb ? BLOCK_PASSDB : BLOCK_USERDB;
			b->idx = add_auth_db(ctx, passdb, name);
		} else if (strcmp(type, "namespace") == 0) {
			b->type = BLOCK_NAMESPACE;
			b->idx = find_or_add_namespace(ctx, name);
		} else if (strcmp(type, "plugin") == 0) {
			b->type = BLOCK_PLUGIN;
			return 0;
		} else if ((def = setting_table_find(&settings_global_table,
						     type)) != NULL &&
			   def->type == SET_LIST && root) {
			b->type = BLOCK_LIST;
			b->list_def = def;
			return 0;
		} else if (settings_known_ignored_block(type) ||
			   settings_known_ignored("global", type)) {
			ctx_warning(ctx, "%s block is not supported yet, ignored",
				    type);
			b->type = BLOCK_SKIP;
			return 0;
		} else {
			return ctx_error(ctx, "Unknown section: %s", type);
		}
		break;
	case BLOCK_SERVICE:
		if (strcmp(type, "inet_listener") == 0 ||
		    strcmp(type, "unix_listener") == 0) {
			bool inet = type[0] == 'i';
			if (name == NULL)
				return ctx_error(ctx, "%s block needs a name", type);
			b->type = inet ? BLOCK_INET : BLOCK_UNIX;
			b->idx = parent->idx;
			b->idx2 = find_or_add_listener(ctx,
				block_service(ctx, parent), inet, name);
		} else if (strcmp(type, "fifo_listener") == 0) {
			ctx_warning(ctx, "fifo_listener is not supported yet, ignored");
			b->type = BLOCK_SKIP;
			return 0;
		} else {
			return ctx_error(ctx, "Unknown section: %s", type);
		}
		break;
	case BLOCK_NAMESPACE:
		if (strcmp(type, "mailbox") != 0)
			return ctx_error(ctx, "Unknown section: %s", type);
		if (name == NULL)
			return ctx_error(ctx, "mailbox block needs a name");
		b->type = BLOCK_MAILBOX;
		b->idx = parent->idx;
		b->idx2 = find_or_add_mailbox(ctx,
			&ctx->set->namespaces[parent->idx], name);
		break;
	case BLOCK_PASSDB:
	case BLOCK_USERDB:
		if (strcmp(type, "fields") != 0)
			return ctx_error(ctx, "Unknown section: %s", type);
		b->type = BLOCK_DB_FIELDS;
		b->idx = parent->idx;
		b->idx2 = parent->type == BLOCK_PASSDB ? 1 : 0;
		return 0;
	default:
		return ctx_error(ctx, "Unknown section: %s", type);
	}
	return b->idx == UINT_MAX || ctx->error != NULL ? -1 : 0;
}

static int block_begin(struct config_parser *ctx, const char *type,
		       const char *name)
{
	struct config_block b;

	if (ctx->depth >= CONFIG_MAX_BLOCK_DEPTH)
		return ctx_error(ctx, "Blocks nested too deeply (max %u)",
				 CONFIG_MAX_BLOCK_DEPTH);
	memset(&b, 0, sizeof(b));
	if (block_open(ctx, type, name, &b) < 0)
		return -1;
	b.desc = name == NULL ? i_strdup(type) :
		i_strdup_printf("%s %s", type, name);
	b.file = i_strdup(ctx->file);
	b.line = ctx->line;
	ctx->blocks[++ctx->depth] = b;
	return 0;
}

static void block_close_db(struct auth_db_settings *db)
{
	/* 2.4: "passdb passwd-file { }" names the driver */
	if (db->driver == NULL && db->name != NULL)
		db->driver = i_strdup(db->name);
}

static int block_end(struct config_parser *ctx)
{
	if (ctx->depth == 0)
		return ctx_error(ctx, "Unexpected '}'");
	struct config_block *b = cur_block(ctx);
	if (b->type == BLOCK_PASSDB || b->type == BLOCK_USERDB)
		block_close_db(block_db(ctx, b));
	free(b->desc);
	free(b->file);
	memset(b, 0, sizeof(*b));
	ctx->depth--;
	return 0;
}

/* ---- lines ---- */

static char *unescape(const char *s, size_t len)
{
	string_t *str = str_new(len + 1);
	for (size_t i = 0; i < len; i++) {
		if (s[i] == '\\' && i + 1 < len) {
			i++;
			switch (s[i]) {
			case 'n': str_append_c(str, '\n'); break;
			case 't': str_append_c(str, '\t'); break;
			case 'r': str_append_c(str, '\r'); break;
			default: str_append_c(str, s[i]); break;
			}
		} else {
			str_append_c(str, s[i]);
		}
	}
	return str_free_without_data(&str);
}

/* Directory part of path + "/" + rel, unless rel is absolute. The
   result is made absolute, so that paths kept in the settings (ssl_cert)
   still work after the master changes its directory. */
static char *path_relative(const char *path, const char *rel)
{
	char cwd[4096];
	char *result;

	if (rel[0] == '/')
		return i_strdup(rel);
	const char *slash = strrchr(path, '/');
	if (slash == NULL)
		result = i_strdup(rel);
	else
		result = i_strdup_printf("%.*s/%s", (int)(slash - path), path, rel);
	if (result[0] != '/' && getcwd(cwd, sizeof(cwd)) != NULL) {
		char *abs = i_strdup_printf("%s/%s", cwd, result);
		free(result);
		result = abs;
	}
	return result;
}

static int config_include_file(struct config_parser *ctx, const char *path,
			       bool try)
{
	char *data;
	size_t size;

	if (read_file(path, CONFIG_MAX_FILE_SIZE, &data, &size) < 0) {
		if (try && errno == ENOENT)
			return 0;
		if (errno == EFBIG)
			return ctx_error(ctx, "!include %s: file too large "
					 "(max %u bytes)", path,
					 CONFIG_MAX_FILE_SIZE);
		return ctx_error(ctx, "!include %s: open(%s) failed: %s",
				 path, path, strerror(errno));
	}
	const char *old_file = ctx->file;
	unsigned int old_line = ctx->line;
	int ret = config_parse_data(ctx, path, data, size);
	ctx->file = old_file;
	ctx->line = old_line;
	free(data);
	return ret;
}

static int config_include(struct config_parser *ctx, const char *pattern,
			  bool try)
{
	char *path = path_relative(ctx->file, pattern);
	int ret = 0;

	if (ctx->include_depth >= CONFIG_MAX_INCLUDE_DEPTH) {
		free(path);
		return ctx_error(ctx, "!include nested too deeply (max %u)",
				 CONFIG_MAX_INCLUDE_DEPTH);
	}
	ctx->include_depth++;
	if (strpbrk(pattern, "*?[") == NULL) {
		ret = config_include_file(ctx, path, try);
	} else {
		glob_t g;
		int gret = glob(path, GLOB_BRACE, NULL, &g);
		if (gret == 0) {
			for (size_t i = 0; i < g.gl_pathc && ret == 0; i++)
				ret = config_include_file(ctx, g.gl_pathv[i], try);
			globfree(&g);
		} else if (gret == GLOB_NOMATCH) {
			if (!try)
				ret = ctx_error(ctx, "!include %s: No matches",
						path);
		} else {
			ret = ctx_error(ctx, "!include %s: glob() failed", path);
		}
	}
	ctx->include_depth--;
	free(path);
	return ret;
}

static int read_keyfile(struct config_parser *ctx, const char *key,
			const char *path, char **value_r)
{
	char *data;
	size_t size;
	if (read_file(path, CONFIG_MAX_LINE_LENGTH, &data, &size) < 0) {
		return ctx_error(ctx, "Invalid setting %s: read(%s) failed: %s",
				 key, path, errno == EFBIG ?
				 "File too large" : strerror(errno));
	}
	if (memchr(data, '\0', size) != NULL) {
		free(data);
		return ctx_error(ctx, "Invalid setting %s: %s contains NUL",
				 key, path);
	}
	while (size > 0 && (data[size - 1] == '\n' || data[size - 1] == '\r'))
		data[--size] = '\0';
	*value_r = data;
	return 0;
}

static int parse_keyvalue(struct config_parser *ctx, const char *key,
			  const char *value)
{
	size_t len = strlen(value);
	char *final = NULL;
	bool keyfile = false;
	int ret;

	if (key[0] == '\0')
		return ctx_error(ctx, "Missing setting name before '='");
	enum block_type type = cur_block(ctx)->type;
	if (value[0] == '<' && type != BLOCK_ROOT && type != BLOCK_FILTER &&
	    type != BLOCK_SKIP)
		return ctx_error(ctx, "Invalid setting %s: '<' file values "
				 "are not supported here", key);
	if (value[0] == '<') {
		bool path_alias;
		const char *p = value + 1;
		while (IS_WHITE(*p))
			p++;
		char *path = path_relative(ctx->file, p);
		if (settings_global_is_file(key, &path_alias) || 
		    cur_block(ctx)->type == BLOCK_SKIP ||
		    (!settings_global_is_implemented(key) &&
		     cur_block(ctx)->type == BLOCK_ROOT)) {
			/* keep the path: TLS code loads it, and unsupported
			   settings (ssl_dh) need no file */
			final = path;
			keyfile = settings_global_is_file(key, &path_alias) &&
				!path_alias;
		} else {
			ret = read_keyfile(ctx, key, path, &final);
			free(path);
			if (ret < 0)
				return -1;
		}
	} else if (len >= 2 && (value[0] == '"' || value[0] == '\'') &&
		   value[len - 1] == value[0]) {
		final = unescape(value + 1, len - 2);
	} else if (cur_block(ctx)->type == BLOCK_SKIP) {
		final = i_strdup(value);
	} else if (expand_vars(ctx, value, &final) < 0) {
		return -1;
	}
	ret = block_setting(ctx, key, final, keyfile);
	free(final);
	return ret;
}

/* Strip a comment outside quotes (as Dovecot does). */
static void strip_comment(struct config_parser *ctx, char *line)
{
	for (char *p = line; *p != '\0'; p++) {
		if (*p == '\'' || *p == '"') {
			char quote = *p;
			for (p++; *p != quote && *p != '\0'; p++) {
				if (*p == '\\' && p[1] != '\0')
					p++;
			}
			if (*p == '\0')
				break;
		} else if (*p == '#') {
			if (p != line && !IS_WHITE(p[-1])) {
				ctx_warning(ctx, "Ambiguous '#' character in "
					    "line, treating it as comment. Add "
					    "a space before it to remove this "
					    "warning.");
			}
			*p = '\0';
			break;
		}
	}
}

static int parse_statement(struct config_parser *ctx, char *line)
{
	char *key = line, *p = line;

	while (*p != '\0' && !IS_WHITE(*p) && *p != '=')
		p++;
	char *key_end = p;
	while (IS_WHITE(*p))
		p++;
	char saved = *key_end;
	*key_end = '\0';

	if (strcmp(key, "!include") == 0 || strcmp(key, "!include_try") == 0) {
		size_t len = strlen(p);
		char *path;
		if (len >= 2 && (p[0] == '"' || p[0] == '\'') &&
		    p[len - 1] == p[0])
			path = unescape(p + 1, len - 2);
		else
			path = i_strdup(p);
		int ret = path[0] == '\0' ?
			ctx_error(ctx, "%s: missing file name", key) :
			config_include(ctx, path, key[8] == '_');
		free(path);
		return ret;
	}
	if (saved == '=' || *p == '=') {
		p = saved == '=' ? key_end + 1 : p + 1;
		while (IS_WHITE(*p))
			p++;
		return parse_keyvalue(ctx, key, p);
	}
	size_t key_len = strlen(key);
	if (key_len > 1 && key[key_len - 1] == '{' && *p == '\0') {
		/* "plugin{" */
		key[key_len - 1] = '\0';
		return block_begin(ctx, key, NULL);
	}
	if (strcmp(key, "}") == 0) {
		if (*p != '\0')
			return ctx_error(ctx, "Garbage after '}'");
		return block_end(ctx);
	}
	if (strchr(p, '{') == NULL)
		return ctx_error(ctx, "Expecting '=' or '{' after %s", key);

	/* "type [name] {" */
	char *name = NULL;
	if (*p != '{') {
		if (*p == '"' || *p == '\'') {
			char quote = *p++;
			name = p;
			while (*p != quote && *p != '\0')
				p++;
			if (*p == '\0')
				return ctx_error(ctx, "Missing closing quote");
			*p++ = '\0';
		} else {
			name = p;
			while (*p != '\0' && !IS_WHITE(*p) && *p != '{')
				p++;
			if (*p == '{') {
				/* "name{" */
				char *brace = p;
				*brace = '\0';
				name = i_strdup(name);
				*brace = '{';
				int ret = p[1] != '\0' ?
					ctx_error(ctx, "Garbage after '{'") :
					block_begin(ctx, key, name);
				free(name);
				return ret;
			}
			*p++ = '\0';
		}
		while (IS_WHITE(*p))
			p++;
		if (*p != '{')
			return ctx_error(ctx, "Expecting '{'");
	}
	if (p[1] != '\0')
		return ctx_error(ctx, "Garbage after '{'");
	if (key[0] == '\0')
		return ctx_error(ctx, "Missing block type before '{'");
	return block_begin(ctx, key, name != NULL && name[0] == '\0' ?
			   NULL : name);
}

static int parse_line(struct config_parser *ctx, char *line, string_t *full)
{
	while (IS_WHITE(*line))
		line++;
	if (*line == '#' || (*line == '\0' && str_len(full) == 0))
		return 0;
	strip_comment(ctx, line);
	size_t len = strlen(line);
	while (len > 0 && IS_WHITE(line[len - 1]))
		line[--len] = '\0';
	if (len > 0 && line[len - 1] == '\\') {
		/* continues on the next line */
		line[--len] = '\0';
		while (len > 0 && IS_WHITE(line[len - 1]))
			line[--len] = '\0';
		str_append(full, line);
		str_append_c(full, ' ');
		if (str_len(full) > CONFIG_MAX_LINE_LENGTH)
			return ctx_error(ctx, "Line too long (max %u bytes)",
					 CONFIG_MAX_LINE_LENGTH);
		return 0;
	}
	if (str_len(full) == 0)
		return parse_statement(ctx, line);
	str_append(full, line);
	if (str_len(full) > CONFIG_MAX_LINE_LENGTH)
		return ctx_error(ctx, "Line too long (max %u bytes)",
				 CONFIG_MAX_LINE_LENGTH);
	char *joined = i_strdup(str_c(full));
	str_truncate(full, 0);
	int ret = parse_statement(ctx, joined);
	free(joined);
	return ret;
}

static int config_parse_data(struct config_parser *ctx, const char *path,
			     const char *data, size_t size)
{
	unsigned int start_depth = ctx->depth;
	string_t *full = str_new(128);
	size_t pos = 0;
	int ret = 0;

	ctx->file = path;
	ctx->line = 0;
	ctx->total_size += size;
	if (ctx->total_size > CONFIG_MAX_TOTAL_SIZE) {
		str_free(&full);
		return ctx_error(ctx, "Configuration too large (max %u bytes)",
				 CONFIG_MAX_TOTAL_SIZE);
	}
	if (size > CONFIG_MAX_FILE_SIZE) {
		str_free(&full);
		return ctx_error(ctx, "File too large (max %u bytes)",
				 CONFIG_MAX_FILE_SIZE);
	}
	while (pos < size && ret == 0) {
		const char *nl = memchr(data + pos, '\n', size - pos);
		size_t len = nl == NULL ? size - pos : (size_t)(nl - (data + pos));
		ctx->line++;
		if (len > CONFIG_MAX_LINE_LENGTH) {
			ret = ctx_error(ctx, "Line too long (max %u bytes)",
					CONFIG_MAX_LINE_LENGTH);
			break;
		}
		if (memchr(data + pos, '\0', len) != NULL) {
			ret = ctx_error(ctx, "NUL byte in line");
			break;
		}
		char *line = i_strndup(data + pos, len);
		if (len > 0 && line[len - 1] == '\r')
			line[len - 1] = '\0';
		ret = parse_line(ctx, line, full);
		free(line);
		pos += len + (nl == NULL ? 0 : 1);
	}
	if (ret == 0 && str_len(full) > 0) {
		char *joined = i_strdup(str_c(full));
		ret = parse_statement(ctx, joined);
		free(joined);
	}
	str_free(&full);
	if (ret == 0 && ctx->depth > start_depth) {
		struct config_block *b = &ctx->blocks[ctx->depth];
		ctx->file = b->file;
		ctx->line = b->line;
		ret = ctx_error(ctx, "Missing '}' for block '%s'", b->desc);
	}
	return ret;
}

/* ---- entry points ---- */

static void config_parser_init(struct config_parser *ctx)
{
	memset(ctx, 0, sizeof(*ctx));
	ctx->set = settings_defaults_raw();
	ctx->scratch = settings_defaults_raw();
	ctx->blocks[0].type = BLOCK_ROOT;
}

static void config_parser_deinit(struct config_parser *ctx)
{
	for (unsigned int i = 1; i <= ctx->depth; i++) {
		free(ctx->blocks[i].desc);
		free(ctx->blocks[i].file);
	}
	for (unsigned int i = 0; i < ctx->vars_count; i++) {
		free(ctx->var_names[i]);
		free(ctx->var_values[i]);
	}
	free(ctx->var_names);
	free(ctx->var_values);
	free(ctx->mail_driver);
	free(ctx->mail_path);
	free(ctx->mail_index_path);
	free(ctx->mail_control_path);
	free(ctx->mail_inbox_path);
	free(ctx->passdb_default_password_scheme);
	settings_free(&ctx->scratch);
	settings_free(&ctx->set);
	free(ctx->error);
}

static void config_parser_finish(struct config_parser *ctx)
{
	struct loft_settings *set = ctx->set;

	if (ctx->passdb_default_password_scheme != NULL) {
		for (unsigned int i = 0; i < set->passdbs_count; i++) {
			if (set->passdbs[i].default_password_scheme == NULL)
				set->passdbs[i].default_password_scheme =
					i_strdup(ctx->passdb_default_password_scheme);
		}
	}
	if (set->namespaces_count == 0)
		settings_add_default_namespace(set);
	settings_finish_services(set);
}

static int config_parse_top(const char *path, const char *data, size_t size,
			    struct loft_settings **set_r, char **error_r)
{
	struct config_parser ctx;

	config_parser_init(&ctx);
	ctx.set->config_path = i_strdup(path);
	if (config_parse_data(&ctx, path, data, size) < 0) {
		*error_r = ctx.error;
		ctx.error = NULL;
		config_parser_deinit(&ctx);
		return -1;
	}
	config_parser_finish(&ctx);
	*set_r = ctx.set;
	ctx.set = NULL;
	config_parser_deinit(&ctx);
	return 0;
}

int settings_read_string(const char *name, const char *data, size_t size,
			 struct loft_settings **set_r, char **error_r)
{
	*set_r = NULL;
	return config_parse_top(name, data, size, set_r, error_r);
}

int settings_read(const char *path, struct loft_settings **set_r,
		  char **error_r)
{
	char *data;
	size_t size;

	*set_r = NULL;
	if (read_file(path, CONFIG_MAX_FILE_SIZE, &data, &size) < 0) {
		*error_r = errno == EFBIG ?
			i_strdup_printf("%s: File too large (max %u bytes)",
					path, CONFIG_MAX_FILE_SIZE) :
			i_strdup_printf("open(%s) failed: %s", path,
					strerror(errno));
		return -1;
	}
	int ret = config_parse_top(path, data, size, set_r, error_r);
	free(data);
	return ret;
}
