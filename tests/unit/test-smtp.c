/* Unit tests for src/lib-smtp: command line parser, paths and MAIL/RCPT
   arguments, the DATA reader and the reply writer. Every parser is fed
   whole, byte at a time, garbage, truncated and oversized input. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <stdio.h>
#include <cmocka.h>
#include "lib.h"
#include "smtp-parser.h"
#include "smtp-address.h"
#include "smtp-data.h"
#include "smtp-reply.h"

/* Feed input in pieces of chunk bytes (0 = all at once); collect the
   results as "NAME|args\n" or "ERR:reason\n" lines. */
static char *parse_commands(const char *input, size_t input_len,
			    size_t chunk, size_t max_line)
{
	struct smtp_command_parser *parser = smtp_command_parser_create(max_line);
	string_t *result = str_new(128);
	string_t *pending = str_new(128);
	size_t pos = 0;

	while (pos < input_len) {
		size_t n = chunk == 0 ? input_len - pos : chunk;
		if (n > input_len - pos)
			n = input_len - pos;
		str_append_n(pending, input + pos, n);
		pos += n;
		for (;;) {
			struct smtp_command cmd;
			const char *error;
			size_t consumed;
			int ret = smtp_command_parser_next(parser, str_data(pending),
							   str_len(pending), &consumed,
							   &cmd, &error);
			assert_true(consumed <= str_len(pending));
			str_delete(pending, 0, consumed);
			if (ret == 0) {
				assert_int_equal(str_len(pending), 0);
				break;
			}
			if (ret > 0)
				str_printfa(result, "%s|%s\n", cmd.name, cmd.args);
			else
				str_printfa(result, "ERR:%s\n", error);
		}
	}
	str_free(&pending);
	smtp_command_parser_destroy(&parser);
	assert_null(parser);
	return str_free_without_data(&result);
}

static void test_command_parser(void **state)
{
	static const struct { const char *in, *out; } tests[] = {
		{ "LHLO example.com\r\n", "LHLO|example.com\n" },
		{ "lhlo x\n", "LHLO|x\n" },
		{ "MAIL FROM:<a@b> SIZE=10\r\nRCPT TO:<c@d>\r\nDATA\r\n",
		  "MAIL|FROM:<a@b> SIZE=10\nRCPT|TO:<c@d>\nDATA|\n" },
		{ "NOOP\r\n", "NOOP|\n" },
		{ "\r\n", "ERR:Empty command\n" },
		{ " NOOP\r\n", "ERR:Empty command\n" },
		{ "NO\001OP\r\nQUIT\r\n", "ERR:Invalid characters in command\nQUIT|\n" },
		{ "MA-IL x\r\n", "ERR:Invalid command name\n" },
		{ "\xff\xfe\r\n", "ERR:Invalid command name\n" },
		{ "MAIL FROM:<\xc3\xa4@b>\r\n", "MAIL|FROM:<\xc3\xa4@b>\n" },
		{ "RCPT TO:<x@y>", "" }, /* truncated: nothing yet */
		{ "DATA\r\r\n", "ERR:Invalid characters in command\n" },
	};
	for (unsigned int i = 0; i < N_ELEMENTS(tests); i++) {
		size_t len = strlen(tests[i].in);
		for (size_t chunk = 0; chunk <= 3; chunk++) {
			char *res = parse_commands(tests[i].in, len, chunk, 0);
			assert_string_equal(res, tests[i].out);
			free(res);
		}
	}
}

static void test_command_parser_empty_input(void **state)
{
	struct smtp_command_parser *parser = smtp_command_parser_create(0);
	struct smtp_command cmd;
	const char *error;
	size_t consumed = 99;

	assert_int_equal(smtp_command_parser_next(parser, NULL, 0, &consumed,
						  &cmd, &error), 0);
	assert_int_equal(consumed, 0);
	smtp_command_parser_destroy(&parser);
}

static void test_command_parser_limits(void **state)
{
	string_t *in = str_new(10000);
	char *res;

	/* exactly at the limit is fine, one more is not */
	str_append(in, "NOOP ");
	while (str_len(in) < 100)
		str_append_c(in, 'x');
	str_append(in, "\r\n");
	res = parse_commands(str_c(in), str_len(in), 1, 100);
	assert_true(str_begins(res, "NOOP|xxx"));
	free(res);
	str_truncate(in, 100);
	str_append(in, "y\r\nQUIT\r\n");
	res = parse_commands(str_c(in), str_len(in), 1, 100);
	assert_string_equal(res, "ERR:Line too long\nQUIT|\n");
	free(res);
	res = parse_commands(str_c(in), str_len(in), 0, 100);
	assert_string_equal(res, "ERR:Line too long\nQUIT|\n");
	free(res);

	/* a huge line without LF is consumed without being stored */
	str_truncate(in, 0);
	for (int i = 0; i < 9000; i++)
		str_append_c(in, 'A');
	str_append(in, "\nRSET\n");
	res = parse_commands(str_c(in), str_len(in), 7, 0);
	assert_string_equal(res, "ERR:Line too long\nRSET|\n");
	free(res);
	str_free(&in);
}

static void test_command_parser_garbage(void **state)
{
	unsigned char buf[4096];
	srandom(1234);
	for (int round = 0; round < 50; round++) {
		for (size_t i = 0; i < sizeof(buf); i++)
			buf[i] = (unsigned char)random();
		char *res = parse_commands((const char *)buf, sizeof(buf),
					   1 + round % 13, 200);
		/* every result line is either a command or an error */
		for (char *line = strtok(res, "\n"); line != NULL;
		     line = strtok(NULL, "\n"))
			assert_true(strstr(line, "|") != NULL ||
				    str_begins(line, "ERR:"));
		free(res);
	}
}

static void test_path(void **state)
{
	static const struct {
		const char *in;
		bool allow_null;
		int ret;
		const char *local, *domain, *encoded, *rest;
	} tests[] = {
		{ "<user@example.com>", false, 0, "user", "example.com", "user@example.com", "" },
		{ "<>", true, 0, NULL, NULL, "", "" },
		{ "<>", false, -1, NULL, NULL, NULL, NULL },
		{ "<postmaster>", false, 0, "postmaster", NULL, "postmaster", "" },
		{ "<\"john doe\"@ex.org> X", false, 0, "john doe", "ex.org", "\"john doe\"@ex.org", " X" },
		{ "<\"a\\\"b\"@ex.org>", false, 0, "a\"b", "ex.org", "\"a\\\"b\"@ex.org", "" },
		{ "<@r1.ex,@r2.ex:user@ex.org>", false, 0, "user", "ex.org", "user@ex.org", "" },
		{ "<user@[192.0.2.1]>", false, 0, "user", "[192.0.2.1]", "user@[192.0.2.1]", "" },
		{ "<first.last+tag@ex.org>", false, 0, "first.last+tag", "ex.org", "first.last+tag@ex.org", "" },
		{ "<a..b@ex.org>", false, 0, "a..b", "ex.org", "\"a..b\"@ex.org", "" },
		{ "user@example.com", false, -1, NULL, NULL, NULL, NULL },
		{ "<user@example.com", false, -1, NULL, NULL, NULL, NULL },
		{ "<user@>", false, -1, NULL, NULL, NULL, NULL },
		{ "<@>", false, -1, NULL, NULL, NULL, NULL },
		{ "<user@ex..org>", false, -1, NULL, NULL, NULL, NULL },
		{ "<us er@ex.org>", false, -1, NULL, NULL, NULL, NULL },
		{ "<\"unterminated@ex.org>", false, -1, NULL, NULL, NULL, NULL },
		{ "<\"a\001\"@ex.org>", false, -1, NULL, NULL, NULL, NULL },
		{ "<@r1.ex user@ex.org>", false, -1, NULL, NULL, NULL, NULL },
		{ "<u@[1.2.3.4>", false, -1, NULL, NULL, NULL, NULL },
		{ "", false, -1, NULL, NULL, NULL, NULL },
		{ "<", false, -1, NULL, NULL, NULL, NULL },
	};
	for (unsigned int i = 0; i < N_ELEMENTS(tests); i++) {
		struct smtp_address addr;
		const char *end, *error = NULL;
		int ret = smtp_path_parse(tests[i].in, tests[i].allow_null,
					  &addr, &end, &error);
		assert_int_equal(ret, tests[i].ret);
		if (ret < 0) {
			assert_non_null(error);
			assert_null(addr.localpart);
			assert_null(addr.domain);
			continue;
		}
		if (tests[i].local == NULL)
			assert_null(addr.localpart);
		else
			assert_string_equal(addr.localpart, tests[i].local);
		if (tests[i].domain == NULL)
			assert_null(addr.domain);
		else
			assert_string_equal(addr.domain, tests[i].domain);
		char *enc = smtp_address_encode(&addr);
		assert_string_equal(enc, tests[i].encoded);
		free(enc);
		assert_string_equal(end, tests[i].rest);
		smtp_address_free(&addr);
	}
}

static void test_path_limits(void **state)
{
	string_t *s = str_new(4096);
	struct smtp_address addr;
	const char *end, *error;

	str_append_c(s, '<');
	for (int i = 0; i < SMTP_LOCALPART_MAX_LENGTH + 1; i++)
		str_append_c(s, 'a');
	str_append(s, "@ex.org>");
	assert_int_equal(smtp_path_parse(str_c(s), false, &addr, &end, &error), -1);
	assert_string_equal(error, "Local part too long");

	str_truncate(s, 0);
	str_append(s, "<a@");
	for (int i = 0; i < 300; i++)
		str_append_c(s, 'd');
	str_append(s, ">");
	assert_int_equal(smtp_path_parse(str_c(s), false, &addr, &end, &error), -1);
	assert_string_equal(error, "Domain too long");

	/* long source route pushes the whole path over the limit */
	str_truncate(s, 0);
	str_append_c(s, '<');
	for (int i = 0; i < 200; i++)
		str_append(s, i == 0 ? "@r.ex" : ",@r.ex");
	str_append(s, ":a@ex.org>");
	assert_int_equal(smtp_path_parse(str_c(s), false, &addr, &end, &error), -1);
	assert_string_equal(error, "Path too long");
	str_free(&s);
}

static void test_mail_rcpt(void **state)
{
	struct smtp_envelope_cmd cmd;
	const char *error;
	bool found;

	assert_int_equal(smtp_parse_mail("FROM:<a@b.c> SIZE=123 BODY=8BITMIME", &cmd, &error), 0);
	assert_string_equal(cmd.path.localpart, "a");
	assert_int_equal(cmd.params_count, 2);
	assert_string_equal(smtp_envelope_cmd_param(&cmd, "size", &found), "123");
	assert_true(found);
	assert_string_equal(smtp_envelope_cmd_param(&cmd, "BODY", NULL), "8BITMIME");
	assert_null(smtp_envelope_cmd_param(&cmd, "RET", &found));
	assert_false(found);
	smtp_envelope_cmd_free(&cmd);

	assert_int_equal(smtp_parse_mail("from: <>", &cmd, &error), 0);
	assert_null(cmd.path.localpart);
	smtp_envelope_cmd_free(&cmd);

	assert_int_equal(smtp_parse_rcpt("TO:<u+d@ex.org> NOTIFY=NEVER ORCPT=rfc822;u@ex.org SMTPUTF8", &cmd, &error), 0);
	assert_string_equal(cmd.path.localpart, "u+d");
	assert_int_equal(cmd.params_count, 3);
	assert_null(smtp_envelope_cmd_param(&cmd, "smtputf8", &found));
	assert_true(found);
	smtp_envelope_cmd_free(&cmd);

	static const char *const bad_mail[] = {
		"", "FROM", "FROM:", "FROM:a@b", "TO:<a@b>", "FROM:<a@b>X",
		"FROM:<a@b> =x", "FROM:<a@b> SIZE=", "FROM:<a@b> SI_ZE=1",
		"FROM:<a@b> A=b=c", "FROM:<a@b> A=\001",
	};
	for (unsigned int i = 0; i < N_ELEMENTS(bad_mail); i++) {
		error = NULL;
		assert_int_equal(smtp_parse_mail(bad_mail[i], &cmd, &error), -1);
		assert_non_null(error);
	}
	assert_int_equal(smtp_parse_rcpt("TO:<>", &cmd, &error), -1);
	assert_int_equal(smtp_parse_rcpt("FROM:<a@b>", &cmd, &error), -1);

	/* parameter count limit */
	string_t *s = str_new(512);
	str_append(s, "FROM:<a@b>");
	for (int i = 0; i < SMTP_MAX_PARAMS; i++)
		str_printfa(s, " P%d=%d", i, i);
	assert_int_equal(smtp_parse_mail(str_c(s), &cmd, &error), 0);
	assert_int_equal(cmd.params_count, SMTP_MAX_PARAMS);
	smtp_envelope_cmd_free(&cmd);
	str_append(s, " ONEMORE");
	assert_int_equal(smtp_parse_mail(str_c(s), &cmd, &error), -1);
	assert_string_equal(error, "Too many parameters");
	str_free(&s);
}

/* Run the data reader over input in pieces of chunk bytes. Returns the
   message, or NULL when no terminator was found; *used_r = bytes used. */
static char *read_data(const char *input, size_t len, size_t chunk,
		       uint64_t max_size, size_t *used_r, bool *too_large_r)
{
	struct smtp_data_reader *reader = smtp_data_reader_create(max_size);
	string_t *out = str_new(256);
	size_t pos = 0;
	int ret = 0;

	while (pos < len && ret == 0) {
		size_t n = chunk == 0 ? len - pos : chunk, consumed;
		if (n > len - pos)
			n = len - pos;
		ret = smtp_data_reader_feed(reader, input + pos, n, &consumed, out);
		assert_true(consumed <= n);
		if (ret == 0)
			assert_int_equal(consumed, n);
		pos += consumed;
	}
	*used_r = pos;
	*too_large_r = smtp_data_reader_too_large(reader);
	if (!*too_large_r)
		assert_int_equal(smtp_data_reader_size(reader), str_len(out));
	smtp_data_reader_destroy(&reader);
	if (ret == 0) {
		str_free(&out);
		return NULL;
	}
	return str_free_without_data(&out);
}

static void test_data_reader(void **state)
{
	static const struct { const char *in, *out; size_t used; } tests[] = {
		{ ".\r\n", "", 3 },
		{ "a\r\n.\r\n", "a\r\n", 6 },
		{ "a\r\n.\r\nQUIT\r\n", "a\r\n", 6 },
		{ "..a\r\n..\r\n.\r\n", ".a\r\n.\r\n", 12 },
		{ ".x\r\n.\r\n", "x\r\n", 7 },
		{ "a\nb\n.\n", "a\r\nb\r\n", 6 },
		{ "a\rb\r\n.\r\n", "a\rb\r\n", 8 },
		{ "a\r\r\n.\r\n", "a\r\r\n", 7 },
		{ "a.\r\n.b.\r\n.\r\n", "a.\r\nb.\r\n", 12 },
		{ ".\rx\r\n.\r\n", "\rx\r\n", 8 },
		{ "\r\n\r\n.\r\n", "\r\n\r\n", 7 },
		{ "a\r\n.\r", NULL, 0 },
		{ "a\r\n", NULL, 0 },
		{ "", NULL, 0 },
		{ "a\r\n. \r\n.\r\n", "a\r\n \r\n", 10 },
	};
	for (unsigned int i = 0; i < N_ELEMENTS(tests); i++) {
		size_t len = strlen(tests[i].in);
		for (size_t chunk = 0; chunk <= 4; chunk++) {
			size_t used;
			bool too_large;
			char *res = read_data(tests[i].in, len, chunk, 0,
					      &used, &too_large);
			assert_false(too_large);
			if (tests[i].out == NULL) {
				assert_null(res);
				continue;
			}
			assert_non_null(res);
			assert_string_equal(res, tests[i].out);
			assert_int_equal(used, tests[i].used);
			free(res);
		}
	}
}

static void test_data_reader_limits(void **state)
{
	string_t *in = str_new(100000);
	size_t used;
	bool too_large;
	char *res;

	for (int i = 0; i < 1000; i++)
		str_append(in, "0123456789012345678901234567890123456789\r\n");
	str_append(in, ".\r\nNOOP\r\n");
	/* fits exactly */
	res = read_data(str_c(in), str_len(in), 0, 42000, &used, &too_large);
	assert_false(too_large);
	assert_int_equal(strlen(res), 42000);
	assert_int_equal(used, str_len(in) - 6);
	free(res);
	/* one byte too many: the reader still finds the end */
	for (size_t chunk = 0; chunk < 1000; chunk += 333) {
		res = read_data(str_c(in), str_len(in), chunk, 41999, &used, &too_large);
		assert_true(too_large);
		assert_int_equal(used, str_len(in) - 6);
		free(res);
	}
	str_free(&in);

	/* garbage: random bytes never crash, and whatever is returned
	   survives a round trip: dot-stuffed again it reads back the same */
	unsigned char buf[8192];
	srandom(42);
	for (int round = 0; round < 30; round++) {
		for (size_t i = 0; i < sizeof(buf); i++) {
			static const char alphabet[] = ".\r\nab";
			buf[i] = round % 2 == 0 ? (unsigned char)random() :
				(unsigned char)alphabet[random() % 5];
		}
		res = read_data((const char *)buf, sizeof(buf), 1 + round, 0,
				&used, &too_large);
		if (res != NULL) {
			assert_true(used <= sizeof(buf));
			string_t *stuffed = str_new(8192);
			size_t rlen = strlen(res);
			for (size_t i = 0; i < rlen; i++) {
				if (res[i] == '.' && (i == 0 || res[i - 1] == '\n'))
					str_append_c(stuffed, '.');
				str_append_c(stuffed, res[i]);
			}
			str_append(stuffed, ".\r\n");
			size_t used2;
			char *res2 = read_data(str_c(stuffed), str_len(stuffed),
					       0, 0, &used2, &too_large);
			assert_non_null(res2);
			assert_string_equal(res2, res);
			assert_int_equal(used2, str_len(stuffed));
			free(res2);
			str_free(&stuffed);
			free(res);
		}
	}
}

static void test_reply(void **state)
{
	string_t *out = str_new(128);

	smtp_reply_append(out, 250, "2.1.5", "<%s> OK", "a\r\n250 evil");
	assert_string_equal(str_c(out), "250 2.1.5 <a  250 evil> OK\r\n");
	str_truncate(out, 0);
	smtp_reply_append(out, 354, NULL, "OK");
	assert_string_equal(str_c(out), "354 OK\r\n");
	str_truncate(out, 0);
	const char *const lines[] = { "host", "PIPELINING", "8BITMIME", NULL };
	smtp_reply_append_lines(out, 250, lines);
	assert_string_equal(str_c(out), "250-host\r\n250-PIPELINING\r\n250 8BITMIME\r\n");
	str_free(&out);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_command_parser),
		cmocka_unit_test(test_command_parser_empty_input),
		cmocka_unit_test(test_command_parser_limits),
		cmocka_unit_test(test_command_parser_garbage),
		cmocka_unit_test(test_path),
		cmocka_unit_test(test_path_limits),
		cmocka_unit_test(test_mail_rcpt),
		cmocka_unit_test(test_data_reader),
		cmocka_unit_test(test_data_reader_limits),
		cmocka_unit_test(test_reply),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
