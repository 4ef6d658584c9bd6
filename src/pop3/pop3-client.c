/* loft-pop3 session I/O: line input, bounded output, logout. */
#include "pop3-client.h"
#include "pop3-format.h"
#include "log.h"
#include <stdio.h>
#include <stdlib.h>
#include <errno.h>
#include <fcntl.h>
#include <unistd.h>

#define MSGS_BITMASK_SIZE(client) (((client)->messages_count + 7) / 8 + 1)

static void pop3_client_handle_input(struct pop3_client *client);

static void pop3_client_schedule_write(struct pop3_client *client)
{
	if (evbuffer_get_length(client->output) > 0)
		event_add(client->ev_write, NULL);
}

void pop3_client_send_line(struct pop3_client *client, const char *fmt, ...)
{
	va_list args;

	if (client->disconnected)
		return;
	va_start(args, fmt);
	evbuffer_add_vprintf(client->output, fmt, args);
	va_end(args);
	evbuffer_add(client->output, "\r\n", 2);
	pop3_client_schedule_write(client);
}

bool pop3_client_output_full(struct pop3_client *client)
{
	return evbuffer_get_length(client->output) >= POP3_OUTPUT_THROTTLE;
}

static const char *pop3_client_stats(struct pop3_client *client)
{
	static char *result = NULL;
	char t[24], p[24], r[24], b[24], d[24], m[24], s[24], i[24], o[24], db[24];
	const char *error;

	snprintf(t, sizeof(t), "%u", client->top_count);
	snprintf(p, sizeof(p), "%llu", (unsigned long long)client->top_bytes);
	snprintf(r, sizeof(r), "%u", client->retr_count);
	snprintf(b, sizeof(b), "%llu", (unsigned long long)client->retr_bytes);
	snprintf(d, sizeof(d), "%u", client->delete_success ? client->deleted_count : 0);
	snprintf(m, sizeof(m), "%u", client->messages_count);
	snprintf(s, sizeof(s), "%llu", (unsigned long long)client->total_size);
	snprintf(i, sizeof(i), "%llu", (unsigned long long)client->input_bytes);
	snprintf(o, sizeof(o), "%llu", (unsigned long long)client->output_bytes);
	snprintf(db, sizeof(db), "%llu", client->delete_success ?
		 (unsigned long long)client->deleted_size : 0ULL);
	const struct pop3_format_var vars[] = {
		{ 't', "top_count", t }, { 'p', "top_bytes", p },
		{ 'r', "retr_count", r }, { 'b', "retr_bytes", b },
		{ 'd', "deleted_count", d }, { 'm', "message_count", m },
		{ 's', "message_bytes", s }, { 'i', "input", i },
		{ 'o', "output", o }, { 'u', "uidl_change", "" },
		{ '\0', "session", client->session_id },
		{ '\0', "deleted_bytes", db },
	};
	string_t *str = str_new(128);
	const char *format = client->set->pop3_logout_format != NULL ?
		client->set->pop3_logout_format :
		"top=%t/%p, retr=%r/%b, del=%d/%m, size=%s";
	if (pop3_format_expand(str, format, vars, N_ELEMENTS(vars), &error) < 0) {
		str_truncate(str, 0);
		str_printfa(str, "(pop3_logout_format: %s)", error);
	}
	free(result);
	result = str_free_without_data(&str);
	return result;
}

int pop3_client_update_mails(struct pop3_client *client, bool expunge,
			     const char **error_r)
{
	uint32_t *seqs = NULL;
	unsigned int count = 0;
	int ret = 0;

	if (mailbox_is_readonly(client->box))
		return 0;
	for (uint32_t n = 0; n < client->messages_count; n++) {
		uint8_t bit = 1 << (n % 8);
		bool deleted = (client->deleted_bitmask[n / 8] & bit) != 0;
		if (deleted && expunge) {
			if (seqs == NULL)
				seqs = i_new(uint32_t, client->deleted_count + 1);
			seqs[count++] = n + 1;
		} else if ((client->seen_bitmask[n / 8] & bit) != 0) {
			if (mailbox_update_flags(client->box, n + 1, MODIFY_ADD,
						 MAIL_SEEN, NULL, error_r) < 0)
				ret = -1;
		}
	}
	client->seen_changes = 0;
	memset(client->seen_bitmask, 0, MSGS_BITMASK_SIZE(client));
	if (count > 0 &&
	    mailbox_expunge_seqs(client->box, seqs, count, error_r) < 0)
		ret = -1;
	free(seqs);
	return ret;
}

void pop3_client_disconnect(struct pop3_client *client, const char *reason)
{
	struct timeval tv = { 5, 0 };

	if (client->disconnected)
		return;
	i_info("Disconnected: %s %s", reason, pop3_client_stats(client));
	client->disconnected = true;
	event_del(client->ev_read);
	event_del(client->ev_idle);
	if (evbuffer_get_length(client->output) == 0)
		event_base_loopbreak(client->base);
	else
		event_base_loopexit(client->base, &tv); /* bounded final flush */
}

static void pop3_client_read_cb(evutil_socket_t fd, short what, void *context)
{
	struct pop3_client *client = context;
	struct timeval idle = { POP3_IDLE_TIMEOUT_SECS, 0 };
	int n = evbuffer_read(client->input, fd, 16384);

	if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR)) {
		client->input_eof = true;
		pop3_client_disconnect(client, n == 0 ? "Connection closed" :
				       "Connection reset");
		return;
	}
	if (n > 0) {
		client->input_bytes += (unsigned int)n;
		event_add(client->ev_idle, &idle);
	}
	pop3_client_handle_input(client);
}

static void pop3_client_write_cb(evutil_socket_t fd, short what, void *context)
{
	struct pop3_client *client = context;
	int n = evbuffer_write(client->output, fd);

	if (n < 0 && errno != EAGAIN && errno != EINTR) {
		evbuffer_drain(client->output, evbuffer_get_length(client->output));
		pop3_client_disconnect(client, "Connection closed");
		event_del(client->ev_write);
		event_base_loopbreak(client->base);
		return;
	}
	if (n > 0) {
		/* a client that keeps reading a long RETR is not idle */
		struct timeval idle = { POP3_IDLE_TIMEOUT_SECS, 0 };
		client->output_bytes += (unsigned int)n;
		if (!client->disconnected)
			event_add(client->ev_idle, &idle);
	}
	if (client->cmd != NULL && !client->disconnected &&
	    !pop3_client_output_full(client)) {
		if (client->cmd(client))
			client->cmd = NULL;
	}
	if (client->cmd == NULL && !client->disconnected &&
	    evbuffer_get_length(client->output) < POP3_OUTPUT_THROTTLE / 2) {
		/* continue with pipelined commands, then read more */
		pop3_client_handle_input(client);
	}
	if (evbuffer_get_length(client->output) == 0) {
		event_del(client->ev_write);
		if (client->disconnected)
			event_base_loopbreak(client->base);
	}
}

static void pop3_client_idle_cb(evutil_socket_t fd, short what, void *context)
{
	struct pop3_client *client = context;

	pop3_client_send_line(client, "-ERR Disconnected for inactivity.");
	pop3_client_disconnect(client, "Disconnected for inactivity");
}

static void pop3_client_handle_input(struct pop3_client *client)
{
	while (!client->disconnected && client->cmd == NULL &&
	       !pop3_client_output_full(client)) {
		size_t eol_len;
		struct evbuffer_ptr eol =
			evbuffer_search_eol(client->input, NULL, &eol_len,
					    EVBUFFER_EOL_LF);
		size_t avail = evbuffer_get_length(client->input);
		if (eol.pos < 0 ? avail > POP3_MAX_LINE_LENGTH :
		    (size_t)eol.pos > POP3_MAX_LINE_LENGTH) {
			pop3_client_send_line(client, "-ERR Input line too long.");
			pop3_client_disconnect(client, "Input line too long");
			return;
		}
		if (eol.pos < 0)
			break;
		char *line = i_malloc((size_t)eol.pos + 1);
		evbuffer_remove(client->input, line, (size_t)eol.pos);
		line[eol.pos] = '\0';
		evbuffer_drain(client->input, eol_len);
		if (eol.pos > 0 && line[eol.pos - 1] == '\r')
			line[eol.pos - 1] = '\0';
		char *args = strchr(line, ' ');
		if (args != NULL)
			*args++ = '\0';
		int ret = pop3_command_execute(client, line,
					       args != NULL ? args : "");
		free(line);
		if (ret >= 0) {
			client->bad_counter = 0;
		} else if (++client->bad_counter > POP3_MAX_BAD_COMMANDS) {
			pop3_client_send_line(client, "-ERR Too many bad commands.");
			pop3_client_disconnect(client, "Too many bad commands.");
		}
	}
	/* read more only when we can act on it: this bounds both buffers */
	if (!client->disconnected) {
		if (client->cmd == NULL && !pop3_client_output_full(client))
			event_add(client->ev_read, NULL);
		else
			event_del(client->ev_read);
	}
}

struct pop3_client *
pop3_client_create(struct event_base *base, int fd_in, int fd_out,
		   const struct loft_settings *set, const char *username,
		   const char *session_id, struct mail_user *user,
		   struct mailbox *box, const void *initial_input,
		   size_t initial_input_size)
{
	struct pop3_client *client = i_new(struct pop3_client, 1);
	struct timeval idle = { POP3_IDLE_TIMEOUT_SECS, 0 };

	client->set = set;
	client->base = base;
	client->fd_in = fd_in;
	client->fd_out = fd_out;
	client->username = i_strdup(username);
	client->session_id = i_strdup(session_id);
	client->user = user;
	client->box = box;
	fcntl(fd_in, F_SETFL, fcntl(fd_in, F_GETFL) | O_NONBLOCK);
	fcntl(fd_out, F_SETFL, fcntl(fd_out, F_GETFL) | O_NONBLOCK);
	client->input = evbuffer_new();
	client->output = evbuffer_new();
	client->ev_read = event_new(base, fd_in, EV_READ | EV_PERSIST,
				    pop3_client_read_cb, client);
	client->ev_write = event_new(base, fd_out, EV_WRITE | EV_PERSIST,
				     pop3_client_write_cb, client);
	client->ev_idle = evtimer_new(base, pop3_client_idle_cb, client);

	client->messages_count = mailbox_count(box);
	client->message_sizes = i_new(uint64_t, client->messages_count + 1);
	/* STAT needs them all: files whose vsize isn't known yet are
	   read now (once; the index keeps the values) */
	for (uint32_t seq = 1; seq <= client->messages_count; seq++) {
		const struct mail_record *rec = mailbox_get(box, seq);
		uint64_t vsize;
		const char *error;
		if (mailbox_get_vsize(box, seq, &vsize, &error) < 0) {
			/* vanished since the sync (RETR will say so) or
			   unreadable (logged): its size on disk */
			vsize = rec == NULL ? 0 : rec->size;
		}
		client->message_sizes[seq - 1] = vsize;
		client->total_size += vsize;
	}
	mailbox_write_cached(box);
	client->deleted_bitmask = i_new(uint8_t, MSGS_BITMASK_SIZE(client));
	client->seen_bitmask = i_new(uint8_t, MSGS_BITMASK_SIZE(client));

	pop3_client_send_line(client, "+OK Logged in.");
	if (initial_input_size > 0)
		evbuffer_add(client->input, initial_input, initial_input_size);
	event_add(client->ev_idle, &idle);
	pop3_client_handle_input(client);
	return client;
}

void pop3_client_destroy(struct pop3_client **_client)
{
	struct pop3_client *client = *_client;
	const char *error;

	*_client = NULL;
	if (!client->disconnected)
		pop3_client_disconnect(client, "Connection closed");
	if (client->cmd != NULL) {
		/* free the unfinished command's context */
		if (client->cmd_free != NULL)
			client->cmd_free(client->cmd_context);
		client->cmd_context = NULL;
		client->cmd = NULL;
	}
	if (client->seen_changes > 0 &&
	    pop3_client_update_mails(client, false, &error) < 0)
		i_error("Failed to update \\Seen flags: %s", error);
	if (client->uidls != NULL) {
		for (uint32_t i = 0; i < client->messages_count; i++)
			free(client->uidls[i]);
		free(client->uidls);
	}
	free(client->message_sizes);
	free(client->deleted_bitmask);
	free(client->seen_bitmask);
	event_free(client->ev_read);
	event_free(client->ev_write);
	event_free(client->ev_idle);
	evbuffer_free(client->input);
	evbuffer_free(client->output);
	free(client->username);
	free(client->session_id);
	free(client);
}
