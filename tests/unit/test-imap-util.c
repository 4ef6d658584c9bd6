/* Unit tests for src/imap/imap-util.c: IMAP dates and date-times,
   flag lists and flag writing. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <cmocka.h>
#include "imap-util.h"

static void test_parse_date(void **state)
{
	static const struct { const char *in; long long out; } good[] = {
		{ "1-Feb-1994", 760060800 },
		{ "01-Feb-1994", 760060800 },
		{ "29-Feb-2000", 951782400 },
		{ "31-dec-1999", 946598400 },
	};
	static const char *const bad[] = {
		"", "1-Foo-1994", "32-Jan-1994", "29-Feb-1900", "29-Feb-2001",
		"1-Feb-94", "1-Feb-1994 ", "1 Feb 1994", "100-Feb-1994",
		"-1-Feb-1994", "1-Feb-19944",
	};
	time_t t;

	for (unsigned int i = 0; i < N_ELEMENTS(good); i++) {
		assert_int_equal(imap_parse_date(good[i].in, &t), 0);
		assert_int_equal((long long)t, good[i].out);
	}
	for (unsigned int i = 0; i < N_ELEMENTS(bad); i++) {
		if (imap_parse_date(bad[i], &t) == 0)
			fail_msg("accepted %s", bad[i]);
	}
}

static void test_parse_datetime(void **state)
{
	static const struct { const char *in; long long out; } good[] = {
		{ "07-Feb-1994 21:52:25 -0800", 760686745 },
		{ " 7-Feb-1994 21:52:25 -0800", 760686745 },
		{ "08-Feb-1994 05:52:25 +0000", 760686745 },
		{ "08-Feb-1994 07:22:25 +0130", 760686745 },
	};
	static const char *const bad[] = {
		"07-Feb-1994 21:52:25", "07-Feb-1994 24:00:00 +0000",
		"07-Feb-1994 21:60:00 +0000", "07-Feb-1994 21:52:25 0800",
		"07-Feb-1994 21:52:25 +08000", "31-Feb-1994 00:00:00 +0000",
		"07-Feb-1994 21:52 +0000", "", "x",
	};
	time_t t;

	for (unsigned int i = 0; i < N_ELEMENTS(good); i++) {
		assert_int_equal(imap_parse_datetime(good[i].in, &t), 0);
		assert_int_equal((long long)t, good[i].out);
	}
	for (unsigned int i = 0; i < N_ELEMENTS(bad); i++) {
		if (imap_parse_datetime(bad[i], &t) == 0)
			fail_msg("accepted %s", bad[i]);
	}
	/* the writer's output parses back */
	string_t *s = str_new(64);
	imap_write_datetime(s, 760686745);
	assert_int_equal(str_len(s), 28);
	char *inner = i_strndup(str_c(s) + 1, str_len(s) - 2);
	assert_int_equal(imap_parse_datetime(inner, &t), 0);
	assert_int_equal((long long)t, 760686745);
	free(inner);
	str_free(&s);
}

static int parse_flags(const char *const *atoms, enum mail_flags *flags,
		       char ***kw, const char **error)
{
	struct imap_arg args[8];
	unsigned int i;

	memset(args, 0, sizeof(args));
	for (i = 0; atoms[i] != NULL; i++) {
		args[i].type = IMAP_ARG_ATOM;
		args[i].str = atoms[i];
		args[i].str_len = strlen(atoms[i]);
	}
	args[i].type = IMAP_ARG_EOL;
	return imap_parse_flags(args, flags, kw, error);
}

static void test_flags(void **state)
{
	enum mail_flags flags;
	char **kw;
	const char *error;
	const char *ok[] = { "\\Seen", "\\DELETED", "$Label1", "\\draft", "x.y", NULL };

	assert_int_equal(parse_flags(ok, &flags, &kw, &error), 0);
	assert_int_equal(flags, MAIL_SEEN | MAIL_DELETED | MAIL_DRAFT);
	assert_int_equal(str_array_length(kw), 2);
	assert_string_equal(kw[0], "$Label1");
	assert_string_equal(kw[1], "x.y");

	string_t *s = str_new(64);
	imap_write_flags(s, flags | MAIL_RECENT, (const char *const *)kw);
	assert_string_equal(str_c(s), "\\Deleted \\Seen \\Draft \\Recent $Label1 x.y");
	str_free(&s);

	/* keyword order doesn't change the hash, contents do */
	const char *a[] = { "a", "b", NULL }, *b[] = { "b", "a", NULL },
		*c[] = { "a", "c", NULL };
	assert_int_equal(imap_keywords_hash(a), imap_keywords_hash(b));
	assert_int_not_equal(imap_keywords_hash(a), imap_keywords_hash(c));
	assert_int_equal(imap_keywords_hash(NULL), 0);
	str_split_free(&kw);

	static const char *const bad[][2] = {
		{ "\\Recent", NULL }, { "\\Bogus", NULL }, { "a\"b", NULL },
		{ "a%", NULL }, { "a]", NULL }, { "\xc3\xa4", NULL },
	};
	for (unsigned int i = 0; i < N_ELEMENTS(bad); i++) {
		kw = NULL;
		if (parse_flags(bad[i], &flags, &kw, &error) == 0)
			fail_msg("accepted %s", bad[i][0]);
		assert_non_null(error);
	}
	const char *none[] = { NULL };
	assert_int_equal(parse_flags(none, &flags, &kw, &error), 0);
	assert_int_equal(flags, 0);
	assert_null(kw);
}

int main(void)
{
	setenv("TZ", "UTC", 1);
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_date),
		cmocka_unit_test(test_parse_datetime),
		cmocka_unit_test(test_flags),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
