/* loft-lmtp: LMTP delivery service (Dovecot's "lmtp"). The master starts
   it with listening sockets (LOFT_LISTENERS, master-service.h); one
   process serves many connections from one libevent loop. */
#include "lib.h"
#include "log.h"
#include "master-service.h"
#include "ssl-server.h"
#include "lmtp-client.h"
#include "lmtp-userdb.h"
#include "lmtp-local.h"
#include <stdio.h>
#include <stdlib.h>
#include <signal.h>
#include <unistd.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <event2/listener.h>

struct lmtp_listener_context {
	struct lmtp_server *server;
	const struct master_listener *listener;
};

static void lmtp_accept_cb(struct evconnlistener *listener, evutil_socket_t fd,
			   struct sockaddr *sa, int socklen, void *context)
{
	struct lmtp_listener_context *ctx = context;
	char ip[INET6_ADDRSTRLEN] = "";
	unsigned int port = 0;

	if (sa->sa_family == AF_INET) {
		struct sockaddr_in *sin = (struct sockaddr_in *)sa;
		inet_ntop(AF_INET, &sin->sin_addr, ip, sizeof(ip));
		port = ntohs(sin->sin_port);
	} else if (sa->sa_family == AF_INET6) {
		struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)sa;
		inet_ntop(AF_INET6, &sin6->sin6_addr, ip, sizeof(ip));
		port = ntohs(sin6->sin6_port);
	}
	evutil_make_socket_nonblocking(fd);
	lmtp_client_create(ctx->server, fd, ip[0] != '\0' ? ip : NULL, port,
			   ctx->listener->ssl);
}

static void lmtp_signal_cb(evutil_socket_t sig, short what, void *context)
{
	event_base_loopbreak(context);
}

static char *lmtp_hostname(const struct loft_settings *set)
{
	char buf[256];

	if (set->hostname != NULL && set->hostname[0] != '\0')
		return i_strdup(set->hostname);
	if (gethostname(buf, sizeof(buf)) < 0)
		return i_strdup("localhost");
	buf[sizeof(buf) - 1] = '\0';
	return i_strdup(buf);
}

int main(int argc, char *argv[])
{
	const struct loft_settings *set = master_service_init("lmtp", argc, argv);
	struct lmtp_server server;
	unsigned int count;
	const struct master_listener *listeners = master_service_listeners(&count);
	char *error;

	memset(&server, 0, sizeof(server));
	server.set = set;
	server.base = event_base_new();
	server.hostname = lmtp_hostname(set);
	server.running_as_root = geteuid() == 0;
	if (set->ssl != SSL_MODE_NO && set->ssl_cert_path != NULL &&
	    set->ssl_cert_path[0] != '\0') {
		server.ssl_ctx = ssl_server_ctx_create(set, &error);
		if (server.ssl_ctx == NULL)
			i_fatal("TLS setup failed: %s", error);
	}
	if (count == 0)
		i_fatal("No listeners (LOFT_LISTENERS is empty)");

	char *auth_path = master_service_socket_path("auth-userdb");
	lmtp_userdb_init(server.base, auth_path);
	free(auth_path);
	lmtp_local_init(&server);

	struct lmtp_listener_context *contexts =
		i_new(struct lmtp_listener_context, count);
	struct evconnlistener **evls = i_new(struct evconnlistener *, count);
	for (unsigned int i = 0; i < count; i++) {
		contexts[i].server = &server;
		contexts[i].listener = &listeners[i];
		evutil_make_socket_nonblocking(listeners[i].fd);
		evls[i] = evconnlistener_new(server.base, lmtp_accept_cb,
					     &contexts[i], LEV_OPT_CLOSE_ON_FREE,
					     0, listeners[i].fd);
		if (evls[i] == NULL)
			i_fatal("Listener %s (fd %d) failed", listeners[i].name,
				listeners[i].fd);
	}
	struct event *ev_term = evsignal_new(server.base, SIGTERM, lmtp_signal_cb, server.base);
	struct event *ev_int = evsignal_new(server.base, SIGINT, lmtp_signal_cb, server.base);
	event_add(ev_term, NULL);
	event_add(ev_int, NULL);

	event_base_dispatch(server.base);

	for (unsigned int i = 0; i < count; i++)
		evconnlistener_free(evls[i]);
	free(evls);
	free(contexts);
	event_free(ev_term);
	event_free(ev_int);
	lmtp_local_deinit();
	lmtp_userdb_deinit();
	if (server.ssl_ctx != NULL)
		SSL_CTX_free(server.ssl_ctx);
	event_base_free(server.base);
	free(server.hostname);
	master_service_deinit();
	return 0;
}
