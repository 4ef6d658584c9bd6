/* SEARCH keeps only the FROM/TO/CC/BCC/SUBJECT fields of a message in
   the parse cache (imap_search_header_fields()): matching a key against
   those must give the same answer as against the whole header block,
   for tricky headers here and for corpus messages when LOFT_CORPUS is
   set (as scripts/run-tests.sh does). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <cmocka.h>
#include <dirent.h>
#include <unistd.h>
#include "imap-search.h"
#include "imap-search-match.h"

static const char *const fields[] = {
	"from", "To", "CC", "bcc", "SUBJECT", "Date", "x-none", NULL
};
static const char *const keys[] = {
	"", "a", "com", "example", "@", "re", "the", "smith", "<", "\"",
	"john doe", "=?", "caf\xc3\xa9", "x y", ",", "info", "net", NULL
};

static const char *const headers[] = {
	"From: a@example.com\nTo: b@example.com\nSubject: re: hi\n\n",
	"From: \"Smith, John\" <js@example.com>\r\nSubject: Re:\r\n the folded\r\n\tsubject\r\nTo: x@y.net,\r\n z@w.org\r\n\r\n",
	"To: one@a.com\nCc: c@c.com\nTo: two@b.com\nSubject: =?utf-8?q?caf=C3=A9?= x y\nFrom: (comment) jo(c)hn@doe.com\n\n",
	"Subject: no newline at end",
	"From:\nSubject:\nTo: \n\n",
	"Received: from x\nFROM: Upper <u@example.com>\nsubject: lower case name\nBcc: hidden@info.net\nnocolon line\nCc: =?iso-8859-1?b?Y2Fm6Q==?= <c@d.com>\n\n",
	"X: y\n continued\nFrom: a@b.c\n\tfolded@d.e\nSubject: x\n",
	"",
	"\n",
	"From: a@b.com\nFrom: second@example.com\n\nbody From: not@header.com\n",
};

static void check_block(const unsigned char *hdr, size_t size)
{
	for (unsigned int f = 0; fields[f] != NULL; f++) {
		size_t sub_size;
		char *sub = imap_search_header_fields(hdr, size, fields[f],
						      &sub_size);
		for (unsigned int k = 0; keys[k] != NULL; k++) {
			int whole = imap_search_header(hdr, size, fields[f],
						       keys[k]);
			int part = imap_search_header((const unsigned char *)sub,
						      sub_size, fields[f],
						      keys[k]);
			if (whole != part)
				fail_msg("field %s key '%s': whole %d, fields "
					 "only %d\n%.*s", fields[f], keys[k],
					 whole, part, (int)size, hdr);
		}
		free(sub);
	}
}

static void test_tricky_headers(void **state)
{
	unsigned int matches = 0;

	for (unsigned int i = 0; i < N_ELEMENTS(headers); i++) {
		check_block((const unsigned char *)headers[i],
			    strlen(headers[i]));
		matches += imap_search_header((const unsigned char *)headers[i],
					      strlen(headers[i]), "from",
					      "com") > 0;
	}
	/* the matcher is not trivially false here */
	assert_true(matches >= 3);
	/* only the named fields, whole */
	size_t size;
	char *sub = imap_search_header_fields(
		(const unsigned char *)headers[2], strlen(headers[2]), "to",
		&size);
	assert_string_equal(sub, "To: one@a.com\nTo: two@b.com\n");
	free(sub);
}

/* The header block of a corpus file as IMAP serves it (CRLF) */
static unsigned char *file_header(const char *path, size_t *size_r)
{
	char *data;
	size_t size, i, j = 0;

	if (read_file(path, 1 << 20, &data, &size) < 0)
		return NULL;
	unsigned char *out = i_malloc(size * 2 + 1);
	for (i = 0; i < size; i++) {
		if (data[i] == '\n' && (i == 0 || data[i - 1] != '\r'))
			out[j++] = '\r';
		out[j++] = (unsigned char)data[i];
		if (i > 0 && data[i] == '\n' && data[i - 1] == '\n')
			break;
		if (i > 1 && data[i] == '\n' && data[i - 1] == '\r' &&
		    j > 3 && out[j - 3] == '\n')
			break;
	}
	free(data);
	*size_r = j;
	return out;
}

static void test_corpus(void **state)
{
	const char *corpus = getenv("LOFT_CORPUS");
	static const char *const dirs[] = {
		"spamassassin/Maildir/cur", "mime-zoo-free/Maildir/cur",
	};
	unsigned int checked = 0;

	/* meson runs tests in the build dir: ../build-x or ./build-x */
	if (corpus == NULL)
		corpus = access("../shared/corpus", F_OK) == 0 ?
			"../shared/corpus" : "../../shared/corpus";
	for (unsigned int d = 0; d < N_ELEMENTS(dirs); d++) {
		char *dir = i_strdup_printf("%s/%s", corpus, dirs[d]);
		DIR *dp = opendir(dir);
		struct dirent *e;
		unsigned int n = 0;
		while (dp != NULL && (e = readdir(dp)) != NULL && n < 150) {
			if (e->d_name[0] == '.')
				continue;
			char *path = i_strdup_printf("%s/%s", dir, e->d_name);
			size_t size;
			unsigned char *hdr = file_header(path, &size);
			if (hdr != NULL) {
				check_block(hdr, size);
				n++;
				free(hdr);
			}
			free(path);
		}
		if (dp != NULL)
			closedir(dp);
		free(dir);
		checked += n;
	}
	if (getenv("LOFT_CORPUS") != NULL)
		assert_true(checked >= 100);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_tricky_headers),
		cmocka_unit_test(test_corpus),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
