/* Transfer-encoding and RFC 2047 decoding (see message-decode.h). */
#include "message-decode.h"
#include "charset-utf8.h"
#include <string.h>
#include <strings.h>
#include <stdlib.h>

static int b64_value(unsigned char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '+')
		return 62;
	if (c == '/')
		return 63;
	return -1;
}

void message_decode_base64(const void *data, size_t size, string_t *dest)
{
	const unsigned char *p = data;
	uint32_t acc = 0;
	unsigned int bits = 0;

	for (size_t i = 0; i < size; i++) {
		int v;

		if (p[i] == '=')
			break; /* padding: end of data */
		if ((v = b64_value(p[i])) < 0)
			continue; /* whitespace and garbage */
		acc = (acc << 6) | (uint32_t)v;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			str_append_c(dest, (char)((acc >> bits) & 0xff));
		}
	}
}

static int hex_value(unsigned char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

static void qp_decode(const unsigned char *p, size_t size, string_t *dest,
		      bool header)
{
	size_t i = 0;

	while (i < size) {
		unsigned char c = p[i];

		if (c == '_' && header) {
			str_append_c(dest, ' ');
			i++;
		} else if (c == '=') {
			int h1 = i + 1 < size ? hex_value(p[i + 1]) : -1;
			int h2 = i + 2 < size ? hex_value(p[i + 2]) : -1;

			if (h1 >= 0 && h2 >= 0) {
				str_append_c(dest, (char)(h1 * 16 + h2));
				i += 3;
				continue;
			}
			/* soft line break: "=" [whitespace] [CR] LF */
			size_t j = i + 1;
			while (j < size && (p[j] == ' ' || p[j] == '\t'))
				j++;
			if (j < size && p[j] == '\r' && j + 1 < size &&
			    p[j + 1] == '\n')
				j++;
			if (j < size && p[j] == '\n') {
				i = j + 1;
				continue;
			}
			if (j == size && !header) {
				i = size;
				continue;
			}
			/* broken escape: keep as is */
			str_append_c(dest, '=');
			i++;
		} else if (!header && (c == ' ' || c == '\t')) {
			/* trailing whitespace on a line is dropped */
			size_t j = i;
			while (j < size && (p[j] == ' ' || p[j] == '\t'))
				j++;
			if (j == size || p[j] == '\n' ||
			    (p[j] == '\r' && j + 1 < size && p[j + 1] == '\n')) {
				i = j;
				continue;
			}
			str_append_n(dest, p + i, j - i);
			i = j;
		} else {
			str_append_c(dest, (char)c);
			i++;
		}
	}
}

void message_decode_qp(const void *data, size_t size, string_t *dest)
{
	qp_decode(data, size, dest, false);
}

void message_decode_transfer(const char *encoding, const void *data,
			     size_t size, string_t *dest)
{
	if (encoding != NULL && strcasecmp(encoding, "base64") == 0)
		message_decode_base64(data, size, dest);
	else if (encoding != NULL &&
		 strcasecmp(encoding, "quoted-printable") == 0)
		message_decode_qp(data, size, dest);
	else
		str_append_n(dest, data, size);
}

/* Try to parse an encoded-word at p: "=?charset?X?text?=". Returns its
   length, or 0 if it isn't one. */
static size_t encoded_word_parse(const unsigned char *p, size_t size,
				 const unsigned char **charset_r,
				 size_t *charset_len_r, char *enc_r,
				 const unsigned char **text_r,
				 size_t *text_len_r)
{
	size_t i, cs_end, text_start;

	if (size < 8 || p[0] != '=' || p[1] != '?')
		return 0;
	for (i = 2; i < size && p[i] != '?'; i++) {
		if (p[i] <= ' ' || p[i] >= 0x7f)
			return 0;
	}
	if (i >= size || i == 2 || i - 2 > CHARSET_NAME_MAX_LEN + 16)
		return 0;
	cs_end = i;
	if (i + 3 >= size || p[i + 2] != '?')
		return 0;
	*enc_r = (char)p[i + 1];
	if (*enc_r != 'B' && *enc_r != 'b' && *enc_r != 'Q' && *enc_r != 'q')
		return 0;
	text_start = i + 3;
	for (i = text_start; i + 1 < size; i++) {
		if (p[i] == '?' && p[i + 1] == '=')
			break;
		if (p[i] == ' ' || p[i] == '\t' || p[i] == '\r' ||
		    p[i] == '\n')
			return 0;
	}
	if (i + 1 >= size)
		return 0;
	*charset_r = p + 2;
	*charset_len_r = cs_end - 2;
	*text_r = p + text_start;
	*text_len_r = i - text_start;
	return i + 2;
}

/* Convert the bytes decoded so far from encoded-words of one charset. */
static void flush_encoded(string_t *decoded, char **charset, string_t *dest)
{
	if (*charset == NULL)
		return;
	(void)charset_to_utf8(*charset, str_data(decoded), str_len(decoded),
			      dest);
	str_truncate(decoded, 0);
	free(*charset);
	*charset = NULL;
}

void message_header_decode_utf8(const void *value, size_t size,
				string_t *dest)
{
	const unsigned char *p = value;

	/* no "=?": no encoded-word can start anywhere, so the result is the
	   input without CR/LF, made valid UTF-8 (what the loop below gives,
	   without its per-byte appends and allocations) */
	if (memmem(p, size, "=?", 2) == NULL) {
		if (memchr(p, '\r', size) == NULL &&
		    memchr(p, '\n', size) == NULL) {
			utf8_append_valid(dest, p, size);
			return;
		}
		string_t *unfolded = str_new(size + 1);
		size_t start = 0;

		for (size_t j = 0; j < size; j++) {
			if (p[j] == '\r' || p[j] == '\n') {
				str_append_n(unfolded, p + start, j - start);
				start = j + 1;
			}
		}
		str_append_n(unfolded, p + start, size - start);
		utf8_append_valid(dest, str_data(unfolded), str_len(unfolded));
		str_free(&unfolded);
		return;
	}

	string_t *raw = str_new(size + 1), *decoded = str_new(64);
	size_t i = 0, pending_ws_start = 0, pending_ws_len = 0;
	bool last_was_encoded = false;
	char *cur_charset = NULL;

	while (i < size) {
		const unsigned char *charset, *text;
		size_t cs_len, text_len, len;
		char enc;

		if (p[i] == '\r' || p[i] == '\n') {
			i++; /* unfold */
			continue;
		}
		if (p[i] == ' ' || p[i] == '\t') {
			if (pending_ws_len == 0)
				pending_ws_start = str_len(raw);
			str_append_c(raw, (char)p[i]);
			pending_ws_len++;
			i++;
			continue;
		}
		len = encoded_word_parse(p + i, size - i, &charset, &cs_len,
					 &enc, &text, &text_len);
		if (len == 0) {
			flush_encoded(decoded, &cur_charset, dest);
			str_append_c(raw, (char)p[i]);
			pending_ws_len = 0;
			last_was_encoded = false;
			i++;
			continue;
		}
		/* whitespace between adjacent encoded-words is dropped */
		if (last_was_encoded && pending_ws_len > 0)
			str_truncate(raw, pending_ws_start);

		char *cs = i_strndup(charset, cs_len), *star;
		if ((star = strchr(cs, '*')) != NULL)
			*star = '\0'; /* RFC 2231 language */
		if (cur_charset != NULL && (str_len(raw) > 0 ||
					    strcasecmp(cur_charset, cs) != 0))
			flush_encoded(decoded, &cur_charset, dest);
		utf8_append_valid(dest, str_data(raw), str_len(raw));
		str_truncate(raw, 0);
		/* adjacent words of the same charset are converted together:
		   a multibyte character may be split between them */
		if (cur_charset == NULL)
			cur_charset = cs;
		else
			free(cs);
		if (enc == 'B' || enc == 'b')
			message_decode_base64(text, text_len, decoded);
		else
			qp_decode(text, text_len, decoded, true);
		i += len;
		pending_ws_len = 0;
		last_was_encoded = true;
	}
	flush_encoded(decoded, &cur_charset, dest);
	utf8_append_valid(dest, str_data(raw), str_len(raw));
	str_free(&raw);
	str_free(&decoded);
}

void message_decode_body(const struct message_part *part,
			 const unsigned char *data, bool to_utf8,
			 string_t *dest)
{
	const char *charset = NULL;
	string_t *tmp;

	if (!to_utf8) {
		message_decode_transfer(part->transfer_encoding,
					data + part->body_offset,
					part->body_size, dest);
		return;
	}
	tmp = str_new(part->body_size + 1);
	message_decode_transfer(part->transfer_encoding,
				data + part->body_offset, part->body_size, tmp);
	charset = message_part_param(part->ctype_params,
				     part->ctype_params_count, "charset");
	(void)charset_to_utf8(charset != NULL ? charset : "us-ascii",
			      str_data(tmp), str_len(tmp), dest);
	str_free(&tmp);
}
