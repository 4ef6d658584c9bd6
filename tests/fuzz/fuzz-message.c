/* Fuzz target for lib-mail and the lib-imap writers built on it: parse
   a message, write ENVELOPE/BODY/BODYSTRUCTURE, fetch sections, run the
   SEARCH matchers, and abort if a structural invariant breaks.

   Built by tests/fuzz/meson.build: a libFuzzer binary with clang and
   -Dfuzzing=true (`make fuzz`), else linked with replay-main.c. */
#include <stdio.h>
#include <stdlib.h>
#include "lib.h"
#include "message-parser.h"
#include "message-decode.h"
#include "imap-envelope.h"
#include "imap-bodystructure.h"
#include "imap-msgpart.h"
#include "imap-search-match.h"

#define CHECK(expr) do { if (!(expr)) { \
	fprintf(stderr, "invariant failed: %s (%s:%d)\n", #expr, \
		__FILE__, __LINE__); abort(); } } while (0)

static void check_part(const struct message_part *part, size_t size)
{
	const struct message_part *c;
	size_t prev_end = part->body_offset;

	CHECK(part->body_offset == part->header_offset + part->header_size);
	CHECK(part->body_offset <= size);
	CHECK(part->body_size <= size - part->body_offset);
	for (c = part->children; c != NULL; c = c->next) {
		CHECK(c->parent == part);
		CHECK(c->header_offset >= prev_end);
		CHECK(c->body_offset + c->body_size <=
		      part->body_offset + part->body_size);
		prev_end = c->body_offset + c->body_size;
		check_part(c, size);
	}
}

static void fetch(const char *section, const unsigned char *data,
		  size_t size, const struct message_part *parts)
{
	struct imap_msgpart *mp;
	const char *error;
	string_t *out = str_new(64);

	if (imap_msgpart_parse(section, &mp, &error) == 0) {
		imap_msgpart_set_partial(mp, 1, 100);
		(void)imap_msgpart_get(mp, data, size, parts, out, &error);
		CHECK(str_len(out) <= 100);
		imap_msgpart_free(&mp);
	}
	str_free(&out);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct message_part *parts = message_parse(data, size);
	string_t *out = str_new(256);
	time_t day;

	check_part(parts, size);
	imap_envelope_write(data, parts->header_size, out);
	str_truncate(out, 0);
	imap_bodystructure_write(parts, data, true, out);
	str_truncate(out, 0);
	imap_bodystructure_write(parts, data, false, out);
	fetch("1", data, size, parts);
	fetch("1.MIME", data, size, parts);
	fetch("2.1.HEADER.FIELDS (From Subject)", data, size, parts);
	fetch("1.2.TEXT", data, size, parts);
	(void)imap_search_header(data, parts->header_size, "subject", "a");
	(void)imap_search_header(data, parts->header_size, "from", "b@");
	(void)imap_search_text(data, size, parts, "c\xc3\xa4");
	(void)imap_search_sent_date(data, parts->header_size, &day, NULL);
	str_truncate(out, 0);
	message_header_decode_utf8(data, size > 4096 ? 4096 : size, out);
	message_part_free(&parts);
	str_free(&out);
	return 0;
}
