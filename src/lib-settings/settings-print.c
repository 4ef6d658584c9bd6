/* doveconf -n / -a style output, generated from the settings tables. */
#include "settings-private.h"
#include <stdlib.h>

struct print_ctx {
	FILE *out;
	bool non_default;
};

static bool value_needs_quotes(const char *v)
{
	size_t len = strlen(v);
	if (len == 0)
		return false;
	if (v[0] == ' ' || v[0] == '\t' || v[0] == '<' || v[0] == '"' ||
	    v[0] == '\'' || v[len - 1] == ' ' || v[len - 1] == '\t' ||
	    v[len - 1] == '\\')
		return true;
	return strpbrk(v, "#$\"'\n\r") != NULL;
}

static void print_value_quoted(FILE *out, const char *v)
{
	fputc('"', out);
	for (; *v != '\0'; v++) {
		switch (*v) {
		case '"': fputs("\\\"", out); break;
		case '\\': fputs("\\\\", out); break;
		case '\n': fputs("\\n", out); break;
		case '\r': fputs("\\r", out); break;
		case '\t': fputs("\\t", out); break;
		default: fputc(*v, out); break;
		}
	}
	fputc('"', out);
}

static void print_value(FILE *out, const char *v)
{
	if (value_needs_quotes(v))
		print_value_quoted(out, v);
	else
		fputs(v, out);
}

static void indent(FILE *out, unsigned int level)
{
	for (unsigned int i = 0; i < level; i++)
		fputs("  ", out);
}

static void print_kv(FILE *out, unsigned int level, const char *key,
		     const char *value, bool keyfile)
{
	indent(out, level);
	fprintf(out, "%s =", key);
	if (keyfile && value[0] != '\0') {
		fputs(" <", out);
		if (value_needs_quotes(value) || value[0] == '"')
			print_value_quoted(out, value);
		else
			fputs(value, out);
	} else if (value[0] != '\0') {
		fputc(' ', out);
		print_value(out, value);
	}
	fputc('\n', out);
}

/* Print the fields of obj that differ from ref (all if ref == NULL). */
static unsigned int print_table(FILE *out, unsigned int level,
				const struct setting_table *table,
				const void *obj, const void *ref)
{
	string_t *str = str_new(128);
	unsigned int printed = 0;
	for (unsigned int i = 0; i < table->count; i++) {
		const struct setting_def *def = &table->defs[i];
		if (ref != NULL && setting_equals(def, obj, ref))
			continue;
		str_truncate(str, 0);
		setting_format(def, obj, str);
		print_kv(out, level, def->name, str_c(str), def->type == SET_FILE);
		printed++;
	}
	str_free(&str);
	return printed;
}

static unsigned int count_diff(const struct setting_table *table,
			       const void *obj, const void *ref)
{
	unsigned int n = 0;
	for (unsigned int i = 0; i < table->count; i++) {
		if (!setting_equals(&table->defs[i], obj, ref))
			n++;
	}
	return n;
}

static void block_open(FILE *out, unsigned int level, const char *type,
		       const char *name)
{
	indent(out, level);
	if (name == NULL || name[0] == '\0')
		fprintf(out, "%s {\n", type);
	else if (strpbrk(name, " \t{}#\"'") == NULL)
		fprintf(out, "%s %s {\n", type, name);
	/* the parser takes a quoted name up to the next quote character,
	   without escapes: quote with the one the name doesn't contain */
	else if (strchr(name, '"') == NULL)
		fprintf(out, "%s \"%s\" {\n", type, name);
	else if (strchr(name, '\'') == NULL)
		fprintf(out, "%s '%s' {\n", type, name);
	else /* only an unquoted name (no spaces or '{') has both */
		fprintf(out, "%s %s {\n", type, name);
}

static void block_close(FILE *out, unsigned int level)
{
	indent(out, level);
	fputs("}\n", out);
}

static const struct inet_listener_settings *
find_inet(const struct service_settings *s, const char *name)
{
	for (unsigned int i = 0; s != NULL && name[0] != '\0' &&
	     i < s->inet_listeners_count; i++) {
		if (strcmp(s->inet_listeners[i].name, name) == 0)
			return &s->inet_listeners[i];
	}
	return NULL;
}

static const struct unix_listener_settings *
find_unix(const struct service_settings *s, const char *path)
{
	for (unsigned int i = 0; s != NULL && i < s->unix_listeners_count; i++) {
		if (strcmp(s->unix_listeners[i].path, path) == 0)
			return &s->unix_listeners[i];
	}
	return NULL;
}

static void print_service(const struct print_ctx *ctx,
			  const struct loft_settings *set,
			  const struct service_settings *s,
			  const struct service_settings *ref)
{
	struct inet_listener_settings inet_def;
	struct unix_listener_settings unix_def;
	struct service_settings svc_def;
	bool nd = ctx->non_default;
	FILE *out = ctx->out;

	memset(&inet_def, 0, sizeof(inet_def));
	memset(&unix_def, 0, sizeof(unix_def));
	setting_table_defaults(&settings_inet_listener_table, &inet_def);
	setting_table_defaults(&settings_unix_listener_table, &unix_def);
	settings_service_init(&svc_def, s->name);
	settings_service_resolve(set, &svc_def);
	/* -n: skip a service identical to its default; one that has no
	   default is always printed, as its existence is the setting */
	bool differs = !nd || ref == NULL;
	if (ref == NULL)
		ref = &svc_def;
	differs = differs || count_diff(&settings_service_table, s, ref) > 0 ||
		s->inet_listeners_count != ref->inet_listeners_count ||
		s->unix_listeners_count != ref->unix_listeners_count;
	for (unsigned int i = 0; !differs && i < s->inet_listeners_count; i++) {
		const struct inet_listener_settings *r =
			find_inet(ref, s->inet_listeners[i].name);
		differs = r == NULL || count_diff(&settings_inet_listener_table,
						  &s->inet_listeners[i], r) > 0;
	}
	for (unsigned int i = 0; !differs && i < s->unix_listeners_count; i++) {
		const struct unix_listener_settings *r =
			find_unix(ref, s->unix_listeners[i].path);
		differs = r == NULL || count_diff(&settings_unix_listener_table,
						  &s->unix_listeners[i], r) > 0;
	}
	if (differs) {
		block_open(out, 0, "service", s->name);
		print_table(out, 1, &settings_service_table, s, nd ? ref : NULL);
		for (unsigned int i = 0; i < s->inet_listeners_count; i++) {
			const struct inet_listener_settings *l = &s->inet_listeners[i];
			const struct inet_listener_settings *r = find_inet(ref, l->name);
			if (r == NULL)
				r = &inet_def;
			if (nd && count_diff(&settings_inet_listener_table, l, r) == 0 &&
			    r != &inet_def)
				continue;
			block_open(out, 1, "inet_listener", l->name);
			print_table(out, 2, &settings_inet_listener_table, l,
				    nd ? r : NULL);
			block_close(out, 1);
		}
		for (unsigned int i = 0; i < s->unix_listeners_count; i++) {
			const struct unix_listener_settings *l = &s->unix_listeners[i];
			const struct unix_listener_settings *r = find_unix(ref, l->path);
			if (r == NULL)
				r = &unix_def;
			if (nd && count_diff(&settings_unix_listener_table, l, r) == 0 &&
			    r != &unix_def)
				continue;
			block_open(out, 1, "unix_listener", l->path);
			print_table(out, 2, &settings_unix_listener_table, l,
				    nd ? r : NULL);
			block_close(out, 1);
		}
		block_close(out, 0);
	}
	setting_table_free(&settings_inet_listener_table, &inet_def);
	setting_table_free(&settings_unix_listener_table, &unix_def);
	service_settings_free(&svc_def);
}

static void print_auth_dbs(const struct print_ctx *ctx, const char *type,
			   const struct auth_db_settings *dbs,
			   unsigned int count)
{
	struct auth_db_settings def;
	memset(&def, 0, sizeof(def));
	setting_table_defaults(&settings_auth_db_table, &def);
	for (unsigned int i = 0; i < count; i++) {
		block_open(ctx->out, 0, type, dbs[i].name);
		print_table(ctx->out, 1, &settings_auth_db_table, &dbs[i],
			    ctx->non_default ? &def : NULL);
		block_close(ctx->out, 0);
	}
	setting_table_free(&settings_auth_db_table, &def);
}

static bool namespaces_are_default(const struct loft_settings *set,
				   const struct loft_settings *ref)
{
	if (set->namespaces_count != ref->namespaces_count)
		return false;
	for (unsigned int i = 0; i < set->namespaces_count; i++) {
		const struct namespace_settings *a = &set->namespaces[i];
		const struct namespace_settings *b = &ref->namespaces[i];
		if ((a->name == NULL) != (b->name == NULL) ||
		    (a->name != NULL && strcmp(a->name, b->name) != 0) ||
		    a->mailboxes_count != b->mailboxes_count ||
		    count_diff(&settings_namespace_table, a, b) > 0)
			return false;
	}
	return true;
}

static void print_namespaces(const struct print_ctx *ctx,
			     const struct loft_settings *set,
			     const struct loft_settings *ref)
{
	struct namespace_settings ns_def;
	struct mailbox_settings box_def;

	if (ctx->non_default && namespaces_are_default(set, ref))
		return;
	memset(&ns_def, 0, sizeof(ns_def));
	memset(&box_def, 0, sizeof(box_def));
	setting_table_defaults(&settings_namespace_table, &ns_def);
	setting_table_defaults(&settings_mailbox_table, &box_def);
	for (unsigned int i = 0; i < set->namespaces_count; i++) {
		const struct namespace_settings *ns = &set->namespaces[i];
		block_open(ctx->out, 0, "namespace", ns->name);
		print_table(ctx->out, 1, &settings_namespace_table, ns,
			    ctx->non_default ? &ns_def : NULL);
		for (unsigned int j = 0; j < ns->mailboxes_count; j++) {
			block_open(ctx->out, 1, "mailbox", ns->mailboxes[j].name);
			print_table(ctx->out, 2, &settings_mailbox_table,
				    &ns->mailboxes[j],
				    ctx->non_default ? &box_def : NULL);
			block_close(ctx->out, 1);
		}
		block_close(ctx->out, 0);
	}
	setting_table_free(&settings_namespace_table, &ns_def);
	setting_table_free(&settings_mailbox_table, &box_def);
}

static void print_kv_line(FILE *out, unsigned int level, const char *line)
{
	const char *eq = strchr(line, '=');
	if (eq == NULL)
		return;
	char *key = i_strndup(line, (size_t)(eq - line));
	bool path_alias;
	bool keyfile = eq[1] == '<' && settings_global_is_file(key, &path_alias) &&
		!path_alias;
	print_kv(out, level, key, eq + 1 + (keyfile ? 1 : 0), keyfile);
	free(key);
}

static void print_filters(const struct print_ctx *ctx,
			  const struct loft_settings *set)
{
	for (unsigned int i = 0; i < set->filters_count; i++) {
		const struct settings_filter *f = &set->filters[i];
		const char *types[] = { "local_name", "local", "remote", "protocol" };
		const char *names[] = { f->local_name, f->local, f->remote, f->protocol };
		unsigned int level = 0;

		if (f->settings[0] == NULL)
			continue;
		for (unsigned int j = 0; j < N_ELEMENTS(types); j++) {
			if (names[j] != NULL)
				block_open(ctx->out, level++, types[j], names[j]);
		}
		for (unsigned int j = 0; f->settings[j] != NULL; j++)
			print_kv_line(ctx->out, level, f->settings[j]);
		while (level > 0)
			block_close(ctx->out, --level);
	}
}

void settings_print(const struct loft_settings *set, bool non_default_only,
		    FILE *out)
{
	struct print_ctx ctx = { out, non_default_only };
	struct loft_settings *ref = settings_defaults_raw();

	/* services are compared with the defaults resolved the same way */
	ref->default_process_limit = set->default_process_limit;
	ref->default_client_limit = set->default_client_limit;
	ref->default_vsz_limit = set->default_vsz_limit;
	free(ref->default_login_user);
	ref->default_login_user = i_strdup(set->default_login_user);
	free(ref->default_internal_user);
	ref->default_internal_user = i_strdup(set->default_internal_user);
	settings_add_default_namespace(ref);
	settings_finish_services(ref);

	fprintf(out, "# loft %s: %s\n", LOFT_VERSION,
		set->config_path == NULL ? "(defaults)" : set->config_path);
	struct loft_settings *table_ref = settings_defaults_raw();
	print_table(out, 0, &settings_global_table, set,
		    non_default_only ? table_ref : NULL);
	settings_free(&table_ref);

	print_namespaces(&ctx, set, ref);
	print_auth_dbs(&ctx, "passdb", set->passdbs, set->passdbs_count);
	print_auth_dbs(&ctx, "userdb", set->userdbs, set->userdbs_count);
	if (set->plugin_settings[0] != NULL) {
		block_open(out, 0, "plugin", NULL);
		for (unsigned int i = 0; set->plugin_settings[i] != NULL; i++)
			print_kv_line(out, 1, set->plugin_settings[i]);
		block_close(out, 0);
	}
	for (unsigned int i = 0; i < set->services_count; i++) {
		const struct service_settings *s = &set->services[i];
		print_service(&ctx, set, s, settings_service_find(ref, s->name));
	}
	print_filters(&ctx, set);
	settings_free(&ref);
}
