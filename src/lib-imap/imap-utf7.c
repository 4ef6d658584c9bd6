/* Modified UTF-7 (RFC 3501 5.1.3): printable US-ASCII stands for itself
   except '&', which becomes "&-"; everything else is UTF-16BE in
   modified BASE64 (',' for '/', no '=' padding) between '&' and '-'. */
#include "imap-utf7.h"
#include "unichar.h"

#include <stdlib.h>

static const char b64chars[] =
	"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+,";

static int b64_value(unsigned char c)
{
	if (c >= 'A' && c <= 'Z') return c - 'A';
	if (c >= 'a' && c <= 'z') return c - 'a' + 26;
	if (c >= '0' && c <= '9') return c - '0' + 52;
	if (c == '+') return 62;
	if (c == ',') return 63;
	return -1;
}

/* Encode a run of UTF-16 code units as "&...-". */
static void utf16_run_encode(string_t *dest, const uint16_t *u, size_t n)
{
	uint32_t bits = 0;
	unsigned int nbits = 0;

	str_append_c(dest, '&');
	for (size_t i = 0; i < n; i++) {
		bits = (bits << 16) | u[i];
		nbits += 16;
		while (nbits >= 6) {
			nbits -= 6;
			str_append_c(dest, b64chars[(bits >> nbits) & 0x3f]);
		}
		bits &= (1u << nbits) - 1;
	}
	if (nbits > 0)
		str_append_c(dest, b64chars[(bits << (6 - nbits)) & 0x3f]);
	str_append_c(dest, '-');
}

int imap_utf8_to_utf7(const char *src, string_t *dest)
{
	const unsigned char *s = (const unsigned char *)src;
	uint16_t *run = NULL;
	size_t run_len = 0, run_alloc = 0;
	int ret = 0;

	while (*s != '\0' || run_len > 0) {
		if (*s >= 0x20 && *s < 0x7f) {
			if (run_len > 0) {
				utf16_run_encode(dest, run, run_len);
				run_len = 0;
			}
			if (*s == '&')
				str_append(dest, "&-");
			else
				str_append_c(dest, (char)*s);
			s++;
			continue;
		}
		if (*s == '\0') {
			utf16_run_encode(dest, run, run_len);
			run_len = 0;
			break;
		}
		uint32_t c;
		size_t len = uni_utf8_get_char(s, strnlen((const char *)s, 4), &c);
		if (len == 0) {
			ret = -1;
			break;
		}
		s += len;
		if (run_len + 2 > run_alloc) {
			run_alloc = run_alloc == 0 ? 16 : run_alloc * 2;
			run = i_realloc(run, run_alloc * sizeof(*run));
		}
		if (c >= 0x10000) {
			c -= 0x10000;
			run[run_len++] = (uint16_t)(0xd800 | (c >> 10));
			run[run_len++] = (uint16_t)(0xdc00 | (c & 0x3ff));
		} else {
			run[run_len++] = (uint16_t)c;
		}
	}
	free(run);
	return ret;
}

/* Decode "&...-" starting after '&'; *p points past the '-' on
   return. */
static int utf7_run_decode(const unsigned char **p, string_t *dest)
{
	const unsigned char *s = *p;
	uint32_t bits = 0, high = 0;
	unsigned int nbits = 0, units = 0;

	for (; *s != '-'; s++) {
		int v = b64_value(*s);
		if (v < 0)
			return -1;
		bits = (bits << 6) | (uint32_t)v;
		nbits += 6;
		if (nbits < 16)
			continue;
		nbits -= 16;
		uint32_t u = (bits >> nbits) & 0xffff;
		bits &= (1u << nbits) - 1;
		units++;
		if (high != 0) {
			if (u < 0xdc00 || u > 0xdfff)
				return -1;
			uni_ucs4_to_utf8_c(0x10000 + ((high - 0xd800) << 10) +
					   (u - 0xdc00), dest);
			high = 0;
		} else if (u >= 0xd800 && u <= 0xdbff) {
			high = u;
		} else if (u >= 0xdc00 && u <= 0xdfff) {
			return -1;
		} else if (u >= 0x20 && u < 0x7f) {
			/* printable ASCII must not be encoded */
			return -1;
		} else {
			uni_ucs4_to_utf8_c(u, dest);
		}
	}
	/* leftover bits must be fewer than 6 and zero; no dangling
	   surrogate; and "&-" is handled by the caller */
	if (units == 0 || high != 0 || nbits >= 6 || bits != 0)
		return -1;
	*p = s + 1;
	return 0;
}

int imap_utf7_to_utf8(const char *src, string_t *dest)
{
	const unsigned char *s = (const unsigned char *)src;
	bool prev_was_run = false;

	while (*s != '\0') {
		if (*s < 0x20 || *s >= 0x7f)
			return -1;
		if (*s != '&') {
			str_append_c(dest, (char)*s++);
			prev_was_run = false;
			continue;
		}
		s++;
		if (*s == '-') {
			str_append_c(dest, '&');
			s++;
			prev_was_run = false;
			continue;
		}
		/* "&AOQ-&AOQ-" must have been written as one run */
		if (prev_was_run)
			return -1;
		if (utf7_run_decode(&s, dest) < 0)
			return -1;
		prev_was_run = true;
	}
	return 0;
}

bool imap_utf7_is_valid(const char *src)
{
	string_t *tmp = str_new(64);
	int ret = imap_utf7_to_utf8(src, tmp);

	str_free(&tmp);
	return ret == 0;
}
