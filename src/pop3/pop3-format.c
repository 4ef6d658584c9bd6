/* %-templates and byte-stuffing for loft-pop3: see pop3-format.h. */
#include "pop3-format.h"
#include <stdlib.h>
#include <ctype.h>
#include <stdio.h>

static const struct pop3_format_var *
pop3_format_find(const struct pop3_format_var *vars, unsigned int count,
		 char key, const char *long_key, size_t long_len)
{
	for (unsigned int i = 0; i < count; i++) {
		if (long_key == NULL ? vars[i].key == key :
		    (vars[i].long_key != NULL &&
		     strlen(vars[i].long_key) == long_len &&
		     strncmp(vars[i].long_key, long_key, long_len) == 0))
			return &vars[i];
	}
	return NULL;
}

static void pop3_format_append_var(string_t *dest, const char *value,
				   unsigned int width, bool zero_pad,
				   char modifier)
{
	char buf[32];
	string_t *tmp = str_new(64);

	if (modifier == 'X' || modifier == 'x') {
		unsigned long long n = strtoull(value, NULL, 10);
		snprintf(buf, sizeof(buf), modifier == 'X' ? "%llX" : "%llx", n);
		str_append(tmp, buf);
	} else {
		str_append(tmp, value);
		if (modifier == 'L')
			str_lcase(tmp->data);
		else if (modifier == 'U')
			str_ucase(tmp->data);
	}
	for (size_t len = str_len(tmp); len < width; len++)
		str_append_c(dest, zero_pad ? '0' : ' ');
	str_append_n(dest, str_data(tmp), str_len(tmp));
	str_free(&tmp);
}

int pop3_format_expand(string_t *dest, const char *format,
		       const struct pop3_format_var *vars, unsigned int count,
		       const char **error_r)
{
	for (const char *p = format; *p != '\0'; p++) {
		if (*p != '%') {
			str_append_c(dest, *p);
			continue;
		}
		p++;
		if (*p == '%') {
			str_append_c(dest, '%');
			continue;
		}
		bool zero_pad = *p == '0';
		unsigned int width = 0;
		char modifier = '\0';
		while (isdigit((unsigned char)*p) && width < 1000)
			width = width * 10 + (unsigned int)(*p++ - '0');
		while (*p != '\0' && strchr("XxLU", *p) != NULL)
			modifier = *p++;
		const struct pop3_format_var *var;
		if (*p == '{') {
			const char *end = strchr(p, '}');
			if (end == NULL) {
				*error_r = "Unterminated %{ in template";
				return -1;
			}
			var = pop3_format_find(vars, count, '\0', p + 1,
					       end - p - 1);
			p = end;
		} else if (*p == '\0') {
			*error_r = "Template ends with %";
			return -1;
		} else {
			var = pop3_format_find(vars, count, *p, NULL, 0);
		}
		if (var == NULL) {
			*error_r = "Unknown variable in template";
			return -1;
		}
		pop3_format_append_var(dest, var->value != NULL ? var->value : "",
				       width, zero_pad, modifier);
	}
	return 0;
}

bool pop3_format_has_key(const char *format, char key, const char *long_key)
{
	for (const char *p = format; *p != '\0'; p++) {
		if (*p != '%')
			continue;
		p++;
		if (*p == '%')
			continue;
		while (*p != '\0' && strchr("0123456789XxLU", *p) != NULL)
			p++;
		if (*p == '{') {
			const char *end = strchr(p, '}');
			if (end == NULL)
				return false;
			if (long_key != NULL && strlen(long_key) == (size_t)(end - p - 1) &&
			    strncmp(p + 1, long_key, end - p - 1) == 0)
				return true;
			p = end;
		} else if (*p == key) {
			return true;
		} else if (*p == '\0') {
			return false;
		}
	}
	return false;
}

void pop3_dot_stuff(const unsigned char *data, size_t size, bool *line_start,
		    string_t *out)
{
	const unsigned char *p = data, *end = data + size;

	while (p < end) {
		if (*line_start && *p == '.')
			str_append_c(out, '.');
		const unsigned char *lf = memchr(p, '\n', end - p);
		const unsigned char *stop = lf == NULL ? end : lf + 1;
		str_append_n(out, p, stop - p);
		*line_start = lf != NULL;
		p = stop;
	}
}

size_t pop3_top_length(const unsigned char *data, size_t size, uint64_t lines)
{
	const unsigned char *p = data, *end = data + size;
	bool in_body = false;

	while (p < end) {
		const unsigned char *lf = memchr(p, '\n', end - p);
		if (lf == NULL)
			return size;
		bool empty = lf == p || (lf == p + 1 && *p == '\r');
		p = lf + 1;
		if (!in_body) {
			if (empty)
				in_body = true;
		} else {
			lines--;
		}
		if (in_body && lines == 0)
			return p - data;
	}
	return size;
}
