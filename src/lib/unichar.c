#include "unichar.h"

size_t uni_utf8_get_char(const unsigned char *p, size_t left, uint32_t *chr_r)
{
	size_t len, i;
	uint32_t cp;

	if (left == 0)
		return 0;
	if (p[0] < 0x80) {
		*chr_r = p[0];
		return 1;
	}
	if (p[0] >= 0xc2 && p[0] <= 0xdf) {
		len = 2;
		cp = p[0] & 0x1f;
	} else if (p[0] >= 0xe0 && p[0] <= 0xef) {
		len = 3;
		cp = p[0] & 0x0f;
	} else if (p[0] >= 0xf0 && p[0] <= 0xf4) {
		len = 4;
		cp = p[0] & 0x07;
	} else {
		return 0;
	}
	if (left < len)
		return 0;
	for (i = 1; i < len; i++) {
		if ((p[i] & 0xc0) != 0x80)
			return 0;
		cp = (cp << 6) | (p[i] & 0x3f);
	}
	if ((len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000) ||
	    cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	*chr_r = cp;
	return len;
}

void uni_ucs4_to_utf8_c(uint32_t chr, string_t *dest)
{
	char buf[4];

	if (chr < 0x80) {
		str_append_c(dest, (char)chr);
	} else if (chr < 0x800) {
		buf[0] = (char)(0xc0 | (chr >> 6));
		buf[1] = (char)(0x80 | (chr & 0x3f));
		str_append_n(dest, buf, 2);
	} else if (chr < 0x10000) {
		buf[0] = (char)(0xe0 | (chr >> 12));
		buf[1] = (char)(0x80 | ((chr >> 6) & 0x3f));
		buf[2] = (char)(0x80 | (chr & 0x3f));
		str_append_n(dest, buf, 3);
	} else {
		buf[0] = (char)(0xf0 | (chr >> 18));
		buf[1] = (char)(0x80 | ((chr >> 12) & 0x3f));
		buf[2] = (char)(0x80 | ((chr >> 6) & 0x3f));
		buf[3] = (char)(0x80 | (chr & 0x3f));
		str_append_n(dest, buf, 4);
	}
}
