/* FETCH BODY[section]<partial> (see imap-msgpart.h). */
#include "imap-msgpart.h"
#include "imap-quote.h"
#include "message-header.h"
#include <stdlib.h>
#include <strings.h>
#include <ctype.h>

enum fetch_type {
	FETCH_FULL,          /* "" */
	FETCH_MIME,          /* n.MIME */
	FETCH_MIME_BODY,     /* n */
	FETCH_HEADER,        /* [n.]HEADER */
	FETCH_HEADER_FIELDS, /* [n.]HEADER.FIELDS (...) */
	FETCH_HEADER_FIELDS_NOT,
	FETCH_BODY,          /* [n.]TEXT */
};

struct imap_msgpart {
	char *section_number; /* "" or "1.2" */
	enum fetch_type type;
	char **fields;
	unsigned int fields_count;
	char *section_str;
	uint64_t partial_offset, partial_count;
};

void imap_msgpart_free(struct imap_msgpart **_mp)
{
	struct imap_msgpart *mp = *_mp;

	if (mp == NULL)
		return;
	*_mp = NULL;
	for (unsigned int i = 0; i < mp->fields_count; i++)
		free(mp->fields[i]);
	free(mp->fields);
	free(mp->section_number);
	free(mp->section_str);
	free(mp);
}

static bool is_field_char(unsigned char c)
{
	/* RFC 5322 ftext, minus what can't be in an IMAP atom */
	return c > 0x20 && c < 0x7f && c != ':' && c != '(' && c != ')' &&
		c != '{' && c != '"' && c != '\\' && c != '%' && c != '*' &&
		c != ']';
}

/* Parse " (name name ...)" into mp->fields; writes the canonical list
   to canon. */
static int parse_field_list(struct imap_msgpart *mp, const char *p,
			    string_t *canon, const char **error_r)
{
	unsigned int alloc = 0;

	if (*p++ != ' ' || *p++ != '(') {
		*error_r = "Missing header field list";
		return -1;
	}
	str_append(canon, " (");
	for (;;) {
		string_t *name = str_new(32);
		bool quoted = false;

		if (*p == '"') {
			quoted = true;
			for (p++; *p != '"'; p++) {
				if (*p == '\0' || *p == '\r' || *p == '\n' ||
				    (unsigned char)*p >= 0x80) {
					str_free(&name);
					*error_r = "Invalid quoted field name";
					return -1;
				}
				if (*p == '\\' && (p[1] == '"' || p[1] == '\\'))
					p++;
				str_append_c(name, *p);
			}
			p++;
		} else {
			while (is_field_char((unsigned char)*p))
				str_append_c(name, *p++);
		}
		if (str_len(name) == 0 && !quoted) {
			str_free(&name);
			*error_r = "Invalid header field name";
			return -1;
		}
		if (mp->fields_count >= IMAP_MSGPART_MAX_FIELDS) {
			str_free(&name);
			*error_r = "Too many header fields";
			return -1;
		}
		if (mp->fields_count == alloc) {
			alloc = alloc == 0 ? 8 : alloc * 2;
			mp->fields = i_realloc(mp->fields,
					       alloc * sizeof(*mp->fields));
		}
		str_ucase(name->data);
		if (mp->fields_count > 0)
			str_append_c(canon, ' ');
		if (quoted)
			imap_append_quoted(canon, str_c(name));
		else
			str_append(canon, str_c(name));
		mp->fields[mp->fields_count++] = str_free_without_data(&name);
		if (*p == ')')
			break;
		if (*p != ' ') {
			*error_r = "Invalid header field list";
			return -1;
		}
		p++;
	}
	if (p[1] != '\0') {
		*error_r = "Garbage after header field list";
		return -1;
	}
	str_append_c(canon, ')');
	return 0;
}

static int parse_section(struct imap_msgpart *mp, const char *section,
			 string_t *canon, const char **error_r)
{
	const char *p = section, *start;

	/* section-part: nz-number *("." nz-number) */
	start = p;
	while (*p >= '1' && *p <= '9') {
		unsigned int digits = 0;

		while (*p >= '0' && *p <= '9') {
			if (++digits > 9) {
				*error_r = "Too large part number";
				return -1;
			}
			p++;
		}
		if (*p != '.')
			break;
		p++;
	}
	if (p > start && p[-1] == '.')
		mp->section_number = i_strndup(start, p - 1 - start);
	else
		mp->section_number = i_strndup(start, p - start);
	str_append_n(canon, start, p - start);
	if (*p == '\0') {
		if (p > start && p[-1] == '.') {
			*error_r = "Invalid section number";
			return -1;
		}
		mp->type = p == start ? FETCH_FULL : FETCH_MIME_BODY;
		return 0;
	}
	if (p > start && p[-1] != '.') {
		*error_r = "Invalid section number";
		return -1;
	}
	if (strcasecmp(p, "MIME") == 0) {
		if (p == start) {
			*error_r = "MIME needs a part number";
			return -1;
		}
		mp->type = FETCH_MIME;
		str_append(canon, "MIME");
	} else if (strcasecmp(p, "HEADER") == 0) {
		mp->type = FETCH_HEADER;
		str_append(canon, "HEADER");
	} else if (strcasecmp(p, "TEXT") == 0) {
		mp->type = FETCH_BODY;
		str_append(canon, "TEXT");
	} else if (strncasecmp(p, "HEADER.FIELDS.NOT", 17) == 0) {
		mp->type = FETCH_HEADER_FIELDS_NOT;
		str_append(canon, "HEADER.FIELDS.NOT");
		return parse_field_list(mp, p + 17, canon, error_r);
	} else if (strncasecmp(p, "HEADER.FIELDS", 13) == 0) {
		mp->type = FETCH_HEADER_FIELDS;
		str_append(canon, "HEADER.FIELDS");
		return parse_field_list(mp, p + 13, canon, error_r);
	} else {
		*error_r = "Invalid BODY[..] section";
		return -1;
	}
	return 0;
}

int imap_msgpart_parse(const char *section, struct imap_msgpart **mp_r,
		       const char **error_r)
{
	struct imap_msgpart *mp;
	string_t *canon;

	*mp_r = NULL;
	if (strlen(section) > IMAP_MSGPART_MAX_SECTION_LEN) {
		*error_r = "Section too long";
		return -1;
	}
	mp = i_new(struct imap_msgpart, 1);
	mp->partial_count = UINT64_MAX;
	canon = str_new(64);
	if (parse_section(mp, section, canon, error_r) < 0) {
		str_free(&canon);
		imap_msgpart_free(&mp);
		return -1;
	}
	mp->section_str = str_free_without_data(&canon);
	*mp_r = mp;
	return 0;
}

void imap_msgpart_set_partial(struct imap_msgpart *mp, uint64_t origin,
			      uint64_t count)
{
	mp->partial_offset = origin;
	mp->partial_count = count;
}

int imap_msgpart_parse_partial(const char *str, uint64_t *origin_r,
			       uint64_t *count_r)
{
	const char *dot = strchr(str, '.');
	char *tmp;
	int ret;

	*count_r = UINT64_MAX;
	if (dot == NULL)
		return str_to_uint64(str, origin_r);
	tmp = i_strndup(str, dot - str);
	ret = str_to_uint64(tmp, origin_r);
	free(tmp);
	if (ret < 0 || dot[1] == '\0' || str_to_uint64(dot + 1, count_r) < 0)
		return -1;
	return 0;
}

const char *imap_msgpart_get_section(const struct imap_msgpart *mp)
{
	return mp->section_str;
}

bool imap_msgpart_is_header_only(const struct imap_msgpart *mp)
{
	switch (mp->type) {
	case FETCH_MIME:
	case FETCH_HEADER:
	case FETCH_HEADER_FIELDS:
	case FETCH_HEADER_FIELDS_NOT:
		return true;
	default:
		return false;
	}
}

static bool field_in_list(const struct imap_msgpart *mp,
			  const struct message_header_field *field)
{
	for (unsigned int i = 0; i < mp->fields_count; i++) {
		if (message_header_field_is(field, mp->fields[i]))
			return true;
	}
	return false;
}

static void write_header_fields(const struct imap_msgpart *mp,
				const unsigned char *hdr, size_t hdr_size,
				string_t *dest)
{
	struct message_header_iter iter;
	struct message_header_field field;
	bool want_match = mp->type == FETCH_HEADER_FIELDS;

	message_header_iter_init(&iter, hdr, hdr_size);
	while (message_header_iter_next(&iter, &field)) {
		if (field_in_list(mp, &field) != want_match)
			continue;
		str_append_n(dest, hdr + field.start, field.end - field.start);
		if (field.no_newline)
			str_append(dest, "\r\n");
	}
	str_append(dest, "\r\n");
}

/* Resolve the section to a byte range of data, or to a header filter
   (*filter_r = true, range = the header to filter). Returns false if
   the part doesn't exist. */
static bool msgpart_range(const struct imap_msgpart *mp, size_t size,
			  const struct message_part *root,
			  size_t *offset_r, size_t *len_r, bool *filter_r)
{
	const struct message_part *part = root;

	*filter_r = false;
	if (mp->section_number[0] != '\0') {
		part = message_part_find(root, mp->section_number);
		if (part == NULL)
			return false;
	}
	switch (mp->type) {
	case FETCH_FULL:
		*offset_r = 0;
		*len_r = size;
		return true;
	case FETCH_MIME:
		*offset_r = part->header_offset;
		*len_r = part->header_size;
		return true;
	case FETCH_MIME_BODY:
		*offset_r = part->body_offset;
		*len_r = part->body_size;
		return true;
	default:
		break;
	}
	if (mp->section_number[0] != '\0') {
		/* header/body of an encapsulated message */
		if ((part->flags & MESSAGE_PART_FLAG_MESSAGE_RFC822) == 0 ||
		    part->children == NULL)
			return false;
		part = part->children;
	}
	if (mp->type == FETCH_BODY) {
		*offset_r = part->body_offset;
		*len_r = part->body_size;
	} else {
		*offset_r = part->header_offset;
		*len_r = part->header_size;
		*filter_r = mp->type != FETCH_HEADER;
	}
	return true;
}

static void append_partial(const struct imap_msgpart *mp,
			   const unsigned char *data, size_t size,
			   string_t *dest)
{
	uint64_t off = mp->partial_offset, count = mp->partial_count;

	if (off >= size)
		return;
	if (count > size - off)
		count = size - off;
	str_append_n(dest, data + off, count);
}

int imap_msgpart_get(const struct imap_msgpart *mp,
		     const unsigned char *data, size_t size,
		     const struct message_part *parts,
		     string_t *dest, const char **error_r)
{
	struct message_part *own = NULL;
	size_t offset, len;
	bool filter;

	if (parts == NULL)
		parts = own = message_parse(data, size);
	if (msgpart_range(mp, size, parts, &offset, &len, &filter)) {
		if (offset > size || len > size - offset)
			len = offset > size ? 0 : size - offset;
		if (!filter) {
			append_partial(mp, data + offset, len, dest);
		} else {
			string_t *tmp = str_new(len + 3);

			write_header_fields(mp, data + offset, len, tmp);
			append_partial(mp, str_data(tmp), str_len(tmp), dest);
			str_free(&tmp);
		}
	}
	message_part_free(&own);
	(void)error_r;
	return 0;
}

uint64_t imap_msgpart_get_full_size(const struct imap_msgpart *mp,
				    const unsigned char *data, size_t size,
				    const struct message_part *parts)
{
	struct imap_msgpart full = *mp;
	string_t *tmp = str_new(256);
	const char *error;
	uint64_t ret;

	full.partial_offset = 0;
	full.partial_count = UINT64_MAX;
	(void)imap_msgpart_get(&full, data, size, parts, tmp, &error);
	ret = str_len(tmp);
	str_free(&tmp);
	return ret;
}
