/* mail_location parsing: "maildir:<root>[:KEY=value...]" with Dovecot's
   variables %u %n %d %h (and %{user} %{username} %{domain} %{home}). */
#include "storage-private.h"
#include <stdlib.h>

#define MAIL_LOCATION_MAX_LENGTH 4096

static const char *var_value(const char *key, size_t len, const char *user,
			     const char *home, size_t *len_r)
{
	const char *at = strchr(user, '@');

	*len_r = (size_t)-1;
	if ((len == 1 && key[0] == 'u') ||
	    (len == 4 && memcmp(key, "user", 4) == 0))
		return user;
	if ((len == 1 && key[0] == 'n') ||
	    (len == 8 && memcmp(key, "username", 8) == 0)) {
		if (at != NULL)
			*len_r = at - user;
		return user;
	}
	if ((len == 1 && key[0] == 'd') ||
	    (len == 6 && memcmp(key, "domain", 6) == 0))
		return at == NULL ? "" : at + 1;
	if ((len == 1 && key[0] == 'h') ||
	    (len == 4 && memcmp(key, "home", 4) == 0))
		return home;
	return NULL;
}

/* Expand variables and a leading '~'. Caller frees. */
static char *expand(const char *in, const char *user, const char *home,
		    const char **error_r)
{
	string_t *str = str_new(128);
	const char *p, *end, *val;
	size_t vlen;

	if (in[0] == '~' && (in[1] == '/' || in[1] == '\0')) {
		if (home == NULL || home[0] == '\0') {
			*error_r = "mail_location uses ~ but the user has no home";
			str_free(&str);
			return NULL;
		}
		str_append(str, home);
		in++;
	}
	for (p = in; *p != '\0'; p++) {
		if (*p != '%') {
			str_append_c(str, *p);
			continue;
		}
		if (p[1] == '%') {
			str_append_c(str, '%');
			p++;
			continue;
		}
		if (p[1] == '{' && (end = strchr(p + 2, '}')) != NULL) {
			val = var_value(p + 2, end - (p + 2), user, home,
					&vlen);
			p = end;
		} else if (p[1] != '\0') {
			val = var_value(p + 1, 1, user, home, &vlen);
			p++;
		} else {
			val = NULL;
		}
		if (val == NULL) {
			*error_r = "mail_location: unknown or empty variable";
			str_free(&str);
			return NULL;
		}
		str_append_n(str, val, vlen == (size_t)-1 ? strlen(val) : vlen);
	}
	return str_free_without_data(&str);
}

static char *strip_trailing_slash(char *path)
{
	size_t len = strlen(path);

	while (len > 1 && path[len - 1] == '/')
		path[--len] = '\0';
	return path;
}

static int set_key(struct mail_location *loc, const char *item,
		   const char *user, const char *home, const char **error_r)
{
	const char *eq = strchr(item, '=');
	char **dest = NULL;

	if (eq == NULL) {
		i_warning("mail_location: ignoring unknown parameter '%s'",
			  item);
		return 0;
	}
	if (str_begins(item, "INDEX="))
		dest = &loc->index_dir;
	else if (str_begins(item, "CONTROL="))
		dest = &loc->control_dir;
	else if (str_begins(item, "LAYOUT=")) {
		if (strcmp(eq + 1, "maildir++") == 0)
			return 0;
		/* LAYOUT=fs and others are not implemented yet */
		*error_r = "mail_location: only LAYOUT=maildir++ is supported";
		return -1;
	} else {
		i_warning("mail_location: ignoring unknown parameter '%s'",
			  item);
		return 0;
	}
	if (strcmp(eq + 1, "MEMORY") == 0) {
		/* Dovecot's in-memory index: keep ours with the Maildir */
		return 0;
	}
	free(*dest);
	*dest = expand(eq + 1, user, home, error_r);
	if (*dest == NULL)
		return -1;
	strip_trailing_slash(*dest);
	return 0;
}

int mail_location_parse(const char *location, const char *username,
			const char *home, struct mail_location *loc_r,
			const char **error_r)
{
	char **items;
	unsigned int i;
	int ret = 0;

	memset(loc_r, 0, sizeof(*loc_r));
	if (location == NULL || location[0] == '\0')
		location = "maildir:~/Maildir";
	if (strlen(location) > MAIL_LOCATION_MAX_LENGTH) {
		*error_r = "mail_location too long";
		return -1;
	}
	if (!str_begins(location, "maildir:")) {
		*error_r = "mail_location: only maildir: is supported";
		return -1;
	}
	items = str_split(location + 8, ":");
	if (items[0][0] == '\0') {
		*error_r = "mail_location: maildir root missing";
		ret = -1;
	} else {
		loc_r->root = expand(items[0], username, home, error_r);
		if (loc_r->root == NULL)
			ret = -1;
		else if (loc_r->root[0] != '/') {
			*error_r = "mail_location: root must be an absolute path";
			ret = -1;
		} else
			strip_trailing_slash(loc_r->root);
	}
	for (i = 1; ret == 0 && items[i] != NULL; i++) {
		if (items[i][0] == '\0')
			continue;
		ret = set_key(loc_r, items[i], username, home, error_r);
	}
	str_split_free(&items);
	if (ret == 0 && loc_r->index_dir == NULL)
		loc_r->index_dir = i_strdup(loc_r->root);
	if (ret < 0)
		mail_location_free(loc_r);
	return ret;
}

void mail_location_free(struct mail_location *loc)
{
	i_free(loc->root);
	i_free(loc->index_dir);
	i_free(loc->control_dir);
}
