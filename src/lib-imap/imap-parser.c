/* Resumable IMAP command parser: a byte-driven state machine, so that
   input may arrive split at any byte. See imap-parser.h. */
#include "imap-parser.h"
#include "log.h"

#include <stdlib.h>
#include <strings.h>

#define DEFAULT_MAX_LINE_LENGTH 65536
#define DEFAULT_MAX_LIST_DEPTH 16
#define DEFAULT_MAX_ARGS 1000
/* parser_atom_byte(): the atom ended, handle the byte again */
#define RESULT_REHANDLE ((enum imap_parser_result)-1)
/* Digits of a literal size we read before declaring it too big. */
#define MAX_LITERAL_DIGITS 20

enum parser_state {
	STATE_TAG_START,	/* skipping empty lines before a tag */
	STATE_TAG,
	STATE_NAME,
	STATE_ARG_START,	/* expect an argument, ')' or line end */
	STATE_ARG_END,		/* after an argument: SP, ')' or line end */
	STATE_ATOM,
	STATE_QUOTED,
	STATE_QUOTED_ESCAPE,
	STATE_LITERAL_SIZE,
	STATE_LITERAL_CLOSE,	/* after '}', expect CR or LF */
	STATE_LITERAL_LF,	/* after '}' CR, expect LF */
	STATE_LITERAL_DATA,
	STATE_LINE_LF,		/* got CR at end of line, expect LF */
	STATE_SKIP_LINE,
	STATE_SKIP_LITERAL,	/* skipping a LITERAL+ inside a skipped line */
};

struct arg_builder {
	struct imap_arg *args;
	unsigned int count, alloc;
	unsigned int parent_idx; /* index of the LIST arg in the parent */
};

struct imap_parser {
	struct imap_parser_limits limits;
	enum parser_state state;

	string_t *tag, *name, *tok;
	size_t line_len;          /* bytes of this command, excl. literals */
	uint64_t literal_total;   /* literal bytes of this command */

	struct arg_builder *stack; /* [0] = top level */
	unsigned int depth;        /* current open lists */
	unsigned int args_total;

	unsigned int bracket_depth;
	bool bracket_quoted, bracket_escape; /* "..." inside [...] */
	uint64_t literal_size;
	bool literal_plus;
	unsigned int literal_digits;

	/* for skipping a "{N+}" at the end of a skipped line */
	int skip_lit_state; /* 0 none, 1 in digits, 2 after '+', 3 after '}' */
	uint64_t skip_lit_size;
	bool skip_lit_plus;
	bool skip_saw_cr;

	struct imap_command_parsed cmd;
	bool have_command;

	enum imap_parser_error error;
	const char *error_msg;
	bool error_fatal;
	bool error_has_tag, error_has_name;
	string_t *error_tag, *error_name;
};

static void args_free(struct imap_arg *args, unsigned int count)
{
	for (unsigned int i = 0; i < count; i++) {
		if (args[i].type == IMAP_ARG_LIST)
			args_free((struct imap_arg *)args[i].list,
				  args[i].list_count);
		else
			free((char *)args[i].str);
	}
	free(args);
}

static void parser_clear_args(struct imap_parser *parser)
{
	/* Open lists (after an error) are still on the stack; the LIST args
	   in their parents have no list pointer yet. */
	for (int d = (int)parser->depth; d >= 0; d--) {
		struct arg_builder *b = &parser->stack[d];
		args_free(b->args, b->count);
		memset(b, 0, sizeof(*b));
	}
	parser->depth = 0;
	parser->args_total = 0;
}

static void parser_new_command(struct imap_parser *parser)
{
	parser_clear_args(parser);
	str_truncate(parser->tag, 0);
	str_truncate(parser->name, 0);
	str_truncate(parser->tok, 0);
	parser->line_len = 0;
	parser->literal_total = 0;
	parser->bracket_depth = 0;
	parser->have_command = false;
	memset(&parser->cmd, 0, sizeof(parser->cmd));
	parser->state = STATE_TAG_START;
}

struct imap_parser *imap_parser_create(const struct imap_parser_limits *limits)
{
	struct imap_parser *parser = i_new(struct imap_parser, 1);

	if (limits != NULL)
		parser->limits = *limits;
	if (parser->limits.max_line_length == 0)
		parser->limits.max_line_length = DEFAULT_MAX_LINE_LENGTH;
	if (parser->limits.max_literal_size == 0)
		parser->limits.max_literal_size = parser->limits.max_line_length;
	if (parser->limits.max_list_depth == 0)
		parser->limits.max_list_depth = DEFAULT_MAX_LIST_DEPTH;
	if (parser->limits.max_args == 0)
		parser->limits.max_args = DEFAULT_MAX_ARGS;
	parser->stack = i_new(struct arg_builder,
			      parser->limits.max_list_depth + 1);
	parser->tag = str_new(32);
	parser->name = str_new(32);
	parser->tok = str_new(128);
	parser->error_tag = str_new(32);
	parser->error_name = str_new(32);
	parser_new_command(parser);
	return parser;
}

void imap_parser_destroy(struct imap_parser **_parser)
{
	struct imap_parser *parser = *_parser;

	if (parser == NULL)
		return;
	*_parser = NULL;
	parser_clear_args(parser);
	free(parser->stack);
	str_free(&parser->tag);
	str_free(&parser->name);
	str_free(&parser->tok);
	str_free(&parser->error_tag);
	str_free(&parser->error_name);
	free(parser);
}

void imap_parser_reset(struct imap_parser *parser)
{
	parser_new_command(parser);
	parser->error = IMAP_PARSER_ERROR_NONE;
	parser->error_msg = NULL;
}

static bool parser_is_append(const struct imap_parser *parser)
{
	return strcasecmp(str_c(parser->name), "APPEND") == 0;
}

/* Record an error. skip=true: skip the rest of the line (the byte that
   caused the error has been consumed and may have been the LF). */
static enum imap_parser_result
parser_error(struct imap_parser *parser, enum imap_parser_error error,
	     const char *msg, bool skip)
{
	parser->error = error;
	parser->error_msg = msg;
	parser->error_fatal = false;
	parser->error_has_tag = str_len(parser->tag) > 0 &&
		parser->state != STATE_TAG;
	parser->error_has_name = parser->error_has_tag &&
		str_len(parser->name) > 0 && parser->state != STATE_NAME;
	str_truncate(parser->error_tag, 0);
	str_truncate(parser->error_name, 0);
	if (parser->error_has_tag)
		str_append(parser->error_tag, str_c(parser->tag));
	if (parser->error_has_name)
		str_append(parser->error_name, str_c(parser->name));
	parser_new_command(parser);
	parser->skip_lit_state = 0;
	parser->skip_saw_cr = false;
	parser->state = skip ? STATE_SKIP_LINE : STATE_TAG_START;
	return IMAP_PARSER_ERROR;
}

static bool is_atom_char(unsigned char c)
{
	/* Lenient like Dovecot: '%', '*', ']' and '\\' are allowed (LIST
	   patterns, sequence sets, flags); 8-bit too (UTF-8 names). */
	return c > ' ' && c != 0x7f && c != '(' && c != ')' && c != '{' &&
		c != '"';
}

static bool is_tag_char(unsigned char c)
{
	return c > ' ' && c < 0x7f && strchr("(){%*\"\\+", c) == NULL;
}

static struct imap_arg *
parser_add_arg(struct imap_parser *parser, enum imap_arg_type type)
{
	struct arg_builder *b = &parser->stack[parser->depth];

	if (b->count + 1 >= b->alloc) {
		b->alloc = b->alloc == 0 ? 8 : b->alloc * 2;
		b->args = i_realloc(b->args, b->alloc * sizeof(*b->args));
	}
	struct imap_arg *arg = &b->args[b->count++];
	memset(arg, 0, sizeof(*arg));
	arg->type = type;
	parser->args_total++;
	return arg;
}

static void parser_add_string_arg(struct imap_parser *parser,
				  enum imap_arg_type type)
{
	struct imap_arg *arg;

	if (type == IMAP_ARG_ATOM && str_len(parser->tok) == 3 &&
	    strcasecmp(str_c(parser->tok), "NIL") == 0)
		type = IMAP_ARG_NIL;
	arg = parser_add_arg(parser, type);
	arg->str_len = str_len(parser->tok);
	if (type == IMAP_ARG_LITERAL) {
		/* hand over the (possibly big) buffer instead of copying */
		arg->str = str_free_without_data(&parser->tok);
		parser->tok = str_new(128);
	} else {
		arg->str = i_strndup(str_c(parser->tok), arg->str_len);
		str_truncate(parser->tok, 0);
	}
	arg->literal_plus = type == IMAP_ARG_LITERAL && parser->literal_plus;
}

static void parser_terminate(struct arg_builder *b)
{
	if (b->count + 1 > b->alloc) {
		b->alloc = b->count + 1;
		b->args = i_realloc(b->args, b->alloc * sizeof(*b->args));
	}
	memset(&b->args[b->count], 0, sizeof(b->args[0]));
	b->args[b->count].type = IMAP_ARG_EOL;
}

static enum imap_parser_result parser_list_open(struct imap_parser *parser)
{
	if (parser->args_total >= parser->limits.max_args)
		return parser_error(parser, IMAP_PARSER_ERROR_BAD,
				    "Too many arguments.", true);
	if (parser->depth >= parser->limits.max_list_depth)
		return parser_error(parser, IMAP_PARSER_ERROR_BAD,
				    "Too deep list nesting.", true);
	(void)parser_add_arg(parser, IMAP_ARG_LIST);
	unsigned int idx = parser->stack[parser->depth].count - 1;
	parser->depth++;
	memset(&parser->stack[parser->depth], 0, sizeof(parser->stack[0]));
	parser->stack[parser->depth].parent_idx = idx;
	parser->state = STATE_ARG_START;
	return IMAP_PARSER_NEED_MORE;
}

static enum imap_parser_result parser_list_close(struct imap_parser *parser)
{
	if (parser->depth == 0)
		return parser_error(parser, IMAP_PARSER_ERROR_BAD,
				    "Unexpected ')'.", true);
	struct arg_builder *b = &parser->stack[parser->depth];
	parser_terminate(b);
	parser->depth--;
	struct imap_arg *list_arg = &parser->stack[parser->depth].args[b->parent_idx];
	list_arg->list = b->args;
	list_arg->list_count = b->count;
	memset(b, 0, sizeof(*b));
	parser->state = STATE_ARG_END;
	return IMAP_PARSER_NEED_MORE;
}

static enum imap_parser_result parser_line_end(struct imap_parser *parser)
{
	if (parser->depth > 0)
		return parser_error(parser, IMAP_PARSER_ERROR_BAD,
				    "Missing ')'.", false);
	parser_terminate(&parser->stack[0]);
	parser->cmd.tag = str_c(parser->tag);
	parser->cmd.name = str_c(parser->name);
	parser->cmd.args = parser->stack[0].args;
	parser->cmd.args_count = parser->stack[0].count;
	parser->have_command = true;
	parser->state = STATE_TAG_START;
	return IMAP_PARSER_COMMAND;
}

static enum imap_parser_result
parser_literal_announced(struct imap_parser *parser)
{
	uint64_t max;

	if (parser_is_append(parser))
		max = parser->limits.max_literal_size;
	else {
		uint64_t used = parser->line_len + parser->literal_total;
		max = used >= parser->limits.max_line_length ? 0 :
			parser->limits.max_line_length - used;
	}
	if (parser->literal_size > max) {
		bool plus = parser->literal_plus;
		uint64_t size = parser->literal_size;
		/* A synchronizing literal's data won't come: the command
		   line is over. A LITERAL+ one is already on its way: skip
		   it and the rest of its line in case the caller goes on. */
		enum imap_parser_result ret =
			parser_error(parser, IMAP_PARSER_ERROR_LITERAL_TOO_BIG,
				     "Literal size too large.", false);
		parser->error_fatal = plus;
		if (plus && size > 0) {
			parser->skip_lit_size = size;
			parser->state = STATE_SKIP_LITERAL;
		} else if (plus) {
			parser->state = STATE_SKIP_LINE;
		}
		return ret;
	}
	parser->literal_total += parser->literal_size;
	str_truncate(parser->tok, 0);
	if (parser->literal_size == 0) {
		parser_add_string_arg(parser, IMAP_ARG_LITERAL);
		parser->state = STATE_ARG_END;
	} else {
		parser->state = STATE_LITERAL_DATA;
	}
	return parser->literal_plus ? IMAP_PARSER_NEED_MORE :
		IMAP_PARSER_LITERAL_CONT;
}

/* Handle one byte of the skipped remainder of a bad line. Returns true
   when the line (and any LITERAL+ at its end) is over. */
static bool parser_skip_byte(struct imap_parser *parser, unsigned char c)
{
	if (c == '\n') {
		if (parser->skip_lit_state == 3 && parser->skip_lit_plus &&
		    parser->skip_lit_size > 0) {
			/* "{N+}" ended the line: its data belongs to it */
			parser->state = STATE_SKIP_LITERAL;
			parser->skip_lit_state = 0;
			return false;
		}
		return true;
	}
	if (c == '\r') {
		parser->skip_saw_cr = true;
		return false;
	}
	if (parser->skip_saw_cr) {
		parser->skip_saw_cr = false;
		parser->skip_lit_state = 0;
	}
	switch (c) {
	case '{':
		parser->skip_lit_state = 1;
		parser->skip_lit_size = 0;
		parser->skip_lit_plus = false;
		return false;
	case '+':
		parser->skip_lit_state = parser->skip_lit_state == 1 ? 2 : 0;
		parser->skip_lit_plus = true;
		return false;
	case '}':
		parser->skip_lit_state =
			parser->skip_lit_state >= 1 ? 3 : 0;
		return false;
	default:
		if (c >= '0' && c <= '9' && parser->skip_lit_state == 1 &&
		    parser->skip_lit_size < (UINT64_MAX - 9) / 10) {
			parser->skip_lit_size =
				parser->skip_lit_size * 10 + (c - '0');
		} else {
			parser->skip_lit_state = 0;
		}
		return false;
	}
}

/* A quoted string inside a section spec, e.g. the field names of
   BODY[HEADER.FIELDS ("From" "To")]: kept verbatim in the atom. */
static enum imap_parser_result
parser_atom_quoted_byte(struct imap_parser *parser, unsigned char c)
{
	if (c == '\0' || c == '\r' || c == '\n') {
		return parser_error(parser, IMAP_PARSER_ERROR_BAD,
				    "Missing '\"'.", c != '\n');
	}
	if (parser->bracket_escape)
		parser->bracket_escape = false;
	else if (c == '\\')
		parser->bracket_escape = true;
	else if (c == '"')
		parser->bracket_quoted = false;
	str_append_c(parser->tok, (char)c);
	return IMAP_PARSER_NEED_MORE;
}

static enum imap_parser_result
parser_atom_byte(struct imap_parser *parser, unsigned char c)
{
	if (parser->bracket_quoted)
		return parser_atom_quoted_byte(parser, c);
	if (c == '"' && parser->bracket_depth > 0) {
		parser->bracket_quoted = true;
	} else if (c == '[')
		parser->bracket_depth++;
	else if (c == ']' && parser->bracket_depth > 0)
		parser->bracket_depth--;
	else if (c == '\r' || c == '\n' ||
		 (parser->bracket_depth == 0 && (c == ' ' || c == ')'))) {
		parser_add_string_arg(parser, IMAP_ARG_ATOM);
		parser->state = STATE_ARG_END;
		return RESULT_REHANDLE;
	} else if (parser->bracket_depth > 0 && (c == ' ' || c == '(' ||
						  c == ')')) {
		/* part of a section spec */
	} else if (!is_atom_char(c)) {
		return parser_error(parser, IMAP_PARSER_ERROR_BAD,
				    "Invalid characters in atom.", c != '\n');
	}
	str_append_c(parser->tok, (char)c);
	return IMAP_PARSER_NEED_MORE;
}

static enum imap_parser_result
parser_arg_start(struct imap_parser *parser, unsigned char c)
{
	if (c == '\r') {
		parser->state = STATE_LINE_LF;
		return IMAP_PARSER_NEED_MORE;
	}
	if (c == '\n')
		return parser_line_end(parser);
	if (c == ')')
		return parser_list_close(parser);
	if (c == '(')
		return parser_list_open(parser);
	if (parser->args_total >= parser->limits.max_args)
		return parser_error(parser, IMAP_PARSER_ERROR_BAD,
				    "Too many arguments.", true);
	str_truncate(parser->tok, 0);
	if (c == '"') {
		parser->state = STATE_QUOTED;
		return IMAP_PARSER_NEED_MORE;
	}
	if (c == '{') {
		parser->literal_size = 0;
		parser->literal_plus = false;
		parser->literal_digits = 0;
		parser->state = STATE_LITERAL_SIZE;
		return IMAP_PARSER_NEED_MORE;
	}
	if (c == ' ')
		return parser_error(parser, IMAP_PARSER_ERROR_BAD,
				    "Unexpected space.", true);
	parser->bracket_depth = 0;
	parser->bracket_quoted = false;
	parser->bracket_escape = false;
	parser->state = STATE_ATOM;
	return parser_atom_byte(parser, c);
}

static enum imap_parser_result
parser_literal_size_byte(struct imap_parser *parser, unsigned char c)
{
	if (c >= '0' && c <= '9' && !parser->literal_plus) {
		if (++parser->literal_digits > MAX_LITERAL_DIGITS ||
		    parser->literal_size > (UINT64_MAX - 9) / 10)
			return parser_error(parser, IMAP_PARSER_ERROR_BAD,
					    "Invalid literal size.", true);
		parser->literal_size = parser->literal_size * 10 + (c - '0');
		return IMAP_PARSER_NEED_MORE;
	}
	if (c == '+' && !parser->literal_plus && parser->literal_digits > 0) {
		parser->literal_plus = true;
		return IMAP_PARSER_NEED_MORE;
	}
	if (c == '}' && parser->literal_digits > 0) {
		parser->state = STATE_LITERAL_CLOSE;
		return IMAP_PARSER_NEED_MORE;
	}
	return parser_error(parser, IMAP_PARSER_ERROR_BAD,
			    "Invalid literal size.", c != '\n');
}

static enum imap_parser_result
parser_quoted_byte(struct imap_parser *parser, unsigned char c)
{
	if (parser->state == STATE_QUOTED_ESCAPE) {
		if (c != '\\' && c != '"')
			return parser_error(parser, IMAP_PARSER_ERROR_BAD,
				"Invalid escape in quoted string.", c != '\n');
		str_append_c(parser->tok, (char)c);
		parser->state = STATE_QUOTED;
		return IMAP_PARSER_NEED_MORE;
	}
	switch (c) {
	case '\\':
		parser->state = STATE_QUOTED_ESCAPE;
		return IMAP_PARSER_NEED_MORE;
	case '"':
		parser_add_string_arg(parser, IMAP_ARG_STRING);
		parser->state = STATE_ARG_END;
		return IMAP_PARSER_NEED_MORE;
	case '\0':
		return parser_error(parser, IMAP_PARSER_ERROR_BAD,
				    "NUL in quoted string.", true);
	case '\r':
	case '\n':
		return parser_error(parser, IMAP_PARSER_ERROR_BAD,
				    "Missing '\"'.", c == '\r');
	default:
		str_append_c(parser->tok, (char)c);
		return IMAP_PARSER_NEED_MORE;
	}
}

static enum imap_parser_result
parser_word_byte(struct imap_parser *parser, unsigned char c)
{
	string_t *word = parser->state == STATE_TAG ? parser->tag :
		parser->name;

	if (c == ' ' || c == '\r' || c == '\n') {
		if (parser->state == STATE_TAG) {
			if (c != ' ')
				return parser_error(parser,
					IMAP_PARSER_ERROR_BAD,
					"Missing command.", c == '\r');
			parser->state = STATE_NAME;
			return IMAP_PARSER_NEED_MORE;
		}
		if (str_len(word) == 0)
			return parser_error(parser, IMAP_PARSER_ERROR_BAD,
					    "Missing command.", c != '\n');
		parser->state = STATE_ARG_START;
		if (c == ' ')
			return IMAP_PARSER_NEED_MORE;
		return parser_arg_start(parser, c);
	}
	if (parser->state == STATE_TAG ? !is_tag_char(c) :
	    !(is_tag_char(c) && c != ']' && c != '['))
		return parser_error(parser, IMAP_PARSER_ERROR_BAD,
				    parser->state == STATE_TAG ?
				    "Invalid characters in tag." :
				    "Invalid characters in command name.",
				    true);
	str_append_c(word, (char)c);
	return IMAP_PARSER_NEED_MORE;
}

static enum imap_parser_result
parser_byte(struct imap_parser *parser, unsigned char c)
{
	enum imap_parser_result ret;

	switch (parser->state) {
	case STATE_TAG_START:
		if (c == '\r' || c == '\n')
			return IMAP_PARSER_NEED_MORE; /* ignore empty lines */
		parser->state = STATE_TAG;
		/* fall through */
	case STATE_TAG:
	case STATE_NAME:
		return parser_word_byte(parser, c);
	case STATE_ARG_START:
		return parser_arg_start(parser, c);
	case STATE_ARG_END:
		if (c == ' ') {
			parser->state = STATE_ARG_START;
			return IMAP_PARSER_NEED_MORE;
		}
		if (c == ')' || c == '\r' || c == '\n')
			return parser_arg_start(parser, c);
		return parser_error(parser, IMAP_PARSER_ERROR_BAD,
				    "Missing space between arguments.", true);
	case STATE_ATOM:
		ret = parser_atom_byte(parser, c);
		if (ret == RESULT_REHANDLE)
			return parser_byte(parser, c);
		return ret;
	case STATE_QUOTED:
	case STATE_QUOTED_ESCAPE:
		return parser_quoted_byte(parser, c);
	case STATE_LITERAL_SIZE:
		return parser_literal_size_byte(parser, c);
	case STATE_LITERAL_CLOSE:
		if (c == '\r') {
			parser->state = STATE_LITERAL_LF;
			return IMAP_PARSER_NEED_MORE;
		}
		/* fall through */
	case STATE_LITERAL_LF:
		if (c != '\n')
			return parser_error(parser, IMAP_PARSER_ERROR_BAD,
				"Missing line break after literal size.", true);
		return parser_literal_announced(parser);
	case STATE_LINE_LF:
		if (c != '\n')
			return parser_error(parser, IMAP_PARSER_ERROR_BAD,
				"CR without LF.", true);
		return parser_line_end(parser);
	case STATE_LITERAL_DATA:
	case STATE_SKIP_LINE:
	case STATE_SKIP_LITERAL:
		break;
	}
	i_fatal("imap-parser: unexpected state %d", parser->state);
}

enum imap_parser_result
imap_parser_parse(struct imap_parser *parser, const unsigned char *data,
		  size_t size, size_t *used_r)
{
	enum imap_parser_result ret = IMAP_PARSER_NEED_MORE;
	size_t i = 0;

	if (parser->have_command)
		parser_new_command(parser);
	parser->error = IMAP_PARSER_ERROR_NONE;

	while (i < size && ret == IMAP_PARSER_NEED_MORE) {
		if (parser->state == STATE_LITERAL_DATA ||
		    parser->state == STATE_SKIP_LITERAL) {
			uint64_t left = parser->state == STATE_LITERAL_DATA ?
				parser->literal_size - str_len(parser->tok) :
				parser->skip_lit_size;
			size_t n = size - i < left ? size - i : (size_t)left;
			if (parser->state == STATE_LITERAL_DATA) {
				str_append_n(parser->tok, data + i, n);
				if (n == left) {
					parser_add_string_arg(parser,
							IMAP_ARG_LITERAL);
					parser->state = STATE_ARG_END;
				}
			} else {
				parser->skip_lit_size -= n;
				if (parser->skip_lit_size == 0)
					parser->state = STATE_SKIP_LINE;
			}
			i += n;
			continue;
		}
		unsigned char c = data[i++];
		if (parser->state == STATE_SKIP_LINE) {
			if (parser_skip_byte(parser, c))
				parser_new_command(parser);
			continue;
		}
		if ((parser->state != STATE_TAG_START ||
		     (c != '\r' && c != '\n')) &&
		    ++parser->line_len > parser->limits.max_line_length) {
			ret = parser_error(parser,
					   IMAP_PARSER_ERROR_LINE_TOO_LONG,
					   "Too long argument.", c != '\n');
			break;
		}
		ret = parser_byte(parser, c);
	}
	*used_r = i;
	return ret;
}

const struct imap_command_parsed *
imap_parser_get_command(const struct imap_parser *parser)
{
	return parser->have_command ? &parser->cmd : NULL;
}

const char *imap_parser_get_error(const struct imap_parser *parser,
				  enum imap_parser_error *error_r,
				  bool *fatal_r)
{
	if (error_r != NULL)
		*error_r = parser->error;
	if (fatal_r != NULL)
		*fatal_r = parser->error_fatal;
	return parser->error_msg;
}

const char *imap_parser_get_tag(const struct imap_parser *parser)
{
	if (parser->error != IMAP_PARSER_ERROR_NONE)
		return parser->error_has_tag ? str_c(parser->error_tag) : NULL;
	return str_len(parser->tag) > 0 && parser->state != STATE_TAG ?
		str_c(parser->tag) : NULL;
}

const char *imap_parser_get_name(const struct imap_parser *parser)
{
	if (parser->error != IMAP_PARSER_ERROR_NONE)
		return parser->error_has_name ? str_c(parser->error_name) : NULL;
	return parser->state > STATE_NAME && str_len(parser->name) > 0 ?
		str_c(parser->name) : NULL;
}

const struct imap_arg *
imap_parser_get_partial_args(const struct imap_parser *parser,
			     unsigned int *count_r)
{
	const struct arg_builder *b = &parser->stack[0];

	*count_r = b->count;
	/* the last top-level arg may be a list still being read */
	if (parser->depth > 0 && *count_r > 0)
		(*count_r)--;
	return b->args;
}

bool imap_parser_is_busy(const struct imap_parser *parser)
{
	return parser->state != STATE_TAG_START;
}

/* --- argument helpers --- */

bool imap_arg_get_astring(const struct imap_arg *arg, const char **str_r)
{
	switch (arg->type) {
	case IMAP_ARG_ATOM:
	case IMAP_ARG_STRING:
	case IMAP_ARG_LITERAL:
	case IMAP_ARG_NIL:
		*str_r = arg->str;
		return true;
	default:
		return false;
	}
}

bool imap_arg_get_string(const struct imap_arg *arg, const char **str_r)
{
	if (arg->type != IMAP_ARG_STRING && arg->type != IMAP_ARG_LITERAL)
		return false;
	*str_r = arg->str;
	return true;
}

bool imap_arg_get_nstring(const struct imap_arg *arg, const char **str_r)
{
	if (arg->type == IMAP_ARG_NIL) {
		*str_r = NULL;
		return true;
	}
	return imap_arg_get_string(arg, str_r);
}

bool imap_arg_get_atom(const struct imap_arg *arg, const char **str_r)
{
	if (arg->type != IMAP_ARG_ATOM && arg->type != IMAP_ARG_NIL)
		return false;
	*str_r = arg->str;
	return true;
}

bool imap_arg_get_list(const struct imap_arg *arg,
		       const struct imap_arg **list_r, unsigned int *count_r)
{
	if (arg->type != IMAP_ARG_LIST)
		return false;
	*list_r = arg->list;
	if (count_r != NULL)
		*count_r = arg->list_count;
	return true;
}

bool imap_arg_atom_equals(const struct imap_arg *arg, const char *s)
{
	return (arg->type == IMAP_ARG_ATOM || arg->type == IMAP_ARG_NIL) &&
		strcasecmp(arg->str, s) == 0;
}

void imap_write_args(string_t *dest, const struct imap_arg *args, bool human)
{
	for (const struct imap_arg *arg = args; arg->type != IMAP_ARG_EOL;
	     arg++) {
		if (arg != args)
			str_append_c(dest, ' ');
		switch (arg->type) {
		case IMAP_ARG_NIL:
			str_append(dest, "NIL");
			break;
		case IMAP_ARG_ATOM:
			str_append_n(dest, arg->str, arg->str_len);
			break;
		case IMAP_ARG_STRING:
			str_append_c(dest, '"');
			for (size_t i = 0; i < arg->str_len; i++) {
				if (arg->str[i] == '"' || arg->str[i] == '\\')
					str_append_c(dest, '\\');
				str_append_c(dest, arg->str[i]);
			}
			str_append_c(dest, '"');
			break;
		case IMAP_ARG_LITERAL:
			if (human) {
				str_printfa(dest, "<%zu byte literal>",
					    arg->str_len);
			} else {
				str_printfa(dest, "{%zu}\r\n", arg->str_len);
				str_append_n(dest, arg->str, arg->str_len);
			}
			break;
		case IMAP_ARG_LIST:
			str_append_c(dest, '(');
			imap_write_args(dest, arg->list, human);
			str_append_c(dest, ')');
			break;
		case IMAP_ARG_EOL:
			break;
		}
	}
}
