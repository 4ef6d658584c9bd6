/* A pre-login client connection: TLS, timeouts, authentication through
   the auth service, and the hand-off to the post-login process. */
#include "login-common.h"
#include "login-auth.h"
#include "login-session.h"
#include <errno.h>
#include <stdio.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <unistd.h>
#include <event2/buffer.h>
#include <event2/bufferevent_ssl.h>
#include <openssl/err.h>

static void client_read_cb(struct bufferevent *bev, void *ctx);
static void client_event_cb(struct bufferevent *bev, short what, void *ctx);

void login_client_send(struct login_client *client, const char *data)
{
	if (client->destroyed)
		return;
	bufferevent_write(client->bev, data, strlen(data));
}

void login_client_sendf(struct login_client *client, const char *fmt, ...)
{
	va_list args;
	va_start(args, fmt);
	char *line = i_strdup_vprintf(fmt, args);
	va_end(args);
	login_client_send(client, line);
	free(line);
}

static void client_timeout(evutil_socket_t fd, short what, void *ctx)
{
	struct login_client *client = ctx;
	if (client->proto == &imap_login_protocol)
		login_client_send(client, "* BYE Disconnected for inactivity.\r\n");
	else
		login_client_send(client, "-ERR Disconnected for inactivity.\r\n");
	login_client_destroy(client, "Inactivity");
}

static void client_session_id(struct login_client *client)
{
	char *id = session_id_new();
	snprintf(client->session_id, sizeof(client->session_id), "%s", id);
	free(id);
}

static bool ip_in_network(const char *ip, const char *net)
{
	/* "1.2.3.0/24" or exact IP; IPv4 only for masks. */
	const char *slash = strchr(net, '/');
	if (slash == NULL)
		return strcmp(ip, net) == 0;
	char addr[64];
	size_t len = (size_t)(slash - net);
	if (len >= sizeof(addr))
		return false;
	memcpy(addr, net, len);
	addr[len] = '\0';
	struct in_addr a, b;
	uint32_t bits;
	if (inet_pton(AF_INET, ip, &a) != 1 || inet_pton(AF_INET, addr, &b) != 1 ||
	    str_to_uint32(slash + 1, &bits) < 0 || bits > 32)
		return false;
	uint32_t mask = bits == 0 ? 0 : htonl(0xffffffffu << (32 - bits));
	return (a.s_addr & mask) == (b.s_addr & mask);
}

static bool client_is_trusted(const struct login_client *client)
{
	char **nets = client->set->login_trusted_networks;
	for (unsigned int i = 0; nets != NULL && nets[i] != NULL; i++) {
		if (ip_in_network(client->rip, nets[i]))
			return true;
	}
	return false;
}

static void addr_to_str(const struct sockaddr_storage *ss, char *buf,
			size_t size, unsigned int *port_r)
{
	buf[0] = '\0';
	*port_r = 0;
	if (ss->ss_family == AF_INET) {
		const struct sockaddr_in *sin = (const void *)ss;
		inet_ntop(AF_INET, &sin->sin_addr, buf, (socklen_t)size);
		*port_r = ntohs(sin->sin_port);
	} else if (ss->ss_family == AF_INET6) {
		const struct sockaddr_in6 *sin6 = (const void *)ss;
		if (IN6_IS_ADDR_V4MAPPED(&sin6->sin6_addr))
			inet_ntop(AF_INET, &sin6->sin6_addr.s6_addr[12], buf,
				  (socklen_t)size);
		else
			inet_ntop(AF_INET6, &sin6->sin6_addr, buf, (socklen_t)size);
		*port_r = ntohs(sin6->sin6_port);
	}
}

struct login_client *
login_client_create(struct event_base *base, const struct login_protocol *proto,
		    const struct loft_settings *set, SSL_CTX *ssl_ctx,
		    int fd, bool implicit_tls)
{
	struct login_client *client = i_new(struct login_client, 1);
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);

	client->proto = proto;
	client->set = set;
	client->fd = fd;
	client->created = time(NULL);
	if (getpeername(fd, (struct sockaddr *)&ss, &len) == 0)
		addr_to_str(&ss, client->rip, sizeof(client->rip), &client->rport);
	len = sizeof(ss);
	if (getsockname(fd, (struct sockaddr *)&ss, &len) == 0)
		addr_to_str(&ss, client->lip, sizeof(client->lip), &client->lport);
	client->secured = (client->rip[0] != '\0' &&
			   strcmp(client->rip, client->lip) == 0) ||
		client_is_trusted(client);
	client_session_id(client);
	if (proto->context_size > 0)
		client->context = i_calloc(1, proto->context_size);

	if (implicit_tls) {
		client->ssl = SSL_new(ssl_ctx);
		client->bev = bufferevent_openssl_socket_new(base, fd, client->ssl,
			BUFFEREVENT_SSL_ACCEPTING,
			BEV_OPT_CLOSE_ON_FREE | BEV_OPT_DEFER_CALLBACKS);
		/* the bufferevent now owns both the fd and the SSL */
		client->fd_owned_by_bev = true;
		client->tls = true;
		client->secured = true;
	} else {
		client->bev = bufferevent_socket_new(base, fd, BEV_OPT_DEFER_CALLBACKS);
	}
	client->input = bufferevent_get_input(client->bev);
	bufferevent_setcb(client->bev, client_read_cb, NULL, client_event_cb, client);
	bufferevent_enable(client->bev, EV_READ | EV_WRITE);
	client->timeout = evtimer_new(base, client_timeout, client);
	struct timeval tv = { LOGIN_TIMEOUT_SECS, 0 };
	evtimer_add(client->timeout, &tv);
	login_clients_link(client);
	if (!implicit_tls)
		proto->greeting(client);
	return client;
}

bool login_client_tls_available(const struct login_client *client)
{
	return !client->tls && client->set->ssl != SSL_MODE_NO &&
		login_ssl_ctx() != NULL;
}

void login_client_starttls(struct login_client *client)
{
	/* Anything the client pipelined after STARTTLS was sent in the
	   clear: drop it (RFC 3207 section 4.2 / CVE-2011-0411 style
	   injection). The reply is flushed by the SSL filter's underlying
	   buffer before the handshake starts. */
	evbuffer_drain(client->input, evbuffer_get_length(client->input));
	client->starttls = true;
	client->ssl = SSL_new(login_ssl_ctx());
	struct bufferevent *ssl_bev = bufferevent_openssl_filter_new(
		bufferevent_get_base(client->bev), client->bev, client->ssl,
		BUFFEREVENT_SSL_ACCEPTING,
		BEV_OPT_CLOSE_ON_FREE | BEV_OPT_DEFER_CALLBACKS);
	client->bev = ssl_bev;
	client->input = bufferevent_get_input(ssl_bev);
	client->tls = true;
	client->secured = true;
	bufferevent_setcb(ssl_bev, client_read_cb, NULL, client_event_cb, client);
	bufferevent_enable(ssl_bev, EV_READ | EV_WRITE);
}

static void client_read_cb(struct bufferevent *bev, void *ctx)
{
	struct login_client *client = ctx;
	if (client->destroyed || client->waiting_master)
		return;
	if (evbuffer_get_length(client->input) > LOGIN_MAX_INBUF_SIZE * 4 &&
	    client->authenticating) {
		login_client_destroy(client, "Input buffer full");
		return;
	}
	client->proto->input(client);
}

static void client_event_cb(struct bufferevent *bev, short what, void *ctx)
{
	struct login_client *client = ctx;
	if ((what & BEV_EVENT_CONNECTED) != 0) {
		/* TLS handshake done (implicit TLS): now greet */
		if (!client->starttls)
			client->proto->greeting(client);
		return;
	}
	if ((what & BEV_EVENT_ERROR) != 0 && client->ssl != NULL) {
		unsigned long err = bufferevent_get_openssl_error(bev);
		if (err != 0) {
			char buf[256];
			ERR_error_string_n(err, buf, sizeof(buf));
			char *reason = i_strdup_printf(
				"Connection closed: SSL_accept() failed: %s", buf);
			login_client_destroy(client, reason);
			free(reason);
			return;
		}
	}
	login_client_destroy(client, "Connection closed");
}

bool login_client_plaintext_allowed(const struct login_client *client)
{
	if (client->secured)
		return true;
	return !client->set->disable_plaintext_auth &&
		client->set->ssl != SSL_MODE_REQUIRED;
}

void login_client_set_last_user(struct login_client *client, const char *user)
{
	free(client->last_user);
	client->last_user = i_strdup(user);
}

bool login_client_bad_command(struct login_client *client)
{
	if (++client->bad_counter >= LOGIN_MAX_BAD_COMMANDS) {
		if (client->proto == &imap_login_protocol)
			login_client_send(client, "* BYE Too many invalid IMAP commands.\r\n");
		else
			login_client_send(client, "-ERR Too many invalid bad commands.\r\n");
		login_client_destroy(client, "Too many invalid commands");
		return false;
	}
	return true;
}

static void client_log_disconnect(struct login_client *client, const char *reason)
{
	string_t *line = str_new(256);
	str_printfa(line, "Disconnected: %s (", reason);
	time_t secs = time(NULL) - (client->auth_attempts > 0 ?
				    client->auth_first_started : client->created);
	if (client->auth_attempts == 0)
		str_printfa(line, "no auth attempts in %ld secs", (long)secs);
	else
		str_printfa(line, "auth failed, %u attempts in %ld secs",
			    client->auth_attempts, (long)secs);
	str_printfa(line, "): user=<%s>", client->last_user == NULL ? "" :
		    client->last_user);
	if (client->last_mech != NULL)
		str_printfa(line, ", method=%s", client->last_mech);
	str_printfa(line, ", rip=%s, lip=%s", client->rip, client->lip);
	if (client->tls)
		str_append(line, ", TLS");
	str_printfa(line, ", session=<%s>", client->session_id);
	i_info("%s", str_c(line));
	str_free(&line);
}

static void client_free_deferred(evutil_socket_t fd, short what, void *ctx)
{
	login_client_free(ctx);
}

static void client_free_soon(struct login_client *client)
{
	/* the caller may still be inside one of this client's callbacks:
	   free it from the event loop */
	struct timeval tv = { 0, 0 };
	bufferevent_disable(client->bev, EV_READ | EV_WRITE);
	bufferevent_setcb(client->bev, NULL, NULL, NULL, NULL);
	event_base_once(bufferevent_get_base(client->bev), -1, EV_TIMEOUT,
			client_free_deferred, client, &tv);
}

static void client_output_drained(struct bufferevent *bev, void *ctx)
{
	struct login_client *client = ctx;
	if (evbuffer_get_length(bufferevent_get_output(bev)) > 0)
		return;
	/* STARTTLS: the TLS filter's records may still sit in the plain
	   bufferevent underneath; push them to the socket */
	struct bufferevent *under = bufferevent_get_underlying(bev);
	if (under != NULL)
		(void)evbuffer_write(bufferevent_get_output(under), client->fd);
	evtimer_del(client->timeout);
	client_free_soon(client);
}

static void client_output_error(struct bufferevent *bev, short what, void *ctx)
{
	struct login_client *client = ctx;
	evtimer_del(client->timeout);
	client_free_soon(client);
}

static void client_output_timeout(evutil_socket_t fd, short what, void *ctx)
{
	client_free_soon(ctx);
}

void login_client_destroy(struct login_client *client, const char *reason)
{
	if (client->destroyed)
		return;
	client->destroyed = true;
	if (reason != NULL)
		client_log_disconnect(client, reason);
	login_auth_abort(client);
	login_clients_unlink(client);
	evtimer_del(client->timeout);
	struct evbuffer *out = bufferevent_get_output(client->bev);
	if (evbuffer_get_length(out) == 0) {
		client_free_soon(client);
		return;
	}
	/* send the last reply (e.g. BYE), then close; give up after a
	   few seconds on a client that doesn't read */
	bufferevent_disable(client->bev, EV_READ);
	bufferevent_setwatermark(client->bev, EV_WRITE, 0, 0);
	bufferevent_setcb(client->bev, NULL, client_output_drained,
			  client_output_error, client);
	bufferevent_enable(client->bev, EV_WRITE);
	event_free(client->timeout);
	client->timeout = evtimer_new(bufferevent_get_base(client->bev),
				      client_output_timeout, client);
	struct timeval tv = { 5, 0 };
	evtimer_add(client->timeout, &tv);
}

void login_client_free(struct login_client *client)
{
	if (client->proto->destroy != NULL)
		client->proto->destroy(client);
	if (client->proxy != NULL)
		bufferevent_free(client->proxy);
	if (client->bev != NULL) {
		if (client->ssl != NULL)
			SSL_set_shutdown(client->ssl, SSL_RECEIVED_SHUTDOWN);
		bufferevent_free(client->bev);
	}
	if (client->fd >= 0 && !client->fd_owned_by_bev)
		close(client->fd);
	event_free(client->timeout);
	free(client->last_user);
	free(client->last_mech);
	if (client->auth_pass != NULL) {
		safe_memset(client->auth_pass, 0, strlen(client->auth_pass));
		free(client->auth_pass);
	}
	free(client->auth_user);
	free(client->context);
	login_clients_released();
	free(client);
}
