/* Fuzz target for the IMAP command parser (src/lib-imap/imap-parser.h).
   The input is a client's byte stream. It is parsed twice, once in one
   piece and once in pieces whose size comes from the first byte, and
   both must give the same transcript of commands, continuation requests
   and errors. Every command's arguments are written back with
   imap_write_args() and must parse again to the same arguments; the
   argument helpers are run over every argument.

   Built by tests/fuzz/meson.build: a libFuzzer binary with clang and
   -Dfuzzing=true (`make fuzz`), else linked with replay-main.c. */
#include "fuzz-common.h"
#include "lib.h"
#include "imap-parser.h"

static const struct imap_parser_limits limits = {
	.max_line_length = 2048,
	.max_literal_size = 8192,
	.max_list_depth = 8,
	.max_args = 200,
};

static void check_args(const struct imap_arg *args, unsigned int count,
		       unsigned int depth)
{
	const struct imap_arg *list;
	unsigned int i, list_count;
	const char *s;

	CHECK(depth <= limits.max_list_depth + 1);
	for (i = 0; i < count; i++) {
		const struct imap_arg *a = &args[i];

		CHECK(a->type != IMAP_ARG_EOL);
		(void)imap_arg_get_astring(a, &s);
		(void)imap_arg_get_nstring(a, &s);
		(void)imap_arg_atom_equals(a, "BODY[]");
		if (imap_arg_get_string(a, &s))
			CHECK(a->type == IMAP_ARG_STRING ||
			      a->type == IMAP_ARG_LITERAL);
		if (imap_arg_get_atom(a, &s)) {
			/* NIL reads as an atom too, as in Dovecot */
			CHECK(a->type == IMAP_ARG_ATOM ||
			      a->type == IMAP_ARG_NIL);
			CHECK(strlen(s) == a->str_len);
		}
		if (a->type != IMAP_ARG_LIST) {
			CHECK(a->str != NULL);
			CHECK(a->str[a->str_len] == '\0');
		}
		if (imap_arg_get_list(a, &list, &list_count)) {
			CHECK(list[list_count].type == IMAP_ARG_EOL);
			check_args(list, list_count, depth + 1);
		}
	}
	CHECK(args[count].type == IMAP_ARG_EOL);
}

/* The command written back by imap_write_args() parses to the same. */
static void check_roundtrip(const struct imap_command_parsed *cmd,
			    const string_t *written)
{
	struct imap_parser *parser = imap_parser_create(NULL);
	string_t *in = str_new(256), *out = str_new(256);
	enum imap_parser_result ret;
	size_t pos = 0, used;

	str_printfa(in, "%s %s", cmd->tag, cmd->name);
	if (str_len(written) > 0) {
		str_append_c(in, ' ');
		str_append_n(in, str_data(written), str_len(written));
	}
	str_append(in, "\r\n");
	for (;;) {
		ret = imap_parser_parse(parser, str_data(in) + pos,
					str_len(in) - pos, &used);
		pos += used;
		if (ret != IMAP_PARSER_LITERAL_CONT)
			break;
	}
	if (ret != IMAP_PARSER_COMMAND) {
		fprintf(stderr, "written back: %s\n", str_c(in));
		CHECK(ret == IMAP_PARSER_COMMAND);
	}
	CHECK(pos == str_len(in));
	const struct imap_command_parsed *cmd2 = imap_parser_get_command(parser);
	CHECK(strcmp(cmd2->tag, cmd->tag) == 0);
	CHECK(strcmp(cmd2->name, cmd->name) == 0);
	CHECK(cmd2->args_count == cmd->args_count);
	imap_write_args(out, cmd2->args, false);
	if (str_len(out) != str_len(written) ||
	    memcmp(str_data(out), str_data(written), str_len(out)) != 0) {
		fprintf(stderr, "first: %s\nagain: %s\n", str_c(written),
			str_c(out));
		CHECK(!"arguments written back parse differently");
	}
	str_free(&out);
	str_free(&in);
	imap_parser_destroy(&parser);
}

static void run(struct imap_parser *parser, const unsigned char *data,
		size_t size, string_t *transcript, bool check)
{
	size_t pos = 0, used;
	unsigned int rounds = 0;

	while (pos < size) {
		enum imap_parser_result ret =
			imap_parser_parse(parser, data + pos, size - pos, &used);

		CHECK(used <= size - pos);
		CHECK(++rounds <= 2 * size + 16);
		pos += used;
		switch (ret) {
		case IMAP_PARSER_NEED_MORE:
			CHECK(pos == size);
			break;
		case IMAP_PARSER_LITERAL_CONT: {
			unsigned int count;
			const struct imap_arg *args =
				imap_parser_get_partial_args(parser, &count);
			CHECK(imap_parser_is_busy(parser));
			CHECK(count == 0 || args != NULL);
			str_append(transcript, "+;");
			break;
		}
		case IMAP_PARSER_COMMAND: {
			const struct imap_command_parsed *cmd =
				imap_parser_get_command(parser);
			string_t *w = str_new(256);

			CHECK(cmd != NULL && cmd->tag != NULL &&
			      cmd->name != NULL);
			imap_write_args(w, cmd->args, false);
			if (check) {
				check_args(cmd->args, cmd->args_count, 0);
				check_roundtrip(cmd, w);
			}
			str_printfa(transcript, "C%s|%s|", cmd->tag,
				    cmd->name);
			str_append_n(transcript, str_data(w), str_len(w));
			str_append_c(transcript, ';');
			str_truncate(w, 0);
			imap_write_args(w, cmd->args, true);
			str_free(&w);
			break;
		}
		case IMAP_PARSER_ERROR: {
			enum imap_parser_error err;
			bool fatal;
			const char *msg =
				imap_parser_get_error(parser, &err, &fatal);
			const char *tag = imap_parser_get_tag(parser);
			const char *name = imap_parser_get_name(parser);

			CHECK(msg != NULL && err != IMAP_PARSER_ERROR_NONE);
			str_printfa(transcript, "E%d%d%s|%s|%s;", err, fatal,
				    tag == NULL ? "-" : tag,
				    name == NULL ? "-" : name, msg);
			break;
		}
		default:
			CHECK(!"unknown result");
		}
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct imap_parser *parser = imap_parser_create(&limits);
	string_t *whole = str_new(256), *pieces = str_new(256);
	size_t step = size == 0 ? 1 : 1 + data[0] % 23, pos;

	run(parser, data, size, whole, true);
	imap_parser_reset(parser);
	CHECK(!imap_parser_is_busy(parser));
	for (pos = 0; pos < size; pos += step) {
		size_t n = size - pos < step ? size - pos : step;
		run(parser, data + pos, n, pieces, false);
	}
	if (str_len(whole) != str_len(pieces) ||
	    memcmp(str_data(whole), str_data(pieces), str_len(whole)) != 0) {
		fprintf(stderr, "whole:  %s\npieces: %s\n", str_c(whole),
			str_c(pieces));
		CHECK(!"parsing in pieces differs");
	}
	str_free(&whole);
	str_free(&pieces);
	imap_parser_destroy(&parser);
	return 0;
}
