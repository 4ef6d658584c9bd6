/* Unit tests for lib-storage behaviour: save/read, flags on disk, two
   sessions on one Maildir, index loss/corruption, external changes,
   crash leftovers, Dovecot-written trees, mailbox management. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <cmocka.h>
#include <dirent.h>
#include <fcntl.h>
#include <poll.h>
#include <unistd.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <sys/time.h>
#include <time.h>
#include "storage-private.h"

static char tmpdir[256];
static char maildir[300];

static int setup(void **state)
{
	strcpy(tmpdir, "/tmp/loft-test-st-XXXXXX");
	assert_non_null(mkdtemp(tmpdir));
	snprintf(maildir, sizeof(maildir), "%s/Maildir", tmpdir);
	return 0;
}

static int teardown(void **state)
{
	char cmd[300];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
	return system(cmd) == 0 ? 0 : -1;
}

static struct mail_user *open_user_sep(char sep)
{
	struct mail_user_settings set = {
		.username = "tester",
		.home = tmpdir,
		.mail_location = "maildir:~/Maildir",
		.separator = sep,
		.fsync = FSYNC_MODE_OPTIMIZED,
	};
	struct mail_user *user;
	const char *error = NULL;

	if (mail_user_open(&set, &user, &error) < 0)
		fail_msg("mail_user_open: %s", error);
	return user;
}

static struct mail_user *open_user(void)
{
	return open_user_sep(0);
}

static uint32_t save(struct mail_user *user, const char *box, const char *msg,
		     enum mail_flags flags, const char *const *kw)
{
	uint32_t uid = 0, uidv = 0;
	const char *error = NULL;

	if (mail_user_save(user, box, msg, strlen(msg), flags, kw, 0,
			   &uidv, &uid, &error) < 0)
		fail_msg("save: %s", error);
	assert_true(uidv != 0);
	return uid;
}

static struct mailbox *open_box(struct mail_user *user, const char *name,
				bool ro)
{
	struct mailbox *box;
	const char *error = NULL;

	if (mailbox_open(user, name, ro, &box, &error) < 0)
		fail_msg("mailbox_open(%s): %s", name, error);
	return box;
}

/* file names in dir (cur or new) of a mailbox dir, count */
static unsigned int dir_files(const char *dir, char names[][256],
			      unsigned int max)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	unsigned int n = 0;

	assert_non_null(d);
	while ((e = readdir(d)) != NULL) {
		if (e->d_name[0] == '.')
			continue;
		if (n < max)
			snprintf(names[n], 256, "%s", e->d_name);
		n++;
	}
	closedir(d);
	return n;
}

static void write_file(const char *path, const char *text)
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

/* --- save / read --- */

static const struct {
	const char *in;
	size_t in_len;
	const char *disk;   /* LF */
	size_t disk_len;
	const char *out;    /* CRLF */
	size_t out_len;
} rt_tests[] = {
#define T(a, b, c) { a, sizeof(a) - 1, b, sizeof(b) - 1, c, sizeof(c) - 1 }
	T("Subject: x\r\n\r\nbody\r\n", "Subject: x\n\nbody\n",
	  "Subject: x\r\n\r\nbody\r\n"),
	T("Subject: x\n\nbody\n", "Subject: x\n\nbody\n",
	  "Subject: x\r\n\r\nbody\r\n"),
	T("A: b\r\n\r\nbare\rcr\r\n", "A: b\n\nbare\rcr\n",
	  "A: b\r\n\r\nbare\rcr\r\n"),
	T("A: b\n\nnul\0byte\n", "A: b\n\nnul\0byte\n", "A: b\r\n\r\nnul\0byte\r\n"),
	T("A: b\n\nno final newline", "A: b\n\nno final newline",
	  "A: b\r\n\r\nno final newline"),
	T("\n", "\n", "\r\n"),
	T("A: b\r\n\r\nx\r\r\ny\r\r\r\n", "A: b\n\nx\r\r\ny\r\r\r\n",
	  "A: b\r\n\r\nx\r\r\ny\r\r\r\n"),
	T("\r\n\r", "\n\r", "\r\n\r"),
	T("x", "x", "x"),
#undef T
};

static void test_save_read_roundtrip(void **state)
{
	struct mail_user *user = open_user();
	const char *error;
	unsigned int i;

	for (i = 0; i < N_ELEMENTS(rt_tests); i++) {
		uint32_t uid, uidv;
		assert_int_equal(mail_user_save(user, "INBOX", rt_tests[i].in,
			rt_tests[i].in_len, MAIL_SEEN, NULL, 1500000000,
			&uidv, &uid, &error), 0);
		assert_int_equal(uid, i + 1);
	}
	struct mailbox *box = open_box(user, "INBOX", false);
	assert_int_equal(mailbox_count(box), N_ELEMENTS(rt_tests));
	for (i = 0; i < N_ELEMENTS(rt_tests); i++) {
		const struct mail_record *r = mailbox_get(box, i + 1);
		unsigned char *data;
		size_t size;
		char path[600], expect_name[64];
		assert_int_equal(r->uid, i + 1);
		assert_int_equal(r->size, rt_tests[i].disk_len);
		assert_int_equal(r->vsize, rt_tests[i].out_len);
		assert_int_equal(r->internal_date, 1500000000);
		assert_int_equal(mailbox_msg_read(box, i + 1, &data, &size,
						  &error), 0);
		assert_int_equal(size, rt_tests[i].out_len);
		assert_memory_equal(data, rt_tests[i].out, size);
		free(data);
		/* on disk: LF, name carries ,S= and ,W= */
		snprintf(expect_name, sizeof(expect_name), ",S=%zu,W=%zu:2,S",
			 rt_tests[i].disk_len, rt_tests[i].out_len);
		assert_non_null(strstr(r->guid, ",S="));
		snprintf(path, sizeof(path), "%s/cur/%s%s", maildir, r->guid,
			 strstr(expect_name, ":2,"));
		char *disk;
		size_t dsize;
		assert_int_equal(read_file(path, 1 << 20, &disk, &dsize), 0);
		assert_int_equal(dsize, rt_tests[i].disk_len);
		assert_memory_equal(disk, rt_tests[i].disk, dsize);
		assert_non_null(strstr(path, expect_name));
		free(disk);
	}
	mailbox_close(&box);
	mail_user_close(&user);
}

static void test_save_new_dir_and_move(void **state)
{
	struct mail_user *user = open_user();
	char names[4][256], dir[400];
	uint32_t uid;

	uid = save(user, "INBOX", "A: b\n\nx\n", 0, NULL);
	assert_int_equal(uid, 1);
	snprintf(dir, sizeof(dir), "%s/new", maildir);
	assert_int_equal(dir_files(dir, names, 4), 1);
	assert_null(strchr(names[0], ':'));
	/* a read-only view leaves it in new/ */
	struct mailbox *box = open_box(user, "INBOX", true);
	assert_int_equal(dir_files(dir, names, 4), 1);
	assert_true(mailbox_get(box, 1)->flags & MAIL_RECENT);
	mailbox_close(&box);
	/* a read-write session moves it to cur/ and keeps the UID */
	box = open_box(user, "INBOX", false);
	assert_int_equal(dir_files(dir, names, 4), 0);
	snprintf(dir, sizeof(dir), "%s/cur", maildir);
	assert_int_equal(dir_files(dir, names, 4), 1);
	assert_true(str_begins(strchr(names[0], ':'), ":2,"));
	assert_int_equal(mailbox_get(box, 1)->uid, 1);
	assert_true(mailbox_get(box, 1)->flags & MAIL_RECENT);
	unsigned char *data;
	size_t size;
	const char *error;
	assert_int_equal(mailbox_msg_read(box, 1, &data, &size, &error), 0);
	free(data);
	mailbox_close(&box);
	/* recent only once */
	box = open_box(user, "INBOX", false);
	assert_false(mailbox_get(box, 1)->flags & MAIL_RECENT);
	mailbox_close(&box);
	mail_user_close(&user);
}

static void test_flags_on_disk(void **state)
{
	struct mail_user *user = open_user();
	const char *kw1[] = { "$Forwarded", NULL };
	const char *kw2[] = { "Junk", NULL };
	const char *error;
	char names[4][256], dir[400], path[400];
	char *text;

	save(user, "INBOX", "A: b\n\nx\n", MAIL_SEEN | MAIL_FLAGGED, kw1);
	snprintf(dir, sizeof(dir), "%s/cur", maildir);
	assert_int_equal(dir_files(dir, names, 4), 1);
	assert_non_null(strstr(names[0], ":2,FSa"));
	snprintf(path, sizeof(path), "%s/dovecot-keywords", maildir);
	text = read_text(path);
	assert_string_equal(text, "0 $Forwarded\n");
	free(text);

	struct mailbox *box = open_box(user, "INBOX", false);
	assert_int_equal(mailbox_update_flags(box, 1, MODIFY_ADD,
		MAIL_DELETED | MAIL_ANSWERED, kw2, &error), 0);
	assert_int_equal(dir_files(dir, names, 4), 1);
	assert_non_null(strstr(names[0], ":2,FRSTab"));
	const struct mail_record *r = mailbox_get(box, 1);
	assert_int_equal(r->flags & MAIL_FLAGS_STORED_MASK,
			 MAIL_SEEN | MAIL_FLAGGED | MAIL_DELETED | MAIL_ANSWERED);
	assert_string_equal(r->keywords[0], "$Forwarded");
	assert_string_equal(r->keywords[1], "Junk");
	assert_null(r->keywords[2]);
	const char *const *all = mailbox_keywords(box);
	assert_string_equal(all[0], "$Forwarded");
	assert_string_equal(all[1], "Junk");

	assert_int_equal(mailbox_update_flags(box, 1, MODIFY_REMOVE,
		MAIL_FLAGGED, kw1, &error), 0);
	assert_int_equal(dir_files(dir, names, 4), 1);
	assert_non_null(strstr(names[0], ":2,RSTb"));
	assert_int_equal(mailbox_update_flags(box, 1, MODIFY_REPLACE,
		MAIL_DRAFT, NULL, &error), 0);
	assert_int_equal(dir_files(dir, names, 4), 1);
	assert_true(strstr(names[0], ":2,D") != NULL &&
		    strstr(names[0], ":2,D")[4] == '\0');
	/* invalid keyword refused */
	const char *bad[] = { "a b", NULL };
	assert_int_equal(mailbox_update_flags(box, 1, MODIFY_ADD, 0, bad,
					      &error), -1);
	/* keyword limit: 26 per Maildir */
	for (int i = 0; i < 30; i++) {
		char n[16];
		snprintf(n, sizeof(n), "kw%d", i);
		const char *k[] = { n, NULL };
		int ret = mailbox_update_flags(box, 1, MODIFY_ADD, 0, k, &error);
		assert_int_equal(ret, i < 24 ? 0 : -1);
	}
	mailbox_close(&box);
	mail_user_close(&user);
}

/* --- two sessions --- */

struct sync_log {
	uint32_t expunged[16];
	unsigned int n_expunged;
	uint32_t changed[16];
	unsigned int n_changed;
	uint32_t new_count;
};

static void cb_expunged(void *ctx, uint32_t seq)
{
	struct sync_log *l = ctx;
	l->expunged[l->n_expunged++] = seq;
}

static void cb_changed(void *ctx, uint32_t seq)
{
	struct sync_log *l = ctx;
	l->changed[l->n_changed++] = seq;
}

static void cb_new(void *ctx, uint32_t count)
{
	struct sync_log *l = ctx;
	l->new_count = count;
}

static const struct mailbox_sync_callbacks sync_cb = {
	cb_expunged, cb_changed, cb_new
};

static void do_sync(struct mailbox *box, struct sync_log *l)
{
	const char *error;
	memset(l, 0, sizeof(*l));
	if (mailbox_sync(box, &sync_cb, l, &error) < 0)
		fail_msg("sync: %s", error);
}

static void test_two_sessions(void **state)
{
	struct mail_user *a = open_user(), *b = open_user();
	struct sync_log l;
	const char *error;

	save(a, "INBOX", "M: 1\n\n1\n", 0, NULL);
	struct mailbox *boxa = open_box(a, "INBOX", false);
	assert_int_equal(mailbox_count(boxa), 1);
	int nfd = mailbox_notify_fd(boxa);
	assert_true(nfd >= 0);
	do_sync(boxa, &l);
	assert_int_equal(l.new_count + l.n_changed + l.n_expunged, 0);

	/* b delivers two */
	assert_int_equal(save(b, "INBOX", "M: 2\n\n2\n", 0, NULL), 2);
	assert_int_equal(save(b, "INBOX", "M: 3\n\n3\n", 0, NULL), 3);
	struct pollfd pfd = { .fd = nfd, .events = POLLIN };
	assert_int_equal(poll(&pfd, 1, 1000), 1);
	do_sync(boxa, &l);
	assert_int_equal(l.new_count, 3);
	assert_int_equal(mailbox_count(boxa), 3);
	assert_int_equal(mailbox_get(boxa, 3)->uid, 3);
	assert_true(mailbox_get(boxa, 3)->flags & MAIL_RECENT);
	assert_int_equal(poll(&pfd, 1, 0), 0); /* drained */

	/* b's session sees them but not as recent */
	struct mailbox *boxb = open_box(b, "INBOX", false);
	assert_int_equal(mailbox_count(boxb), 3);
	assert_false(mailbox_get(boxb, 2)->flags & MAIL_RECENT);
	assert_false(mailbox_get(boxb, 3)->flags & MAIL_RECENT);

	/* flag change in b -> a sees FETCH for seq 2 */
	assert_int_equal(mailbox_update_flags(boxb, 2, MODIFY_ADD, MAIL_SEEN,
					      NULL, &error), 0);
	do_sync(boxa, &l);
	assert_int_equal(l.n_changed, 1);
	assert_int_equal(l.changed[0], 2);
	assert_true(mailbox_get(boxa, 2)->flags & MAIL_SEEN);
	assert_int_equal(l.n_expunged, 0);
	do_sync(boxa, &l);
	assert_int_equal(l.n_changed + l.n_expunged + l.new_count, 0);

	/* expunge in b: seq 1 and 3 */
	assert_int_equal(mailbox_update_flags(boxb, 1, MODIFY_ADD, MAIL_DELETED,
					      NULL, &error), 0);
	assert_int_equal(mailbox_update_flags(boxb, 3, MODIFY_ADD, MAIL_DELETED,
					      NULL, &error), 0);
	assert_int_equal(mailbox_expunge(boxb, NULL, 0, &error), 0);
	do_sync(boxb, &l);
	assert_int_equal(l.n_expunged, 2);
	assert_int_equal(mailbox_count(boxb), 1);
	do_sync(boxa, &l);
	assert_int_equal(l.n_expunged, 2);
	/* seqs valid at the time of each report */
	assert_int_equal(l.expunged[0], 1);
	assert_int_equal(l.expunged[1], 2);
	assert_int_equal(mailbox_count(boxa), 1);
	assert_int_equal(mailbox_get(boxa, 1)->uid, 2);

	/* new UIDs never reuse expunged ones */
	assert_int_equal(save(b, "INBOX", "M: 4\n\n4\n", 0, NULL), 4);
	do_sync(boxa, &l);
	assert_int_equal(l.new_count, 2);
	assert_int_equal(mailbox_get(boxa, 2)->uid, 4);

	struct mailbox_status st;
	mailbox_get_status(boxa, &st);
	assert_int_equal(st.messages, 2);
	assert_int_equal(st.uidnext, 5);
	assert_int_equal(st.unseen, 1);
	assert_int_equal(mailbox_first_unseen_seq(boxa), 2);
	assert_int_equal(mail_user_mailbox_status(b, "INBOX", &st, &error), 0);
	assert_int_equal(st.messages, 2);
	assert_int_equal(st.uidnext, 5);
	assert_int_equal(st.unseen, 1);
	assert_int_equal(st.recent, 0);

	mailbox_close(&boxa);
	mailbox_close(&boxb);
	mail_user_close(&a);
	mail_user_close(&b);
}

/* A session acts on messages another session renamed or expunged
   since its last sync. */
static void test_stale_view(void **state)
{
	struct mail_user *a = open_user(), *b = open_user();
	const char *error;
	unsigned char *data;
	size_t size;

	save(a, "INBOX", "M: 1\n\n1\n", MAIL_SEEN, NULL);
	save(a, "INBOX", "M: 2\n\n2\n", MAIL_SEEN, NULL);
	assert_int_equal(mail_user_mailbox_create(a, "Other", &error), 0);
	struct mailbox *boxa = open_box(a, "INBOX", false);
	struct mailbox *boxb = open_box(b, "INBOX", false);

	assert_int_equal(mailbox_update_flags(boxb, 1, MODIFY_ADD, MAIL_FLAGGED,
					      NULL, &error), 0);
	assert_int_equal(mailbox_msg_read(boxa, 1, &data, &size, &error), 0);
	assert_memory_equal(data, "M: 1\r\n\r\n1\r\n", size);
	free(data);
	uint32_t seqs[] = { 1 }, *uids, uidv;
	assert_int_equal(mailbox_copy(boxa, seqs, 1, "Other", &uidv, &uids,
				      &error), 0);
	free(uids);
	assert_int_equal(mailbox_update_flags(boxb, 1, MODIFY_ADD, MAIL_DRAFT,
					      NULL, &error), 0);
	assert_int_equal(mailbox_update_flags(boxa, 1, MODIFY_ADD, MAIL_ANSWERED,
					      NULL, &error), 0);
	struct sync_log l;
	do_sync(boxb, &l);
	assert_int_equal(mailbox_get(boxb, 1)->flags & MAIL_FLAGS_STORED_MASK,
			 MAIL_SEEN | MAIL_FLAGGED | MAIL_DRAFT | MAIL_ANSWERED);

	/* expunged by b, a hasn't synced */
	uint32_t bseq[] = { 2 };
	assert_int_equal(mailbox_expunge_seqs(boxb, bseq, 1, &error), 0);
	assert_int_equal(mailbox_msg_read(boxa, 2, &data, &size, &error), -1);
	assert_string_equal(error, "Message was expunged");
	assert_int_equal(mailbox_update_flags(boxa, 2, MODIFY_ADD, MAIL_SEEN,
					      NULL, &error), 0);
	do_sync(boxa, &l);
	assert_int_equal(l.n_expunged, 1);
	assert_int_equal(l.expunged[0], 2);
	assert_int_equal(mailbox_count(boxa), 1);

	struct mailbox_status st;
	assert_int_equal(mail_user_mailbox_status(b, "Other", &st, &error), 0);
	assert_int_equal(st.messages, 1);
	mailbox_close(&boxa);
	mailbox_close(&boxb);
	mail_user_close(&a);
	mail_user_close(&b);
}

/* --- index loss and corruption --- */

static void check_tree(struct mail_user *user)
{
	struct mailbox *box = open_box(user, "INBOX", false);
	assert_int_equal(mailbox_count(box), 3);
	assert_int_equal(mailbox_get(box, 1)->uid, 1);
	assert_int_equal(mailbox_get(box, 2)->uid, 3);
	assert_int_equal(mailbox_get(box, 3)->uid, 4);
	assert_int_equal(mailbox_get(box, 1)->flags & MAIL_FLAGS_STORED_MASK,
			 MAIL_SEEN);
	assert_int_equal(mailbox_get(box, 2)->flags & MAIL_FLAGS_STORED_MASK,
			 MAIL_FLAGGED | MAIL_ANSWERED);
	assert_string_equal(mailbox_get(box, 2)->keywords[0], "Work");
	assert_int_equal(mailbox_get(box, 3)->flags & MAIL_FLAGS_STORED_MASK, 0);
	unsigned char *data;
	size_t size;
	const char *error;
	assert_int_equal(mailbox_msg_read(box, 3, &data, &size, &error), 0);
	assert_memory_equal(data, "M: 4\r\n\r\n4\r\n", size);
	free(data);
	struct mailbox_status st;
	mailbox_get_status(box, &st);
	assert_int_equal(st.uidnext, 5);
	mailbox_close(&box);
}

static void make_tree(void)
{
	struct mail_user *user = open_user();
	const char *kw[] = { "Work", NULL };
	const char *error;

	save(user, "INBOX", "M: 1\n\n1\n", MAIL_SEEN, NULL);
	save(user, "INBOX", "M: 2\n\n2\n", MAIL_SEEN, NULL);
	save(user, "INBOX", "M: 3\n\n3\n", MAIL_FLAGGED | MAIL_ANSWERED, kw);
	save(user, "INBOX", "M: 4\n\n4\n", 0, NULL);
	struct mailbox *box = open_box(user, "INBOX", false);
	assert_int_equal(mailbox_update_flags(box, 2, MODIFY_ADD, MAIL_DELETED,
					      NULL, &error), 0);
	assert_int_equal(mailbox_expunge(box, NULL, 0, &error), 0);
	mailbox_close(&box);
	check_tree(user);
	mail_user_close(&user);
}

static void test_index_rebuild(void **state)
{
	char path[400];
	struct mail_user *user;

	make_tree();
	snprintf(path, sizeof(path), "%s/" INDEX_FILE_NAME, maildir);

	/* deleted */
	assert_int_equal(unlink(path), 0);
	user = open_user();
	check_tree(user);
	mail_user_close(&user);

	/* random bytes */
	int fd = open(path, O_WRONLY);
	assert_true(fd >= 0);
	char junk[8192];
	srand(7);
	for (size_t i = 0; i < sizeof(junk); i++)
		junk[i] = (char)rand();
	assert_int_equal(write_full(fd, junk, sizeof(junk)), 0);
	close(fd);
	user = open_user();
	check_tree(user);
	mail_user_close(&user);

	/* truncated */
	struct stat st;
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(truncate(path, st.st_size / 2), 0);
	user = open_user();
	check_tree(user);
	mail_user_close(&user);
	assert_int_equal(truncate(path, 0), 0);
	user = open_user();
	check_tree(user);
	mail_user_close(&user);

	/* dovecot-uidlist lost, index still there: UIDs and UIDVALIDITY
	   come back from the index */
	struct mailbox_status st1, st2;
	const char *error;
	user = open_user();
	assert_int_equal(mail_user_mailbox_status(user, "INBOX", &st1, &error), 0);
	mail_user_close(&user);
	snprintf(path, sizeof(path), "%s/dovecot-uidlist", maildir);
	assert_int_equal(unlink(path), 0);
	user = open_user();
	check_tree(user);
	assert_int_equal(mail_user_mailbox_status(user, "INBOX", &st2, &error), 0);
	assert_int_equal(st1.uidvalidity, st2.uidvalidity);
	assert_int_equal(st2.uidnext, 5);
	mail_user_close(&user);
	char *text = read_text(path);
	assert_true(str_begins(text, "3 V"));
	free(text);
}

/* Another process removes and rebuilds the index while a session has
   the mailbox selected. */
static void test_index_replaced_under_session(void **state)
{
	struct mail_user *a = open_user(), *b;
	struct sync_log l;
	char path[400];

	save(a, "INBOX", "M: 1\n\n1\n", MAIL_SEEN, NULL);
	save(a, "INBOX", "M: 2\n\n2\n", 0, NULL);
	struct mailbox *box = open_box(a, "INBOX", false);
	assert_int_equal(mailbox_count(box), 2);
	snprintf(path, sizeof(path), "%s/" INDEX_FILE_NAME, maildir);
	assert_int_equal(unlink(path), 0);
	b = open_user();
	save(b, "INBOX", "M: 3\n\n3\n", 0, NULL);
	struct mailbox *boxb = open_box(b, "INBOX", false);
	const char *error;
	assert_int_equal(mailbox_update_flags(boxb, 2, MODIFY_ADD, MAIL_FLAGGED,
					      NULL, &error), 0);
	mailbox_close(&boxb);
	do_sync(box, &l);
	assert_int_equal(l.n_expunged, 0);
	assert_int_equal(l.new_count, 3);
	assert_int_equal(mailbox_count(box), 3);
	assert_int_equal(mailbox_get(box, 3)->uid, 3);
	assert_true(mailbox_get(box, 2)->flags & MAIL_FLAGGED);
	assert_true(mailbox_get(box, 1)->flags & MAIL_SEEN);
	/* and it keeps working incrementally afterwards */
	save(b, "INBOX", "M: 4\n\n4\n", 0, NULL);
	do_sync(box, &l);
	assert_int_equal(l.new_count, 4);
	assert_int_equal(l.n_expunged, 0);
	mailbox_close(&box);
	mail_user_close(&a);
	mail_user_close(&b);
}

/* --- changes by other programs (Dovecot, a shell) --- */

static void test_external_changes(void **state)
{
	struct mail_user *user = open_user();
	struct sync_log l;
	char names[8][256], dir[400], from[800], to[800];

	save(user, "INBOX", "M: 1\n\n1\n", MAIL_SEEN, NULL);
	save(user, "INBOX", "M: 2\n\n2\n", MAIL_SEEN, NULL);
	struct mailbox *box = open_box(user, "INBOX", false);
	assert_int_equal(mailbox_count(box), 2);

	/* a file dropped into cur/ without S=/W= and without a UID */
	snprintf(from, sizeof(from), "%s/cur/1700000000.M1P1.other:2,F", maildir);
	write_file(from, "X: y\n\nline1\nline2\n");
	do_sync(box, &l);
	assert_int_equal(l.new_count, 3);
	const struct mail_record *r = mailbox_get(box, 3);
	assert_int_equal(r->uid, 3);
	assert_int_equal(r->flags & MAIL_FLAGS_STORED_MASK, MAIL_FLAGGED);
	assert_int_equal(r->size, 18);
	assert_int_equal(r->vsize, 22);

	/* flags changed by renaming */
	snprintf(dir, sizeof(dir), "%s/cur", maildir);
	unsigned int n = dir_files(dir, names, 8);
	assert_int_equal(n, 3);
	for (unsigned int i = 0; i < n; i++) {
		if (!str_begins(names[i], "1700000000"))
			continue;
		snprintf(from, sizeof(from), "%s/%s", dir, names[i]);
		snprintf(to, sizeof(to), "%s/1700000000.M1P1.other:2,ST", dir);
		assert_int_equal(rename(from, to), 0);
	}
	do_sync(box, &l);
	assert_int_equal(l.n_changed, 1);
	assert_int_equal(l.changed[0], 3);
	assert_int_equal(mailbox_get(box, 3)->flags & MAIL_FLAGS_STORED_MASK,
			 MAIL_SEEN | MAIL_DELETED);

	/* removed by a shell */
	for (unsigned int i = 0; i < n; i++) {
		if (str_begins(names[i], "1700000000"))
			continue;
		snprintf(from, sizeof(from), "%s/%s", dir, names[i]);
		assert_int_equal(unlink(from), 0);
		break;
	}
	do_sync(box, &l);
	assert_int_equal(l.n_expunged, 1);
	assert_int_equal(mailbox_count(box), 2);
	mailbox_close(&box);
	mail_user_close(&user);
}

static void test_crash_leftover(void **state)
{
	struct mail_user *user = open_user();
	char path[600], *text;

	save(user, "INBOX", "M: 1\n\n1\n", MAIL_SEEN, NULL);
	save(user, "INBOX", "M: 2\n\n2\n", MAIL_SEEN, NULL);
	save(user, "INBOX", "M: 3\n\n3\n", MAIL_SEEN, NULL);
	mail_user_close(&user);
	/* crash between rename into cur/ and the uidlist update */
	snprintf(path, sizeof(path), "%s/cur/1800000000.M5P5.host,S=8,W=11:2,S",
		 maildir);
	write_file(path, "M: 9\n\n9\n");
	/* and an interrupted uidlist append */
	snprintf(path, sizeof(path), "%s/dovecot-uidlist", maildir);
	int fd = open(path, O_WRONLY | O_APPEND);
	assert_int_equal(write_full(fd, "4 :18000", 8), 0);
	close(fd);

	/* leftovers in tmp/: old ones go, fresh ones stay */
	char tmpf[600], tmpf2[600];
	struct timeval old_tv[2] = { { time(NULL) - 40 * 3600, 0 },
				     { time(NULL) - 40 * 3600, 0 } };
	snprintf(tmpf, sizeof(tmpf), "%s/tmp/1.M1P1.old", maildir);
	snprintf(tmpf2, sizeof(tmpf2), "%s/tmp/2.M2P2.fresh", maildir);
	write_file(tmpf, "x");
	write_file(tmpf2, "y");
	assert_int_equal(utimes(tmpf, old_tv), 0);
	snprintf(path, sizeof(path), "%s/tmp", maildir);
	assert_int_equal(utimes(path, old_tv), 0);
	snprintf(path, sizeof(path), "%s/dovecot-uidlist", maildir);

	user = open_user();
	struct mailbox *box = open_box(user, "INBOX", false);
	assert_int_equal(access(tmpf, F_OK), -1);
	assert_int_equal(access(tmpf2, F_OK), 0);
	assert_int_equal(mailbox_count(box), 4);
	assert_int_equal(mailbox_get(box, 1)->uid, 1);
	assert_int_equal(mailbox_get(box, 3)->uid, 3);
	assert_true(mailbox_get(box, 4)->uid > 3);
	assert_string_equal(mailbox_get(box, 4)->guid,
			    "1800000000.M5P5.host,S=8,W=11");
	mailbox_close(&box);
	text = read_text(path);
	assert_true(str_begins(text, "3 V"));
	assert_non_null(strstr(text, " :1800000000.M5P5.host,S=8,W=11\n"));
	assert_null(strstr(text, ":18000\n"));
	free(text);
	uint32_t uid = save(user, "INBOX", "M: 5\n\n5\n", 0, NULL);
	assert_int_equal(uid, 5);
	mail_user_close(&user);
}

/* --- a tree written by Dovecot --- */

static void test_dovecot_tree(void **state)
{
	char path[600], *text;
	const char *error;

	assert_int_equal(mkdir(maildir, 0700), 0);
	const char *dirs[] = { "cur", "new", "tmp", ".Work", ".Work/cur",
			       ".Work/new", ".Work/tmp", NULL };
	for (int i = 0; dirs[i] != NULL; i++) {
		snprintf(path, sizeof(path), "%s/%s", maildir, dirs[i]);
		assert_int_equal(mkdir(path, 0700), 0);
	}
	snprintf(path, sizeof(path), "%s/.Work/maildirfolder", maildir);
	write_file(path, "");
	snprintf(path, sizeof(path), "%s/dovecot-uidlist", maildir);
	write_file(path,
		"3 V1600000000 N12 G0123456789abcdef0123456789abcdef\n"
		"7 :1600000001.M1P100.mx,S=6,W=8\n"
		"9 W9 :1600000002.M2P100.mx\n"
		"10 :1600000003.M3P100.mx,S=6,W=8\n");
	snprintf(path, sizeof(path), "%s/dovecot-keywords", maildir);
	write_file(path, "0 $Forwarded\n1 Junk\n");
	snprintf(path, sizeof(path), "%s/subscriptions", maildir);
	write_file(path, "V\t2\n\nINBOX\nWork\n");
	snprintf(path, sizeof(path), "%s/cur/1600000001.M1P100.mx,S=6,W=8:2,RSa",
		 maildir);
	write_file(path, "A: b\n\n");
	snprintf(path, sizeof(path), "%s/cur/1600000002.M2P100.mx:2,Sb", maildir);
	write_file(path, "A: b\n\nc\n");
	snprintf(path, sizeof(path), "%s/new/1600000003.M3P100.mx,S=6,W=8",
		 maildir);
	write_file(path, "A: b\n\n");

	struct mail_user *user = open_user_sep('/');
	struct mailbox *box = open_box(user, "INBOX", false);
	assert_int_equal(mailbox_count(box), 3);
	const struct mail_record *r = mailbox_get(box, 1);
	assert_int_equal(r->uid, 7);
	assert_int_equal(r->flags & MAIL_FLAGS_STORED_MASK,
			 MAIL_ANSWERED | MAIL_SEEN);
	assert_string_equal(r->keywords[0], "$Forwarded");
	assert_null(r->keywords[1]);
	r = mailbox_get(box, 2);
	assert_int_equal(r->uid, 9);
	assert_int_equal(r->vsize, 9);
	assert_string_equal(r->keywords[0], "Junk");
	r = mailbox_get(box, 3);
	assert_int_equal(r->uid, 10);
	struct mailbox_status st;
	mailbox_get_status(box, &st);
	assert_int_equal(st.uidvalidity, 1600000000);
	assert_int_equal(st.uidnext, 12);
	/* we keep Dovecot's files usable */
	const char *kw[] = { "Junk", "NewOne", NULL };
	assert_int_equal(mailbox_update_flags(box, 1, MODIFY_ADD, 0, kw,
					      &error), 0);
	mailbox_close(&box);
	assert_int_equal(save(user, "INBOX", "N: 1\n\nx\n", 0, NULL), 12);

	snprintf(path, sizeof(path), "%s/dovecot-uidlist", maildir);
	text = read_text(path);
	assert_true(str_begins(text,
		"3 V1600000000 N12 G0123456789abcdef0123456789abcdef\n"
		"7 :1600000001.M1P100.mx,S=6,W=8\n"
		"9 W9 :1600000002.M2P100.mx\n"
		"10 :1600000003.M3P100.mx,S=6,W=8\n12 :"));
	free(text);
	snprintf(path, sizeof(path), "%s/dovecot-keywords", maildir);
	text = read_text(path);
	assert_string_equal(text, "0 $Forwarded\n1 Junk\n2 NewOne\n");
	free(text);
	char names[4][256], dir[400];
	snprintf(dir, sizeof(dir), "%s/cur", maildir);
	assert_int_equal(dir_files(dir, names, 4), 3);
	bool found = false;
	for (int i = 0; i < 3; i++)
		found |= strcmp(names[i], "1600000001.M1P100.mx,S=6,W=8:2,RSabc") == 0;
	assert_true(found);

	/* list and subscriptions with '/' separator */
	struct mailbox_info *list;
	unsigned int count;
	assert_int_equal(mail_user_list(user, &list, &count, &error), 0);
	assert_int_equal(count, 2);
	assert_string_equal(list[0].name, "INBOX");
	assert_string_equal(list[1].name, "Work");
	assert_true(list[1].flags & MAILBOX_SUBSCRIBED);
	mailbox_info_list_free(&list, count);
	assert_int_equal(mail_user_mailbox_create(user, "Work/Projects", &error), 0);
	assert_int_equal(mail_user_subscribe(user, "Work/Projects", true, &error), 0);
	snprintf(path, sizeof(path), "%s/subscriptions", maildir);
	text = read_text(path);
	assert_string_equal(text, "V\t2\n\nINBOX\nWork\nWork\tProjects\n");
	free(text);
	snprintf(path, sizeof(path), "%s/.Work.Projects/maildirfolder", maildir);
	struct stat sst;
	assert_int_equal(stat(path, &sst), 0);
	assert_int_equal(mail_user_mailbox_create(user, "Work.Projects", &error), -1);
	assert_non_null(strstr(error, "'.'"));
	mail_user_close(&user);
}

/* --- mailbox management --- */

static void test_mailbox_management(void **state)
{
	struct mail_user *user = open_user();
	struct mailbox_info *list;
	unsigned int count;
	const char *error;
	char **subs;

	assert_int_equal(mail_user_mailbox_create(user, "INBOX", &error), -1);
	assert_string_equal(error, "Mailbox already exists");
	assert_int_equal(mail_user_mailbox_create(user, "Sent", &error), 0);
	assert_int_equal(mail_user_mailbox_create(user, "Sent", &error), -1);
	assert_string_equal(error, "Mailbox already exists");
	assert_int_equal(mail_user_mailbox_create(user, "A.B.C", &error), 0);
	assert_int_equal(mail_user_mailbox_create(user, "Trash.", &error), 0);
	assert_true(mail_user_mailbox_exists(user, "Trash"));
	assert_int_equal(mail_user_mailbox_create(user, "a..b", &error), -1);
	assert_int_equal(mail_user_mailbox_create(user, "x\xff", &error), -1);
	assert_int_equal(mail_user_mailbox_create(user, "a/b", &error), -1);
	assert_int_equal(mail_user_mailbox_create(user, "&AGE-", &error), -1);

	assert_int_equal(mail_user_list(user, &list, &count, &error), 0);
	const char *expect[] = { "INBOX", "A", "A.B", "A.B.C", "Sent", "Trash" };
	assert_int_equal(count, N_ELEMENTS(expect));
	for (unsigned int i = 0; i < count; i++)
		assert_string_equal(list[i].name, expect[i]);
	assert_true(list[1].flags & MAILBOX_NOSELECT);
	assert_true(list[1].flags & MAILBOX_HASCHILDREN);
	assert_true(list[3].flags & MAILBOX_HASNOCHILDREN);
	assert_false(list[3].flags & MAILBOX_NOSELECT);
	mailbox_info_list_free(&list, count);

	/* subscriptions */
	assert_int_equal(mail_user_subscribe(user, "A.B.C", true, &error), 0);
	assert_int_equal(mail_user_subscribe(user, "inbox", true, &error), 0);
	assert_int_equal(mail_user_subscribe(user, "Sent", true, &error), 0);
	assert_int_equal(mail_user_subscribe(user, "Sent", false, &error), 0);
	assert_int_equal(mail_user_subscriptions(user, &subs, &error), 0);
	assert_int_equal(str_array_length(subs), 2);
	assert_string_equal(subs[0], "A.B.C");
	assert_string_equal(subs[1], "INBOX");
	str_split_free(&subs);

	/* rename moves children, UIDs and subscriptions */
	assert_int_equal(mail_user_mailbox_create(user, "A.B", &error), 0);
	save(user, "A.B", "M: 1\n\n1\n", MAIL_SEEN, NULL);
	assert_int_equal(mail_user_mailbox_rename(user, "A.B", "A.B.C.D", &error),
			 -1);
	assert_int_equal(mail_user_mailbox_rename(user, "A.B", "Sent", &error), -1);
	assert_string_equal(error, "Mailbox already exists");
	assert_int_equal(mail_user_mailbox_rename(user, "Nope", "X", &error), -1);
	assert_string_equal(error, "Mailbox doesn't exist: Nope");
	assert_int_equal(mail_user_mailbox_rename(user, "A.B", "Z", &error), 0);
	assert_false(mail_user_mailbox_exists(user, "A.B"));
	assert_false(mail_user_mailbox_exists(user, "A.B.C"));
	assert_true(mail_user_mailbox_exists(user, "Z.C"));
	struct mailbox *box = open_box(user, "Z", false);
	assert_int_equal(mailbox_count(box), 1);
	assert_int_equal(mailbox_get(box, 1)->uid, 1);
	assert_true(mailbox_get(box, 1)->flags & MAIL_SEEN);
	mailbox_close(&box);
	assert_int_equal(mail_user_subscriptions(user, &subs, &error), 0);
	assert_string_equal(subs[0], "Z.C");
	str_split_free(&subs);

	/* copy keeps flags, gives UIDs */
	box = open_box(user, "Z", false);
	uint32_t seqs[] = { 1 }, *uids, uidv;
	assert_int_equal(mailbox_copy(box, seqs, 1, "Trash", &uidv, &uids,
				      &error), 0);
	assert_int_equal(uids[0], 1);
	free(uids);
	assert_int_equal(mailbox_copy(box, seqs, 1, "Nope", &uidv, &uids,
				      &error), -1);
	mailbox_close(&box);
	struct mailbox_status st;
	assert_int_equal(mail_user_mailbox_status(user, "Trash", &st, &error), 0);
	assert_int_equal(st.messages, 1);
	assert_int_equal(st.unseen, 0);
	assert_int_equal(st.uidnext, 2);
	assert_int_equal(mail_user_mailbox_status(user, "Nope", &st, &error), -1);

	/* delete; re-create gets a new UIDVALIDITY and fresh UIDs */
	uint32_t old_uidv = st.uidvalidity;
	assert_int_equal(mail_user_mailbox_delete(user, "INBOX", &error), -1);
	assert_int_equal(mail_user_mailbox_delete(user, "Nope", &error), -1);
	assert_string_equal(error, "Mailbox doesn't exist: Nope");
	assert_int_equal(mail_user_mailbox_delete(user, "Trash", &error), 0);
	assert_false(mail_user_mailbox_exists(user, "Trash"));
	assert_int_equal(mail_user_mailbox_create(user, "Trash", &error), 0);
	assert_int_equal(mail_user_mailbox_status(user, "Trash", &st, &error), 0);
	assert_int_equal(st.messages, 0);
	assert_true(st.uidvalidity > old_uidv);
	assert_int_equal(st.uidnext, 1);

	/* INBOX rename: messages move, INBOX stays, keywords too */
	const char *kwj[] = { "Junk", NULL };
	save(user, "INBOX", "M: 0\n\n0\n", MAIL_SEEN, NULL);
	save(user, "INBOX", "M: 1\n\n1\n", 0, kwj);
	save(user, "INBOX", "M: 2\n\n2\n", MAIL_SEEN, NULL);
	assert_int_equal(mail_user_mailbox_rename(user, "INBOX", "Old", &error), 0);
	assert_int_equal(mail_user_mailbox_status(user, "INBOX", &st, &error), 0);
	assert_int_equal(st.messages, 0);
	assert_int_equal(st.uidnext, 4);
	assert_int_equal(mail_user_mailbox_status(user, "Old", &st, &error), 0);
	assert_int_equal(st.messages, 3);
	assert_int_equal(st.unseen, 1);
	assert_int_equal(save(user, "INBOX", "M: 3\n\n3\n", 0, NULL), 4);
	box = open_box(user, "Old", true);
	bool found_junk = false;
	for (uint32_t q = 1; q <= mailbox_count(box); q++) {
		const struct mail_record *rr = mailbox_get(box, q);
		found_junk |= rr->keywords[0] != NULL &&
			strcmp(rr->keywords[0], "Junk") == 0;
	}
	assert_true(found_junk);
	mailbox_close(&box);
	/* cache */
	box = open_box(user, "Old", false);
	assert_null(mailbox_cache_get(box, 1, "envelope"));
	mailbox_cache_set(box, 1, "envelope", "(\"x\")");
	char *v = mailbox_cache_get(box, 1, "envelope");
	assert_string_equal(v, "(\"x\")");
	free(v);
	mailbox_close(&box);
	assert_int_equal(mailbox_open(user, "Nope", false, &box, &error), -1);
	assert_string_equal(error, "Mailbox doesn't exist: Nope");
	mail_user_close(&user);
}

/* Several processes deliver at once while a session syncs: every
   message gets exactly one UID, none is lost or reused. */
#define WRITERS 4
#define PER_WRITER 40

static void test_concurrent_delivery(void **state)
{
	struct mail_user *user = open_user();
	struct sync_log l;
	const char *error;
	pid_t pids[WRITERS];
	int i, status;

	struct mailbox *box = open_box(user, "INBOX", false);
	for (i = 0; i < WRITERS; i++) {
		pids[i] = fork();
		assert_true(pids[i] >= 0);
		if (pids[i] == 0) {
			struct mail_user *w = open_user();
			for (int k = 0; k < PER_WRITER; k++) {
				char msg[64];
				uint32_t uid;
				snprintf(msg, sizeof(msg), "W: %d\n\n%d\n", i, k);
				if (mail_user_save(w, "INBOX", msg, strlen(msg),
						   k % 2 == 0 ? 0 : MAIL_SEEN, NULL,
						   0, NULL, &uid, &error) < 0)
					_exit(1);
			}
			mail_user_close(&w);
			_exit(0);
		}
	}
	/* a session syncing (and moving new/ to cur/) all along */
	unsigned int seen = 0;
	for (int n = 0; n < 200; n++) {
		do_sync(box, &l);
		assert_true(mailbox_count(box) >= seen);
		seen = mailbox_count(box);
		for (uint32_t q = 2; q <= mailbox_count(box); q++)
			assert_true(mailbox_get(box, q - 1)->uid <
				    mailbox_get(box, q)->uid);
		usleep(1000);
	}
	for (i = 0; i < WRITERS; i++) {
		assert_int_equal(waitpid(pids[i], &status, 0), pids[i]);
		assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	}
	do_sync(box, &l);
	assert_int_equal(mailbox_count(box), WRITERS * PER_WRITER);
	for (uint32_t q = 1; q <= mailbox_count(box); q++)
		assert_int_equal(mailbox_get(box, q)->uid, q);
	mailbox_close(&box);

	/* the uidlist agrees with the index, and a fresh index too */
	char path[400];
	snprintf(path, sizeof(path), "%s/" INDEX_FILE_NAME, maildir);
	mail_user_close(&user);
	assert_int_equal(unlink(path), 0);
	user = open_user();
	box = open_box(user, "INBOX", true);
	assert_int_equal(mailbox_count(box), WRITERS * PER_WRITER);
	assert_int_equal(mailbox_get(box, WRITERS * PER_WRITER)->uid,
			 WRITERS * PER_WRITER);
	struct mailbox_status st;
	mailbox_get_status(box, &st);
	assert_int_equal(st.unseen, WRITERS * PER_WRITER / 2);
	mailbox_close(&box);
	mail_user_close(&user);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
		T(test_save_read_roundtrip),
		T(test_save_new_dir_and_move),
		T(test_flags_on_disk),
		T(test_two_sessions),
		T(test_stale_view),
		T(test_index_rebuild),
		T(test_index_replaced_under_session),
		T(test_external_changes),
		T(test_crash_leftover),
		T(test_dovecot_tree),
		T(test_mailbox_management),
		T(test_concurrent_delivery),
#undef T
	};
	log_init("test-storage");
	return cmocka_run_group_tests(tests, NULL, NULL);
}
