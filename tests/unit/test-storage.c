/* Unit tests for lib-storage behaviour: save/read, flags on disk, two
   sessions on one Maildir, index loss/corruption, external changes,
   crash leftovers, concurrent deliveries. */
#include "test-storage-common.h"

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
		uint64_t vsize;
		unsigned int reads = user->vsize_reads;
		assert_int_equal(mailbox_get_vsize(box, i + 1, &vsize, &error),
				 0);
		assert_int_equal(vsize, rt_tests[i].out_len);
		/* W= of the saved file's name: not read for it */
		assert_int_equal(user->vsize_reads, reads);
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
	assert_true(mailbox_keywords_can_add(box));
	for (int i = 0; i < 30; i++) {
		char n[16];
		snprintf(n, sizeof(n), "kw%d", i);
		const char *k[] = { n, NULL };
		int ret = mailbox_update_flags(box, 1, MODIFY_ADD, 0, k, &error);
		assert_int_equal(ret, i < 24 ? 0 : -1);
	}
	assert_false(mailbox_keywords_can_add(box));
	mailbox_close(&box);
	mail_user_close(&user);
}

/* --- two sessions --- */

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
	uint64_t vsize;
	const char *error;
	assert_int_equal(mailbox_get_vsize(box, 3, &vsize, &error), 0);
	assert_int_equal(vsize, 22);

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

/* Several processes change flags of the same messages at once (and one
   more session syncs): renames race with readdir() and with each other,
   yet no change is lost and nothing looks expunged. */
#define STORERS 3
#define STORE_MSGS 30

static void test_concurrent_store(void **state)
{
	static const enum mail_flags flag_of[STORERS] = {
		MAIL_SEEN, MAIL_FLAGGED, MAIL_ANSWERED };
	struct mail_user *user = open_user();
	struct sync_log l;
	pid_t pids[STORERS];
	int i, status;

	for (i = 0; i < STORE_MSGS; i++)
		save(user, "INBOX", "M: x\n\nx\n", MAIL_DRAFT, NULL);
	struct mailbox *box = open_box(user, "INBOX", false);
	for (i = 0; i < STORERS; i++) {
		pids[i] = fork();
		assert_true(pids[i] >= 0);
		if (pids[i] != 0)
			continue;
		struct mail_user *w = open_user();
		struct mailbox *wb;
		const char *error;
		char kwname[16];
		snprintf(kwname, sizeof(kwname), "kw%d", i);
		const char *kw[] = { kwname, NULL };
		if (mailbox_open(w, "INBOX", false, &wb, &error) < 0)
			_exit(1);
		for (uint32_t seq = 1; seq <= mailbox_count(wb); seq++) {
			if (mailbox_update_flags(wb, seq, MODIFY_ADD, flag_of[i],
						 kw, &error) < 0)
				_exit(2);
		}
		mailbox_close(&wb);
		mail_user_close(&w);
		_exit(0);
	}
	for (int n = 0; n < 100; n++) {
		do_sync(box, &l);
		assert_int_equal(l.n_expunged, 0);
		assert_int_equal(mailbox_count(box), STORE_MSGS);
		usleep(500);
	}
	for (i = 0; i < STORERS; i++) {
		assert_int_equal(waitpid(pids[i], &status, 0), pids[i]);
		assert_true(WIFEXITED(status));
		assert_int_equal(WEXITSTATUS(status), 0);
	}
	do_sync(box, &l);
	assert_int_equal(l.n_expunged, 0);
	assert_int_equal(mailbox_count(box), STORE_MSGS);
	for (uint32_t seq = 1; seq <= STORE_MSGS; seq++) {
		const struct mail_record *r = mailbox_get(box, seq);
		assert_int_equal(r->uid, seq);
		assert_int_equal(r->flags & MAIL_FLAGS_STORED_MASK,
				 MAIL_DRAFT | MAIL_SEEN | MAIL_FLAGGED |
				 MAIL_ANSWERED);
		assert_int_equal(str_array_length((char **)r->keywords), STORERS);
	}
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
		T(test_concurrent_delivery),
		T(test_concurrent_store),
#undef T
	};
	log_init("test-storage");
	return cmocka_run_group_tests(tests, NULL, NULL);
}
