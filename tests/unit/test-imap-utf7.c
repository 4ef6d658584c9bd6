/* Unit tests for src/lib-imap/imap-utf7.c: RFC 3501 5.1.3 examples,
   round trips and strict rejection of invalid forms. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <cmocka.h>
#include "imap-utf7.h"

static const struct { const char *utf8, *utf7; } pairs[] = {
	{ "", "" },
	{ "INBOX", "INBOX" },
	{ "~peter/mail/\xe5\x8f\xb0\xe5\x8c\x97/\xe6\x97\xa5\xe6\x9c\xac\xe8\xaa\x9e",
	  "~peter/mail/&U,BTFw-/&ZeVnLIqe-" },
	{ "Entw\xc3\xbcrfe", "Entw&APw-rfe" },
	{ "&", "&-" },
	{ "a&b&&", "a&-b&-&-" },
	{ "Hi Mom -\xe2\x98\xba-!", "Hi Mom -&Jjo--!" },
	{ "\xf0\x9f\x98\x80", "&2D3eAA-" },
	{ "\xc3\xa4\xc3\xb6\xc3\xbc", "&AOQA9gD8-" },
	{ "tab\there", "tab&AAk-here" },
};

static void test_encode(void **state)
{
	for (unsigned int i = 0; i < N_ELEMENTS(pairs); i++) {
		string_t *s = str_new(16);
		assert_int_equal(imap_utf8_to_utf7(pairs[i].utf8, s), 0);
		assert_string_equal(str_c(s), pairs[i].utf7);
		str_free(&s);
	}
}

static void test_decode(void **state)
{
	for (unsigned int i = 0; i < N_ELEMENTS(pairs); i++) {
		string_t *s = str_new(16);
		assert_int_equal(imap_utf7_to_utf8(pairs[i].utf7, s), 0);
		assert_string_equal(str_c(s), pairs[i].utf8);
		assert_true(imap_utf7_is_valid(pairs[i].utf7));
		str_free(&s);
	}
}

static void test_invalid_utf7(void **state)
{
	static const char *const bad[] = {
		"&",            /* unterminated */
		"&APw",         /* unterminated */
		"&APw-&APw-",   /* two adjacent runs */
		"&AGE-",        /* encodes 'a' */
		"&APx-",        /* non-zero padding bits */
		"&AP-",         /* incomplete UTF-16 unit */
		"&2D0-",        /* lone high surrogate */
		"&3gA-",        /* lone low surrogate */
		"&A/w-",        /* '/' is not in the modified alphabet */
		"&APw=-",       /* padding */
		"caf\xc3\xa9",  /* raw 8-bit */
		"a\tb",         /* control char */
		"\x7f",
		"&Jjo",
	};
	for (unsigned int i = 0; i < N_ELEMENTS(bad); i++) {
		string_t *s = str_new(16);
		if (imap_utf7_to_utf8(bad[i], s) == 0)
			fail_msg("accepted invalid mUTF-7 %s", bad[i]);
		assert_false(imap_utf7_is_valid(bad[i]));
		str_free(&s);
	}
}

static void test_invalid_utf8(void **state)
{
	static const char *const bad[] = {
		"\xc0\xaf",          /* overlong '/' */
		"\xed\xa0\x80",      /* surrogate */
		"\xf4\x90\x80\x80",  /* > U+10FFFF */
		"\xc3",              /* truncated */
		"\x80",
		"a\xe2\x98",
	};
	for (unsigned int i = 0; i < N_ELEMENTS(bad); i++) {
		string_t *s = str_new(16);
		assert_int_equal(imap_utf8_to_utf7(bad[i], s), -1);
		str_free(&s);
	}
}

/* Every BMP and some astral code points survive a round trip, and
   the encoded form is valid printable ASCII. */
static void test_roundtrip(void **state)
{
	for (uint32_t c = 1; c < 0x110000; c += (c < 0x3000 ? 1 : 97)) {
		if (c >= 0xd800 && c <= 0xdfff)
			continue;
		char u8[16];
		string_t *tmp = str_new(8);
		/* build "x<c>" in UTF-8 */
		string_t *in = str_new(16);
		str_append_c(in, 'x');
		if (c < 0x80) {
			str_append_c(in, (char)c);
		} else {
			int n = 0;
			if (c < 0x800) {
				u8[n++] = (char)(0xc0 | (c >> 6));
			} else if (c < 0x10000) {
				u8[n++] = (char)(0xe0 | (c >> 12));
				u8[n++] = (char)(0x80 | ((c >> 6) & 0x3f));
			} else {
				u8[n++] = (char)(0xf0 | (c >> 18));
				u8[n++] = (char)(0x80 | ((c >> 12) & 0x3f));
				u8[n++] = (char)(0x80 | ((c >> 6) & 0x3f));
			}
			u8[n++] = (char)(0x80 | (c & 0x3f));
			str_append_n(in, u8, n);
		}
		/* "x<c>y<c>": two separate runs around ASCII */
		char *once = i_strndup(str_c(in) + 1, str_len(in) - 1);
		str_append_c(in, 'y');
		str_append(in, once);
		free(once);

		assert_int_equal(imap_utf8_to_utf7(str_c(in), tmp), 0);
		for (size_t i = 0; i < str_len(tmp); i++) {
			unsigned char ch = str_data(tmp)[i];
			assert_true(ch >= 0x20 && ch < 0x7f);
		}
		string_t *back = str_new(16);
		{
			assert_int_equal(imap_utf7_to_utf8(str_c(tmp), back), 0);
			assert_string_equal(str_c(back), str_c(in));
		}
		str_free(&back);
		str_free(&tmp);
		str_free(&in);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_encode),
		cmocka_unit_test(test_decode),
		cmocka_unit_test(test_invalid_utf7),
		cmocka_unit_test(test_invalid_utf8),
		cmocka_unit_test(test_roundtrip),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
