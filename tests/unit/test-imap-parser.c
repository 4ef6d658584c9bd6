/* Unit tests for src/lib-imap/imap-parser.c: whole input and
   byte-at-a-time, literals (sync and LITERAL+), limits, garbage. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <stdio.h>
#include <cmocka.h>
#include "imap-parser.h"

/* Run input through a parser in chunks of `chunk` bytes (0 = all at
   once) and describe every result in a string:
     C<tag>|<name>|<args written back>;   for commands
     +;                                   for literal continuations
     E<kind>[F]|<tag or ->|<name or ->|<msg>;  for errors
   A trailing "N" means the input ended mid-command. */
static char *run(const struct imap_parser_limits *limits, const char *input,
		 size_t input_len, size_t chunk)
{
	struct imap_parser *parser = imap_parser_create(limits);
	string_t *out = str_new(256);
	/* the caller's buffer: unconsumed bytes stay at its start */
	string_t *buf = str_new(256);
	size_t pos = 0;

	while (pos < input_len || str_len(buf) > 0) {
		size_t n = chunk == 0 ? input_len - pos : chunk;
		if (n > input_len - pos)
			n = input_len - pos;
		str_append_n(buf, input + pos, n);
		pos += n;

		for (;;) {
			size_t used;
			enum imap_parser_result ret =
				imap_parser_parse(parser, str_data(buf),
						  str_len(buf), &used);
			assert_true(used <= str_len(buf));
			str_delete(buf, 0, used);
			if (ret == IMAP_PARSER_NEED_MORE) {
				assert_int_equal(str_len(buf), 0);
				break;
			}
			if (ret == IMAP_PARSER_LITERAL_CONT) {
				str_append(out, "+;");
			} else if (ret == IMAP_PARSER_COMMAND) {
				const struct imap_command_parsed *cmd =
					imap_parser_get_command(parser);
				assert_non_null(cmd);
				str_printfa(out, "C%s|%s|", cmd->tag, cmd->name);
				imap_write_args(out, cmd->args, false);
				str_append_c(out, ';');
			} else {
				enum imap_parser_error err;
				bool fatal;
				const char *msg = imap_parser_get_error(
					parser, &err, &fatal);
				const char *tag = imap_parser_get_tag(parser);
				const char *name = imap_parser_get_name(parser);
				assert_non_null(msg);
				str_printfa(out, "E%d%s|%s|%s|%s;", err,
					    fatal ? "F" : "",
					    tag == NULL ? "-" : tag,
					    name == NULL ? "-" : name, msg);
			}
		}
		if (pos == input_len)
			break;
	}
	if (imap_parser_is_busy(parser))
		str_append_c(out, 'N');
	imap_parser_destroy(&parser);
	assert_null(parser);
	str_free(&buf);
	return str_free_without_data(&out);
}

/* Same input whole and byte-at-a-time (and in 3-byte chunks) must give
   the same result. */
static void check(const struct imap_parser_limits *limits, const char *input,
		  size_t len, const char *expected)
{
	size_t chunks[] = { 0, 1, 3, 7 };

	for (unsigned int i = 0; i < N_ELEMENTS(chunks); i++) {
		char *got = run(limits, input, len, chunks[i]);
		if (strcmp(got, expected) != 0) {
			fprintf(stderr, "input %.*s chunk %zu\n got: %s\nwant: %s\n",
				(int)len, input, chunks[i], got, expected);
		}
		assert_string_equal(got, expected);
		free(got);
	}
}
#define CHECK(in, exp) check(NULL, in, sizeof(in) - 1, exp)

static void test_simple(void **state)
{
	CHECK("a1 NOOP\r\n", "Ca1|NOOP|;");
	CHECK("a1 NOOP\n", "Ca1|NOOP|;");
	CHECK("\r\n\r\na1 noop\r\n", "Ca1|noop|;");
	CHECK("a LOGIN user \"pa ss\\\"w\\\\\"\r\n",
	      "Ca|LOGIN|user \"pa ss\\\"w\\\\\";");
	CHECK("a SELECT NIL\r\nb SELECT \"\"\r\n",
	      "Ca|SELECT|NIL;Cb|SELECT|\"\";");
	CHECK("a STORE 1:* +FLAGS (\\Seen \\Deleted)\r\n",
	      "Ca|STORE|1:* +FLAGS (\\Seen \\Deleted);");
	CHECK("a X ((a) (b (c)) ())\r\n", "Ca|X|((a) (b (c)) ());");
	CHECK("a1 NOOP\r\na2 CAPABILITY\r\n", "Ca1|NOOP|;Ca2|CAPABILITY|;");
	CHECK("a UID FETCH 1:2 (UID)\r\n", "Ca|UID|FETCH 1:2 (UID);");
	CHECK("a LIST \"\" *\r\n", "Ca|LIST|\"\" *;");
	CHECK("a LIST \"\" %/[Gmail]/%\r\n", "Ca|LIST|\"\" %/[Gmail]/%;");
}

static void test_section_atoms(void **state)
{
	CHECK("a FETCH 1 (BODY.PEEK[HEADER.FIELDS (From To)]<0.10> UID)\r\n",
	      "Ca|FETCH|1 (BODY.PEEK[HEADER.FIELDS (From To)]<0.10> UID);");
	CHECK("a FETCH 1 BODY[]\r\n", "Ca|FETCH|1 BODY[];");
	CHECK("a FETCH 1 (BODY[1.2.MIME])\r\n", "Ca|FETCH|1 (BODY[1.2.MIME]);");
	/* quoted field names inside the brackets, with ] and escapes */
	CHECK("a FETCH 1 BODY[HEADER.FIELDS (\"From\" \"X]\\\"\")]\r\n",
	      "Ca|FETCH|1 BODY[HEADER.FIELDS (\"From\" \"X]\\\"\")];");
	CHECK("a FETCH 1 BODY[HEADER.FIELDS (\"Fr\r\nb NOOP\r\n",
	      "E1|a|FETCH|Missing '\"'.;Cb|NOOP|;");
	/* quotes outside brackets are still invalid in atoms */
	CHECK("a X ab\"c\r\nb NOOP\r\n",
	      "E1|a|X|Invalid characters in atom.;Cb|NOOP|;");
}

static void test_literals(void **state)
{
	CHECK("a LOGIN {4}\r\nuser {4}\r\npass\r\n",
	      "+;+;Ca|LOGIN|{4}\r\nuser {4}\r\npass;");
	CHECK("a LOGIN {4+}\r\nuser {4+}\r\npass\r\n",
	      "Ca|LOGIN|{4}\r\nuser {4}\r\npass;");
	/* literal data is opaque: CRLF, quotes, parens, NUL */
	check(NULL, "a X {6+}\r\n(\"\r\n\0)\r\n", 18,
	      "Ca|X|{6}\r\n(\"\r\n\0);");
	CHECK("a X {0}\r\n\r\n", "+;Ca|X|{0}\r\n;");
	CHECK("a X ({3+}\r\nabc b)\r\n", "Ca|X|({3}\r\nabc b);");
}

static void test_literal_nul_length(void **state)
{
	struct imap_parser *parser = imap_parser_create(NULL);
	const char in[] = "t X {3+}\r\na\0b\r\n";
	size_t used;

	assert_int_equal(imap_parser_parse(parser, (const void *)in,
					   sizeof(in) - 1, &used),
			 IMAP_PARSER_COMMAND);
	assert_int_equal(used, sizeof(in) - 1);
	const struct imap_command_parsed *cmd = imap_parser_get_command(parser);
	assert_int_equal(cmd->args_count, 1);
	assert_int_equal(cmd->args[0].type, IMAP_ARG_LITERAL);
	assert_true(cmd->args[0].literal_plus);
	assert_int_equal(cmd->args[0].str_len, 3);
	assert_memory_equal(cmd->args[0].str, "a\0b", 3);
	assert_int_equal(cmd->args[1].type, IMAP_ARG_EOL);
	const char *s;
	assert_true(imap_arg_get_string(&cmd->args[0], &s));
	assert_false(imap_arg_get_atom(&cmd->args[0], &s));
	imap_parser_destroy(&parser);
}

static void test_partial_args(void **state)
{
	struct imap_parser *parser = imap_parser_create(NULL);
	const char in[] = "a APPEND \"my box\" (\\Seen {5}\r\n";
	const char in2[] = "a APPEND \"my box\" (\\Seen) {5}\r\n";
	size_t used;
	unsigned int count;

	/* list still open: only the mailbox */
	assert_int_equal(imap_parser_parse(parser, (const void *)in,
					   sizeof(in) - 1, &used),
			 IMAP_PARSER_LITERAL_CONT);
	const struct imap_arg *args =
		imap_parser_get_partial_args(parser, &count);
	assert_int_equal(count, 1);
	assert_string_equal(args[0].str, "my box");
	assert_string_equal(imap_parser_get_name(parser), "APPEND");
	assert_string_equal(imap_parser_get_tag(parser), "a");
	imap_parser_reset(parser);
	assert_false(imap_parser_is_busy(parser));
	assert_int_equal(imap_parser_parse(parser, (const void *)in2,
					   sizeof(in2) - 1, &used),
			 IMAP_PARSER_LITERAL_CONT);
	args = imap_parser_get_partial_args(parser, &count);
	assert_int_equal(count, 2);
	assert_int_equal(args[1].type, IMAP_ARG_LIST);
	assert_int_equal(args[1].list_count, 1);
	imap_parser_destroy(&parser);
}

static void test_arg_helpers(void **state)
{
	struct imap_parser *parser = imap_parser_create(NULL);
	const char in[] = "t X atom \"q\" NIL (1 2)\r\n";
	size_t used;
	const char *s;
	const struct imap_arg *list;
	unsigned int count;

	assert_int_equal(imap_parser_parse(parser, (const void *)in,
					   sizeof(in) - 1, &used),
			 IMAP_PARSER_COMMAND);
	const struct imap_arg *args = imap_parser_get_command(parser)->args;
	assert_true(imap_arg_get_atom(&args[0], &s));
	assert_string_equal(s, "atom");
	assert_false(imap_arg_get_string(&args[0], &s));
	assert_true(imap_arg_get_astring(&args[1], &s));
	assert_string_equal(s, "q");
	assert_false(imap_arg_get_atom(&args[1], &s));
	assert_int_equal(args[2].type, IMAP_ARG_NIL);
	assert_true(imap_arg_get_nstring(&args[2], &s));
	assert_null(s);
	assert_true(imap_arg_atom_equals(&args[0], "ATOM"));
	assert_true(imap_arg_get_list(&args[3], &list, &count));
	assert_int_equal(count, 2);
	assert_true(imap_arg_is_eol(&list[2]));
	assert_true(imap_arg_is_eol(&args[4]));
	imap_parser_destroy(&parser);
}

static void test_garbage(void **state)
{
	/* bad tag */
	CHECK("a+ NOOP\r\nb NOOP\r\n",
	      "E1|-|-|Invalid characters in tag.;Cb|NOOP|;");
	CHECK("NOOP\r\nb NOOP\r\n", "E1|-|-|Missing command.;Cb|NOOP|;");
	CHECK("a \r\nb NOOP\r\n", "E1|a|-|Missing command.;Cb|NOOP|;");
	CHECK("a X (b\r\nc NOOP\r\n", "E1|a|X|Missing ')'.;Cc|NOOP|;");
	CHECK("a X b)\r\nc NOOP\r\n", "E1|a|X|Unexpected ')'.;Cc|NOOP|;");
	CHECK("a X \"b\r\nc NOOP\r\n", "E1|a|X|Missing '\"'.;Cc|NOOP|;");
	CHECK("a X \"b\\n\"\r\nc NOOP\r\n",
	      "E1|a|X|Invalid escape in quoted string.;Cc|NOOP|;");
	CHECK("a X {x}\r\nc NOOP\r\n", "E1|a|X|Invalid literal size.;Cc|NOOP|;");
	CHECK("a X {}\r\nc NOOP\r\n", "E1|a|X|Invalid literal size.;Cc|NOOP|;");
	CHECK("a X {99999999999999999999999}\r\nc NOOP\r\n",
	      "E1|a|X|Invalid literal size.;Cc|NOOP|;");
	CHECK("a X {3} \r\nc NOOP\r\n",
	      "E1|a|X|Missing line break after literal size.;Cc|NOOP|;");
	CHECK("a X \"b\"c\r\nd NOOP\r\n",
	      "E1|a|X|Missing space between arguments.;Cd|NOOP|;");
	CHECK("a X  b\r\nd NOOP\r\n", "E1|a|X|Unexpected space.;Cd|NOOP|;");
	CHECK("a X b\x01\r\nd NOOP\r\n",
	      "E1|a|X|Invalid characters in atom.;Cd|NOOP|;");
	CHECK("a X\rb\r\nd NOOP\r\n", "E1|a|X|CR without LF.;Cd|NOOP|;");
	/* a LITERAL+ in a skipped line is skipped with its data, which
	   would otherwise run as a command */
	CHECK("a X ) {9+}\r\nb LOGOUT\r\nc NOOP\r\n",
	      "E1|a|X|Unexpected ')'.;Cc|NOOP|;");
	/* a sync literal in a skipped line: the client waits for "+" that
	   never comes and gets the BAD instead */
	CHECK("a X ) {9}\r\nb NOOP\r\n", "E1|a|X|Unexpected ')'.;Cb|NOOP|;");
	/* NUL in quoted string */
	check(NULL, "a X \"\0\"\r\nb NOOP\r\n", 17,
	      "E1|a|X|NUL in quoted string.;Cb|NOOP|;");
}

static void test_truncated(void **state)
{
	CHECK("a1 NOO", "N");
	CHECK("a1 LOGIN \"us", "N");
	CHECK("a1 LOGIN {5}\r\nus", "+;N");
	CHECK("a1 LOGIN {5+}\r\nus", "N");
	CHECK("a1 X (a (b", "N");
	CHECK("a1 NOOP\r", "N");
	CHECK("", "");
}

static void test_line_too_long(void **state)
{
	struct imap_parser_limits limits = { .max_line_length = 20 };
	/* 20 bytes fit exactly, including CRLF */
	check(&limits, "a X 123456789012345\r\n", 21, "E2|a|X|Too long argument.;");
	check(&limits, "a X 12345678901234\r\n", 20, "Ca|X|12345678901234;");
	/* the rest of the long line is skipped, the next line works */
	const char in[] = "a X 1234567890123456789012345678901234567890\r\nb NOOP\r\n";
	check(&limits, in, sizeof(in) - 1, "E2|a|X|Too long argument.;Cb|NOOP|;");
	/* an endless tag */
	const char in2[] = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
	check(&limits, in2, sizeof(in2) - 1, "E2|-|-|Too long argument.;N");
}

static void test_literal_limits(void **state)
{
	struct imap_parser_limits limits = {
		.max_line_length = 100, .max_literal_size = 1000,
	};
	/* non-APPEND: literal counts against the line length */
	check(&limits, "a LOGIN {200}\r\nb NOOP\r\n", 23,
	      "E3|a|LOGIN|Literal size too large.;Cb|NOOP|;");
	check(&limits, "a LOGIN {50}\r\n", 14, "+;N");
	/* APPEND: max_literal_size */
	check(&limits, "a APPEND INBOX {1001}\r\nb NOOP\r\n", 31,
	      "E3|a|APPEND|Literal size too large.;Cb|NOOP|;");
	check(&limits, "a APPEND INBOX {999}\r\n", 22, "+;N");
	/* LITERAL+ too big: fatal, and its data is skipped if the caller
	   goes on anyway */
	check(&limits, "a APPEND INBOX {5+}\r\n", 21, "N");
	check(&limits, "a APPEND INBOX {1001+}\r\nb NOOP\r\n", 32,
	      "E3F|a|APPEND|Literal size too large.;N");
	check(&limits, "a LOGIN {4000000000+}\r\n", 23,
	      "E3F|a|LOGIN|Literal size too large.;N");
}

static void test_nesting_and_count(void **state)
{
	struct imap_parser_limits limits = { .max_list_depth = 3, .max_args = 5 };
	check(&limits, "a X (((1)))\r\n", 13, "Ca|X|(((1)));");
	check(&limits, "a X ((((1))))\r\nb NOOP\r\n", 23,
	      "E1|a|X|Too deep list nesting.;Cb|NOOP|;");
	check(&limits, "a X 1 2 3 4 5\r\n", 15, "Ca|X|1 2 3 4 5;");
	check(&limits, "a X 1 2 3 4 5 6\r\nb NOOP\r\n", 25,
	      "E1|a|X|Too many arguments.;Cb|NOOP|;");
	check(&limits, "a X 1 (2 3) 4 5\r\nb NOOP\r\n", 25,
	      "E1|a|X|Too many arguments.;Cb|NOOP|;");
	/* deep nesting with default limits */
	string_t *s = str_new(256);
	str_append(s, "a X ");
	for (int i = 0; i < 1000; i++)
		str_append_c(s, '(');
	str_append(s, "\r\nb NOOP\r\n");
	check(NULL, str_c(s), str_len(s), "E1|a|X|Too deep list nesting.;Cb|NOOP|;");
	str_free(&s);
}

/* Random garbage must never crash and the parser must always consume
   input or return a result. */
static void test_random(void **state)
{
	static const char alphabet[] = "aX ()\"\\{}+0123456789\r\n[]*%~\x80";
	unsigned int seed = 12345;

	for (int round = 0; round < 2000; round++) {
		char buf[64];
		size_t len = (size_t)(rand_r(&seed) % sizeof(buf));
		for (size_t i = 0; i < len; i++)
			buf[i] = alphabet[rand_r(&seed) % (sizeof(alphabet) - 1)];
		struct imap_parser_limits limits = {
			.max_line_length = 40, .max_list_depth = 4,
			.max_args = 8,
		};
		char *a = run(&limits, buf, len, 0);
		char *b = run(&limits, buf, len, 1);
		assert_string_equal(a, b);
		free(a);
		free(b);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_simple),
		cmocka_unit_test(test_section_atoms),
		cmocka_unit_test(test_literals),
		cmocka_unit_test(test_literal_nul_length),
		cmocka_unit_test(test_arg_helpers),
		cmocka_unit_test(test_partial_args),
		cmocka_unit_test(test_garbage),
		cmocka_unit_test(test_truncated),
		cmocka_unit_test(test_line_too_long),
		cmocka_unit_test(test_literal_limits),
		cmocka_unit_test(test_nesting_and_count),
		cmocka_unit_test(test_random),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
