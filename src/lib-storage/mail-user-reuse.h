#ifndef LOFT_MAIL_USER_REUSE_H
#define LOFT_MAIL_USER_REUSE_H
/* Keeping a mail_user open between uses (loft-lmtp keeps its
   recipients open between deliveries instead of opening the user, and
   its SQLite index, for every message). */
#include "mail-storage.h"

/* Before reusing a user that stayed open: reopen the index if another
   process replaced or removed it, rebuild it if it was found corrupt,
   and check that the Maildir's INBOX is still there. Returns 0 when
   the user can be used, -1 (with *error_r, static) when the caller
   should close it and open it afresh. */
int mail_user_prepare_reuse(struct mail_user *user, const char **error_r);

/* After a use: false when the user should be closed rather than kept
   (index found corrupt, a transaction left open). */
bool mail_user_is_reusable(const struct mail_user *user);

#endif
