/* FETCH items: request parsing and response writing. ENVELOPE, BODY and
   BODYSTRUCTURE are kept in the storage's parse cache so that repeated
   FETCHes don't read and parse the message again. */
#include "imap-fetch.h"
#include "imap-util.h"
#include "imap-envelope.h"
#include "imap-bodystructure.h"
#include "imap-msgpart.h"
#include "message-parser.h"

#include <stdio.h>
#include <stdlib.h>
#include <strings.h>

#define FETCH_MAX_ITEMS 100

enum fetch_type {
	FETCH_UID,
	FETCH_FLAGS,
	FETCH_INTERNALDATE,
	FETCH_RFC822_SIZE,
	FETCH_ENVELOPE,
	FETCH_BODY,
	FETCH_BODYSTRUCTURE,
	FETCH_SECTION,	/* BODY[...], RFC822, RFC822.HEADER, RFC822.TEXT */
};

struct fetch_item {
	enum fetch_type type;
	struct imap_msgpart *mp;
	char *name;         /* response name without partial origin */
	bool partial;
	uint64_t origin;
};

struct imap_fetch {
	struct fetch_item items[FETCH_MAX_ITEMS];
	unsigned int count;
	bool set_seen;
	bool have_flags;
};

static const char *const cache_fields[] = {
	[FETCH_ENVELOPE] = "imap.envelope",
	[FETCH_BODY] = "imap.body",
	[FETCH_BODYSTRUCTURE] = "imap.bodystructure",
};

static bool fetch_has(const struct imap_fetch *fetch, enum fetch_type type)
{
	for (unsigned int i = 0; i < fetch->count; i++) {
		if (fetch->items[i].type == type)
			return true;
	}
	return false;
}

static int fetch_add(struct imap_fetch *fetch, enum fetch_type type,
		     const char **error_r)
{
	if (type != FETCH_SECTION && fetch_has(fetch, type))
		return 0;
	if (fetch->count == FETCH_MAX_ITEMS) {
		*error_r = "Too many FETCH items";
		return -1;
	}
	memset(&fetch->items[fetch->count], 0, sizeof(fetch->items[0]));
	fetch->items[fetch->count++].type = type;
	if (type == FETCH_FLAGS)
		fetch->have_flags = true;
	return 0;
}

static int fetch_add_section(struct imap_fetch *fetch, const char *section,
			     const char *partial, bool peek,
			     const char *rfc822_name, const char **error_r)
{
	struct imap_msgpart *mp;
	uint64_t origin = 0, count = UINT64_MAX;

	if (imap_msgpart_parse(section, &mp, error_r) < 0)
		return -1;
	if (partial != NULL &&
	    imap_msgpart_parse_partial(partial, &origin, &count) < 0) {
		imap_msgpart_free(&mp);
		*error_r = "Invalid partial";
		return -1;
	}
	if (fetch_add(fetch, FETCH_SECTION, error_r) < 0) {
		imap_msgpart_free(&mp);
		return -1;
	}
	struct fetch_item *item = &fetch->items[fetch->count - 1];
	item->mp = mp;
	if (partial != NULL) {
		imap_msgpart_set_partial(mp, origin, count);
		item->partial = true;
		item->origin = origin;
	}
	item->name = rfc822_name != NULL ? i_strdup(rfc822_name) :
		i_strdup_printf("BODY[%s]", imap_msgpart_get_section(mp));
	if (!peek)
		fetch->set_seen = true;
	return 0;
}

/* BODY[section]<partial> or BODY.PEEK[...] */
static int fetch_parse_body(struct imap_fetch *fetch, const char *atom,
			    const char **error_r)
{
	bool peek = strncasecmp(atom, "BODY.PEEK[", 10) == 0;
	const char *start = strchr(atom, '['), *end = strrchr(atom, ']');
	char *section, *partial = NULL;
	int ret;

	if (end == NULL || end < start) {
		*error_r = "Invalid BODY[..] parameter: Missing ']'";
		return -1;
	}
	if (end[1] != '\0') {
		size_t len = strlen(end + 1);
		if (end[1] != '<' || end[len] != '>') {
			*error_r = "Invalid BODY[..] parameter: Invalid partial";
			return -1;
		}
		partial = i_strndup(end + 2, len - 2);
	}
	section = i_strndup(start + 1, (size_t)(end - start - 1));
	ret = fetch_add_section(fetch, section, partial, peek, NULL, error_r);
	free(section);
	free(partial);
	return ret;
}

static int fetch_parse_item(struct imap_fetch *fetch, const char *atom,
			    const char **error_r)
{
	static const struct { const char *name; enum fetch_type type; } simple[] = {
		{ "UID", FETCH_UID }, { "FLAGS", FETCH_FLAGS },
		{ "INTERNALDATE", FETCH_INTERNALDATE },
		{ "RFC822.SIZE", FETCH_RFC822_SIZE },
		{ "ENVELOPE", FETCH_ENVELOPE }, { "BODY", FETCH_BODY },
		{ "BODYSTRUCTURE", FETCH_BODYSTRUCTURE },
	};

	for (unsigned int i = 0; i < N_ELEMENTS(simple); i++) {
		if (strcasecmp(atom, simple[i].name) == 0)
			return fetch_add(fetch, simple[i].type, error_r);
	}
	if (strcasecmp(atom, "RFC822") == 0)
		return fetch_add_section(fetch, "", NULL, false, "RFC822", error_r);
	if (strcasecmp(atom, "RFC822.HEADER") == 0)
		return fetch_add_section(fetch, "HEADER", NULL, true,
					 "RFC822.HEADER", error_r);
	if (strcasecmp(atom, "RFC822.TEXT") == 0)
		return fetch_add_section(fetch, "TEXT", NULL, false,
					 "RFC822.TEXT", error_r);
	if (strncasecmp(atom, "BODY[", 5) == 0 ||
	    strncasecmp(atom, "BODY.PEEK[", 10) == 0)
		return fetch_parse_body(fetch, atom, error_r);
	*error_r = NULL;
	return -1;
}

static int fetch_parse_macro(struct imap_fetch *fetch, const char *atom,
			     const char **error_r)
{
	static const enum fetch_type fast[] = {
		FETCH_FLAGS, FETCH_INTERNALDATE, FETCH_RFC822_SIZE,
	};
	unsigned int level;

	if (strcasecmp(atom, "FAST") == 0)
		level = 0;
	else if (strcasecmp(atom, "ALL") == 0)
		level = 1;
	else if (strcasecmp(atom, "FULL") == 0)
		level = 2;
	else
		return 1;
	for (unsigned int i = 0; i < N_ELEMENTS(fast); i++)
		(void)fetch_add(fetch, fast[i], error_r);
	if (level >= 1)
		(void)fetch_add(fetch, FETCH_ENVELOPE, error_r);
	if (level >= 2)
		(void)fetch_add(fetch, FETCH_BODY, error_r);
	return 0;
}

int imap_fetch_parse(const struct imap_arg *args, bool uid,
		     struct imap_fetch **fetch_r, const char **error_r)
{
	struct imap_fetch *fetch = i_new(struct imap_fetch, 1);
	const struct imap_arg *list;
	unsigned int count;
	const char *atom;
	static char errbuf[128];

	if (uid)
		(void)fetch_add(fetch, FETCH_UID, error_r);
	if (imap_arg_get_atom(args, &atom)) {
		int ret = fetch_parse_macro(fetch, atom, error_r);
		if (ret == 0) {
			*fetch_r = fetch;
			return 0;
		}
		list = args;
		count = 1;
	} else if (!imap_arg_get_list(args, &list, &count) || count == 0) {
		*error_r = "Invalid arguments.";
		imap_fetch_free(&fetch);
		return -1;
	}
	for (unsigned int i = 0; i < count; i++) {
		if (!imap_arg_get_atom(&list[i], &atom) ||
		    fetch_parse_item(fetch, atom, error_r) < 0) {
			if (list[i].type != IMAP_ARG_ATOM ||
			    *error_r == NULL) {
				snprintf(errbuf, sizeof(errbuf),
					 "Unknown parameter %.64s",
					 list[i].type == IMAP_ARG_ATOM ?
					 list[i].str : "");
				*error_r = errbuf;
			}
			imap_fetch_free(&fetch);
			return -1;
		}
	}
	*fetch_r = fetch;
	return 0;
}

void imap_fetch_free(struct imap_fetch **_fetch)
{
	struct imap_fetch *fetch = *_fetch;

	if (fetch == NULL)
		return;
	*_fetch = NULL;
	for (unsigned int i = 0; i < fetch->count; i++) {
		if (fetch->items[i].mp != NULL)
			imap_msgpart_free(&fetch->items[i].mp);
		free(fetch->items[i].name);
	}
	free(fetch);
}

/* ---- per message ---- */

struct fetch_message {
	struct client *client;
	uint32_t seq;
	unsigned char *data;
	size_t size;
	struct message_part *parts;
	bool expunged;
	bool cached;   /* data and parts belong to fetch_cache */
};

/* The last message FETCH loaded, kept parsed. Clients that fetch a
   message's parts one command at a time (BODY[1], BODY[1.MIME], ...)
   would otherwise make us read and parse it again for every part. A
   message's bytes never change for a UID, so (mailbox, UIDVALIDITY,
   UID) identifies it. */
#define FETCH_CACHE_MAX_SIZE (16 * 1024 * 1024)
static struct {
	char *box_name;
	uint32_t uidvalidity, uid;
	unsigned char *data;
	size_t size;
	struct message_part *parts;
} fetch_cache;

static void fetch_cache_clear(void)
{
	if (fetch_cache.parts != NULL)
		message_part_free(&fetch_cache.parts);
	i_free(fetch_cache.data);
	i_free(fetch_cache.box_name);
	fetch_cache.uid = 0;
}

void imap_fetch_cache_release(void)
{
	fetch_cache_clear();
}

static bool fetch_cache_lookup(struct fetch_message *msg, uint32_t uid,
			       uint32_t uidvalidity)
{
	if (fetch_cache.data == NULL || fetch_cache.uid != uid ||
	    fetch_cache.uidvalidity != uidvalidity ||
	    strcmp(fetch_cache.box_name,
		   mailbox_name(msg->client->mailbox)) != 0)
		return false;
	msg->data = fetch_cache.data;
	msg->size = fetch_cache.size;
	msg->parts = fetch_cache.parts;
	msg->cached = true;
	return true;
}

static int fetch_load(struct fetch_message *msg)
{
	struct mailbox *box = msg->client->mailbox;
	const char *error;

	if (msg->data != NULL)
		return 0;
	if (msg->expunged)
		return -1;
	const struct mail_record *rec = mailbox_get(box, msg->seq);
	uint32_t uidvalidity = mailbox_uidvalidity(box);
	if (rec != NULL && fetch_cache_lookup(msg, rec->uid, uidvalidity))
		return 0;
	if (mailbox_msg_read(box, msg->seq, &msg->data, &msg->size, &error) < 0) {
		msg->expunged = true;
		return -1;
	}
	/* parsed only when an item needs the structure (fetch_parts()) */
	msg->parts = NULL;
	if (rec != NULL && msg->size <= FETCH_CACHE_MAX_SIZE) {
		fetch_cache_clear();
		fetch_cache.box_name = i_strdup(mailbox_name(box));
		fetch_cache.uidvalidity = uidvalidity;
		fetch_cache.uid = rec->uid;
		fetch_cache.data = msg->data;
		fetch_cache.size = msg->size;
		fetch_cache.parts = msg->parts;
		msg->cached = true;
	}
	return 0;
}

/* The loaded message's parse tree, parsed at the first need. */
static const struct message_part *fetch_parts(struct fetch_message *msg)
{
	if (msg->parts == NULL) {
		msg->parts = message_parse(msg->data, msg->size);
		if (msg->cached)
			fetch_cache.parts = msg->parts;
	}
	return msg->parts;
}

static int fetch_parsed(struct fetch_message *msg, enum fetch_type type,
			string_t *dest)
{
	struct mailbox *box = msg->client->mailbox;
	char *cached = mailbox_cache_get(box, msg->seq, cache_fields[type]);

	if (cached != NULL) {
		str_append(dest, cached);
		free(cached);
		return 0;
	}
	if (fetch_load(msg) < 0)
		return -1;
	const struct message_part *parts = fetch_parts(msg);
	string_t *value = str_new(512);
	if (type == FETCH_ENVELOPE)
		imap_envelope_write(msg->data, parts->header_size, value);
	else
		imap_bodystructure_write(parts, msg->data,
					 type == FETCH_BODYSTRUCTURE, value);
	mailbox_cache_set(box, msg->seq, cache_fields[type], str_c(value));
	str_append(dest, str_c(value));
	str_free(&value);
	return 0;
}

static int fetch_write_simple(struct fetch_message *msg,
			      const struct fetch_item *item,
			      const struct mail_record *rec, string_t *dest)
{
	switch (item->type) {
	case FETCH_UID:
		str_printfa(dest, "UID %u", rec->uid);
		return 0;
	case FETCH_FLAGS:
		str_append(dest, "FLAGS (");
		imap_write_flags(dest, rec->flags, rec->keywords);
		str_append_c(dest, ')');
		client_known_update(msg->client, rec);
		return 0;
	case FETCH_INTERNALDATE:
		str_append(dest, "INTERNALDATE ");
		imap_write_datetime(dest, rec->internal_date);
		return 0;
	case FETCH_RFC822_SIZE: {
		/* computed from the file at the first need (after a BODY[]
		   section loaded it: already known) */
		uint64_t vsize;
		const char *error;
		if (mailbox_get_vsize(msg->client->mailbox, msg->seq, &vsize,
				      &error) < 0)
			return -1;
		str_printfa(dest, "RFC822.SIZE %llu", (unsigned long long)vsize);
		return 0;
	}
	case FETCH_ENVELOPE:
		str_append(dest, "ENVELOPE ");
		return fetch_parsed(msg, item->type, dest);
	case FETCH_BODY:
		str_append(dest, "BODY ");
		return fetch_parsed(msg, item->type, dest);
	case FETCH_BODYSTRUCTURE:
		str_append(dest, "BODYSTRUCTURE ");
		return fetch_parsed(msg, item->type, dest);
	case FETCH_SECTION:
		break;
	}
	return 0;
}

static int fetch_write_section(struct fetch_message *msg,
			       const struct fetch_item *item, string_t *dest)
{
	struct client *client = msg->client;
	const unsigned char *data;
	string_t *value = NULL;
	size_t size;
	const char *error;

	if (fetch_load(msg) < 0)
		return -1;
	if (!item->partial && imap_msgpart_get_section(item->mp)[0] == '\0') {
		/* BODY[] / RFC822: the message as it is, no copy */
		data = msg->data;
		size = msg->size;
	} else {
		value = str_new(4096);
		if (imap_msgpart_get(item->mp, msg->data, msg->size,
				     fetch_parts(msg), value, &error) < 0) {
			i_error("FETCH %s of message %u failed: %s", item->name,
				msg->seq, error);
		}
		data = str_data(value);
		size = str_len(value);
	}
	str_append(dest, item->name);
	if (item->partial)
		str_printfa(dest, "<%llu>", (unsigned long long)item->origin);
	str_printfa(dest, " {%zu}\r\n", size);
	/* the caller sends dest first; append the data after it */
	client_send_raw(client, str_data(dest), str_len(dest));
	client_send_raw(client, data, size);
	str_truncate(dest, 0);
	if (imap_msgpart_is_header_only(item->mp)) {
		client->fetch_hdr_count++;
		client->fetch_hdr_bytes += size;
	} else {
		client->fetch_body_count++;
		client->fetch_body_bytes += size;
	}
	if (value != NULL)
		str_free(&value);
	return 0;
}

/* Load what's needed before writing anything, so that a vanished
   message writes nothing at all. */
static int fetch_preload(struct fetch_message *msg,
			 const struct imap_fetch *fetch)
{
	for (unsigned int i = 0; i < fetch->count; i++) {
		enum fetch_type type = fetch->items[i].type;
		if (type == FETCH_SECTION)
			return fetch_load(msg);
	}
	return 0;
}

int imap_fetch_message(struct client *client, struct imap_fetch *fetch,
		       uint32_t seq)
{
	struct mailbox *box = client->mailbox;
	struct fetch_message msg = { .client = client, .seq = seq };
	const struct mail_record *rec = mailbox_get(box, seq);
	bool send_flags = false;
	const char *error;
	int ret = 0;

	if (rec == NULL || fetch_preload(&msg, fetch) < 0)
		goto out_expunged;
	if (fetch->set_seen && (rec->flags & MAIL_SEEN) == 0 &&
	    !mailbox_is_readonly(box)) {
		if (mailbox_update_flags(box, seq, MODIFY_ADD, MAIL_SEEN, NULL,
					 &error) < 0)
			i_error("Setting \\Seen failed: %s", error);
		rec = mailbox_get(box, seq);
		if (rec == NULL)
			goto out_expunged;
		send_flags = !fetch->have_flags;
	}

	string_t *str = str_new(1024);
	str_printfa(str, "* %u FETCH (", client_seq_from_storage(client, seq));
	size_t empty_len = str_len(str);
	/* UID and the other short items first (as Dovecot does), then
	   FLAGS if \Seen was set implicitly, then the body sections */
	for (unsigned int i = 0; i < fetch->count && ret == 0; i++) {
		if (fetch->items[i].type == FETCH_SECTION)
			continue;
		if (str_len(str) > empty_len)
			str_append_c(str, ' ');
		ret = fetch_write_simple(&msg, &fetch->items[i], rec, str);
	}
	if (send_flags && ret == 0) {
		struct fetch_item flags_item = { .type = FETCH_FLAGS };
		if (str_len(str) > empty_len)
			str_append_c(str, ' ');
		ret = fetch_write_simple(&msg, &flags_item, rec, str);
	}
	bool first = str_len(str) == empty_len;
	for (unsigned int i = 0; i < fetch->count && ret == 0; i++) {
		if (fetch->items[i].type != FETCH_SECTION)
			continue;
		if (!first)
			str_append_c(str, ' ');
		first = false;
		ret = fetch_write_section(&msg, &fetch->items[i], str);
	}
	/* sections were loaded by fetch_preload(), so a failure can only
	   happen before anything was sent */
	if (ret == 0) {
		str_append_c(str, ')');
		client_send_line(client, str_c(str));
	}
	str_free(&str);
	if (ret < 0)
		goto out_expunged;
	goto out;
out_expunged:
	ret = -1;
out:
	if (!msg.cached) {
		if (msg.parts != NULL)
			message_part_free(&msg.parts);
		free(msg.data);
	}
	return ret;
}
