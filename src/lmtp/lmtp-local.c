/* Local delivery for loft-lmtp: see lmtp-local.h. */
#include "lmtp-local.h"
#include "mail-storage.h"
#include "smtp-reply.h"
#include "log.h"
#include "master-service.h"
#include "mail-user-reuse.h"
#include "maildir-save-lock.h"
#include "lmtp-user-cache.h"
#include <stdio.h>
#include <stdlib.h>
#include <errno.h>
#include <time.h>
#include <unistd.h>
#include <ctype.h>
#include <grp.h>
#include <pwd.h>
#include <strings.h>

#define LMTP_MSGID_MAX 200
/* Recipients kept open per process, and for how long without a
   delivery (see lmtp-user-cache.h). Short: an open index holds a
   shared lock on its SQLite file (WAL mode), and a process that finds
   the file truncated or emptied rebuilds it in place, which waits for
   that lock. A stream of deliveries to a user keeps it open. */
#define LMTP_USER_CACHE_MAX 16
#define LMTP_USER_CACHE_IDLE_SECS 2

enum lmtp_save_result {
	LMTP_SAVE_OK = 0,
	LMTP_SAVE_TEMPFAIL = 1,
	LMTP_SAVE_NOSPACE = 2,
};

void lmtp_local_add_headers(struct lmtp_client *client, string_t *dest)
{
	const struct loft_settings *set = client->server->set;
	const char *hdr_addr = set->lmtp_hdr_delivery_address;
	const struct lmtp_recipient *single =
		client->rcpts_count == 1 ? &client->rcpts[0] : NULL;

	str_printfa(dest, "Return-Path: <%s>\r\n", client->mail_from);
	if (single != NULL && (hdr_addr == NULL || strcmp(hdr_addr, "none") != 0)) {
		const char *addr = hdr_addr != NULL &&
			strcmp(hdr_addr, "original") == 0 && single->orcpt != NULL ?
			single->orcpt : single->address;
		str_printfa(dest, "Delivered-To: %s\r\n", addr);
	}
	if (set->lmtp_add_received_header) {
		char date[64];
		time_t now = time(NULL);
		struct tm tm;
		localtime_r(&now, &tm);
		strftime(date, sizeof(date), "%a, %d %b %Y %H:%M:%S %z", &tm);
		str_printfa(dest, "Received: from %s", client->lhlo);
		if (client->rip != NULL)
			str_printfa(dest, " ([%s])", client->rip);
		str_printfa(dest, "\r\n\tby %s with LMTP%s\r\n\tid %s\r\n"
			    "\t(envelope-from <%s>)\r\n",
			    client->server->hostname, client->tls ? "S" : "",
			    client->trans_id, client->mail_from);
		if (single != NULL)
			str_printfa(dest, "\tfor <%s>", single->address);
		str_printfa(dest, "; %s\r\n", date);
	}
}

/* The Message-ID of the delivered message, for the log line. */
static char *lmtp_message_id(const unsigned char *data, size_t size)
{
	const unsigned char *p = data, *end = data + size;

	while (p < end) {
		const unsigned char *lf = memchr(p, '\n', end - p);
		size_t len = (lf == NULL ? end : lf) - p;
		if (len == 0 || (len == 1 && *p == '\r'))
			break; /* end of header */
		if (len > 11 && strncasecmp((const char *)p, "Message-ID:", 11) == 0) {
			string_t *str = str_new(64);
			for (const unsigned char *q = p + 11; q < p + len; q++) {
				if (*q > 0x20 && *q < 0x7f && str_len(str) < LMTP_MSGID_MAX)
					str_append_c(str, (char)*q);
			}
			return str_free_without_data(&str);
		}
		if (lf == NULL)
			break;
		p = lf + 1;
	}
	return i_strdup("unspecified");
}

static enum mail_fsync_mode lmtp_fsync_mode(const char *value)
{
	if (value != NULL && strcmp(value, "always") == 0)
		return FSYNC_MODE_ALWAYS;
	if (value != NULL && strcmp(value, "never") == 0)
		return FSYNC_MODE_NEVER;
	return FSYNC_MODE_OPTIMIZED;
}

static bool lmtp_local_as_root;

/* Close a user of ours: with the spare of its uidlist locks
   (maildir-save-lock.h). Call with the user's permissions. */
static void lmtp_mail_user_close(struct mail_user **user)
{
	if (*user != NULL)
		maildir_save_lock_release_user(*user);
	mail_user_close(user);
}

/* Switch the effective uid/gid to the user's (and only the user's gid
   as supplementary group). */
static int lmtp_priv_drop(uid_t uid, gid_t gid, char **error_r)
{
	if (setgroups(1, &gid) < 0 || setegid(gid) < 0 || seteuid(uid) < 0) {
		*error_r = i_strdup_printf("Dropping privileges to %u:%u failed: %m",
					   (unsigned int)uid, (unsigned int)gid);
		return -1;
	}
	return 0;
}

static void lmtp_priv_restore(void)
{
	if (seteuid(0) < 0 || setegid(0) < 0 || setgroups(0, NULL) < 0)
		i_fatal("Restoring root privileges failed: %m");
	/* seteuid() cleared the parent-death signal */
	master_service_die_with_master();
}

/* The user cache closes users as the uid/gid they were opened with:
   closing checkpoints the index WAL and removes files in the user's
   directories. */
static void lmtp_user_close(struct mail_user **user, uid_t uid, gid_t gid)
{
	char *error = NULL;

	if (!lmtp_local_as_root) {
		lmtp_mail_user_close(user);
		return;
	}
	if (lmtp_priv_drop(uid, gid, &error) < 0) {
		/* it was opened as this uid a moment ago: not expected */
		i_error("%s", error);
		free(error);
		lmtp_priv_restore();
		lmtp_mail_user_close(user);
		return;
	}
	lmtp_mail_user_close(user);
	lmtp_priv_restore();
}

void lmtp_local_init(struct lmtp_server *server)
{
	lmtp_local_as_root = server->running_as_root;
	/* this process lives long and saves to the same users again */
	maildir_save_lock_use_spares(true);
	lmtp_user_cache_init(server->base, LMTP_USER_CACHE_MAX,
			     LMTP_USER_CACHE_IDLE_SECS, lmtp_user_close);
}

void lmtp_local_deinit(void)
{
	lmtp_user_cache_deinit();
}

/* Open the user's storage (or take it from the cache) and save.
   *error_r is allocated. */
static enum lmtp_save_result
lmtp_local_save(struct lmtp_client *client, const struct lmtp_recipient *rcpt,
		const char *mailbox, uid_t uid, gid_t gid, char **error_r)
{
	const struct loft_settings *set = client->server->set;
	struct mail_user_settings user_set;
	struct mail_user *user;
	const char *error;

	memset(&user_set, 0, sizeof(user_set));
	user_set.username = rcpt->username;
	user_set.home = rcpt->home;
	user_set.mail_location = rcpt->mail != NULL && rcpt->mail[0] != '\0' ?
		rcpt->mail : set->mail_location;
	user_set.fsync = lmtp_fsync_mode(set->mail_fsync);
	char *key = lmtp_user_cache_key(&user_set);
	user = lmtp_user_cache_take(key, uid, gid);
	if (user != NULL && mail_user_prepare_reuse(user, &error) < 0) {
		i_debug("not reusing the open user: %s", error);
		lmtp_mail_user_close(&user);
	}
	errno = 0;
	if (user == NULL && mail_user_open(&user_set, &user, &error) < 0) {
		int err = errno;
		*error_r = i_strdup(error);
		free(key);
		return err == ENOSPC || err == EDQUOT ? LMTP_SAVE_NOSPACE :
			LMTP_SAVE_TEMPFAIL;
	}
	if (strcasecmp(mailbox, "INBOX") != 0 &&
	    !mail_user_mailbox_exists(user, mailbox) &&
	    (!set->lda_mailbox_autocreate ||
	     mail_user_mailbox_create(user, mailbox, &error) < 0)) {
		/* like Dovecot: fall back to INBOX */
		mailbox = "INBOX";
	}
	errno = 0;
	int ret = mail_user_save(user, mailbox,
				 str_data(client->message), str_len(client->message),
				 0, NULL, 0, NULL, NULL, &error);
	int err = errno;
	enum lmtp_save_result result = LMTP_SAVE_OK;
	if (ret < 0) {
		*error_r = i_strdup(error);
		result = err == ENOSPC || err == EDQUOT ||
			strstr(error, "No space left") != NULL ||
			strstr(error, "quota") != NULL ?
			LMTP_SAVE_NOSPACE : LMTP_SAVE_TEMPFAIL;
	}
	/* keep it open for the next delivery, unless something failed */
	if (ret == 0 && mail_user_is_reusable(user))
		lmtp_user_cache_put(key, user, uid, gid);
	else
		lmtp_mail_user_close(&user);
	free(key);
	return result;
}

static long long lmtp_resolve_id(const char *value, bool group)
{
	uint32_t num;

	if (value == NULL || value[0] == '\0')
		return -1;
	if (str_to_uint32(value, &num) == 0)
		return num;
	if (group) {
		struct group *gr = getgrnam(value);
		return gr == NULL ? -1 : (long long)gr->gr_gid;
	}
	struct passwd *pw = getpwnam(value);
	return pw == NULL ? -1 : (long long)pw->pw_uid;
}

/* Check the uid/gid the delivery would run as. */
static int lmtp_local_check_ids(struct lmtp_client *client,
				const struct lmtp_recipient *rcpt,
				uid_t *uid_r, gid_t *gid_r, char **error_r)
{
	const struct loft_settings *set = client->server->set;
	long long uid = rcpt->uid >= 0 ? rcpt->uid : lmtp_resolve_id(set->mail_uid, false);
	long long gid = rcpt->gid >= 0 ? rcpt->gid : lmtp_resolve_id(set->mail_gid, true);

	if (uid < 0) {
		*error_r = i_strdup("User has no uid (no uid in userdb, no mail_uid)");
		return -1;
	}
	if (gid < 0) {
		struct passwd *pw = getpwuid((uid_t)uid);
		gid = pw == NULL ? -1 : (long long)pw->pw_gid;
	}
	if (uid == 0 || uid < set->first_valid_uid ||
	    (set->last_valid_uid != 0 && uid > set->last_valid_uid)) {
		*error_r = i_strdup_printf("Mail access for users with UID %lld not "
			"permitted (see first_valid_uid in config file, "
			"uid from userdb lookup).", uid);
		return -1;
	}
	if (gid <= 0 || gid < set->first_valid_gid ||
	    (set->last_valid_gid != 0 && gid > set->last_valid_gid)) {
		*error_r = i_strdup_printf("Mail access for users with GID %lld not "
			"permitted (see first_valid_gid in config file, "
			"gid from userdb lookup).", gid);
		return -1;
	}
	*uid_r = (uid_t)uid;
	*gid_r = (gid_t)gid;
	return 0;
}

/* As root: save with the user's effective uid/gid (and only the user's
   gid as supplementary group), then switch back, as Dovecot's lmtp does.
   Files get the user's ownership and the kernel checks the user's
   permissions. (A child per delivery would isolate more, but costs a
   fork of the whole process per recipient.) */
static enum lmtp_save_result
lmtp_local_save_as_user(struct lmtp_client *client,
			const struct lmtp_recipient *rcpt, const char *mailbox,
			char **error_r)
{
	uid_t uid;
	gid_t gid;

	if (lmtp_local_check_ids(client, rcpt, &uid, &gid, error_r) < 0)
		return LMTP_SAVE_TEMPFAIL;
	if (lmtp_priv_drop(uid, gid, error_r) < 0) {
		lmtp_priv_restore();
		return LMTP_SAVE_TEMPFAIL;
	}
	enum lmtp_save_result result = lmtp_local_save(client, rcpt, mailbox,
						       uid, gid, error_r);
	lmtp_priv_restore();
	return result;
}

void lmtp_local_deliver(struct lmtp_client *client,
			const struct lmtp_recipient *rcpt,
			const char *session_id, string_t *reply)
{
	const struct loft_settings *set = client->server->set;
	const char *mailbox = "INBOX";
	char *error = NULL, *mailbox_buf = NULL;

	if (set->lmtp_save_to_detail_mailbox && rcpt->detail[0] != '\0') {
		mailbox_buf = i_strdup(rcpt->detail);
		mailbox = mailbox_buf;
	}
	char *prefix = i_strdup_printf("lmtp(%s)<%d><%s>", rcpt->username,
				       (int)getpid(), session_id);
	log_set_prefix(prefix);
	char *msgid = lmtp_message_id(str_data(client->message) + client->header_size,
				      str_len(client->message) - client->header_size);

	enum lmtp_save_result result = client->server->running_as_root ?
		lmtp_local_save_as_user(client, rcpt, mailbox, &error) :
		lmtp_local_save(client, rcpt, mailbox, (uid_t)-1, (gid_t)-1,
				&error);
	lmtp_user_cache_trim();
	switch (result) {
	case LMTP_SAVE_OK:
		i_info("msgid=%s: saved mail to %s", msgid, mailbox);
		smtp_reply_append(reply, 250, "2.0.0", "<%s> %s Saved",
				  rcpt->address, session_id);
		break;
	case LMTP_SAVE_NOSPACE:
		i_error("msgid=%s: save failed to %s: %s", msgid, mailbox, error);
		smtp_reply_append(reply, 452, "4.3.1",
				  "<%s> Insufficient system storage", rcpt->address);
		break;
	case LMTP_SAVE_TEMPFAIL:
		i_error("msgid=%s: save failed to %s: %s", msgid, mailbox, error);
		smtp_reply_append(reply, 451, "4.3.0",
				  "<%s> Temporary internal error", rcpt->address);
		break;
	}
	log_set_prefix(NULL);
	free(prefix);
	free(msgid);
	free(error);
	free(mailbox_buf);
}
