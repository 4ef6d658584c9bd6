/* Unit tests for lib-storage mailbox management and Dovecot-written
   trees: create/delete/rename (incl. INBOX), LIST flags, subscriptions,
   COPY, STATUS, the parse cache, '/' as hierarchy separator. */
#include "test-storage-common.h"

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
		"9 W9 P0000beef00c0ffee :1600000002.M2P100.mx\n"
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
	uint64_t vsize;
	const char *verror;
	assert_int_equal(mailbox_get_vsize(box, 2, &vsize, &verror), 0);
	assert_int_equal(vsize, 9);
	assert_string_equal(r->keywords[0], "Junk");
	r = mailbox_get(box, 3);
	assert_int_equal(r->uid, 10);
	char *uidl = mailbox_get_pop3_uidl(box, 2);
	assert_string_equal(uidl, "0000beef00c0ffee");
	free(uidl);
	assert_null(mailbox_get_pop3_uidl(box, 1));
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
		"9 W9 P0000beef00c0ffee :1600000002.M2P100.mx\n"
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

/* INDEX= and CONTROL= put the index and Dovecot's control files
   elsewhere, as Dovecot does. */
static void test_index_control_dirs(void **state)
{
	struct mail_user_settings set = {
		.username = "tester", .home = tmpdir,
		.mail_location = "maildir:~/Maildir:INDEX=~/idx:CONTROL=%h/ctl",
	};
	struct mail_user *user;
	const char *error;
	char path[600];
	struct stat st;

	assert_int_equal(mail_user_open(&set, &user, &error), 0);
	assert_string_equal(mail_user_root(user), maildir);
	assert_int_equal(mail_user_mailbox_create(user, "Work", &error), 0);
	const char *kw[] = { "Label", NULL };
	save(user, "INBOX", "M: 1\n\n1\n", MAIL_SEEN, kw);
	save(user, "Work", "M: 2\n\n2\n", 0, NULL);
	assert_int_equal(mail_user_subscribe(user, "Work", true, &error), 0);
	const char *expect[] = { "idx/" INDEX_FILE_NAME, "ctl/dovecot-uidlist",
		"ctl/dovecot-keywords", "ctl/.Work/dovecot-uidlist",
		"ctl/subscriptions", "Maildir/.Work/maildirfolder", NULL };
	for (int i = 0; expect[i] != NULL; i++) {
		snprintf(path, sizeof(path), "%s/%s", tmpdir, expect[i]);
		if (stat(path, &st) < 0)
			fail_msg("missing %s", expect[i]);
	}
	const char *absent[] = { "Maildir/dovecot-uidlist",
		"Maildir/" INDEX_FILE_NAME, "Maildir/.Work/dovecot-uidlist", NULL };
	for (int i = 0; absent[i] != NULL; i++) {
		snprintf(path, sizeof(path), "%s/%s", tmpdir, absent[i]);
		assert_int_equal(stat(path, &st), -1);
	}
	assert_int_equal(mail_user_mailbox_rename(user, "Work", "Job", &error), 0);
	snprintf(path, sizeof(path), "%s/ctl/.Job/dovecot-uidlist", tmpdir);
	assert_int_equal(stat(path, &st), 0);
	struct mailbox *box = open_box(user, "Job", false);
	assert_int_equal(mailbox_count(box), 1);
	assert_int_equal(mailbox_get(box, 1)->uid, 1);
	mailbox_close(&box);
	box = open_box(user, "INBOX", false);
	assert_string_equal(mailbox_get(box, 1)->keywords[0], "Label");
	mailbox_close(&box);
	assert_int_equal(mail_user_mailbox_delete(user, "Job", &error), 0);
	assert_int_equal(stat(path, &st), -1);
	mail_user_close(&user);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_dovecot_tree, setup, teardown),
		cmocka_unit_test_setup_teardown(test_mailbox_management, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_index_control_dirs, setup,
						teardown),
	};
	log_init("test-storage-mailboxes");
	return cmocka_run_group_tests(tests, NULL, NULL);
}
