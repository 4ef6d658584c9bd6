/* SEARCH content matching (see imap-search-match.h). */
#include "imap-search-match.h"
#include "unichar.h"
#include "message-header.h"
#include "message-address.h"
#include "message-decode.h"
#include "message-date.h"
#include "charset-utf8.h"
#include <locale.h>
#include <wctype.h>
#include <strings.h>
#include <stdlib.h>

static const char *const address_headers[] = {
	"From", "To", "Cc", "Bcc", "Sender", "Reply-To",
	"Resent-From", "Resent-To", "Resent-Cc", "Resent-Bcc",
	"Resent-Sender", "Return-Path", "Delivered-To"
};

static locale_t casefold_locale(void)
{
	static locale_t loc = (locale_t)0;
	static bool tried = false;

	if (!tried) {
		tried = true;
		loc = newlocale(LC_CTYPE_MASK, "C.UTF-8", (locale_t)0);
	}
	return loc;
}

void imap_search_casefold(const void *data, size_t size, string_t *dest)
{
	const unsigned char *p = data;
	locale_t loc = casefold_locale();
	size_t i = 0, n;
	uint32_t cp;

	while (i < size) {
		if (p[i] < 0x80) {
			/* a run of ASCII: lowercased through a small buffer,
			   one append per chunk instead of one per byte */
			char buf[256];
			size_t n_buf = 0;

			while (i < size && p[i] < 0x80 &&
			       n_buf < sizeof(buf)) {
				unsigned char c = p[i++];

				buf[n_buf++] = (char)(c >= 'A' && c <= 'Z' ?
						      c + 32 : c);
			}
			str_append_n(dest, buf, n_buf);
			continue;
		}
		if ((n = uni_utf8_get_char(p + i, size - i, &cp)) == 0) {
			str_append_c(dest, (char)p[i++]);
			continue;
		}
		if (loc != (locale_t)0)
			cp = (uint32_t)towlower_l((wint_t)cp, loc);
		uni_ucs4_to_utf8_c(cp, dest);
		i += n;
	}
}

static bool contains(const string_t *haystack, const string_t *needle)
{
	if (str_len(needle) == 0)
		return true;
	return memmem(str_data(haystack), str_len(haystack),
		      str_data(needle), str_len(needle)) != NULL;
}

static bool is_address_header(const struct message_header_field *field)
{
	for (unsigned int i = 0; i < N_ELEMENTS(address_headers); i++) {
		if (message_header_field_is(field, address_headers[i]))
			return true;
	}
	return false;
}

/* the decoded, casefolded text a header field is matched against */
static void header_field_text(const struct message_header_field *field,
			      string_t *dest)
{
	string_t *value = str_new(field->value_len + 1);
	string_t *decoded = str_new(field->value_len + 16);

	message_header_field_get_unfolded(field, value, SIZE_MAX);
	if (is_address_header(field)) {
		struct message_address *addr =
			message_address_parse(str_data(value), str_len(value),
					      false);
		str_truncate(value, 0);
		message_address_write(value, addr);
		message_address_free(&addr);
	}
	message_header_decode_utf8(str_data(value), str_len(value), decoded);
	imap_search_casefold(str_data(decoded), str_len(decoded), dest);
	str_free(&value);
	str_free(&decoded);
}

int imap_search_header(const unsigned char *hdr, size_t hdr_size,
		       const char *field_name, const char *key)
{
	struct message_header_iter iter;
	struct message_header_field field;
	string_t *fkey = str_new(64), *text = str_new(256);
	int ret = 0;

	imap_search_casefold(key, strlen(key), fkey);
	message_header_iter_init(&iter, hdr, hdr_size);
	while (ret == 0 && message_header_iter_next(&iter, &field)) {
		if (!message_header_field_is(&field, field_name))
			continue;
		if (str_len(fkey) == 0) {
			ret = 1;
			break;
		}
		str_truncate(text, 0);
		header_field_text(&field, text);
		if (contains(text, fkey))
			ret = 1;
	}
	str_free(&fkey);
	str_free(&text);
	return ret;
}

static bool part_is_text(const struct message_part *part)
{
	return part->content_type == NULL ||
		strcasecmp(part->content_type, "text") == 0;
}

static bool body_match(const struct message_part *part,
		       const unsigned char *data, const string_t *fkey)
{
	bool found = false;

	for (; part != NULL && !found; part = part->next) {
		if (part->children != NULL) {
			found = body_match(part->children, data, fkey);
			continue;
		}
		if ((part->flags & MESSAGE_PART_FLAG_MULTIPART) != 0)
			continue;
		string_t *decoded = str_new(part->body_size + 16);
		string_t *folded = str_new(part->body_size + 16);

		message_decode_body(part, data, part_is_text(part), decoded);
		if (!part_is_text(part)) {
			string_t *valid = str_new(str_len(decoded) + 16);

			utf8_append_valid(valid, str_data(decoded),
					  str_len(decoded));
			str_free(&decoded);
			decoded = valid;
		}
		imap_search_casefold(str_data(decoded), str_len(decoded),
				     folded);
		found = contains(folded, fkey);
		str_free(&decoded);
		str_free(&folded);
	}
	return found;
}

int imap_search_body(const unsigned char *data, size_t size,
		     const struct message_part *parts, const char *key)
{
	struct message_part *own = NULL;
	string_t *fkey = str_new(64);
	bool found;

	if (parts == NULL)
		parts = own = message_parse(data, size);
	imap_search_casefold(key, strlen(key), fkey);
	found = str_len(fkey) == 0 || body_match(parts, data, fkey);
	str_free(&fkey);
	message_part_free(&own);
	return found ? 1 : 0;
}

int imap_search_text(const unsigned char *data, size_t size,
		     const struct message_part *parts, const char *key)
{
	struct message_part *own = NULL;
	string_t *fkey = str_new(64), *decoded, *folded;
	bool found;

	if (parts == NULL)
		parts = own = message_parse(data, size);
	imap_search_casefold(key, strlen(key), fkey);
	decoded = str_new(parts->header_size + 16);
	folded = str_new(parts->header_size + 16);
	message_header_decode_utf8(data + parts->header_offset,
				   parts->header_size, decoded);
	imap_search_casefold(str_data(decoded), str_len(decoded), folded);
	found = contains(folded, fkey) || body_match(parts, data, fkey);
	str_free(&decoded);
	str_free(&folded);
	str_free(&fkey);
	message_part_free(&own);
	return found ? 1 : 0;
}

int imap_search_sent_date(const unsigned char *hdr, size_t hdr_size,
			  time_t *day_r, time_t *time_r)
{
	string_t *value = str_new(64);
	struct message_date date;
	int ret = -1;

	if (message_header_find(hdr, hdr_size, "Date", value) &&
	    message_date_parse(str_data(value), str_len(value), &date) == 0) {
		if (day_r != NULL)
			*day_r = message_date_to_day(&date);
		if (time_r != NULL)
			*time_r = message_date_to_utc(&date);
		ret = 0;
	}
	str_free(&value);
	return ret;
}
