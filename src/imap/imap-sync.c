/* Telling the client about changes to the selected mailbox (RFC 3501
   7.3.1 EXISTS, 7.3.2 RECENT, 7.4.1 EXPUNGE, 7.4.2 FETCH FLAGS).

   The client's view (client->known, one entry per message sequence
   number it knows) can lag behind the storage's view: EXPUNGE may not
   be sent while answering FETCH, STORE or SEARCH (RFC 3501 7.4.1), so
   a message expunged by another session stays in the client's view as
   a "ghost" until the next command that may report it. Sequence
   numbers in commands and responses are the client's; the helpers
   below map them to and from the storage's. */
#include "imap-client.h"
#include "imap-util.h"

#include <stdlib.h>

struct sync_context {
	struct client *client;
	bool send_uid;
	bool exists_sent;
};

static void known_grow(struct client *client, uint32_t count)
{
	if (count <= client->known_alloc)
		return;
	uint32_t alloc = client->known_alloc == 0 ? 64 : client->known_alloc;
	while (alloc < count)
		alloc *= 2;
	client->known = i_realloc(client->known, alloc * sizeof(*client->known));
	client->known_alloc = alloc;
}

/* Client sequence number of uid (ghosts included), 0 if unknown. The
   view is sorted by UID. */
static uint32_t known_find_uid(struct client *client, uint32_t uid)
{
	uint32_t lo = 0, hi = client->known_count;

	while (lo < hi) {
		uint32_t mid = lo + (hi - lo) / 2;
		if (client->known[mid].uid < uid)
			lo = mid + 1;
		else if (client->known[mid].uid > uid)
			hi = mid;
		else
			return mid + 1;
	}
	return 0;
}

uint32_t client_seq_from_storage(struct client *client, uint32_t storage_seq)
{
	const struct mail_record *rec = mailbox_get(client->mailbox, storage_seq);

	return rec == NULL ? 0 : known_find_uid(client, rec->uid);
}

uint32_t client_seq_to_storage(struct client *client, uint32_t seq)
{
	if (seq == 0 || seq > client->known_count || client->known[seq - 1].expunged)
		return 0;
	return mailbox_uid_to_seq(client->mailbox, client->known[seq - 1].uid);
}

static void known_set(struct client_known_msg *k, const struct mail_record *rec)
{
	k->uid = rec->uid;
	k->flags = (uint8_t)rec->flags;
	k->keywords_hash = imap_keywords_hash(rec->keywords);
	k->expunged = false;
}

void client_known_update(struct client *client, const struct mail_record *rec)
{
	uint32_t seq = rec == NULL ? 0 : known_find_uid(client, rec->uid);

	if (seq != 0)
		known_set(&client->known[seq - 1], rec);
}

void client_send_mailbox_flags(struct client *client)
{
	const char *const *keywords = mailbox_keywords(client->mailbox);
	string_t *str = str_new(256);

	str_append(str, "* FLAGS (");
	imap_write_flags(str, MAIL_FLAGS_STORED_MASK, keywords);
	str_append_c(str, ')');
	client_send_line(client, str_c(str));

	str_truncate(str, 0);
	if (mailbox_is_readonly(client->mailbox)) {
		str_append(str, "* OK [PERMANENTFLAGS ()] Read-only mailbox.");
	} else {
		str_append(str, "* OK [PERMANENTFLAGS (");
		imap_write_flags(str, MAIL_FLAGS_STORED_MASK, keywords);
		str_append(str, " \\*)] Flags permitted.");
	}
	client_send_line(client, str_c(str));
	str_free(&str);
	client->keywords_hash = imap_keywords_hash(keywords);
}

void client_send_keywords_if_changed(struct client *client)
{
	if (client->mailbox != NULL &&
	    imap_keywords_hash(mailbox_keywords(client->mailbox)) !=
	    client->keywords_hash)
		client_send_mailbox_flags(client);
}

void client_known_init(struct client *client)
{
	uint32_t count = mailbox_count(client->mailbox);
	struct mailbox_status status;

	known_grow(client, count);
	client->known_count = 0;
	for (uint32_t seq = 1; seq <= count; seq++) {
		const struct mail_record *rec = mailbox_get(client->mailbox, seq);
		if (rec != NULL)
			known_set(&client->known[client->known_count++], rec);
	}
	mailbox_get_status(client->mailbox, &status);
	client->recent_count = status.recent;
}

/* Called before the storage removes storage_seq from its view. */
static void sync_expunged(void *context, uint32_t storage_seq)
{
	struct sync_context *ctx = context;
	uint32_t seq = client_seq_from_storage(ctx->client, storage_seq);

	if (seq != 0)
		ctx->client->known[seq - 1].expunged = true;
}

static void sync_flags_changed(void *context, uint32_t storage_seq)
{
	struct sync_context *ctx = context;
	struct client *client = ctx->client;
	const struct mail_record *rec = mailbox_get(client->mailbox, storage_seq);
	uint32_t seq = rec == NULL ? 0 : known_find_uid(client, rec->uid);

	if (seq == 0)
		return;
	struct client_known_msg *k = &client->known[seq - 1];
	if (k->flags == (uint8_t)rec->flags &&
	    k->keywords_hash == imap_keywords_hash(rec->keywords))
		return; /* the client already knows (e.g. its own STORE) */

	client_send_keywords_if_changed(client);
	string_t *str = str_new(128);
	str_printfa(str, "* %u FETCH (", seq);
	if (ctx->send_uid)
		str_printfa(str, "UID %u ", rec->uid);
	str_append(str, "FLAGS (");
	imap_write_flags(str, rec->flags, rec->keywords);
	str_append(str, "))");
	client_send_line(client, str_c(str));
	str_free(&str);
	known_set(k, rec);
}

/* Append the storage's messages newer than the client's newest. */
static void sync_new_messages(void *context, uint32_t new_count)
{
	struct sync_context *ctx = context;
	struct client *client = ctx->client;
	uint32_t count = mailbox_count(client->mailbox);
	uint32_t last_uid = client->known_count == 0 ? 0 :
		client->known[client->known_count - 1].uid;
	uint32_t first = count + 1;

	while (first > 1) {
		const struct mail_record *rec =
			mailbox_get(client->mailbox, first - 1);
		if (rec == NULL || rec->uid <= last_uid)
			break;
		first--;
	}
	if (first > count)
		return;
	known_grow(client, client->known_count + (count - first + 1));
	for (uint32_t sseq = first; sseq <= count; sseq++) {
		known_set(&client->known[client->known_count++],
			  mailbox_get(client->mailbox, sseq));
	}
	client_send_linef(client, "* %u EXISTS", client->known_count);
	ctx->exists_sent = true;
}

/* Send EXPUNGE for the ghosts, highest first so that each number is
   still valid when the client reads it. */
static void sync_send_expunges(struct client *client)
{
	for (uint32_t seq = client->known_count; seq > 0; seq--) {
		if (!client->known[seq - 1].expunged)
			continue;
		memmove(&client->known[seq - 1], &client->known[seq],
			(client->known_count - seq) * sizeof(client->known[0]));
		client->known_count--;
		client_send_linef(client, "* %u EXPUNGE", seq);
	}
}

static void sync_failed(struct client *client, const char *error)
{
	if (!mail_user_mailbox_exists(client->user,
				      mailbox_name(client->mailbox))) {
		client_disconnect(client, "Selected mailbox was deleted, "
				  "have to disconnect.",
				  "Selected mailbox was deleted");
		return;
	}
	if (!client->sync_error_logged) {
		i_error("Mailbox %s: sync failed: %s",
			mailbox_name(client->mailbox), error);
		client->sync_error_logged = true;
	}
}

void client_sync(struct client *client, bool send_uid, bool expunges)
{
	struct sync_context ctx = { .client = client, .send_uid = send_uid };
	static const struct mailbox_sync_callbacks callbacks = {
		.expunged = sync_expunged,
		.flags_changed = sync_flags_changed,
		.new_messages = sync_new_messages,
	};
	struct mailbox_status status;
	const char *error;

	if (client->mailbox == NULL)
		return;
	if (mailbox_sync(client->mailbox, &callbacks, &ctx, &error) < 0) {
		sync_failed(client, error);
		return;
	}
	client->sync_error_logged = false;
	/* in case the storage grew without telling */
	sync_new_messages(&ctx, mailbox_count(client->mailbox));
	client_send_keywords_if_changed(client);
	if (expunges)
		sync_send_expunges(client);
	/* RECENT goes with EXISTS; expunges lower it implicitly */
	mailbox_get_status(client->mailbox, &status);
	if (ctx.exists_sent && status.recent != client->recent_count)
		client_send_linef(client, "* %u RECENT", status.recent);
	client->recent_count = status.recent;
}
