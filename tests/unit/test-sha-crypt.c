/* SHA-crypt with OpenSSL (src/lib-auth/sha-crypt.c): byte-for-byte the
   same strings as libxcrypt's crypt_rn(), and everything outside its fast
   path is left to crypt(3). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <cmocka.h>
#include <crypt.h>

#include "lib.h"
#include "sha-crypt.h"

static const char *xcrypt(const char *key, const char *setting,
			  struct crypt_data *data)
{
	memset(data, 0, sizeof(*data));
	const char *res = crypt_rn(key, setting, data, sizeof(*data));
	return res == NULL || res[0] == '*' ? NULL : res;
}

/* fast path result == crypt_rn(); returns whether the fast path took it */
static bool check_same(const char *key, const char *setting)
{
	struct crypt_data *data = i_new(struct crypt_data, 1);
	string_t *out = str_new(128);
	const char *ref = xcrypt(key, setting, data);
	bool taken = sha_crypt_hash(key, setting, out) == 0;
	if (taken) {
		if (ref == NULL)
			fail_msg("setting %s: fast path accepted what crypt(3) "
				 "refuses: %s", setting, str_c(out));
		if (strcmp(ref, str_c(out)) != 0)
			fail_msg("key '%s' setting %s:\n crypt(3) %s\n fast     %s",
				 key, setting, ref, str_c(out));
	} else {
		assert_int_equal(str_len(out), 0);
	}
	str_free(&out);
	free(data);
	return taken;
}

static void test_known_vectors(void **state)
{
	/* from Drepper's specification, cross-checked with the independent
	   implementation of `openssl passwd -5/-6 -salt` */
	static const struct { const char *setting, *key, *expected; } v[] = {
		{ "$6$saltstring", "Hello world!",
		  "$6$saltstring$svn8UoSVapNtMuq1ukKS4tPQd8iKwSMHWjl/O817G3uBnIFNjnQJuesI68u4OTLiBFdcbYEdFCoEOfaS35inz1" },
		{ "$6$rounds=10000$saltstringsaltstring", "Hello world!",
		  "$6$rounds=10000$saltstringsaltst$OW1/O6BYHV6BcXZu8QVeXbDWra3Oeqh0sbHbbMCVNSnCM/UrjmM0Dp8vOuZeHBy/YTBmSK6H9qs/y3RnOaw5v." },
		{ "$5$saltstring", "Hello world!",
		  "$5$saltstring$5B8vYYiY.CVt1RlTTf8KbXBH3hsxY/GNooZaBBGWEc5" },
		{ "$5$rounds=10000$saltstringsaltstring", "Hello world!",
		  "$5$rounds=10000$saltstringsaltst$3xv.VbSHBb41AL9AvLeujZkZRBAwqFMz2.opqey6IcA" },
		{ "$6$rounds=5000$toolongsaltstring", "This is just a test",
		  "$6$rounds=5000$toolongsaltstrin$lQ8jolhgVRVhY4b5pZKaysCLi0QBxGoNeKQzQ3glMhwllF7oGDZxUhx1yxdYcz/e1JSbq3y6JMxxl8audkUEm0" },
		{ "$5$rounds=5000$toolongsaltstring", "This is just a test",
		  "$5$rounds=5000$toolongsaltstrin$Un/5jzAHMgOGZ5.mWJpuVolil07guHPvOW8mGRcvxa5" },
	};
	for (unsigned int i = 0; i < N_ELEMENTS(v); i++) {
		string_t *out = str_new(128);
		assert_int_equal(sha_crypt_hash(v[i].key, v[i].setting, out), 0);
		assert_string_equal(str_c(out), v[i].expected);
		str_free(&out);
		assert_true(check_same(v[i].key, v[i].setting));
	}
}

static void random_chars(char *buf, size_t len, const char *alphabet)
{
	size_t n = strlen(alphabet);
	for (size_t i = 0; i < len; i++)
		buf[i] = alphabet[(size_t)rand() % n];
	buf[len] = '\0';
}

static void test_random_against_crypt(void **state)
{
	static const char salt_chars[] =
		"./0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
	static const char key_chars[] =
		"abcXYZ019 !\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~\x7f\x80\xc3\xa9\xff";
	/* key lengths around the digest sizes (32, 64) and their doubles,
	   where the algorithm's loops change shape */
	static const size_t key_lens[] = {
		0, 1, 7, 31, 32, 33, 63, 64, 65, 127, 128, 129, 200
	};
	char key[256], salt[32], setting[96];
	unsigned int taken = 0, total = 0;

	srand(4711);
	for (unsigned int i = 0; i < N_ELEMENTS(key_lens); i++) {
		for (unsigned int j = 0; j < 4; j++) {
			random_chars(key, key_lens[i], key_chars);
			size_t slen = 1 + (size_t)rand() % 20;
			random_chars(salt, slen, salt_chars);
			const char *id = (j & 1) == 0 ? "6" : "5";
			/* the default 5000 rounds once per key length, else
			   fewer, to keep the test quick */
			if (j < 2)
				snprintf(setting, sizeof(setting), "$%s$rounds=%u$%s",
					 id, 1000 + (unsigned int)rand() % 300, salt);
			else if (j == 2)
				snprintf(setting, sizeof(setting), "$%s$%s$", id, salt);
			else
				snprintf(setting, sizeof(setting), "$%s$rounds=1000$%s$junkhash",
					 id, salt);
			total++;
			if (check_same(key, setting))
				taken++;
		}
	}
	/* every one of these is a valid setting the fast path handles */
	assert_int_equal(taken, total);
}

static void test_left_to_crypt(void **state)
{
	/* what the fast path refuses (crypt(3) decides: most are invalid,
	   some valid but unusual) */
	static const char *const settings[] = {
		"", "$", "$6", "$6$", "$6$$", "$5$$abc", "$7$abc", "$1$abcdefgh",
		"$2y$05$11ipvo5dR6CwkzwmhwM26O", "6$abc", "$6abc",
		"$6$rounds=999$abc", "$6$rounds=01000$abc",
		"$6$rounds=1000000000$abc", "$6$rounds=99999999999$abc",
		"$6$rounds=$abc", "$6$rounds=abc$x", "$6$rounds=1000",
		"$6$rounds=1000abc$x", "$6$ab:c$", "$6$ab\nc$", "$6$a b$",
		"$6$\xc3\xa9$", "$5$rounds=-1000$abc", "$6$ROUNDS=1000$abc",
	};
	for (unsigned int i = 0; i < N_ELEMENTS(settings); i++) {
		if (check_same("password", settings[i]))
			fail_msg("fast path took %s", settings[i]);
	}
}

static void test_garbage_and_truncated(void **state)
{
	/* every prefix of a valid setting, and random bytes after "$6$":
	   either left to crypt(3) or the same result as crypt(3) */
	const char *full = "$6$rounds=1000$abcdefghijklmnopqrst$hash";
	char buf[64];
	for (size_t len = 0; len <= strlen(full); len++) {
		memcpy(buf, full, len);
		buf[len] = '\0';
		(void)check_same("pw", buf);
	}
	srand(815);
	for (unsigned int i = 0; i < 200; i++) {
		size_t len = 3 + (size_t)rand() % 24;
		memcpy(buf, (i & 1) != 0 ? "$6$" : "$5$", 3);
		for (size_t j = 3; j < len; j++) {
			int c = 1 + rand() % 255;
			/* mostly salt-like bytes, so that some are valid */
			buf[j] = (rand() % 4) != 0 ? "abc./09XZ$r"[rand() % 11] :
				(char)c;
		}
		buf[len] = '\0';
		if (i % 8 == 0)
			memcpy(buf + 3, "rounds=1000$", 12 < len - 3 ? 12 : len - 3);
		/* keep the rounds cheap: only settings with rounds= or
		   without a rounds prefix reach the loop; cap the cost by
		   skipping default-rounds ones after the first few */
		if (strstr(buf, "rounds=") == NULL && i > 20)
			continue;
		(void)check_same("garbage-test", buf);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_known_vectors),
		cmocka_unit_test(test_random_against_crypt),
		cmocka_unit_test(test_left_to_crypt),
		cmocka_unit_test(test_garbage_and_truncated),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
