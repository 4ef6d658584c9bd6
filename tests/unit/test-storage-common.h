/* Helpers shared by the lib-storage unit tests: a temporary home with a
   Maildir, opening users/mailboxes, saving, syncing with a log of the
   callbacks, small file utilities. Included by one test file each. */
#ifndef TEST_STORAGE_COMMON_H
#define TEST_STORAGE_COMMON_H
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

static ATTR_UNUSED int setup(void **state)
{
	strcpy(tmpdir, "/tmp/loft-test-st-XXXXXX");
	assert_non_null(mkdtemp(tmpdir));
	snprintf(maildir, sizeof(maildir), "%s/Maildir", tmpdir);
	return 0;
}

static ATTR_UNUSED int teardown(void **state)
{
	char cmd[300];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
	return system(cmd) == 0 ? 0 : -1;
}

static ATTR_UNUSED struct mail_user *open_user_sep(char sep)
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

static ATTR_UNUSED struct mail_user *open_user(void)
{
	return open_user_sep(0);
}

static ATTR_UNUSED uint32_t
save(struct mail_user *user, const char *box, const char *msg,
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

static ATTR_UNUSED struct mailbox *
open_box(struct mail_user *user, const char *name, bool ro)
{
	struct mailbox *box;
	const char *error = NULL;

	if (mailbox_open(user, name, ro, &box, &error) < 0)
		fail_msg("mailbox_open(%s): %s", name, error);
	return box;
}

/* file names in dir (cur or new) of a mailbox dir, count */
static ATTR_UNUSED unsigned int
dir_files(const char *dir, char names[][256], unsigned int max)
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

static ATTR_UNUSED void write_file(const char *path, const char *text)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	assert_true(fd >= 0);
	assert_int_equal(write_full(fd, text, strlen(text)), 0);
	close(fd);
}

static ATTR_UNUSED char *read_text(const char *path)
{
	char *data;
	size_t size;
	assert_int_equal(read_file(path, 1 << 20, &data, &size), 0);
	return data;
}

struct sync_log {
	uint32_t expunged[16];
	unsigned int n_expunged;
	uint32_t changed[16];
	unsigned int n_changed;
	uint32_t new_count;
};

static ATTR_UNUSED void cb_expunged(void *ctx, uint32_t seq)
{
	struct sync_log *l = ctx;
	if (l->n_expunged < N_ELEMENTS(l->expunged))
		l->expunged[l->n_expunged] = seq;
	l->n_expunged++;
}

static ATTR_UNUSED void cb_changed(void *ctx, uint32_t seq)
{
	struct sync_log *l = ctx;
	if (l->n_changed < N_ELEMENTS(l->changed))
		l->changed[l->n_changed] = seq;
	l->n_changed++;
}

static ATTR_UNUSED void cb_new(void *ctx, uint32_t count)
{
	struct sync_log *l = ctx;
	l->new_count = count;
}

static const struct mailbox_sync_callbacks sync_cb ATTR_UNUSED = {
	cb_expunged, cb_changed, cb_new
};

static ATTR_UNUSED void do_sync(struct mailbox *box, struct sync_log *l)
{
	const char *error;
	memset(l, 0, sizeof(*l));
	if (mailbox_sync(box, &sync_cb, l, &error) < 0)
		fail_msg("sync: %s", error);
}

#endif
