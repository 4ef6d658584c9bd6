#ifndef LOFT_MAILDIR_SAVE_LOCK_H
#define LOFT_MAILDIR_SAVE_LOCK_H
/* The dovecot-uidlist lock taken by a save, made without allocating an
   inode when it is free.

   The lock is the dotlock Dovecot uses, <control>/dovecot-uidlist.lock
   holding "pid:host". Creating it with O_CREAT|O_EXCL and unlinking it
   again costs a new inode per delivery, and on ext4 without a journal
   every later inode allocation in the block group scans past the
   recently freed ones (find_inode_bit/recently_deleted), so deliveries
   get slower as they go. With spares enabled, a process keeps one file
   per user, "loft-lock-spare.<pid>.<host>" in the Maildir root holding
   "pid:host", and takes the lock with link(spare, lock), which fails
   with EEXIST exactly like O_EXCL; the unlock (unlink of the lock name)
   leaves the inode alive. When the lock is busy, or link() can't be
   used (another filesystem, permissions), it falls back to the ordinary
   dotlock (maildir_uidlist_lock()), which waits and breaks stale locks.
   Spares of dead processes on this host are removed when a spare is
   created in the same directory. */
#include "mail-storage.h"

/* Use spares in this process (loft-lmtp). Off by default: short-lived
   processes would leave a spare behind for every user. */
void maildir_save_lock_use_spares(bool enable);

/* Lock control_dir's dovecot-uidlist for a save by user. 0 = locked
   (release with maildir_uidlist_unlock()), -1 = *error_r (static). */
int maildir_save_lock(struct mail_user *user, const char *control_dir,
		      const char **error_r);

/* Remove this process's spare of user, if any (before closing the user,
   with the user's permissions). */
void maildir_save_lock_release_user(struct mail_user *user);

#endif
