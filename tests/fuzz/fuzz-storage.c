/* Fuzz target for lib-storage's parsers of on-disk and client data: the
   input goes through the dovecot-uidlist parser (whole and cut at a
   point taken from the input), the mailbox name checks with both
   separators, and the Maildir file name flag/size parsers. Aborts when
   an invariant breaks.

   Built by tests/fuzz/meson.build: a libFuzzer binary with clang and
   -Dfuzzing=true (`make fuzz`), else linked with replay-main.c. */
#include <stdio.h>
#include <stdlib.h>
#include "storage-private.h"

#define CHECK(expr) do { if (!(expr)) { \
	fprintf(stderr, "invariant failed: %s (%s:%d)\n", #expr, \
		__FILE__, __LINE__); abort(); } } while (0)

static void fuzz_uidlist(const char *data, size_t size)
{
	struct maildir_uidlist ul;
	const char *error;
	unsigned int i;

	memset(&ul, 0, sizeof(ul));
	if (maildir_uidlist_parse(data, size, &ul, &error) == 0) {
		for (i = 0; i < ul.count; i++) {
			CHECK(ul.recs[i].uid > 0 && ul.recs[i].uid < ul.next_uid);
			CHECK(i == 0 || ul.recs[i - 1].uid < ul.recs[i].uid);
			CHECK(strchr(ul.recs[i].base, '\n') == NULL);
			CHECK(strchr(ul.recs[i].base, ':') == NULL);
		}
	}
	maildir_uidlist_clear(&ul);
}

static void fuzz_name(const char *name)
{
	static const char seps[] = { '.', '/' };
	const char *error;
	char *dir, *back;
	unsigned int i;

	for (i = 0; i < N_ELEMENTS(seps); i++) {
		if (mailbox_name_to_dir(seps[i], name, &dir, &error) < 0)
			continue;
		CHECK(strlen(name) <= MAILBOX_NAME_MAX_LENGTH ||
		      mailbox_name_is_inbox(name));
		CHECK(strchr(dir, '/') == NULL);
		CHECK(mailbox_name_mutf7_valid(name));
		if (dir[0] != '\0') {
			CHECK(dir[0] == '.' && dir[1] != '.');
			back = mailbox_name_from_dir(seps[i], dir);
			/* the same name, except for INBOX's case */
			if (back != NULL)
				CHECK(strlen(back) == strlen(name));
			free(back);
		}
		free(dir);
	}
}

static void fuzz_filename(const char *fname)
{
	enum mail_flags flags, flags2;
	uint32_t bits, bits2;
	uint64_t size;
	size_t base_len = maildir_filename_base_len(fname);

	maildir_filename_get_flags(fname, &flags, &bits);
	CHECK((flags & ~MAIL_FLAGS_STORED_MASK) == 0);
	CHECK((bits >> MAILDIR_MAX_KEYWORDS) == 0);
	(void)maildir_filename_get_size(fname, 'S', &size);
	(void)maildir_filename_get_size(fname, 'W', &size);

	char *base = i_strndup(fname, base_len);
	char *f2 = maildir_filename_set_flags(base, fname, flags, bits);
	maildir_filename_get_flags(f2, &flags2, &bits2);
	CHECK(flags2 == flags && bits2 == bits);
	CHECK(maildir_filename_base_len(f2) == base_len);
	free(f2);
	free(base);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *str = i_strndup(data, size);   /* stops at a NUL */

	fuzz_uidlist((const char *)data, size);
	if (size > 0)
		fuzz_uidlist((const char *)data, data[0] % (size + 1));
	if (strlen(str) < 4096) {
		fuzz_name(str);
		fuzz_filename(str);
	}
	free(str);
	return 0;
}
