/* Unit tests for lib-storage's on-disk formats: mailbox names (mUTF-7,
   Maildir++ dirs), Maildir filenames, dovecot-uidlist, dovecot-keywords,
   subscriptions, mail_location and the dotlock. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <cmocka.h>
#include <fcntl.h>
#include <unistd.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <time.h>
#include "storage-private.h"

static char tmpdir[256];

static int setup_dir(void **state)
{
	strcpy(tmpdir, "/tmp/loft-test-fmt-XXXXXX");
	assert_non_null(mkdtemp(tmpdir));
	return 0;
}

static int teardown_dir(void **state)
{
	char cmd[300];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
	return system(cmd) == 0 ? 0 : -1;
}

static void write_text(const char *path, const char *text)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	assert_true(fd >= 0);
	assert_int_equal(write_full(fd, text, strlen(text)), 0);
	close(fd);
}

static char *read_text(const char *path)
{
	char *data;
	size_t size;
	assert_int_equal(read_file(path, 1 << 20, &data, &size), 0);
	return data;
}

/* --- mailbox names --- */

static const struct {
	char sep;
	const char *name;
	const char *dir; /* NULL = invalid */
} name_tests[] = {
	{ '.', "INBOX", "" },
	{ '.', "iNbOx", "" },
	{ '.', "Work", ".Work" },
	{ '.', "Work.Projects", ".Work.Projects" },
	{ '.', "inbox.foo", ".INBOX.foo" },
	{ '/', "Work/Projects", ".Work.Projects" },
	{ '/', "Work.Projects", NULL },
	{ '/', "a/../b", NULL },
	{ '/', "..", NULL },
	{ '/', "a//b", NULL },
	{ '.', "a..b", NULL },
	{ '.', ".a", NULL },
	{ '.', "a.", NULL },
	{ '.', "", NULL },
	{ '.', "a/b", NULL },
	{ '.', "Entw&APw-rfe", ".Entw&APw-rfe" },
	{ '.', "&Jjo-", ".&Jjo-" },
	{ '.', "&2D3eAQ-", ".&2D3eAQ-" },     /* U+1F601 via surrogates */
	{ '.', "&2D3-", NULL },             /* lone high surrogate */
	{ '.', "&AGE-", NULL },             /* encodes 'a' */
	{ '.', "&", NULL },
	{ '.', "a&-b", ".a&-b" },
	{ '.', "&Jjo", NULL },
	{ '.', "&Jjp-", NULL },             /* nonzero padding bits */
	{ '.', "caf\xc3\xa9", NULL },       /* raw UTF-8 */
	{ '.', "a\tb", NULL },
	{ '.', "a\x7f", NULL },
	{ '.', "a*", NULL },
	{ '.', "50%", NULL },
};

static void test_mailbox_names(void **state)
{
	unsigned int i;
	const char *error;
	char *dir;

	for (i = 0; i < N_ELEMENTS(name_tests); i++) {
		int ret = mailbox_name_to_dir(name_tests[i].sep,
					      name_tests[i].name, &dir, &error);
		if (name_tests[i].dir == NULL) {
			if (ret == 0)
				fail_msg("accepted invalid name '%s'",
					 name_tests[i].name);
			assert_non_null(error);
		} else {
			if (ret != 0)
				fail_msg("rejected '%s': %s", name_tests[i].name,
					 error);
			assert_string_equal(dir, name_tests[i].dir);
			free(dir);
		}
	}
	/* Dovecot's message for '.' with another separator */
	assert_int_equal(mailbox_name_to_dir('/', "a.b", &dir, &error), -1);
	assert_non_null(strstr(error, "'.'"));
}

static void test_mailbox_name_limits(void **state)
{
	char name[400];
	const char *error;
	char *dir;
	unsigned int i;

	memset(name, 'x', sizeof(name));
	name[MAILBOX_NAME_MAX_LENGTH] = '\0';
	assert_int_equal(mailbox_name_to_dir('.', name, &dir, &error), 0);
	free(dir);
	name[MAILBOX_NAME_MAX_LENGTH] = 'x';
	name[MAILBOX_NAME_MAX_LENGTH + 1] = '\0';
	assert_int_equal(mailbox_name_to_dir('.', name, &dir, &error), -1);
	/* depth */
	name[0] = '\0';
	for (i = 0; i <= MAILBOX_NAME_MAX_DEPTH; i++)
		strcat(name, i == 0 ? "a" : ".a");
	assert_int_equal(mailbox_name_to_dir('.', name, &dir, &error), -1);
	/* garbage bytes, one at a time */
	for (i = 1; i < 256; i++) {
		char n[4] = { 'a', (char)i, 'b', '\0' };
		int ret = mailbox_name_to_dir('/', n, &dir, &error);
		bool ok = i >= 0x20 && i < 0x7f && i != '*' && i != '%' &&
			i != '.' && i != '&' && i != '/';
		if (i == '/') {
			assert_int_equal(ret, 0); /* a/b = two levels */
			free(dir);
			continue;
		}
		assert_int_equal(ret, ok ? 0 : -1);
		if (ret == 0)
			free(dir);
	}
}

static void test_mailbox_name_from_dir(void **state)
{
	char *n;

	n = mailbox_name_from_dir('/', ".Work.Projects");
	assert_string_equal(n, "Work/Projects");
	free(n);
	n = mailbox_name_from_dir('.', ".Work.Projects");
	assert_string_equal(n, "Work.Projects");
	free(n);
	assert_null(mailbox_name_from_dir('.', ".INBOX"));
	assert_null(mailbox_name_from_dir('.', "..loft-deleted.1"));
	assert_null(mailbox_name_from_dir('.', "."));
	assert_null(mailbox_name_from_dir('.', "cur"));
	assert_null(mailbox_name_from_dir('.', ".a..b"));
	n = mailbox_name_from_dir('.', ".INBOX.sub");
	assert_string_equal(n, "INBOX.sub");
	free(n);
}

/* --- filenames --- */

static void test_filename_flags(void **state)
{
	enum mail_flags flags;
	uint32_t bits;
	uint64_t size;
	char *f;

	maildir_filename_get_flags("1.M2P3.h,S=10,W=12:2,DFRSTac", &flags, &bits);
	assert_int_equal(flags, MAIL_DRAFT | MAIL_FLAGGED | MAIL_ANSWERED |
			 MAIL_SEEN | MAIL_DELETED);
	assert_int_equal(bits, 0x5);
	maildir_filename_get_flags("1.M2P3.h", &flags, &bits);
	assert_int_equal(flags, 0);
	assert_int_equal(bits, 0);
	maildir_filename_get_flags("1.M2P3.h:1,S", &flags, &bits);
	assert_int_equal(flags, 0);

	f = maildir_filename_set_flags("1.M2P3.h", NULL,
				       MAIL_SEEN | MAIL_ANSWERED | MAIL_DRAFT,
				       1u << 25 | 1u << 1);
	assert_string_equal(f, "1.M2P3.h:2,DRSbz");
	free(f);
	/* unknown letters (P = passed) are kept, ours replaced */
	f = maildir_filename_set_flags("1.M2P3.h", "1.M2P3.h:2,PSa",
				       MAIL_FLAGGED, 0);
	assert_string_equal(f, "1.M2P3.h:2,FP");
	free(f);

	assert_true(maildir_filename_get_size("1.M2.h,S=1355,W=1394:2,S", 'S',
					      &size));
	assert_int_equal(size, 1355);
	assert_true(maildir_filename_get_size("1.M2.h,S=1355,W=1394:2,S", 'W',
					      &size));
	assert_int_equal(size, 1394);
	assert_false(maildir_filename_get_size("1.M2.h:2,S", 'S', &size));
	assert_false(maildir_filename_get_size("1.M2.h,S=abc", 'S', &size));
	assert_false(maildir_filename_get_size("1.M2.h,S=12x", 'S', &size));
	assert_false(maildir_filename_get_size("1.M2.h:2,,S=12", 'S', &size));
	assert_false(maildir_filename_get_size(
		"1.M2.h,S=99999999999999999999999", 'S', &size));

	char *a = maildir_filename_generate(), *b = maildir_filename_generate();
	assert_string_not_equal(a, b);
	assert_null(strchr(a, '/'));
	assert_null(strchr(a, ':'));
	free(a);
	free(b);
}

/* --- dovecot-uidlist --- */

/* As Dovecot 2.3 writes it (see Dovecot's maildir-uidlist.c and its
   documentation example header). */
static const char uidlist_fixture[] =
	"3 V1275660208 N25022 G3085f01b7f11094c501100008c4a11c1\n"
	"25006 :1276528487.M364837P9451.kurkku,S=1355,W=1394\n"
	"25017 W2481 S2400 :1276533073.M242911P3632.kurkku\n"
	"25020 G5c3a3b3c1a2b3c4d5e6f708192a3b4c5 :1276533080.M1P2.kurkku\n";

static void test_uidlist_parse(void **state)
{
	struct maildir_uidlist ul;
	const char *error;

	memset(&ul, 0, sizeof(ul));
	assert_int_equal(maildir_uidlist_parse(uidlist_fixture,
		strlen(uidlist_fixture), &ul, &error), 0);
	assert_int_equal(ul.version, 3);
	assert_int_equal(ul.uidvalidity, 1275660208);
	assert_int_equal(ul.next_uid, 25022);
	assert_string_equal(ul.guid, "3085f01b7f11094c501100008c4a11c1");
	assert_int_equal(ul.count, 3);
	assert_int_equal(ul.recs[0].uid, 25006);
	assert_string_equal(ul.recs[0].base,
			    "1276528487.M364837P9451.kurkku,S=1355,W=1394");
	assert_null(ul.recs[0].ext);
	assert_string_equal(ul.recs[1].ext, "W2481 S2400");
	assert_true(ul.clean_end);
	maildir_uidlist_clear(&ul);

	/* version 1 (Courier compatible) */
	static const char v1[] = "1 1234 5\n1 a.M1.h\n3 b.M2.h:2,S\n";
	assert_int_equal(maildir_uidlist_parse(v1, strlen(v1), &ul, &error), 0);
	assert_int_equal(ul.uidvalidity, 1234);
	assert_int_equal(ul.next_uid, 5);
	assert_int_equal(ul.count, 2);
	assert_string_equal(ul.recs[1].base, "b.M2.h");
	maildir_uidlist_clear(&ul);

	/* records beyond N, broken and unordered lines */
	static const char odd[] = "3 V1 N2 Gx\n5 :a\nzz :b\n4 :c\n7 :d\n0 :e\n";
	assert_int_equal(maildir_uidlist_parse(odd, strlen(odd), &ul, &error), 0);
	assert_int_equal(ul.count, 2);
	assert_int_equal(ul.next_uid, 8);
	maildir_uidlist_clear(&ul);

	static const char bad[] = "9 V1 N2\n1 :a\n";
	assert_int_equal(maildir_uidlist_parse(bad, strlen(bad), &ul, &error), -1);
	assert_int_equal(maildir_uidlist_parse("", 0, &ul, &error), -1);
	maildir_uidlist_clear(&ul);
}

static void test_uidlist_truncated_and_garbage(void **state)
{
	struct maildir_uidlist ul;
	const char *error;
	size_t len = strlen(uidlist_fixture), i;
	unsigned int prev = 0;

	memset(&ul, 0, sizeof(ul));
	/* every prefix: a partial last line is ignored, never misread */
	for (i = 0; i <= len; i++) {
		int ret = maildir_uidlist_parse(uidlist_fixture, i, &ul, &error);
		if (ret == 0) {
			assert_true(ul.count >= prev);
			prev = ul.count;
			assert_int_equal(ul.clean_end,
					 i == len || uidlist_fixture[i - 1] == '\n');
			for (unsigned int k = 0; k < ul.count; k++)
				assert_non_null(strstr(uidlist_fixture,
						       ul.recs[k].base));
		}
	}
	assert_int_equal(prev, 3);
	/* random garbage */
	srand(42);
	for (i = 0; i < 200; i++) {
		char buf[256];
		size_t n = (size_t)rand() % sizeof(buf);
		for (size_t k = 0; k < n; k++)
			buf[k] = (char)(rand() % 256);
		(void)maildir_uidlist_parse(buf, n, &ul, &error);
	}
	/* an oversized line is skipped */
	size_t big = 100 * 1024;
	char *huge = malloc(big + 64);
	strcpy(huge, "3 V1 N1 G00\n1 :");
	memset(huge + strlen(huge), 'x', big);
	strcpy(huge + big, "\n2 :ok\n");
	assert_int_equal(maildir_uidlist_parse(huge, strlen(huge), &ul, &error), 0);
	assert_int_equal(ul.count, 1);
	assert_string_equal(ul.recs[0].base, "ok");
	free(huge);
	maildir_uidlist_clear(&ul);
}

static void test_uidlist_write_read(void **state)
{
	struct maildir_uidlist ul, ul2;
	const char *error;
	char path[300];
	char *text;

	snprintf(path, sizeof(path), "%s/dovecot-uidlist", tmpdir);
	write_text(path, uidlist_fixture);
	memset(&ul, 0, sizeof(ul));
	memset(&ul2, 0, sizeof(ul2));
	assert_int_equal(maildir_uidlist_read(path, &ul, &error), 0);
	assert_true(ul.exists);
	/* rewriting gives the same bytes Dovecot wrote */
	assert_int_equal(maildir_uidlist_write(path, &ul, FSYNC_MODE_NEVER), 0);
	text = read_text(path);
	assert_string_equal(text, uidlist_fixture);
	free(text);
	/* appending keeps the header and adds the line */
	unsigned int first = ul.count;
	maildir_uidlist_add(&ul, ul.next_uid, "1276533099.M5P6.kurkku,S=5,W=6",
			    NULL);
	assert_int_equal(maildir_uidlist_append(path, &ul, first,
						FSYNC_MODE_NEVER), 0);
	text = read_text(path);
	assert_true(str_begins(text, uidlist_fixture));
	assert_string_equal(text + strlen(uidlist_fixture),
			    "25022 :1276533099.M5P6.kurkku,S=5,W=6\n");
	free(text);
	assert_int_equal(maildir_uidlist_read(path, &ul2, &error), 0);
	assert_int_equal(ul2.count, 4);
	assert_int_equal(ul2.next_uid, 25023);
	maildir_uidlist_clear(&ul);
	maildir_uidlist_clear(&ul2);
	/* missing file */
	snprintf(path, sizeof(path), "%s/nonexistent", tmpdir);
	assert_int_equal(maildir_uidlist_read(path, &ul, &error), 0);
	assert_false(ul.exists);
	assert_int_equal(ul.next_uid, 1);
	maildir_uidlist_clear(&ul);
}

static void test_uidlist_lock(void **state)
{
	const char *error;
	char path[300];
	struct timeval tv[2] = { { 1000, 0 }, { 1000, 0 } };
	struct stat st;

	assert_int_equal(maildir_uidlist_lock(tmpdir, &error), 0);
	snprintf(path, sizeof(path), "%s/dovecot-uidlist.lock", tmpdir);
	assert_int_equal(stat(path, &st), 0);
	char *text = read_text(path);
	char expect[32];
	snprintf(expect, sizeof(expect), "%ld:", (long)getpid());
	assert_true(str_begins(text, expect));
	free(text);
	maildir_uidlist_unlock(tmpdir);
	assert_int_equal(stat(path, &st), -1);

	/* a lock left by a dead process (old mtime) is overridden */
	write_text(path, "999999999:otherhost");
	assert_int_equal(utimes(path, tv), 0);
	assert_int_equal(maildir_uidlist_lock(tmpdir, &error), 0);
	maildir_uidlist_unlock(tmpdir);
}

static void test_uidvalidity(void **state)
{
	char path[300], *text;
	struct stat st;

	/* as Dovecot leaves it */
	snprintf(path, sizeof(path), "%s/dovecot-uidvalidity", tmpdir);
	write_text(path, "5f5e1000");
	snprintf(path, sizeof(path), "%s/dovecot-uidvalidity.5f5e1000", tmpdir);
	write_text(path, "");
	assert_int_equal(maildir_uidvalidity_next(tmpdir), 0x5f5e1001);
	assert_int_equal(stat(path, &st), -1);
	snprintf(path, sizeof(path), "%s/dovecot-uidvalidity.5f5e1001", tmpdir);
	assert_int_equal(stat(path, &st), 0);
	snprintf(path, sizeof(path), "%s/dovecot-uidvalidity", tmpdir);
	text = read_text(path);
	assert_string_equal(text, "5f5e1001");
	free(text);
	assert_int_equal(maildir_uidvalidity_next(tmpdir), 0x5f5e1002);
	/* main file lost: rescan the .<hex> files */
	unlink(path);
	assert_int_equal(maildir_uidvalidity_next(tmpdir), 0x5f5e1003);
	/* nothing at all: current time */
	char cmd[400];
	snprintf(cmd, sizeof(cmd), "rm -f %s/dovecot-uidvalidity*", tmpdir);
	assert_int_equal(system(cmd), 0);
	uint32_t v = maildir_uidvalidity_next(tmpdir);
	assert_true(v >= (uint32_t)time(NULL) - 5);
	assert_int_equal(maildir_uidvalidity_next(tmpdir), v + 1);
}

/* --- dovecot-keywords --- */

static void test_keywords(void **state)
{
	struct maildir_keywords kw;
	char path[300];
	char *text;

	memset(&kw, 0, sizeof(kw));
	snprintf(path, sizeof(path), "%s/dovecot-keywords", tmpdir);
	write_text(path, "0 $Forwarded\n1 Junk\n3 NonJunk\n99 Bad\nx y\n4 \n5 a(b\n");
	assert_int_equal(maildir_keywords_read(path, &kw), 0);
	assert_string_equal(kw.names[0], "$Forwarded");
	assert_string_equal(kw.names[1], "Junk");
	assert_null(kw.names[2]);
	assert_string_equal(kw.names[3], "NonJunk");
	assert_null(kw.names[4]);
	assert_null(kw.names[5]);
	assert_int_equal(maildir_keywords_lookup(&kw, "junk", false), 1);
	assert_int_equal(maildir_keywords_lookup(&kw, "New", false), -1);
	assert_int_equal(maildir_keywords_lookup(&kw, "New", true), 2);
	assert_int_equal(maildir_keywords_write(path, &kw, FSYNC_MODE_NEVER), 0);
	text = read_text(path);
	assert_string_equal(text, "0 $Forwarded\n1 Junk\n2 New\n3 NonJunk\n");
	free(text);
	/* 26 at most */
	for (int i = 0; i < 30; i++) {
		char n[16];
		snprintf(n, sizeof(n), "k%d", i);
		int idx = maildir_keywords_lookup(&kw, n, true);
		assert_true(idx < MAILDIR_MAX_KEYWORDS);
		if (i >= MAILDIR_MAX_KEYWORDS - 4)
			assert_int_equal(idx, -1);
	}
	maildir_keywords_clear(&kw);

	assert_true(maildir_keyword_is_valid("$Label1"));
	assert_true(maildir_keyword_is_valid("Junk"));
	assert_false(maildir_keyword_is_valid("\\Seen"));
	assert_false(maildir_keyword_is_valid(""));
	assert_false(maildir_keyword_is_valid("a b"));
	assert_false(maildir_keyword_is_valid("a(b"));
	assert_false(maildir_keyword_is_valid("a]"));
	assert_false(maildir_keyword_is_valid("a\"b"));
	assert_false(maildir_keyword_is_valid("caf\xc3\xa9"));
	char longkw[KEYWORD_NAME_MAX_LENGTH + 2];
	memset(longkw, 'k', sizeof(longkw) - 1);
	longkw[sizeof(longkw) - 1] = '\0';
	assert_false(maildir_keyword_is_valid(longkw));
}

/* --- subscriptions --- */

static void test_subscriptions_file(void **state)
{
	char path[300];
	char **names;
	char *text;

	snprintf(path, sizeof(path), "%s/subscriptions", tmpdir);
	/* Dovecot 2.3 format */
	write_text(path, "V\t2\n\nINBOX\nWork\tProjects\nTrash\nA\001tb\n");
	assert_int_equal(subsfile_read(path, &names), 0);
	assert_int_equal(str_array_length(names), 4);
	assert_string_equal(names[0], "INBOX");
	assert_string_equal(names[1], "Work.Projects");
	assert_string_equal(names[3], "A\tb");
	str_split_free(&names);
	/* old format without header */
	write_text(path, "inbox\nWork.Projects\n");
	assert_int_equal(subsfile_read(path, &names), 0);
	assert_int_equal(str_array_length(names), 2);
	assert_string_equal(names[0], "INBOX");
	assert_string_equal(names[1], "Work.Projects");
	str_split_free(&names);
	/* writes version 2 */
	assert_int_equal(subsfile_update(path, "Sent", true, NULL,
					 FSYNC_MODE_NEVER), 0);
	text = read_text(path);
	assert_string_equal(text, "V\t2\n\nINBOX\nWork\tProjects\nSent\n");
	free(text);
	assert_int_equal(subsfile_update(path, "INBOX", false, NULL,
					 FSYNC_MODE_NEVER), 0);
	assert_int_equal(subsfile_update(path, "Work", true, "Job",
					 FSYNC_MODE_NEVER), 0);
	text = read_text(path);
	assert_string_equal(text, "V\t2\n\nJob\tProjects\nSent\n");
	free(text);
	/* missing file = none */
	unlink(path);
	assert_int_equal(subsfile_read(path, &names), 0);
	assert_null(names[0]);
	str_split_free(&names);
}

/* dovecot-keywords and subscriptions: every prefix, random bytes and
   oversized files are read without crashing and give only valid data. */
static void test_files_garbage(void **state)
{
	static const char kw_text[] = "0 $Forwarded\n1 Junk\n25 Last\n";
	static const char subs_text[] = "V\t2\n\nINBOX\nWork\tProjects\n";
	struct maildir_keywords kw;
	char kpath[300], spath[300], **names;
	size_t i;

	memset(&kw, 0, sizeof(kw));
	snprintf(kpath, sizeof(kpath), "%s/dovecot-keywords", tmpdir);
	snprintf(spath, sizeof(spath), "%s/subscriptions", tmpdir);
	for (i = 0; i <= strlen(kw_text); i++) {
		char buf[64];
		memcpy(buf, kw_text, i);
		buf[i] = '\0';
		write_text(kpath, buf);
		assert_int_equal(maildir_keywords_read(kpath, &kw), 0);
		for (int k = 0; k < MAILDIR_MAX_KEYWORDS; k++)
			assert_true(kw.names[k] == NULL ||
				    maildir_keyword_is_valid(kw.names[k]));
		if (i == strlen(kw_text))
			assert_string_equal(kw.names[25], "Last");
	}
	for (i = 0; i <= strlen(subs_text); i++) {
		char buf[64];
		memcpy(buf, subs_text, i);
		buf[i] = '\0';
		write_text(spath, buf);
		assert_int_equal(subsfile_read(spath, &names), 0);
		assert_true(str_array_length(names) <= 2);
		str_split_free(&names);
	}
	srand(3);
	for (i = 0; i < 100; i++) {
		char buf[512];
		size_t n = (size_t)rand() % (sizeof(buf) - 1) + 1;
		for (size_t k = 0; k < n; k++)
			buf[k] = (char)(rand() % 255 + 1);
		buf[n] = '\0';
		write_text(kpath, buf);
		write_text(spath, buf);
		assert_int_equal(maildir_keywords_read(kpath, &kw), 0);
		for (int k = 0; k < MAILDIR_MAX_KEYWORDS; k++)
			assert_true(kw.names[k] == NULL ||
				    maildir_keyword_is_valid(kw.names[k]));
		assert_int_equal(subsfile_read(spath, &names), 0);
		str_split_free(&names);
	}
	/* oversized: refused, not read into memory */
	int fd = open(kpath, O_WRONLY | O_TRUNC);
	assert_int_equal(ftruncate(fd, 10 * 1024 * 1024), 0);
	close(fd);
	assert_int_equal(maildir_keywords_read(kpath, &kw), -1);
	maildir_keywords_clear(&kw);
}

/* --- mail_location --- */

static void test_mail_location(void **state)
{
	struct mail_location loc;
	const char *error;

	assert_int_equal(mail_location_parse("maildir:~/Maildir", "u", "/home/u",
					     &loc, &error), 0);
	assert_string_equal(loc.root, "/home/u/Maildir");
	assert_string_equal(loc.index_dir, "/home/u/Maildir");
	assert_null(loc.control_dir);
	mail_location_free(&loc);

	assert_int_equal(mail_location_parse(
		"maildir:/var/mail/%d/%n/:INDEX=/idx/%u:CONTROL=%h/ctl:FOO=1",
		"bob@example.com", "/h", &loc, &error), 0);
	assert_string_equal(loc.root, "/var/mail/example.com/bob");
	assert_string_equal(loc.index_dir, "/idx/bob@example.com");
	assert_string_equal(loc.control_dir, "/h/ctl");
	mail_location_free(&loc);

	assert_int_equal(mail_location_parse("maildir:/m/%{user}:LAYOUT=maildir++",
					     "x", NULL, &loc, &error), 0);
	assert_string_equal(loc.root, "/m/x");
	mail_location_free(&loc);

	assert_int_equal(mail_location_parse(NULL, "u", "/home/u", &loc, &error), 0);
	assert_string_equal(loc.root, "/home/u/Maildir");
	mail_location_free(&loc);

	assert_int_equal(mail_location_parse("maildir:~/Maildir:LAYOUT=fs", "u",
					     "/h", &loc, &error), -1);
	assert_int_equal(mail_location_parse("maildir:~/Maildir", "u", NULL,
					     &loc, &error), -1);
	assert_int_equal(mail_location_parse("maildir:Maildir", "u", "/h",
					     &loc, &error), -1);
	assert_int_equal(mail_location_parse("mbox:~/mail", "u", "/h",
					     &loc, &error), -1);
	assert_int_equal(mail_location_parse("maildir:/m/%q", "u", "/h",
					     &loc, &error), -1);
	assert_int_equal(mail_location_parse("maildir:/m/%", "u", "/h",
					     &loc, &error), -1);
	assert_int_equal(mail_location_parse("maildir:", "u", "/h",
					     &loc, &error), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_mailbox_names),
		cmocka_unit_test(test_mailbox_name_limits),
		cmocka_unit_test(test_mailbox_name_from_dir),
		cmocka_unit_test(test_filename_flags),
		cmocka_unit_test(test_uidlist_parse),
		cmocka_unit_test(test_uidlist_truncated_and_garbage),
		cmocka_unit_test_setup_teardown(test_uidlist_write_read,
						setup_dir, teardown_dir),
		cmocka_unit_test_setup_teardown(test_uidlist_lock,
						setup_dir, teardown_dir),
		cmocka_unit_test_setup_teardown(test_uidvalidity,
						setup_dir, teardown_dir),
		cmocka_unit_test_setup_teardown(test_keywords,
						setup_dir, teardown_dir),
		cmocka_unit_test_setup_teardown(test_subscriptions_file,
						setup_dir, teardown_dir),
		cmocka_unit_test_setup_teardown(test_files_garbage,
						setup_dir, teardown_dir),
		cmocka_unit_test(test_mail_location),
	};
	log_init("test-storage-format");
	return cmocka_run_group_tests(tests, NULL, NULL);
}
