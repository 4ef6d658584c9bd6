/* Fuzz target for the IMAP FETCH data item parser
   (src/imap/imap-fetch.c): the input is the argument text of a FETCH
   command after the sequence set ("t FETCH 1 " and CRLF are added;
   literals work). The first argument goes through imap_fetch_parse()
   both as FETCH and UID FETCH.

   Built by tests/fuzz/meson.build: a libFuzzer binary with clang and
   -Dfuzzing=true (`make fuzz`), else linked with replay-main.c. */
#include "fuzz-common.h"
#include "lib.h"
#include "imap-parser.h"
#include "imap-fetch.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const struct imap_parser_limits limits = {
		.max_line_length = 8192, .max_list_depth = 16,
		.max_args = 400,
	};
	struct imap_parser *parser;
	struct imap_fetch *fetch;
	enum imap_parser_result ret;
	const char *error;
	string_t *in;
	size_t pos = 0, used;

	if (size > 4096)
		return 0;
	parser = imap_parser_create(&limits);
	in = str_new(size + 32);
	str_append(in, "t FETCH 1 ");
	str_append_n(in, data, size);
	str_append(in, "\r\n");
	do {
		ret = imap_parser_parse(parser, str_data(in) + pos,
					str_len(in) - pos, &used);
		pos += used;
	} while (ret == IMAP_PARSER_LITERAL_CONT);
	if (ret == IMAP_PARSER_COMMAND) {
		const struct imap_command_parsed *cmd =
			imap_parser_get_command(parser);

		CHECK(cmd->args_count >= 1);
		for (int uid = 0; uid < 2; uid++) {
			if (imap_fetch_parse(&cmd->args[1], uid != 0, &fetch,
					     &error) == 0) {
				imap_fetch_free(&fetch);
				CHECK(fetch == NULL);
			} else {
				CHECK(error != NULL && error[0] != '\0');
			}
		}
	}
	str_free(&in);
	imap_parser_destroy(&parser);
	return 0;
}
