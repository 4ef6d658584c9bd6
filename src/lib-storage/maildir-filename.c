/* Maildir file names as Dovecot writes them:
   "<secs>.M<usecs>P<pid>.<host>,S=<size>,W=<vsize>:2,<flags>" where the
   flag letters are sorted: D=\Draft F=\Flagged P=passed R=\Answered
   S=\Seen T=\Deleted, then keyword letters a..z (dovecot-keywords
   index 0..25). */
#include "storage-private.h"
#include <sys/time.h>
#include <unistd.h>

static const struct {
	char letter;
	enum mail_flags flag;
} flag_letters[] = {
	{ 'D', MAIL_DRAFT },
	{ 'F', MAIL_FLAGGED },
	{ 'R', MAIL_ANSWERED },
	{ 'S', MAIL_SEEN },
	{ 'T', MAIL_DELETED },
};

static const char *my_hostname(void)
{
	static char host[256];
	char buf[200];
	string_t *str;
	size_t i;

	if (host[0] != '\0')
		return host;
	if (gethostname(buf, sizeof(buf)) < 0)
		strcpy(buf, "localhost");
	buf[sizeof(buf) - 1] = '\0';
	str = str_new(64);
	for (i = 0; buf[i] != '\0'; i++) {
		if (buf[i] == '/')
			str_append(str, "\\057");
		else if (buf[i] == ':')
			str_append(str, "\\072");
		else
			str_append_c(str, buf[i]);
	}
	snprintf(host, sizeof(host), "%s", str_c(str));
	str_free(&str);
	return host;
}

char *maildir_filename_generate(void)
{
	static struct timeval last;
	struct timeval tv;

	gettimeofday(&tv, NULL);
	/* unique within this process: never reuse a (sec, usec) pair */
	if (tv.tv_sec < last.tv_sec ||
	    (tv.tv_sec == last.tv_sec && tv.tv_usec <= last.tv_usec)) {
		tv = last;
		if (++tv.tv_usec >= 1000000) {
			tv.tv_sec++;
			tv.tv_usec = 0;
		}
	}
	last = tv;
	return i_strdup_printf("%lld.M%ldP%ld.%s", (long long)tv.tv_sec,
			       (long)tv.tv_usec, (long)getpid(),
			       my_hostname());
}

size_t maildir_filename_base_len(const char *fname)
{
	const char *p = strchr(fname, ':');

	return p == NULL ? strlen(fname) : (size_t)(p - fname);
}

bool maildir_filename_get_size(const char *fname, char key, uint64_t *size_r)
{
	size_t base_len = maildir_filename_base_len(fname);
	const char *p = fname, *end = fname + base_len;
	uint64_t n;

	while ((p = memchr(p, ',', end - p)) != NULL) {
		p++;
		if (end - p < 3 || p[0] != key || p[1] != '=') 
			continue;
		p += 2;
		if (*p < '0' || *p > '9')
			continue;
		for (n = 0; p < end && *p >= '0' && *p <= '9'; p++) {
			if (n > (UINT64_MAX - 9) / 10)
				return false;
			n = n * 10 + (uint64_t)(*p - '0');
		}
		if (p != end && *p != ',')
			continue;
		*size_r = n;
		return true;
	}
	return false;
}

static const char *info_flags(const char *fname)
{
	const char *p = strchr(fname, ':');

	if (p == NULL || p[1] != '2' || p[2] != ',')
		return NULL;
	return p + 3;
}

void maildir_filename_get_flags(const char *fname, enum mail_flags *flags_r,
				uint32_t *kw_bits_r)
{
	const char *p = info_flags(fname);
	unsigned int i;

	*flags_r = 0;
	*kw_bits_r = 0;
	if (p == NULL)
		return;
	for (; *p != '\0' && *p != ','; p++) {
		if (*p >= 'a' && *p <= 'z') {
			*kw_bits_r |= 1u << (*p - 'a');
			continue;
		}
		for (i = 0; i < N_ELEMENTS(flag_letters); i++) {
			if (flag_letters[i].letter == *p)
				*flags_r |= flag_letters[i].flag;
		}
	}
}

static bool is_our_letter(char c)
{
	unsigned int i;

	if (c >= 'a' && c <= 'z')
		return true;
	for (i = 0; i < N_ELEMENTS(flag_letters); i++) {
		if (flag_letters[i].letter == c)
			return true;
	}
	return false;
}

char *maildir_filename_set_flags(const char *base, const char *old_fname,
				 enum mail_flags flags, uint32_t kw_bits)
{
	bool have[256];
	const char *p = old_fname == NULL ? NULL : info_flags(old_fname);
	string_t *str;
	unsigned int i;

	memset(have, 0, sizeof(have));
	for (; p != NULL && *p != '\0' && *p != ','; p++) {
		/* keep letters we don't know (e.g. 'P' passed) */
		if (!is_our_letter(*p) && (unsigned char)*p > 0x20)
			have[(unsigned char)*p] = true;
	}
	for (i = 0; i < N_ELEMENTS(flag_letters); i++) {
		if ((flags & flag_letters[i].flag) != 0)
			have[(unsigned char)flag_letters[i].letter] = true;
	}
	for (i = 0; i < MAILDIR_MAX_KEYWORDS; i++) {
		if ((kw_bits & (1u << i)) != 0)
			have['a' + i] = true;
	}
	str = str_new(strlen(base) + 40);
	str_append(str, base);
	str_append(str, ":2,");
	for (i = 0; i < 256; i++) {
		if (have[i] && i != ':' && i != '/')
			str_append_c(str, (char)i);
	}
	return str_free_without_data(&str);
}
