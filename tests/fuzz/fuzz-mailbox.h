#ifndef LOFT_FUZZ_MAILBOX_H
#define LOFT_FUZZ_MAILBOX_H
/* For fuzz targets that need a mailbox (SEARCH matching, POP3): a
   temporary home under $TMPDIR (removed at exit) with a Maildir INBOX
   holding a few fixed messages with flags and keywords. Include in one
   .c file. */
#include "fuzz-common.h"
#include "mail-storage.h"
#include "log.h"
#include <dirent.h>
#include <fcntl.h>
#include <unistd.h>
#include <sys/stat.h>

static char fuzz_home[256];

static const char *const fuzz_messages[] = {
	"From: Alice <alice@example.com>\r\nTo: bob@example.org\r\n"
	"Subject: hello world\r\nDate: Mon, 1 Jan 2024 10:00:00 +0000\r\n"
	"Message-ID: <1@example.com>\r\n\r\nfirst body\r\n",
	"From: =?utf-8?q?J=C3=B6rg?= <j@x.example>\r\nCc: c@d\r\n"
	"Subject: =?utf-8?B?w6TDtsO8?=\r\nDate: 29 Feb 2000 23:59 -1200\r\n"
	"Content-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\n"
	"Content-Type: text/plain; charset=iso-8859-1\r\n"
	"Content-Transfer-Encoding: quoted-printable\r\n\r\nc=E4t\r\n"
	"--b\r\nContent-Type: application/octet-stream\r\n"
	"Content-Transfer-Encoding: base64\r\n\r\naGVsbG8=\r\n--b--\r\n",
	"Subject: no date\n\n.dot line\n..two dots\nlast\n",
	"",
};

static void fuzz_tree_remove(const char *path);

static void fuzz_mailbox_cleanup(void)
{
	if (fuzz_home[0] != '\0')
		fuzz_tree_remove(fuzz_home);
}

/* Create the home and fill its INBOX (once per process). */
static void fuzz_mailbox_init(void)
{
	static const char *const kw[] = { "$Label1", "work", NULL };
	const char *tmp = getenv("TMPDIR"), *error;
	struct mail_user *user;
	unsigned int i;

	if (fuzz_home[0] != '\0')
		return;
	snprintf(fuzz_home, sizeof(fuzz_home), "%s/loft-fuzz-XXXXXX",
		 tmp == NULL ? "/tmp" : tmp);
	CHECK(mkdtemp(fuzz_home) != NULL);
	atexit(fuzz_mailbox_cleanup);
	struct mail_user_settings set = {
		.username = "fuzz", .home = fuzz_home,
		.mail_location = "maildir:~/Maildir",
		.fsync = FSYNC_MODE_NEVER,
	};
	CHECK(mail_user_open(&set, &user, &error) == 0);
	for (i = 0; i < N_ELEMENTS(fuzz_messages); i++) {
		CHECK(mail_user_save(user, "INBOX", fuzz_messages[i],
				     strlen(fuzz_messages[i]),
				     i == 0 ? MAIL_SEEN | MAIL_FLAGGED :
				     i == 2 ? MAIL_DELETED | MAIL_ANSWERED : 0,
				     i == 1 ? kw : NULL,
				     1700000000 + (time_t)i * 86400,
				     NULL, NULL, &error) == 0);
	}
	mail_user_close(&user);
}

static void fuzz_tree_remove(const char *path)
{
	struct stat st;
	DIR *d;
	struct dirent *de;

	if (lstat(path, &st) < 0)
		return;
	if (!S_ISDIR(st.st_mode)) {
		CHECK(unlink(path) == 0);
		return;
	}
	CHECK((d = opendir(path)) != NULL);
	while ((de = readdir(d)) != NULL) {
		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		char *sub = i_strdup_printf("%s/%s", path, de->d_name);
		fuzz_tree_remove(sub);
		free(sub);
	}
	closedir(d);
	CHECK(rmdir(path) == 0);
}

static void fuzz_tree_copy(const char *src, const char *dest)
{
	struct stat st;
	DIR *d;
	struct dirent *de;

	CHECK(lstat(src, &st) == 0);
	if (S_ISDIR(st.st_mode)) {
		CHECK(mkdir(dest, st.st_mode & 07777) == 0);
		CHECK((d = opendir(src)) != NULL);
		while ((de = readdir(d)) != NULL) {
			if (strcmp(de->d_name, ".") == 0 ||
			    strcmp(de->d_name, "..") == 0)
				continue;
			char *s2 = i_strdup_printf("%s/%s", src, de->d_name);
			char *d2 = i_strdup_printf("%s/%s", dest, de->d_name);
			fuzz_tree_copy(s2, d2);
			free(s2);
			free(d2);
		}
		closedir(d);
	} else if (S_ISREG(st.st_mode)) {
		char *data;
		size_t size;
		int fd;

		CHECK(read_file(src, 64 * 1024 * 1024, &data, &size) == 0);
		fd = open(dest, O_WRONLY | O_CREAT | O_EXCL, st.st_mode & 07777);
		CHECK(fd >= 0);
		CHECK(write(fd, data, size) == (ssize_t)size);
		close(fd);
		free(data);
		/* Maildir keeps the internal date in the mtime */
		struct timespec times[2] = { st.st_atim, st.st_mtim };
		CHECK(utimensat(AT_FDCWD, dest, times, 0) == 0);
	}
}

/* A copy of the home for targets that change the mailbox (POP3 DELE):
   returns a new directory (caller removes it with fuzz_home_remove). */
static ATTR_UNUSED char *fuzz_home_copy(void)
{
	char *dir = i_strdup_printf("%s.run", fuzz_home);

	fuzz_tree_remove(dir);
	fuzz_tree_copy(fuzz_home, dir);
	return dir;
}

static ATTR_UNUSED void fuzz_home_remove(char *dir)
{
	fuzz_tree_remove(dir);
	free(dir);
}

static struct mail_user *fuzz_user_open(const char *home)
{
	struct mail_user_settings set = {
		.username = "fuzz", .home = home,
		.mail_location = "maildir:~/Maildir",
		.fsync = FSYNC_MODE_NEVER,
	};
	struct mail_user *user;
	const char *error;

	CHECK(mail_user_open(&set, &user, &error) == 0);
	return user;
}

#endif
