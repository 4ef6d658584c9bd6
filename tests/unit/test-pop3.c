/* Unit tests for the storage-free parts of loft-pop3: %-templates
   (pop3_uidl_format, pop3_logout_format), byte-stuffing and TOP. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <cmocka.h>
#include "lib.h"
#include "pop3-format.h"

static const struct pop3_format_var vars[] = {
	{ 'u', "uid", "255" }, { 'v', "uidvalidity", "1700000000" },
	{ 'f', "filename", "1700000000.M1P2.host" }, { 'g', "guid", "AbC" },
	{ 't', "top_count", "0" },
};

static void test_format(void **state)
{
	static const struct { const char *fmt, *out; } good[] = {
		{ "%08Xu%08Xv", "000000FF6553F100" },
		{ "%u-%v", "255-1700000000" },
		{ "%f", "1700000000.M1P2.host" },
		{ "%{uid}/%{guid}", "255/AbC" },
		{ "%Lg%Ug", "abcABC" },
		{ "%xu", "ff" },
		{ "100%%", "100%" },
		{ "%5u|", "  255|" },
		{ "top=%t", "top=0" },
		{ "", "" },
	};
	static const char *const bad[] = { "%q", "%", "%{nope}", "%{uid", "%08X" };
	const char *error;

	for (unsigned int i = 0; i < N_ELEMENTS(good); i++) {
		string_t *s = str_new(32);
		assert_int_equal(pop3_format_expand(s, good[i].fmt, vars,
						    N_ELEMENTS(vars), &error), 0);
		assert_string_equal(str_c(s), good[i].out);
		str_free(&s);
	}
	for (unsigned int i = 0; i < N_ELEMENTS(bad); i++) {
		string_t *s = str_new(32);
		error = NULL;
		assert_int_equal(pop3_format_expand(s, bad[i], vars,
						    N_ELEMENTS(vars), &error), -1);
		assert_non_null(error);
		str_free(&s);
	}
	assert_true(pop3_format_has_key("%08Xu%08Xv", 'v', "uidvalidity"));
	assert_true(pop3_format_has_key("x%{md5}", 'm', "md5"));
	assert_false(pop3_format_has_key("%08Xu%08Xv", 'm', "md5"));
	assert_false(pop3_format_has_key("%%m", 'm', "md5"));
}

static char *stuff(const char *in, size_t chunk)
{
	string_t *out = str_new(64);
	bool line_start = true;
	size_t len = strlen(in);

	for (size_t pos = 0; pos < len; ) {
		size_t n = chunk == 0 || chunk > len - pos ? len - pos : chunk;
		pop3_dot_stuff((const unsigned char *)in + pos, n, &line_start, out);
		pos += n;
	}
	return str_free_without_data(&out);
}

static void test_dot_stuff(void **state)
{
	static const struct { const char *in, *out; } tests[] = {
		{ ".\r\n", "..\r\n" },
		{ "a\r\n.b\r\n..\r\nc.\r\n", "a\r\n..b\r\n...\r\nc.\r\n" },
		{ "no dots\r\n", "no dots\r\n" },
		{ "x.\r\n.", "x.\r\n.." },
		{ "", "" },
	};
	for (unsigned int i = 0; i < N_ELEMENTS(tests); i++) {
		for (size_t chunk = 0; chunk < 4; chunk++) {
			char *res = stuff(tests[i].in, chunk);
			assert_string_equal(res, tests[i].out);
			free(res);
		}
	}
}

static void test_top_length(void **state)
{
	const char *msg = "A: 1\r\nB: 2\r\n\r\nl1\r\nl2\r\nl3\r\n";
	size_t len = strlen(msg);
	const unsigned char *m = (const unsigned char *)msg;

	assert_int_equal(pop3_top_length(m, len, 0), strlen("A: 1\r\nB: 2\r\n\r\n"));
	assert_int_equal(pop3_top_length(m, len, 1), strlen("A: 1\r\nB: 2\r\n\r\nl1\r\n"));
	assert_int_equal(pop3_top_length(m, len, 3), len);
	assert_int_equal(pop3_top_length(m, len, 1000), len);
	/* no header end: all header */
	assert_int_equal(pop3_top_length((const unsigned char *)"A: 1\r\nB", 8, 0), 8);
	/* body without final line end */
	assert_int_equal(pop3_top_length((const unsigned char *)"A: 1\r\n\r\nxyz", 11, 5), 11);
	assert_int_equal(pop3_top_length((const unsigned char *)"\r\nbody\r\n", 8, 0), 2);
	assert_int_equal(pop3_top_length((const unsigned char *)"", 0, 0), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_format),
		cmocka_unit_test(test_dot_stuff),
		cmocka_unit_test(test_top_length),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
