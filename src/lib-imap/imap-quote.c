/* IMAP string writing with Dovecot's quoted/literal choices
   (see imap-quote.h). */
#include "imap-quote.h"
#include <strings.h>

/* After this many quoted-specials a literal is shorter on average. */
#define QUOTED_MAX_ESCAPE_CHARS 4

static bool is_atom_char(unsigned char c)
{
	/* RFC 3501 ATOM-CHAR plus ']' (ASTRING-CHAR) */
	if (c <= 0x20 || c >= 0x7f)
		return false;
	switch (c) {
	case '(': case ')': case '{': case '%': case '*': case '"':
	case '\\':
		return false;
	}
	return true;
}

static void append_literal(string_t *dest, const void *data, size_t size)
{
	str_printfa(dest, "{%zu}\r\n", size);
	str_append_n(dest, data, size);
}

static void append_quoted_n(string_t *dest, const unsigned char *data,
			    size_t size)
{
	str_append_c(dest, '"');
	for (size_t i = 0; i < size; i++) {
		unsigned char c = data[i];

		if (c == '\r' || c == '\n' || c == '\0' || c >= 0x80)
			continue;
		if (c == '"' || c == '\\')
			str_append_c(dest, '\\');
		str_append_c(dest, c);
	}
	str_append_c(dest, '"');
}

void imap_append_string_n(string_t *dest, const void *data, size_t size)
{
	const unsigned char *p = data;
	unsigned int escape_count = 0;

	for (size_t i = 0; i < size; i++) {
		switch (p[i]) {
		case '"':
		case '\\':
			if (escape_count++ < QUOTED_MAX_ESCAPE_CHARS)
				break;
			/* fall through */
		case '\r':
		case '\n':
		case '\0':
			append_literal(dest, data, size);
			return;
		default:
			if (p[i] >= 0x80) {
				append_literal(dest, data, size);
				return;
			}
			break;
		}
	}
	append_quoted_n(dest, data, size);
}

void imap_append_string(string_t *dest, const char *str)
{
	imap_append_string_n(dest, str, strlen(str));
}

void imap_append_nstring(string_t *dest, const char *str)
{
	if (str == NULL)
		str_append(dest, "NIL");
	else
		imap_append_string(dest, str);
}

void imap_append_astring(string_t *dest, const char *str)
{
	size_t i;

	for (i = 0; str[i] != '\0'; i++) {
		if (!is_atom_char((unsigned char)str[i])) {
			imap_append_string(dest, str);
			return;
		}
	}
	/* don't mix up NIL and "NIL" */
	if (i == 0 || strcasecmp(str, "NIL") == 0)
		imap_append_string(dest, str);
	else
		str_append(dest, str);
}

void imap_append_quoted(string_t *dest, const char *str)
{
	append_quoted_n(dest, (const unsigned char *)str, strlen(str));
}

void imap_append_nstring_nolf(string_t *dest, const char *str)
{
	string_t *tmp;
	size_t len;

	if (str == NULL || strpbrk(str, "\r\n") == NULL) {
		imap_append_nstring(dest, str);
		return;
	}
	len = strlen(str);
	tmp = str_new(len + 1);
	for (size_t i = 0; i < len; i++) {
		char next = str[i + 1];

		if (str[i] != '\r' && str[i] != '\n')
			str_append_c(tmp, str[i]);
		else if (next != ' ' && next != '\t' && next != '\r' &&
			 next != '\n' && next != '\0')
			str_append_c(tmp, ' ');
	}
	imap_append_nstring(dest, str_c(tmp));
	str_free(&tmp);
}

static bool is_human_lwsp(unsigned char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

void imap_append_string_for_humans(string_t *dest, const void *data,
				   size_t size)
{
	const unsigned char *src = data;
	size_t i, pos, remove_count = 0;
	bool whitespace_prefix = true, last_lwsp = true, modify = false;

	for (i = 0; i < size; i++) {
		unsigned char c = src[i];

		if (c == '\0') {
			last_lwsp = false;
			modify = true;
		} else if (is_human_lwsp(c)) {
			if (c != ' ')
				modify = true;
			if (last_lwsp) {
				modify = true;
				remove_count++;
			}
			last_lwsp = true;
		} else {
			if (c == '"' || c == '\\' || c >= 0x80)
				modify = true;
			last_lwsp = false;
		}
		if (!last_lwsp)
			whitespace_prefix = false;
	}
	if (last_lwsp && i > 0 && !whitespace_prefix) {
		modify = true;
		remove_count++;
	}
	if (!modify) {
		str_append_c(dest, '"');
		str_append_n(dest, src, size);
		str_append_c(dest, '"');
		return;
	}
	if (size == remove_count) {
		str_append(dest, "\"\"");
		return;
	}
	str_printfa(dest, "{%zu}\r\n", size - remove_count);
	pos = str_len(dest);
	last_lwsp = true;
	whitespace_prefix = true;
	for (i = 0; i < size; i++) {
		unsigned char c = src[i];

		if (c == '\0') {
			str_append_c(dest, (char)0x80);
			last_lwsp = false;
		} else if (is_human_lwsp(c)) {
			if (!last_lwsp)
				str_append_c(dest, ' ');
			last_lwsp = true;
		} else {
			last_lwsp = false;
			str_append_c(dest, (char)c);
		}
		if (!last_lwsp)
			whitespace_prefix = false;
	}
	if (last_lwsp && i > 0 && !whitespace_prefix)
		str_truncate(dest, str_len(dest) - 1);
	(void)pos;
}
