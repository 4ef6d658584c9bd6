/* passwd-file parsing and lookups with reload on change. */
#include "passwd-file.h"
#include "password-scheme.h"
#include "log.h"

#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <stdlib.h>
#include <sys/stat.h>

#define PASSWD_FILE_FIELDS 7 /* user..shell; the rest is extra fields */

struct passwd_file {
	struct passwd_user *users; /* sorted by user */
	unsigned int count;
};

struct passwd_file_cache {
	char *path;
	struct passwd_file *file;
	dev_t dev;
	ino_t ino;
	off_t size;
	struct timespec mtime;
};

struct passwd_file_db {
	char *path;
	char *username_format;
	char *scheme;
	bool path_has_vars;
	struct passwd_file_cache cache[PASSWD_FILE_MAX_CACHED_FILES];
	unsigned int cache_count;
};

static void passwd_user_free(struct passwd_user *pu)
{
	if (pu->password != NULL)
		safe_memset(pu->password, 0, strlen(pu->password));
	free(pu->user);
	free(pu->password);
	free(pu->gecos);
	free(pu->home);
	free(pu->shell);
	str_split_free(&pu->extra_fields);
}

static char *field_or_null(const char *s, size_t len)
{
	return len == 0 ? NULL : i_strndup(s, len);
}

static int parse_id(const char *s, size_t len, bool is_uid, uint32_t *id_r)
{
	char *str = i_strndup(s, len);
	int ret = 0;

	if (str_to_uint32(str, id_r) == 0) {
		/* numeric */
	} else if (is_uid) {
		struct passwd *pw = getpwnam(str);
		if (pw == NULL)
			ret = -1;
		else
			*id_r = pw->pw_uid;
	} else {
		struct group *gr = getgrnam(str);
		if (gr == NULL)
			ret = -1;
		else
			*id_r = gr->gr_gid;
	}
	free(str);
	return ret;
}

static char **parse_extra_fields(const char *s, size_t len,
				 const char **error_r)
{
	char **fields = i_new(char *, PASSWD_FILE_MAX_EXTRA_FIELDS + 1);
	unsigned int count = 0;
	size_t i = 0;

	while (i < len) {
		while (i < len && s[i] == ' ')
			i++;
		size_t start = i;
		while (i < len && s[i] != ' ')
			i++;
		if (i == start)
			continue;
		if (count == PASSWD_FILE_MAX_EXTRA_FIELDS) {
			*error_r = "Too many extra fields";
			str_split_free(&fields);
			return NULL;
		}
		if (s[start] == '=') {
			*error_r = "Extra field with empty key";
			str_split_free(&fields);
			return NULL;
		}
		fields[count++] = i_strndup(s + start, i - start);
	}
	return fields;
}

/* Parse one non-comment line. Returns 0, or -1 with *error_r. */
static int parse_line(const char *line, size_t len, struct passwd_user *pu,
		      const char **error_r)
{
	const char *f[PASSWD_FILE_FIELDS];
	size_t flen[PASSWD_FILE_FIELDS];
	const char *extra = NULL;
	size_t extra_len = 0;
	unsigned int n = 0;
	size_t start = 0;

	memset(pu, 0, sizeof(*pu));
	if (memchr(line, '\0', len) != NULL) {
		*error_r = "NUL byte in line";
		return -1;
	}
	for (size_t i = 0; i <= len; i++) {
		if (i < len && line[i] != ':')
			continue;
		f[n] = line + start;
		flen[n] = i - start;
		n++;
		start = i + 1;
		if (n == PASSWD_FILE_FIELDS) {
			if (i < len) {
				extra = line + start;
				extra_len = len - start;
			}
			break;
		}
	}
	for (unsigned int i = n; i < PASSWD_FILE_FIELDS; i++) {
		f[i] = "";
		flen[i] = 0;
	}
	if (flen[0] == 0) {
		*error_r = "Empty username";
		return -1;
	}
	uint32_t id;
	if (flen[2] > 0) {
		if (parse_id(f[2], flen[2], true, &id) < 0) {
			*error_r = "Invalid uid";
			return -1;
		}
		pu->uid = (uid_t)id;
		pu->uid_set = true;
	}
	if (flen[3] > 0) {
		if (parse_id(f[3], flen[3], false, &id) < 0) {
			*error_r = "Invalid gid";
			return -1;
		}
		pu->gid = (gid_t)id;
		pu->gid_set = true;
	}
	if (extra != NULL) {
		pu->extra_fields = parse_extra_fields(extra, extra_len, error_r);
		if (pu->extra_fields == NULL)
			return -1;
	} else {
		pu->extra_fields = i_new(char *, 1);
	}
	pu->user = i_strndup(f[0], flen[0]);
	pu->password = field_or_null(f[1], flen[1]);
	pu->gecos = field_or_null(f[4], flen[4]);
	pu->home = field_or_null(f[5], flen[5]);
	pu->shell = field_or_null(f[6], flen[6]);
	return 0;
}

struct sort_entry {
	struct passwd_user user;
	unsigned int line;
};

static int sort_entry_cmp(const void *a, const void *b)
{
	const struct sort_entry *e1 = a, *e2 = b;
	int ret = strcmp(e1->user.user, e2->user.user);
	if (ret != 0)
		return ret;
	return e1->line < e2->line ? -1 : e1->line > e2->line ? 1 : 0;
}

struct passwd_file *passwd_file_parse(const char *path, const char *data,
				      size_t size)
{
	struct sort_entry *entries = NULL;
	unsigned int count = 0, alloc = 0, line_num = 0;
	size_t pos = 0;
	const char *error;

	while (pos < size) {
		const char *nl = memchr(data + pos, '\n', size - pos);
		size_t len = nl == NULL ? size - pos : (size_t)(nl - (data + pos));
		const char *line = data + pos;

		pos += len + (nl == NULL ? 0 : 1);
		line_num++;
		if (len > 0 && line[len - 1] == '\r')
			len--;
		if (len == 0 || line[0] == '#')
			continue;
		if (len > PASSWD_FILE_MAX_LINE) {
			i_error("passwd-file %s:%u: Line too long, ignored",
				path, line_num);
			continue;
		}
		if (count == alloc) {
			alloc = alloc == 0 ? 64 : alloc * 2;
			entries = i_realloc(entries, alloc * sizeof(*entries));
		}
		if (parse_line(line, len, &entries[count].user, &error) < 0) {
			passwd_user_free(&entries[count].user);
			i_error("passwd-file %s:%u: %s, line ignored",
				path, line_num, error);
			continue;
		}
		entries[count].line = line_num;
		count++;
	}

	struct passwd_file *file = i_new(struct passwd_file, 1);
	if (count > 0)
		qsort(entries, count, sizeof(*entries), sort_entry_cmp);
	file->users = i_new(struct passwd_user, count + 1);
	for (unsigned int i = 0; i < count; i++) {
		if (file->count > 0 &&
		    strcmp(file->users[file->count - 1].user,
			   entries[i].user.user) == 0) {
			i_error("passwd-file %s:%u: User %s exists more than once, "
				"line ignored", path, entries[i].line,
				entries[i].user.user);
			passwd_user_free(&entries[i].user);
			continue;
		}
		file->users[file->count++] = entries[i].user;
	}
	free(entries);
	return file;
}

void passwd_file_free(struct passwd_file **_file)
{
	struct passwd_file *file = *_file;
	if (file == NULL)
		return;
	for (unsigned int i = 0; i < file->count; i++)
		passwd_user_free(&file->users[i]);
	free(file->users);
	free(file);
	*_file = NULL;
}

unsigned int passwd_file_count(const struct passwd_file *file)
{
	return file->count;
}

const struct passwd_user *passwd_file_find(const struct passwd_file *file,
					   const char *user)
{
	unsigned int lo = 0, hi = file->count;
	while (lo < hi) {
		unsigned int mid = lo + (hi - lo) / 2;
		int ret = strcmp(user, file->users[mid].user);
		if (ret == 0)
			return &file->users[mid];
		if (ret < 0)
			hi = mid;
		else
			lo = mid + 1;
	}
	return NULL;
}

const char *passwd_user_extra_field(const struct passwd_user *pu,
				    const char *key)
{
	size_t key_len = strlen(key);
	for (unsigned int i = 0; pu->extra_fields[i] != NULL; i++) {
		const char *f = pu->extra_fields[i];
		if (strncmp(f, key, key_len) != 0)
			continue;
		if (f[key_len] == '=')
			return f + key_len + 1;
		if (f[key_len] == '\0')
			return "";
	}
	return NULL;
}

/* Split args at spaces, keeping 2.4 "%{user | domain}" in one word. */
static char **args_split(const char *args)
{
	char **words = str_split(args, " \t");
	unsigned int n = 0;

	for (unsigned int i = 0; words[i] != NULL; i++) {
		char *w = words[i];
		while (strstr(w, "%{") != NULL &&
		       strchr(strrchr(w, '{'), '}') == NULL &&
		       words[i + 1] != NULL) {
			char *joined = i_strdup_printf("%s %s", w, words[++i]);
			free(w);
			free(words[i]);
			words[i] = NULL;
			w = joined;
		}
		words[n++] = w;
	}
	words[n] = NULL;
	return words;
}

struct passwd_file_db *passwd_file_db_create(const char *args,
					     const char *default_scheme,
					     char **error_r)
{
	struct passwd_file_db *db = i_new(struct passwd_file_db, 1);
	char **words = args_split(args == NULL ? "" : args);

	db->scheme = i_strdup(default_scheme != NULL && default_scheme[0] != '\0' ?
			      default_scheme : PASSWORD_DEFAULT_SCHEME);
	db->username_format = i_strdup("%u");
	for (unsigned int i = 0; words[i] != NULL; i++) {
		const char *w = words[i];
		if (w[0] == '\0')
			continue;
		if (str_begins(w, "scheme=")) {
			free(db->scheme);
			db->scheme = i_strdup(w + 7);
		} else if (str_begins(w, "username_format=")) {
			free(db->username_format);
			db->username_format = i_strdup(w + 16);
		} else if (db->path == NULL && strchr(w, '=') == NULL) {
			db->path = i_strdup(w);
		} else {
			*error_r = i_strdup_printf("passwd-file: Unknown setting in args: %s", w);
			goto fail;
		}
	}
	if (db->path == NULL) {
		*error_r = i_strdup("passwd-file: Missing file path in args");
		goto fail;
	}
	if (!password_scheme_is_known(db->scheme)) {
		*error_r = i_strdup_printf("passwd-file: Unknown scheme: %s", db->scheme);
		goto fail;
	}
	db->path_has_vars = strchr(db->path, '%') != NULL;
	/* check the templates once with dummy values */
	struct auth_var_values vals = { .user = "u@d" };
	string_t *tmp = str_new(64);
	const char *error;
	if (auth_var_expand(db->path, &vals, tmp, &error) < 0 ||
	    auth_var_expand(db->username_format, &vals, tmp, &error) < 0) {
		*error_r = i_strdup_printf("passwd-file: Invalid args %s: %s",
					   args, error);
		str_free(&tmp);
		goto fail;
	}
	str_free(&tmp);
	str_split_free(&words);
	return db;
fail:
	str_split_free(&words);
	passwd_file_db_destroy(&db);
	return NULL;
}

void passwd_file_db_destroy(struct passwd_file_db **_db)
{
	struct passwd_file_db *db = *_db;
	if (db == NULL)
		return;
	for (unsigned int i = 0; i < db->cache_count; i++) {
		free(db->cache[i].path);
		passwd_file_free(&db->cache[i].file);
	}
	free(db->path);
	free(db->username_format);
	free(db->scheme);
	free(db);
	*_db = NULL;
}

const char *passwd_file_db_default_scheme(const struct passwd_file_db *db)
{
	return db->scheme;
}

const char *passwd_file_db_path(const struct passwd_file_db *db)
{
	return db->path;
}

static bool stat_changed(const struct passwd_file_cache *c, const struct stat *st)
{
	return c->file == NULL || c->dev != st->st_dev || c->ino != st->st_ino ||
		c->size != st->st_size ||
		c->mtime.tv_sec != st->st_mtim.tv_sec ||
		c->mtime.tv_nsec != st->st_mtim.tv_nsec;
}

/* Returns 1 with *file_r, 0 if the file doesn't exist, -1 on error. */
static int db_get_file(struct passwd_file_db *db, const char *path,
		       struct passwd_file **file_r, const char **error_r)
{
	struct passwd_file_cache *c = NULL;
	struct stat st;

	for (unsigned int i = 0; i < db->cache_count; i++) {
		if (strcmp(db->cache[i].path, path) == 0)
			c = &db->cache[i];
	}
	if (stat(path, &st) < 0) {
		if (errno == ENOENT && db->path_has_vars)
			return 0;
		i_error("passwd-file %s: stat() failed: %m", path);
		*error_r = "passwd-file unreadable";
		return -1;
	}
	if (c != NULL && !stat_changed(c, &st)) {
		*file_r = c->file;
		return 1;
	}
	char *data;
	size_t size;
	if (read_file(path, PASSWD_FILE_MAX_SIZE, &data, &size) < 0) {
		if (errno == EFBIG)
			i_error("passwd-file %s: File too large (max %u bytes)",
				path, (unsigned int)PASSWD_FILE_MAX_SIZE);
		else
			i_error("passwd-file %s: read() failed: %m", path);
		*error_r = "passwd-file unreadable";
		return -1;
	}
	if (c == NULL) {
		if (db->cache_count == PASSWD_FILE_MAX_CACHED_FILES) {
			/* drop the oldest */
			free(db->cache[0].path);
			passwd_file_free(&db->cache[0].file);
			memmove(db->cache, db->cache + 1,
				sizeof(db->cache[0]) * (db->cache_count - 1));
			db->cache_count--;
		}
		c = &db->cache[db->cache_count++];
		memset(c, 0, sizeof(*c));
		c->path = i_strdup(path);
	} else {
		passwd_file_free(&c->file);
	}
	c->file = passwd_file_parse(path, data, size);
	safe_memset(data, 0, size);
	free(data);
	c->dev = st.st_dev;
	c->ino = st.st_ino;
	c->size = st.st_size;
	c->mtime = st.st_mtim;
	i_debug("passwd-file %s: Read %u users", path, c->file->count);
	*file_r = c->file;
	return 1;
}

int passwd_file_db_lookup(struct passwd_file_db *db,
			  const struct auth_var_values *vals,
			  const struct passwd_user **user_r,
			  const char **error_r)
{
	string_t *key = str_new(64), *path = str_new(128);
	struct passwd_file *file;
	int ret;

	*user_r = NULL;
	if (auth_var_expand(db->username_format, vals, key, error_r) < 0) {
		ret = -1;
		goto out;
	}
	/* as Dovecot: the path sees the request's user, username_format
	   only makes the key looked up in the file */
	if (auth_var_expand(db->path, vals, path, error_r) < 0) {
		ret = -1;
		goto out;
	}
	/* a user can't pick another file than the template allows */
	if (db->path_has_vars &&
	    (strchr(vals->user == NULL ? "" : vals->user, '/') != NULL ||
	     strstr(str_c(path), "..") != NULL)) {
		ret = 0;
		goto out;
	}
	ret = db_get_file(db, str_c(path), &file, error_r);
	if (ret > 0) {
		*user_r = passwd_file_find(file, str_c(key));
		ret = *user_r != NULL ? 1 : 0;
	}
out:
	str_free(&key);
	str_free(&path);
	return ret;
}
