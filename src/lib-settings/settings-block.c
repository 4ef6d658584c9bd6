/* What a "key = value" line or a "type name {" block means in the block
   it appears in: the global table, service/listener, passdb/userdb,
   namespace/mailbox, protocol/local/remote filters, plugin { } and the
   Dovecot blocks loft skips with a warning. */
#include "settings-parser-private.h"
#include <stdlib.h>
#include <limits.h>
#include <strings.h>

static void config_unsupported(struct config_parser *ctx, const char *key)
{
	config_warning(ctx, "setting %s is not supported yet, ignored", key);
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
		config_var_set(ctx, key, value);
		return 0;
	}
	ret = settings_set_global(ctx->set, key, value, keyfile, &error);
	if (ret < 0) {
		config_error(ctx, "%s", error);
		free(error);
		return -1;
	}
	if (ret == 0)
		config_unsupported(ctx, key);
	config_var_set(ctx, key, value);
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
		config_warning(ctx, "setting %s inside a filter block is not "
			    "supported yet, ignored", key);
		return 0;
	}
	ret = settings_set_global(ctx->scratch, key, value, keyfile, &error);
	if (ret < 0) {
		config_error(ctx, "%s", error);
		free(error);
		return -1;
	}
	if (ret == 0) {
		config_unsupported(ctx, key);
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
			config_unsupported(ctx, key);
			return 0;
		}
		/* Dovecot 2.4 allows global settings inside named filters
		   (passdb pam { pam_session = yes }, namespace { mail_path }) */
		if (strcmp(context, "service") != 0 &&
		    strstr(context, "listener") == NULL &&
		    (settings_global_is_implemented(key) ||
		     settings_known_ignored("global", key))) {
			config_warning(ctx, "setting %s inside a %s block is not "
				       "supported yet, ignored", key, context);
			return 0;
		}
		return config_error(ctx, "Unknown setting: %s", key);
	}
	if (def->type == SET_FILE)
		return config_error(ctx, "Invalid setting %s: must be a path", key);
	if (setting_parse(def, obj, value, false, &error) < 0) {
		config_error(ctx, "Invalid setting %s: %s", key, error);
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
		return config_error(ctx, "Invalid setting %s: Invalid value '%s'",
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
		return config_error(ctx, "Invalid setting %s: Invalid boolean "
				 "value '%s' (use yes or no)", key, value);
	}
	return 0;
}

int config_block_setting(struct config_parser *ctx, const char *key,
			 const char *value, bool keyfile)
{
	struct config_block *b = cur_block(ctx);
	char *line;

	if (keyfile && b->type != BLOCK_ROOT && b->type != BLOCK_FILTER &&
	    b->type != BLOCK_SKIP)
		return config_error(ctx, "Invalid setting %s: '<' file values "
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
	return config_error(ctx, "Internal error: bad block type");
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
		config_error(ctx, "Too many service blocks");
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
	/* unnamed listeners are never merged */
	for (unsigned int i = 0; name != NULL && i < count; i++) {
		const char *n = inet ? s->inet_listeners[i].name :
			s->unix_listeners[i].path;
		if (strcmp(n, name) == 0)
			return i;
	}
	if (count >= SETTINGS_MAX_LISTENERS) {
		config_error(ctx, "Too many listeners in service %s", s->name);
		return UINT_MAX;
	}
	if (inet) {
		s->inet_listeners = i_realloc(s->inet_listeners,
			sizeof(*s->inet_listeners) * (count + 1));
		struct inet_listener_settings *l = &s->inet_listeners[count];
		memset(l, 0, sizeof(*l));
		setting_table_defaults(&settings_inet_listener_table, l);
		l->name = i_strdup(name == NULL ? "" : name);
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
		config_error(ctx, "Too many %s blocks", passdb ? "passdb" : "userdb");
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
		config_error(ctx, "Too many namespace blocks");
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
		config_error(ctx, "Too many mailbox blocks");
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
		config_error(ctx, "Too many filter blocks");
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
/* A block inside the root or a protocol/local/remote filter. */
static int block_open_top(struct config_parser *ctx, const char *type,
			  const char *name, struct config_block *b)
{
	bool root = cur_block(ctx)->type == BLOCK_ROOT;
	const struct setting_def *def;

	if (is_filter_type(type)) {
		if (name == NULL)
			return config_error(ctx, "%s block needs a name", type);
		b->type = BLOCK_FILTER;
		b->idx = add_filter(ctx, type, name);
		return 0;
	}
	if (!root && (strcmp(type, "service") == 0 ||
		      strcmp(type, "passdb") == 0 ||
		      strcmp(type, "userdb") == 0 ||
		      strcmp(type, "namespace") == 0 ||
		      strcmp(type, "plugin") == 0)) {
		config_warning(ctx, "%s block inside a filter block is "
			    "not supported yet, ignored", type);
		b->type = BLOCK_SKIP;
		return 0;
	}
	if (strcmp(type, "service") == 0) {
		if (name == NULL)
			return config_error(ctx, "service block needs a name");
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
		config_warning(ctx, "%s block is not supported yet, ignored",
			    type);
		b->type = BLOCK_SKIP;
		return 0;
	} else {
		return config_error(ctx, "Unknown section: %s", type);
	}
	/* the find_or_add functions set the error for UINT_MAX */
	return b->idx == UINT_MAX ? -1 : 0;
}

static int block_open(struct config_parser *ctx, const char *type,
		      const char *name, struct config_block *b)
{
	const struct config_block *parent = cur_block(ctx);

	b->idx = b->idx2 = UINT_MAX;
	switch (parent->type) {
	case BLOCK_SKIP:
		b->type = BLOCK_SKIP;
		return 0;
	case BLOCK_ROOT:
	case BLOCK_FILTER:
		return block_open_top(ctx, type, name, b);
	case BLOCK_SERVICE:
		if (strcmp(type, "inet_listener") == 0 ||
		    strcmp(type, "unix_listener") == 0) {
			bool inet = type[0] == 'i';
			/* Dovecot's 10-director.conf has an unnamed
			   inet_listener; a unix_listener's name is its path */
			if (name == NULL && !inet)
				return config_error(ctx, "%s block needs a name", type);
			b->type = inet ? BLOCK_INET : BLOCK_UNIX;
			b->idx = parent->idx;
			b->idx2 = find_or_add_listener(ctx,
				block_service(ctx, parent), inet, name);
		} else if (strcmp(type, "fifo_listener") == 0) {
			config_warning(ctx, "fifo_listener is not supported yet, ignored");
			b->type = BLOCK_SKIP;
			return 0;
		} else {
			return config_error(ctx, "Unknown section: %s", type);
		}
		break;
	case BLOCK_NAMESPACE:
		if (strcmp(type, "mailbox") != 0)
			return config_error(ctx, "Unknown section: %s", type);
		if (name == NULL)
			return config_error(ctx, "mailbox block needs a name");
		b->type = BLOCK_MAILBOX;
		b->idx = parent->idx;
		b->idx2 = find_or_add_mailbox(ctx,
			&ctx->set->namespaces[parent->idx], name);
		break;
	case BLOCK_PASSDB:
	case BLOCK_USERDB:
		if (strcmp(type, "fields") != 0)
			return config_error(ctx, "Unknown section: %s", type);
		b->type = BLOCK_DB_FIELDS;
		b->idx = parent->idx;
		b->idx2 = parent->type == BLOCK_PASSDB ? 1 : 0;
		return 0;
	default:
		return config_error(ctx, "Unknown section: %s", type);
	}
	return b->idx == UINT_MAX || ctx->error != NULL ? -1 : 0;
}

int config_block_begin(struct config_parser *ctx, const char *type,
		       const char *name)
{
	struct config_block b;

	if (ctx->depth >= CONFIG_MAX_BLOCK_DEPTH)
		return config_error(ctx, "Blocks nested too deeply (max %u)",
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

int config_block_end(struct config_parser *ctx)
{
	if (ctx->depth == 0)
		return config_error(ctx, "Unexpected '}'");
	struct config_block *b = cur_block(ctx);
	if (b->type == BLOCK_PASSDB || b->type == BLOCK_USERDB)
		block_close_db(block_db(ctx, b));
	free(b->desc);
	free(b->file);
	memset(b, 0, sizeof(*b));
	ctx->depth--;
	return 0;
}
