/* %variable expansion (Dovecot 2.3 and 2.4 forms). */
#include "auth-var-expand.h"

#include <stdlib.h>
#include <ctype.h>

#define VAR_NAME_MAX_LEN 128

static const char *var_username(const char *user, size_t *len_r)
{
	const char *at = strchr(user, '@');
	*len_r = at == NULL ? strlen(user) : (size_t)(at - user);
	return user;
}

static const char *var_domain(const char *user, size_t *len_r)
{
	const char *at = strchr(user, '@');
	if (at == NULL) {
		*len_r = 0;
		return "";
	}
	*len_r = strlen(at + 1);
	return at + 1;
}

/* Value of a short (%x) or long (%{name}) variable, NULL if unknown. */
static const char *var_lookup(const char *name, size_t name_len,
			      const struct auth_var_values *vals,
			      size_t *len_r)
{
	static const struct {
		const char *short_name, *long_name, *long_name2;
		size_t offset;
	} vars[] = {
		{ "u", "user", NULL, offsetof(struct auth_var_values, user) },
		{ "s", "service", "protocol", offsetof(struct auth_var_values, service) },
		{ "r", "rip", "remote_ip", offsetof(struct auth_var_values, rip) },
		{ "l", "lip", "local_ip", offsetof(struct auth_var_values, lip) },
		{ "h", "home", NULL, offsetof(struct auth_var_values, home) },
		{ NULL, "session", NULL, offsetof(struct auth_var_values, session) },
	};
	const char *user = vals->user == NULL ? "" : vals->user;

	if ((name_len == 1 && name[0] == 'n') ||
	    (name_len == 8 && memcmp(name, "username", 8) == 0))
		return var_username(user, len_r);
	if ((name_len == 1 && name[0] == 'd') ||
	    (name_len == 6 && memcmp(name, "domain", 6) == 0))
		return var_domain(user, len_r);
	for (size_t i = 0; i < N_ELEMENTS(vars); i++) {
		bool match = false;
		const char *names[] = { vars[i].short_name, vars[i].long_name,
					vars[i].long_name2 };
		for (size_t j = 0; j < N_ELEMENTS(names); j++) {
			if (names[j] != NULL && strlen(names[j]) == name_len &&
			    memcmp(names[j], name, name_len) == 0)
				match = true;
		}
		if (match) {
			const char *v = *(const char *const *)
				((const char *)vals + vars[i].offset);
			if (v == NULL)
				v = "";
			*len_r = strlen(v);
			return v;
		}
	}
	return NULL;
}

static int apply_filter(const char *filter, size_t filter_len, string_t *value,
			const char **error_r)
{
	if (filter_len == 5 && memcmp(filter, "lower", 5) == 0)
		str_lcase(value->data);
	else if (filter_len == 5 && memcmp(filter, "upper", 5) == 0)
		str_ucase(value->data);
	else if (filter_len == 8 && memcmp(filter, "username", 8) == 0) {
		char *at = strchr(value->data, '@');
		if (at != NULL)
			str_truncate(value, (size_t)(at - value->data));
	} else if (filter_len == 6 && memcmp(filter, "domain", 6) == 0) {
		char *at = strchr(value->data, '@');
		if (at == NULL)
			str_truncate(value, 0);
		else
			str_delete(value, 0, (size_t)(at - value->data) + 1);
	} else {
		*error_r = "Unknown variable filter";
		return -1;
	}
	return 0;
}

static size_t skip_spaces(const char *s, size_t i, size_t end)
{
	while (i < end && s[i] == ' ')
		i++;
	return i;
}

/* %{name | filter | filter} between braces [start, end) */
static int expand_long(const char *s, size_t start, size_t end,
		       const struct auth_var_values *vals, string_t *dest,
		       const char **error_r)
{
	size_t i = skip_spaces(s, start, end), name_start = i, len;
	while (i < end && (isalnum((unsigned char)s[i]) || s[i] == '_'))
		i++;
	const char *v = var_lookup(s + name_start, i - name_start, vals, &len);
	if (v == NULL) {
		*error_r = "Unknown variable";
		return -1;
	}
	string_t *value = str_new(len + 1);
	str_append_n(value, v, len);
	i = skip_spaces(s, i, end);
	while (i < end) {
		if (s[i] != '|') {
			*error_r = "Invalid variable syntax";
			str_free(&value);
			return -1;
		}
		i = skip_spaces(s, i + 1, end);
		size_t f_start = i;
		while (i < end && isalpha((unsigned char)s[i]))
			i++;
		if (apply_filter(s + f_start, i - f_start, value, error_r) < 0) {
			str_free(&value);
			return -1;
		}
		i = skip_spaces(s, i, end);
	}
	str_append_n(dest, str_c(value), str_len(value));
	str_free(&value);
	return 0;
}

int auth_var_expand(const char *fmt, const struct auth_var_values *vals,
		    string_t *dest, const char **error_r)
{
	size_t start_len = str_len(dest);

	for (size_t i = 0; fmt[i] != '\0'; i++) {
		if (fmt[i] != '%') {
			str_append_c(dest, fmt[i]);
			continue;
		}
		i++;
		if (fmt[i] == '%') {
			str_append_c(dest, '%');
			continue;
		}
		if (fmt[i] == '{') {
			const char *close = strchr(fmt + i, '}');
			if (close == NULL ||
			    (size_t)(close - fmt) - i > VAR_NAME_MAX_LEN) {
				*error_r = "Unterminated %{variable}";
				return -1;
			}
			if (expand_long(fmt, i + 1, (size_t)(close - fmt),
					vals, dest, error_r) < 0)
				return -1;
			i = (size_t)(close - fmt);
		} else {
			char modifier = '\0';
			if (fmt[i] == 'L' || fmt[i] == 'U')
				modifier = fmt[i++];
			size_t len;
			const char *v = fmt[i] == '\0' ? NULL :
				var_lookup(fmt + i, 1, vals, &len);
			if (v == NULL) {
				*error_r = "Unknown variable";
				return -1;
			}
			size_t pos = str_len(dest);
			str_append_n(dest, v, len);
			if (modifier == 'L')
				str_lcase(dest->data + pos);
			else if (modifier == 'U')
				str_ucase(dest->data + pos);
		}
		if (str_len(dest) - start_len > AUTH_VAR_EXPAND_MAX_LEN)
			break;
	}
	if (str_len(dest) - start_len > AUTH_VAR_EXPAND_MAX_LEN) {
		*error_r = "Expanded value too long";
		return -1;
	}
	return 0;
}
