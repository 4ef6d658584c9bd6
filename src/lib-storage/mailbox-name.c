/* Mailbox names: validation of IMAP wire names (modified UTF-7, RFC 3501
   5.1.3) and their Maildir++ folder names (".A.B", as Dovecot stores
   them: the on-disk name is the mUTF-7 wire name with '.' between the
   hierarchy levels). */
#include "storage-private.h"
#include "imap-utf7.h"
#include <strings.h>

bool mailbox_name_is_inbox(const char *name)
{
	return strcasecmp(name, "INBOX") == 0;
}

bool mailbox_name_mutf7_valid(const char *name)
{
	/* one strict modified UTF-7 validator for the whole server */
	return imap_utf7_is_valid(name);
}

static bool component_valid(const char *c, size_t len, char sep,
			    const char **error_r)
{
	size_t i;

	if (len == 0) {
		*error_r = "Invalid mailbox name: empty hierarchy level";
		return false;
	}
	if ((len == 1 && c[0] == '.') || (len == 2 && memcmp(c, "..", 2) == 0)) {
		*error_r = "Invalid mailbox name";
		return false;
	}
	for (i = 0; i < len; i++) {
		if (c[i] == '.' && sep != '.') {
			*error_r = "Character not allowed in mailbox name: '.'";
			return false;
		}
		if (c[i] == '/') {
			*error_r = "Character not allowed in mailbox name: '/'";
			return false;
		}
	}
	return true;
}

int mailbox_name_to_dir(char sep, const char *name, char **dir_r,
			const char **error_r)
{
	const unsigned char *p;
	const char *start, *end;
	unsigned int depth = 0;
	string_t *dir;

	if (mailbox_name_is_inbox(name)) {
		*dir_r = i_strdup("");
		return 0;
	}
	if (name[0] == '\0') {
		*error_r = "Invalid mailbox name";
		return -1;
	}
	if (strlen(name) > MAILBOX_NAME_MAX_LENGTH) {
		*error_r = "Mailbox name too long";
		return -1;
	}
	for (p = (const unsigned char *)name; *p != '\0'; p++) {
		if (*p < 0x20 || *p >= 0x7f || *p == '*' || *p == '%') {
			*error_r = "Invalid mailbox name";
			return -1;
		}
	}
	if (!mailbox_name_mutf7_valid(name)) {
		*error_r = "Invalid mailbox name: not valid modified UTF-7";
		return -1;
	}
	dir = str_new(strlen(name) + 2);
	for (start = name;; start = end + 1) {
		end = strchr(start, sep);
		if (end == NULL)
			end = start + strlen(start);
		if (!component_valid(start, end - start, sep, error_r) ||
		    ++depth > MAILBOX_NAME_MAX_DEPTH) {
			if (depth > MAILBOX_NAME_MAX_DEPTH)
				*error_r = "Mailbox name has too many hierarchy levels";
			str_free(&dir);
			return -1;
		}
		str_append_c(dir, '.');
		if (depth == 1 && end - start == 5 &&
		    strncasecmp(start, "INBOX", 5) == 0)
			str_append(dir, "INBOX");
		else
			str_append_n(dir, start, end - start);
		if (*end == '\0')
			break;
	}
	*dir_r = str_free_without_data(&dir);
	return 0;
}

char *mailbox_name_from_dir(char sep, const char *dir)
{
	char *name, *back;
	const char *error;
	size_t i;

	if (dir[0] != '.' || dir[1] == '\0' || dir[1] == '.')
		return NULL;
	name = i_strdup(dir + 1);
	if (sep != '.') {
		for (i = 0; name[i] != '\0'; i++) {
			if (name[i] == sep) {
				/* can't be shown with this separator */
				i_free(name);
				return NULL;
			}
			if (name[i] == '.')
				name[i] = sep;
		}
	}
	if (mailbox_name_to_dir(sep, name, &back, &error) < 0) {
		i_free(name);
		return NULL;
	}
	if (strcmp(back, dir) != 0) {
		/* ".INBOX" or a differently cased ".inbox.x" */
		i_free(name);
	}
	i_free(back);
	return name;
}
