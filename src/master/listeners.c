/* Binding listeners: inet listeners of the login and lmtp services on the
   "listen" addresses, unix listeners under base_dir. */
#include "master-common.h"
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <fcntl.h>
#include <netdb.h>
#include <pwd.h>
#include <grp.h>
#include <unistd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <netinet/in.h>

static void service_add_listener(struct service *service, const char *name,
				 int fd, bool ssl, bool haproxy,
				 const char *path)
{
	service->listeners = i_realloc(service->listeners,
		sizeof(*service->listeners) * (service->listeners_count + 1));
	struct master_listener_fd *l = &service->listeners[service->listeners_count++];
	memset(l, 0, sizeof(*l));
	l->name = i_strdup(name);
	l->fd = fd;
	l->ssl = ssl;
	l->haproxy = haproxy;
	l->unix_socket = path != NULL;
	l->path = i_strdup(path);
}

static int inet_bind(const char *address, unsigned int port, int *fd_r,
		     char **error_r)
{
	struct addrinfo hints, *ai;
	char portstr[16];
	memset(&hints, 0, sizeof(hints));
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
	snprintf(portstr, sizeof(portstr), "%u", port);
	if (strcmp(address, "*") == 0) {
		hints.ai_family = AF_INET;
		address = NULL;
	} else if (strcmp(address, "::") == 0 || strcmp(address, "[::]") == 0) {
		hints.ai_family = AF_INET6;
		address = "::";
	}
	int ret = getaddrinfo(address, portstr, &hints, &ai);
	if (ret != 0) {
		*error_r = i_strdup_printf("Can't resolve listen address %s: %s",
					   address, gai_strerror(ret));
		return -1;
	}
	int fd = socket(ai->ai_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0) {
		*error_r = i_strdup_printf("socket() failed: %s", strerror(errno));
		freeaddrinfo(ai);
		return -1;
	}
	int one = 1;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (ai->ai_family == AF_INET6)
		setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
	if (bind(fd, ai->ai_addr, ai->ai_addrlen) < 0 || listen(fd, 511) < 0) {
		*error_r = i_strdup_printf("bind(%s, %u) failed: %s",
			address == NULL ? "*" : address, port, strerror(errno));
		close(fd);
		freeaddrinfo(ai);
		return -1;
	}
	freeaddrinfo(ai);
	*fd_r = fd;
	return 0;
}

static int unix_bind(struct master *m, const char *path, unsigned int mode,
		     const char *user, const char *group, int *fd_r,
		     char **error_r)
{
	struct sockaddr_un sa;
	memset(&sa, 0, sizeof(sa));
	sa.sun_family = AF_UNIX;
	if (strlen(path) >= sizeof(sa.sun_path)) {
		*error_r = i_strdup_printf("unix_listener path too long: %s", path);
		return -1;
	}
	strcpy(sa.sun_path, path);
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0) {
		*error_r = i_strdup_printf("socket() failed: %s", strerror(errno));
		return -1;
	}
	(void)unlink(path);
	mode_t old = umask(0777 & ~mode);
	int ret = bind(fd, (struct sockaddr *)&sa, sizeof(sa));
	umask(old);
	if (ret < 0 || listen(fd, 511) < 0) {
		*error_r = i_strdup_printf("bind(%s) failed: %s", path, strerror(errno));
		close(fd);
		return -1;
	}
	if (m->running_as_root) {
		uid_t uid = (uid_t)-1;
		gid_t gid = (gid_t)-1;
		if (user != NULL && user[0] != '\0') {
			struct passwd *pw = getpwnam(user);
			if (pw == NULL) {
				*error_r = i_strdup_printf(
					"unix_listener %s: unknown user %s", path, user);
				close(fd);
				return -1;
			}
			uid = pw->pw_uid;
		}
		if (group != NULL && group[0] != '\0') {
			struct group *gr = getgrnam(group);
			if (gr == NULL) {
				*error_r = i_strdup_printf(
					"unix_listener %s: unknown group %s", path, group);
				close(fd);
				return -1;
			}
			gid = gr->gr_gid;
		}
		if ((uid != (uid_t)-1 || gid != (gid_t)-1) && chown(path, uid, gid) < 0) {
			*error_r = i_strdup_printf("chown(%s) failed: %s", path,
						   strerror(errno));
			close(fd);
			return -1;
		}
	}
	*fd_r = fd;
	return 0;
}

static char *listener_path(struct master *m, const char *path)
{
	if (path[0] == '/')
		return i_strdup(path);
	return i_strdup_printf("%s/%s", m->set->base_dir, path);
}

static int service_bind_inet(struct master *m, struct service *service,
			     char **error_r)
{
	const struct service_settings *ss = service->set;
	for (unsigned int i = 0; ss != NULL && i < ss->inet_listeners_count; i++) {
		const struct inet_listener_settings *il = &ss->inet_listeners[i];
		if (il->port == 0)
			continue;
		char **addrs = NULL;
		char *single[2] = { il->address, NULL };
		if (il->address != NULL && il->address[0] != '\0')
			addrs = single;
		else
			addrs = m->set->listen;
		for (unsigned int j = 0; addrs != NULL && addrs[j] != NULL; j++) {
			int fd;
			if (addrs[j][0] == '\0')
				continue;
			if (inet_bind(addrs[j], il->port, &fd, error_r) < 0)
				return -1;
			service_add_listener(service, il->name, fd, il->ssl,
					     il->haproxy, NULL);
		}
	}
	return 0;
}

static int service_bind_unix(struct master *m, struct service *service,
			     char **error_r)
{
	const struct service_settings *ss = service->set;
	for (unsigned int i = 0; ss != NULL && i < ss->unix_listeners_count; i++) {
		const struct unix_listener_settings *ul = &ss->unix_listeners[i];
		const char *user = ul->user;
		char *path;
		if (service->kind == SERVICE_KIND_AUTH &&
		    strcmp(ul->path, "auth-login") == 0) {
			/* login processes reach it inside their chroot */
			path = listener_path(m, "login/auth-login");
			if (user == NULL || user[0] == '\0')
				user = m->set->default_login_user;
		} else {
			path = listener_path(m, ul->path);
		}
		const char *name = strrchr(path, '/') + 1;
		int fd;
		if (unix_bind(m, path, ul->mode == 0 ? 0600 : ul->mode, user,
			      ul->group, &fd, error_r) < 0) {
			free(path);
			return -1;
		}
		service_add_listener(service, name, fd, false, false, path);
		free(path);
	}
	return 0;
}

static bool service_has_listener(struct service *service, const char *name)
{
	for (unsigned int i = 0; i < service->listeners_count; i++) {
		if (strcmp(service->listeners[i].name, name) == 0)
			return true;
	}
	return false;
}

int master_listeners_create(struct master *m, char **error_r)
{
	for (unsigned int i = 0; i < m->services_count; i++) {
		struct service *service = m->services[i];
		if (service->kind == SERVICE_KIND_MAIL)
			continue;
		if (service_bind_inet(m, service, error_r) < 0 ||
		    service_bind_unix(m, service, error_r) < 0)
			return -1;
	}
	/* The sockets loft's own processes need. auth-login lives inside the
	   login processes' chroot (base_dir/login). */
	struct service *auth = service_find(m, "auth");
	if (auth != NULL && !service_has_listener(auth, "auth-login")) {
		char *path = i_strdup_printf("%s/login/auth-login", m->set->base_dir);
		int fd;
		int ret = unix_bind(m, path, 0666, NULL, NULL, &fd, error_r);
		if (ret == 0)
			service_add_listener(auth, "auth-login", fd, false, false, path);
		free(path);
		if (ret < 0)
			return -1;
	}
	if (auth != NULL && !service_has_listener(auth, "auth-userdb")) {
		char *path = i_strdup_printf("%s/auth-userdb", m->set->base_dir);
		int fd;
		int ret = unix_bind(m, path, 0600, NULL, NULL, &fd, error_r);
		if (ret == 0)
			service_add_listener(auth, "auth-userdb", fd, false, false, path);
		free(path);
		if (ret < 0)
			return -1;
	}
	return 0;
}

void master_listeners_close(struct master *m)
{
	for (unsigned int i = 0; i < m->services_count; i++) {
		struct service *service = m->services[i];
		for (unsigned int j = 0; j < service->listeners_count; j++) {
			struct master_listener_fd *l = &service->listeners[j];
			if (l->fd >= 0)
				close(l->fd);
			if (l->path != NULL)
				(void)unlink(l->path);
			free(l->path);
			free(l->name);
		}
		i_free(service->listeners);
		service->listeners_count = 0;
	}
}
