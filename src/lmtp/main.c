/* loft-lmtp: LMTP delivery service (Dovecot's "lmtp"). The master starts
   it with listening sockets (LOFT_LISTENERS, master-service.h). One
   process serves its connections from one libevent loop, and a delivery
   blocks that loop while it writes and flushes the message. So, as in
   Dovecot, a process takes at most the lmtp service's client_limit
   connections (default 1) and then tells the master it is busy, which
   starts another process on the same listeners: concurrent deliveries
   run in parallel processes and their fsyncs share the filesystem
   journal's commits. A process started without a control socket to the
   master (an older master, or by hand) serves every connection itself. */
#include "lib.h"
#include "log.h"
#include "ipc.h"
#include "master-service.h"
#include "ssl-server.h"
#include "lmtp-client.h"
#include "lmtp-local.h"
#include "lmtp-userdb.h"
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <signal.h>
#include <time.h>
#include <unistd.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <sys/socket.h>

/* A process that has served connections and has none left exits after
   this long (Dovecot's idle_kill); the master keeps one available. */
#define LMTP_PROCESS_IDLE_SECS 60

struct lmtp_listener {
	struct lmtp_server *server;
	const struct master_listener *ml;
	struct event *event;
};

static struct lmtp_listener *listeners;
static unsigned int listeners_count;
static unsigned int client_limit; /* 0 = unlimited */
static bool accepting = true, have_master_control;
static unsigned int connections_total;
static time_t idle_since;
static struct event *idle_timer;

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
	if (have_master_control)
		master_service_report_busy(!enable);
}

static bool at_client_limit(const struct lmtp_server *server)
{
	return client_limit != 0 && server->connection_count >= client_limit;
}

static void lmtp_connection_closed(struct lmtp_server *server)
{
	if (!at_client_limit(server))
		listeners_set_accepting(true);
	if (server->connection_count == 0)
		idle_since = time(NULL);
}

static void lmtp_accept(evutil_socket_t lfd, short what, void *context)
{
	struct lmtp_listener *l = context;
	struct lmtp_server *server = l->server;

	for (int i = 0; i < 32 && accepting; i++) {
		struct sockaddr_storage ss;
		socklen_t sslen = sizeof(ss);
		int fd = accept4(lfd, (struct sockaddr *)&ss, &sslen,
				 SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd < 0) {
			if (errno != EAGAIN && errno != EINTR &&
			    errno != ECONNABORTED)
				i_error("accept() failed: %m");
			return;
		}
		char ip[INET6_ADDRSTRLEN] = "";
		unsigned int port = 0;
		if (ss.ss_family == AF_INET) {
			struct sockaddr_in *sin = (struct sockaddr_in *)&ss;
			inet_ntop(AF_INET, &sin->sin_addr, ip, sizeof(ip));
			port = ntohs(sin->sin_port);
		} else if (ss.ss_family == AF_INET6) {
			struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&ss;
			inet_ntop(AF_INET6, &sin6->sin6_addr, ip, sizeof(ip));
			port = ntohs(sin6->sin6_port);
		}
		connections_total++;
		lmtp_client_create(server, fd, ip[0] != '\0' ? ip : NULL, port,
				   l->ml->ssl);
		if (at_client_limit(server))
			listeners_set_accepting(false);
	}
}

static void lmtp_idle_check(evutil_socket_t fd, short what, void *context)
{
	struct lmtp_server *server = context;

	if (server->connection_count == 0 && connections_total > 0 &&
	    time(NULL) - idle_since >= LMTP_PROCESS_IDLE_SECS)
		event_base_loopbreak(server->base);
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

/* The master passes a control socket as fd 4 when it wants to hear
   about busy/available processes; otherwise fd 4 is /dev/null. */
static bool master_control_available(void)
{
	int type;
	socklen_t len = sizeof(type);

	return getsockopt(MASTER_CONTROL_FD, SOL_SOCKET, SO_TYPE,
			  &type, &len) == 0;
}

int main(int argc, char *argv[])
{
	const struct loft_settings *set = master_service_init("lmtp", argc, argv);
	struct lmtp_server server;
	unsigned int count;
	const struct master_listener *mls = master_service_listeners(&count);
	char *error;

	memset(&server, 0, sizeof(server));
	server.set = set;
	server.base = event_base_new();
	server.hostname = lmtp_hostname(set);
	server.running_as_root = geteuid() == 0;
	server.connection_closed = lmtp_connection_closed;
	if (set->ssl != SSL_MODE_NO && set->ssl_cert_path != NULL &&
	    set->ssl_cert_path[0] != '\0') {
		server.ssl_ctx = ssl_server_ctx_create(set, &error);
		if (server.ssl_ctx == NULL)
			i_fatal("TLS setup failed: %s", error);
	}
	if (count == 0)
		i_fatal("No listeners (LOFT_LISTENERS is empty)");

	have_master_control = master_control_available();
	if (have_master_control) {
		const struct service_settings *ss =
			settings_service_find(set, "lmtp");
		client_limit = ss != NULL && ss->client_limit > 0 ?
			ss->client_limit : 1;
	}

	char *auth_path = master_service_socket_path("auth-userdb");
	lmtp_userdb_init(server.base, auth_path);
	free(auth_path);
	lmtp_local_init(&server);

	listeners = i_new(struct lmtp_listener, count);
	listeners_count = count;
	for (unsigned int i = 0; i < count; i++) {
		listeners[i].server = &server;
		listeners[i].ml = &mls[i];
		evutil_make_socket_nonblocking(mls[i].fd);
		listeners[i].event = event_new(server.base, mls[i].fd,
					       EV_READ | EV_PERSIST,
					       lmtp_accept, &listeners[i]);
		event_add(listeners[i].event, NULL);
	}
	if (have_master_control) {
		struct timeval tv = { 5, 0 };
		idle_timer = event_new(server.base, -1, EV_PERSIST,
				       lmtp_idle_check, &server);
		event_add(idle_timer, &tv);
	}
	struct event *ev_term = evsignal_new(server.base, SIGTERM, lmtp_signal_cb, server.base);
	struct event *ev_int = evsignal_new(server.base, SIGINT, lmtp_signal_cb, server.base);
	event_add(ev_term, NULL);
	event_add(ev_int, NULL);

	event_base_dispatch(server.base);

	for (unsigned int i = 0; i < count; i++) {
		event_free(listeners[i].event);
		close(mls[i].fd);
	}
	free(listeners);
	if (idle_timer != NULL)
		event_free(idle_timer);
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
