/* SMTP command line parser: see smtp-parser.h. */
#include "smtp-parser.h"
#include <stdlib.h>
#include <ctype.h>

struct smtp_command_parser {
	size_t max_line_length;
	string_t *line;
	char *name;
	/* current line exceeded the limit: skip to its LF */
	bool skipping;
};

struct smtp_command_parser *smtp_command_parser_create(size_t max_line_length)
{
	struct smtp_command_parser *parser = i_new(struct smtp_command_parser, 1);

	parser->max_line_length = max_line_length != 0 ? max_line_length :
		SMTP_COMMAND_DEFAULT_MAX_LINE;
	parser->line = str_new(128);
	return parser;
}

void smtp_command_parser_destroy(struct smtp_command_parser **_parser)
{
	struct smtp_command_parser *parser = *_parser;

	if (parser == NULL)
		return;
	*_parser = NULL;
	str_free(&parser->line);
	free(parser->name);
	free(parser);
}

/* Split a complete line (CR removed) into verb and arguments. */
static int smtp_command_parse_line(struct smtp_command_parser *parser,
				   struct smtp_command *cmd_r,
				   const char **error_r)
{
	char *line = parser->line->data;
	size_t i, len = str_len(parser->line);

	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)line[i];
		if ((c < 0x20 && c != '\t') || c == 0x7f) {
			*error_r = "Invalid characters in command";
			return -1;
		}
	}
	for (i = 0; i < len && line[i] != ' '; i++) {
		if (!isalnum((unsigned char)line[i]) || i >= SMTP_COMMAND_MAX_NAME) {
			*error_r = "Invalid command name";
			return -1;
		}
	}
	if (i == 0) {
		*error_r = "Empty command";
		return -1;
	}
	free(parser->name);
	parser->name = i_strndup(line, i);
	str_ucase(parser->name);
	cmd_r->name = parser->name;
	cmd_r->args = i < len ? line + i + 1 : "";
	return 1;
}

int smtp_command_parser_next(struct smtp_command_parser *parser,
			     const void *data, size_t size,
			     size_t *consumed_r, struct smtp_command *cmd_r,
			     const char **error_r)
{
	const unsigned char *p = data, *lf;

	if (size == 0) {
		*consumed_r = 0;
		return 0;
	}
	lf = memchr(data, '\n', size);
	size_t chunk = lf == NULL ? size : (size_t)(lf - p);

	*consumed_r = lf == NULL ? size : chunk + 1;
	if (!parser->skipping) {
		/* the CR of CRLF may still be in this chunk: allow one extra
		   byte until the line end tells us */
		if (str_len(parser->line) + chunk > parser->max_line_length + 1) {
			parser->skipping = true;
			str_truncate(parser->line, 0);
		} else {
			str_append_n(parser->line, p, chunk);
		}
	}
	if (lf == NULL)
		return 0;

	if (parser->skipping) {
		parser->skipping = false;
		*error_r = "Line too long";
		return -1;
	}
	size_t len = str_len(parser->line);
	if (len > 0 && parser->line->data[len - 1] == '\r')
		str_truncate(parser->line, --len);
	int ret;
	if (len > parser->max_line_length) {
		*error_r = "Line too long";
		ret = -1;
	} else {
		ret = smtp_command_parse_line(parser, cmd_r, error_r);
	}
	/* keep the line's storage alive for cmd_r; reset on next call */
	parser->line->len = 0;
	return ret;
}
