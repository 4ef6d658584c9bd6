/* loft-pop3 commands (RFC 1939 5, 7; RFC 2449 5), worded as Dovecot's
   pop3 process words them. */
#include "pop3-client.h"
#include "pop3-format.h"
#include "log.h"
#include <stdio.h>
#include <stdlib.h>
#include <ctype.h>
#include <strings.h>
#include <openssl/evp.h>

#define POP3_CAPABILITY_REPLY \
	"CAPA\r\n" \
	"TOP\r\n" \
	"UIDL\r\n" \
	"RESP-CODES\r\n" \
	"PIPELINING\r\n" \
	"AUTH-RESP-CODE\r\n" \
	"USER\r\n"

/* RETR/TOP output is produced in pieces of this size. */
#define POP3_FETCH_CHUNK (32 * 1024)

static bool msg_is_deleted(struct pop3_client *client, uint32_t msgnum)
{
	return (client->deleted_bitmask[msgnum / 8] & (1 << (msgnum % 8))) != 0;
}

/* Parse a message number (1-based on the wire) into a 0-based msgnum.
   Returns the text after it (spaces skipped) or NULL after replying. */
static const char *get_msgnum(struct pop3_client *client, const char *args,
			      uint32_t *msgnum_r, bool thenspace)
{
	const char *p = args;
	uint64_t num = 0;

	if (*p < '0' || *p > '9') {
		pop3_client_send_line(client, "-ERR Invalid message number: %s", args);
		return NULL;
	}
	while (*p >= '0' && *p <= '9') {
		num = num * 10 + (uint64_t)(*p++ - '0');
		if (num > UINT32_MAX) {
			pop3_client_send_line(client,
				"-ERR Message number too large: %s", args);
			return NULL;
		}
	}
	if (*p != (thenspace ? ' ' : '\0')) {
		pop3_client_send_line(client, "-ERR Noise after message number: %s", p);
		return NULL;
	}
	if (num == 0 || num > client->messages_count) {
		pop3_client_send_line(client, "-ERR There's no message %u.",
				      (unsigned int)num);
		return NULL;
	}
	if (msg_is_deleted(client, (uint32_t)num - 1)) {
		pop3_client_send_line(client, "-ERR Message is deleted.");
		return NULL;
	}
	while (*p == ' ')
		p++;
	*msgnum_r = (uint32_t)num - 1;
	return p;
}

static int cmd_capa(struct pop3_client *client, const char *args)
{
	pop3_client_send_line(client, "+OK\r\n" POP3_CAPABILITY_REPLY ".");
	return 1;
}

static int cmd_dele(struct pop3_client *client, const char *args)
{
	uint32_t msgnum;

	if (get_msgnum(client, args, &msgnum, false) == NULL)
		return -1;
	client->deleted_bitmask[msgnum / 8] |= 1 << (msgnum % 8);
	client->deleted_count++;
	client->deleted_size += client->message_sizes[msgnum];
	pop3_client_send_line(client, "+OK Marked to be deleted.");
	return 1;
}

struct list_context {
	uint32_t msgnum;
	bool uidl;
};

static bool cmd_list_continue(struct pop3_client *client)
{
	struct list_context *ctx = client->cmd_context;

	for (; ctx->msgnum < client->messages_count; ctx->msgnum++) {
		if (pop3_client_output_full(client))
			return false;
		if (msg_is_deleted(client, ctx->msgnum))
			continue;
		if (ctx->uidl) {
			pop3_client_send_line(client, "%u %s", ctx->msgnum + 1,
					      client->uidls[ctx->msgnum]);
		} else {
			pop3_client_send_line(client, "%u %llu", ctx->msgnum + 1,
				(unsigned long long)client->message_sizes[ctx->msgnum]);
		}
	}
	pop3_client_send_line(client, ".");
	free(ctx);
	client->cmd_context = NULL;
	return true;
}

static void cmd_start_listing(struct pop3_client *client, bool uidl)
{
	struct list_context *ctx = i_new(struct list_context, 1);

	ctx->uidl = uidl;
	client->cmd_context = ctx;
	client->cmd_free = free;
	if (!cmd_list_continue(client))
		client->cmd = cmd_list_continue;
}

static int cmd_list(struct pop3_client *client, const char *args)
{
	uint32_t msgnum;

	if (*args == '\0') {
		pop3_client_send_line(client, "+OK %u messages:",
				      client->messages_count - client->deleted_count);
		cmd_start_listing(client, false);
		return 1;
	}
	if (get_msgnum(client, args, &msgnum, false) == NULL)
		return -1;
	pop3_client_send_line(client, "+OK %u %llu", msgnum + 1,
			      (unsigned long long)client->message_sizes[msgnum]);
	return 1;
}

static int cmd_noop(struct pop3_client *client, const char *args)
{
	pop3_client_send_line(client, "+OK");
	return 1;
}

static int cmd_quit(struct pop3_client *client, const char *args)
{
	const char *error;

	if (client->deleted_count > 0 || client->seen_changes > 0) {
		if (pop3_client_update_mails(client, true, &error) < 0) {
			pop3_client_send_line(client, "-ERR [SYS/TEMP] %s", error);
			pop3_client_disconnect(client, "Storage error during logout.");
			return 1;
		}
	}
	client->delete_success = true;
	if (client->deleted_count == 0)
		pop3_client_send_line(client, "+OK Logging out.");
	else
		pop3_client_send_line(client, "+OK Logging out, messages deleted.");
	pop3_client_disconnect(client, "Logged out");
	return 1;
}

struct fetch_context {
	unsigned char *data;
	size_t pos, end;
	uint64_t *byte_counter;
	size_t start_offset;
	bool line_start;
};

static void fetch_free(void *context)
{
	struct fetch_context *ctx = context;

	free(ctx->data);
	free(ctx);
}

static bool fetch_continue(struct pop3_client *client)
{
	struct fetch_context *ctx = client->cmd_context;
	string_t *str = str_new(POP3_FETCH_CHUNK + 1024);

	while (ctx->pos < ctx->end && !pop3_client_output_full(client)) {
		size_t n = ctx->end - ctx->pos;
		if (n > POP3_FETCH_CHUNK)
			n = POP3_FETCH_CHUNK;
		str_truncate(str, 0);
		pop3_dot_stuff(ctx->data + ctx->pos, n, &ctx->line_start, str);
		evbuffer_add(client->output, str_data(str), str_len(str));
		*ctx->byte_counter += str_len(str);
		ctx->pos += n;
	}
	str_free(&str);
	if (ctx->pos < ctx->end) {
		event_add(client->ev_write, NULL);
		return false;
	}
	if (!ctx->line_start) {
		/* didn't end with CRLF */
		evbuffer_add(client->output, "\r\n", 2);
		*ctx->byte_counter += 2;
	}
	pop3_client_send_line(client, ".");
	fetch_free(ctx);
	client->cmd_context = NULL;
	return true;
}

static int fetch(struct pop3_client *client, uint32_t msgnum, uint64_t lines,
		 bool top, uint64_t *byte_counter)
{
	struct fetch_context *ctx = i_new(struct fetch_context, 1);
	const char *error;
	size_t size;

	if (mailbox_msg_read(client->box, msgnum + 1, &ctx->data, &size,
			     &error) < 0) {
		free(ctx);
		pop3_client_send_line(client, "-ERR Message %u expunged.", msgnum + 1);
		return -1;
	}
	ctx->end = top ? pop3_top_length(ctx->data, size, lines) : size;
	ctx->byte_counter = byte_counter;
	ctx->line_start = true;
	if (!top) {
		pop3_client_send_line(client, "+OK %llu octets",
			(unsigned long long)client->message_sizes[msgnum]);
		const struct mail_record *rec = mailbox_get(client->box, msgnum + 1);
		if (rec != NULL && (rec->flags & MAIL_SEEN) == 0) {
			client->seen_bitmask[msgnum / 8] |= 1 << (msgnum % 8);
			client->seen_changes++;
		}
	} else {
		pop3_client_send_line(client, "+OK");
	}
	client->cmd_context = ctx;
	client->cmd_free = fetch_free;
	if (!fetch_continue(client))
		client->cmd = fetch_continue;
	return 1;
}

static int cmd_retr(struct pop3_client *client, const char *args)
{
	uint32_t msgnum;

	if (get_msgnum(client, args, &msgnum, false) == NULL)
		return -1;
	client->retr_count++;
	return fetch(client, msgnum, 0, false, &client->retr_bytes);
}

static int cmd_top(struct pop3_client *client, const char *args)
{
	uint32_t msgnum;
	uint64_t lines;

	args = get_msgnum(client, args, &msgnum, true);
	if (args == NULL)
		return -1;
	if (*args < '0' || *args > '9') {
		pop3_client_send_line(client, "-ERR Invalid size: %s", args);
		return -1;
	}
	if (str_to_uint64(args, &lines) < 0) {
		const char *p = args;
		while (isdigit((unsigned char)*p))
			p++;
		if (*p != '\0')
			pop3_client_send_line(client, "-ERR Noise after size: %s", p);
		else
			pop3_client_send_line(client, "-ERR Size too large: %s", args);
		return -1;
	}
	client->top_count++;
	return fetch(client, msgnum, lines, true, &client->top_bytes);
}

static int cmd_rset(struct pop3_client *client, const char *args)
{
	memset(client->deleted_bitmask, 0, (client->messages_count + 7) / 8 + 1);
	client->deleted_count = 0;
	client->deleted_size = 0;
	pop3_client_send_line(client, "+OK");
	return 1;
}

static int cmd_stat(struct pop3_client *client, const char *args)
{
	pop3_client_send_line(client, "+OK %u %llu",
		client->messages_count - client->deleted_count,
		(unsigned long long)(client->total_size - client->deleted_size));
	return 1;
}

/* MD5 of the header, hex, for %m (Dovecot's header MD5 for UIDLs). */
static char *pop3_header_md5(struct pop3_client *client, uint32_t seq)
{
	unsigned char *data, md[EVP_MAX_MD_SIZE];
	unsigned int md_len = 0;
	const char *error;
	size_t size;

	if (mailbox_msg_read(client->box, seq, &data, &size, &error) < 0)
		return i_strdup("");
	size_t hdr = pop3_top_length(data, size, 0);
	EVP_Digest(data, hdr, md, &md_len, EVP_md5(), NULL);
	free(data);
	string_t *str = str_new(40);
	for (unsigned int i = 0; i < md_len; i++)
		str_printfa(str, "%02x", md[i]);
	return str_free_without_data(&str);
}

static int pop3_uidls_build(struct pop3_client *client)
{
	const char *format = client->set->pop3_uidl_format != NULL &&
		client->set->pop3_uidl_format[0] != '\0' ?
		client->set->pop3_uidl_format : "%08Xu%08Xv";
	bool want_md5 = pop3_format_has_key(format, 'm', "md5");
	struct mailbox_status status;
	char uidvalidity[16], uid[16];
	const char *error;

	mailbox_get_status(client->box, &status);
	snprintf(uidvalidity, sizeof(uidvalidity), "%u", status.uidvalidity);
	client->uidls = i_new(char *, client->messages_count + 1);
	for (uint32_t n = 0; n < client->messages_count; n++) {
		const struct mail_record *rec = mailbox_get(client->box, n + 1);
		char *md5 = want_md5 ? pop3_header_md5(client, n + 1) : NULL;
		snprintf(uid, sizeof(uid), "%u", rec == NULL ? 0 : rec->uid);
		/* Maildir: Dovecot's GUID of a message without a stored
		   GUID is its base file name, so %f and %g agree */
		const char *guid = rec == NULL || rec->guid == NULL ? "" : rec->guid;
		const struct pop3_format_var vars[] = {
			{ 'v', "uidvalidity", uidvalidity }, { 'u', "uid", uid },
			{ 'm', "md5", md5 }, { 'f', "filename", guid },
			{ 'g', "guid", guid },
		};
		string_t *str = str_new(64);
		int ret = pop3_format_expand(str, format, vars, N_ELEMENTS(vars),
					     &error);
		free(md5);
		if (ret < 0) {
			i_error("pop3_uidl_format=%s: %s", format, error);
			str_free(&str);
			return -1;
		}
		client->uidls[n] = str_free_without_data(&str);
	}
	return 0;
}

static int cmd_uidl(struct pop3_client *client, const char *args)
{
	uint32_t msgnum;

	if (client->uidls == NULL && pop3_uidls_build(client) < 0) {
		for (uint32_t i = 0; i < client->messages_count; i++)
			free(client->uidls[i]);
		i_free(client->uidls);
		pop3_client_send_line(client, "-ERR [SYS/TEMP] UIDLs couldn't be listed");
		pop3_client_disconnect(client, "POP3 UIDLs couldn't be listed");
		return 1;
	}
	if (*args == '\0') {
		pop3_client_send_line(client, "+OK");
		cmd_start_listing(client, true);
		return 1;
	}
	if (get_msgnum(client, args, &msgnum, false) == NULL)
		return -1;
	pop3_client_send_line(client, "+OK %u %s", msgnum + 1,
			      client->uidls[msgnum]);
	return 1;
}

static const struct {
	const char *name;
	int (*func)(struct pop3_client *client, const char *args);
} pop3_commands[] = {
	{ "CAPA", cmd_capa }, { "DELE", cmd_dele }, { "LIST", cmd_list },
	{ "NOOP", cmd_noop }, { "QUIT", cmd_quit }, { "RETR", cmd_retr },
	{ "RSET", cmd_rset }, { "STAT", cmd_stat }, { "TOP", cmd_top },
	{ "UIDL", cmd_uidl },
};

int pop3_command_execute(struct pop3_client *client, const char *name,
			 const char *args)
{
	while (*args == ' ')
		args++;
	for (unsigned int i = 0; i < N_ELEMENTS(pop3_commands); i++) {
		if (strcasecmp(name, pop3_commands[i].name) == 0)
			return pop3_commands[i].func(client, args);
	}
	/* the name is echoed back like Dovecot does, but bounded and
	   without control characters */
	string_t *str = str_new(64);
	for (const char *p = name; *p != '\0' && str_len(str) < 64; p++)
		str_append_c(str, (unsigned char)*p < 0x20 ? '?' : (char)toupper((unsigned char)*p));
	pop3_client_send_line(client, "-ERR Unknown command: %s", str_c(str));
	str_free(&str);
	return -1;
}
