/* Starting post-login mail sessions (imap, pop3) for the login processes.

   One process per session, exec'd afresh (new ASLR layout, no memory
   shared with the master or other users' sessions). Everything that
   needs the C library — uid/gid and supplementary group lookups, the
   binary path, argv and the environment — is prepared in the master;
   the child is created with vfork() and only makes system calls (dup2,
   close_range, setgroups/setgid/setuid, chdir, execve) before it
   execs. Compared to fork() + the same work in the child this saves
   copying the master's page tables and the copy-on-write faults, and the
   child no longer loads the NSS modules (libnss_systemd, libcap, ...)
   for its initgroups() every time: the master loads them once. */
#include "master-common.h"
#include "ipc.h"
#include "master-service.h"
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>
#include <sys/syscall.h>
#include <sys/socket.h>

extern char **environ;

/* ipc message field -> environment variable of the session
   (master-service.h struct master_session) */
static const char *const session_env_map[][2] = {
	{ "user", "LOFT_USER" },
	{ "home", "LOFT_HOME" },
	{ "mail", "LOFT_MAIL" },
	{ "rip", "LOFT_RIP" },
	{ "lip", "LOFT_LIP" },
	{ "rport", "LOFT_RPORT" },
	{ "lport", "LOFT_LPORT" },
	{ "session", "LOFT_SESSION" },
	{ "tag", "LOFT_TAG" },
	{ "input", "LOFT_INPUT" },
	{ "mech", "LOFT_MECH" },
	{ "secured", "LOFT_SECURED" },
	{ "tls", "LOFT_TLS" },
	{ "userdb", "LOFT_USERDB" },
};

/* Everything the vfork()ed child needs, prepared by the master. */
struct session_exec {
	const char *path;
	char *const *argv;
	char *const *envp;
	int client_fd, log_fd, snapshot_fd, null_fd;
	int control_fd;     /* the session process's end, or -1 */
	bool set_ids;
	uid_t uid;
	gid_t gid;
	const gid_t *groups;
	size_t groups_count;
	const char *home;
	/* written by the child when it fails before execve() succeeds
	   (vfork: the memory is shared, the master runs again only after the
	   child has exec'd or exited) */
	volatile int failed_errno;
	const char *volatile failed_step;
};

static bool session_uid_valid(struct master *m, uint32_t uid, uint32_t gid,
			      const char **error_r)
{
	if (uid == 0) {
		*error_r = "Mail access for users with UID 0 not permitted";
		return false;
	}
	if (uid < m->set->first_valid_uid ||
	    (m->set->last_valid_uid != 0 && uid > m->set->last_valid_uid)) {
		*error_r = "Mail access for users with this UID not permitted "
			"(see first_valid_uid in config file)";
		return false;
	}
	if (gid < m->set->first_valid_gid ||
	    (m->set->last_valid_gid != 0 && gid > m->set->last_valid_gid)) {
		*error_r = "Mail access for users with this GID not permitted "
			"(see first_valid_gid in config file)";
		return false;
	}
	return true;
}

static int session_lookup_ids(struct master *m, struct ipc_msg *msg,
			      uid_t *uid_r, gid_t *gid_r, const char **error_r)
{
	const char *uid_str = ipc_msg_get(msg, "uid");
	const char *gid_str = ipc_msg_get(msg, "gid");
	uint32_t uid, gid;

	if (uid_str == NULL || uid_str[0] == '\0')
		uid_str = m->set->mail_uid;
	if (gid_str == NULL || gid_str[0] == '\0')
		gid_str = m->set->mail_gid;
	if (uid_str == NULL || uid_str[0] == '\0') {
		if (m->running_as_root) {
			*error_r = "User has no uid (set mail_uid or userdb uid)";
			return -1;
		}
		*uid_r = getuid();
		*gid_r = getgid();
		return 0;
	}
	if (str_to_uint32(uid_str, &uid) < 0) {
		struct passwd *pw = getpwnam(uid_str);
		if (pw == NULL) {
			*error_r = "Invalid uid in userdb";
			return -1;
		}
		uid = pw->pw_uid;
		if (gid_str == NULL || gid_str[0] == '\0')
			gid = pw->pw_gid;
	}
	if (gid_str != NULL && gid_str[0] != '\0' &&
	    str_to_uint32(gid_str, &gid) < 0) {
		struct group *gr = getgrnam(gid_str);
		if (gr == NULL) {
			*error_r = "Invalid gid in userdb";
			return -1;
		}
		gid = gr->gr_gid;
	} else if (gid_str == NULL || gid_str[0] == '\0') {
		struct passwd *pw = getpwuid(uid);
		gid = pw != NULL ? pw->pw_gid : uid;
	}
	if (!m->running_as_root) {
		if (uid != getuid()) {
			*error_r = "Can't change to the user's uid when not running as root";
			return -1;
		}
		*uid_r = uid;
		*gid_r = getgid();
		return 0;
	}
	if (!session_uid_valid(m, uid, gid, error_r))
		return -1;
	*uid_r = uid;
	*gid_r = gid;
	return 0;
}

/* The user's supplementary groups (what initgroups() would set), looked
   up in the master. Caller frees. */
static gid_t *session_groups(uid_t uid, gid_t gid, size_t *count_r)
{
	struct passwd *pw = getpwuid(uid);
	int n = 16;
	gid_t *groups = i_new(gid_t, n);

	if (pw != NULL) {
		for (int tries = 0; tries < 4; tries++) {
			int want = n;
			if (getgrouplist(pw->pw_name, gid, groups, &want) >= 0) {
				*count_r = (size_t)want;
				return groups;
			}
			if (want <= n || want > 65536)
				break;
			n = want;
			groups = i_realloc(groups, sizeof(gid_t) * (size_t)n);
		}
	}
	groups[0] = gid;
	*count_r = 1;
	return groups;
}

static void session_reply_code(struct service_process *login, bool ok,
			       pid_t pid, const char *reason, const char *code)
{
	struct ipc_msg *reply = ipc_msg_create(IPC_MSG_SESSION_STARTED);
	ipc_msg_add(reply, "status", ok ? "ok" : "fail");
	if (ok)
		ipc_msg_addf(reply, "pid", "%d", (int)pid);
	else
		ipc_msg_add(reply, "reason", reason);
	/* code: a failure the client may be told about ("userip") */
	if (code != NULL)
		ipc_msg_add(reply, "code", code);
	if (ipc_send(login->control_fd, reply) < 0)
		i_error("service(%s): can't reply to login process: %m",
			login->service->name);
	ipc_msg_free(&reply);
}

static void session_reply(struct service_process *login, bool ok, pid_t pid,
			  const char *reason)
{
	session_reply_code(login, ok, pid, reason, NULL);
}

static bool session_env_is_ours(const char *entry)
{
	static const char *const extra[] = {
		"LOFT_SERVICE", "LOFT_LISTENERS", "LOFT_RESTRICT_UID",
		"LOFT_RESTRICT_GID", "LOFT_RESTRICT_CHROOT", "HOME", "USER",
	};
	const char *eq = strchr(entry, '=');
	size_t len = eq == NULL ? strlen(entry) : (size_t)(eq - entry);

	for (unsigned int i = 0; i < N_ELEMENTS(session_env_map); i++) {
		const char *name = session_env_map[i][1];
		if (strlen(name) == len && memcmp(entry, name, len) == 0)
			return true;
	}
	for (unsigned int i = 0; i < N_ELEMENTS(extra); i++) {
		if (strlen(extra[i]) == len && memcmp(entry, extra[i], len) == 0)
			return true;
	}
	return false;
}

/* The master's environment without the variables a session gets from
   its request, plus those. NULL-terminated, every string allocated. */
static char **session_envp(const struct service *service, struct ipc_msg *msg,
			   const char *user, const char *home)
{
	unsigned int n = 0, alloc = 8 + N_ELEMENTS(session_env_map);
	for (char **e = environ; e != NULL && *e != NULL; e++)
		alloc++;
	char **envp = i_new(char *, alloc);
	for (char **e = environ; e != NULL && *e != NULL; e++) {
		if (!session_env_is_ours(*e))
			envp[n++] = i_strdup(*e);
	}
	envp[n++] = i_strdup_printf("LOFT_SERVICE=%s", service->name);
	for (unsigned int i = 0; i < N_ELEMENTS(session_env_map); i++) {
		const char *value = ipc_msg_get(msg, session_env_map[i][0]);
		if (value != NULL)
			envp[n++] = i_strdup_printf("%s=%s",
				session_env_map[i][1], value);
	}
	if (home != NULL)
		envp[n++] = i_strdup_printf("HOME=%s", home);
	envp[n++] = i_strdup_printf("USER=%s", user);
	envp[n] = NULL;
	return envp;
}

static void session_envp_free(char **envp)
{
	for (char **e = envp; *e != NULL; e++)
		free(*e);
	free(envp);
}

static void ATTR_NORETURN session_child_fail(struct session_exec *e,
					     const char *step)
{
	e->failed_errno = errno == 0 ? EINVAL : errno;
	e->failed_step = step;
	_exit(FATAL_EXIT_CODE);
}

/* Runs in the vfork()ed child: system calls only, no malloc, no stdio,
   no global state of the master's C library touched. */
static void ATTR_NORETURN __attribute__((noinline))
session_child(struct session_exec *e)
{
	/* the master's handlers (libevent's SIGCHLD/SIGTERM/SIGINT) must not
	   run here; execve() resets handled signals anyway */
	struct sigaction dfl;
	memset(&dfl, 0, sizeof(dfl));
	dfl.sa_handler = SIG_DFL;
	for (int sig = 1; sig < 32; sig++) {
		struct sigaction old;
		if (sig == SIGKILL || sig == SIGSTOP)
			continue;
		if (sigaction(sig, NULL, &old) == 0 &&
		    old.sa_handler != SIG_DFL && old.sa_handler != SIG_IGN)
			(void)sigaction(sig, &dfl, NULL);
	}
	sigset_t none;
	sigemptyset(&none);
	(void)sigprocmask(SIG_SETMASK, &none, NULL);

	/* fds: 0,1 = client, 2 = log, 3 = settings snapshot, 4 = the
	   control socket for more sessions, or /dev/null; first above the
	   target range so that no dup2() clobbers a source */
	int high = 100;
	int t_client = fcntl(e->client_fd, F_DUPFD, high);
	int t_log = fcntl(e->log_fd, F_DUPFD, high);
	int t_snap = fcntl(e->snapshot_fd, F_DUPFD, high);
	int t_null = fcntl(e->control_fd >= 0 ? e->control_fd : e->null_fd,
			   F_DUPFD, high);
	if (t_client < 0 || t_log < 0 || t_snap < 0 || t_null < 0)
		session_child_fail(e, "fcntl(F_DUPFD)");
	if (dup2(t_client, 0) < 0 || dup2(t_client, 1) < 0 ||
	    dup2(t_log, 2) < 0 || dup2(t_snap, MASTER_SETTINGS_FD) < 0 ||
	    dup2(t_null, MASTER_CONTROL_FD) < 0)
		session_child_fail(e, "dup2()");
	if (syscall(SYS_close_range, MASTER_CONTROL_FD + 1, ~0U, 0) < 0) {
		for (int fd = MASTER_CONTROL_FD + 1; fd < 1024; fd++)
			(void)close(fd);
	}
	if (e->set_ids) {
		/* raw system calls: glibc's wrappers may synchronize the ids
		   over threads through state shared with the master */
		if (syscall(SYS_setgroups, e->groups_count, e->groups) < 0)
			session_child_fail(e, "setgroups()");
		if (syscall(SYS_setgid, e->gid) < 0)
			session_child_fail(e, "setgid()");
		if (syscall(SYS_setuid, e->uid) < 0)
			session_child_fail(e, "setuid()");
	}
	if (e->home != NULL && chdir(e->home) < 0)
		(void)chdir("/");
	execve(e->path, e->argv, e->envp);
	session_child_fail(e, "execve()");
}

/* vfork() + exec of the session; returns the pid, or -1 with *error_r
   (allocated) if the child could not be started. */
static pid_t session_spawn(struct session_exec *e, char **error_r)
{
	sigset_t all, old;

	/* no signal handler of the master may run in the child: block all
	   signals around vfork(); the child unblocks them after resetting
	   the handlers */
	sigfillset(&all);
	sigprocmask(SIG_SETMASK, &all, &old);
	e->failed_errno = 0;
	e->failed_step = NULL;
	pid_t pid = vfork();
	if (pid == 0)
		session_child(e);
	int vfork_errno = errno;
	sigprocmask(SIG_SETMASK, &old, NULL);
	if (pid < 0) {
		*error_r = i_strdup_printf("vfork() failed: %s",
					   strerror(vfork_errno));
		return -1;
	}
	if (e->failed_errno != 0) {
		/* the child has exited already; SIGCHLD reaps it */
		*error_r = i_strdup_printf("%s failed: %s", e->failed_step,
					   strerror(e->failed_errno));
		return -1;
	}
	return pid;
}

/* What sessions must have in common to share a mail process: the user
   and everything the process was set up with (ids, home, mail location,
   all userdb fields). Length-prefixed so that no two differ only in
   where a field ends. Caller frees. */
static char *session_group_key(const struct ipc_msg *msg, uid_t uid,
			       gid_t gid)
{
	static const char *const fields[] = {
		"service", "user", "home", "mail", "userdb",
	};
	string_t *key = str_new(256);

	str_printfa(key, "%lu:%lu", (unsigned long)uid, (unsigned long)gid);
	for (unsigned int i = 0; i < N_ELEMENTS(fields); i++) {
		const char *v = ipc_msg_get(msg, fields[i]);
		if (v == NULL)
			v = "";
		str_printfa(key, "|%zu:%s", strlen(v), v);
	}
	char *ret = i_strdup(str_c(key));
	str_free(&key);
	return ret;
}

/* Service imap with client_limit > 1: hand the session to a process
   already serving the same user (same group key) below client_limit.
   Unlike Dovecot's client_limit, loft never puts two users in one
   process. Returns true when done (replied to the login process). */
static bool session_add_to_group(struct service *service, struct ipc_msg *msg,
				 const char *group_key,
				 unsigned int client_limit,
				 struct service_process *login)
{
	struct service_process *proc;

	for (proc = service->processes; proc != NULL; proc = proc->next) {
		if (proc->group_key != NULL && !proc->closing &&
		    proc->control_fd >= 0 &&
		    proc->sessions_count < client_limit &&
		    strcmp(proc->group_key, group_key) == 0)
			break;
	}
	if (proc == NULL)
		return false;

	struct ipc_msg *add = ipc_msg_create(IPC_MSG_SESSION_ADD);
	for (unsigned int i = 0; i < msg->fields_count; i++)
		ipc_msg_add(add, msg->fields[i].key, msg->fields[i].value);
	add->fd = msg->fd;
	int ret = ipc_send(proc->control_fd, add);
	add->fd = -1;    /* still msg's, closed with it */
	ipc_msg_free(&add);
	if (ret < 0) {
		/* full or gone: a process of its own then */
		i_warning("%s(%s): can't add the session to pid %d: %m",
			  service->name, proc->user, (int)proc->pid);
		return false;
	}
	service_process_session_add(proc, ipc_msg_get(msg, "session"),
				    ipc_msg_get(msg, "rip"));
	session_reply(login, true, proc->pid, NULL);
	return true;
}

void session_start(struct master *m, struct service_process *login,
		   struct ipc_msg *msg)
{
	const char *service_name = ipc_msg_get(msg, "service");
	const char *user = ipc_msg_get(msg, "user");
	const char *error;
	uid_t uid;
	gid_t gid;

	if (service_name == NULL || user == NULL || msg->fd < 0 ||
	    (strcmp(service_name, "imap") != 0 && strcmp(service_name, "pop3") != 0)) {
		i_error("service(%s): invalid session request", login->service->name);
		session_reply(login, false, 0, "Internal error");
		return;
	}
	struct service *service = service_find(m, service_name);
	if (service == NULL) {
		session_reply(login, false, 0, "Service not enabled");
		return;
	}
	/* as Dovecot's anvil: per service, user and remote IP */
	const char *rip = ipc_msg_get(msg, "rip");
	unsigned int userip_limit = m->set->mail_max_userip_connections;
	if (userip_limit > 0 && rip != NULL && rip[0] != '\0' &&
	    service_userip_count(service, user, rip) >= userip_limit) {
		char *reason = i_strdup_printf("Maximum number of connections "
			"from user+IP exceeded (mail_max_userip_connections=%u)",
			userip_limit);
		session_reply_code(login, false, 0, reason, "userip");
		free(reason);
		return;
	}
	if (session_lookup_ids(m, msg, &uid, &gid, &error) < 0) {
		i_error("%s(%s): %s", service_name, user, error);
		session_reply(login, false, 0, error);
		return;
	}
	/* only loft-imap takes more sessions (IPC_MSG_SESSION_ADD); pop3
	   sessions are short and keep a process each whatever client_limit
	   says */
	unsigned int client_limit = service->set == NULL ||
		strcmp(service_name, "imap") != 0 ? 1 :
		service->set->client_limit;
	char *group_key = NULL;
	if (client_limit > 1) {
		group_key = session_group_key(msg, uid, gid);
		if (session_add_to_group(service, msg, group_key, client_limit,
					 login)) {
			free(group_key);
			return;
		}
	}
	if (service_process_limit_reached(service)) {
		free(group_key);
		session_reply(login, false, 0, "Maximum number of connections reached");
		return;
	}
	if (service->binary_path == NULL)
		service->binary_path = master_binary_path(m, service->binary);
	int sp[2] = { -1, -1 };
	if (group_key != NULL &&
	    socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sp) < 0) {
		i_error("%s(%s): socketpair() failed: %m", service_name, user);
		free(group_key);
		group_key = NULL;
	}

	const char *home = ipc_msg_get(msg, "home");
	char *argv[] = { service->binary_path, NULL };
	char **envp = session_envp(service, msg, user, home);
	struct session_exec e = {
		.path = service->binary_path,
		.argv = argv,
		.envp = envp,
		.client_fd = msg->fd,
		.log_fd = m->log_fd,
		.snapshot_fd = m->snapshot_fd,
		.null_fd = m->null_fd,
		.control_fd = sp[1],
		.set_ids = m->running_as_root,
		.uid = uid,
		.gid = gid,
		.home = home,
	};
	gid_t *groups = NULL;
	if (m->running_as_root) {
		groups = session_groups(uid, gid, &e.groups_count);
		e.groups = groups;
	}
	char *spawn_error;
	pid_t pid = session_spawn(&e, &spawn_error);
	free(groups);
	session_envp_free(envp);
	if (sp[1] >= 0)
		close(sp[1]);
	if (pid < 0) {
		i_error("%s(%s): Can't start the session process: %s",
			service_name, user, spawn_error);
		free(spawn_error);
		if (sp[0] >= 0)
			close(sp[0]);
		free(group_key);
		session_reply(login, false, 0, "Internal error");
		return;
	}
	service->warned_limit = false;

	struct service_process *proc = i_new(struct service_process, 1);
	proc->pid = pid;
	proc->control_fd = -1;
	proc->started = time(NULL);
	proc->user = i_strdup(user);
	if (group_key == NULL)
		proc->rip = rip == NULL ? NULL : i_strdup(rip);
	service_process_attach(service, proc);
	if (group_key != NULL) {
		/* its sessions are counted one by one (SESSION_DONE) */
		proc->group_key = group_key;
		service_process_session_add(proc, ipc_msg_get(msg, "session"),
					    rip);
		service_process_listen_control(proc, sp[0]);
	}
	session_reply(login, true, pid, NULL);
}

void session_done(struct service_process *proc, struct ipc_msg *msg)
{
	const char *id = ipc_msg_get(msg, "session");

	if (id == NULL || !service_process_session_remove(proc, id)) {
		i_error("service(%s): pid %d reported the end of an unknown "
			"session", proc->service->name, (int)proc->pid);
		return;
	}
	if (proc->sessions_count > 0 || proc->closing)
		return;
	/* none left: the process exits when it sees the socket close; it
	   gets no more sessions (those sent before are all done) */
	proc->closing = true;
	event_del(proc->control_event);
	close(proc->control_fd);
	proc->control_fd = -1;
}
