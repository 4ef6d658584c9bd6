/* Unit tests for the parse cache read in runs (mailbox-cache.c) and for
   the index statements that read what changed since a view's modseq:
   the values a run returns are the ones single lookups return, across
   runs, with this session's and other sessions' writes; the changed-rows
   statements use the modseq indexes (not a walk of every message); the
   header blocks have a table of their own; an index of schema version 1
   or 2 is upgraded in place. */
#include "test-storage-common.h"
#include <stdio.h>

#define N_MSGS 60
#define BIG_SIZE (20 * 1024)   /* 60 of them: more than one run */

static void save_msgs(struct mail_user *user, unsigned int n)
{
	char msg[128];

	for (unsigned int i = 1; i <= n; i++) {
		snprintf(msg, sizeof(msg), "Subject: m%u\r\n\r\nbody %u\r\n",
			 i, i);
		save(user, "INBOX", msg, 0, NULL);
	}
}

static char *big_value(uint32_t uid)
{
	char *v = i_malloc(BIG_SIZE + 1), prefix[16];
	int len = snprintf(prefix, sizeof(prefix), "u%u:", uid);

	memset(v, 'a' + uid % 26, BIG_SIZE);
	memcpy(v, prefix, (size_t)len);
	v[BIG_SIZE] = '\0';
	return v;
}

/* every odd message has "f" = "v<uid>", every message "big" */
static void fill_cache(struct mailbox *box)
{
	struct sync_log l;
	char val[32];

	for (uint32_t seq = 1; seq <= mailbox_count(box); seq++) {
		uint32_t uid = mailbox_get(box, seq)->uid;
		if (seq % 2 == 1) {
			snprintf(val, sizeof(val), "v%u", uid);
			mailbox_cache_set(box, seq, "f", val);
		}
		char *big = big_value(uid);
		mailbox_cache_set(box, seq, "big", big);
		free(big);
	}
	do_sync(box, &l);   /* writes them */
}

static void check_f(struct mailbox *box, uint32_t seq)
{
	char want[32];
	char *v = mailbox_cache_get(box, seq, "f");

	if (seq % 2 == 0) {
		assert_null(v);
		return;
	}
	snprintf(want, sizeof(want), "v%u", mailbox_get(box, seq)->uid);
	assert_non_null(v);
	assert_string_equal(v, want);
	free(v);
}

static void check_big(struct mailbox *box, uint32_t seq)
{
	char *v = mailbox_cache_get(box, seq, "big");
	char *want = big_value(mailbox_get(box, seq)->uid);

	assert_non_null(v);
	assert_string_equal(v, want);
	free(v);
	free(want);
}

static struct mailbox_cache_run *run_of(struct mailbox *box, const char *field)
{
	for (unsigned int i = 0; i < N_ELEMENTS(box->cache_runs); i++) {
		if (box->cache_runs[i].field != NULL &&
		    strcmp(box->cache_runs[i].field, field) == 0)
			return &box->cache_runs[i];
	}
	return NULL;
}

static void test_runs_match_lookups(void **state)
{
	struct mail_user *user = open_user();
	struct mailbox *box;
	struct sync_log l;

	save_msgs(user, N_MSGS);
	box = open_box(user, "INBOX", false);
	assert_int_equal(mailbox_count(box), N_MSGS);
	fill_cache(box);

	/* ascending: single lookups, then runs */
	for (uint32_t seq = 1; seq <= N_MSGS; seq++)
		check_f(box, seq);
	struct mailbox_cache_run *run = run_of(box, "f");
	assert_non_null(run);
	assert_true(run->loaded);
	assert_int_equal(run->last_uid, UINT32_MAX);
	for (uint32_t seq = 1; seq <= N_MSGS; seq++)
		check_big(box, seq);
	/* 60 x 20 kB don't fit in one run: the last one started later */
	run = run_of(box, "big");
	assert_non_null(run);
	assert_true(run->loaded);
	assert_true(run->first_uid > mailbox_get(box, 10)->uid);
	assert_true(run->count < N_MSGS - 10);

	/* after a sync: descending, and both fields interleaved */
	do_sync(box, &l);
	assert_null(run_of(box, "f"));
	for (uint32_t seq = N_MSGS; seq > 0; seq--) {
		check_f(box, seq);
		check_big(box, seq);
	}
	mailbox_close(&box);
	mail_user_close(&user);
}

static void test_runs_see_writes(void **state)
{
	struct mail_user *user = open_user(), *user2;
	struct mailbox *box, *box2;
	struct sync_log l;
	char *v;

	save_msgs(user, N_MSGS);
	box = open_box(user, "INBOX", false);
	fill_cache(box);
	for (uint32_t seq = 1; seq <= 20; seq++)
		check_f(box, seq);
	assert_true(run_of(box, "f")->loaded);

	/* this session's write: seen at once (pending), and after it is
	   written (the runs are read again) */
	mailbox_cache_set(box, 30, "f", "mine");
	v = mailbox_cache_get(box, 30, "f");
	assert_string_equal(v, "mine");
	free(v);
	mailbox_cache_flush(box);
	v = mailbox_cache_get(box, 30, "f");
	assert_non_null(v);
	assert_string_equal(v, "mine");
	free(v);

	/* another session's write: seen after the next sync */
	user2 = open_user();
	box2 = open_box(user2, "INBOX", false);
	mailbox_cache_set(box2, 40, "f", "theirs");
	mailbox_cache_flush(box2);
	do_sync(box, &l);
	for (uint32_t seq = 31; seq <= N_MSGS; seq++) {
		v = mailbox_cache_get(box, seq, "f");
		if (seq == 40) {
			assert_non_null(v);
			assert_string_equal(v, "theirs");
		} else if (seq % 2 == 0) {
			assert_null(v);
		} else {
			assert_non_null(v);
		}
		free(v);
	}
	mailbox_close(&box2);
	mail_user_close(&user2);
	mailbox_close(&box);
	mail_user_close(&user);
}

/* the plan of each prepared statement of the connection that reads
   "modseq > ?2" must search its modseq index */
static unsigned int check_modseq_plans(sqlite3 *db)
{
	unsigned int checked = 0;

	for (sqlite3_stmt *st = sqlite3_next_stmt(db, NULL); st != NULL;
	     st = sqlite3_next_stmt(db, st)) {
		const char *sql = sqlite3_sql(st);
		if (sql == NULL || strstr(sql, "modseq > ?2") == NULL ||
		    strstr(sql, "ORDER BY +uid") == NULL)
			continue;
		char *q = i_strdup_printf("EXPLAIN QUERY PLAN %s", sql);
		sqlite3_stmt *plan;
		assert_int_equal(sqlite3_prepare_v2(db, q, -1, &plan, NULL),
				 SQLITE_OK);
		bool uses_modseq = false;
		while (sqlite3_step(plan) == SQLITE_ROW) {
			const char *d = (const char *)sqlite3_column_text(plan, 3);
			if (d != NULL && strstr(d, "_modseq (mailbox=? AND "
						"modseq>?)") != NULL)
				uses_modseq = true;
		}
		sqlite3_finalize(plan);
		free(q);
		if (!uses_modseq)
			fail_msg("plan of %s: no modseq index", sql);
		checked++;
	}
	return checked;
}

static void test_changed_rows_use_modseq_index(void **state)
{
	struct mail_user *user = open_user(), *user2;
	struct mailbox *box, *box2;
	struct sync_log l;
	const char *error;

	save_msgs(user, 20);
	box = open_box(user, "INBOX", false);
	user2 = open_user();
	box2 = open_box(user2, "INBOX", false);
	/* another session's STORE and EXPUNGE: box reads what changed */
	assert_int_equal(mailbox_update_flags(box2, 3, MODIFY_ADD,
					      MAIL_DELETED, NULL, &error), 0);
	assert_int_equal(mailbox_expunge(box2, NULL, 0, &error), 0);
	do_sync(box, &l);
	assert_int_equal(l.n_expunged, 1);
	assert_int_equal(mailbox_count(box), 19);
	assert_int_equal(check_modseq_plans(user->db), 2);
	mailbox_close(&box2);
	mail_user_close(&user2);
	mailbox_close(&box);
	mail_user_close(&user);
}

static void exec_sql(sqlite3 *db, const char *sql)
{
	char *err = NULL;

	if (sqlite3_exec(db, sql, NULL, NULL, &err) != SQLITE_OK)
		fail_msg("%s: %s", sql, err);
}

static char *query_text(sqlite3 *db, const char *sql)
{
	sqlite3_stmt *st;
	char *ret = NULL;

	assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &st, NULL), SQLITE_OK);
	if (sqlite3_step(st) == SQLITE_ROW)
		ret = i_strdup((const char *)sqlite3_column_text(st, 0));
	sqlite3_finalize(st);
	return ret;
}

/* make the index one of version from_ver: what versions 1 and 2 had */
static void make_old_index(const char *path, const char *from_ver)
{
	sqlite3 *db;
	char *sql;

	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	if (strcmp(from_ver, "1") == 0)
		exec_sql(db, "DROP INDEX expunges_modseq");
	exec_sql(db, "INSERT INTO cache SELECT mailbox, uid, '"
		 MAILBOX_CACHE_HEADER_BLOCK "', value FROM cache_header;"
		 "DROP TABLE cache_header");
	sql = i_strdup_printf("UPDATE meta SET value = '%s' WHERE key = "
			      "'schema_version'", from_ver);
	exec_sql(db, sql);
	free(sql);
	sqlite3_close(db);
}

static void check_upgraded(const char *path)
{
	sqlite3 *db;
	char *v;

	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	v = query_text(db, "SELECT value FROM meta WHERE key = 'schema_version'");
	assert_string_equal(v, "3");
	free(v);
	v = query_text(db, "SELECT name FROM sqlite_master WHERE "
		       "name = 'expunges_modseq'");
	assert_non_null(v);
	free(v);
	/* the header blocks left the cache table */
	v = query_text(db, "SELECT count(*) FROM cache WHERE field = '"
		       MAILBOX_CACHE_HEADER_BLOCK "'");
	assert_string_equal(v, "0");
	free(v);
	/* upgraded, not rebuilt */
	v = query_text(db, "SELECT value FROM cache WHERE field = 'keep'");
	assert_non_null(v);
	assert_string_equal(v, "yes");
	free(v);
	sqlite3_close(db);
}

static void test_old_schema_upgraded(void **state)
{
	static const char *const versions[] = { "1", "2" };
	char path[600];

	snprintf(path, sizeof(path), "%s/" INDEX_FILE_NAME, maildir);
	for (unsigned int i = 0; i < N_ELEMENTS(versions); i++) {
		struct mail_user *user = open_user();
		struct mailbox *box;

		if (i == 0)
			save_msgs(user, 5);
		box = open_box(user, "INBOX", false);
		/* only in the index: a rebuild would lose it */
		mailbox_cache_set(box, 1, "keep", "yes");
		mailbox_cache_set(box, 1, MAILBOX_CACHE_HEADER_BLOCK, "Subject: x");
		mailbox_close(&box);
		mail_user_close(&user);

		make_old_index(path, versions[i]);
		user = open_user();
		box = open_box(user, "INBOX", false);
		assert_int_equal(mailbox_count(box), 5);
		/* the header block is gone (refilled on demand) */
		assert_null(mailbox_cache_get(box, 1, MAILBOX_CACHE_HEADER_BLOCK));
		mailbox_close(&box);
		mail_user_close(&user);
		check_upgraded(path);
	}
}

/* the header block is kept in cache_header, read singly and in runs,
   and goes with its message */
static void test_header_block_table(void **state)
{
	struct mail_user *user = open_user();
	struct mailbox *box;
	struct sync_log l;
	const char *error;
	char path[600], val[64], *v;
	sqlite3 *db;

	save_msgs(user, 20);
	box = open_box(user, "INBOX", false);
	for (uint32_t seq = 1; seq <= 20; seq++) {
		snprintf(val, sizeof(val), "Subject: m%u\r\n\r\n", seq);
		mailbox_cache_set(box, seq, MAILBOX_CACHE_HEADER_BLOCK, val);
		mailbox_cache_set(box, seq, "small", "s");
	}
	do_sync(box, &l);
	for (uint32_t seq = 1; seq <= 20; seq++) {
		v = mailbox_cache_get(box, seq, MAILBOX_CACHE_HEADER_BLOCK);
		snprintf(val, sizeof(val), "Subject: m%u\r\n\r\n", seq);
		assert_non_null(v);
		assert_string_equal(v, val);
		free(v);
	}
	assert_true(run_of(box, MAILBOX_CACHE_HEADER_BLOCK)->loaded);

	snprintf(path, sizeof(path), "%s/" INDEX_FILE_NAME, maildir);
	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	v = query_text(db, "SELECT count(*) FROM cache_header");
	assert_string_equal(v, "20");
	free(v);
	v = query_text(db, "SELECT count(*) FROM cache WHERE field = '"
		       MAILBOX_CACHE_HEADER_BLOCK "'");
	assert_string_equal(v, "0");
	free(v);

	/* expunged: both its values go */
	assert_int_equal(mailbox_update_flags(box, 2, MODIFY_ADD, MAIL_DELETED,
					      NULL, &error), 0);
	assert_int_equal(mailbox_expunge(box, NULL, 0, &error), 0);
	do_sync(box, &l);
	v = query_text(db, "SELECT count(*) FROM cache_header");
	assert_string_equal(v, "19");
	free(v);
	v = query_text(db, "SELECT count(*) FROM cache WHERE field = 'small'");
	assert_string_equal(v, "19");
	free(v);
	sqlite3_close(db);
	mailbox_close(&box);
	mail_user_close(&user);
}

/* A first lookup pass over a field nothing has cached yet (SEARCH
   SUBJECT of a mailbox never searched): every value is computed and
   set, and written every CACHE_PENDING_MAX values. The run read at the
   start covers the rest: a write must not make the next lookup read the
   rest of the mailbox again (that was quadratic: 61 s for 100,000). */
static void test_first_pass_reads_one_run(void **state)
{
	struct mail_user *user = open_user();
	struct mailbox *box;
	char val[32];
	const unsigned int n = 1500;

	save_msgs(user, n);
	box = open_box(user, "INBOX", false);
	for (uint32_t seq = 1; seq <= n; seq++) {
		char *v = mailbox_cache_get(box, seq, "subj");
		assert_null(v);
		snprintf(val, sizeof(val), "s%u", seq);
		mailbox_cache_set(box, seq, "subj", val);
	}
	/* one run (after the first CACHE_RUN_AFTER single lookups), not
	   one more per flush of 256 values */
	assert_in_range(box->cache_run_loads, 1, 2);
	/* and the values written are there, in this session and anew */
	mailbox_cache_flush(box);
	for (uint32_t seq = 1; seq <= n; seq += 97) {
		char *v = mailbox_cache_get(box, seq, "subj");
		snprintf(val, sizeof(val), "s%u", seq);
		assert_non_null(v);
		assert_string_equal(v, val);
		free(v);
	}
	mailbox_close(&box);
	box = open_box(user, "INBOX", false);
	for (uint32_t seq = 1; seq <= n; seq++) {
		char *v = mailbox_cache_get(box, seq, "subj");
		snprintf(val, sizeof(val), "s%u", seq);
		assert_non_null(v);
		assert_string_equal(v, val);
		free(v);
	}
	mailbox_close(&box);
	mail_user_close(&user);
}


#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
int main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_runs_match_lookups),
		T(test_runs_see_writes),
		T(test_changed_rows_use_modseq_index),
		T(test_old_schema_upgraded),
		T(test_header_block_table),
		T(test_first_pass_reads_one_run),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
