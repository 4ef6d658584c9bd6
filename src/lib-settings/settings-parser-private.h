#ifndef LOFT_SETTINGS_PARSER_PRIVATE_H
#define LOFT_SETTINGS_PARSER_PRIVATE_H
/* Parser state shared by settings-parser.c (lines, includes, values)
   and settings-block.c (what a key or a block means where it appears). */
#include "settings-private.h"

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

static inline struct config_block *cur_block(struct config_parser *ctx)
{
	return &ctx->blocks[ctx->depth];
}

/* Record "file:line: message" as the parse error (first one wins).
   Returns -1. */
int config_error(struct config_parser *ctx, const char *fmt, ...)
	ATTR_FORMAT(2, 3);
void config_warning(struct config_parser *ctx, const char *fmt, ...)
	ATTR_FORMAT(2, 3);
/* Remember a root setting's value for later $name references. */
void config_var_set(struct config_parser *ctx, const char *key,
		    const char *value);

/* settings-block.c: apply "key = value" in the current block (value is
   final: unquoted, $expanded; keyfile = a "<path" kept as path). */
int config_block_setting(struct config_parser *ctx, const char *key,
			 const char *value, bool keyfile);
/* "type [name] {" and "}" */
int config_block_begin(struct config_parser *ctx, const char *type,
		       const char *name);
int config_block_end(struct config_parser *ctx);

#endif
