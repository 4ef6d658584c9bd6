/* loft-lmtp connection I/O: see lmtp-client.h. */
#include "lmtp-client.h"
#include "lmtp-userdb.h"
#include "smtp-reply.h"
#include "log.h"
#include <stdio.h>
#include <stdlib.h>
#include <event2/buffer.h>
#include <event2/bufferevent_ssl.h>
#include <openssl/err.h>

static void lmtp_client_process_input(struct lmtp_client *client);


void lmtp_client_reply_raw(struct lmtp_client *client, const char *text)
{
	if (client->state == LMTP_STATE_CLOSING)
		return;
	bufferevent_write(client->bev, text, strlen(text));
}

void lmtp_client_reply(struct lmtp_client *client, unsigned int code,
		       const char *enh_code, const char *fmt, ...)
{
	string_t *text = str_new(128), *line = str_new(160);
	va_list args;

	va_start(args, fmt);
	str_vprintfa(text, fmt, args);
	va_end(args);
	smtp_reply_append(line, code, enh_code, "%s", str_c(text));
	lmtp_client_reply_raw(client, str_c(line));
	str_free(&text);
	str_free(&line);
}

void lmtp_recipient_free(struct lmtp_recipient *rcpt)
{
	i_free(rcpt->address);
	i_free(rcpt->username);
	i_free(rcpt->detail);
	i_free(rcpt->orcpt);
	i_free(rcpt->home);
	i_free(rcpt->mail);
}

void lmtp_client_transaction_reset(struct lmtp_client *client)
{
	for (unsigned int i = 0; i < client->rcpts_count; i++)
		lmtp_recipient_free(&client->rcpts[i]);
	i_free(client->rcpts);
	client->rcpts_count = 0;
	client->mail_given = false;
	i_free(client->mail_from);
	i_free(client->trans_id);
	if (client->data_reader != NULL)
		smtp_data_reader_destroy(&client->data_reader);
	if (client->message != NULL)
		str_free(&client->message);
	client->header_size = 0;
	client->bdat_started = false;
	client->bdat_failed = false;
	client->bdat_too_large = false;
}

static void lmtp_client_destroy(struct lmtp_client *client, const char *reason)
{
	if (client->state != LMTP_STATE_CLOSING || reason != NULL)
		i_info("Disconnect from %s: %s", client->rip != NULL ?
		       client->rip : "local", reason != NULL ? reason :
		       "Client has quit the connection");
	lmtp_userdb_lookup_abort(&client->lookup);
	lmtp_recipient_free(&client->pending_rcpt);
	lmtp_client_transaction_reset(client);
	smtp_command_parser_destroy(&client->parser);
	if (client->ev_close != NULL)
		event_free(client->ev_close);
	bufferevent_free(client->bev);
	struct lmtp_server *server = client->server;
	server->connection_count--;
	free(client->lhlo);
	free(client->rip);
	free(client->session_id);
	free(client);
	if (server->connection_closed != NULL)
		server->connection_closed(server);
}

/* Bytes not yet handed to the kernel (with TLS: also those under the
   TLS filter). */
static size_t lmtp_client_output_pending(struct lmtp_client *client)
{
	struct bufferevent *under = bufferevent_get_underlying(client->bev);
	size_t pending = evbuffer_get_length(bufferevent_get_output(client->bev));

	if (under != NULL)
		pending += evbuffer_get_length(bufferevent_get_output(under));
	return pending;
}

#define LMTP_CLOSE_TICK_MSECS 20
#define LMTP_CLOSE_MAX_TICKS 250 /* 5 s for the final flush */

static void lmtp_client_close_cb(evutil_socket_t fd, short what, void *context)
{
	struct lmtp_client *client = context;
	struct timeval tick = { 0, LMTP_CLOSE_TICK_MSECS * 1000 };

	if (lmtp_client_output_pending(client) == 0 ||
	    ++client->close_ticks > LMTP_CLOSE_MAX_TICKS) {
		lmtp_client_destroy(client, NULL);
		return;
	}
	evtimer_add(client->ev_close, &tick);
}

void lmtp_client_close(struct lmtp_client *client, const char *reason)
{
	struct timeval now = { 0, 0 };

	if (client->state == LMTP_STATE_CLOSING)
		return;
	i_info("Disconnect from %s: %s", client->rip != NULL ?
	       client->rip : "local", reason);
	client->state = LMTP_STATE_CLOSING;
	bufferevent_disable(client->bev, EV_READ);
	/* destroyed from the event loop, never under a caller's feet */
	client->ev_close = evtimer_new(client->server->base,
				       lmtp_client_close_cb, client);
	evtimer_add(client->ev_close, &now);
}

static void lmtp_client_read_cb(struct bufferevent *bev, void *context)
{
	lmtp_client_process_input(context);
}

static void lmtp_client_write_cb(struct bufferevent *bev, void *context)
{
	struct lmtp_client *client = context;

	/* output drained (low watermark 0) */
	if (client->state != LMTP_STATE_CLOSING)
		lmtp_client_process_input(client);
}

static void lmtp_client_event_cb(struct bufferevent *bev, short what,
				 void *context)
{
	struct lmtp_client *client = context;

	if ((what & (BEV_EVENT_EOF | BEV_EVENT_ERROR | BEV_EVENT_TIMEOUT)) == 0) {
		/* BEV_EVENT_CONNECTED: the TLS handshake finished */
		return;
	}
	if ((what & BEV_EVENT_TIMEOUT) != 0 && client->state != LMTP_STATE_CLOSING) {
		lmtp_client_reply(client, 421, "4.4.2", "%s Disconnected for inactivity",
				  client->server->hostname);
		lmtp_client_close(client, "Disconnected for inactivity");
		return;
	}
	if (client->state == LMTP_STATE_CLOSING) {
		/* the peer went away during the final flush */
		lmtp_client_destroy(client, NULL);
		return;
	}
	if ((what & BEV_EVENT_ERROR) != 0) {
		unsigned long err = bufferevent_get_openssl_error(bev);
		if (err != 0) {
			char buf[256];
			ERR_error_string_n(err, buf, sizeof(buf));
			char *reason = i_strdup_printf("TLS error: %s", buf);
			lmtp_client_destroy(client, reason);
			free(reason);
			return;
		}
	}
	lmtp_client_destroy(client, (what & BEV_EVENT_EOF) != 0 ?
			    "Connection closed" : "Connection reset");
}

static void lmtp_client_setup_bev(struct lmtp_client *client)
{
	struct timeval idle = { LMTP_IDLE_TIMEOUT_SECS, 0 };

	bufferevent_setcb(client->bev, lmtp_client_read_cb, lmtp_client_write_cb,
			  lmtp_client_event_cb, client);
	bufferevent_set_timeouts(client->bev, &idle, &idle);
	bufferevent_enable(client->bev, EV_READ | EV_WRITE);
}

int lmtp_client_start_tls(struct lmtp_client *client, const char **error_r)
{
	SSL *ssl = SSL_new(client->server->ssl_ctx);

	if (ssl == NULL) {
		*error_r = "SSL_new() failed";
		return -1;
	}
	/* RFC 3207 4.2: forget anything pipelined after STARTTLS */
	struct evbuffer *in = bufferevent_get_input(client->bev);
	evbuffer_drain(in, evbuffer_get_length(in));
	struct bufferevent *bev =
		bufferevent_openssl_filter_new(client->server->base, client->bev,
					       ssl, BUFFEREVENT_SSL_ACCEPTING,
					       BEV_OPT_CLOSE_ON_FREE | BEV_OPT_DEFER_CALLBACKS);
	if (bev == NULL) {
		SSL_free(ssl);
		*error_r = "TLS setup failed";
		return -1;
	}
	client->bev = bev;
	client->tls = true;
	lmtp_client_setup_bev(client);
	return 0;
}

static void lmtp_client_bad_input(struct lmtp_client *client, const char *error)
{
	lmtp_client_reply(client, 500, "5.5.2", "%s", error);
	if (++client->bad_commands > LMTP_MAX_BAD_COMMANDS) {
		lmtp_client_reply(client, 421, "4.7.0", "%s Too many invalid commands.",
				  client->server->hostname);
		lmtp_client_close(client, "Too many invalid commands");
	}
}

/* One step of input processing; returns false when nothing more can be
   done now. */
static bool lmtp_client_input_step(struct lmtp_client *client)
{
	struct evbuffer *in = bufferevent_get_input(client->bev);
	struct evbuffer_iovec v;
	size_t consumed;

	if (evbuffer_get_length(in) == 0 ||
	    evbuffer_peek(in, -1, NULL, &v, 1) < 1)
		return false;
	if (client->state == LMTP_STATE_DATA) {
		int ret = smtp_data_reader_feed(client->data_reader, v.iov_base,
						v.iov_len, &consumed,
						client->message);
		evbuffer_drain(in, consumed);
		if (ret > 0)
			lmtp_command_data_finished(client);
		return true;
	}

	if (client->state == LMTP_STATE_BDAT) {
		size_t n = v.iov_len < client->bdat_remaining ? v.iov_len :
			(size_t)client->bdat_remaining;
		if (!client->bdat_discard && !client->bdat_too_large) {
			uint64_t max = client->server->set->mail_max_message_size;
			if (max == 0 || max > SMTP_DATA_MAX_SIZE_CAP)
				max = SMTP_DATA_MAX_SIZE_CAP;
			if (str_len(client->message) - client->header_size + n > max)
				client->bdat_too_large = true;
			else
				str_append_n(client->message, v.iov_base, n);
		}
		evbuffer_drain(in, n);
		client->bdat_remaining -= n;
		if (client->bdat_remaining == 0)
			lmtp_command_bdat_chunk_done(client);
		return true;
	}

	struct smtp_command cmd;
	const char *error;
	int ret = smtp_command_parser_next(client->parser, v.iov_base, v.iov_len,
					   &consumed, &cmd, &error);
	if (ret > 0) {
		/* cmd points into the parser, not into the input buffer */
		evbuffer_drain(in, consumed);
		lmtp_command_execute(client, &cmd);
	} else {
		evbuffer_drain(in, consumed);
		if (ret < 0)
			lmtp_client_bad_input(client, error);
	}
	return true;
}

static void lmtp_client_process_input(struct lmtp_client *client)
{
	while (client->state == LMTP_STATE_COMMAND ||
	       client->state == LMTP_STATE_DATA ||
	       client->state == LMTP_STATE_BDAT) {
		struct evbuffer *out = bufferevent_get_output(client->bev);
		if (evbuffer_get_length(out) > LMTP_OUTPUT_THROTTLE) {
			/* the client doesn't read its replies: wait */
			bufferevent_disable(client->bev, EV_READ);
			return;
		}
		if (!lmtp_client_input_step(client))
			break;
	}
	if (client->state == LMTP_STATE_COMMAND ||
	    client->state == LMTP_STATE_DATA ||
	    client->state == LMTP_STATE_BDAT)
		bufferevent_enable(client->bev, EV_READ);
	else if (client->state == LMTP_STATE_LOOKUP)
		bufferevent_disable(client->bev, EV_READ);
}

void lmtp_client_resume(struct lmtp_client *client)
{
	if (client->state == LMTP_STATE_LOOKUP)
		client->state = LMTP_STATE_COMMAND;
	lmtp_client_process_input(client);
}

void lmtp_client_create(struct lmtp_server *server, evutil_socket_t fd,
			const char *rip, unsigned int rport, bool implicit_tls)
{
	struct lmtp_client *client;

	if (implicit_tls && server->ssl_ctx == NULL) {
		i_error("TLS listener, but no ssl_cert/ssl_key configured: "
			"closing connection from %s", rip != NULL ? rip : "local");
		evutil_closesocket(fd);
		return;
	}
	client = i_new(struct lmtp_client, 1);
	client->server = server;
	client->rip = i_strdup(rip);
	client->rport = rport;
	client->session_id = session_id_new();
	client->parser = smtp_command_parser_create(0);
	server->connection_count++;
	if (implicit_tls) {
		SSL *ssl = SSL_new(server->ssl_ctx);
		client->bev = bufferevent_openssl_socket_new(server->base, fd, ssl,
			BUFFEREVENT_SSL_ACCEPTING, BEV_OPT_CLOSE_ON_FREE | BEV_OPT_DEFER_CALLBACKS);
		client->tls = true;
	} else {
		client->bev = bufferevent_socket_new(server->base, fd,
						     BEV_OPT_CLOSE_ON_FREE | BEV_OPT_DEFER_CALLBACKS);
	}
	lmtp_client_setup_bev(client);
	i_info("Connect from %s", rip != NULL ? rip : "local");
	lmtp_client_reply(client, 220, NULL, "%s %s", server->hostname,
			  server->set->login_greeting != NULL &&
			  server->set->login_greeting[0] != '\0' ?
			  server->set->login_greeting : "loft ready.");
}
