#ifndef LOFT_LMTP_USER_CACHE_H
#define LOFT_LMTP_USER_CACHE_H
/* loft-lmtp keeps the mail_users of recent recipients open between
   deliveries: opening a user opens (and checks) its SQLite index, and
   closing the last connection to it checkpoints the WAL, which costs
   several disk flushes per message. A small LRU cache per process,
   with a size cap and an idle timeout; everything is closed at exit. */
#include "lib.h"
#include "mail-storage.h"
#include <sys/types.h>
#include <event2/event.h>

/* Closes a user that was opened as uid/gid (the cache calls it on
   eviction, idle timeout and deinit). */
typedef void lmtp_user_close_func_t(struct mail_user **user, uid_t uid,
				    gid_t gid);

/* Start the cache: at most max_users open users, each closed after
   idle_secs without a delivery. close_func may be NULL
   (mail_user_close() is used). */
void lmtp_user_cache_init(struct event_base *base, unsigned int max_users,
			  unsigned int idle_secs,
			  lmtp_user_close_func_t *close_func);
/* Close every cached user. */
void lmtp_user_cache_deinit(void);

/* Take the user cached under key (and opened as uid/gid) out of the
   cache: the caller owns it until lmtp_user_cache_put() or closes it.
   NULL when there is none. key identifies everything the user was
   opened with (lmtp_user_cache_key()). */
struct mail_user *lmtp_user_cache_take(const char *key, uid_t uid, gid_t gid);
/* Give a user back to the cache (takes ownership), as the most
   recently used. Closes nothing: call lmtp_user_cache_trim() once the
   process has its own privileges back. */
void lmtp_user_cache_put(const char *key, struct mail_user *user,
			 uid_t uid, gid_t gid);
/* Close the least recently used users beyond the cap. */
void lmtp_user_cache_trim(void);
/* Number of users cached now. */
unsigned int lmtp_user_cache_count(void);

/* Cache key of a user: username, home, mail_location and fsync mode,
   NUL-free joined (caller frees). */
char *lmtp_user_cache_key(const struct mail_user_settings *set);

#endif
