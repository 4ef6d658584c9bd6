/* Dovecot's "subscriptions" file. Version 2 (Dovecot 2.2.x+): header
   "V\t2\n\n", then one name per line with the hierarchy levels separated
   by TAB and each level tab-escaped (\001 -> \0011, \t -> \001t,
   \r -> \001r, \n -> \001n). The old format has no header and one
   storage name per line (Maildir++: levels joined with '.'). */
#include "storage-private.h"
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <strings.h>
#include <unistd.h>

#define SUBS_MAX_FILE_SIZE (4 * 1024 * 1024)
static const char version2_header[] = "V\t2\n\n";

static void tab_unescape(string_t *dest, const char *src, size_t len)
{
	size_t i;

	for (i = 0; i < len; i++) {
		if (src[i] != '\001' || i + 1 == len) {
			str_append_c(dest, src[i]);
			continue;
		}
		i++;
		switch (src[i]) {
		case '1': str_append_c(dest, '\001'); break;
		case 't': str_append_c(dest, '\t'); break;
		case 'r': str_append_c(dest, '\r'); break;
		case 'n': str_append_c(dest, '\n'); break;
		default: str_append_c(dest, src[i]); break;
		}
	}
}

static void tab_escape(string_t *dest, const char *src)
{
	for (; *src != '\0'; src++) {
		switch (*src) {
		case '\001': str_append(dest, "\0011"); break;
		case '\t': str_append(dest, "\001t"); break;
		case '\r': str_append(dest, "\001r"); break;
		case '\n': str_append(dest, "\001n"); break;
		default: str_append_c(dest, *src); break;
		}
	}
}

static char *v2_line_to_name(const char *line)
{
	string_t *str = str_new(64);
	const char *p;

	while ((p = strchr(line, '\t')) != NULL) {
		tab_unescape(str, line, p - line);
		str_append_c(str, '.');
		line = p + 1;
	}
	tab_unescape(str, line, strlen(line));
	return str_free_without_data(&str);
}

int subsfile_read(const char *path, char ***names_r)
{
	char *data, *line, *next, **names;
	unsigned int count = 0, alloc = 16;
	size_t size;
	bool v2;

	names = i_new(char *, alloc);
	*names_r = names;
	if (read_file(path, SUBS_MAX_FILE_SIZE, &data, &size) < 0) {
		if (errno == ENOENT)
			return 0;
		i_error("read(%s) failed: %s", path, strerror(errno));
		return -1;
	}
	v2 = str_begins(data, version2_header);
	line = v2 ? data + strlen(version2_header) : data;
	for (; line != NULL && *line != '\0'; line = next) {
		next = strchr(line, '\n');
		if (next != NULL)
			*next++ = '\0';
		if (line[0] == '\0' || strlen(line) > 4 * MAILBOX_NAME_MAX_LENGTH)
			continue;
		if (count + 1 >= alloc) {
			alloc *= 2;
			names = i_realloc(names, alloc * sizeof(*names));
		}
		names[count] = v2 ? v2_line_to_name(line) : i_strdup(line);
		if (strcasecmp(names[count], "INBOX") == 0)
			strcpy(names[count], "INBOX");
		names[++count] = NULL;
	}
	free(data);
	*names_r = names;
	return 0;
}

static void append_v2(string_t *str, const char *name)
{
	char **levels = str_split(name, ".");
	unsigned int i;

	for (i = 0; levels[i] != NULL; i++) {
		if (i > 0)
			str_append_c(str, '\t');
		tab_escape(str, levels[i]);
	}
	str_append_c(str, '\n');
	str_split_free(&levels);
}

static int write_names(const char *path, char **names,
		       enum mail_fsync_mode fsync_mode)
{
	char *tmp = i_strdup_printf("%s.tmp", path);
	string_t *str = str_new(1024);
	unsigned int i;
	int fd, ret = -1;

	str_append(str, version2_header);
	for (i = 0; names[i] != NULL; i++) {
		if (names[i][0] != '\0')
			append_v2(str, names[i]);
	}
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	if (fd < 0) {
		i_error("open(%s) failed: %s", tmp, strerror(errno));
	} else {
		if (write_full(fd, str_data(str), str_len(str)) == 0 &&
		    (fsync_mode == FSYNC_MODE_NEVER || fsync(fd) == 0))
			ret = 0;
		else
			i_error("write(%s) failed: %s", tmp, strerror(errno));
		if (close(fd) < 0)
			ret = -1;
		if (ret == 0 && rename(tmp, path) < 0) {
			i_error("rename(%s) failed: %s", path, strerror(errno));
			ret = -1;
		}
		if (ret < 0)
			(void)unlink(tmp);
	}
	str_free(&str);
	free(tmp);
	return ret;
}

static bool name_is_or_under(const char *name, const char *parent)
{
	size_t len = strlen(parent);

	return strncmp(name, parent, len) == 0 &&
		(name[len] == '\0' || name[len] == '.');
}

int subsfile_update(const char *path, const char *name, bool set,
		    const char *rename_to, enum mail_fsync_mode fsync_mode)
{
	const char *error;
	char **names;
	unsigned int i, count;
	bool found = false, changed = false;
	int ret;

	if (storage_dotlock(path, &error) < 0)
		return -1;
	if (subsfile_read(path, &names) < 0) {
		str_split_free(&names);
		storage_dotunlock(path);
		return -1;
	}
	count = str_array_length(names);
	for (i = 0; i < count; i++) {
		if (rename_to != NULL) {
			if (name_is_or_under(names[i], name)) {
				char *n = i_strdup_printf("%s%s", rename_to,
						names[i] + strlen(name));
				free(names[i]);
				names[i] = n;
				changed = true;
			}
		} else if (strcmp(names[i], name) == 0) {
			found = true;
			if (!set) {
				names[i][0] = '\0';
				changed = true;
			}
		}
	}
	if (rename_to == NULL && set && !found) {
		names = i_realloc(names, (count + 2) * sizeof(*names));
		names[count] = i_strdup(name);
		names[count + 1] = NULL;
		changed = true;
	}
	ret = changed ? write_names(path, names, fsync_mode) : 0;
	str_split_free(&names);
	storage_dotunlock(path);
	return ret;
}
