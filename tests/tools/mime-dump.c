/* mime-dump FILE...: print what an IMAP server built on lib-mail would
   answer for a message, for tests/integration/mimecheck.py.

   The file is converted LF -> CRLF (bare LFs only) as IMAP serves it.
   Output is a sequence of framed records, each
       <NAME> <len>\n<len bytes>\n
   NAME is ENVELOPE, BODY, BODYSTRUCTURE, then for each IMAP part number
   n (depth-first): "PART n" (the part number alone), "MIME n"
   (BODY[n.MIME]), "BODY n" (BODY[n]), and for message/rfc822 parts
   "HEADER n" (BODY[n.HEADER]). The record SIZE carries the CRLF
   message size. With several files, each message's records are
   preceded by a "FILE <len>" record holding the path. */
#include <stdio.h>
#include <stdlib.h>
#include "lib.h"
#include "message-parser.h"
#include "imap-envelope.h"
#include "imap-bodystructure.h"
#include "imap-msgpart.h"

#define MAX_FILE_SIZE (64 * 1024 * 1024)

static void record(const char *name, const void *data, size_t size)
{
	printf("%s %zu\n", name, size);
	fwrite(data, 1, size, stdout);
	putchar('\n');
}

static void fetch_section(const char *kind, const char *number,
			  const char *section, const unsigned char *data,
			  size_t size, const struct message_part *parts)
{
	struct imap_msgpart *mp;
	const char *error;
	string_t *out = str_new(256);
	char name[512];

	if (imap_msgpart_parse(section, &mp, &error) < 0) {
		fprintf(stderr, "section %s: %s\n", section, error);
		exit(2);
	}
	(void)imap_msgpart_get(mp, data, size, parts, out, &error);
	snprintf(name, sizeof(name), "%s %s", kind, number);
	record(name, str_data(out), str_len(out));
	imap_msgpart_free(&mp);
	str_free(&out);
}

static void dump_part(const char *number, const struct message_part *part,
		      const unsigned char *data, size_t size,
		      const struct message_part *root);

static void dump_children(const char *prefix, const struct message_part *part,
			  const unsigned char *data, size_t size,
			  const struct message_part *root)
{
	const struct message_part *child;
	unsigned int i = 1;
	char number[256];

	for (child = part->children; child != NULL; child = child->next, i++) {
		if (strlen(prefix) > 200)
			return;
		snprintf(number, sizeof(number), "%s%u", prefix, i);
		dump_part(number, child, data, size, root);
	}
}

/* msg is the root of a message (top level or encapsulated) */
static void dump_message(const char *prefix, const struct message_part *msg,
			 const unsigned char *data, size_t size,
			 const struct message_part *root)
{
	char number[256];

	if ((msg->flags & MESSAGE_PART_FLAG_MULTIPART) != 0) {
		dump_children(prefix, msg, data, size, root);
	} else {
		snprintf(number, sizeof(number), "%s1", prefix);
		dump_part(number, msg, data, size, root);
	}
}

static void dump_part(const char *number, const struct message_part *part,
		      const unsigned char *data, size_t size,
		      const struct message_part *root)
{
	char section[300], prefix[300];

	record("PART", number, strlen(number));
	snprintf(section, sizeof(section), "%s.MIME", number);
	fetch_section("MIME", number, section, data, size, root);
	fetch_section("BODY", number, number, data, size, root);
	if ((part->flags & MESSAGE_PART_FLAG_MESSAGE_RFC822) != 0 &&
	    part->children != NULL) {
		snprintf(section, sizeof(section), "%s.HEADER", number);
		fetch_section("HEADER", number, section, data, size, root);
		snprintf(prefix, sizeof(prefix), "%s.", number);
		dump_message(prefix, part->children, data, size, root);
	} else if ((part->flags & MESSAGE_PART_FLAG_MULTIPART) != 0) {
		snprintf(prefix, sizeof(prefix), "%s.", number);
		dump_children(prefix, part, data, size, root);
	}
}

static int dump_file(const char *path)
{
	char *raw;
	size_t raw_size, i;
	string_t *msg, *out;
	struct message_part *parts;

	if (read_file(path, MAX_FILE_SIZE, &raw, &raw_size) < 0) {
		perror(path);
		return -1;
	}
	msg = str_new(raw_size + raw_size / 16 + 16);
	for (i = 0; i < raw_size; i++) {
		if (raw[i] == '\n' && (i == 0 || raw[i - 1] != '\r'))
			str_append_c(msg, '\r');
		str_append_c(msg, raw[i]);
	}
	free(raw);

	parts = message_parse(str_data(msg), str_len(msg));
	out = str_new(1024);
	imap_envelope_write(str_data(msg) + parts->header_offset,
			    parts->header_size, out);
	record("ENVELOPE", str_data(out), str_len(out));
	str_truncate(out, 0);
	imap_bodystructure_write(parts, str_data(msg), false, out);
	record("BODY", str_data(out), str_len(out));
	str_truncate(out, 0);
	imap_bodystructure_write(parts, str_data(msg), true, out);
	record("BODYSTRUCTURE", str_data(out), str_len(out));
	str_truncate(out, 0);
	str_printfa(out, "%zu", str_len(msg));
	record("SIZE", str_data(out), str_len(out));
	dump_message("", parts, str_data(msg), str_len(msg), parts);
	message_part_free(&parts);
	str_free(&out);
	str_free(&msg);
	return 0;
}

int main(int argc, char **argv)
{
	int ret = 0;

	if (argc < 2) {
		fprintf(stderr, "usage: mime-dump FILE...\n");
		return 2;
	}
	for (int i = 1; i < argc; i++) {
		if (argc > 2)
			record("FILE", argv[i], strlen(argv[i]));
		if (dump_file(argv[i]) < 0)
			ret = 1;
	}
	return ret;
}
