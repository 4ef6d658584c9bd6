/* Unit tests for src/lib: string buffers, splitting, numbers, base64. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <cmocka.h>
#include "lib.h"
#include "unichar.h"

static void test_str_append(void **state)
{
	string_t *s = str_new(1);
	for (int i = 0; i < 1000; i++)
		str_printfa(s, "%d,", i);
	assert_true(str_begins(str_c(s), "0,1,2,"));
	assert_int_equal(str_len(s), strlen(str_c(s)));
	str_truncate(s, 4);
	assert_string_equal(str_c(s), "0,1,");
	str_delete(s, 0, 2);
	assert_string_equal(str_c(s), "1,");
	str_free(&s);
	assert_null(s);
}

static void test_str_split(void **state)
{
	char **arr = str_split("a:b::c", ":");
	assert_int_equal(str_array_length(arr), 4);
	assert_string_equal(arr[2], "");
	assert_string_equal(arr[3], "c");
	str_split_free(&arr);
}

static void test_numbers(void **state)
{
	uint32_t n;
	uint64_t n64;
	assert_int_equal(str_to_uint32("4294967295", &n), 0);
	assert_int_equal(n, 4294967295u);
	assert_int_equal(str_to_uint32("4294967296", &n), -1);
	assert_int_equal(str_to_uint32("", &n), -1);
	assert_int_equal(str_to_uint32("12a", &n), -1);
	assert_int_equal(str_to_uint64("18446744073709551616", &n64), -1);
}

static void test_base64(void **state)
{
	static const struct { const char *plain, *b64; } tests[] = {
		{ "", "" }, { "f", "Zg==" }, { "fo", "Zm8=" }, { "foo", "Zm9v" },
		{ "foobar", "Zm9vYmFy" }, { "\0user\0pass", "AHVzZXIAcGFzcw==" },
	};
	for (unsigned int i = 0; i < N_ELEMENTS(tests); i++) {
		size_t plen = i == 5 ? 10 : strlen(tests[i].plain);
		string_t *s = str_new(16);
		base64_encode(tests[i].plain, plen, s);
		assert_string_equal(str_c(s), tests[i].b64);
		str_truncate(s, 0);
		assert_int_equal(base64_decode(tests[i].b64, strlen(tests[i].b64), s), 0);
		assert_int_equal(str_len(s), plen);
		assert_memory_equal(str_c(s), tests[i].plain, plen);
		str_free(&s);
	}
	string_t *s = str_new(16);
	assert_int_equal(base64_decode("Zm9v!", 5, s), -1);
	assert_int_equal(base64_decode("Zg=x", 4, s), -1);
	str_free(&s);
}

static void test_timing_safe(void **state)
{
	assert_true(mem_equals_timing_safe("abc", "abc", 3));
	assert_false(mem_equals_timing_safe("abc", "abd", 3));
}

static void test_unichar(void **state)
{
	static const struct {
		const char *in;
		size_t len;
		uint32_t cp;
	} good[] = {
		{ "A", 1, 0x41 }, { "\xc3\xa4", 2, 0xe4 }, { "\xe2\x82\xac", 3, 0x20ac },
		{ "\xf0\x9f\x98\x80", 4, 0x1f600 }, { "\xf4\x8f\xbf\xbf", 4, 0x10ffff },
	};
	static const char *const bad[] = {
		"\x80", "\xc0\x80", "\xc1\xbf", "\xe0\x80\x80", "\xed\xa0\x80",
		"\xf4\x90\x80\x80", "\xf5\x80\x80\x80", "\xc3", "\xe2\x82", "\xff",
	};
	for (unsigned int i = 0; i < N_ELEMENTS(good); i++) {
		uint32_t cp;
		size_t n = strlen(good[i].in);
		assert_int_equal(uni_utf8_get_char((const unsigned char *)good[i].in,
						   n, &cp), good[i].len);
		assert_int_equal(cp, good[i].cp);
		/* truncated input is never accepted */
		assert_int_equal(uni_utf8_get_char((const unsigned char *)good[i].in,
						   n - 1, &cp), 0);
		string_t *s = str_new(8);
		uni_ucs4_to_utf8_c(good[i].cp, s);
		assert_string_equal(str_c(s), good[i].in);
		str_free(&s);
	}
	for (unsigned int i = 0; i < N_ELEMENTS(bad); i++) {
		uint32_t cp;
		assert_int_equal(uni_utf8_get_char((const unsigned char *)bad[i],
						   strlen(bad[i]), &cp), 0);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_str_append),
		cmocka_unit_test(test_str_split),
		cmocka_unit_test(test_numbers),
		cmocka_unit_test(test_base64),
		cmocka_unit_test(test_timing_safe),
		cmocka_unit_test(test_unichar),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
