/* loft-lmtp's cache of open recipients (src/lmtp/lmtp-user-cache.c),
   reusing an open user (src/lib-storage/mail-user-reuse.c) and the
   uidlist lock taken by link() from a spare (maildir-save-lock.c). */
#include "test-storage-common.h"
#include "lmtp-user-cache.h"
#include "mail-user-reuse.h"
#include "maildir-save-lock.h"
#include <errno.h>
#include <signal.h>
#include <event2/event.h>

/* --- the cache: users are opaque pointers it only hands back or closes --- */

#define FAKE_MAX 8
static struct mail_user *closed[FAKE_MAX * 2];
static uid_t closed_uid[FAKE_MAX * 2];
static unsigned int closed_count;

static void fake_close(struct mail_user **user, uid_t uid, gid_t gid)
{
	assert_true(closed_count < N_ELEMENTS(closed));
	closed_uid[closed_count] = uid;
	closed[closed_count++] = *user;
	*user = NULL;
}

static struct mail_user *fake(unsigned int i)
{
	static char objs[FAKE_MAX];
	assert_true(i < FAKE_MAX);
	return (struct mail_user *)&objs[i];
}

static void test_cache_take_put_lru(void **state)
{
	closed_count = 0;
	lmtp_user_cache_init(NULL, 3, 30, fake_close);
	assert_null(lmtp_user_cache_take("a", 1, 1));
	lmtp_user_cache_put("a", fake(0), 1, 1);
	lmtp_user_cache_put("b", fake(1), 2, 2);
	assert_int_equal(lmtp_user_cache_count(), 2);
	/* uid/gid are part of the key */
	assert_null(lmtp_user_cache_take("a", 2, 1));
	assert_null(lmtp_user_cache_take("a", 1, 2));
	assert_ptr_equal(lmtp_user_cache_take("a", 1, 1), fake(0));
	assert_null(lmtp_user_cache_take("a", 1, 1));
	assert_int_equal(lmtp_user_cache_count(), 1);
	/* a is used again: b is now the least recently used */
	lmtp_user_cache_put("a", fake(0), 1, 1);
	lmtp_user_cache_put("c", fake(2), 3, 3);
	lmtp_user_cache_put("d", fake(3), 4, 4);
	/* put never closes: it may run with a user's privileges */
	assert_int_equal(closed_count, 0);
	assert_int_equal(lmtp_user_cache_count(), 4);
	lmtp_user_cache_trim();
	assert_int_equal(closed_count, 1);
	assert_ptr_equal(closed[0], fake(1));
	assert_int_equal(closed_uid[0], 2);
	assert_int_equal(lmtp_user_cache_count(), 3);
	assert_ptr_equal(lmtp_user_cache_take("c", 3, 3), fake(2));
	lmtp_user_cache_put("c", fake(2), 3, 3);
	lmtp_user_cache_deinit();
	/* everything else closed, each with its own uid */
	assert_int_equal(closed_count, 4);
	assert_int_equal(lmtp_user_cache_count(), 0);
	bool seen[FAKE_MAX] = { false };
	for (unsigned int i = 0; i < closed_count; i++) {
		unsigned int k = (unsigned int)((char *)closed[i] - (char *)fake(0));
		assert_false(seen[k]);
		seen[k] = true;
		assert_int_equal(closed_uid[i], k + 1);
	}
}

static void loop_exit_cb(evutil_socket_t fd, short what, void *ctx)
{
	event_base_loopexit(ctx, NULL);
}

static void test_cache_idle_timeout(void **state)
{
	struct event_base *base = event_base_new();
	closed_count = 0;
	lmtp_user_cache_init(base, 8, 1, fake_close);
	lmtp_user_cache_put("old", fake(0), 1, 1);
	/* the 1 s timer closes users idle >= 1 s: "old" goes within 2 s */
	struct timeval tv = { 2, 300000 };
	struct event *ev = evtimer_new(base, loop_exit_cb, base);
	evtimer_add(ev, &tv);
	event_base_dispatch(base);
	assert_int_equal(closed_count, 1);
	assert_ptr_equal(closed[0], fake(0));
	assert_int_equal(lmtp_user_cache_count(), 0);
	event_free(ev);
	lmtp_user_cache_deinit();
	event_base_free(base);
}

static void test_cache_key(void **state)
{
	struct mail_user_settings a = {
		.username = "u", .home = "/h", .mail_location = "maildir:~/M",
	};
	struct mail_user_settings b = a;
	char *ka = lmtp_user_cache_key(&a), *kb;

	b.home = NULL;
	kb = lmtp_user_cache_key(&b);
	assert_string_not_equal(ka, kb);
	free(kb);
	b = a;
	b.mail_location = "maildir:~/Other";
	kb = lmtp_user_cache_key(&b);
	assert_string_not_equal(ka, kb);
	free(kb);
	b = a;
	b.fsync = FSYNC_MODE_NEVER;
	kb = lmtp_user_cache_key(&b);
	assert_string_not_equal(ka, kb);
	free(kb);
	b = a;
	kb = lmtp_user_cache_key(&b);
	assert_string_equal(ka, kb);
	free(kb);
	free(ka);
}

/* --- reuse of an open user --- */

static void test_reuse_checks(void **state)
{
	struct mail_user *user = open_user();
	const char *error;
	char path[400];

	assert_int_equal(mail_user_prepare_reuse(user, &error), 0);
	assert_true(mail_user_is_reusable(user));
	assert_int_equal(mail_user_save(user, "INBOX", "a: b\r\n\r\nx\r\n", 10,
					0, NULL, 0, NULL, NULL, &error), 0);
	/* index removed: reopened (a new file) */
	snprintf(path, sizeof(path), "%s/" INDEX_FILE_NAME, maildir);
	assert_int_equal(unlink(path), 0);
	assert_int_equal(mail_user_prepare_reuse(user, &error), 0);
	assert_int_equal(access(path, F_OK), 0);
	assert_true(mail_user_is_reusable(user));
	/* INBOX gone: the caller must open the user afresh */
	snprintf(path, sizeof(path), "rm -rf '%s'", maildir);
	assert_int_equal(system(path), 0);
	assert_int_equal(mail_user_prepare_reuse(user, &error), -1);
	assert_string_equal(error, "INBOX was removed");
	mail_user_close(&user);
	user = open_user();
	assert_int_equal(mail_user_prepare_reuse(user, &error), 0);
	mail_user_close(&user);
}

/* --- the uidlist lock by link() --- */

static ino_t inode_of(const char *path, nlink_t *nlink_r)
{
	struct stat st;
	if (stat(path, &st) < 0)
		return 0;
	if (nlink_r != NULL)
		*nlink_r = st.st_nlink;
	return st.st_ino;
}

static char *spare_path(void)
{
	char host[256];
	if (gethostname(host, sizeof(host)) < 0)
		strcpy(host, "localhost");
	host[sizeof(host) - 1] = '\0';
	return i_strdup_printf("%s/loft-lock-spare.%ld.%s", maildir,
			       (long)getpid(), host);
}

static void test_save_lock_link(void **state)
{
	struct mail_user *user = open_user();
	char lock[400], dead[400], host[256];
	const char *error;
	nlink_t nlink;

	snprintf(lock, sizeof(lock), "%s/dovecot-uidlist.lock", maildir);
	if (gethostname(host, sizeof(host)) < 0)
		strcpy(host, "localhost");
	host[sizeof(host) - 1] = '\0';
	/* a spare left by a dead process of this host: removed when ours
	   is made. A pid that can't be alive: above pid_max */
	snprintf(dead, sizeof(dead), "%s/loft-lock-spare.%ld.%s", maildir,
		 4194304L + 17, host);
	int fd = open(dead, O_WRONLY | O_CREAT, 0600);
	assert_true(fd >= 0);
	close(fd);

	/* off: the ordinary dotlock, no spare */
	maildir_save_lock_use_spares(false);
	assert_int_equal(maildir_save_lock(user, maildir, &error), 0);
	assert_int_equal(inode_of(lock, &nlink), inode_of(lock, NULL));
	assert_int_equal(nlink, 1);
	maildir_uidlist_unlock(maildir);
	char *spare = spare_path();
	assert_int_equal(access(spare, F_OK), -1);

	maildir_save_lock_use_spares(true);
	ino_t first = 0;
	for (int i = 0; i < 5; i++) {
		assert_int_equal(maildir_save_lock(user, maildir, &error), 0);
		/* the lock is the spare's inode under a second name */
		ino_t ino = inode_of(lock, &nlink);
		assert_int_equal(ino, inode_of(spare, NULL));
		assert_int_equal(nlink, 2);
		if (i == 0)
			first = ino;
		assert_int_equal(ino, first);
		/* content as a dotlock: pid:host */
		char buf[300] = "", want[300];
		fd = open(lock, O_RDONLY);
		assert_true(fd >= 0);
		assert_true(read(fd, buf, sizeof(buf) - 1) > 0);
		close(fd);
		snprintf(want, sizeof(want), "%ld:%s", (long)getpid(), host);
		assert_string_equal(buf, want);
		maildir_uidlist_unlock(maildir);
		assert_int_equal(access(lock, F_OK), -1);
		assert_int_equal(inode_of(spare, &nlink), first);
		assert_int_equal(nlink, 1);
	}
	assert_int_equal(access(dead, F_OK), -1);

	/* a lock of a dead process: the fallback breaks it */
	fd = open(lock, O_WRONLY | O_CREAT, 0600);
	assert_true(fd >= 0);
	char content[300];
	snprintf(content, sizeof(content), "%ld:%s", 4194304L + 17, host);
	assert_int_equal(write(fd, content, strlen(content)),
			 (ssize_t)strlen(content));
	close(fd);
	assert_int_equal(maildir_save_lock(user, maildir, &error), 0);
	char buf2[300] = "", mine[300];
	fd = open(lock, O_RDONLY);
	assert_true(fd >= 0);
	assert_true(read(fd, buf2, sizeof(buf2) - 1) > 0);
	close(fd);
	snprintf(mine, sizeof(mine), "%ld:%s", (long)getpid(), host);
	assert_string_equal(buf2, mine);
	maildir_uidlist_unlock(maildir);

	/* a save takes and releases it; the message gets its UID */
	uint32_t uid = 0;
	assert_int_equal(mail_user_save(user, "INBOX", "a: b\r\n\r\nx\r\n", 10,
					0, NULL, 0, NULL, &uid, &error), 0);
	assert_true(uid > 0);
	assert_int_equal(access(lock, F_OK), -1);

	/* spare removed with the user, made again when needed */
	maildir_save_lock_release_user(user);
	assert_int_equal(access(spare, F_OK), -1);
	assert_int_equal(maildir_save_lock(user, maildir, &error), 0);
	assert_int_equal(access(spare, F_OK), 0);
	maildir_uidlist_unlock(maildir);
	maildir_save_lock_release_user(user);
	maildir_save_lock_use_spares(false);
	free(spare);
	mail_user_close(&user);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_cache_take_put_lru),
		cmocka_unit_test(test_cache_idle_timeout),
		cmocka_unit_test(test_cache_key),
		cmocka_unit_test_setup_teardown(test_reuse_checks, setup, teardown),
		cmocka_unit_test_setup_teardown(test_save_lock_link, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
