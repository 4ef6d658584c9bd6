/* Unit tests for src/lib-mail: the MIME parser (structure, offsets,
   limits, byte-at-a-time prefixes, garbage, deep nesting, huge part
   counts), transfer/RFC 2047/charset decoding, dates, and the SEARCH
   matchers built on them. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <stdio.h>
#include <cmocka.h>
#include "lib.h"
#include "message-parser.h"
#include "message-header.h"
#include "message-address.h"
#include "message-decode.h"
#include "message-date.h"
#include "charset-utf8.h"
#include "imap-bodystructure.h"
#include "imap-envelope.h"
#include "imap-msgpart.h"
#include "imap-search-match.h"

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

static unsigned int count_lf(const unsigned char *p, size_t n)
{
	unsigned int c = 0;

	for (size_t i = 0; i < n; i++)
		c += p[i] == '\n';
	return c;
}

/* Structural invariants every tree must satisfy, whatever the input. */
static unsigned int check_part(const struct message_part *part,
			       const unsigned char *data, size_t size,
			       unsigned int depth)
{
	unsigned int count = 1;
	size_t prev_end;

	assert_true(depth <= 2 * MESSAGE_PARSER_MAX_NESTING + 2);
	assert_true(part->body_offset == part->header_offset + part->header_size);
	assert_true(part->body_offset <= size);
	assert_true(part->body_size <= size - part->body_offset);
	assert_int_equal(part->header_lines,
			 count_lf(data + part->header_offset, part->header_size));
	assert_int_equal(part->body_lines,
			 count_lf(data + part->body_offset, part->body_size));
	if ((part->flags & MESSAGE_PART_FLAG_MESSAGE_RFC822) != 0 &&
	    part->children != NULL)
		assert_null(part->children->next);
	prev_end = part->body_offset;
	unsigned int n = 0;
	for (const struct message_part *c = part->children; c != NULL;
	     c = c->next) {
		assert_ptr_equal(c->parent, part);
		assert_true(c->header_offset >= prev_end);
		assert_true(c->body_offset + c->body_size <=
			    part->body_offset + part->body_size);
		prev_end = c->body_offset + c->body_size;
		count += check_part(c, data, size, depth + 1);
		n++;
	}
	assert_int_equal(n, part->children_count);
	return count;
}

/* balanced parentheses outside strings and literals */
static void check_imap_syntax(const string_t *s)
{
	const char *p = str_c(s), *end = p + str_len(s);
	int level = 0;

	while (p < end) {
		if (*p == '"') {
			for (p++; p < end && *p != '"'; p++) {
				assert_true(*p != '\r' && *p != '\n');
				if (*p == '\\')
					p++;
			}
			assert_true(p < end);
			p++;
		} else if (*p == '{') {
			char *q;
			unsigned long n = strtoul(p + 1, &q, 10);

			assert_true(q[0] == '}' && q[1] == '\r' && q[2] == '\n');
			p = q + 3 + n;
			assert_true(p <= end);
		} else {
			if (*p == '(')
				level++;
			else if (*p == ')')
				level--;
			assert_true(level >= 0);
			p++;
		}
	}
	assert_int_equal(level, 0);
}

static unsigned int parse_and_check(const unsigned char *data, size_t size)
{
	struct message_part *parts = message_parse(data, size);
	string_t *out = str_new(256);
	unsigned int count;

	assert_non_null(parts);
	count = check_part(parts, data, size, 0);
	assert_true(count <= MESSAGE_PARSER_MAX_PARTS + 1);
	imap_bodystructure_write(parts, data, true, out);
	check_imap_syntax(out);
	str_truncate(out, 0);
	imap_bodystructure_write(parts, data, false, out);
	check_imap_syntax(out);
	str_truncate(out, 0);
	imap_envelope_write(data, parts->header_size, out);
	check_imap_syntax(out);
	message_part_free(&parts);
	str_free(&out);
	return count;
}


/* Dovecot's message-parser unit tests (src/lib-mail/test-message-parser.c),
   ported: LF messages, physical sizes. -1 = not checked. */
#define MP (MESSAGE_PART_FLAG_MULTIPART | MESSAGE_PART_FLAG_IS_MIME)
#define TX (MESSAGE_PART_FLAG_TEXT | MESSAGE_PART_FLAG_IS_MIME)
#define FLAG_MASK (MESSAGE_PART_FLAG_MULTIPART | MESSAGE_PART_FLAG_TEXT | \
		   MESSAGE_PART_FLAG_MESSAGE_RFC822 | MESSAGE_PART_FLAG_IS_MIME)
#define NOEOH MESSAGE_PART_FLAG_NO_HEADER_END
struct dc_part {
	long pos, hs, hl, bs, bl, desc, flags;
};
struct dc_test {
	const char *name, *msg;
	unsigned int nparts;
	struct dc_part parts[8];
};
#define B80 "12345678901234567890123456789012345678901234567890123456789012345678901234567890"
static const struct dc_test dc_tests[] = {
	{ "truncated mime headers",
	  "Content-Type: multipart/mixed; boundary=\":foo\"\n"
	  "\n"
	  "--:foo\n"
	  "--:foo\n"
	  "Content-Type: text/plain\n"
	  "--:foo\n"
	  "Content-Type: text/plain\r\n"
	  "--:foo\n"
	  "Content-Type: text/html\n"
	  "--:foo--\n", 5, {
	  { 0, 48, 2, 112, 8, 4, MP },
	  { 55, 0, -1, 0, 0, 0, -1 },
	  { 62, 24, 0, 0, -1, 0, -1 },
	  { 94, 24, 0, 0, -1, 0, -1 },
	  { 127, 23, 0, 0, -1, 0, -1 } } },
	{ "truncated mime headers 2",
	  "Content-Type: multipart/mixed; boundary=\"ab\"\n"
	  "\n"
	  "--ab\n"
	  "Content-Type: multipart/mixed; boundary=\"a\"\n"
	  "\n"
	  "--ab\n"
	  "Content-Type: text/plain\n"
	  "\n"
	  "--a\n\n", 3, {
	  { 0, 46, 2, 86, 8, 2, MP },
	  { 51, 44, 1, 0, 0, 0, MP },
	  { 101, 26, 2, 5, 2, 0, TX } } },
	{ "truncated mime headers 3",
	  "Content-Type: multipart/mixed; boundary=\"ab\"\n", 1, {
	  { 0, 45, 1, 0, 0, 0, MP } } },
	{ "empty multipart",
	  "Content-Type: multipart/mixed; boundary=\"ab\"\n"
	  "\n"
	  "body\n", 1, {
	  { 0, 46, 2, 5, 1, 0, MP } } },
	{ "duplicate mime boundary",
	  "Content-Type: multipart/mixed; boundary=\"a\"\n"
	  "\n"
	  "--a\n"
	  "Content-Type: multipart/mixed; boundary=\"a\"\n"
	  "\n"
	  "--a\n"
	  "Content-Type: text/plain\n"
	  "\n"
	  "body\n", 3, {
	  { 0, 45, 2, 84, 7, 2, MP },
	  { 49, 45, 2, 35, 4, 1, MP },
	  { 98, 26, 2, 5, 1, 0, TX } } },
	{ "garbage suffix mime boundary",
	  "Content-Type: multipart/mixed; boundary=\"a\"\n"
	  "\n"
	  "--ab\n"
	  "Content-Type: multipart/mixed; boundary=\"a\"\n"
	  "\n"
	  "--ac\n"
	  "Content-Type: text/plain\n"
	  "\n"
	  "body\n", 3, {
	  { 0, 45, 2, 86, 7, 2, MP },
	  { 50, 45, 2, 36, 4, 1, MP },
	  { 100, 26, 2, 5, 1, 0, TX } } },
	{ "trailing dashes",
	  "Content-Type: multipart/mixed; boundary=\"a--\"\n"
	  "\n"
	  "--a--\n"
	  "Content-Type: multipart/mixed; boundary=\"a----\"\n"
	  "\n"
	  "--a----\n"
	  "Content-Type: text/plain\n"
	  "\n"
	  "body\n"
	  "--a------\n"
	  "Content-Type: text/html\n"
	  "\n"
	  "body2\n"
	  "--a----", 3, {
	  { 0, -1, -1, -1, -1, 2, -1 },
	  { -1, -1, -1, -1, -1, 1, -1 },
	  { -1, -1, -1, -1, -1, 0, -1 } } },
	{ "continuing mime boundary",
	  "Content-Type: multipart/mixed; boundary=\"a\"\n"
	  "\n"
	  "--a\n"
	  "Content-Type: multipart/mixed; boundary=\"ab\"\n"
	  "\n"
	  "--ab\n"
	  "Content-Type: text/plain\n"
	  "\n"
	  "body\n", 3, {
	  { 0, 45, 2, 86, 7, 2, MP },
	  { 49, 46, 2, 36, 4, 1, MP },
	  { 100, 26, 2, 5, 1, 0, TX } } },
	{ "continuing truncated mime boundary",
	  "Content-Type: multipart/mixed; boundary=\"a\"\n"
	  "\n"
	  "--a\n"
	  "Content-Type: multipart/mixed; boundary=\"ab\"\n"
	  "MIME-Version: 1.0\n"
	  "--ab\n"
	  "Content-Type: text/plain\n"
	  "\n"
	  "--ab--\n"
	  "--a--\n\n", 4, {
	  { 0, 45, 2, 112, 9, 3, MP },
	  { 49, 62, 1, 0, 0, 0, MP },
	  { 117, 25, 1, 0, 0, 0, TX },
	  { -1, 0, 0, 0, 0, 0, TX } } },
	{ "continuing mime boundary reverse",
	  "Content-Type: multipart/mixed; boundary=\"ab\"\n"
	  "\n"
	  "--ab\n"
	  "Content-Type: multipart/mixed; boundary=\"a\"\n"
	  "\n"
	  "--a\n"
	  "Content-Type: text/plain\n"
	  "\n"
	  "body\n"
	  "--ab\n"
	  "Content-Type: text/html\n"
	  "\n"
	  "body2\n", 4, {
	  { 0, 46, 2, 121, 11, 3, MP },
	  { 51, 45, 2, 34, 3, 1, MP },
	  { 100, 26, 2, 4, 0, 0, TX },
	  { 136, 25, 2, 6, 1, 0, TX } } },
	{ "no EOH", "a:b\n", 1, {
	  { 0, 4, 1, 0, 0, 0, MESSAGE_PART_FLAG_TEXT } } },
	{ "long mime boundary",
	  "Content-Type: multipart/mixed; boundary=\"" B80 "12\"\n"
	  "\n"
	  "--" B80 "12\n"
	  "Content-Type: multipart/mixed; boundary=\"" B80 "1\"\n"
	  "\n"
	  "--" B80 "1\n"
	  "Content-Type: multipart/mixed; boundary=\"" B80 "\"\n"
	  "\n"
	  "--" B80 "\n"
	  "Content-Type: text/plain\n"
	  "\n"
	  "1\n"
	  "--" B80 "12\n"
	  "Content-Type: text/plain\n"
	  "\n"
	  "22\n"
	  "--" B80 "1\n"
	  "Content-Type: text/plain\n"
	  "\n"
	  "333\n"
	  "--" B80 "\n"
	  "Content-Type: text/plain\n"
	  "\n"
	  "4444\n", 7, {
	  { 0, 126, 2, 871, 22, 6, MP },
	  { -1, 125, 2, 661, 19, 5, MP },
	  { -1, 124, 2, 453, 16, 4, MP },
	  { -1, 26, 2, 1, 0, 0, TX },
	  { -1, 26, 2, 2, 0, 0, TX },
	  { -1, 26, 2, 3, 0, 0, TX },
	  { -1, -1, -1, -1, -1, 0, TX } } },
};

static unsigned int descendants(const struct message_part *part)
{
	unsigned int n = 0;

	for (const struct message_part *c = part->children; c != NULL;
	     c = c->next)
		n += 1 + descendants(c);
	return n;
}

static void flatten(const struct message_part *part,
		    const struct message_part **out, unsigned int *n,
		    unsigned int max)
{
	if (*n < max)
		out[*n] = part;
	(*n)++;
	for (const struct message_part *c = part->children; c != NULL;
	     c = c->next)
		flatten(c, out, n, max);
}

#define CHECK(field, val) \
	if (e->field >= 0 && (long)(val) != e->field) \
		fail_msg("%s: part %u " #field " %ld != %ld", t->name, i, \
			 (long)(val), e->field)

static void test_parser_dovecot_cases(void **state)
{
	for (unsigned int k = 0; k < N_ELEMENTS(dc_tests); k++) {
		const struct dc_test *t = &dc_tests[k];
		const unsigned char *data = (const unsigned char *)t->msg;
		size_t size = strlen(t->msg);
		struct message_part *root = message_parse(data, size);
		const struct message_part *flat[16];
		unsigned int n = 0;

		check_part(root, data, size, 0);
		flatten(root, flat, &n, N_ELEMENTS(flat));
		if (n != t->nparts)
			fail_msg("%s: %u parts, expected %u", t->name, n,
				 t->nparts);
		for (unsigned int i = 0; i < n; i++) {
			const struct dc_part *e = &t->parts[i];
			const struct message_part *p = flat[i];

			CHECK(pos, p->header_offset);
			CHECK(hs, p->header_size);
			CHECK(hl, p->header_lines);
			CHECK(bs, p->body_size);
			CHECK(bl, p->body_lines);
			CHECK(desc, descendants(p));
			CHECK(flags, p->flags & FLAG_MASK);
		}
		message_part_free(&root);
	}
}

static const char *const sample_msgs[] = {
	"From: a@b\nSubject: hi\n\nbody\n",
	"MIME-Version: 1.0\nContent-Type: multipart/mixed; boundary=\"b1\"\n\n"
	"pre\n--b1\nContent-Type: text/plain; charset=iso-8859-1\n"
	"Content-Transfer-Encoding: quoted-printable\n\nh=E4llo\n"
	"--b1\nContent-Type: message/rfc822\n\nSubject: in\n"
	"Content-Type: multipart/alternative; boundary=b2\n\n--b2\n\nx\n"
	"--b2\nContent-Type: text/html\n\n<p>y</p>\n--b2--\n"
	"--b1\nContent-Type: application/octet-stream\n"
	"Content-Transfer-Encoding: base64\n\naGVsbG8gd29ybGQ=\n--b1--\nepi\n",
	"Content-Type: multipart/mixed; boundary=x\n\n--x\n--x\n\n--x--",
	"Subject: =?utf-8?q?caf=C3=A9?=\nTo: \"A\" <a@b>, g: c@d;\n"
	"Content-Type: text/plain; charset=\"utf-8\"; format=flowed\n\n\xc3\xa4\n",
};

static void test_parser_structure(void **state)
{
	string_t *msg = crlf(sample_msgs[1]);
	struct message_part *root = message_parse(str_data(msg), str_len(msg));
	const struct message_part *p;

	assert_int_equal(check_part(root, str_data(msg), str_len(msg), 0), 7);
	assert_true((root->flags & MESSAGE_PART_FLAG_MULTIPART) != 0);
	assert_int_equal(root->children_count, 3);
	p = message_part_find(root, "1");
	assert_non_null(p);
	assert_string_equal(p->content_subtype, "plain");
	assert_string_equal(message_part_param(p->ctype_params,
					       p->ctype_params_count,
					       "CHARSET"), "iso-8859-1");
	assert_string_equal(p->transfer_encoding, "quoted-printable");
	assert_int_equal(p->body_size, 7); /* "h=E4llo" */
	p = message_part_find(root, "2");
	assert_true((p->flags & MESSAGE_PART_FLAG_MESSAGE_RFC822) != 0);
	p = message_part_find(root, "2.2");
	assert_non_null(p);
	assert_string_equal(p->content_subtype, "html");
	assert_true(message_part_is_type(p, "TEXT", "HTML"));
	assert_null(message_part_find(root, "2.3"));
	assert_null(message_part_find(root, "4"));
	/* as in Dovecot, "1.1" of a single part is that part */
	assert_ptr_equal(message_part_find(root, "1.1"),
			 message_part_find(root, "1"));
	assert_null(message_part_find(root, "1.2"));
	assert_null(message_part_find(root, "x"));
	assert_ptr_equal(message_part_find(root, ""), root);
	p = message_part_find(root, "3");
	assert_string_equal(p->content_type, "application");
	assert_false(message_part_is_type(p, "text", NULL));
	message_part_free(&root);
	assert_null(root);
	str_free(&msg);

	/* non-multipart: part 1 is the message itself */
	msg = crlf(sample_msgs[0]);
	root = message_parse(str_data(msg), str_len(msg));
	assert_ptr_equal(message_part_find(root, "1"), root);
	assert_int_equal(root->header_size, 26);
	assert_int_equal(root->body_size, 6);
	assert_int_equal(root->body_lines, 1);
	assert_true((root->flags & MESSAGE_PART_FLAG_TEXT) != 0);
	assert_true((root->flags & MESSAGE_PART_FLAG_NO_HEADER_END) == 0);
	message_part_free(&root);
	root = message_parse((const unsigned char *)"A: b\r\nC: d", 11);
	assert_true((root->flags & MESSAGE_PART_FLAG_NO_HEADER_END) != 0);
	assert_int_equal(root->header_size, 11);
	message_part_free(&root);
	str_free(&msg);

	/* empty parts between back-to-back boundaries are kept */
	msg = crlf(sample_msgs[2]);
	root = message_parse(str_data(msg), str_len(msg));
	assert_int_equal(root->children_count, 2);
	assert_int_equal(root->children->header_size, 0);
	assert_int_equal(root->children->body_size, 0);
	message_part_free(&root);
	str_free(&msg);
}

/* Parse every prefix of each sample (a message arriving byte by byte
   and cut at any point), in CRLF and LF form. */
static void test_parser_prefixes(void **state)
{
	for (unsigned int i = 0; i < N_ELEMENTS(sample_msgs); i++) {
		string_t *msg = crlf(sample_msgs[i]);
		const char *lf = sample_msgs[i];

		for (size_t n = 0; n <= str_len(msg); n++) {
			unsigned char *copy = i_memdup(str_data(msg), n + 1);
			parse_and_check(copy, n);
			free(copy);
		}
		for (size_t n = 0; n <= strlen(lf); n++) {
			unsigned char *copy = i_memdup(lf, n + 1);
			parse_and_check(copy, n);
			free(copy);
		}
		str_free(&msg);
	}
}

static uint32_t rnd_state = 12345;
static uint32_t rnd(void)
{
	rnd_state = rnd_state * 1103515245 + 12345;
	return rnd_state >> 8;
}

static void test_parser_garbage(void **state)
{
	static const char *const tokens[] = {
		"\r\n", "\n", "\r", "--", "b1", "--b1", "--b1--", ":", " ",
		"\t", "Content-Type: multipart/mixed; boundary=b1",
		"Content-Type: message/rfc822", "Content-Type: multipart/digest;"
		" boundary=\"\"", "MIME-Version: 1.0", "\"", "(", ")", "=?",
		"?=", "\0", "\xff", "Content-Type: text", ";", "boundary=b2",
		"--b2", "Content-Transfer-Encoding: base64", "x", "<", ">", "@",
	};
	unsigned char buf[512];

	for (unsigned int round = 0; round < 3000; round++) {
		size_t len = 0;
		unsigned int ntok = rnd() % 40;

		for (unsigned int t = 0; t < ntok; t++) {
			const char *tok = tokens[rnd() % N_ELEMENTS(tokens)];
			size_t tlen = tok[0] == '\0' ? 1 : strlen(tok);

			if (len + tlen > sizeof(buf))
				break;
			memcpy(buf + len, tok, tlen);
			len += tlen;
		}
		/* and some pure random bytes */
		if (round % 3 == 0) {
			len = rnd() % sizeof(buf);
			for (size_t k = 0; k < len; k++)
				buf[k] = (unsigned char)rnd();
		}
		unsigned char *copy = i_memdup(buf, len + 1);
		parse_and_check(copy, len);

		/* every section fetch and search works on garbage too */
		struct message_part *parts = message_parse(copy, len);
		struct imap_msgpart *mp;
		const char *error;
		string_t *out = str_new(64);
		assert_int_equal(imap_msgpart_parse("1.1.MIME", &mp, &error), 0);
		imap_msgpart_get(mp, copy, len, parts, out, &error);
		assert_true(str_len(out) <= len);
		imap_msgpart_free(&mp);
		(void)imap_search_text(copy, len, parts, "b1");
		(void)imap_search_header(copy, parts->header_size, "content-type",
					 "mixed");
		message_part_free(&parts);
		str_free(&out);
		free(copy);
	}
}

static void test_parser_deep_nesting(void **state)
{
	/* 1000 nested multiparts and 1000 nested message/rfc822 */
	string_t *msg = str_new(100000);
	unsigned int i, depth;
	const struct message_part *p;
	struct message_part *root;

	for (i = 0; i < 1000; i++)
		str_printfa(msg, "Content-Type: multipart/mixed; boundary=\"b%u\""
			    "\r\n\r\n--b%u\r\n", i, i);
	str_append(msg, "\r\ninnermost\r\n");
	root = message_parse(str_data(msg), str_len(msg));
	for (depth = 0, p = root; p->children != NULL; p = p->children)
		depth++;
	assert_true(depth < MESSAGE_PARSER_MAX_NESTING);
	assert_true(depth > MESSAGE_PARSER_MAX_NESTING / 2);
	check_part(root, str_data(msg), str_len(msg), 0);
	message_part_free(&root);
	parse_and_check(str_data(msg), str_len(msg));

	str_truncate(msg, 0);
	for (i = 0; i < 1000; i++)
		str_append(msg, "Content-Type: message/rfc822\r\n\r\n");
	str_append(msg, "Subject: deep\r\n\r\nbody\r\n");
	root = message_parse(str_data(msg), str_len(msg));
	for (depth = 0, p = root; p->children != NULL; p = p->children)
		depth++;
	assert_true(depth < MESSAGE_PARSER_MAX_NESTING);
	message_part_free(&root);
	parse_and_check(str_data(msg), str_len(msg));
	str_free(&msg);
}

static void test_parser_many_parts(void **state)
{
	string_t *msg = str_new(400000);
	struct message_part *root;

	str_append(msg, "Content-Type: multipart/mixed; boundary=z\r\n\r\n");
	for (unsigned int i = 0; i < 25000; i++)
		str_append(msg, "--z\r\n\r\nx\r\n");
	str_append(msg, "--z--\r\n");
	root = message_parse(str_data(msg), str_len(msg));
	assert_int_equal(root->children_count, MESSAGE_PARSER_MAX_PARTS - 1);
	/* as in Dovecot, the last part allowed gets the rest of the data */
	const struct message_part *last = root->children;
	while (last->next != NULL)
		last = last->next;
	assert_int_equal(last->body_offset + last->body_size, str_len(msg));
	assert_int_equal(root->body_offset + root->body_size, str_len(msg));
	message_part_free(&root);
	assert_int_equal(parse_and_check(str_data(msg), str_len(msg)),
			 MESSAGE_PARSER_MAX_PARTS);
	str_free(&msg);
}

static void test_parser_oversized(void **state)
{
	/* a 1 MB header line and a 1 MB boundary parameter */
	size_t n = 1024 * 1024;
	string_t *msg = str_new(3 * n);

	str_append(msg, "Subject: ");
	for (size_t i = 0; i < n; i++)
		str_append_c(msg, 'a' + i % 26);
	str_append(msg, "\r\nContent-Type: multipart/mixed; boundary=");
	for (size_t i = 0; i < n; i++)
		str_append_c(msg, 'b');
	str_append(msg, "\r\n\r\n--bbbbb\r\n\r\nx\r\n");
	parse_and_check(str_data(msg), str_len(msg));
	str_free(&msg);
}

static void test_header_iter(void **state)
{
	static const char hdr[] =
		"A: 1\r\nB:  two\r\n  folded\r\nno colon line\r\n"
		"C :\tx\r\nD:   \r\n\r\nbody";
	struct message_header_iter iter;
	struct message_header_field f;
	string_t *v = str_new(32);

	message_header_iter_init(&iter, hdr, strlen(hdr));
	assert_true(message_header_iter_next(&iter, &f));
	assert_true(message_header_field_is(&f, "a"));
	assert_true(message_header_iter_next(&iter, &f));
	message_header_field_get_value(&f, v, SIZE_MAX);
	assert_string_equal(str_c(v), "two\n  folded");
	assert_int_equal(f.lines, 2);
	str_truncate(v, 0);
	message_header_field_get_unfolded(&f, v, 5);
	assert_string_equal(str_c(v), "two  ");
	assert_true(message_header_iter_next(&iter, &f));
	assert_false(f.has_colon);
	assert_int_equal(f.name_len, strlen("no colon line"));
	assert_true(message_header_iter_next(&iter, &f));
	assert_true(message_header_field_is(&f, "C"));
	str_truncate(v, 0);
	message_header_field_get_value(&f, v, SIZE_MAX);
	assert_string_equal(str_c(v), "x");
	assert_true(message_header_iter_next(&iter, &f));
	str_truncate(v, 0);
	message_header_field_get_value(&f, v, SIZE_MAX);
	assert_string_equal(str_c(v), "  "); /* all-LWSP: one skipped */
	assert_false(message_header_iter_next(&iter, &f));
	assert_true(iter.eoh);
	assert_string_equal(hdr + iter.pos, "body");
	str_free(&v);
}

static void test_address(void **state)
{
	static const struct {
		const char *in, *out;
	} tests[] = {
		{ "a@b", "<a@b>" },
		{ "\"Q, R\" <q@r>, s@t (Comment)", "Q, R <q@r>, Comment <s@t>" },
		{ "grp: a@b, c@d;, e@f", "grp: <a@b>, <c@d>;, <e@f>" },
		{ "<@r1,@r2:u@d>", "<@r1,@r2:u@d>" },
		{ "", "" },
		{ "John Smith", "John Smith <>" },
	};
	string_t *s = str_new(64);

	for (unsigned int i = 0; i < N_ELEMENTS(tests); i++) {
		struct message_address *a =
			message_address_parse(tests[i].in, strlen(tests[i].in),
					      false);
		str_truncate(s, 0);
		message_address_write(s, a);
		if (strcmp(str_c(s), tests[i].out) != 0)
			fail_msg("address '%s': got '%s' want '%s'", tests[i].in,
				 str_c(s), tests[i].out);
		message_address_free(&a);
	}
	str_free(&s);
}

#define DECODE(func, lit) func(lit, sizeof(lit) - 1, s)

/* Dovecot's test-message-address.c expectations */
static void test_address_fields(void **state)
{
	static const struct {
		const char *in, *name, *route, *mailbox, *domain;
		bool invalid;
	} tests[] = {
		{ "user@domain", NULL, NULL, "user", "domain", false },
		{ "<user@domain>", NULL, NULL, "user", "domain", false },
		{ "foo bar <user@domain>", "foo bar", NULL, "user", "domain", false },
		{ "\"foo bar\" <user@domain>", "foo bar", NULL, "user", "domain", false },
		{ "<@route:user@domain>", NULL, "@route", "user", "domain", false },
		{ "<@route@route2:user@domain>", NULL, "@route,@route2", "user",
		  "domain", false },
		{ "hello <@route ,@route2:user@domain>", "hello", "@route,@route2",
		  "user", "domain", false },
		{ "user (hello)", "hello", NULL, "user", "", true },
		{ "hello <user>", "hello", NULL, "user", "", true },
		{ "@domain", NULL, NULL, "", "domain", true },
	};
#define STREQ(a, b) ((a) == NULL ? (b) == NULL : \
		     ((b) != NULL && strcmp((a), (b)) == 0))
	for (unsigned int i = 0; i < N_ELEMENTS(tests); i++) {
		struct message_address *a =
			message_address_parse(tests[i].in, strlen(tests[i].in),
					      false);
		assert_non_null(a);
		assert_null(a->next);
		if (!STREQ(a->name, tests[i].name) ||
		    !STREQ(a->route, tests[i].route) ||
		    !STREQ(a->mailbox, tests[i].mailbox) ||
		    !STREQ(a->domain, tests[i].domain) ||
		    a->invalid_syntax != tests[i].invalid)
			fail_msg("address %u '%s': %s|%s|%s|%s|%d", i,
				 tests[i].in, a->name, a->route, a->mailbox,
				 a->domain, a->invalid_syntax);
		message_address_free(&a);
	}
	/* empty group: start and end entries */
	struct message_address *g = message_address_parse("group:;", 7, false);
	assert_non_null(g);
	assert_string_equal(g->mailbox, "group");
	assert_null(g->domain);
	assert_non_null(g->next);
	assert_null(g->next->mailbox);
	assert_null(g->next->domain);
	assert_null(g->next->next);
	message_address_free(&g);
	/* a long list is cut at MESSAGE_ADDRESS_MAX_COUNT */
	string_t *many = str_new(20 * 20000);
	for (unsigned int i = 0; i < 20000; i++)
		str_printfa(many, "u%u@d, ", i);
	g = message_address_parse(str_data(many), str_len(many), true);
	unsigned int n = 0;
	for (struct message_address *a = g; a != NULL; a = a->next)
		n++;
	assert_int_equal(n, MESSAGE_ADDRESS_MAX_COUNT);
	message_address_free(&g);
	str_free(&many);
}

static void test_decode(void **state)
{
	string_t *s = str_new(64);

	DECODE(message_decode_base64, "aGVs\r\nbG8g!!d29y bGQ=garbage");
	assert_string_equal(str_c(s), "hello world");
	str_truncate(s, 0);
	DECODE(message_decode_qp, "a=3Db=\r\nc =XY d=\n  \r\ne");
	assert_string_equal(str_c(s), "a=bc =XY d\r\ne");
	str_truncate(s, 0);
	DECODE(message_header_decode_utf8,
	       "=?iso-8859-1?q?caf=E9?= =?UTF-8?B?w6Q=?= x "
	       "=?bogus?Q?a_b?= =?utf-8*de?q?c?=");
	assert_string_equal(str_c(s), "caf\xc3\xa9\xc3\xa4 x a bc");
	str_truncate(s, 0);
	/* a UTF-8 character split between two encoded-words */
	DECODE(message_header_decode_utf8,
	       "=?utf-8?b?w6Tw?=\r\n =?UTF-8?B?n5iA?= =?utf-8?q?x?=y");
	assert_string_equal(str_c(s), "\xc3\xa4\xf0\x9f\x98\x80xy");
	str_truncate(s, 0);
	DECODE(message_header_decode_utf8, "plain \xff text\r\n folded");
	assert_string_equal(str_c(s), "plain \xef\xbf\xbd text folded");
	str_truncate(s, 0);
	assert_int_equal(charset_to_utf8("windows-1252", "\x80\xe9", 2, s), 0);
	assert_string_equal(str_c(s), "\xe2\x82\xac\xc3\xa9");
	str_truncate(s, 0);
	assert_int_equal(charset_to_utf8("ks_c_5601-1987", "\xc7\xd1", 2, s), 0);
	assert_string_equal(str_c(s), "\xed\x95\x9c"); /* U+D55C */
	str_truncate(s, 0);
	assert_int_equal(charset_to_utf8("no-such-charset", "ok", 2, s), -1);
	assert_string_equal(str_c(s), "ok");
	str_truncate(s, 0);
	/* invalid input sequence in a multibyte charset */
	assert_int_equal(charset_to_utf8("utf-16le", "a\0\0\xd8", 4, s), 0);
	assert_true(str_len(s) >= 1 && str_c(s)[0] == 'a');
	assert_true(utf8_is_valid(str_data(s), str_len(s)));
	assert_false(utf8_is_valid("\xc0\x80", 2));
	str_free(&s);
}

static void test_date(void **state)
{
	static const struct {
		const char *in;
		time_t utc, day;
	} tests[] = {
		{ "Thu, 15 Feb 2007 01:02:03 +0200", 1171494123, 1171497600 },
		{ "15 Feb 2007 01:02 +0200", 1171494120, 1171497600 },
		{ "Thu, 15 Feb 07 01:02:03 GMT", 1171501323, 1171497600 },
		{ "Mon, 1 Jan 99 23:59:59 EST (comment)", 915253199, 915148800 },
		{ "Fri, 31 Dec 2010 23:00:00 -1130", 1293877800, 1293753600 },
	};
	struct message_date d;

	for (unsigned int i = 0; i < N_ELEMENTS(tests); i++) {
		assert_int_equal(message_date_parse(tests[i].in,
						    strlen(tests[i].in), &d), 0);
		assert_int_equal(message_date_to_utc(&d), tests[i].utc);
		assert_int_equal(message_date_to_day(&d), tests[i].day);
	}
	assert_int_equal(message_date_parse("yesterday", 9, &d), -1);
	assert_int_equal(message_date_parse("32 Jan 2000 00:00", 17, &d), -1);
	assert_int_equal(message_date_parse("1 Foo 2000 00:00", 16, &d), -1);
	assert_int_equal(message_date_parse("1 Jan 2000", 10, &d), -1);
	assert_int_equal(message_date_parse("", 0, &d), -1);
}

static const char search_msg[] =
	"From: =?utf-8?q?J=C3=BCrgen?= <jurgen@example.com>\n"
	"To: Someone <some@where.org>, grp: x@y;\n"
	"Subject: =?iso-8859-1?q?=C4pfel?= and pears\n"
	"Date: Fri, 31 Dec 2010 23:00:00 -1130\n"
	"X-Empty:\n"
	"MIME-Version: 1.0\n"
	"Content-Type: multipart/mixed; boundary=s\n"
	"\n"
	"--s\n"
	"Content-Type: text/plain; charset=iso-8859-1\n"
	"Content-Transfer-Encoding: quoted-printable\n"
	"\n"
	"Gr=FC=DFe aus M=DCnchen\n"
	"--s\n"
	"Content-Type: application/octet-stream\n"
	"Content-Transfer-Encoding: base64\n"
	"\n"
	"c2VjcmV0IHBheWxvYWQ=\n"
	"--s\n"
	"Content-Type: message/rfc822\n"
	"\n"
	"Subject: hidden header\n"
	"\n"
	"nested body text\n"
	"--s--\n";

static void test_search(void **state)
{
	string_t *msg = crlf(search_msg);
	const unsigned char *d = str_data(msg);
	struct message_part *parts = message_parse(d, str_len(msg));
	size_t hs = parts->header_size;
	time_t day, utc;

	assert_int_equal(imap_search_header(d, hs, "subject", "äPFEL"), 1);
	assert_int_equal(imap_search_header(d, hs, "SUBJECT", "pears"), 1);
	assert_int_equal(imap_search_header(d, hs, "subject", "apples"), 0);
	assert_int_equal(imap_search_header(d, hs, "from", "jürgen"), 1);
	assert_int_equal(imap_search_header(d, hs, "from", "JURGEN@EXAMPLE"), 1);
	assert_int_equal(imap_search_header(d, hs, "to", "some@where.org"), 1);
	assert_int_equal(imap_search_header(d, hs, "to", "x@y"), 1);
	assert_int_equal(imap_search_header(d, hs, "cc", ""), 0);
	assert_int_equal(imap_search_header(d, hs, "x-empty", ""), 1);
	assert_int_equal(imap_search_header(d, hs, "x-empty", "a"), 0);
	assert_int_equal(imap_search_body(d, str_len(msg), parts, "GRÜSSE"), 0);
	assert_int_equal(imap_search_body(d, str_len(msg), parts, "grüße"), 1);
	assert_int_equal(imap_search_body(d, str_len(msg), parts, "münchen"), 1);
	assert_int_equal(imap_search_body(d, str_len(msg), NULL, "PAYLOAD"), 1);
	assert_int_equal(imap_search_body(d, str_len(msg), parts, "nested body"), 1);
	assert_int_equal(imap_search_body(d, str_len(msg), parts, "hidden"), 0);
	assert_int_equal(imap_search_body(d, str_len(msg), parts, "pears"), 0);
	assert_int_equal(imap_search_body(d, str_len(msg), parts, ""), 1);
	assert_int_equal(imap_search_text(d, str_len(msg), parts, "pears"), 1);
	assert_int_equal(imap_search_text(d, str_len(msg), NULL, "Äpfel"), 1);
	assert_int_equal(imap_search_text(d, str_len(msg), parts, "münchen"), 1);
	assert_int_equal(imap_search_text(d, str_len(msg), parts, "nowhere"), 0);
	assert_int_equal(imap_search_sent_date(d, hs, &day, &utc), 0);
	assert_int_equal(day, 1293753600);  /* 2010-12-31 */
	assert_int_equal(utc, 1293877800);  /* 2011-01-01 10:30 UTC */
	assert_int_equal(imap_search_sent_date((const unsigned char *)"X: y\r\n\r\n",
					       8, &day, NULL), -1);

	string_t *f = str_new(16);
	imap_search_casefold("ÄÖÜ ΣΑΣ ДОМ", strlen("ÄÖÜ ΣΑΣ ДОМ"), f);
	assert_string_equal(str_c(f), "äöü σασ дом");
	str_free(&f);
	message_part_free(&parts);
	str_free(&msg);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parser_structure),
		cmocka_unit_test(test_parser_dovecot_cases),
		cmocka_unit_test(test_parser_prefixes),
		cmocka_unit_test(test_parser_garbage),
		cmocka_unit_test(test_parser_deep_nesting),
		cmocka_unit_test(test_parser_many_parts),
		cmocka_unit_test(test_parser_oversized),
		cmocka_unit_test(test_header_iter),
		cmocka_unit_test(test_address),
		cmocka_unit_test(test_address_fields),
		cmocka_unit_test(test_decode),
		cmocka_unit_test(test_date),
		cmocka_unit_test(test_search),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
