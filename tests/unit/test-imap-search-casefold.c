/* Unit tests for the SEARCH casefolding fast paths: imap_search_casefold()
   (ASCII runs lowercased in chunks) and str_append_c() (inline growth),
   checked against a byte-at-a-time reference on runs that cross the
   chunk size, mixed UTF-8, invalid bytes and every prefix. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include "lib.h"
#include "imap-search-match.h"
#include "message-decode.h"
#include "message-header.h"

/* the reference: one byte or one valid UTF-8 char at a time, ASCII
   lowercased, non-ASCII compared only where the input is ASCII */
static void ref_fold_ascii(const unsigned char *p, size_t size, string_t *dest)
{
	for (size_t i = 0; i < size; i++) {
		unsigned char c = p[i];

		if (c >= 'A' && c <= 'Z')
			c += 32;
		str_append_n(dest, &c, 1);
	}
}

static void test_str_append_c_growth(void **state)
{
	(void)state;
	string_t *s = str_new(1);
	char expect[5000];

	for (unsigned int i = 0; i < sizeof(expect) - 1; i++) {
		char c = (char)('a' + (i * 7) % 26);

		expect[i] = c;
		str_append_c(s, c);
		assert_int_equal(str_len(s), i + 1);
		assert_int_equal(str_c(s)[i + 1], '\0');
	}
	expect[sizeof(expect) - 1] = '\0';
	assert_string_equal(str_c(s), expect);
	str_free(&s);
}

static void test_casefold_ascii_runs(void **state)
{
	(void)state;
	/* lengths around the 256-byte chunk */
	const size_t lens[] = { 0, 1, 255, 256, 257, 511, 512, 513, 4000 };

	for (unsigned int li = 0; li < N_ELEMENTS(lens); li++) {
		size_t len = lens[li];
		unsigned char *buf = malloc(len + 1);

		for (size_t i = 0; i < len; i++)
			buf[i] = (unsigned char)(0x20 + (i * 31 + li) % 0x5f);
		string_t *got = str_new(4), *want = str_new(4);

		/* start with some content: the result is appended */
		str_append(got, "X");
		str_append(want, "X");
		imap_search_casefold(buf, len, got);
		ref_fold_ascii(buf, len, want);
		assert_int_equal(str_len(got), str_len(want));
		assert_memory_equal(str_data(got), str_data(want), str_len(want));
		assert_int_equal(str_c(got)[str_len(got)], '\0');
		str_free(&got);
		str_free(&want);
		free(buf);
	}
}

static void test_casefold_mixed(void **state)
{
	(void)state;
	string_t *in = str_new(64), *want = str_new(64);

	/* ASCII runs longer than the chunk, broken by UTF-8 and by an
	   invalid byte (kept as it is) */
	for (int i = 0; i < 300; i++) {
		str_append(in, "AbC");
		str_append(want, "abc");
	}
	str_append(in, "ÄÖÜ");
	str_append(want, "äöü");
	str_append_c(in, (char)0xff);
	str_append_c(want, (char)0xff);
	for (int i = 0; i < 100; i++) {
		str_append(in, "Z\xce\xa3");	/* Z Σ */
		str_append(want, "z\xcf\x83");	/* z σ */
	}
	string_t *got = str_new(1);

	imap_search_casefold(str_data(in), str_len(in), got);
	assert_int_equal(str_len(got), str_len(want));
	assert_memory_equal(str_data(got), str_data(want), str_len(want));

	/* every prefix: never reads past size, output is a prefix-fold */
	for (size_t n = 0; n <= str_len(in); n += 7) {
		string_t *p = str_new(1);

		imap_search_casefold(str_data(in), n, p);
		assert_true(str_len(p) <= str_len(want) + 4);
		assert_int_equal(str_c(p)[str_len(p)], '\0');
		str_free(&p);
	}
	str_free(&got);
	str_free(&in);
	str_free(&want);
}

static void test_search_header_long_ascii(void **state)
{
	(void)state;
	/* a Subject longer than the chunk: a key across the chunk border
	   still matches, case-insensitively */
	string_t *hdr = str_new(1024);

	str_append(hdr, "From: a@b.example\r\nSubject: ");
	for (int i = 0; i < 250; i++)
		str_append_c(hdr, 'x');
	str_append(hdr, "MoNeY MaKeR");
	for (int i = 0; i < 300; i++)
		str_append_c(hdr, 'y');
	str_append(hdr, "\r\n\r\n");
	const unsigned char *d = (const unsigned char *)str_data(hdr);

	assert_int_equal(imap_search_header(d, str_len(hdr), "Subject",
					    "money maker"), 1);
	assert_int_equal(imap_search_header(d, str_len(hdr), "Subject",
					    "xMONEY"), 1);
	assert_int_equal(imap_search_header(d, str_len(hdr), "Subject",
					    "maker yy"), 0);
	assert_int_equal(imap_search_header(d, str_len(hdr), "Subject",
					    "makeryyy"), 1);
	assert_int_equal(imap_search_header(d, str_len(hdr), "From",
					    "B.EXAMPLE"), 1);
	str_free(&hdr);
}

static void check_decode(const char *in, size_t in_len, const char *want,
			 size_t want_len)
{
	string_t *got = str_new(1);

	str_append(got, "<");
	message_header_decode_utf8(in, in_len, got);
	assert_int_equal(str_len(got), want_len + 1);
	assert_memory_equal(str_data(got) + 1, want, want_len);
	str_free(&got);
}

#define CHECK_DECODE(in, want) \
	check_decode(in, sizeof(in) - 1, want, sizeof(want) - 1)

static void test_header_decode_plain(void **state)
{
	(void)state;
	/* without "=?": CR/LF dropped, whitespace kept, invalid UTF-8
	   replaced, a UTF-8 char split by a fold joined again */
	CHECK_DECODE("", "");
	CHECK_DECODE("Re: money", "Re: money");
	CHECK_DECODE("Re:\r\n money\r\n\tnow", "Re: money\tnow");
	CHECK_DECODE("a\xc3\r\n\xa4" "b", "a\xc3\xa4" "b");
	CHECK_DECODE("a\xff" "b", "a\xef\xbf\xbd" "b");
	CHECK_DECODE("x =\r\n?y", "x =?y");
	CHECK_DECODE("\r\n", "");
	/* with "=?": encoded words still decoded */
	CHECK_DECODE("=?utf-8?q?M=C3=BCnchen?= =?utf-8?q?_x?=", "M\xc3\xbc" "nchen x");
	CHECK_DECODE("a =?iso-8859-1?q?=E4?= b", "a \xc3\xa4" " b");
	CHECK_DECODE("=?broken", "=?broken");
}

/* unfolded/raw value of the first field of hdr, at most max bytes */
static void check_value(const char *hdr, size_t max, bool unfolded,
			const char *want, size_t want_len)
{
	struct message_header_iter iter;
	struct message_header_field field;
	string_t *got = str_new(1);

	message_header_iter_init(&iter, (const unsigned char *)hdr,
				 strlen(hdr));
	assert_true(message_header_iter_next(&iter, &field));
	if (unfolded)
		message_header_field_get_unfolded(&field, got, max);
	else
		message_header_field_get_value(&field, got, max);
	assert_int_equal(str_len(got), want_len);
	assert_memory_equal(str_data(got), want, want_len);
	assert_int_equal(str_c(got)[str_len(got)], '\0');
	str_free(&got);
}

#define CHECK_VALUE(hdr, max, unf, want) \
	check_value(hdr, max, unf, want, sizeof(want) - 1)

static void test_header_value_runs(void **state)
{
	(void)state;
	CHECK_VALUE("Subject: Re: money\r\n\r\n", SIZE_MAX, true,
		    "Re: money");
	CHECK_VALUE("Subject: a\r\n b\r\n\tc\r\n\r\n", SIZE_MAX, true,
		    "a b\tc");
	CHECK_VALUE("Subject: a\r\n b\r\n\r\n", SIZE_MAX, false,
		    "a\n b");
	/* a lone CR is kept as a byte, bare LF folds too */
	CHECK_VALUE("Subject: a\rb\n c\n\n", SIZE_MAX, true, "a\rb c");
	/* max_size counts output bytes, across folds */
	CHECK_VALUE("Subject: abcdef\r\n ghij\r\n\r\n", 4, true, "abcd");
	CHECK_VALUE("Subject: abcdef\r\n ghij\r\n\r\n", 8, true,
		    "abcdef g");
	CHECK_VALUE("Subject: abcdef\r\n ghij\r\n\r\n", 0, true, "");
	CHECK_VALUE("Subject: abcdef\r\n ghij\r\n\r\n", 6, true, "abcdef");
	CHECK_VALUE("Subject: abcdef\r\n ghij\r\n\r\n", 7, true,
		    "abcdef ");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_str_append_c_growth),
		cmocka_unit_test(test_casefold_ascii_runs),
		cmocka_unit_test(test_casefold_mixed),
		cmocka_unit_test(test_search_header_long_ascii),
		cmocka_unit_test(test_header_decode_plain),
		cmocka_unit_test(test_header_value_runs),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
