/* FETCH ENVELOPE (see imap-envelope.h). As in Dovecot, the last
   occurrence of a field wins, string fields are the raw (folded, CR
   dropped) value and address fields are parsed with missing parts
   filled in ("MISSING_DOMAIN", ...). */
#include "imap-envelope.h"
#include "imap-quote.h"
#include "message-header.h"
#include "message-address.h"
#include "message-parser.h"
#include <stdlib.h>

enum envelope_field {
	ENV_DATE = 0, ENV_SUBJECT, ENV_FROM, ENV_SENDER, ENV_REPLY_TO,
	ENV_TO, ENV_CC, ENV_BCC, ENV_IN_REPLY_TO, ENV_MESSAGE_ID,
	ENV_COUNT
};

static const char *const envelope_names[ENV_COUNT] = {
	"Date", "Subject", "From", "Sender", "Reply-To",
	"To", "Cc", "Bcc", "In-Reply-To", "Message-ID"
};

static void write_address_list(string_t *dest,
			       const struct message_address *addr)
{
	if (addr == NULL) {
		str_append(dest, "NIL");
		return;
	}
	str_append_c(dest, '(');
	for (; addr != NULL; addr = addr->next) {
		str_append_c(dest, '(');
		if (addr->name == NULL)
			str_append(dest, "NIL");
		else
			imap_append_string_for_humans(dest, addr->name,
						      strlen(addr->name));
		str_append_c(dest, ' ');
		imap_append_nstring(dest, addr->route);
		str_append_c(dest, ' ');
		imap_append_nstring(dest, addr->mailbox);
		str_append_c(dest, ' ');
		imap_append_nstring(dest, addr->domain);
		str_append_c(dest, ')');
	}
	str_append_c(dest, ')');
}

void imap_envelope_write_address_list(const char *value, size_t size,
				      string_t *dest)
{
	struct message_address *addr = message_address_parse(value, size, true);

	write_address_list(dest, addr);
	message_address_free(&addr);
}

int imap_envelope_write(const unsigned char *hdr, size_t hdr_size,
			string_t *dest)
{
	struct message_header_iter iter;
	struct message_header_field field;
	char *values[ENV_COUNT];
	struct message_address *addrs[ENV_COUNT];
	unsigned int i;

	memset(values, 0, sizeof(values));
	memset(addrs, 0, sizeof(addrs));
	message_header_iter_init(&iter, hdr, hdr_size);
	while (message_header_iter_next(&iter, &field)) {
		for (i = 0; i < ENV_COUNT; i++) {
			if (message_header_field_is(&field, envelope_names[i]))
				break;
		}
		if (i == ENV_COUNT)
			continue;
		string_t *value = str_new(field.value_len + 1);
		/* no size limit: the value is bounded by the message */
		message_header_field_get_value(&field, value, SIZE_MAX);
		if (i >= ENV_FROM && i <= ENV_BCC) {
			message_address_free(&addrs[i]);
			addrs[i] = message_address_parse(str_c(value),
							 str_len(value), true);
			str_free(&value);
		} else {
			free(values[i]);
			values[i] = str_free_without_data(&value);
		}
	}

	str_append_c(dest, '(');
	imap_append_nstring(dest, values[ENV_DATE]);
	str_append_c(dest, ' ');
	if (values[ENV_SUBJECT] == NULL)
		str_append(dest, "NIL");
	else
		imap_append_string_for_humans(dest, values[ENV_SUBJECT],
					      strlen(values[ENV_SUBJECT]));
	for (i = ENV_FROM; i <= ENV_BCC; i++) {
		const struct message_address *addr = addrs[i];

		if (addr == NULL && (i == ENV_SENDER || i == ENV_REPLY_TO))
			addr = addrs[ENV_FROM];
		str_append_c(dest, ' ');
		write_address_list(dest, addr);
	}
	str_append_c(dest, ' ');
	imap_append_nstring(dest, values[ENV_IN_REPLY_TO]);
	str_append_c(dest, ' ');
	imap_append_nstring(dest, values[ENV_MESSAGE_ID]);
	str_append_c(dest, ')');

	for (i = 0; i < ENV_COUNT; i++) {
		free(values[i]);
		message_address_free(&addrs[i]);
	}
	return 0;
}
