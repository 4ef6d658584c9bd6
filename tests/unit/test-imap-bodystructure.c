/* Unit tests for ENVELOPE, BODY/BODYSTRUCTURE, BODY[section] and IMAP
   quoting. Expected values are Dovecot's own unit-test expectations
   (src/lib-imap/test-imap-bodystructure.c, test-imap-envelope.c,
   test-imap-quote.c) and RFC 3501 examples; Dovecot's tests use LF
   messages and count sizes as CRLF, so the messages are converted to
   CRLF here and the sizes stay the same. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <cmocka.h>
#include "lib.h"
#include "message-parser.h"
#include "imap-envelope.h"
#include "imap-bodystructure.h"
#include "imap-msgpart.h"
#include "imap-quote.h"

static string_t *crlf(const char *msg)
{
	string_t *s = str_new(strlen(msg) * 2 + 1);

	for (; *msg != '\0'; msg++) {
		if (*msg == '\n')
			str_append_c(s, '\r');
		str_append_c(s, *msg);
	}
	return s;
}

struct bs_test {
	const char *message, *body, *bodystructure;
};

static const struct bs_test bs_tests[] = {
	{
		"From: user@domain.org\n"
		"Date: Sat, 24 Mar 2017 23:00:00 +0200\n"
		"Mime-Version: 1.0\n"
		"Content-Type: text/plain; charset=us-ascii\n"
		"\n"
		"body\n",
		"(\"text\" \"plain\" (\"charset\" \"us-ascii\") NIL NIL \"7bit\" 6 1)",
		"(\"text\" \"plain\" (\"charset\" \"us-ascii\") NIL NIL \"7bit\" 6 1 NIL NIL NIL NIL)"
	}, {
		"From: user@domain.org\n"
		"Date: Sat, 24 Mar 2017 23:00:00 +0200\n"
		"Mime-Version: 1.0\n"
		"Content-Type: text/plain; charset=utf-8\n"
		"Content-Transfer-Encoding: 8bit\n"
		"\n"
		"body\n"
		"\n",
		"(\"text\" \"plain\" (\"charset\" \"utf-8\") NIL NIL \"8bit\" 8 2)",
		"(\"text\" \"plain\" (\"charset\" \"utf-8\") NIL NIL \"8bit\" 8 2 NIL NIL NIL NIL)"
	}, {
		"From: user@domain.org\n"
		"Date: Sat, 24 Mar 2007 23:00:00 +0200\n"
		"Mime-Version: 1.0\n"
		"Content-Type: multipart/mixed; boundary=\"foo\n"
		" bar\"\n"
		"\n"
		"--foo bar\n"
		"Content-Type: text/x-myown; charset=us-ascii\n"
		"\n"
		"hello\n"
		"\n"
		"--foo bar--\n"
		"\n",
		"((\"text\" \"x-myown\" (\"charset\" \"us-ascii\") NIL NIL \"7bit\" 7 1) \"mixed\")",
		"((\"text\" \"x-myown\" (\"charset\" \"us-ascii\") NIL NIL \"7bit\" 7 1 NIL NIL NIL NIL) \"mixed\" (\"boundary\" \"foo bar\") NIL NIL NIL)"
	}, {
		"From: user@domain.org\n"
		"Date: Sat, 24 Mar 2017 23:00:00 +0200\n"
		"Mime-Version: 1.0\n"
		"Content-Type: multipart/mixed; boundary=\"foo bar\"\n"
		"\n"
		"--foo bar\n"
		"Content-Type: text/plain; charset=us-ascii\n"
		"Content-ID: <A.frop.example.com>\n"
		"Content-Description: Container message\n"
		"\n"
		"See attached...\n"
		"\n"
		"--foo bar\n"
		"Content-Type: message/rfc822\n"
		"Content-ID: <B.frop.example.com>\n"
		"Content-Description: Forwarded\n"
		"\n"
		"From: user@domain.org\n"
		"Date: Sat, 24 Mar 2017 23:00:00 +0200\n"
		"Mime-Version: 1.0\n"
		"Content-Type: text/plain; charset=us-ascii\n"
		"\n"
		"body\n"
		"\n"
		"--foo bar--\n",
		"((\"text\" \"plain\" (\"charset\" \"us-ascii\") \"<A.frop.example.com>\" \"Container message\" \"7bit\" 17 1)(\"message\" \"rfc822\" NIL \"<B.frop.example.com>\" \"Forwarded\" \"7bit\" 133 (\"Sat, 24 Mar 2017 23:00:00 +0200\" NIL ((NIL NIL \"user\" \"domain.org\")) ((NIL NIL \"user\" \"domain.org\")) ((NIL NIL \"user\" \"domain.org\")) NIL NIL NIL NIL NIL) (\"text\" \"plain\" (\"charset\" \"us-ascii\") NIL NIL \"7bit\" 6 1) 6) \"mixed\")",
		"((\"text\" \"plain\" (\"charset\" \"us-ascii\") \"<A.frop.example.com>\" \"Container message\" \"7bit\" 17 1 NIL NIL NIL NIL)(\"message\" \"rfc822\" NIL \"<B.frop.example.com>\" \"Forwarded\" \"7bit\" 133 (\"Sat, 24 Mar 2017 23:00:00 +0200\" NIL ((NIL NIL \"user\" \"domain.org\")) ((NIL NIL \"user\" \"domain.org\")) ((NIL NIL \"user\" \"domain.org\")) NIL NIL NIL NIL NIL) (\"text\" \"plain\" (\"charset\" \"us-ascii\") NIL NIL \"7bit\" 6 1 NIL NIL NIL NIL) 6 NIL NIL NIL NIL) \"mixed\" (\"boundary\" \"foo bar\") NIL NIL NIL)"
	}, {
		"From: user@domain.org\n"
		"Date: Sat, 24 Mar 2007 23:00:00 +0200\n"
		"Mime-Version: 1.0\n"
		"Content-Type: multipart/mixed; boundary=\"foo\n"
		" bar\"\n"
		"\n"
		"Root MIME prologue\n"
		"\n"
		"--foo bar\n"
		"Content-Type: text/x-myown; charset=us-ascii; foo=\"quoted\\\"string\"\n"
		"Content-ID: <foo@example.com>\n"
		"Content-MD5: Q2hlY2sgSW50ZWdyaXR5IQ==\n"
		"Content-Disposition: inline; foo=bar\n"
		"Content-Description: hellodescription\n"
		"Content-Language: en, fi, se\n"
		"Content-Location: http://example.com/test.txt\n"
		"\n"
		"hello\n"
		"\n"
		"--foo bar\n"
		"Content-Type: message/rfc822\n"
		"\n"
		"From: sub@domain.org\n"
		"To: sub-to1@domain.org, sub-to2@domain.org\n"
		"Date: Sun, 12 Aug 2012 12:34:56 +0300\n"
		"Subject: submsg\n"
		"Content-Type: multipart/alternative; boundary=\"sub1\"\n"
		"\n"
		"Sub MIME prologue\n"
		"--sub1\n"
		"Content-Type: text/html\n"
		"Content-Transfer-Encoding: 8bit\n"
		"\n"
		"<p>Hello world</p>\n"
		"\n"
		"--sub1\n"
		"Content-Type: text/plain\n"
		"Content-Transfer-Encoding: ?invalid\n"
		"\n"
		"Hello another world\n"
		"\n"
		"--sub1--\n"
		"Sub MIME epilogue\n"
		"\n"
		"--foo bar--\n"
		"Root MIME epilogue\n",
		"((\"text\" \"x-myown\" (\"charset\" \"us-ascii\" \"foo\" \"quoted\\\"string\") \"<foo@example.com>\" \"hellodescription\" \"7bit\" 7 1)(\"message\" \"rfc822\" NIL NIL NIL \"7bit\" 412 (\"Sun, 12 Aug 2012 12:34:56 +0300\" \"submsg\" ((NIL NIL \"sub\" \"domain.org\")) ((NIL NIL \"sub\" \"domain.org\")) ((NIL NIL \"sub\" \"domain.org\")) ((NIL NIL \"sub-to1\" \"domain.org\")(NIL NIL \"sub-to2\" \"domain.org\")) NIL NIL NIL NIL) ((\"text\" \"html\" (\"charset\" \"us-ascii\") NIL NIL \"8bit\" 20 1)(\"text\" \"plain\" (\"charset\" \"us-ascii\") NIL NIL \"7bit\" 21 1) \"alternative\") 21) \"mixed\")",
		"((\"text\" \"x-myown\" (\"charset\" \"us-ascii\" \"foo\" \"quoted\\\"string\") \"<foo@example.com>\" \"hellodescription\" \"7bit\" 7 1 \"Q2hlY2sgSW50ZWdyaXR5IQ==\" (\"inline\" (\"foo\" \"bar\")) (\"en\" \"fi\" \"se\") \"http://example.com/test.txt\")(\"message\" \"rfc822\" NIL NIL NIL \"7bit\" 412 (\"Sun, 12 Aug 2012 12:34:56 +0300\" \"submsg\" ((NIL NIL \"sub\" \"domain.org\")) ((NIL NIL \"sub\" \"domain.org\")) ((NIL NIL \"sub\" \"domain.org\")) ((NIL NIL \"sub-to1\" \"domain.org\")(NIL NIL \"sub-to2\" \"domain.org\")) NIL NIL NIL NIL) ((\"text\" \"html\" (\"charset\" \"us-ascii\") NIL NIL \"8bit\" 20 1 NIL NIL NIL NIL)(\"text\" \"plain\" (\"charset\" \"us-ascii\") NIL NIL \"7bit\" 21 1 NIL NIL NIL NIL) \"alternative\" (\"boundary\" \"sub1\") NIL NIL NIL) 21 NIL NIL NIL NIL) \"mixed\" (\"boundary\" \"foo bar\") NIL NIL NIL)"
	}, {
		/* multipart without any parts */
		"Content-Type: multipart/mixed; boundary=\"foo\"\n"
		"\n",
		"((\"text\" \"plain\" (\"charset\" \"us-ascii\") NIL NIL \"7bit\" 0 0) \"mixed\")",
		"((\"text\" \"plain\" (\"charset\" \"us-ascii\") NIL NIL \"7bit\" 0 0 NIL NIL NIL NIL) \"mixed\" (\"boundary\" \"foo\") NIL NIL NIL)"
	}, {
		/* no Content-Type: text/plain us-ascii default */
		"Subject: x\n\nhello\n",
		"(\"text\" \"plain\" (\"charset\" \"us-ascii\") NIL NIL \"7bit\" 7 1)",
		"(\"text\" \"plain\" (\"charset\" \"us-ascii\") NIL NIL \"7bit\" 7 1 NIL NIL NIL NIL)"
	}, {
		/* no MIME-Version and no Content-Type: Content-* ignored */
		"Content-Transfer-Encoding: base64\n\naGVsbG8=\n",
		"(\"text\" \"plain\" (\"charset\" \"us-ascii\") NIL NIL \"7bit\" 10 1)",
		"(\"text\" \"plain\" (\"charset\" \"us-ascii\") NIL NIL \"7bit\" 10 1 NIL NIL NIL NIL)"
	}, {
		/* Content-Type without subtype is kept as written */
		"MIME-Version: 1.0\nContent-Type: text\n\nx\n",
		"(\"text\" \"\" (\"charset\" \"us-ascii\") NIL NIL \"7bit\" 3 1)",
		"(\"text\" \"\" (\"charset\" \"us-ascii\") NIL NIL \"7bit\" 3 1 NIL NIL NIL NIL)"
	}, {
		/* "multipart/" with nothing after the slash isn't multipart */
		"MIME-Version: 1.0\nContent-Type: multipart/\n\n--x\n",
		"(\"multipart\" \"\" NIL NIL NIL \"7bit\" 5)",
		NULL
	}, {
		/* multipart without boundary: no parts */
		"MIME-Version: 1.0\nContent-Type: multipart/mixed\n\n--x\n\nfoo\n--x--\n",
		"((\"text\" \"plain\" (\"charset\" \"us-ascii\") NIL NIL \"7bit\" 0 0) \"mixed\")",
		"((\"text\" \"plain\" (\"charset\" \"us-ascii\") NIL NIL \"7bit\" 0 0 NIL NIL NIL NIL) \"mixed\" NIL NIL NIL NIL)"
	}, {
		/* multipart/digest: parts default to message/rfc822;
		   RFC 2231 continuation (merged ones come after the plain
		   ones, as in Dovecot) and an 8-bit parameter (literal) */
		"MIME-Version: 1.0\n"
		"Content-Type: multipart/digest; boundary=d\n"
		"\n"
		"--d\n"
		"\n"
		"Subject: s\n"
		"\n"
		"b\n"
		"--d\n"
		"Content-Type: application/x; name*0=\"a\"; name*1=\"b\"; t=\"\xc3\xa4\"\n"
		"\n"
		"zz\n"
		"--d--\n",
		"((\"message\" \"rfc822\" NIL NIL NIL \"7bit\" 15 (NIL \"s\" NIL NIL NIL NIL NIL NIL NIL NIL) (\"text\" \"plain\" (\"charset\" \"us-ascii\") NIL NIL \"7bit\" 1 0) 2)(\"application\" \"x\" (\"t\" {2}\r\n\xc3\xa4 \"name\" \"ab\") NIL NIL \"7bit\" 2) \"digest\")",
		NULL
	},
};

static void test_bodystructure(void **state)
{
	for (unsigned int i = 0; i < N_ELEMENTS(bs_tests); i++) {
		string_t *msg = crlf(bs_tests[i].message);
		string_t *out = str_new(256);
		struct message_part *parts =
			message_parse(str_data(msg), str_len(msg));

		imap_bodystructure_write(parts, str_data(msg), false, out);
		if (strcmp(str_c(out), bs_tests[i].body) != 0)
			fail_msg("BODY test %u:\n got %s\nwant %s", i,
				 str_c(out), bs_tests[i].body);
		if (bs_tests[i].bodystructure != NULL) {
			str_truncate(out, 0);
			imap_bodystructure_write(parts, str_data(msg), true, out);
			if (strcmp(str_c(out), bs_tests[i].bodystructure) != 0)
				fail_msg("BODYSTRUCTURE test %u:\n got %s\nwant %s",
					 i, str_c(out), bs_tests[i].bodystructure);
		}
		message_part_free(&parts);
		assert_null(parts);
		str_free(&out);
		str_free(&msg);
	}
}

struct env_test {
	const char *message, *envelope;
};

static const struct env_test env_tests[] = {
	{
		"Message-ID: <msg@id>\n"
		"In-Reply-To: <reply@to.id>\n"
		"Date: Thu, 15 Feb 2007 01:02:03 +0200\n"
		"Subject: subject header\n"
		"From: From Real <fromuser@fromdomain.org>\n"
		"To: To Real <touser@todomain.org>\n"
		"Cc: Cc Real <ccuser@ccdomain.org>\n"
		"Bcc: Bcc Real <bccuser@bccdomain.org>\n"
		"Sender: Sender Real <senderuser@senderdomain.org>\n"
		"Reply-To: ReplyTo Real <replytouser@replytodomain.org>\n"
		"\n"
		"body\n",
		"(\"Thu, 15 Feb 2007 01:02:03 +0200\" \"subject header\" "
		"((\"From Real\" NIL \"fromuser\" \"fromdomain.org\")) "
		"((\"Sender Real\" NIL \"senderuser\" \"senderdomain.org\")) "
		"((\"ReplyTo Real\" NIL \"replytouser\" \"replytodomain.org\")) "
		"((\"To Real\" NIL \"touser\" \"todomain.org\")) "
		"((\"Cc Real\" NIL \"ccuser\" \"ccdomain.org\")) "
		"((\"Bcc Real\" NIL \"bccuser\" \"bccdomain.org\")) "
		"\"<reply@to.id>\" \"<msg@id>\")"
	}, {
		"Date: Thu, 15 Feb 2007 01:02:03 +0200\n"
		"From: user@domain\n"
		"\n"
		"body\n",
		"(\"Thu, 15 Feb 2007 01:02:03 +0200\" NIL "
		"((NIL NIL \"user\" \"domain\")) ((NIL NIL \"user\" \"domain\")) "
		"((NIL NIL \"user\" \"domain\")) NIL NIL NIL NIL NIL)"
	}, {
		"Date: Thu, 15 Feb 2007 01:02:03 +0200\n"
		"From: user@domain (Real Name)\n"
		"To: group: g1@d1.org, g2@d2.org;, group2: g3@d3.org;\n"
		"Cc: group:;, group2: (foo) ;\n"
		"\n"
		"body\n",
		"(\"Thu, 15 Feb 2007 01:02:03 +0200\" NIL "
		"((\"Real Name\" NIL \"user\" \"domain\")) "
		"((\"Real Name\" NIL \"user\" \"domain\")) "
		"((\"Real Name\" NIL \"user\" \"domain\")) "
		"((NIL NIL \"group\" NIL)(NIL NIL \"g1\" \"d1.org\")"
		"(NIL NIL \"g2\" \"d2.org\")(NIL NIL NIL NIL)"
		"(NIL NIL \"group2\" NIL)(NIL NIL \"g3\" \"d3.org\")"
		"(NIL NIL NIL NIL)) "
		"((NIL NIL \"group\" NIL)(NIL NIL NIL NIL)"
		"(NIL NIL \"group2\" NIL)(NIL NIL NIL NIL)) NIL NIL NIL)"
	}, {
		/* empty Sender/Reply-To fall back to From */
		"Date: Thu, 15 Feb 2007 01:02:03 +0200\n"
		"From: user@domain (Real Name)\n"
		"Sender: \n"
		"Reply-To: \n"
		"\n"
		"body\n",
		"(\"Thu, 15 Feb 2007 01:02:03 +0200\" NIL "
		"((\"Real Name\" NIL \"user\" \"domain\")) "
		"((\"Real Name\" NIL \"user\" \"domain\")) "
		"((\"Real Name\" NIL \"user\" \"domain\")) NIL NIL NIL NIL NIL)"
	}, {
		"Date: Thu, 15 Feb 2007 01:02:03 +0200\n"
		"From: <@route:user@domain>\n"
		"\n"
		"body\n",
		"(\"Thu, 15 Feb 2007 01:02:03 +0200\" NIL "
		"((NIL \"@route\" \"user\" \"domain\")) "
		"((NIL \"@route\" \"user\" \"domain\")) "
		"((NIL \"@route\" \"user\" \"domain\")) NIL NIL NIL NIL NIL)"
	}, {
		/* missing parts are filled in; 8-bit and folded values become
		   literals; the subject is cleaned up for humans */
		"From: user\n"
		"To: Real Name\n"
		"Subject:  two  spaces\n"
		"Message-ID: <a@b>\n"
		" (folded)\n"
		"Cc: \"J\xc3\xa4ger\" <j@x>\n"
		"\n",
		"(NIL {10}\r\ntwo spaces "
		"((NIL NIL \"user\" \"MISSING_DOMAIN\")) "
		"((NIL NIL \"user\" \"MISSING_DOMAIN\")) "
		"((NIL NIL \"user\" \"MISSING_DOMAIN\")) "
		"((\"Real Name\" NIL \"MISSING_MAILBOX\" \"MISSING_DOMAIN\")) "
		"(({6}\r\nJ\xc3\xa4ger NIL \"j\" \"x\")) NIL NIL "
		"{15}\r\n<a@b>\n (folded))"
	}, {
		/* no header at all */
		"",
		"(NIL NIL NIL NIL NIL NIL NIL NIL NIL NIL)"
	},
};

static void test_envelope(void **state)
{
	for (unsigned int i = 0; i < N_ELEMENTS(env_tests); i++) {
		string_t *msg = crlf(env_tests[i].message);
		string_t *out = str_new(256);
		struct message_part *parts =
			message_parse(str_data(msg), str_len(msg));

		imap_envelope_write(str_data(msg), parts->header_size, out);
		if (strcmp(str_c(out), env_tests[i].envelope) != 0)
			fail_msg("ENVELOPE test %u:\n got %s\nwant %s", i,
				 str_c(out), env_tests[i].envelope);
		message_part_free(&parts);
		str_free(&out);
		str_free(&msg);
	}
}

static const char section_msg[] =
	"From: a@b\n"
	"To: c@d\n"
	"Subject: sections\n"
	"MIME-Version: 1.0\n"
	"Content-Type: multipart/mixed; boundary=XX\n"
	"\n"
	"preamble\n"
	"--XX\n"
	"Content-Type: text/plain\n"
	"\n"
	"part one\n"
	"--XX\n"
	"Content-Type: message/rfc822\n"
	"\n"
	"Subject: inner\n"
	"From: e@f\n"
	"\n"
	"inner body\n"
	"--XX--\n"
	"epilogue\n";

struct section_test {
	const char *section;
	const char *expected; /* LF form; NULL = parse error */
	uint64_t origin, count;
};

static const struct section_test section_tests[] = {
	{ "HEADER", "From: a@b\nTo: c@d\nSubject: sections\nMIME-Version: 1.0\n"
	  "Content-Type: multipart/mixed; boundary=XX\n\n", 0, UINT64_MAX },
	{ "1", "part one", 0, UINT64_MAX },
	{ "1.MIME", "Content-Type: text/plain\n\n", 0, UINT64_MAX },
	{ "2", "Subject: inner\nFrom: e@f\n\ninner body", 0, UINT64_MAX },
	{ "2.HEADER", "Subject: inner\nFrom: e@f\n\n", 0, UINT64_MAX },
	{ "2.TEXT", "inner body", 0, UINT64_MAX },
	{ "2.1", "inner body", 0, UINT64_MAX },
	{ "2.MIME", "Content-Type: message/rfc822\n\n", 0, UINT64_MAX },
	{ "2.HEADER.FIELDS (FROM)", "From: e@f\n\n", 0, UINT64_MAX },
	{ "header.fields (to \"SUBJECT\")", "To: c@d\nSubject: sections\n\n",
	  0, UINT64_MAX },
	{ "HEADER.FIELDS.NOT (From To Content-Type MIME-Version)",
	  "Subject: sections\n\n", 0, UINT64_MAX },
	{ "HEADER.FIELDS (X-None)", "\n", 0, UINT64_MAX },
	{ "1.HEADER", "", 0, UINT64_MAX },  /* not message/rfc822 */
	{ "3", "", 0, UINT64_MAX },         /* no such part */
	{ "2.5", "", 0, UINT64_MAX },
	{ "1", "art", 1, 3 },
	{ "1", "one", 5, 100 },
	{ "1", "", 50, 10 },
	{ "", NULL, 0, UINT64_MAX }, /* NULL here: the full message */
	{ "1.", NULL, 0, 0 }, { "0", NULL, 0, 0 }, { "1.0", NULL, 0, 0 },
	{ "FOO", NULL, 0, 0 }, { "HEADER.FIELDS", NULL, 0, 0 },
	{ "HEADER.FIELDS ()", NULL, 0, 0 }, { "MIME", NULL, 0, 0 },
	{ "HEADER.FIELDS (a", NULL, 0, 0 }, { "1..2", NULL, 0, 0 },
	{ "99999999999", NULL, 0, 0 },
};

static void test_msgpart(void **state)
{
	string_t *msg = crlf(section_msg);
	struct message_part *parts = message_parse(str_data(msg), str_len(msg));

	for (unsigned int i = 0; i < N_ELEMENTS(section_tests); i++) {
		const struct section_test *t = &section_tests[i];
		struct imap_msgpart *mp;
		const char *error;
		int ret = imap_msgpart_parse(t->section, &mp, &error);

		if (t->expected == NULL && t->section[0] != '\0') {
			if (ret == 0)
				fail_msg("section '%s' should fail", t->section);
			assert_null(mp);
			continue;
		}
		assert_int_equal(ret, 0);
		string_t *out = str_new(64);
		string_t *want = t->expected == NULL ? str_new(1) :
			crlf(t->expected);
		if (t->expected == NULL)
			str_append_n(want, str_data(msg), str_len(msg));
		imap_msgpart_set_partial(mp, t->origin, t->count);
		assert_int_equal(imap_msgpart_get(mp, str_data(msg),
						  str_len(msg), parts, out,
						  &error), 0);
		if (str_len(out) != str_len(want) ||
		    memcmp(str_data(out), str_data(want), str_len(out)) != 0)
			fail_msg("section '%s': got '%s' want '%s'", t->section,
				 str_c(out), str_c(want));
		/* the same without a pre-parsed tree */
		str_truncate(out, 0);
		imap_msgpart_get(mp, str_data(msg), str_len(msg), NULL, out,
				 &error);
		assert_int_equal(str_len(out), str_len(want));
		imap_msgpart_free(&mp);
		assert_null(mp);
		str_free(&out);
		str_free(&want);
	}
	message_part_free(&parts);
	str_free(&msg);
}

static void test_msgpart_names(void **state)
{
	struct imap_msgpart *mp;
	const char *error;
	uint64_t o, c;

	assert_int_equal(imap_msgpart_parse("1.header.fields (from \"x-y\")",
					    &mp, &error), 0);
	assert_string_equal(imap_msgpart_get_section(mp),
			    "1.HEADER.FIELDS (FROM \"X-Y\")");
	assert_true(imap_msgpart_is_header_only(mp));
	imap_msgpart_free(&mp);
	assert_int_equal(imap_msgpart_parse("2.text", &mp, &error), 0);
	assert_string_equal(imap_msgpart_get_section(mp), "2.TEXT");
	assert_false(imap_msgpart_is_header_only(mp));
	imap_msgpart_free(&mp);

	assert_int_equal(imap_msgpart_parse_partial("10.20", &o, &c), 0);
	assert_true(o == 10 && c == 20);
	assert_int_equal(imap_msgpart_parse_partial("7", &o, &c), 0);
	assert_true(o == 7 && c == UINT64_MAX);
	assert_int_equal(imap_msgpart_parse_partial("1.", &o, &c), -1);
	assert_int_equal(imap_msgpart_parse_partial("x", &o, &c), -1);
	assert_int_equal(imap_msgpart_parse_partial("99999999999999999999",
						    &o, &c), -1);
}

static void test_quote(void **state)
{
	static const struct {
		const char *input, *output;
	} humans[] = {
		{ "", "\"\"" }, { " ", "\"\"" }, { "  ", "\"\"" },
		{ "\t", "\"\"" }, { " \t", "\"\"" }, { " \t ", "\"\"" },
		{ " foo", "{3}\r\nfoo" }, { "\tfoo", "{3}\r\nfoo" },
		{ "\t \tfoo", "{3}\r\nfoo" }, { " foo ", "{3}\r\nfoo" },
		{ " foo  ", "{3}\r\nfoo" }, { " foo  \t  \t", "{3}\r\nfoo" },
		{ "hello\"world", "{11}\r\nhello\"world" },
		{ "hello\\world", "{11}\r\nhello\\world" },
		{ "hello\rworld", "{11}\r\nhello world" },
		{ "hello\nworld", "{11}\r\nhello world" },
		{ "hello\r\n world", "{11}\r\nhello world" },
		{ "plain text", "\"plain text\"" },
	};
	string_t *s = str_new(64);

	for (unsigned int i = 0; i < N_ELEMENTS(humans); i++) {
		str_truncate(s, 0);
		imap_append_string_for_humans(s, humans[i].input,
					      strlen(humans[i].input));
		assert_string_equal(str_c(s), humans[i].output);
	}
	str_truncate(s, 0);
	imap_append_nstring(s, NULL);
	str_append_c(s, ' ');
	imap_append_string(s, "a\"b\\c");
	str_append_c(s, ' ');
	imap_append_string(s, "\"\"\"\"\"");
	str_append_c(s, ' ');
	imap_append_string(s, "x\r\ny");
	str_append_c(s, ' ');
	imap_append_astring(s, "INBOX");
	str_append_c(s, ' ');
	imap_append_astring(s, "nil");
	str_append_c(s, ' ');
	imap_append_astring(s, "a b");
	str_append_c(s, ' ');
	imap_append_nstring_nolf(s, "a\r\n b\r\nc");
	assert_string_equal(str_c(s),
		"NIL \"a\\\"b\\\\c\" {5}\r\n\"\"\"\"\" {4}\r\nx\r\ny INBOX "
		"\"nil\" \"a b\" \"a b c\"");
	str_free(&s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_bodystructure),
		cmocka_unit_test(test_envelope),
		cmocka_unit_test(test_msgpart),
		cmocka_unit_test(test_msgpart_names),
		cmocka_unit_test(test_quote),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
