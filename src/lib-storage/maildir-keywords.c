/* dovecot-keywords: "<index> <name>\n" lines; Maildir filename letter
   'a' + index (0..25). Written under the dovecot-uidlist lock, as
   Dovecot requires for adding keywords. */
#include "storage-private.h"
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <strings.h>
#include <unistd.h>

#define KEYWORDS_MAX_FILE_SIZE (64 * 1024)

void maildir_keywords_clear(struct maildir_keywords *kw)
{
	unsigned int i;

	for (i = 0; i < MAILDIR_MAX_KEYWORDS; i++)
		i_free(kw->names[i]);
	kw->changed = false;
}

bool maildir_keyword_is_valid(const char *name)
{
	const unsigned char *p = (const unsigned char *)name;

	if (*p == '\0' || *p == '\\' || strlen(name) > KEYWORD_NAME_MAX_LENGTH)
		return false;
	for (; *p != '\0'; p++) {
		/* atom-specials (RFC 3501 9) and 8bit are not allowed */
		if (*p <= 0x20 || *p >= 0x7f || strchr("(){%*\"\\]", *p) != NULL)
			return false;
	}
	return true;
}

int maildir_keywords_read(const char *path, struct maildir_keywords *kw)
{
	char *data, *line, *next, *sp;
	size_t size;
	uint32_t idx;

	maildir_keywords_clear(kw);
	if (read_file(path, KEYWORDS_MAX_FILE_SIZE, &data, &size) < 0) {
		if (errno == ENOENT)
			return 0;
		i_error("read(%s) failed: %s", path, strerror(errno));
		return -1;
	}
	for (line = data; line != NULL && *line != '\0'; line = next) {
		next = strchr(line, '\n');
		if (next != NULL)
			*next++ = '\0';
		sp = strchr(line, ' ');
		if (sp == NULL)
			continue;
		*sp = '\0';
		if (str_to_uint32(line, &idx) < 0 ||
		    idx >= MAILDIR_MAX_KEYWORDS || sp[1] == '\0' ||
		    !maildir_keyword_is_valid(sp + 1) || kw->names[idx] != NULL)
			continue;
		kw->names[idx] = i_strdup(sp + 1);
	}
	free(data);
	return 0;
}

int maildir_keywords_write(const char *path, struct maildir_keywords *kw,
			   enum mail_fsync_mode fsync_mode)
{
	char *tmp = i_strdup_printf("%s.tmp", path);
	string_t *str = str_new(256);
	unsigned int i;
	int fd, ret = -1;

	for (i = 0; i < MAILDIR_MAX_KEYWORDS; i++) {
		if (kw->names[i] != NULL)
			str_printfa(str, "%u %s\n", i, kw->names[i]);
	}
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	if (fd < 0) {
		i_error("open(%s) failed: %s", tmp, strerror(errno));
	} else {
		if (write_full(fd, str_data(str), str_len(str)) < 0)
			i_error("write(%s) failed: %s", tmp, strerror(errno));
		else if (fsync_mode != FSYNC_MODE_NEVER && fdatasync(fd) < 0)
			i_error("fdatasync(%s) failed: %s", tmp, strerror(errno));
		else
			ret = 0;
		if (close(fd) < 0)
			ret = -1;
		if (ret == 0 && rename(tmp, path) < 0) {
			i_error("rename(%s) failed: %s", path, strerror(errno));
			ret = -1;
		}
		if (ret < 0)
			(void)unlink(tmp);
	}
	if (ret == 0)
		kw->changed = false;
	str_free(&str);
	free(tmp);
	return ret;
}

int maildir_keywords_lookup(struct maildir_keywords *kw, const char *name,
			    bool add)
{
	int i, free_idx = -1;

	for (i = 0; i < MAILDIR_MAX_KEYWORDS; i++) {
		if (kw->names[i] == NULL) {
			if (free_idx < 0)
				free_idx = i;
		} else if (strcasecmp(kw->names[i], name) == 0) {
			return i;
		}
	}
	if (!add || free_idx < 0)
		return -1;
	kw->names[free_idx] = i_strdup(name);
	kw->changed = true;
	return free_idx;
}
