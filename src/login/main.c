/* loft-login: the imap-login and pop3-login services. */
#include "login-session.h"
#include "login-auth.h"
#include "master-service.h"
#include "ipc.h"
#include "ssl-server.h"
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <unistd.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <netinet/tcp.h>

struct login_listener {
	const struct master_listener *ml;
	struct event *event;
};

static struct event_base *base;
static const struct loft_settings *set;
static const struct login_protocol *protocol;
static SSL_CTX *ssl_ctx;
static struct login_listener *listeners;
static unsigned int listeners_count;
static struct login_client *clients;
static unsigned int clients_count, connections_total;
static unsigned int service_count, client_limit;
static bool accepting = true;

SSL_CTX *login_ssl_ctx(void)
{
	return ssl_ctx;
}

void login_clients_link(struct login_client *client)
{
	client->next = clients;
	if (clients != NULL)
		clients->prev = client;
	clients = client;
}

void login_clients_unlink(struct login_client *client)
{
	if (client->prev != NULL)
		client->prev->next = client->next;
	else if (clients == client)
		clients = client->next;
	if (client->next != NULL)
		client->next->prev = client->prev;
	client->prev = client->next = NULL;
}

static void listeners_set_accepting(bool enable)
{
	if (accepting == enable)
		return;
	accepting = enable;
	for (unsigned int i = 0; i < listeners_count; i++) {
		if (enable)
			event_add(listeners[i].event, NULL);
		else
			event_del(listeners[i].event);
	}
	master_service_report_busy(!enable);
}

void login_clients_released(void)
{
	clients_count--;
	if (service_count != 0 && connections_total >= service_count) {
		if (clients_count == 0)
			event_base_loopbreak(base);
		return;
	}
	if (clients_count < client_limit)
		listeners_set_accepting(true);
}

static void listener_accept(evutil_socket_t lfd, short what, void *ctx)
{
	struct login_listener *l = ctx;
	for (int i = 0; i < 32 && accepting; i++) {
		int fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd < 0) {
			if (errno != EAGAIN && errno != EINTR &&
			    errno != ECONNABORTED)
				i_error("accept() failed: %m");
			return;
		}
		if (!l->ml->unix_socket) {
			/* replies are written whole (bufferevent output, TLS
			   records): don't let Nagle hold back the last small
			   segment until the client's delayed ACK (~40 ms). The
			   option stays with the socket when it is handed to the
			   mail process. */
			int one = 1;
			(void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one,
					 sizeof(one));
		}
		bool implicit_tls = l->ml->ssl;
		if (implicit_tls && ssl_ctx == NULL) {
			i_error("Listener %s has ssl=yes but SSL is disabled",
				l->ml->name);
			close(fd);
			continue;
		}
		clients_count++;
		connections_total++;
		login_client_create(base, protocol, set, ssl_ctx, fd, implicit_tls);
		if ((service_count != 0 && connections_total >= service_count) ||
		    clients_count >= client_limit)
			listeners_set_accepting(false);
	}
}

static void sig_term(evutil_socket_t sig, short what, void *ctx)
{
	event_base_loopbreak(base);
}

int main(int argc, char *argv[])
{
	const char *name = getenv("LOFT_SERVICE");
	if (name == NULL)
		name = "imap-login";
	set = master_service_init(name, argc, argv);
	if (strcmp(name, "pop3-login") == 0)
		protocol = &pop3_login_protocol;
	else
		protocol = &imap_login_protocol;

	const struct service_settings *ss = settings_service_find(set, name);
	service_count = ss != NULL ? ss->service_count : 1;
	client_limit = ss != NULL && ss->client_limit > 0 ? ss->client_limit : 1000;

	if (set->ssl != SSL_MODE_NO) {
		char *error;
		ssl_ctx = ssl_server_ctx_create(set, &error);
		if (ssl_ctx == NULL)
			i_fatal("%s", error);
	}
	base = event_base_new();
	const char *auth_path = getenv("LOFT_AUTH_SOCKET");
	char *default_path = master_service_socket_path("login/auth-login");
	login_auth_init(base, set, auth_path != NULL ? auth_path : default_path);
	free(default_path);
	master_service_restrict();

	login_session_init(base);
	unsigned int count;
	const struct master_listener *ml = master_service_listeners(&count);
	listeners = i_new(struct login_listener, count);
	for (unsigned int i = 0; i < count; i++) {
		evutil_make_socket_nonblocking(ml[i].fd);
		listeners[i].ml = &ml[i];
		listeners[i].event = event_new(base, ml[i].fd, EV_READ | EV_PERSIST,
					       listener_accept, &listeners[i]);
		event_add(listeners[i].event, NULL);
	}
	listeners_count = count;
	struct event *ev_term = evsignal_new(base, SIGTERM, sig_term, NULL);
	event_add(ev_term, NULL);

	event_base_dispatch(base);

	while (clients != NULL)
		login_client_destroy(clients, "Shutting down");
	/* run the deferred frees */
	event_base_loop(base, EVLOOP_NONBLOCK);
	for (unsigned int i = 0; i < listeners_count; i++)
		event_free(listeners[i].event);
	free(listeners);
	event_free(ev_term);
	login_session_deinit();
	login_auth_deinit();
	if (ssl_ctx != NULL)
		SSL_CTX_free(ssl_ctx);
	event_base_free(base);
	master_service_deinit();
	return 0;
}
