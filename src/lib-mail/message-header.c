/* Header block iteration (see message-header.h). */
#include "message-header.h"
#include <strings.h>

#define IS_LWSP(c) ((c) == ' ' || (c) == '\t')

void message_header_iter_init(struct message_header_iter *iter,
			      const void *data, size_t size)
{
	memset(iter, 0, sizeof(*iter));
	iter->data = data;
	iter->size = size;
}

static size_t line_end(const unsigned char *data, size_t pos, size_t size,
		       bool *no_newline_r)
{
	const unsigned char *lf = memchr(data + pos, '\n', size - pos);

	if (lf == NULL) {
		*no_newline_r = true;
		return size;
	}
	*no_newline_r = false;
	return (lf - data) + 1;
}

bool message_header_iter_next(struct message_header_iter *iter,
			      struct message_header_field *field_r)
{
	const unsigned char *d = iter->data;
	size_t pos = iter->pos, end, i, content_end;
	bool no_newline;

	if (iter->eoh || pos >= iter->size)
		return false;
	if (d[pos] == '\n' ||
	    (d[pos] == '\r' && pos + 1 < iter->size && d[pos + 1] == '\n')) {
		iter->eoh = true;
		iter->pos = pos + (d[pos] == '\r' ? 2 : 1);
		iter->eoh_end = iter->pos;
		return false;
	}
	memset(field_r, 0, sizeof(*field_r));
	field_r->start = pos;
	end = line_end(d, pos, iter->size, &no_newline);
	field_r->lines = 1;
	/* continuation lines */
	while (!no_newline && end < iter->size && IS_LWSP(d[end])) {
		end = line_end(d, end, iter->size, &no_newline);
		field_r->lines++;
	}
	field_r->end = end;
	field_r->no_newline = no_newline;
	content_end = end;
	if (!no_newline) {
		content_end--;
		if (content_end > pos && d[content_end - 1] == '\r')
			content_end--;
	}
	/* name: up to the first ':' on the first line */
	for (i = pos; i < content_end && d[i] != '\n'; i++) {
		if (d[i] == ':')
			break;
	}
	if (i < content_end && d[i] == ':') {
		size_t name_end = i;

		while (name_end > pos && IS_LWSP(d[name_end - 1]))
			name_end--;
		field_r->has_colon = true;
		field_r->name = d + pos;
		field_r->name_len = name_end - pos;
		field_r->value = d + i + 1;
		field_r->value_len = content_end - (i + 1);
	} else {
		/* no colon: the whole (first) line is the name */
		size_t first_end = i;

		if (first_end > pos && d[first_end - 1] == '\r' &&
		    first_end < content_end)
			first_end--;
		field_r->name = d + pos;
		field_r->name_len = first_end - pos;
		field_r->value = d + i;
		field_r->value_len = 0;
	}
	iter->pos = end;
	return true;
}

bool message_header_field_is(const struct message_header_field *field,
			     const char *name)
{
	size_t len = strlen(name);

	return field->name_len == len &&
		strncasecmp((const char *)field->name, name, len) == 0;
}

static void append_value(const struct message_header_field *field,
			 string_t *dest, size_t max_size, bool keep_lf)
{
	const unsigned char *v = field->value;
	size_t len = field->value_len, i = 0, start_len = str_len(dest);

	if (len == 0)
		return;
	/* skip initial LWSP; if all is LWSP on the first line, skip one */
	while (i < len && IS_LWSP(v[i]))
		i++;
	if (i == len || v[i] == '\r' || v[i] == '\n')
		i = IS_LWSP(v[0]) ? 1 : 0;
	while (i < len) {
		unsigned char c = v[i];
		size_t used = str_len(dest) - start_len, j;

		if (used >= max_size)
			break;
		if (c == '\r' && i + 1 < len && v[i + 1] == '\n') {
			i++;
			continue;
		}
		if (c == '\n') {
			if (keep_lf)
				str_append_c(dest, '\n');
			i++;
			continue;
		}
		if (c == '\0') {
			str_append(dest, "\xEF\xBF\xBD"); /* U+FFFD, as Dovecot */
			i++;
			continue;
		}
		/* a run of ordinary bytes (a lone CR is one), up to max_size */
		for (j = i; j < len && j - i < max_size - used; j++) {
			if (v[j] == '\n' || v[j] == '\0' ||
			    (v[j] == '\r' && j + 1 < len && v[j + 1] == '\n'))
				break;
		}
		str_append_n(dest, v + i, j - i);
		i = j;
	}
}

void message_header_field_get_value(const struct message_header_field *field,
				    string_t *dest, size_t max_size)
{
	append_value(field, dest, max_size, true);
}

void message_header_field_get_unfolded(const struct message_header_field *field,
				       string_t *dest, size_t max_size)
{
	append_value(field, dest, max_size, false);
}

bool message_header_find(const void *hdr, size_t hdr_size, const char *name,
			 string_t *value_r)
{
	struct message_header_iter iter;
	struct message_header_field field;

	message_header_iter_init(&iter, hdr, hdr_size);
	while (message_header_iter_next(&iter, &field)) {
		if (message_header_field_is(&field, name)) {
			message_header_field_get_value(&field, value_r,
						       SIZE_MAX);
			return true;
		}
	}
	return false;
}
