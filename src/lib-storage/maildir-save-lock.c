/* dovecot-uidlist lock by link() from a spare inode: see
   maildir-save-lock.h. */
#include "storage-private.h"
#include "maildir-save-lock.h"
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#define SPARE_PREFIX "loft-lock-spare."
/* spares kept open at once (one per recently saved-to user) */
#define SPARES_MAX 64

struct spare {
	struct spare *next;
	char *dir;    /* the user's Maildir root */
	char *path;
	int fd;
};

static bool use_spares;
static struct spare *spares;
static unsigned int spares_count;

void maildir_save_lock_use_spares(bool enable)
{
	use_spares = enable;
}

static const char *spare_host(void)
{
	static char host[256];

	if (host[0] == '\0') {
		if (gethostname(host, sizeof(host)) < 0)
			strcpy(host, "localhost");
		host[sizeof(host) - 1] = '\0';
		/* a file name part */
		for (char *p = host; *p != '\0'; p++) {
			if (*p == '/')
				*p = '_';
		}
	}
	return host;
}

/* Unlink spares in dir left by processes of this host that are gone. */
static void spares_clean_dead(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	const char *host = spare_host();

	if (d == NULL)
		return;
	while ((de = readdir(d)) != NULL) {
		if (strncmp(de->d_name, SPARE_PREFIX,
			    strlen(SPARE_PREFIX)) != 0)
			continue;
		char *end;
		long pid = strtol(de->d_name + strlen(SPARE_PREFIX), &end, 10);
		if (pid <= 0 || *end != '.' || strcmp(end + 1, host) != 0 ||
		    pid == (long)getpid())
			continue;
		if (kill((pid_t)pid, 0) < 0 && errno == ESRCH) {
			char *p = i_strdup_printf("%s/%s", dir, de->d_name);
			(void)unlink(p);
			free(p);
		}
	}
	(void)closedir(d);
}

static void spare_free(struct spare *s, bool remove)
{
	if (remove)
		(void)unlink(s->path);
	if (s->fd >= 0)
		(void)close(s->fd);
	free(s->dir);
	free(s->path);
	free(s);
}

static struct spare *spare_get(struct mail_user *user)
{
	const char *dir = user->loc.root;
	struct spare **sp, *s;

	for (sp = &spares; *sp != NULL; sp = &(*sp)->next) {
		if (strcmp((*sp)->dir, dir) == 0)
			return *sp;
	}
	if (spares_count >= SPARES_MAX) {
		/* drop the oldest (at the tail) */
		for (sp = &spares; (*sp)->next != NULL; sp = &(*sp)->next) ;
		s = *sp;
		*sp = NULL;
		spares_count--;
		spare_free(s, true);
	}
	spares_clean_dead(dir);
	s = i_new(struct spare, 1);
	s->dir = i_strdup(dir);
	s->path = i_strdup_printf("%s/" SPARE_PREFIX "%ld.%s", dir,
				  (long)getpid(), spare_host());
	s->fd = open(s->path, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW |
		     O_CLOEXEC, 0600);
	char content[320];
	snprintf(content, sizeof(content), "%ld:%s", (long)getpid(),
		 spare_host());
	if (s->fd < 0 || write_full(s->fd, content, strlen(content)) < 0) {
		/* e.g. disk full: the ordinary dotlock it is */
		spare_free(s, s->fd >= 0);
		return NULL;
	}
	s->next = spares;
	spares = s;
	spares_count++;
	return s;
}

int maildir_save_lock(struct mail_user *user, const char *control_dir,
		      const char **error_r)
{
	struct spare *s;

	if (!use_spares || (s = spare_get(user)) == NULL)
		return maildir_uidlist_lock(control_dir, error_r);
	char *lock_path = i_strdup_printf("%s/dovecot-uidlist.lock",
					  control_dir);
	/* a lock older than UIDLIST_LOCK_STALE_SECS is stale for everyone:
	   give it the time it is taken */
	int ret = futimens(s->fd, NULL) == 0 && link(s->path, lock_path) == 0 ?
		0 : -1;
	int err = errno;
	free(lock_path);
	if (ret == 0)
		return 0;
	if (err == ENOENT && access(s->path, F_OK) < 0) {
		/* the spare (or its directory) was removed: make a new one
		   next time */
		maildir_save_lock_release_user(user);
	}
	/* busy (EEXIST: wait for it, break it if stale), or link() can't
	   be used here */
	return maildir_uidlist_lock(control_dir, error_r);
}

void maildir_save_lock_release_user(struct mail_user *user)
{
	for (struct spare **sp = &spares; *sp != NULL; sp = &(*sp)->next) {
		if (strcmp((*sp)->dir, user->loc.root) == 0) {
			struct spare *s = *sp;
			*sp = s->next;
			spares_count--;
			spare_free(s, true);
			return;
		}
	}
}
