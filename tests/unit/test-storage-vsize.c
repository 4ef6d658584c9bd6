/* Lazy vsizes: files without W= (and without a W field in
   dovecot-uidlist) are not read at the sync; mailbox_get_vsize() reads
   each once, the index keeps the value for every later session. */
#include "test-storage-common.h"

static const struct {
	const char *name;   /* in cur/, no S=/W= */
	const char *data;
	uint64_t vsize;     /* as served: bare LF -> CRLF */
} msgs[] = {
	{ "1600000001.M1P1.ext:2,S", "A: b\n\nline\n", 14 },
	{ "1600000002.M2P1.ext:2,", "A: b\r\n\r\nline\r\n", 14 },
	{ "1600000003.M3P1.ext:2,F", "A: b\r\n\nx\ny\r\n", 14 },
	{ "1600000004.M4P1.ext:2,", "no newline at the end", 21 },
	{ "1600000005.M5P1.ext:2,", "\n\n", 4 },
	{ "1600000006.M6P1.ext:2,", "A: b\r\r\n\nbody\n", 15 },
};

static void drop_messages(void)
{
	char path[600];

	for (const char *const *d = (const char *const[]){ "", "/cur", "/new",
						     "/tmp", NULL }; *d != NULL; d++) {
		snprintf(path, sizeof(path), "%s%s", maildir, *d);
		(void)mkdir(path, 0700);
	}
	for (unsigned int i = 0; i < N_ELEMENTS(msgs); i++) {
		snprintf(path, sizeof(path), "%s/cur/%s", maildir, msgs[i].name);
		write_file(path, msgs[i].data);
	}
}

/* vsize of the message's row in the index */
static uint64_t index_vsize(struct mail_user *user, struct mailbox *box,
			    uint32_t seq)
{
	struct index_msg_row row;
	uint64_t vsize;

	assert_int_equal(index_msg_get(user, box->id, mailbox_get(box, seq)->uid,
				       &row), 1);
	vsize = row.vsize;
	index_msg_row_free(&row);
	return vsize;
}

static uint64_t get_vsize(struct mailbox *box, uint32_t seq)
{
	const char *error = NULL;
	uint64_t vsize = 0;

	if (mailbox_get_vsize(box, seq, &vsize, &error) < 0)
		fail_msg("mailbox_get_vsize(%u): %s", seq, error);
	assert_true(vsize != INDEX_VSIZE_UNKNOWN);
	return vsize;
}

static void test_sync_leaves_vsize_unknown(void **state)
{
	drop_messages();
	struct mail_user *user = open_user();
	struct mailbox *box = open_box(user, "INBOX", false);
	const char *error;

	assert_int_equal(mailbox_count(box), N_ELEMENTS(msgs));
	for (uint32_t seq = 1; seq <= N_ELEMENTS(msgs); seq++) {
		/* the sync gave no vsize: not read */
		assert_true(box->recs[seq - 1].vsize == INDEX_VSIZE_UNKNOWN);
		assert_true(index_vsize(user, box, seq) == INDEX_VSIZE_UNKNOWN);
		/* the physical size still comes from stat() */
		assert_int_equal(mailbox_get(box, seq)->size,
				 strlen(msgs[seq - 1].data));
	}
	assert_int_equal(user->vsize_reads, 0);

	for (uint32_t seq = 1; seq <= N_ELEMENTS(msgs); seq++) {
		unsigned char *data;
		size_t size;
		uint64_t vsize = get_vsize(box, seq);
		/* what a client receives (BODY[]) */
		assert_int_equal(mailbox_msg_read(box, seq, &data, &size,
						  &error), 0);
		free(data);
		assert_int_equal(vsize, size);
		assert_int_equal(vsize, msgs[seq - 1].vsize);
	}
	assert_int_equal(user->vsize_reads, N_ELEMENTS(msgs));
	/* computed once: asked again, no read */
	for (uint32_t seq = 1; seq <= N_ELEMENTS(msgs); seq++)
		assert_int_equal(get_vsize(box, seq), msgs[seq - 1].vsize);
	assert_int_equal(user->vsize_reads, N_ELEMENTS(msgs));

	/* written to the index at the next sync */
	struct sync_log l;
	do_sync(box, &l);
	for (uint32_t seq = 1; seq <= N_ELEMENTS(msgs); seq++)
		assert_int_equal(index_vsize(user, box, seq),
				 msgs[seq - 1].vsize);
	mailbox_close(&box);
	mail_user_close(&user);

	/* a later session reads no file for them */
	user = open_user();
	box = open_box(user, "INBOX", true);
	for (uint32_t seq = 1; seq <= N_ELEMENTS(msgs); seq++) {
		assert_int_equal(box->recs[seq - 1].vsize, msgs[seq - 1].vsize);
		assert_int_equal(get_vsize(box, seq), msgs[seq - 1].vsize);
	}
	assert_int_equal(user->vsize_reads, 0);
	mailbox_close(&box);
	mail_user_close(&user);
}

static void test_body_read_gives_vsize(void **state)
{
	drop_messages();
	struct mail_user *user = open_user();
	struct mailbox *box = open_box(user, "INBOX", false);
	unsigned char *data;
	size_t size;
	const char *error;

	/* BODY[] read the file anyway: no second read for RFC822.SIZE */
	assert_int_equal(mailbox_msg_read(box, 1, &data, &size, &error), 0);
	free(data);
	assert_int_equal(get_vsize(box, 1), msgs[0].vsize);
	assert_int_equal(user->vsize_reads, 0);
	/* and it reaches the index at the close */
	mailbox_close(&box);
	box = open_box(user, "INBOX", false);
	assert_int_equal(index_vsize(user, box, 1), msgs[0].vsize);
	assert_true(index_vsize(user, box, 2) == INDEX_VSIZE_UNKNOWN);
	mailbox_close(&box);
	mail_user_close(&user);
}

static void test_other_session_computed(void **state)
{
	drop_messages();
	struct mail_user *user1 = open_user(), *user2 = open_user();
	struct mailbox *box1 = open_box(user1, "INBOX", false);
	struct mailbox *box2 = open_box(user2, "INBOX", false);

	/* both views loaded the rows without vsizes */
	assert_true(box1->recs[2].vsize == INDEX_VSIZE_UNKNOWN);
	assert_true(box2->recs[2].vsize == INDEX_VSIZE_UNKNOWN);
	assert_int_equal(get_vsize(box2, 3), msgs[2].vsize);
	assert_int_equal(user2->vsize_reads, 1);
	mailbox_close(&box2);
	/* session 1 takes it from the index, without a sync */
	assert_int_equal(get_vsize(box1, 3), msgs[2].vsize);
	assert_int_equal(user1->vsize_reads, 0);
	assert_int_equal(get_vsize(box1, 4), msgs[3].vsize);
	assert_int_equal(user1->vsize_reads, 1);
	mailbox_close(&box1);
	mail_user_close(&user1);
	mail_user_close(&user2);
}

static void test_copy_writes_real_vsize(void **state)
{
	drop_messages();
	struct mail_user *user = open_user();
	const char *error;
	char dirs[2][400], names[8][256], files[8][1100];
	uint32_t seqs[] = { 1, 3, 6 }, uidv, *uids;

	assert_int_equal(mail_user_mailbox_create(user, "Dest", &error), 0);
	struct mailbox *box = open_box(user, "INBOX", false);
	assert_int_equal(mailbox_copy(box, seqs, N_ELEMENTS(seqs), "Dest",
				      &uidv, &uids, &error), 0);
	free(uids);
	assert_int_equal(user->vsize_reads, N_ELEMENTS(seqs));
	/* flagged copies are in cur/, the others in new/ */
	unsigned int n = 0;
	snprintf(dirs[0], sizeof(dirs[0]), "%s/.Dest/cur", maildir);
	snprintf(dirs[1], sizeof(dirs[1]), "%s/.Dest/new", maildir);
	for (unsigned int d = 0; d < 2; d++) {
		unsigned int k = dir_files(dirs[d], names, N_ELEMENTS(names));
		for (unsigned int i = 0; i < k && n < N_ELEMENTS(files); i++)
			snprintf(files[n++], sizeof(files[0]), "%s/%s",
				 dirs[d], names[i]);
	}
	assert_int_equal(n, N_ELEMENTS(seqs));
	for (unsigned int i = 0; i < n; i++) {
		uint64_t w = 0, s = 0;
		const char *fname = strrchr(files[i], '/') + 1;
		assert_true(maildir_filename_get_size(fname, 'W', &w));
		assert_true(maildir_filename_get_size(fname, 'S', &s));
		char *text = read_text(files[i]);
		bool found = false;
		for (unsigned int j = 0; j < N_ELEMENTS(seqs); j++) {
			if (strcmp(text, msgs[seqs[j] - 1].data) == 0) {
				assert_int_equal(w, msgs[seqs[j] - 1].vsize);
				assert_int_equal(s, strlen(text));
				found = true;
			}
		}
		assert_true(found);
		free(text);
	}
	mailbox_close(&box);
	/* the copies' vsizes are known from W= */
	box = open_box(user, "Dest", false);
	unsigned int reads = user->vsize_reads;
	for (uint32_t seq = 1; seq <= mailbox_count(box); seq++)
		assert_true(box->recs[seq - 1].vsize != INDEX_VSIZE_UNKNOWN);
	assert_int_equal(user->vsize_reads, reads);
	mailbox_close(&box);
	mail_user_close(&user);
}

static void test_uidlist_w_field(void **state)
{
	char path[600];

	drop_messages();
	/* W field of a uidlist written by Dovecot: taken as is; a W that
	   isn't a number counts as none */
	snprintf(path, sizeof(path), "%s/dovecot-uidlist", maildir);
	write_file(path, "3 V1500000000 N3 G0123456789abcdef0123456789abcdef\n"
		   "1 W14 :1600000001.M1P1.ext\n"
		   "2 W-1 :1600000002.M2P1.ext\n");
	struct mail_user *user = open_user();
	struct mailbox *box = open_box(user, "INBOX", false);
	assert_int_equal(mailbox_get(box, 1)->uid, 1);
	assert_int_equal(box->recs[0].vsize, 14);
	assert_int_equal(mailbox_get(box, 2)->uid, 2);
	assert_true(box->recs[1].vsize == INDEX_VSIZE_UNKNOWN);
	assert_int_equal(get_vsize(box, 1), 14);
	assert_int_equal(user->vsize_reads, 0);
	assert_int_equal(get_vsize(box, 2), msgs[1].vsize);
	assert_int_equal(user->vsize_reads, 1);
	mailbox_close(&box);
	mail_user_close(&user);
	/* the records we added have no W field (no sentinel) */
	char *text = read_text(path);
	for (uint32_t uid = 3; uid <= N_ELEMENTS(msgs); uid++) {
		char rec[64];
		snprintf(rec, sizeof(rec), "\n%u :%.15s", uid,
			 msgs[uid - 1].name);
		assert_non_null(strstr(text, rec));
	}
	assert_null(strstr(text, "18446744073709551615"));
	free(text);
}

static void test_vanished_file(void **state)
{
	char path[600];

	drop_messages();
	struct mail_user *user = open_user();
	struct mailbox *box = open_box(user, "INBOX", false);
	uint64_t vsize = 1;
	const char *error = NULL;

	snprintf(path, sizeof(path), "%s/cur/%s", maildir, msgs[1].name);
	assert_int_equal(unlink(path), 0);
	assert_int_equal(mailbox_get_vsize(box, 2, &vsize, &error), -1);
	assert_string_equal(error, "Message was expunged");
	assert_int_equal(mailbox_get_vsize(box, 99, &vsize, &error), -1);
	assert_int_equal(get_vsize(box, 1), msgs[0].vsize);
	mailbox_close(&box);
	mail_user_close(&user);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
		T(test_sync_leaves_vsize_unknown),
		T(test_body_read_gives_vsize),
		T(test_other_session_computed),
		T(test_copy_writes_real_vsize),
		T(test_uidlist_w_field),
		T(test_vanished_file),
#undef T
	};
	log_init("test-storage-vsize");
	return cmocka_run_group_tests(tests, NULL, NULL);
}
