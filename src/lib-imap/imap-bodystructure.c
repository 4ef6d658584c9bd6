/* FETCH BODY / BODYSTRUCTURE (see imap-bodystructure.h), written the
   way Dovecot's imap-bodystructure.c does from the parsed part data. */
#include "imap-bodystructure.h"
#include "imap-envelope.h"
#include "imap-quote.h"
#include <strings.h>

#define DEFAULT_CHARSET "us-ascii"
#define EMPTY_BODY "(\"text\" \"plain\" (\"charset\" \"" DEFAULT_CHARSET \
	"\") NIL NIL \"7bit\" 0 0)"
#define EMPTY_BODYSTRUCTURE "(\"text\" \"plain\" (\"charset\" \"" \
	DEFAULT_CHARSET "\") NIL NIL \"7bit\" 0 0 NIL NIL NIL NIL)"

static void part_write(const struct message_part *part,
		       const unsigned char *data, bool extended,
		       string_t *dest);

static void params_write(const struct message_param *params,
			 unsigned int count, string_t *dest,
			 bool default_charset)
{
	bool seen_charset = false;
	unsigned int i;

	if (!default_charset && count == 0) {
		str_append(dest, "NIL");
		return;
	}
	str_append_c(dest, '(');
	for (i = 0; i < count; i++) {
		if (i > 0)
			str_append_c(dest, ' ');
		if (default_charset &&
		    strcasecmp(params[i].name, "charset") == 0)
			seen_charset = true;
		imap_append_string(dest, params[i].name);
		str_append_c(dest, ' ');
		imap_append_string(dest, params[i].value);
	}
	if (default_charset && !seen_charset) {
		if (i > 0)
			str_append_c(dest, ' ');
		str_append(dest, "\"charset\" \"" DEFAULT_CHARSET "\"");
	}
	str_append_c(dest, ')');
}

static void write_common_ext(const struct message_part *part,
			     string_t *dest)
{
	str_append_c(dest, ' ');
	if (part->disposition == NULL) {
		str_append(dest, "NIL");
	} else {
		str_append_c(dest, '(');
		imap_append_string(dest, part->disposition);
		str_append_c(dest, ' ');
		params_write(part->disposition_params,
			     part->disposition_params_count, dest, false);
		str_append_c(dest, ')');
	}
	str_append_c(dest, ' ');
	if (part->language == NULL || part->language[0] == NULL) {
		str_append(dest, "NIL");
	} else {
		str_append_c(dest, '(');
		for (unsigned int i = 0; part->language[i] != NULL; i++) {
			if (i > 0)
				str_append_c(dest, ' ');
			imap_append_string(dest, part->language[i]);
		}
		str_append_c(dest, ')');
	}
	str_append_c(dest, ' ');
	imap_append_nstring_nolf(dest, part->location);
}

static void write_multipart(const struct message_part *part,
			    const unsigned char *data, bool extended,
			    string_t *dest)
{
	const struct message_part *child;

	if (part->children == NULL) {
		/* a multipart without parts isn't allowed: write one empty
		   text/plain part */
		str_append(dest, extended ? EMPTY_BODYSTRUCTURE : EMPTY_BODY);
	}
	for (child = part->children; child != NULL; child = child->next)
		part_write(child, data, extended, dest);
	str_append_c(dest, ' ');
	imap_append_string(dest, part->content_subtype != NULL ?
			   part->content_subtype : "");
	if (!extended)
		return;
	str_append_c(dest, ' ');
	params_write(part->ctype_params, part->ctype_params_count, dest, false);
	write_common_ext(part, dest);
}

static void write_leaf(const struct message_part *part,
		       const unsigned char *data, bool extended,
		       string_t *dest)
{
	bool text;

	if ((part->flags & MESSAGE_PART_FLAG_MESSAGE_RFC822) != 0) {
		str_append(dest, "\"message\" \"rfc822\"");
		text = false;
	} else if (part->content_type == NULL) {
		text = true;
		str_append(dest, "\"text\" \"plain\"");
	} else {
		text = strcasecmp(part->content_type, "text") == 0;
		imap_append_string(dest, part->content_type);
		str_append_c(dest, ' ');
		imap_append_string(dest, part->content_subtype != NULL ?
				   part->content_subtype : "");
	}
	str_append_c(dest, ' ');
	params_write(part->ctype_params, part->ctype_params_count, dest, text);
	str_append_c(dest, ' ');
	imap_append_nstring_nolf(dest, part->content_id);
	str_append_c(dest, ' ');
	imap_append_nstring_nolf(dest, part->description);
	str_append_c(dest, ' ');
	if (part->transfer_encoding != NULL)
		imap_append_string(dest, part->transfer_encoding);
	else
		str_append(dest, "\"7bit\"");
	str_printfa(dest, " %zu", part->body_size);

	if (text) {
		str_printfa(dest, " %u", part->body_lines);
	} else if ((part->flags & MESSAGE_PART_FLAG_MESSAGE_RFC822) != 0 &&
		   part->children != NULL) {
		const struct message_part *child = part->children;

		str_append_c(dest, ' ');
		imap_envelope_write(data + child->header_offset,
				    child->header_size, dest);
		str_append_c(dest, ' ');
		part_write(child, data, extended, dest);
		str_printfa(dest, " %u", part->body_lines);
	}
	if (!extended)
		return;
	str_append_c(dest, ' ');
	imap_append_nstring_nolf(dest, part->md5);
	write_common_ext(part, dest);
}

static void part_write(const struct message_part *part,
		       const unsigned char *data, bool extended,
		       string_t *dest)
{
	str_append_c(dest, '(');
	if ((part->flags & MESSAGE_PART_FLAG_MULTIPART) != 0)
		write_multipart(part, data, extended, dest);
	else
		write_leaf(part, data, extended, dest);
	str_append_c(dest, ')');
}

int imap_bodystructure_write(const struct message_part *part,
			     const unsigned char *data, bool extended,
			     string_t *dest)
{
	part_write(part, data, extended, dest);
	return 0;
}
