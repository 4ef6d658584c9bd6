/* Charset conversion (see charset-utf8.h). */
#include "charset-utf8.h"
#include "unichar.h"
#include <iconv.h>
#include <errno.h>
#include <strings.h>
#include <stdlib.h>

bool charset_is_utf8(const char *charset)
{
	return strcasecmp(charset, "utf-8") == 0 ||
		strcasecmp(charset, "utf8") == 0 ||
		strcasecmp(charset, "us-ascii") == 0 ||
		strcasecmp(charset, "ascii") == 0 ||
		strcasecmp(charset, "ansi_x3.4-1968") == 0;
}

/* length of the valid UTF-8 sequence at p, or 0 */
static size_t utf8_seq_len(const unsigned char *p, size_t left)
{
	uint32_t cp;
	return uni_utf8_get_char(p, left, &cp);
}

bool utf8_is_valid(const void *data, size_t size)
{
	const unsigned char *p = data;
	size_t i = 0, n;

	while (i < size) {
		if ((n = utf8_seq_len(p + i, size - i)) == 0)
			return false;
		i += n;
	}
	return true;
}

void utf8_append_valid(string_t *dest, const void *data, size_t size)
{
	const unsigned char *p = data;
	size_t i = 0, start = 0, n;

	while (i < size) {
		if ((n = utf8_seq_len(p + i, size - i)) != 0) {
			i += n;
			continue;
		}
		str_append_n(dest, p + start, i - start);
		str_append(dest, UNICODE_REPLACEMENT_UTF8);
		i++;
		start = i;
	}
	str_append_n(dest, p + start, i - start);
}

static bool charset_name_ok(const char *charset)
{
	size_t len = strlen(charset);

	if (len == 0 || len > CHARSET_NAME_MAX_LEN)
		return false;
	for (size_t i = 0; i < len; i++) {
		unsigned char c = charset[i];

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		      (c >= '0' && c <= '9') || c == '-' || c == '_' ||
		      c == '.' || c == ':'))
			return false;
	}
	return true;
}

/* Names seen in mail that glibc iconv doesn't know, mapped to the
   names it does (names only; the conversion is iconv's). */
static const struct {
	const char *alias, *name;
} charset_aliases[] = {
	{ "ks_c_5601-1987", "CP949" }, { "ks_c_5601", "CP949" },
	{ "x-gbk", "GBK" }, { "x-sjis", "SHIFT_JIS" },
	{ "x-euc-jp", "EUC-JP" }, { "x-euc-kr", "EUC-KR" },
	{ "iso-8859-8-i", "ISO-8859-8" }, { "iso-8859-6-i", "ISO-8859-6" },
	{ "unicode-1-1-utf-7", "UTF-7" }, { "x-mac-roman", "MACINTOSH" },
	{ "x-unicode20utf8", "UTF-8" }, { "x-user-defined", "ISO-8859-1" },
	{ "x-cp1250", "CP1250" }, { "x-cp1251", "CP1251" },
};

static const char *charset_alias(const char *charset)
{
	for (unsigned int i = 0; i < N_ELEMENTS(charset_aliases); i++) {
		if (strcasecmp(charset, charset_aliases[i].alias) == 0)
			return charset_aliases[i].name;
	}
	return charset;
}

int charset_to_utf8(const char *charset, const void *data, size_t size,
		    string_t *dest)
{
	iconv_t cd;
	char *in = (char *)data, outbuf[4096];
	size_t inleft = size;

	charset = charset_alias(charset);
	if (charset_is_utf8(charset)) {
		utf8_append_valid(dest, data, size);
		return 0;
	}
	if (!charset_name_ok(charset) ||
	    (cd = iconv_open("UTF-8", charset)) == (iconv_t)-1) {
		utf8_append_valid(dest, data, size);
		return -1;
	}
	while (inleft > 0) {
		char *out = outbuf;
		size_t outleft = sizeof(outbuf);
		size_t ret = iconv(cd, &in, &inleft, &out, &outleft);
		int err = errno;

		str_append_n(dest, outbuf, out - outbuf);
		if (ret != (size_t)-1)
			break;
		if (err == E2BIG)
			continue;
		/* EILSEQ or EINVAL (truncated at end): replace one byte */
		str_append(dest, UNICODE_REPLACEMENT_UTF8);
		in++;
		inleft--;
		(void)iconv(cd, NULL, NULL, NULL, NULL);
	}
	/* flush shift state */
	{
		char *out = outbuf;
		size_t outleft = sizeof(outbuf);

		(void)iconv(cd, NULL, NULL, &out, &outleft);
		str_append_n(dest, outbuf, out - outbuf);
	}
	iconv_close(cd);
	return 0;
}
