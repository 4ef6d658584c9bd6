/* Settings lifecycle: defaults, default services, deep free, lookups,
   the global setter with Dovecot 2.4 aliases, and protocol filters. */
#include "settings-private.h"
#include "log.h"
#include <stdlib.h>
#include <strings.h>

#define VSZ_LIMIT_DEFAULT UINT64_MAX

void settings_service_init(struct service_settings *service, const char *name)
{
	memset(service, 0, sizeof(*service));
	setting_table_defaults(&settings_service_table, service);
	service->name = i_strdup(name);
	service->vsz_limit = VSZ_LIMIT_DEFAULT;
}

static void service_add_inet(struct service_settings *service,
			     const char *name, unsigned int port, bool ssl)
{
	service->inet_listeners = i_realloc(service->inet_listeners,
		sizeof(*service->inet_listeners) *
		(service->inet_listeners_count + 1));
	struct inet_listener_settings *l =
		&service->inet_listeners[service->inet_listeners_count++];
	memset(l, 0, sizeof(*l));
	setting_table_defaults(&settings_inet_listener_table, l);
	l->name = i_strdup(name);
	l->port = port;
	l->ssl = ssl;
}

static void service_add_unix(struct service_settings *service,
			     const char *path, unsigned int mode)
{
	service->unix_listeners = i_realloc(service->unix_listeners,
		sizeof(*service->unix_listeners) *
		(service->unix_listeners_count + 1));
	struct unix_listener_settings *l =
		&service->unix_listeners[service->unix_listeners_count++];
	memset(l, 0, sizeof(*l));
	setting_table_defaults(&settings_unix_listener_table, l);
	l->path = i_strdup(path);
	l->mode = mode;
}

static struct service_settings *
settings_add_service(struct loft_settings *set, const char *name)
{
	set->services = i_realloc(set->services,
		sizeof(*set->services) * (set->services_count + 1));
	struct service_settings *s = &set->services[set->services_count++];
	settings_service_init(s, name);
	return s;
}

void settings_add_default_services(struct loft_settings *set)
{
	struct service_settings *s;

	/* Dovecot 2.3's built-in services (master/service-settings.c of
	   each service), reduced to what loft runs. */
	s = settings_add_service(set, "imap-login");
	service_add_inet(s, "imap", 143, false);
	service_add_inet(s, "imaps", 993, true);
	s->service_count = 1;
	s->user = i_strdup("$default_login_user");
	s->chroot = i_strdup("login");

	s = settings_add_service(set, "pop3-login");
	service_add_inet(s, "pop3", 110, false);
	service_add_inet(s, "pop3s", 995, true);
	s->service_count = 1;
	s->user = i_strdup("$default_login_user");
	s->chroot = i_strdup("login");

	s = settings_add_service(set, "lmtp");
	service_add_unix(s, "lmtp", 0666);
	s->client_limit = 1;

	s = settings_add_service(set, "auth");
	service_add_unix(s, "auth-client", 0600);
	service_add_unix(s, "auth-login", 0600);
	service_add_unix(s, "auth-master", 0600);
	service_add_unix(s, "auth-userdb", 0666);
	s->process_limit = 1;
	s->user = i_strdup("$default_internal_user");

	s = settings_add_service(set, "imap");
	s->process_limit = 1024;
	s->client_limit = 1;
	s->service_count = 1;

	s = settings_add_service(set, "pop3");
	s->process_limit = 1024;
	s->client_limit = 1;
	s->service_count = 1;
}

static void resolve_user_var(const struct loft_settings *set, char **user)
{
	const char *value = NULL;
	if (*user == NULL)
		return;
	if (strcmp(*user, "$default_login_user") == 0)
		value = set->default_login_user;
	else if (strcmp(*user, "$default_internal_user") == 0)
		value = set->default_internal_user;
	else
		return;
	free(*user);
	*user = i_strdup(value);
}

void settings_service_resolve(const struct loft_settings *set,
			      struct service_settings *s)
{
	resolve_user_var(set, &s->user);
	if (s->process_limit == 0)
		s->process_limit = set->default_process_limit;
	if (s->client_limit == 0)
		s->client_limit = set->default_client_limit;
	if (s->vsz_limit == VSZ_LIMIT_DEFAULT)
		s->vsz_limit = set->default_vsz_limit;
}

void settings_finish_services(struct loft_settings *set)
{
	for (unsigned int i = 0; i < set->services_count; i++)
		settings_service_resolve(set, &set->services[i]);
}

void settings_add_default_namespace(struct loft_settings *set)
{
	set->namespaces = i_new(struct namespace_settings, 1);
	set->namespaces_count = 1;
	setting_table_defaults(&settings_namespace_table, &set->namespaces[0]);
	set->namespaces[0].name = i_strdup("inbox");
	set->namespaces[0].inbox = true;
}

struct loft_settings *settings_defaults_raw(void)
{
	struct loft_settings *set = i_new(struct loft_settings, 1);
	setting_table_defaults(&settings_global_table, set);
	settings_add_default_services(set);
	set->plugin_settings = settings_list_empty();
	set->warnings = settings_list_empty();
	return set;
}

struct loft_settings *settings_defaults(void)
{
	struct loft_settings *set = settings_defaults_raw();
	settings_add_default_namespace(set);
	settings_finish_services(set);
	return set;
}

void service_settings_copy(struct service_settings *dest,
			   const struct service_settings *src)
{
	memset(dest, 0, sizeof(*dest));
	setting_table_copy(&settings_service_table, dest, src);
	dest->name = i_strdup(src->name);
	dest->inet_listeners_count = src->inet_listeners_count;
	dest->inet_listeners = i_new(struct inet_listener_settings,
				     src->inet_listeners_count);
	for (unsigned int i = 0; i < src->inet_listeners_count; i++) {
		setting_table_copy(&settings_inet_listener_table,
				   &dest->inet_listeners[i],
				   &src->inet_listeners[i]);
		dest->inet_listeners[i].name =
			i_strdup(src->inet_listeners[i].name);
	}
	dest->unix_listeners_count = src->unix_listeners_count;
	dest->unix_listeners = i_new(struct unix_listener_settings,
				     src->unix_listeners_count);
	for (unsigned int i = 0; i < src->unix_listeners_count; i++) {
		setting_table_copy(&settings_unix_listener_table,
				   &dest->unix_listeners[i],
				   &src->unix_listeners[i]);
		dest->unix_listeners[i].path =
			i_strdup(src->unix_listeners[i].path);
	}
}

void service_settings_free(struct service_settings *s)
{
	for (unsigned int i = 0; i < s->inet_listeners_count; i++) {
		setting_table_free(&settings_inet_listener_table,
				   &s->inet_listeners[i]);
		free(s->inet_listeners[i].name);
	}
	for (unsigned int i = 0; i < s->unix_listeners_count; i++) {
		setting_table_free(&settings_unix_listener_table,
				   &s->unix_listeners[i]);
		free(s->unix_listeners[i].path);
	}
	free(s->inet_listeners);
	free(s->unix_listeners);
	setting_table_free(&settings_service_table, s);
	free(s->name);
}

void auth_db_settings_free(struct auth_db_settings *db)
{
	setting_table_free(&settings_auth_db_table, db);
	free(db->name);
}

void namespace_settings_free(struct namespace_settings *ns)
{
	for (unsigned int i = 0; i < ns->mailboxes_count; i++) {
		setting_table_free(&settings_mailbox_table, &ns->mailboxes[i]);
		free(ns->mailboxes[i].name);
	}
	free(ns->mailboxes);
	setting_table_free(&settings_namespace_table, ns);
	free(ns->name);
}

void settings_filter_free(struct settings_filter *filter)
{
	free(filter->protocol);
	free(filter->local);
	free(filter->remote);
	free(filter->local_name);
	str_split_free(&filter->settings);
}

void settings_free(struct loft_settings **_set)
{
	struct loft_settings *set = *_set;
	if (set == NULL)
		return;
	*_set = NULL;
	setting_table_free(&settings_global_table, set);
	free(set->config_path);
	for (unsigned int i = 0; i < set->services_count; i++)
		service_settings_free(&set->services[i]);
	free(set->services);
	for (unsigned int i = 0; i < set->passdbs_count; i++)
		auth_db_settings_free(&set->passdbs[i]);
	free(set->passdbs);
	for (unsigned int i = 0; i < set->userdbs_count; i++)
		auth_db_settings_free(&set->userdbs[i]);
	free(set->userdbs);
	for (unsigned int i = 0; i < set->namespaces_count; i++)
		namespace_settings_free(&set->namespaces[i]);
	free(set->namespaces);
	for (unsigned int i = 0; i < set->filters_count; i++)
		settings_filter_free(&set->filters[i]);
	free(set->filters);
	str_split_free(&set->plugin_settings);
	str_split_free(&set->warnings);
	free(set);
}

const struct service_settings *
settings_service_find(const struct loft_settings *set, const char *name)
{
	for (unsigned int i = 0; i < set->services_count; i++) {
		if (set->services[i].name != NULL &&
		    strcmp(set->services[i].name, name) == 0)
			return &set->services[i];
	}
	return NULL;
}

bool settings_has_protocol(const struct loft_settings *set, const char *proto)
{
	for (unsigned int i = 0; set->protocols != NULL &&
	     set->protocols[i] != NULL; i++) {
		if (strcmp(set->protocols[i], proto) == 0)
			return true;
	}
	return false;
}

void settings_log_warnings(const struct loft_settings *set)
{
	for (unsigned int i = 0; set->warnings != NULL &&
	     set->warnings[i] != NULL; i++)
		i_warning("%s", set->warnings[i]);
}

/* Dovecot 2.4 names that map onto a 2.3 setting of the table. */
static const struct {
	const char *name, *target;
	bool path; /* value is a plain path for a SET_FILE setting */
} global_aliases[] = {
	{ "ssl_server_cert_file", "ssl_cert", true },
	{ "ssl_server_key_file", "ssl_key", true },
	{ "ssl_server_ca_file", "ssl_ca", true },
	{ "ssl_server_key_password", "ssl_key_password", false },
	{ "auth_default_domain", "auth_default_realm", false },
};

int settings_set_global(struct loft_settings *set, const char *key,
			const char *value, bool keyfile, char **error_r)
{
	const struct setting_def *def;
	const char *name = key;
	char *error = NULL;
	bool b;

	for (unsigned int i = 0; i < N_ELEMENTS(global_aliases); i++) {
		if (strcmp(key, global_aliases[i].name) == 0) {
			name = global_aliases[i].target;
			if (global_aliases[i].path)
				keyfile = value[0] != '\0';
		}
	}
	def = setting_table_find(&settings_global_table, name);
	if (def != NULL) {
		if (keyfile && def->type != SET_FILE) {
			*error_r = i_strdup_printf("Invalid setting %s: "
				"'<' value not handled here", key);
			return -1;
		}
		if (setting_parse(def, set, value, keyfile, &error) < 0)
			goto invalid;
		return 1;
	}
	if (strcmp(key, "auth_allow_cleartext") == 0 ||
	    strcmp(key, "ssl_server_prefer_ciphers") == 0) {
		const struct setting_def bdef = { key, SET_BOOL, 0, "no", NULL };
		if (strcmp(key, "ssl_server_prefer_ciphers") == 0) {
			if (strcmp(value, "server") != 0 &&
			    strcmp(value, "client") != 0) {
				error = i_strdup_printf("Invalid value '%s' "
					"(allowed: client, server)", value);
				goto invalid;
			}
			set->ssl_prefer_server_ciphers =
				strcmp(value, "server") == 0;
			return 1;
		}
		if (setting_parse(&bdef, &b, value, false, &error) < 0)
			goto invalid;
		set->disable_plaintext_auth = !b;
		return 1;
	}
	if (settings_known_ignored("global", key))
		return 0;
	*error_r = i_strdup_printf("Unknown setting: %s", key);
	return -1;
invalid:
	*error_r = i_strdup_printf("Invalid setting %s: %s", key, error);
	free(error);
	return -1;
}

/* True if key names a SET_FILE setting (directly or as 2.4 alias). */
bool settings_global_is_file(const char *key, bool *path_alias_r)
{
	*path_alias_r = false;
	for (unsigned int i = 0; i < N_ELEMENTS(global_aliases); i++) {
		if (strcmp(key, global_aliases[i].name) == 0) {
			*path_alias_r = global_aliases[i].path;
			return global_aliases[i].path;
		}
	}
	const struct setting_def *def =
		setting_table_find(&settings_global_table, key);
	return def != NULL && def->type == SET_FILE;
}

bool settings_global_is_implemented(const char *key)
{
	if (setting_table_find(&settings_global_table, key) != NULL)
		return true;
	for (unsigned int i = 0; i < N_ELEMENTS(global_aliases); i++) {
		if (strcmp(key, global_aliases[i].name) == 0)
			return true;
	}
	return strcmp(key, "auth_allow_cleartext") == 0 ||
		strcmp(key, "ssl_server_prefer_ciphers") == 0;
}

static bool filter_protocol_matches(const char *filter, const char *protocol)
{
	if (filter == NULL)
		return true;
	if (filter[0] == '!')
		return strcmp(filter + 1, protocol) != 0;
	return strcmp(filter, protocol) == 0;
}

int settings_apply_protocol(struct loft_settings *set, const char *protocol,
			    char **error_r)
{
	for (unsigned int i = 0; i < set->filters_count; i++) {
		const struct settings_filter *f = &set->filters[i];
		if (f->protocol == NULL || f->local != NULL ||
		    f->remote != NULL || f->local_name != NULL ||
		    !filter_protocol_matches(f->protocol, protocol))
			continue;
		for (unsigned int j = 0; f->settings[j] != NULL; j++) {
			const char *line = f->settings[j];
			const char *eq = strchr(line, '=');
			if (eq == NULL)
				continue;
			char *key = i_strndup(line, (size_t)(eq - line));
			const char *value = eq + 1;
			bool path_alias, keyfile = false;
			if (value[0] == '<' &&
			    settings_global_is_file(key, &path_alias) &&
			    !path_alias) {
				keyfile = true;
				value++;
			}
			int ret = settings_set_global(set, key, value, keyfile,
						      error_r);
			free(key);
			if (ret < 0)
				return -1;
		}
	}
	return 0;
}
