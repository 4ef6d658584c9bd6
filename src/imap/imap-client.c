/* IMAP session I/O and command dispatch. */
#include "imap-client.h"
#include "imap-commands.h"
#include "imap-util.h"
#include "imap-fetch.h"

#include <errno.h>
#include <fcntl.h>
#include <malloc.h>
#include <stdlib.h>
#include <strings.h>
#include <unistd.h>
#include <sys/select.h>

#define CLIENT_READ_SIZE 65536
/* Default APPEND limit when mail_max_message_size is 0 (unlimited):
   messages are held in memory while being saved. */
#define CLIENT_DEFAULT_MAX_APPEND (100ULL * 1024 * 1024)
/* IDLE: how often to look for changes (the brief: within a second). */
#define CLIENT_IDLE_POLL_MSECS 400
/* after this long without input, give memory back (mail_user caches, the
   kept FETCH message, free heap pages): most connections sit idle most of
   the time, each in its own process */
#define CLIENT_TRIM_MSECS 2000

#define DEFAULT_CAPABILITY \
	"IMAP4rev1 SASL-IR LOGIN-REFERRALS ID ENABLE IDLE " \
	"UNSELECT CHILDREN NAMESPACE UIDPLUS MOVE LITERAL+"

#define DEFAULT_LOGOUT_FORMAT \
	"in=%i out=%o deleted=%{deleted} expunged=%{expunged} " \
	"trashed=%{trashed} hdr_count=%{fetch_hdr_count} " \
	"hdr_bytes=%{fetch_hdr_bytes} body_count=%{fetch_body_count} " \
	"body_bytes=%{fetch_body_bytes}"

static void client_input_process(struct client *client);
static void client_idle_stop(struct client *client);

static void client_read_enable(struct client *client)
{
	struct timeval tv = { CLIENT_IDLE_TIMEOUT_SECS, 0 };

	if (!client->input_eof && !client->disconnected)
		event_add(client->ev_read, &tv);
}
static void client_command_finish(struct client_command *cmd);

static void set_nonblock(int fd)
{
	int flags = fcntl(fd, F_GETFL);
	if (flags >= 0)
		(void)fcntl(fd, F_SETFL, flags | O_NONBLOCK);
}

static void client_build_capability(struct client *client)
{
	const char *cap = client->set->imap_capability;

	client->capability = str_new(256);
	if (cap == NULL || cap[0] == '\0') {
		str_append(client->capability, DEFAULT_CAPABILITY);
	} else if (cap[0] == '+') {
		str_append(client->capability, DEFAULT_CAPABILITY);
		str_append_c(client->capability, ' ');
		str_append(client->capability, cap + 1);
	} else {
		str_append(client->capability, cap);
	}
}

/* ---- output ---- */

void client_flush(struct client *client)
{
	while (evbuffer_get_length(client->outbuf) > 0) {
		int n = evbuffer_write(client->outbuf, client->fd_out);
		if (n > 0)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK ||
			      errno == EINTR)) {
			event_add(client->ev_write, NULL);
			return;
		}
		/* the client went away; discard what we had for it */
		evbuffer_drain(client->outbuf,
			       evbuffer_get_length(client->outbuf));
		if (!client->disconnected) {
			client_disconnect(client, NULL, n == 0 ?
				"Connection closed" : "Connection closed (write failed)");
		}
		return;
	}
}

void client_send_raw(struct client *client, const void *data, size_t size)
{
	if (client->disconnected)
		return;
	evbuffer_add(client->outbuf, data, size);
	client->out_bytes += size;
	if (evbuffer_get_length(client->outbuf) >= CLIENT_OUTPUT_LOW_WATER)
		client_flush(client);
}

void client_send_line(struct client *client, const char *line)
{
	client_send_raw(client, line, strlen(line));
	client_send_raw(client, "\r\n", 2);
}

void client_send_linef(struct client *client, const char *fmt, ...)
{
	va_list args;
	string_t *str = str_new(128);

	va_start(args, fmt);
	str_vprintfa(str, fmt, args);
	va_end(args);
	client_send_line(client, str_c(str));
	str_free(&str);
}

bool client_output_is_full(struct client *client)
{
	if (evbuffer_get_length(client->outbuf) < CLIENT_OUTPUT_HIGH_WATER)
		return false;
	client_flush(client);
	return evbuffer_get_length(client->outbuf) >= CLIENT_OUTPUT_HIGH_WATER;
}

/* ---- logging ---- */

static void append_var(string_t *dest, struct client *client, const char *name,
		       size_t len)
{
	static const struct { const char *name; char key; } keys[] = {
		{ "input", 'i' }, { "output", 'o' }, { "session", 's' },
		{ "deleted", 'd' }, { "expunged", 'e' }, { "trashed", 't' },
		{ "fetch_hdr_count", 'H' }, { "fetch_hdr_bytes", 'h' },
		{ "fetch_body_count", 'B' }, { "fetch_body_bytes", 'b' },
	};
	char key = 0;

	if (len == 1) {
		key = name[0];
	} else {
		for (unsigned int i = 0; i < N_ELEMENTS(keys); i++) {
			if (strlen(keys[i].name) == len &&
			    memcmp(keys[i].name, name, len) == 0)
				key = keys[i].key;
		}
	}
	switch (key) {
	case 'i': str_printfa(dest, "%llu", (unsigned long long)client->in_bytes); break;
	case 'o': str_printfa(dest, "%llu", (unsigned long long)client->out_bytes); break;
	case 's': str_append(dest, client->session_id); break;
	case 'd': str_printfa(dest, "%u", client->deleted_count); break;
	case 'e': str_printfa(dest, "%u", client->expunged_count); break;
	case 't': str_printfa(dest, "%u", client->trashed_count); break;
	case 'H': str_printfa(dest, "%u", client->fetch_hdr_count); break;
	case 'h': str_printfa(dest, "%llu", (unsigned long long)client->fetch_hdr_bytes); break;
	case 'B': str_printfa(dest, "%u", client->fetch_body_count); break;
	case 'b': str_printfa(dest, "%llu", (unsigned long long)client->fetch_body_bytes); break;
	default: break; /* unknown variables expand to nothing */
	}
}

/* imap_logout_format with %i %o %{name} variables. */
static void client_append_stats(struct client *client, string_t *dest)
{
	const char *fmt = client->set->imap_logout_format;

	if (fmt == NULL || fmt[0] == '\0')
		fmt = DEFAULT_LOGOUT_FORMAT;
	for (const char *p = fmt; *p != '\0'; p++) {
		if (*p != '%' || p[1] == '\0') {
			str_append_c(dest, *p);
		} else if (p[1] == '%') {
			str_append_c(dest, '%');
			p++;
		} else if (p[1] == '{') {
			const char *end = strchr(p + 2, '}');
			if (end == NULL)
				break;
			append_var(dest, client, p + 2, (size_t)(end - p - 2));
			p = end;
		} else {
			append_var(dest, client, p + 1, 1);
			p++;
		}
	}
}

static void append_secs(string_t *dest, uint64_t msecs)
{
	str_printfa(dest, "%u.%03u", (unsigned int)(msecs / 1000),
		    (unsigned int)(msecs % 1000));
}

static void client_append_cmd_status(struct client *client, string_t *dest)
{
	uint64_t now = time_monotonic_ms();
	struct client_command *cmd = client->idle_cmd != NULL ?
		client->idle_cmd : client->cmd;

	if (client->logged_out)
		return;
	if (cmd != NULL) {
		str_printfa(dest, " (%s running for ", cmd->name);
		append_secs(dest, cmd->wait_ms > now - cmd->start_ms ? 0 :
			    now - cmd->start_ms - cmd->wait_ms);
		str_append(dest, client->idle_cmd != NULL ?
			   " + waiting input for " : " + waiting output for ");
		append_secs(dest, cmd->wait_ms);
		str_append(dest, " secs)");
	} else if (client->last_cmd_name == NULL) {
		str_append(dest, " (No commands sent)");
	} else {
		str_printfa(dest, " (%s finished ", client->last_cmd_name);
		append_secs(dest, now - client->last_cmd_end_ms);
		str_append(dest, " secs ago)");
	}
}

void client_disconnect(struct client *client, const char *bye,
		       const char *reason)
{
	string_t *line;

	if (client->disconnected)
		return;
	if (bye != NULL)
		client_send_linef(client, "* BYE %s", bye);
	/* no more output after this; a failing flush can't recurse here */
	client->disconnected = true;
	client_flush(client);

	line = str_new(256);
	str_append(line, reason);
	if (strcmp(reason, "Connection closed") == 0)
		client_append_cmd_status(client, line);
	str_append_c(line, ' ');
	client_append_stats(client, line);
	i_info("Disconnected: %s", str_c(line));
	str_free(&line);

	event_del(client->ev_read);
	if (client->disconnected_callback != NULL)
		client->disconnected_callback(client);
	else
		event_base_loopbreak(client->base);
}

/* several sessions in one process: log lines name the one running */
static const struct client *log_current;

static void client_log_activate(struct client *client)
{
	if (client->log_prefix != NULL && log_current != client) {
		log_set_prefix(client->log_prefix);
		log_current = client;
	}
}

/* ---- commands ---- */

void client_command_reply(struct client_command *cmd, const char *reply)
{
	free(cmd->tagline);
	cmd->tagline = i_strdup(reply);
}

void client_command_replyf(struct client_command *cmd, const char *fmt, ...)
{
	va_list args;

	free(cmd->tagline);
	va_start(args, fmt);
	cmd->tagline = i_strdup_vprintf(fmt, args);
	va_end(args);
}

void client_command_error(struct client_command *cmd, const char *msg)
{
	client_command_replyf(cmd, "BAD Error in IMAP command %s: %s",
			      cmd->name, msg);
	cmd->param_error = true;
}

static void client_command_free(struct client_command **_cmd)
{
	struct client_command *cmd = *_cmd;

	*_cmd = NULL;
	if (cmd->context_free != NULL && cmd->context != NULL)
		cmd->context_free(cmd->context);
	free(cmd->tag);
	free(cmd->name);
	free(cmd->tagline);
	free(cmd);
}

/* "<tag> <reply>" with Dovecot's timing before the final period. */
static void client_send_tagline(struct client *client, const char *tag,
				const char *reply, uint64_t start_ms,
				uint64_t wait_ms)
{
	string_t *str = str_new(128);
	uint64_t total = time_monotonic_ms() - start_ms;
	size_t len;

	str_printfa(str, "%s %s", tag, reply);
	/* replies may echo client input (mailbox names can come as
	   literals): never let it break the line */
	for (size_t i = 0; i < str_len(str); i++) {
		if ((unsigned char)str->data[i] < 0x20 || str->data[i] == 0x7f)
			str->data[i] = '?';
	}
	len = str_len(str);
	if (len > 0 && str_c(str)[len - 1] == '.')
		str_truncate(str, len - 1);
	str_append(str, " (");
	append_secs(str, total > wait_ms ? total - wait_ms : 0);
	str_append(str, " + ");
	append_secs(str, wait_ms);
	str_append(str, " secs).");
	client_send_line(client, str_c(str));
	str_free(&str);
}

static void client_command_finish(struct client_command *cmd)
{
	struct client *client = cmd->client;
	enum command_flags flags = cmd->def == NULL ? 0 : cmd->def->flags;

	if (client->mailbox != NULL && cmd->def != NULL &&
	    (flags & COMMAND_FLAG_NO_SYNC) == 0) {
		client_sync(client, cmd->uid,
			    (flags & COMMAND_FLAG_NO_EXPUNGES) == 0 || cmd->uid);
	}
	if (cmd->tagline == NULL)
		client_command_reply(cmd, "NO [SERVERBUG] Internal error.");
	client_send_tagline(client, cmd->tag, cmd->tagline, cmd->start_ms,
			    cmd->wait_ms);

	free(client->last_cmd_name);
	client->last_cmd_name = i_strdup(cmd->name);
	client->last_cmd_end_ms = time_monotonic_ms();
	if (cmd->param_error) {
		if (++client->bad_counter >= CLIENT_MAX_BAD_COMMANDS) {
			client_disconnect(client,
				"Too many invalid IMAP commands.",
				"Too many invalid IMAP commands.");
		}
	} else {
		client->bad_counter = 0;
	}
	if (client->cmd == cmd)
		client->cmd = NULL;
	client_command_free(&cmd);
	if (client->logged_out)
		client_disconnect(client, NULL, "Logged out");
}

static struct client_command *
client_command_new(struct client *client, const char *tag, const char *name)
{
	struct client_command *cmd = i_new(struct client_command, 1);

	cmd->client = client;
	cmd->tag = i_strdup(tag);
	cmd->name = i_strdup(name);
	str_ucase(cmd->name);
	cmd->start_ms = time_monotonic_ms();
	return cmd;
}

static void client_command_run(struct client *client,
			       const struct imap_command_parsed *parsed)
{
	struct client_command *cmd =
		client_command_new(client, parsed->tag, parsed->name);
	const char *base_name = cmd->name;

	cmd->args = parsed->args;
	if (strcmp(cmd->name, "UID") == 0) {
		const char *sub = "";
		if (imap_arg_get_atom(&cmd->args[0], &sub))
			cmd->args++;
		free(cmd->name);
		cmd->name = i_strdup_printf("UID %s", sub);
		str_ucase(cmd->name);
		cmd->uid = true;
		base_name = cmd->name + 4;
	}
	cmd->def = command_find(base_name);
	if (cmd->def != NULL && cmd->uid &&
	    (cmd->def->flags & COMMAND_FLAG_UID) == 0)
		cmd->def = NULL;

	if (cmd->def == NULL) {
		client_command_error(cmd, "Unknown command.");
	} else if ((cmd->def->flags & COMMAND_FLAG_SELECTED) != 0 &&
		   client->mailbox == NULL) {
		client_command_reply(cmd, "BAD No mailbox selected.");
		cmd->param_error = true;
	} else {
		/* FETCH, STORE and SEARCH work on fresh data: UID commands
		   name messages by UID, so they may first learn about other
		   sessions' changes including expunges; the sequence number
		   variants get everything but expunges */
		if (client->mailbox != NULL &&
		    (cmd->def->flags & COMMAND_FLAG_NO_EXPUNGES) != 0)
			client_sync(client, cmd->uid, cmd->uid);
		if (!client->disconnected && !cmd->def->func(cmd)) {
			/* blocked on output (or IDLE): continue later */
			if (client->idle_cmd != cmd) {
				client->cmd = cmd;
				cmd->wait_start_ms = time_monotonic_ms();
			}
			return;
		}
	}
	client_command_finish(cmd);
}

/* Continue a command that stopped because the output was full. */
static void client_command_resume(struct client *client)
{
	struct client_command *cmd = client->cmd;
	uint64_t now = time_monotonic_ms();

	cmd->wait_ms += now - cmd->wait_start_ms;
	if (cmd->def->func(cmd)) {
		client_command_finish(cmd);
		client_input_continue(client);
	} else {
		cmd->wait_start_ms = time_monotonic_ms();
	}
}

/* ---- parser errors ---- */

static void client_parse_error(struct client *client)
{
	enum imap_parser_error error;
	bool fatal;
	const char *msg = imap_parser_get_error(client->parser, &error, &fatal);
	const char *tag = imap_parser_get_tag(client->parser);
	const char *name = imap_parser_get_name(client->parser);
	struct client_command *cmd =
		client_command_new(client, tag == NULL ? "*" : tag,
				   name == NULL ? "" : name);

	if (error == IMAP_PARSER_ERROR_LITERAL_TOO_BIG &&
	    strcmp(cmd->name, "APPEND") == 0) {
		/* RFC 7889: APPEND of a too big message. The parser
		   skips a LITERAL+ literal's data, so the connection
		   stays usable. */
		client_command_reply(cmd, "NO [TOOBIG] Mail too large.");
		client_command_finish(cmd);
		return;
	}
	if (tag == NULL)
		client_command_replyf(cmd, "BAD Error in IMAP tag: %s", msg);
	else if (name == NULL)
		client_command_replyf(cmd, "BAD Error in IMAP command: %s", msg);
	else
		client_command_error(cmd, msg);
	cmd->param_error = true;
	client_command_finish(cmd);
	if (fatal && !client->disconnected)
		client_disconnect(client, msg, msg);
}

/* ---- IDLE input ---- */

static void client_idle_input(struct client *client)
{
	size_t len;
	char *line = evbuffer_readln(client->inbuf, &len, EVBUFFER_EOL_CRLF);

	if (line == NULL) {
		if (evbuffer_get_length(client->inbuf) >
		    client->set->imap_max_line_length) {
			client_disconnect(client, "Too long argument.",
					  "Too long argument");
		}
		return;
	}
	struct client_command *cmd = client->idle_cmd;
	client->idle_cmd = NULL;
	client_idle_stop(client);
	cmd->wait_ms += time_monotonic_ms() - cmd->wait_start_ms;
	if (strcasecmp(line, "DONE") == 0) {
		client_command_reply(cmd, "OK Idle completed.");
	} else {
		client_command_reply(cmd, "BAD Expected DONE.");
		cmd->param_error = true;
	}
	free(line);
	client_sync(client, false, true);
	client_command_finish(cmd);
}

/* APPEND to a mailbox that doesn't exist: say so before the client
   sends the message (RFC 3501 6.3.11 TRYCREATE; the client sends no
   literal after a tagged reply). Returns true if the command was
   answered and dropped. */
static bool client_append_precheck(struct client *client)
{
	const char *name = imap_parser_get_name(client->parser);
	const char *tag = imap_parser_get_tag(client->parser);
	const struct imap_arg *args;
	unsigned int count;
	const char *mailbox;

	if (name == NULL || tag == NULL || strcasecmp(name, "APPEND") != 0)
		return false;
	args = imap_parser_get_partial_args(client->parser, &count);
	if (count < 1 || !imap_arg_get_astring(&args[0], &mailbox) ||
	    strlen(mailbox) != args[0].str_len)
		return false;
	const char *storage_name = imap_mailbox_name_from_client(client, mailbox);
	if (storage_name == NULL || strcmp(storage_name, "INBOX") == 0 ||
	    mail_user_mailbox_exists(client->user, storage_name))
		return false;

	struct client_command *cmd = client_command_new(client, tag, name);
	client_command_replyf(cmd, "NO [TRYCREATE] Mailbox doesn't exist: %s",
			      mailbox);
	imap_parser_reset(client->parser);
	client_command_finish(cmd);
	return true;
}

/* ---- input ---- */

static void client_input_process(struct client *client)
{
	while (!client->disconnected && client->cmd == NULL) {
		size_t len = evbuffer_get_length(client->inbuf);
		size_t used;

		if (len == 0)
			break;
		if (client->idle_cmd != NULL) {
			client_idle_input(client);
			if (client->idle_cmd != NULL)
				break;
			continue;
		}
		if (client_output_is_full(client)) {
			/* don't run more commands until the client reads
			   what it has been sent */
			event_del(client->ev_read);
			return;
		}
		const unsigned char *data = evbuffer_pullup(client->inbuf, -1);
		enum imap_parser_result ret =
			imap_parser_parse(client->parser, data, len, &used);
		evbuffer_drain(client->inbuf, used);
		switch (ret) {
		case IMAP_PARSER_NEED_MORE:
			break;
		case IMAP_PARSER_LITERAL_CONT:
			if (!client_append_precheck(client))
				client_send_line(client, "+ OK");
			break;
		case IMAP_PARSER_ERROR:
			client_parse_error(client);
			break;
		case IMAP_PARSER_COMMAND:
			client_command_run(client,
				imap_parser_get_command(client->parser));
			break;
		}
	}
	if (client->cmd != NULL)
		event_del(client->ev_read);
	client_flush(client);
}

void client_input_continue(struct client *client)
{
	if (client->disconnected)
		return;
	client_read_enable(client);
	client_input_process(client);
	if (client->input_eof && client->cmd == NULL &&
	    !client->disconnected)
		client_disconnect(client, NULL, "Connection closed");
}

static void client_trim_cb(evutil_socket_t fd, short what, void *context)
{
	struct client *client = context;

	client_log_activate(client);

	/* a running command other than IDLE may be using the caches */
	if (client->cmd != NULL && client->idle_cmd == NULL)
		return;
	if (client->user != NULL)
		mail_user_release_memory(client->user);
	imap_fetch_cache_release();
	malloc_trim(0);
}

static void client_trim_arm(struct client *client)
{
	struct timeval tv = { CLIENT_TRIM_MSECS / 1000,
			      (CLIENT_TRIM_MSECS % 1000) * 1000 };
	event_add(client->ev_trim, &tv);
}

static void client_read_cb(evutil_socket_t fd, short what, void *context)
{
	struct client *client = context;

	client_log_activate(client);

	if ((what & EV_TIMEOUT) != 0) {
		client_disconnect(client, "Disconnected for inactivity.",
				  "Disconnected for inactivity");
		return;
	}
	int n = evbuffer_read(client->inbuf, fd, CLIENT_READ_SIZE);
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n <= 0) {
		/* run what was already received, then close */
		client->input_eof = true;
		event_del(client->ev_read);
		client_input_process(client);
		if (client->cmd == NULL)
			client_disconnect(client, NULL, "Connection closed");
		return;
	}
	client->in_bytes += (uint64_t)n;
	client_trim_arm(client);
	client_read_enable(client);
	client_input_process(client);
}

static void client_write_cb(evutil_socket_t fd, short what, void *context)
{
	struct client *client = context;

	client_log_activate(client);

	client_flush(client);
	if (client->disconnected)
		return;
	if (evbuffer_get_length(client->outbuf) > CLIENT_OUTPUT_LOW_WATER)
		return;
	if (client->cmd != NULL)
		client_command_resume(client);
	else
		client_input_continue(client);
}

static void client_idle_timer_cb(evutil_socket_t fd, short what,
				 void *context)
{
	struct client *client = context;

	client_log_activate(client);
	uint64_t now = time_monotonic_ms();
	unsigned int interval = client->set->imap_idle_notify_interval;

	if (client->idle_cmd == NULL)
		return;
	client_sync(client, false, true);
	/* a change opened the index: close it again when quiet (a quiet
	   check doesn't open it: mailbox_sync()'s quick check) */
	if (client->user != NULL && mail_user_index_is_open(client->user) &&
	    !evtimer_pending(client->ev_trim, NULL))
		client_trim_arm(client);
	if (client->ev_idle_notify != NULL) {
		/* inotify woke us: look again in a second, when a change
		   that the stamps could hide is due to be verified (the sync
		   rule in maildir-sync.c); a quiet mailbox goes back to
		   mailbox_idle_check_interval */
		struct timeval tv = { 1, 0 };
		unsigned int secs = client->set->mailbox_idle_check_interval;
		if ((what & EV_READ) == 0 && secs > 1)
			tv.tv_sec = secs;
		event_add(client->ev_idle, &tv);
	}
	if (interval > 0 &&
	    now - client->idle_last_notify_ms >= interval * 1000ULL) {
		client_send_line(client, "* OK Still here");
		client->idle_last_notify_ms = now;
	}
	client_flush(client);
}

void client_idle_start(struct client_command *cmd)
{
	struct client *client = cmd->client;
	struct timeval tv = { 0, CLIENT_IDLE_POLL_MSECS * 1000 };

	client->idle_cmd = cmd;
	cmd->wait_start_ms = time_monotonic_ms();
	client->idle_last_notify_ms = cmd->wait_start_ms;
	/* inotify on the Maildir wakes us at once; the timer catches what
	   it doesn't see (and is all there is without it) */
	int fd = client->mailbox == NULL ? -1 :
		mailbox_notify_fd(client->mailbox);
	if (fd >= 0) {
		/* Dovecot's mailbox_idle_check_interval (30 s): with 10,000
		   IDLE connections, a 1 s poll was 10,000 wake-ups a second */
		unsigned int secs = client->set->mailbox_idle_check_interval;
		tv.tv_sec = secs == 0 ? 1 : secs;
		tv.tv_usec = 0;
	}
	event_add(client->ev_idle, &tv);
	if (fd >= 0) {
		client->ev_idle_notify = event_new(client->base, fd,
			EV_READ | EV_PERSIST, client_idle_timer_cb, client);
		event_add(client->ev_idle_notify, NULL);
	}
}

static void client_idle_stop(struct client *client)
{
	event_del(client->ev_idle);
	if (client->ev_idle_notify != NULL) {
		event_free(client->ev_idle_notify);
		client->ev_idle_notify = NULL;
	}
}

/* ---- lifecycle ---- */

struct client *client_create(struct event_base *base, int fd_in, int fd_out,
			     const struct loft_settings *set,
			     struct mail_user *user, const char *username,
			     const char *session_id)
{
	struct client *client = i_new(struct client, 1);
	struct imap_parser_limits limits = {
		.max_line_length = set->imap_max_line_length,
		.max_literal_size = set->mail_max_message_size != 0 ?
			set->mail_max_message_size : CLIENT_DEFAULT_MAX_APPEND,
	};

	client->base = base;
	client->fd_in = fd_in;
	client->fd_out = fd_out;
	client->set = set;
	client->user = user;
	client->username = i_strdup(username);
	client->session_id = i_strdup(session_id == NULL ? "" : session_id);
	set_nonblock(fd_in);
	set_nonblock(fd_out);
	client->inbuf = evbuffer_new();
	client->outbuf = evbuffer_new();
	client->parser = imap_parser_create(&limits);
	client->ev_read = event_new(base, fd_in, EV_READ | EV_PERSIST,
				    client_read_cb, client);
	client->ev_write = event_new(base, fd_out, EV_WRITE,
				     client_write_cb, client);
	client->ev_idle = event_new(base, -1, EV_PERSIST,
				    client_idle_timer_cb, client);
	client->ev_trim = evtimer_new(base, client_trim_cb, client);
	client_trim_arm(client);
	client_build_capability(client);
	client->ns_prefix = i_strdup("");
	for (unsigned int i = 0; i < set->namespaces_count; i++) {
		const struct namespace_settings *ns = &set->namespaces[i];
		if (ns->inbox && ns->prefix != NULL) {
			free(client->ns_prefix);
			client->ns_prefix = i_strdup(ns->prefix);
		}
	}
	return client;
}

void client_start(struct client *client, const char *tag,
		  const char *input_b64)
{
	if (tag != NULL && tag[0] != '\0') {
		client_send_linef(client, "%s OK [CAPABILITY %s] Logged in",
				  tag, str_c(client->capability));
	} else {
		client_send_linef(client, "* PREAUTH [CAPABILITY %s] "
				  "Logged in as %s", str_c(client->capability),
				  client->username);
	}
	if (input_b64 != NULL && input_b64[0] != '\0') {
		string_t *input = str_new(256);
		if (base64_decode(input_b64, strlen(input_b64), input) < 0)
			i_error("Invalid LOFT_INPUT, ignoring it");
		else
			evbuffer_add(client->inbuf, str_data(input),
				     str_len(input));
		client->in_bytes += str_len(input);
		str_free(&input);
	}
	client_read_enable(client);
	client_input_process(client);
}

/* After the event loop: give the last lines (BYE, the LOGOUT reply) a
   few seconds to reach a slow client. */
static void client_flush_final(struct client *client)
{
	uint64_t deadline = time_monotonic_ms() + 5000;

	while (evbuffer_get_length(client->outbuf) > 0 &&
	       time_monotonic_ms() < deadline) {
		int n = evbuffer_write(client->outbuf, client->fd_out);
		if (n > 0)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EINTR)) {
			struct timeval tv = { 0, 50000 };
			fd_set wfds;
			FD_ZERO(&wfds);
			FD_SET(client->fd_out, &wfds);
			(void)select(client->fd_out + 1, NULL, &wfds, NULL, &tv);
			continue;
		}
		break;
	}
}

void client_destroy(struct client **_client)
{
	struct client *client = *_client;

	*_client = NULL;
	if (!client->disconnected)
		client_disconnect(client, NULL, "Connection closed");
	client_flush_final(client);
	client->destroyed = true;
	if (client->cmd != NULL)
		client_command_free(&client->cmd);
	if (client->idle_cmd != NULL)
		client_command_free(&client->idle_cmd);
	client_idle_stop(client);
	client_close_mailbox(client);
	event_free(client->ev_read);
	event_free(client->ev_write);
	event_free(client->ev_idle);
	event_free(client->ev_trim);
	evbuffer_free(client->inbuf);
	evbuffer_free(client->outbuf);
	imap_parser_destroy(&client->parser);
	str_free(&client->capability);
	free(client->known);
	free(client->last_cmd_name);
	free(client->username);
	free(client->session_id);
	free(client->ns_prefix);
	free(client->log_prefix);
	if (log_current == client)
		log_current = NULL;
	free(client);
}

void client_close_mailbox(struct client *client)
{
	if (client->mailbox != NULL)
		mailbox_close(&client->mailbox);
	client->known_count = 0;
	client->recent_count = 0;
}
