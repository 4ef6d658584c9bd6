/* Telling the client about changes to the selected mailbox (RFC 3501
   7.3.1 EXISTS, 7.3.2 RECENT, 7.4.1 EXPUNGE, 7.4.2 FETCH FLAGS). The
   storage view changes only in mailbox_sync(), so sequence numbers the
   client knows stay valid between syncs. */
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

void client_known_set(struct client *client, uint32_t seq,
		      const struct mail_record *rec)
{
	if (seq == 0 || seq > client->known_count || rec == NULL)
		return;
	struct client_known_msg *k = &client->known[seq - 1];
	k->uid = rec->uid;
	k->flags = (uint8_t)rec->flags;
	k->keywords_hash = imap_keywords_hash(rec->keywords);
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
	client->known_count = count;
	for (uint32_t seq = 1; seq <= count; seq++)
		client_known_set(client, seq, mailbox_get(client->mailbox, seq));
	mailbox_get_status(client->mailbox, &status);
	client->recent_count = status.recent;
}

static void sync_expunged(void *context, uint32_t seq)
{
	struct sync_context *ctx = context;
	struct client *client = ctx->client;

	if (seq == 0 || seq > client->known_count)
		return;
	memmove(&client->known[seq - 1], &client->known[seq],
		(client->known_count - seq) * sizeof(client->known[0]));
	client->known_count--;
	client_send_linef(client, "* %u EXPUNGE", seq);
}

static void sync_flags_changed(void *context, uint32_t seq)
{
	struct sync_context *ctx = context;
	struct client *client = ctx->client;
	const struct mail_record *rec = mailbox_get(client->mailbox, seq);

	if (rec == NULL || seq > client->known_count)
		return;
	struct client_known_msg *k = &client->known[seq - 1];
	if (k->uid == rec->uid && k->flags == (uint8_t)rec->flags &&
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
	client_known_set(client, seq, rec);
}

static void sync_new_messages(void *context, uint32_t new_count)
{
	struct sync_context *ctx = context;
	struct client *client = ctx->client;
	uint32_t old = client->known_count;

	if (new_count <= old)
		return;
	known_grow(client, new_count);
	client->known_count = new_count;
	for (uint32_t seq = old + 1; seq <= new_count; seq++) {
		client->known[seq - 1].uid = 0;
		client_known_set(client, seq,
				 mailbox_get(client->mailbox, seq));
	}
	client_send_linef(client, "* %u EXISTS", new_count);
	ctx->exists_sent = true;
}

void client_sync(struct client *client, bool send_uid)
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
		return;
	}
	client->sync_error_logged = false;
	client_send_keywords_if_changed(client);
	/* in case the storage reported a shrink without expunge calls */
	uint32_t count = mailbox_count(client->mailbox);
	if (count != client->known_count) {
		if (count < client->known_count)
			i_error("Mailbox %s: view shrank without expunges",
				mailbox_name(client->mailbox));
		sync_new_messages(&ctx, count);
		client->known_count = count;
	}
	/* RECENT goes with EXISTS; expunges lower it implicitly */
	mailbox_get_status(client->mailbox, &status);
	if (ctx.exists_sent && status.recent != client->recent_count)
		client_send_linef(client, "* %u RECENT", status.recent);
	client->recent_count = status.recent;
}
