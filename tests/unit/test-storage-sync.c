/* Unit tests for the rule that lets maildir_sync() skip a scan (top of
   src/lib-storage/maildir-sync.c): a session's own STORE/APPEND/EXPUNGE
   does not force a rescan, other sessions see those changes at their
   next sync, and a foreign change to the Maildir is seen at the next
   sync, or at the latest at the first sync one verify period (1 s)
   after it when it hid behind one of our own changes. */
#include "test-storage-common.h"

/* SIG_VERIFY_NSECS in maildir-sync.c, and a margin for slow (ASan)
   runs */
#define VERIFY_MSECS 1000
#define SLACK_MSECS 400

static uint64_t now_msecs(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* Path of the file of the message with UID uid in cur/ (by its view
   record) */
static void msg_path(struct mailbox *box, uint32_t seq, char *buf,
		     size_t size)
{
	struct view_rec *vr = &box->recs[seq - 1];

	snprintf(buf, size, "%s/%s", box->mb.path, vr->filename);
}

/* A foreign Maildir writer sets a flag letter by renaming the file. */
static void foreign_add_flag(struct mailbox *box, uint32_t seq, char letter)
{
	char from[1024], to[1100];

	msg_path(box, seq, from, sizeof(from));
	assert_non_null(strstr(from, ":2,"));
	snprintf(to, sizeof(to), "%s%c", from, letter);
	assert_int_equal(rename(from, to), 0);
}

/* Our own changes (STORE, APPEND, EXPUNGE) don't make the next syncs
   scan the Maildir, and the view stays right. */
static void test_own_changes_no_scan(void **state)
{
	struct mail_user *user = open_user();
	struct sync_log l;
	const char *error;
	unsigned int i;

	for (i = 0; i < 5; i++)
		save(user, "INBOX", "M: x\n\nx\n", MAIL_SEEN, NULL);
	struct mailbox *box = open_box(user, "INBOX", false);
	do_sync(box, &l);
	uint64_t start = now_msecs();
	unsigned int scans = user->sync_scans;

	for (i = 1; i <= 5; i++) {
		assert_int_equal(mailbox_update_flags(box, i, MODIFY_ADD,
						      MAIL_FLAGGED, NULL,
						      &error), 0);
		do_sync(box, &l);
	}
	assert_int_equal(save(user, "INBOX", "M: y\n\ny\n", MAIL_SEEN, NULL), 6);
	do_sync(box, &l);
	assert_int_equal(l.new_count, 6);
	assert_int_equal(save(user, "INBOX", "M: z\n\nz\n", 0, NULL), 7);
	do_sync(box, &l);
	assert_int_equal(l.new_count, 7);
	assert_int_equal(mailbox_update_flags(box, 2, MODIFY_ADD, MAIL_DELETED,
					      NULL, &error), 0);
	assert_int_equal(mailbox_expunge(box, NULL, 0, &error), 0);
	do_sync(box, &l);
	assert_int_equal(l.n_expunged, 1);
	assert_int_equal(l.expunged[0], 2);
	do_sync(box, &l);
	assert_int_equal(l.n_expunged + l.n_changed + l.new_count, 0);

	/* the APPEND into new/ (no flags) is moved to cur/ by a read-write
	   sync: that one scan is allowed; a verify scan only if the test
	   took longer than the verify period */
	unsigned int allowed = 1 +
		(now_msecs() - start >= VERIFY_MSECS ? 1 : 0);
	assert_true(user->sync_scans - scans <= allowed);

	assert_int_equal(mailbox_count(box), 6);
	for (i = 1; i <= 4; i++) {
		const struct mail_record *r = mailbox_get(box, i);
		assert_int_equal(r->flags & MAIL_FLAGS_STORED_MASK,
				 MAIL_SEEN | MAIL_FLAGGED);
	}
	/* the view matches what a fresh session reads from disk */
	struct mail_user *other = open_user();
	struct mailbox *box2 = open_box(other, "INBOX", true);
	assert_int_equal(mailbox_count(box2), 6);
	for (i = 1; i <= 6; i++) {
		assert_int_equal(mailbox_get(box2, i)->uid,
				 mailbox_get(box, i)->uid);
		assert_int_equal(mailbox_get(box2, i)->flags &
				 MAIL_FLAGS_STORED_MASK,
				 mailbox_get(box, i)->flags &
				 MAIL_FLAGS_STORED_MASK);
	}
	mailbox_close(&box2);
	mail_user_close(&other);
	mailbox_close(&box);
	mail_user_close(&user);
}

/* Two sessions (separate index connections, as two processes): each
   one's own changes are seen by the other at its very next sync. */
static void test_other_session_sees_own_changes(void **state)
{
	struct mail_user *a = open_user(), *b = open_user();
	struct sync_log l;
	const char *error;
	unsigned int i;

	for (i = 0; i < 4; i++)
		save(a, "INBOX", "M: x\n\nx\n", MAIL_SEEN, NULL);
	struct mailbox *boxa = open_box(a, "INBOX", false);
	struct mailbox *boxb = open_box(b, "INBOX", false);

	for (i = 0; i < 3; i++) {
		struct mailbox *me = i % 2 == 0 ? boxa : boxb;
		struct mailbox *peer = i % 2 == 0 ? boxb : boxa;
		struct mail_user *me_user = i % 2 == 0 ? a : b;
		uint32_t count = mailbox_count(peer);

		/* STORE */
		assert_int_equal(mailbox_update_flags(me, 1, MODIFY_REPLACE,
			i % 2 == 0 ? MAIL_SEEN | MAIL_ANSWERED : MAIL_SEEN,
			NULL, &error), 0);
		do_sync(me, &l);
		do_sync(peer, &l);
		assert_int_equal(l.n_changed, 1);
		assert_int_equal(l.changed[0], 1);
		assert_int_equal(mailbox_get(peer, 1)->flags &
				 MAIL_FLAGS_STORED_MASK,
				 mailbox_get(me, 1)->flags &
				 MAIL_FLAGS_STORED_MASK);
		/* APPEND */
		uint32_t uid = save(me_user, "INBOX", "M: n\n\nn\n", MAIL_SEEN,
				    NULL);
		do_sync(me, &l);
		do_sync(peer, &l);
		assert_int_equal(l.new_count, count + 1);
		assert_int_equal(mailbox_get(peer, count + 1)->uid, uid);
		/* EXPUNGE of what was just appended */
		uint32_t seq = mailbox_uid_to_seq(me, uid);
		assert_true(seq != 0);
		assert_int_equal(mailbox_update_flags(me, seq, MODIFY_ADD,
						      MAIL_DELETED, NULL,
						      &error), 0);
		assert_int_equal(mailbox_expunge(me, &uid, 1, &error), 0);
		do_sync(me, &l);
		assert_int_equal(l.n_expunged, 1);
		do_sync(peer, &l);
		assert_int_equal(l.n_expunged, 1);
		assert_int_equal(l.expunged[0], count + 1);
		assert_int_equal(mailbox_count(peer), count);
	}
	mailbox_close(&boxa);
	mailbox_close(&boxb);
	mail_user_close(&a);
	mail_user_close(&b);
}

/* The window of the rule: a foreign rename that happens between the
   stamps we take before and after our own change is folded into the
   "after" stamps. It must be seen at the first sync after the verify
   deadline. (Here our own change is made by hand: a dot file in cur/,
   which a scan ignores.) */
static void test_foreign_change_in_own_window(void **state)
{
	struct mail_user *user = open_user();
	struct sync_log l;
	char dot[600];

	for (unsigned int i = 0; i < 3; i++)
		save(user, "INBOX", "M: x\n\nx\n", MAIL_SEEN, NULL);
	struct mailbox *box = open_box(user, "INBOX", false);
	do_sync(box, &l);
	/* a sync well after the last change: the signature is clean */
	usleep((VERIFY_MSECS + 100) * 1000);
	do_sync(box, &l);

	char *before = maildir_sync_stamps(&box->mb, MAILDIR_SIG_CUR);
	foreign_add_flag(box, 2, 'F');
	snprintf(dot, sizeof(dot), "%s/cur/.own", box->mb.path);
	write_file(dot, "x");
	assert_int_equal(unlink(dot), 0);
	assert_int_equal(index_db_begin(user, true), 0);
	assert_int_equal(maildir_sync_own_change_update(user, &box->mb,
							before), 0);
	assert_int_equal(index_db_commit(user), 0);
	free(before);
	uint64_t changed_at = now_msecs();

	/* hidden: this is the documented window */
	do_sync(box, &l);
	assert_int_equal(l.n_changed, 0);
	/* seen at the first sync after the deadline */
	while (now_msecs() - changed_at < VERIFY_MSECS + 20)
		usleep(20 * 1000);
	do_sync(box, &l);
	assert_int_equal(l.n_changed, 1);
	assert_int_equal(l.changed[0], 2);
	assert_int_equal(mailbox_get(box, 2)->flags & MAIL_FLAGS_STORED_MASK,
			 MAIL_SEEN | MAIL_FLAGGED);
	mailbox_close(&box);
	mail_user_close(&user);
}

/* Our own changes keep coming (a STORE every 50 ms): they must not push
   the verify deadline of a hidden foreign change further away. */
static void test_deadline_not_postponed(void **state)
{
	struct mail_user *user = open_user();
	struct sync_log l;
	const char *error;
	char dot[600];

	for (unsigned int i = 0; i < 3; i++)
		save(user, "INBOX", "M: x\n\nx\n", MAIL_SEEN, NULL);
	struct mailbox *box = open_box(user, "INBOX", false);
	usleep((VERIFY_MSECS + 100) * 1000);
	do_sync(box, &l);

	char *before = maildir_sync_stamps(&box->mb, MAILDIR_SIG_CUR);
	foreign_add_flag(box, 2, 'T');
	snprintf(dot, sizeof(dot), "%s/cur/.own", box->mb.path);
	write_file(dot, "x");
	assert_int_equal(unlink(dot), 0);
	assert_int_equal(index_db_begin(user, true), 0);
	assert_int_equal(maildir_sync_own_change_update(user, &box->mb,
							before), 0);
	assert_int_equal(index_db_commit(user), 0);
	free(before);
	uint64_t changed_at = now_msecs(), seen_at = 0;

	for (unsigned int n = 0; seen_at == 0 &&
	     now_msecs() - changed_at < 3 * VERIFY_MSECS; n++) {
		assert_int_equal(mailbox_update_flags(box, 3,
			n % 2 == 0 ? MODIFY_ADD : MODIFY_REMOVE, MAIL_FLAGGED,
			NULL, &error), 0);
		do_sync(box, &l);
		for (unsigned int i = 0; i < l.n_changed; i++) {
			if (l.changed[i] == 2)
				seen_at = now_msecs();
		}
		usleep(50 * 1000);
	}
	assert_true(seen_at != 0);
	assert_true(seen_at - changed_at <= VERIFY_MSECS + SLACK_MSECS);
	assert_true(mailbox_get(box, 2)->flags & MAIL_DELETED);
	mailbox_close(&box);
	mail_user_close(&user);
}

/* A foreign rename right after our own STORE (within the same second,
   maybe the same timestamp tick): seen at the latest one verify period
   later, whether a stamp shows it or not. Same for a delivery into new/
   and a file removed by hand. */
static void test_foreign_after_own_change(void **state)
{
	struct mail_user *user = open_user();
	struct sync_log l;
	const char *error;
	char path[600];

	for (unsigned int i = 0; i < 4; i++)
		save(user, "INBOX", "M: x\n\nx\n", MAIL_SEEN, NULL);
	struct mailbox *box = open_box(user, "INBOX", false);
	do_sync(box, &l);

	for (unsigned int round = 0; round < 3; round++) {
		assert_int_equal(mailbox_update_flags(box, 1, round % 2 == 0 ?
			MODIFY_ADD : MODIFY_REMOVE, MAIL_ANSWERED, NULL,
			&error), 0);
		uint64_t changed_at = now_msecs();
		uint32_t count = mailbox_count(box);
		switch (round) {
		case 0:
			foreign_add_flag(box, 2, 'F');
			break;
		case 1:
			snprintf(path, sizeof(path),
				 "%s/new/1700000001.M1P1.foreign", box->mb.path);
			write_file(path, "M: f\n\nf\n");
			break;
		case 2:
			msg_path(box, count, path, sizeof(path));
			assert_int_equal(unlink(path), 0);
			break;
		}
		bool seen = false;
		while (!seen) {
			do_sync(box, &l);
			seen = round == 0 ? l.n_changed == 1 && l.changed[0] == 2 :
				round == 1 ? l.new_count == count + 1 :
				l.n_expunged == 1 && l.expunged[0] == count;
			if (!seen) {
				assert_true(now_msecs() - changed_at <=
					    VERIFY_MSECS + SLACK_MSECS);
				usleep(10 * 1000);
			}
		}
	}
	mailbox_close(&box);
	mail_user_close(&user);
}

/* The signature written by a scan or an own change parses back, and
   an own change after a foreign one (the index no longer matched the
   "before" stamps) leaves it alone, so the next sync scans at once. */
static void test_own_change_after_foreign(void **state)
{
	struct mail_user *user = open_user();
	struct sync_log l;
	const char *error;

	for (unsigned int i = 0; i < 3; i++)
		save(user, "INBOX", "M: x\n\nx\n", MAIL_SEEN, NULL);
	struct mailbox *box = open_box(user, "INBOX", false);
	usleep((VERIFY_MSECS + 100) * 1000);
	do_sync(box, &l);
	/* foreign first (not synced yet), then our STORE */
	foreign_add_flag(box, 2, 'F');
	unsigned int scans = user->sync_scans;
	assert_int_equal(mailbox_update_flags(box, 3, MODIFY_ADD, MAIL_FLAGGED,
					      NULL, &error), 0);
	do_sync(box, &l);
	assert_int_equal(l.n_changed, 1);
	assert_int_equal(l.changed[0], 2);
	assert_true(user->sync_scans > scans);
	assert_true(mailbox_get(box, 3)->flags & MAIL_FLAGGED);
	mailbox_close(&box);
	mail_user_close(&user);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
		T(test_own_changes_no_scan),
		T(test_other_session_sees_own_changes),
		T(test_foreign_change_in_own_window),
		T(test_deadline_not_postponed),
		T(test_foreign_after_own_change),
		T(test_own_change_after_foreign),
#undef T
	};
	log_init("test-storage-sync");
	return cmocka_run_group_tests(tests, NULL, NULL);
}
