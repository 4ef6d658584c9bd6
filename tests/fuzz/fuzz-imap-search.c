/* Fuzz target for the IMAP SEARCH program parser (src/imap/imap-search.c)
   and its matcher. The input is the argument text of a SEARCH command
   ("t SEARCH " and CRLF are added; literals work). A program that
   parses is matched against every message of a small fixed mailbox;
   NOT of a program must match exactly the messages the program does
   not match, and "OR p p" exactly the ones p matches.

   Built by tests/fuzz/meson.build: a libFuzzer binary with clang and
   -Dfuzzing=true (`make fuzz`), else linked with replay-main.c. */
#include "fuzz-mailbox.h"
#include "imap-parser.h"
#include "imap-search.h"
#include <strings.h>

static struct mail_user *user;
static struct mailbox *box;

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	const char *error;

	fuzz_mailbox_init();
	user = fuzz_user_open(fuzz_home);
	CHECK(mailbox_open(user, "INBOX", true, &box, &error) == 0);
	CHECK(mailbox_count(box) == N_ELEMENTS(fuzz_messages));
	return 0;
}

/* Parse "t SEARCH <data>\r\n" (answering literal continuations);
   returns the parser when a command came out, else NULL. */
static struct imap_parser *
parse_command(const char *prefix, const uint8_t *data, size_t size)
{
	static const struct imap_parser_limits limits = {
		.max_line_length = 8192, .max_list_depth = 16,
		.max_args = 400,
	};
	struct imap_parser *parser = imap_parser_create(&limits);
	string_t *in = str_new(size + 32);
	enum imap_parser_result ret;
	size_t pos = 0, used;

	str_append(in, prefix);
	str_append_n(in, data, size);
	str_append(in, "\r\n");
	do {
		ret = imap_parser_parse(parser, str_data(in) + pos,
					str_len(in) - pos, &used);
		pos += used;
	} while (ret == IMAP_PARSER_LITERAL_CONT);
	str_free(&in);
	if (ret != IMAP_PARSER_COMMAND)
		imap_parser_destroy(&parser);
	return parser;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct imap_parser *parser;
	const struct imap_command_parsed *cmd;
	const struct imap_arg *args;
	struct imap_search *search, *search2;
	const char *error, *charset;
	uint32_t count = mailbox_count(box), seq, last_uid;
	string_t *w;
	char *neg;
	int m, m2;

	if (size > 4096)
		return 0;
	parser = parse_command("t SEARCH ", data, size);
	if (parser == NULL)
		return 0;
	cmd = imap_parser_get_command(parser);
	args = cmd->args;
	if (imap_arg_atom_equals(args, "CHARSET") &&
	    imap_arg_get_astring(&args[1], &charset))
		args += 2;
	last_uid = mailbox_get(box, count)->uid;
	if (imap_search_parse(args, count, last_uid, &search, &error) < 0) {
		CHECK(error != NULL && error[0] != '\0');
		CHECK(strchr(error, '\n') == NULL && strchr(error, '\r') == NULL);
		imap_parser_destroy(&parser);
		return 0;
	}
	/* the same program as NOT (...) and as OR (...) (...) */
	w = str_new(256);
	imap_write_args(w, args, false);
	neg = i_strdup_printf("NOT (%s) OR (%s) (%s)", str_c(w), str_c(w),
			      str_c(w));
	str_free(&w);
	for (seq = 1; seq <= count; seq++) {
		m = imap_search_match(search, box, seq, seq);
		CHECK(m == 0 || m == 1);
	}
	struct imap_parser *parser2 =
		parse_command("t SEARCH ", (const uint8_t *)neg, strlen(neg));
	if (parser2 != NULL &&
	    imap_search_parse(imap_parser_get_command(parser2)->args, count,
			      last_uid, &search2, &error) == 0) {
		/* NOT p OR p p never matches */
		for (seq = 1; seq <= count; seq++) {
			m2 = imap_search_match(search2, box, seq, seq);
			CHECK(m2 == 0);
		}
		imap_search_free(&search2);
	}
	if (parser2 != NULL)
		imap_parser_destroy(&parser2);
	free(neg);
	imap_search_free(&search);
	imap_parser_destroy(&parser);
	return 0;
}
