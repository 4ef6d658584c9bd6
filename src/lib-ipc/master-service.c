#include "master-service.h"
#include "log.h"
#include "ipc.h"
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>
#include <fcntl.h>
#include <signal.h>
#include <grp.h>
#include <time.h>
#include <sys/prctl.h>
#include <sys/socket.h>

static char *service_name;
static pid_t master_pid;
static struct loft_settings *service_set;
static struct master_listener *listeners;
static unsigned int listeners_count;

static void listeners_parse(const char *env)
{
	char **items = str_split(env, ",");
	unsigned int n = str_array_length(items);
	listeners = i_new(struct master_listener, n);
	for (unsigned int i = 0; i < n; i++) {
		if (items[i][0] == '\0')
			continue;
		char **f = str_split(items[i], ":");
		uint32_t fd;
		if (str_array_length(f) < 2 || str_to_uint32(f[1], &fd) < 0 ||
		    fd < MASTER_LISTEN_FD_FIRST || fd > 65535)
			i_fatal("Invalid LOFT_LISTENERS entry: %s", items[i]);
		struct master_listener *l = &listeners[listeners_count++];
		l->name = i_strdup(f[0]);
		l->fd = (int)fd;
		const char *flags = f[2] == NULL ? "" : f[2];
		l->ssl = strstr(flags, "ssl") != NULL;
		l->haproxy = strstr(flags, "haproxy") != NULL;
		l->unix_socket = strstr(flags, "unix") != NULL;
		fcntl(l->fd, F_SETFD, FD_CLOEXEC);
		str_split_free(&f);
	}
	str_split_free(&items);
}

/* A service process the master started with listeners (auth, login,
   lmtp) must not outlive the master: it holds the listening sockets, and a
   restarted master could not bind them again. Mail sessions (imap, pop3)
   hold no listener and may finish their session, as in Dovecot. The
   parent-death signal is cleared by every credential change (setuid(),
   seteuid()), so this is armed again after master_service_restrict() and
   by the callers that switch their effective uid. */
void master_service_die_with_master(void)
{
	if (master_pid <= 1)
		return;
	if (prctl(PR_SET_PDEATHSIG, SIGTERM) < 0)
		i_error("prctl(PR_SET_PDEATHSIG) failed: %m");
	if (getppid() != master_pid) {
		i_error("Master process died, exiting");
		exit(FATAL_EXIT_CODE);
	}
}

void master_service_report_busy(bool busy)
{
	static bool busy_sent = false;

	if (busy == busy_sent)
		return;
	struct ipc_msg *msg = ipc_msg_create(busy ? IPC_MSG_PROCESS_BUSY :
					     IPC_MSG_PROCESS_AVAIL);
	(void)ipc_send(MASTER_CONTROL_FD, msg);
	ipc_msg_free(&msg);
	busy_sent = busy;
}

const struct loft_settings *master_service_init(const char *name,
						int argc, char *argv[])
{
	const char *config_path = NULL;
	char *error = NULL;

	service_name = i_strdup(name);
	log_init(name);
	signal(SIGPIPE, SIG_IGN);
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "-c") == 0 && i + 1 < argc)
			config_path = argv[++i];
	}
	if (config_path != NULL) {
		if (settings_read(config_path, &service_set, &error) < 0)
			i_fatal("%s", error);
	} else if (fcntl(MASTER_SETTINGS_FD, F_GETFD) >= 0) {
		lseek(MASTER_SETTINGS_FD, 0, SEEK_SET);
		if (settings_snapshot_read(MASTER_SETTINGS_FD, &service_set,
					   &error) < 0)
			i_fatal("Invalid settings snapshot from master: %s", error);
		close(MASTER_SETTINGS_FD);
	} else {
		i_fatal("No settings: start %s from loft, or give -c FILE", name);
	}
	log_set_debug(service_set->mail_debug || service_set->auth_debug);
	const char *env = getenv("LOFT_LISTENERS");
	if (env != NULL) {
		listeners_parse(env);
		if (getenv("LOFT_SERVICE") != NULL) {
			/* the master says who it is: getppid() would be 1 (or
			   a subreaper) if it died before we got here */
			const char *mp = getenv("LOFT_MASTER_PID");
			uint32_t pid;
			if (mp == NULL || str_to_uint32(mp, &pid) < 0 || pid <= 1)
				master_pid = getppid();
			else
				master_pid = (pid_t)pid;
			master_service_die_with_master();
		}
	}
	return service_set;
}

void master_service_deinit(void)
{
	for (unsigned int i = 0; i < listeners_count; i++)
		free(listeners[i].name);
	i_free(listeners);
	listeners_count = 0;
	if (service_set != NULL)
		settings_free(&service_set);
	i_free(service_name);
}

const char *master_service_name(void)
{
	return service_name;
}

const struct master_listener *master_service_listeners(unsigned int *count_r)
{
	*count_r = listeners_count;
	return listeners;
}

static const char *env_or_null(const char *name)
{
	const char *v = getenv(name);
	return v == NULL || v[0] == '\0' ? NULL : v;
}

static const char *env_get(const void *context, const char *name)
{
	(void)context;
	return env_or_null(name);
}

/* the IPC field of a LOFT_* variable is its lowercased rest ("user",
   "session", "input"...: the master's session_env_map) */
static const char *ipc_get(const void *context, const char *name)
{
	char key[32];
	size_t i;

	name += strlen("LOFT_");
	for (i = 0; name[i] != '\0' && i < sizeof(key) - 1; i++)
		key[i] = (char)(name[i] | 0x20);
	key[i] = '\0';
	const char *v = ipc_msg_get(context, key);
	return v == NULL || v[0] == '\0' ? NULL : v;
}

static bool session_fill(struct master_session *s,
			 const char *(*get)(const void *, const char *),
			 const void *context)
{
	memset(s, 0, sizeof(*s));
	s->user = get(context, "LOFT_USER");
	if (s->user == NULL)
		return false;
	s->home = get(context, "LOFT_HOME");
	s->mail = get(context, "LOFT_MAIL");
	s->rip = get(context, "LOFT_RIP");
	s->lip = get(context, "LOFT_LIP");
	uint32_t port;
	const char *v = get(context, "LOFT_RPORT");
	if (v != NULL && str_to_uint32(v, &port) == 0)
		s->rport = port;
	v = get(context, "LOFT_LPORT");
	if (v != NULL && str_to_uint32(v, &port) == 0)
		s->lport = port;
	s->session_id = get(context, "LOFT_SESSION");
	s->tag = get(context, "LOFT_TAG");
	s->client_input = get(context, "LOFT_INPUT");
	s->mech = get(context, "LOFT_MECH");
	v = get(context, "LOFT_SECURED");
	s->secured = v != NULL && strcmp(v, "1") == 0;
	v = get(context, "LOFT_TLS");
	s->tls = v != NULL && strcmp(v, "1") == 0;
	s->userdb_fields = get(context, "LOFT_USERDB");
	return true;
}

bool master_service_get_session(struct master_session *s)
{
	return session_fill(s, env_get, NULL);
}

bool master_service_session_from_ipc(const struct ipc_msg *msg,
				     struct master_session *s)
{
	return session_fill(s, ipc_get, msg);
}

bool master_service_session_control(void)
{
	int type;
	socklen_t len = sizeof(type);

	return getenv("LOFT_USER") != NULL &&
		getsockopt(MASTER_CONTROL_FD, SOL_SOCKET, SO_TYPE, &type,
			   &len) == 0 && type == SOCK_SEQPACKET;
}

char *master_service_socket_path(const char *name)
{
	if (name[0] == '/')
		return i_strdup(name);
	const char *base = service_set != NULL && service_set->base_dir != NULL ?
		service_set->base_dir : "/run/loft";
	return i_strdup_printf("%s/%s", base, name);
}

void master_service_restrict(void)
{
	const char *chroot_dir = env_or_null("LOFT_RESTRICT_CHROOT");
	const char *gid_str = env_or_null("LOFT_RESTRICT_GID");
	const char *uid_str = env_or_null("LOFT_RESTRICT_UID");
	uint32_t uid = 0, gid = 0;

	if (uid_str != NULL && str_to_uint32(uid_str, &uid) < 0)
		i_fatal("Invalid LOFT_RESTRICT_UID");
	if (gid_str != NULL && str_to_uint32(gid_str, &gid) < 0)
		i_fatal("Invalid LOFT_RESTRICT_GID");
	tzset(); /* keep local time in logs after chroot */
	if (chroot_dir != NULL) {
		if (chroot(chroot_dir) < 0 || chdir("/") < 0)
			i_fatal("chroot(%s) failed: %m", chroot_dir);
	}
	if (gid_str != NULL) {
		gid_t g = (gid_t)gid;
		if (setgroups(1, &g) < 0 || setgid(g) < 0)
			i_fatal("setgid(%u) failed: %m", gid);
	}
	if (uid_str != NULL) {
		if (setuid((uid_t)uid) < 0)
			i_fatal("setuid(%u) failed: %m", uid);
		if (uid != 0 && setuid(0) == 0)
			i_fatal("Could regain root after dropping privileges");
	}
	master_service_die_with_master();
}
