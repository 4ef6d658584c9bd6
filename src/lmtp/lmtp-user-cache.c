/* Open mail_users of recent recipients: see lmtp-user-cache.h. */
#include "lmtp-user-cache.h"
#include "log.h"
#include <stdlib.h>
#include <string.h>
#include <time.h>

struct lmtp_user_entry {
	struct lmtp_user_entry *prev, *next; /* most recently used first */
	char *key;
	struct mail_user *user;
	uid_t uid;
	gid_t gid;
	time_t last_used;
};

static struct lmtp_user_entry *entries_head, *entries_tail;
static unsigned int entries_count, cache_max_users, cache_idle_secs;
static lmtp_user_close_func_t *cache_close_func;
static struct event *cache_timer;

static void entry_unlink(struct lmtp_user_entry *e)
{
	if (e->prev != NULL)
		e->prev->next = e->next;
	else
		entries_head = e->next;
	if (e->next != NULL)
		e->next->prev = e->prev;
	else
		entries_tail = e->prev;
	e->prev = e->next = NULL;
	entries_count--;
}

static void entry_close(struct lmtp_user_entry *e)
{
	if (cache_close_func != NULL)
		cache_close_func(&e->user, e->uid, e->gid);
	else
		mail_user_close(&e->user);
	free(e->key);
	free(e);
}

static void cache_timer_cb(evutil_socket_t fd, short what, void *context)
{
	time_t now = time(NULL);

	/* oldest at the tail */
	while (entries_tail != NULL &&
	       (now - entries_tail->last_used >= (time_t)cache_idle_secs ||
		now < entries_tail->last_used)) {
		struct lmtp_user_entry *e = entries_tail;
		entry_unlink(e);
		entry_close(e);
	}
}

void lmtp_user_cache_init(struct event_base *base, unsigned int max_users,
			  unsigned int idle_secs,
			  lmtp_user_close_func_t *close_func)
{
	cache_max_users = max_users;
	cache_idle_secs = idle_secs == 0 ? 1 : idle_secs;
	cache_close_func = close_func;
	if (base != NULL) {
		struct timeval tv = { cache_idle_secs > 2 ?
				      cache_idle_secs / 2 : 1, 0 };
		cache_timer = event_new(base, -1, EV_PERSIST, cache_timer_cb,
					NULL);
		event_add(cache_timer, &tv);
	}
}

void lmtp_user_cache_deinit(void)
{
	while (entries_head != NULL) {
		struct lmtp_user_entry *e = entries_head;
		entry_unlink(e);
		entry_close(e);
	}
	if (cache_timer != NULL)
		event_free(cache_timer);
	cache_timer = NULL;
}

struct mail_user *lmtp_user_cache_take(const char *key, uid_t uid, gid_t gid)
{
	for (struct lmtp_user_entry *e = entries_head; e != NULL; e = e->next) {
		if (e->uid != uid || e->gid != gid || strcmp(e->key, key) != 0)
			continue;
		struct mail_user *user = e->user;
		entry_unlink(e);
		free(e->key);
		free(e);
		return user;
	}
	return NULL;
}

void lmtp_user_cache_put(const char *key, struct mail_user *user,
			 uid_t uid, gid_t gid)
{
	struct lmtp_user_entry *e = i_new(struct lmtp_user_entry, 1);
	e->key = i_strdup(key);
	e->user = user;
	e->uid = uid;
	e->gid = gid;
	e->last_used = time(NULL);
	e->next = entries_head;
	if (entries_head != NULL)
		entries_head->prev = e;
	else
		entries_tail = e;
	entries_head = e;
	entries_count++;
}

void lmtp_user_cache_trim(void)
{
	while (entries_count > cache_max_users) {
		struct lmtp_user_entry *old = entries_tail;
		entry_unlink(old);
		entry_close(old);
	}
}

unsigned int lmtp_user_cache_count(void)
{
	return entries_count;
}

char *lmtp_user_cache_key(const struct mail_user_settings *set)
{
	return i_strdup_printf("%s\n%s\n%s\n%d\n%d", set->username,
			       set->home != NULL ? set->home : "",
			       set->mail_location != NULL ?
			       set->mail_location : "",
			       (int)set->fsync, (int)set->separator);
}
