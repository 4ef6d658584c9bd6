/* Field escaping and line splitting of the auth protocol. */
#include "auth-protocol.h"

#include <stdlib.h>

void auth_protocol_append_escaped(string_t *dest, const char *value)
{
	for (const char *p = value; *p != '\0'; p++) {
		switch (*p) {
		case '\\':
			str_append(dest, "\\\\");
			break;
		case '\t':
			str_append(dest, "\\t");
			break;
		case '\n':
			str_append(dest, "\\n");
			break;
		case '\r':
			str_append(dest, "\\r");
			break;
		default:
			str_append_c(dest, *p);
			break;
		}
	}
}

static void args_free(char **args, unsigned int count)
{
	for (unsigned int i = 0; i < count; i++) {
		if (args[i] != NULL)
			safe_memset(args[i], 0, strlen(args[i]));
		free(args[i]);
	}
	free(args);
}

int auth_protocol_parse_line(const char *line, size_t len, char ***args_r,
			     const char **error_r)
{
	char **args;
	unsigned int count = 0;
	string_t *field;

	*args_r = NULL;
	if (len >= AUTH_PROTOCOL_MAX_LINE) {
		*error_r = "Line too long";
		return -1;
	}
	args = i_new(char *, AUTH_PROTOCOL_MAX_ARGS + 1);
	field = str_new(64);
	for (size_t i = 0; i <= len; i++) {
		if (i == len || line[i] == '\t') {
			if (count == AUTH_PROTOCOL_MAX_ARGS) {
				*error_r = "Too many fields";
				goto fail;
			}
			args[count++] = i_strndup(str_c(field), str_len(field));
			safe_memset(field->data, 0, field->len);
			str_truncate(field, 0);
			continue;
		}
		char c = line[i];
		if (c == '\0' || c == '\n') {
			*error_r = "Control character in line";
			goto fail;
		}
		if (c != '\\') {
			str_append_c(field, c);
			continue;
		}
		if (++i == len) {
			*error_r = "Escape at end of line";
			goto fail;
		}
		switch (line[i]) {
		case '\\': str_append_c(field, '\\'); break;
		case 't': str_append_c(field, '\t'); break;
		case 'n': str_append_c(field, '\n'); break;
		case 'r': str_append_c(field, '\r'); break;
		default:
			*error_r = "Invalid escape sequence";
			goto fail;
		}
	}
	safe_memset(field->data, 0, field->alloc);
	str_free(&field);
	*args_r = args;
	return 0;
fail:
	safe_memset(field->data, 0, field->alloc);
	str_free(&field);
	args_free(args, count);
	return -1;
}

void auth_protocol_args_free(char ***_args)
{
	char **args = *_args;
	if (args == NULL)
		return;
	args_free(args, str_array_length(args));
	*_args = NULL;
}

const char *auth_protocol_args_find(char *const *args, unsigned int start,
				    const char *key)
{
	size_t key_len = strlen(key);
	unsigned int count = str_array_length(args);

	for (unsigned int i = start; i < count; i++) {
		if (strncmp(args[i], key, key_len) != 0)
			continue;
		if (args[i][key_len] == '=')
			return args[i] + key_len + 1;
		if (args[i][key_len] == '\0')
			return "";
	}
	return NULL;
}

int auth_protocol_parse_id(const char *str, uint32_t *id_r)
{
	if (str == NULL || str[0] == '0' ||
	    str_to_uint32(str, id_r) < 0 || *id_r == 0)
		return -1;
	return 0;
}

void auth_protocol_append_field(string_t *dest, const char *key,
				const char *value)
{
	if (value == NULL)
		return;
	str_append_c(dest, '\t');
	str_append(dest, key);
	str_append_c(dest, '=');
	auth_protocol_append_escaped(dest, value);
}
