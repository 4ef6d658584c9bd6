/* Keeping a mail_user open between uses: see mail-user-reuse.h. */
#include "storage-private.h"
#include "mail-user-reuse.h"

int mail_user_prepare_reuse(struct mail_user *user, const char **error_r)
{
	struct maildir_mbox inbox;
	bool exists;

	if (user->txn_depth > 0) {
		*error_r = "transaction left open";
		return -1;
	}
	if (user->db_corrupt) {
		*error_r = "index found corrupt";
		return -1;
	}
	/* first: a removed Maildir also takes the index directory */
	if (maildir_mbox_resolve(user, "INBOX", &inbox, error_r) < 0)
		return -1;
	exists = maildir_mbox_exists(&inbox);
	maildir_mbox_free(&inbox);
	if (!exists) {
		/* mail_user_open() creates it again */
		*error_r = "INBOX was removed";
		return -1;
	}
	if (user->db == NULL || index_db_check_replaced(user) < 0) {
		*error_r = "index can't be reopened";
		return -1;
	}
	return 0;
}

bool mail_user_is_reusable(const struct mail_user *user)
{
	return user->db != NULL && !user->db_corrupt && user->txn_depth == 0;
}
