/* SMTP reply writer: see smtp-reply.h. */
#include "smtp-reply.h"
#include <stdio.h>

static void smtp_reply_append_text(string_t *out, const char *text)
{
	for (; *text != '\0'; text++) {
		unsigned char c = (unsigned char)*text;
		str_append_c(out, c < 0x20 || c == 0x7f ? ' ' : (char)c);
	}
}

void smtp_reply_append(string_t *out, unsigned int code, const char *enh_code,
		       const char *fmt, ...)
{
	va_list args;
	string_t *text = str_new(128);

	va_start(args, fmt);
	str_vprintfa(text, fmt, args);
	va_end(args);
	str_printfa(out, "%03u ", code);
	if (enh_code != NULL)
		str_printfa(out, "%s ", enh_code);
	smtp_reply_append_text(out, str_c(text));
	str_append(out, "\r\n");
	str_free(&text);
}

void smtp_reply_append_lines(string_t *out, unsigned int code,
			     const char *const *lines)
{
	for (unsigned int i = 0; lines[i] != NULL; i++) {
		str_printfa(out, "%03u%c", code, lines[i + 1] == NULL ? ' ' : '-');
		smtp_reply_append_text(out, lines[i]);
		str_append(out, "\r\n");
	}
}
