/* Dovecot-syntax config parser (doc.dovecot.org, config file syntax of
   2.3 and 2.4): one statement per line, "key = value", "# comment",
   quoted values, "key = <file", "!include[_try] glob", "type [name] {"
   blocks closed by "}", "\" line continuation and $variables. */
#include "settings-parser-private.h"
#include <stdlib.h>
#include <stdio.h>
#include <errno.h>
#include <glob.h>
#include <limits.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

static int config_parse_data(struct config_parser *ctx, const char *path,
			     const char *data, size_t size);

int config_error(struct config_parser *ctx, const char *fmt, ...)
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

void config_warning(struct config_parser *ctx, const char *fmt, ...)
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

/* ---- variables ---- */

void config_var_set(struct config_parser *ctx, const char *key,
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
		/* as in Dovecot, only a word starting with '$' is a
		   variable: "a$b" and crypt hashes stay literal */
		if (*p != '$' || (p != value && !IS_WHITE(p[-1]))) {
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
			return config_error(ctx, "Value too long after $variable "
					 "expansion (max %u bytes)",
					 CONFIG_MAX_LINE_LENGTH);
		}
	}
	*result_r = str_free_without_data(&str);
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
			return config_error(ctx, "!include %s: file too large "
					 "(max %u bytes)", path,
					 CONFIG_MAX_FILE_SIZE);
		return config_error(ctx, "!include %s: open(%s) failed: %s",
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
		return config_error(ctx, "!include nested too deeply (max %u)",
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
				ret = config_error(ctx, "!include %s: No matches",
						path);
		} else {
			ret = config_error(ctx, "!include %s: glob() failed", path);
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
		return config_error(ctx, "Invalid setting %s: read(%s) failed: %s",
				 key, path, errno == EFBIG ?
				 "File too large" : strerror(errno));
	}
	if (memchr(data, '\0', size) != NULL) {
		free(data);
		return config_error(ctx, "Invalid setting %s: %s contains NUL",
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
		return config_error(ctx, "Missing setting name before '='");
	enum block_type type = cur_block(ctx)->type;
	if (value[0] == '<' && type != BLOCK_ROOT && type != BLOCK_FILTER &&
	    type != BLOCK_SKIP)
		return config_error(ctx, "Invalid setting %s: '<' file values "
				 "are not supported here", key);
	if (value[0] == '<') {
		bool path_alias;
		const char *p = value + 1;
		while (IS_WHITE(*p))
			p++;
		if (*p == '\0')
			return config_error(ctx, "Invalid setting %s: missing "
					    "file name after '<'", key);
		/* loft extension: <"path with # or spaces" */
		size_t plen = strlen(p);
		char *unquoted = plen >= 2 && p[0] == '"' && p[plen - 1] == '"' ?
			unescape(p + 1, plen - 2) : i_strdup(p);
		char *path = path_relative(ctx->file, unquoted);
		free(unquoted);
		if (settings_global_is_file(key, &path_alias) ||
		    type == BLOCK_SKIP || !settings_global_is_implemented(key)) {
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
	bool path_alias;
	if (!keyfile && final[0] != '\0' && type != BLOCK_SKIP &&
	    settings_global_is_file(key, &path_alias) && path_alias) {
		/* 2.4 ssl_server_cert_file = path: relative to the config
		   file like "ssl_cert = <path" */
		char *path = path_relative(ctx->file, final);
		free(final);
		final = path;
	}
	ret = config_block_setting(ctx, key, final, keyfile);
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
				config_warning(ctx, "Ambiguous '#' character in "
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
			config_error(ctx, "%s: missing file name", key) :
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
		return config_block_begin(ctx, key, NULL);
	}
	if (strcmp(key, "}") == 0) {
		if (*p != '\0')
			return config_error(ctx, "Garbage after '}'");
		return config_block_end(ctx);
	}
	if (strchr(p, '{') == NULL)
		return config_error(ctx, "Expecting '=' or '{' after %s", key);

	/* "type [name] {" */
	char *name = NULL;
	if (*p != '{') {
		if (*p == '"' || *p == '\'') {
			char quote = *p++;
			name = p;
			while (*p != quote && *p != '\0')
				p++;
			if (*p == '\0')
				return config_error(ctx, "Missing closing quote");
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
					config_error(ctx, "Garbage after '{'") :
					config_block_begin(ctx, key, name);
				free(name);
				return ret;
			}
			*p++ = '\0';
		}
		while (IS_WHITE(*p))
			p++;
		if (*p != '{')
			return config_error(ctx, "Expecting '{'");
	}
	if (p[1] != '\0')
		return config_error(ctx, "Garbage after '{'");
	if (key[0] == '\0')
		return config_error(ctx, "Missing block type before '{'");
	return config_block_begin(ctx, key, name != NULL && name[0] == '\0' ?
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
			return config_error(ctx, "Line too long (max %u bytes)",
					 CONFIG_MAX_LINE_LENGTH);
		return 0;
	}
	if (str_len(full) == 0)
		return parse_statement(ctx, line);
	str_append(full, line);
	if (str_len(full) > CONFIG_MAX_LINE_LENGTH)
		return config_error(ctx, "Line too long (max %u bytes)",
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
		return config_error(ctx, "Configuration too large (max %u bytes)",
				 CONFIG_MAX_TOTAL_SIZE);
	}
	if (size > CONFIG_MAX_FILE_SIZE) {
		str_free(&full);
		return config_error(ctx, "File too large (max %u bytes)",
				 CONFIG_MAX_FILE_SIZE);
	}
	if (size >= 3 && memcmp(data, "\xEF\xBB\xBF", 3) == 0)
		pos = 3; /* UTF-8 byte order mark from some editors */
	while (pos < size && ret == 0) {
		const char *nl = memchr(data + pos, '\n', size - pos);
		size_t len = nl == NULL ? size - pos : (size_t)(nl - (data + pos));
		ctx->line++;
		if (len > CONFIG_MAX_LINE_LENGTH) {
			ret = config_error(ctx, "Line too long (max %u bytes)",
					CONFIG_MAX_LINE_LENGTH);
			break;
		}
		if (memchr(data + pos, '\0', len) != NULL) {
			ret = config_error(ctx, "NUL byte in line");
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
		ret = config_error(ctx, "Missing '}' for block '%s'", b->desc);
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
