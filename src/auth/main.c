/* loft-auth: the authentication service process. */
#include "lib.h"
#include "log.h"
#include "master-service.h"
#include "auth-request.h"
#include "auth-connection.h"
#include "auth-worker.h"

#include <errno.h>
#include <stdlib.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>
#include <event2/event.h>
#include <event2/listener.h>

struct auth_listener {
	struct evconnlistener *listener;
	struct auth *auth;
	struct event_base *base;
	enum auth_connection_type type;
};

static void accept_cb(struct evconnlistener *listener, evutil_socket_t fd,
		      struct sockaddr *addr, int socklen, void *ctx)
{
	struct auth_listener *l = ctx;
	auth_connection_create(l->auth, l->base, fd, l->type);
}

static void signal_cb(evutil_socket_t sig, short what, void *ctx)
{
	event_base_loopbreak(ctx);
}

/* Started by hand without LOFT_LISTENERS: bind the sockets where the
   master would, under base_dir. */
static int listen_unix_fallback(const struct loft_settings *set,
				const char *name, const char *relpath)
{
	char *path = i_strdup_printf("%s/%s", set->base_dir, relpath);
	struct sockaddr_un sun;
	int fd;

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	if (strlen(path) >= sizeof(sun.sun_path))
		i_fatal("Socket path too long: %s", path);
	strcpy(sun.sun_path, path);
	char *dir = i_strdup(path);
	*strrchr(dir, '/') = '\0';
	(void)mkdir(set->base_dir, 0755);
	(void)mkdir(dir, 0755);
	free(dir);
	(void)unlink(path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || bind(fd, (struct sockaddr *)&sun, sizeof(sun)) < 0 ||
	    chmod(path, 0600) < 0 || listen(fd, 128) < 0)
		i_fatal("%s: Can't listen on %s: %m", name, path);
	i_info("Listening on %s", path);
	free(path);
	return fd;
}

static struct auth_listener *
listener_create(struct event_base *base, struct auth *auth, const char *name,
		int fd)
{
	struct auth_listener *l = i_new(struct auth_listener, 1);
	l->auth = auth;
	l->base = base;
	/* auth-login: login processes (PASS); auth-userdb: lmtp and loftadm
	   (PASS, USER); any other unix_listener of service auth (Postfix's
	   private/auth, auth-client): Dovecot's SASL client protocol */
	l->type = strcmp(name, "auth-login") == 0 ? AUTH_CONNECTION_LOGIN :
		strcmp(name, "auth-userdb") == 0 ? AUTH_CONNECTION_USERDB :
		AUTH_CONNECTION_SASL;
	evutil_make_socket_nonblocking(fd);
	l->listener = evconnlistener_new(base, accept_cb, l,
					 LEV_OPT_CLOSE_ON_FREE, -1, fd);
	if (l->listener == NULL)
		i_fatal("evconnlistener_new(%s) failed", name);
	return l;
}

/* LOFT_AUTH_WORKERS=N overrides (0 = check passwords inline); default
   one per CPU, 1..4. */
static unsigned int auth_worker_count(void)
{
	const char *env = getenv("LOFT_AUTH_WORKERS");
	uint32_t n;
	if (env != NULL && str_to_uint32(env, &n) == 0 && n <= 64)
		return n;
	long cpus = sysconf(_SC_NPROCESSORS_ONLN);
	return cpus < 1 ? 1 : cpus > 4 ? 4 : (unsigned int)cpus;
}

int main(int argc, char *argv[])
{
	const struct loft_settings *set = master_service_init("auth", argc, argv);
	struct auth_listener **listeners;
	unsigned int count, n = 0;
	char *error;

	struct auth *auth = auth_create(set, &error);
	if (auth == NULL)
		i_fatal("%s", error);
	struct event_base *base = event_base_new();
	if (base == NULL)
		i_fatal("event_base_new() failed");

	const struct master_listener *ml = master_service_listeners(&count);
	listeners = i_new(struct auth_listener *, count + 2);
	for (unsigned int i = 0; i < count; i++)
		listeners[n++] = listener_create(base, auth, ml[i].name, ml[i].fd);
	if (n == 0) {
		listeners[n++] = listener_create(base, auth, "auth-login",
			listen_unix_fallback(set, "auth-login", "login/auth-login"));
		listeners[n++] = listener_create(base, auth, "auth-userdb",
			listen_unix_fallback(set, "auth-userdb", "auth-userdb"));
	}
	master_service_restrict();
	/* after dropping privileges: the workers run as we do now */
	struct auth_worker_pool *pool =
		auth_worker_pool_create(auth, base, auth_worker_count());
	auth_connections_init(pool);

	struct event *sigterm = evsignal_new(base, SIGTERM, signal_cb, base);
	struct event *sigint = evsignal_new(base, SIGINT, signal_cb, base);
	evsignal_add(sigterm, NULL);
	evsignal_add(sigint, NULL);

	event_base_dispatch(base);

	auth_connections_destroy_all();
	auth_worker_pool_destroy(&pool);
	for (unsigned int i = 0; i < n; i++) {
		evconnlistener_free(listeners[i]->listener);
		free(listeners[i]);
	}
	free(listeners);
	event_free(sigterm);
	event_free(sigint);
	event_base_free(base);
	auth_destroy(&auth);
	master_service_deinit();
	return 0;
}
