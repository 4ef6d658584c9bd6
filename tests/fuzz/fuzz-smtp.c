/* Fuzz target for lib-smtp: the input is fed to the command parser in
   pieces whose sizes come from the input itself; every command's
   arguments go through the MAIL/RCPT parsers; the same bytes go through
   the DATA reader, whose output must read back identically after
   dot-stuffing. Aborts when an invariant breaks.

   Built by tests/fuzz/meson.build: a libFuzzer binary with clang and
   -Dfuzzing=true (`make fuzz`), else linked with replay-main.c. */
#include <stdio.h>
#include <stdlib.h>
#include "lib.h"
#include "smtp-parser.h"
#include "smtp-address.h"
#include "smtp-data.h"

#define CHECK(expr) do { if (!(expr)) { \
	fprintf(stderr, "invariant failed: %s (%s:%d)\n", #expr, \
		__FILE__, __LINE__); abort(); } } while (0)

static void fuzz_args(const char *args)
{
	struct smtp_envelope_cmd cmd;
	const char *error;

	if (smtp_parse_mail(args, &cmd, &error) == 0) {
		CHECK(cmd.params_count <= SMTP_MAX_PARAMS);
		char *enc = smtp_address_encode(&cmd.path);
		CHECK(strlen(enc) <= 2 * SMTP_PATH_MAX_LENGTH + 2);
		free(enc);
		smtp_envelope_cmd_free(&cmd);
	}
	if (smtp_parse_rcpt(args, &cmd, &error) == 0) {
		CHECK(cmd.path.localpart != NULL);
		smtp_envelope_cmd_free(&cmd);
	}
}

static void fuzz_commands(const unsigned char *data, size_t size)
{
	struct smtp_command_parser *parser = smtp_command_parser_create(512);
	size_t pos = 0, step = size == 0 ? 1 : 1 + data[0] % 17;
	string_t *pending = str_new(256);

	while (pos < size) {
		size_t n = size - pos < step ? size - pos : step;
		str_append_n(pending, data + pos, n);
		pos += n;
		for (;;) {
			struct smtp_command cmd;
			const char *error;
			size_t consumed;
			int ret = smtp_command_parser_next(parser, str_data(pending),
							   str_len(pending),
							   &consumed, &cmd, &error);
			CHECK(consumed <= str_len(pending));
			str_delete(pending, 0, consumed);
			if (ret == 0) {
				CHECK(str_len(pending) == 0);
				break;
			}
			if (ret > 0) {
				CHECK(strlen(cmd.name) <= SMTP_COMMAND_MAX_NAME);
				CHECK(strlen(cmd.args) <= 512);
				fuzz_args(cmd.args);
			}
		}
	}
	str_free(&pending);
	smtp_command_parser_destroy(&parser);
}

static void fuzz_data(const unsigned char *data, size_t size)
{
	struct smtp_data_reader *reader = smtp_data_reader_create(0);
	string_t *out = str_new(256);
	size_t consumed;

	if (smtp_data_reader_feed(reader, data, size, &consumed, out) > 0) {
		/* stuff it again: must read back the same */
		string_t *stuffed = str_new(str_len(out) + 16);
		for (size_t i = 0; i < str_len(out); i++) {
			if (out->data[i] == '.' && (i == 0 || out->data[i - 1] == '\n'))
				str_append_c(stuffed, '.');
			str_append_c(stuffed, out->data[i]);
		}
		str_append(stuffed, ".\r\n");
		struct smtp_data_reader *r2 = smtp_data_reader_create(0);
		string_t *out2 = str_new(256);
		size_t consumed2;
		CHECK(smtp_data_reader_feed(r2, str_data(stuffed), str_len(stuffed),
					    &consumed2, out2) > 0);
		CHECK(consumed2 == str_len(stuffed));
		CHECK(str_len(out2) == str_len(out) &&
		      memcmp(str_data(out2), str_data(out), str_len(out)) == 0);
		str_free(&out2);
		str_free(&stuffed);
		smtp_data_reader_destroy(&r2);
	} else {
		CHECK(consumed == size);
	}
	str_free(&out);
	smtp_data_reader_destroy(&reader);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	fuzz_commands(data, size);
	fuzz_data(data, size);
	return 0;
}
