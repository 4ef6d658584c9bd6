/* dovecot-uidlist, version 3 as Dovecot 1.1+ reads and writes it:
     header: "3 V<uidvalidity> N<nextuid> G<mailbox guid hex>[ ...]"
     record: "<uid>[ <key><value>...] :<base filename>"
   Version 1 ("1 <uidvalidity> <nextuid>" / "<uid> <filename>") is read
   too. The lock is Dovecot's dotlock "dovecot-uidlist.lock". */
#include "storage-private.h"
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <dirent.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#define UIDLIST_NAME "dovecot-uidlist"
#define UIDLIST_MAX_LINE (64 * 1024)
#define UIDLIST_MAX_FILE_SIZE (512u * 1024 * 1024)

void maildir_uidlist_clear(struct maildir_uidlist *ul)
{
	unsigned int i;

	for (i = 0; i < ul->count; i++) {
		free(ul->recs[i].base);
		free(ul->recs[i].ext);
	}
	free(ul->recs);
	free(ul->hdr_ext);
	memset(ul, 0, sizeof(*ul));
}

void maildir_uidlist_add(struct maildir_uidlist *ul, uint32_t uid,
			 const char *base, const char *ext)
{
	if (ul->count == ul->alloc) {
		ul->alloc = ul->alloc == 0 ? 64 : ul->alloc * 2;
		ul->recs = i_realloc(ul->recs, ul->alloc * sizeof(*ul->recs));
	}
	ul->recs[ul->count].uid = uid;
	ul->recs[ul->count].base = i_strdup(base);
	ul->recs[ul->count].ext = ext == NULL || ext[0] == '\0' ? NULL :
		i_strdup(ext);
	ul->count++;
	if (uid >= ul->next_uid)
		ul->next_uid = uid + 1;
}

static int parse_header(const char *line, struct maildir_uidlist *ul)
{
	char **args = str_split(line, " ");
	string_t *ext = str_new(32);
	unsigned int i;
	int ret = 0;

	if (str_to_uint32(args[0], &ul->version) < 0)
		ret = -1;
	else if (ul->version == 1) {
		if (str_array_length(args) < 3 ||
		    str_to_uint32(args[1], &ul->uidvalidity) < 0 ||
		    str_to_uint32(args[2], &ul->next_uid) < 0)
			ret = -1;
	} else if (ul->version == 3) {
		for (i = 1; args[i] != NULL; i++) {
			const char *v = args[i] + 1;
			switch (args[i][0]) {
			case 'V':
				if (str_to_uint32(v, &ul->uidvalidity) < 0)
					ret = -1;
				break;
			case 'N':
				if (str_to_uint32(v, &ul->next_uid) < 0)
					ret = -1;
				break;
			case 'G':
				if (strlen(v) == 32)
					memcpy(ul->guid, v, 33);
				break;
			case '\0':
				break;
			default:
				if (str_len(ext) > 0)
					str_append_c(ext, ' ');
				str_append(ext, args[i]);
			}
		}
	} else {
		ret = -1;
	}
	if (ret == 0 && str_len(ext) > 0)
		ul->hdr_ext = i_strdup(str_c(ext));
	str_free(&ext);
	str_split_free(&args);
	return ret;
}

/* One record line; false if it's broken (it is then skipped). */
static bool parse_record(const char *line, struct maildir_uidlist *ul)
{
	const char *p = line, *ext_start = NULL, *ext_end = NULL;
	uint32_t uid = 0;
	char *ext = NULL;

	if (*p < '0' || *p > '9')
		return false;
	for (; *p >= '0' && *p <= '9'; p++) {
		if (uid > (UINT32_MAX - 9) / 10)
			return false;
		uid = uid * 10 + (uint32_t)(*p - '0');
	}
	if (uid == 0 || *p != ' ')
		return false;
	p++;
	if (ul->version == 3) {
		/* fields until " :" */
		if (*p != ':') {
			ext_start = p;
			const char *colon = strstr(p, " :");
			if (colon == NULL)
				return false;
			ext_end = colon;
			p = colon + 1;
		}
		p++;
	}
	if (*p == '\0' || strchr(p, '/') != NULL)
		return false;
	if (ul->count > 0 && uid <= ul->recs[ul->count - 1].uid)
		return false;
	if (ext_start != NULL)
		ext = i_strndup(ext_start, ext_end - ext_start);
	/* only the base name is the key, like Dovecot */
	char *base = i_strndup(p, maildir_filename_base_len(p));
	maildir_uidlist_add(ul, uid, base, ext);
	free(base);
	free(ext);
	return true;
}

int maildir_uidlist_parse(const char *data, size_t size,
			  struct maildir_uidlist *ul, const char **error_r)
{
	const char *p = data, *end = data + size, *nl;
	char *line;
	bool header = true;
	uint32_t hdr_next_uid = 0;

	maildir_uidlist_clear(ul);
	ul->clean_end = true;
	while (p < end) {
		nl = memchr(p, '\n', end - p);
		if (nl == NULL) {
			/* interrupted append: ignore the partial line */
			ul->clean_end = false;
			break;
		}
		if (nl - p > UIDLIST_MAX_LINE || memchr(p, '\0', nl - p) != NULL) {
			if (header) {
				*error_r = "dovecot-uidlist: broken header";
				return -1;
			}
			p = nl + 1;
			continue;
		}
		line = i_strndup(p, nl - p);
		p = nl + 1;
		if (header) {
			header = false;
			if (parse_header(line, ul) < 0) {
				free(line);
				*error_r = "dovecot-uidlist: broken header";
				return -1;
			}
			hdr_next_uid = ul->next_uid;
			ul->next_uid = 0;
		} else if (line[0] != '\0' && !parse_record(line, ul)) {
			i_warning("dovecot-uidlist: ignoring broken line: %.80s",
				  line);
		}
		free(line);
	}
	if (header) {
		*error_r = "dovecot-uidlist: empty file";
		return -1;
	}
	if (ul->next_uid < hdr_next_uid)
		ul->next_uid = hdr_next_uid;
	if (ul->next_uid == 0)
		ul->next_uid = 1;
	return 0;
}

int maildir_uidlist_read(const char *path, struct maildir_uidlist *ul,
			 const char **error_r)
{
	char *data;
	size_t size;
	int ret;

	maildir_uidlist_clear(ul);
	if (read_file(path, UIDLIST_MAX_FILE_SIZE, &data, &size) < 0) {
		if (errno == ENOENT) {
			ul->next_uid = 1;
			return 0;
		}
		i_error("read(%s) failed: %s", path, strerror(errno));
		*error_r = "Internal error reading dovecot-uidlist";
		return -1;
	}
	ret = maildir_uidlist_parse(data, size, ul, error_r);
	free(data);
	if (ret < 0) {
		/* recreate it from the Maildir; UIDVALIDITY changes */
		i_error("%s: %s, recreating", path, *error_r);
		maildir_uidlist_clear(ul);
		ul->next_uid = 1;
		return 0;
	}
	ul->exists = true;
	return 0;
}

int maildir_uidlist_read_tail(const char *path, struct maildir_uidlist *ul)
{
	char head[UIDLIST_MAX_LINE / 16], tail[4096], *nl, *line;
	struct stat st;
	ssize_t n;
	off_t off;
	int fd;

	maildir_uidlist_clear(ul);
	fd = open(path, O_RDONLY);
	if (fd < 0)
		return -1;
	if (fstat(fd, &st) < 0 || st.st_size < 2 ||
	    (n = pread(fd, head, sizeof(head) - 1, 0)) <= 0) {
		(void)close(fd);
		return -1;
	}
	head[n] = '\0';
	nl = strchr(head, '\n');
	if (nl == NULL) {
		(void)close(fd);
		return -1;
	}
	*nl = '\0';
	if (parse_header(head, ul) < 0 || ul->version != 3 ||
	    ul->uidvalidity == 0 || ul->guid[0] == '\0' || ul->next_uid == 0) {
		(void)close(fd);
		maildir_uidlist_clear(ul);
		return -1;
	}
	off = st.st_size > (off_t)sizeof(tail) - 1 ?
		st.st_size - (off_t)sizeof(tail) + 1 : 0;
	n = pread(fd, tail, sizeof(tail) - 1, off);
	(void)close(fd);
	if (n <= 0 || tail[n - 1] != '\n') {
		maildir_uidlist_clear(ul);
		return -1;
	}
	tail[n - 1] = '\0';
	line = strrchr(tail, '\n');
	if (line == NULL && off != 0) {
		maildir_uidlist_clear(ul);
		return -1;
	}
	line = line == NULL ? tail : line + 1;
	if (off == 0 && line == tail) {
		/* only the header */
	} else {
		uint32_t uid = (uint32_t)strtoul(line, NULL, 10);
		if (uid == 0) {
			maildir_uidlist_clear(ul);
			return -1;
		}
		if (uid >= ul->next_uid)
			ul->next_uid = uid + 1;
	}
	ul->exists = true;
	ul->clean_end = true;
	return 0;
}

static void append_rec(string_t *str, const struct uidlist_rec *rec)
{
	str_printfa(str, "%u", rec->uid);
	if (rec->ext != NULL)
		str_printfa(str, " %s", rec->ext);
	str_printfa(str, " :%s\n", rec->base);
}

static int write_fd_data(int fd, const char *path, string_t *str,
			 enum mail_fsync_mode fsync_mode)
{
	if (write_full(fd, str_data(str), str_len(str)) < 0) {
		i_error("write(%s) failed: %s", path, strerror(errno));
		return -1;
	}
	if (fsync_mode != FSYNC_MODE_NEVER && fdatasync(fd) < 0) {
		i_error("fdatasync(%s) failed: %s", path, strerror(errno));
		return -1;
	}
	return 0;
}

int maildir_uidlist_write(const char *path, struct maildir_uidlist *ul,
			  enum mail_fsync_mode fsync_mode)
{
	char *tmp_path = i_strdup_printf("%s.tmp", path);
	string_t *str = str_new(128 + ul->count * 64);
	unsigned int i;
	int fd, ret = 0;

	if (ul->uidvalidity == 0)
		ul->uidvalidity = (uint32_t)time(NULL);
	if (ul->guid[0] == '\0')
		maildir_guid_generate(ul->guid);
	str_printfa(str, "3 V%u N%u G%s", ul->uidvalidity, ul->next_uid,
		    ul->guid);
	if (ul->hdr_ext != NULL)
		str_printfa(str, " %s", ul->hdr_ext);
	str_append_c(str, '\n');
	for (i = 0; i < ul->count; i++)
		append_rec(str, &ul->recs[i]);

	fd = open(tmp_path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	if (fd < 0) {
		i_error("open(%s) failed: %s", tmp_path, strerror(errno));
		ret = -1;
	} else {
		ret = write_fd_data(fd, tmp_path, str, fsync_mode);
		if (close(fd) < 0 && ret == 0) {
			i_error("close(%s) failed: %s", tmp_path, strerror(errno));
			ret = -1;
		}
		if (ret == 0 && rename(tmp_path, path) < 0) {
			i_error("rename(%s) failed: %s", path, strerror(errno));
			ret = -1;
		}
		if (ret < 0)
			(void)unlink(tmp_path);
	}
	if (ret == 0) {
		ul->version = 3;
		ul->exists = true;
		ul->clean_end = true;
	}
	str_free(&str);
	free(tmp_path);
	return ret;
}

int maildir_uidlist_append(const char *path, struct maildir_uidlist *ul,
			   unsigned int first, enum mail_fsync_mode fsync_mode)
{
	string_t *str;
	unsigned int i;
	int fd, ret;

	if (!ul->exists || !ul->clean_end || ul->version != 3 ||
	    ul->guid[0] == '\0')
		return maildir_uidlist_write(path, ul, fsync_mode);
	fd = open(path, O_WRONLY | O_APPEND);
	if (fd < 0) {
		/* the caller may not have all records: never rewrite here */
		i_error("open(%s) failed: %s", path, strerror(errno));
		return -1;
	}
	str = str_new(128);
	for (i = first; i < ul->count; i++)
		append_rec(str, &ul->recs[i]);
	ret = write_fd_data(fd, path, str, fsync_mode);
	(void)close(fd);
	str_free(&str);
	return ret;
}

/* --- lock --- */

static bool lock_is_stale(const char *lock_path, ino_t *ino_r)
{
	char buf[300], host[256];
	struct stat st;
	ssize_t n;
	int fd;
	long pid;
	char *colon;

	/* gone meanwhile: not stale, just try again */
	if (stat(lock_path, &st) < 0)
		return false;
	*ino_r = st.st_ino;
	if (st.st_mtime + UIDLIST_LOCK_STALE_SECS < time(NULL))
		return true;
	fd = open(lock_path, O_RDONLY);
	if (fd < 0)
		return false;
	n = read(fd, buf, sizeof(buf) - 1);
	(void)close(fd);
	if (n <= 0) {
		/* storage_dotlock() writes "pid:host" right after creating
		   the file: still empty after a few seconds means its
		   creator was killed in between (don't wait 120 s for it) */
		return n == 0 &&
			st.st_mtime + UIDLIST_LOCK_EMPTY_STALE_SECS < time(NULL);
	}
	buf[n] = '\0';
	colon = strchr(buf, ':');
	if (colon == NULL)
		return false;
	*colon = '\0';
	pid = strtol(buf, NULL, 10);
	if (gethostname(host, sizeof(host)) < 0)
		return false;
	host[sizeof(host) - 1] = '\0';
	/* a lock of a dead process on this host is stale right away */
	if (strncmp(colon + 1, host, strlen(host)) == 0 &&
	    (colon[1 + strlen(host)] == '\0' || colon[1 + strlen(host)] == '\n') &&
	    pid > 0 && kill((pid_t)pid, 0) < 0 && errno == ESRCH)
		return true;
	return false;
}

int storage_dotlock(const char *path, const char **error_r)
{
	char *lock_path = i_strdup_printf("%s.lock", path);
	uint64_t start = time_monotonic_ms();
	unsigned int sleep_us = 1000;
	char host[256], content[320];
	int fd;

	for (;;) {
		fd = open(lock_path, O_WRONLY | O_CREAT | O_EXCL, 0600);
		if (fd >= 0)
			break;
		if (errno != EEXIST) {
			i_error("open(%s) failed: %s", lock_path, strerror(errno));
			*error_r = "Internal error: can't lock mailbox";
			free(lock_path);
			return -1;
		}
		ino_t ino;
		struct stat st;
		if (lock_is_stale(lock_path, &ino)) {
			/* only if it's still the same lock file */
			if (stat(lock_path, &st) == 0 && st.st_ino == ino) {
				i_warning("Overriding stale lock %s", lock_path);
				(void)unlink(lock_path);
			}
			continue;
		}
		if (time_monotonic_ms() - start > UIDLIST_LOCK_WAIT_SECS * 1000) {
			i_error("Timeout waiting for lock %s", lock_path);
			*error_r = "Timeout while waiting for mailbox lock";
			free(lock_path);
			return -1;
		}
		usleep(sleep_us);
		if (sleep_us < 50000)
			sleep_us *= 2;
	}
	if (gethostname(host, sizeof(host)) < 0)
		strcpy(host, "localhost");
	host[sizeof(host) - 1] = '\0';
	snprintf(content, sizeof(content), "%ld:%s", (long)getpid(), host);
	(void)write_full(fd, content, strlen(content));
	(void)close(fd);
	free(lock_path);
	return 0;
}

void storage_dotunlock(const char *path)
{
	char *lock_path = i_strdup_printf("%s.lock", path);

	if (unlink(lock_path) < 0 && errno != ENOENT)
		i_error("unlink(%s) failed: %s", lock_path, strerror(errno));
	free(lock_path);
}

int maildir_uidlist_lock(const char *control_dir, const char **error_r)
{
	char *path = i_strdup_printf("%s/" UIDLIST_NAME, control_dir);
	int ret = storage_dotlock(path, error_r);

	free(path);
	return ret;
}

void maildir_uidlist_unlock(const char *control_dir)
{
	char *path = i_strdup_printf("%s/" UIDLIST_NAME, control_dir);

	storage_dotunlock(path);
	free(path);
}

void maildir_guid_generate(char guid[33])
{
	unsigned char buf[16];
	unsigned int i;

	if (getrandom(buf, sizeof(buf), 0) != sizeof(buf)) {
		uint64_t t = time_monotonic_ms() ^ (uint64_t)getpid() << 32;
		memcpy(buf, &t, 8);
		memcpy(buf + 8, &t, 8);
	}
	for (i = 0; i < 16; i++)
		snprintf(guid + i * 2, 3, "%02x", buf[i]);
}

/* Dovecot's scheme (mailbox-uidvalidity.c): <root>/dovecot-uidvalidity
   holds the last value as %08x and an empty dovecot-uidvalidity.<%08x>
   file is renamed to the next value, which makes the increment atomic
   between processes (and between Dovecot and loft). */
static int uidvalidity_rename(const char *path, uint32_t *value)
{
	unsigned int i;
	int ret = -1;

	for (i = 0; i < 10; i++) {
		char *src = i_strdup_printf("%s.%08x", path, *value);
		char *dest = i_strdup_printf("%s.%08x", path, *value + 1);
		*value += 1;
		ret = rename(src, dest);
		free(src);
		free(dest);
		if (ret == 0 || errno != ENOENT)
			break;
	}
	return ret;
}

static uint32_t uidvalidity_rescan(const char *root, const char *path)
{
	uint32_t max = 0, v, now = (uint32_t)time(NULL);
	struct dirent *d;
	char *end;
	DIR *dir = opendir(root);
	int fd;

	while (dir != NULL && (d = readdir(dir)) != NULL) {
		if (!str_begins(d->d_name, "dovecot-uidvalidity."))
			continue;
		v = (uint32_t)strtoul(d->d_name + 20, &end, 16);
		if (*end == '\0' && v > max)
			max = v;
	}
	if (dir != NULL)
		closedir(dir);
	if (max != 0 && uidvalidity_rename(path, &max) == 0)
		return max;
	v = max >= now ? max + 1 : now;
	char *f = i_strdup_printf("%s.%08x", path, v);
	fd = open(f, O_RDWR | O_CREAT | O_EXCL, 0444);
	if (fd >= 0)
		(void)close(fd);
	free(f);
	return v;
}

uint32_t maildir_uidvalidity_next(const char *root)
{
	char *path = i_strdup_printf("%s/dovecot-uidvalidity", root);
	char buf[9], *end;
	uint32_t value = 0;
	ssize_t n = -1;
	int fd;

	fd = open(path, O_RDONLY);
	if (fd >= 0) {
		n = read(fd, buf, 8);
		(void)close(fd);
	}
	if (n == 8) {
		buf[8] = '\0';
		value = (uint32_t)strtoul(buf, &end, 16);
		if (*end != '\0' || uidvalidity_rename(path, &value) < 0)
			value = 0;
	}
	if (value == 0)
		value = uidvalidity_rescan(root, path);
	snprintf(buf, sizeof(buf), "%08x", value);
	fd = open(path, O_WRONLY | O_CREAT, 0600);
	if (fd < 0 || pwrite(fd, buf, 8, 0) != 8)
		i_error("write(%s) failed: %s", path, strerror(errno));
	if (fd >= 0)
		(void)close(fd);
	free(path);
	return value;
}
