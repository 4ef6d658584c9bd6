#ifndef LOFT_FUZZ_MAILBOX_H
#define LOFT_FUZZ_MAILBOX_H
/* For fuzz targets that need a mailbox (SEARCH matching, POP3): a
   temporary home under $TMPDIR (removed at exit) with a Maildir INBOX
   holding a few fixed messages with flags and keywords. Include in one
   .c file. */
#include "fuzz-common.h"
#include "mail-storage.h"
#include "log.h"
#include <unistd.h>

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

static void fuzz_mailbox_cleanup(void)
{
	char cmd[300];

	if (fuzz_home[0] == '\0')
		return;
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", fuzz_home);
	if (system(cmd) != 0)
		fprintf(stderr, "could not remove %s\n", fuzz_home);
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

/* A copy of the home for targets that change the mailbox (POP3 DELE):
   returns a new directory (caller removes it with fuzz_home_remove). */
static ATTR_UNUSED char *fuzz_home_copy(void)
{
	char *dir = i_strdup_printf("%s.run", fuzz_home);
	char *cmd = i_strdup_printf("rm -rf '%s' && cp -a '%s' '%s'",
				    dir, fuzz_home, dir);

	CHECK(system(cmd) == 0);
	free(cmd);
	return dir;
}

static ATTR_UNUSED void fuzz_home_remove(char *dir)
{
	char *cmd = i_strdup_printf("rm -rf '%s'", dir);

	CHECK(system(cmd) == 0);
	free(cmd);
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
