/* Unit tests for src/lib-imap/imap-seqset.c. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <cmocka.h>
#include "imap-seqset.h"

static char *parse_to_str(const char *set, uint32_t star)
{
	struct seq_range *r;
	unsigned int count;
	string_t *s = str_new(32);

	if (imap_seqset_parse(set, star, &r, &count) < 0) {
		str_append(s, "ERR");
	} else {
		imap_seqset_write(s, r, count);
		free(r);
	}
	return str_free_without_data(&s);
}

static void test_parse(void **state)
{
	static const struct { const char *in; uint32_t star; const char *out; } t[] = {
		{ "1", 10, "1" },
		{ "1:3", 10, "1:3" },
		{ "3:1", 10, "1:3" },
		{ "*", 10, "10" },
		{ "5:*", 10, "5:10" },
		{ "*:5", 10, "5:10" },
		{ "100:*", 5, "5:100" },
		{ "1,3,2", 10, "1:3" },
		{ "1:3,2:6,8", 10, "1:6,8" },
		{ "7,1:2", 10, "1:2,7" },
		{ "4294967295", 10, "4294967295" },
		{ "1:4294967295,5", 10, "1:4294967295" },
		{ "1:*", 0, "0:1" },
		/* errors */
		{ "", 10, "ERR" },
		{ "0", 10, "ERR" },
		{ "01", 10, "ERR" },
		{ "1:", 10, "ERR" },
		{ ":1", 10, "ERR" },
		{ "1,", 10, "ERR" },
		{ ",1", 10, "ERR" },
		{ "1,,2", 10, "ERR" },
		{ "1:2:3", 10, "ERR" },
		{ "4294967296", 10, "ERR" },
		{ "99999999999999999999", 10, "ERR" },
		{ "a", 10, "ERR" },
		{ "1 2", 10, "ERR" },
		{ "-1", 10, "ERR" },
		{ "**", 10, "ERR" },
		{ "$", 10, "ERR" },
	};
	for (unsigned int i = 0; i < N_ELEMENTS(t); i++) {
		char *got = parse_to_str(t[i].in, t[i].star);
		if (strcmp(got, t[i].out) != 0)
			fail_msg("%s: got %s want %s", t[i].in, got, t[i].out);
		free(got);
	}
}

static void test_limit(void **state)
{
	string_t *s = str_new(1024);
	struct seq_range *r;
	unsigned int count;

	for (unsigned int i = 1; i <= IMAP_SEQSET_MAX_RANGES; i++)
		str_printfa(s, "%s%u", i == 1 ? "" : ",", i * 2);
	assert_int_equal(imap_seqset_parse(str_c(s), 1, &r, &count), 0);
	assert_int_equal(count, IMAP_SEQSET_MAX_RANGES);
	assert_true(imap_seqset_contains(r, count, 2));
	assert_true(imap_seqset_contains(r, count, IMAP_SEQSET_MAX_RANGES * 2));
	assert_false(imap_seqset_contains(r, count, 3));
	assert_false(imap_seqset_contains(r, count, 0));
	assert_int_equal(imap_seqset_max(r, count), IMAP_SEQSET_MAX_RANGES * 2);
	free(r);
	str_append(s, ",1");
	assert_int_equal(imap_seqset_parse(str_c(s), 1, &r, &count), -1);
	assert_null(r);
	str_free(&s);
}

static void test_contains(void **state)
{
	struct seq_range *r;
	unsigned int count;

	assert_int_equal(imap_seqset_parse("2:4,10,20:*", 30, &r, &count), 0);
	assert_int_equal(count, 3);
	uint32_t yes[] = { 2, 3, 4, 10, 20, 25, 30 };
	uint32_t no[] = { 0, 1, 5, 9, 11, 19, 31, UINT32_MAX };
	for (unsigned int i = 0; i < N_ELEMENTS(yes); i++)
		assert_true(imap_seqset_contains(r, count, yes[i]));
	for (unsigned int i = 0; i < N_ELEMENTS(no); i++)
		assert_false(imap_seqset_contains(r, count, no[i]));
	free(r);
}

static void test_write_nums(void **state)
{
	static const uint32_t nums[] = { 1, 2, 3, 7, 5, 6, 9, 4294967295u };
	string_t *s = str_new(32);

	imap_seqset_write_nums(s, nums, N_ELEMENTS(nums));
	assert_string_equal(str_c(s), "1:3,7,5:6,9,4294967295");
	str_truncate(s, 0);
	imap_seqset_write_nums(s, nums, 0);
	assert_string_equal(str_c(s), "");
	str_free(&s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse),
		cmocka_unit_test(test_limit),
		cmocka_unit_test(test_contains),
		cmocka_unit_test(test_write_nums),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
