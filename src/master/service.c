/* Starting, supervising and restarting service processes, and starting
   post-login sessions for the login processes. */
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
#include <sys/socket.h>
#include <sys/wait.h>

#define SERVICE_THROTTLE_SECS 2
#define SERVICE_MAX_QUICK_CRASHES 5

struct service *service_find(struct master *m, const char *name)
{
	for (unsigned int i = 0; i < m->services_count; i++) {
		if (strcmp(m->services[i]->name, name) == 0)
			return m->services[i];
	}
	return NULL;
}

char *master_binary_path(struct master *m, const char *binary)
{
	/* installed layout: all binaries side by side; build tree layout:
	   build/src/<module>/<binary> */
	char *path = i_strdup_printf("%s/%s", m->exe_dir, binary);
	if (access(path, X_OK) == 0)
		return path;
	free(path);
	const char *module = binary + strlen("loft-");
	path = i_strdup_printf("%s/../%s/%s", m->exe_dir, module, binary);
	if (access(path, X_OK) == 0)
		return path;
	free(path);
	return i_strdup_printf("%s/%s", LOFT_LIBEXECDIR, binary);
}

static void child_setup_fds(struct master *m, int client_fd, int control_fd,
			    const struct master_listener_fd *listeners,
			    unsigned int listeners_count, string_t *listeners_env)
{
	/* Move everything we pass above the target range first, so dup2()
	   into 0..N can't clobber a source fd. */
	int high = 100;
	int tmp_client = client_fd >= 0 ? fcntl(client_fd, F_DUPFD, high) : -1;
	int tmp_log = fcntl(m->log_fd, F_DUPFD, high);
	int tmp_snap = fcntl(m->snapshot_fd, F_DUPFD, high);
	int tmp_ctrl = control_fd >= 0 ? fcntl(control_fd, F_DUPFD, high) : -1;
	int tmp_listen[64];
	if (listeners_count > N_ELEMENTS(tmp_listen))
		listeners_count = N_ELEMENTS(tmp_listen);
	for (unsigned int i = 0; i < listeners_count; i++)
		tmp_listen[i] = fcntl(listeners[i].fd, F_DUPFD, high);

	int null_fd = open("/dev/null", O_RDWR);
	dup2(tmp_client >= 0 ? tmp_client : null_fd, 0);
	dup2(tmp_client >= 0 ? tmp_client : null_fd, 1);
	dup2(tmp_log, 2);
	dup2(tmp_snap, MASTER_SETTINGS_FD);
	if (tmp_ctrl >= 0)
		dup2(tmp_ctrl, MASTER_CONTROL_FD);
	else
		dup2(null_fd, MASTER_CONTROL_FD);
	lseek(MASTER_SETTINGS_FD, 0, SEEK_SET);
	for (unsigned int i = 0; i < listeners_count; i++) {
		int fd = MASTER_LISTEN_FD_FIRST + (int)i;
		dup2(tmp_listen[i], fd);
		str_printfa(listeners_env, "%s%s:%d:%s%s%s", i > 0 ? "," : "",
			    listeners[i].name, fd,
			    listeners[i].ssl ? "ssl" : "",
			    listeners[i].haproxy ? "+haproxy" : "",
			    listeners[i].unix_socket ? "+unix" : "");
	}
	int first_free = MASTER_LISTEN_FD_FIRST + (int)listeners_count;
	/* close everything else, incl. the temporary copies (also above
	   1024: RLIMIT_NOFILE is raised at startup) */
	if (close_range((unsigned int)first_free, ~0U, 0) < 0) {
		for (int fd = first_free; fd < 1024; fd++)
			close(fd);
	}
	for (int fd = 0; fd < first_free; fd++)
		fcntl(fd, F_SETFD, 0);
}

static void ATTR_NORETURN child_exec(struct master *m, const char *binary)
{
	char *path = master_binary_path(m, binary);
	char *argv[] = { path, NULL };
	execv(path, argv);
	i_fatal("execv(%s) failed: %m", path);
}

static void restrict_env_for_user(struct master *m, const char *user,
				  const char *chroot_dir)
{
	if (!m->running_as_root)
		return;
	struct passwd *pw = user == NULL ? NULL : getpwnam(user);
	if (pw == NULL) {
		/* the caller checked at startup; never run a login process as root */
		pw = getpwnam("nobody");
		if (pw == NULL)
			i_fatal("Neither user %s nor nobody exist", user);
	}
	char buf[32];
	snprintf(buf, sizeof(buf), "%u", (unsigned int)pw->pw_uid);
	setenv("LOFT_RESTRICT_UID", buf, 1);
	snprintf(buf, sizeof(buf), "%u", (unsigned int)pw->pw_gid);
	setenv("LOFT_RESTRICT_GID", buf, 1);
	if (chroot_dir != NULL) {
		setenv("LOFT_RESTRICT_CHROOT", chroot_dir, 1);
#ifdef __SANITIZE_ADDRESS__
		/* LeakSanitizer needs /proc, which a chroot doesn't have */
		const char *asan = getenv("ASAN_OPTIONS");
		char *opts = i_strdup_printf("%s%sdetect_leaks=0",
			asan == NULL ? "" : asan, asan == NULL ? "" : ":");
		setenv("ASAN_OPTIONS", opts, 1);
		free(opts);
#endif
	}
}

static void service_control_input(evutil_socket_t fd, short what, void *ctx);

bool service_process_limit_reached(struct service *service)
{
	if (service->process_count < service->process_limit)
		return false;
	if (!service->warned_limit) {
		i_warning("service(%s): process_limit (%u) reached, "
			  "client connections are being dropped",
			  service->name, service->process_limit);
		service->warned_limit = true;
	}
	return true;
}

static void service_process_spawn(struct service *service)
{
	struct master *m = master;
	int sp[2] = { -1, -1 };

	/* login and lmtp processes report busy/available on it */
	if ((service->kind == SERVICE_KIND_LOGIN ||
	     service->kind == SERVICE_KIND_LMTP) &&
	    socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sp) < 0) {
		i_error("service(%s): socketpair() failed: %m", service->name);
		return;
	}
	pid_t master_pid = getpid();
	pid_t pid = fork();
	if (pid < 0) {
		i_error("service(%s): fork() failed: %m", service->name);
		if (sp[0] >= 0) {
			close(sp[0]);
			close(sp[1]);
		}
		return;
	}
	if (pid == 0) {
		string_t *lenv = str_new(128);
		child_setup_fds(m, -1, sp[1], service->listeners,
				service->listeners_count, lenv);
		setenv("LOFT_SERVICE", service->name, 1);
		setenv("LOFT_LISTENERS", str_c(lenv), 1);
		char pidbuf[32];
		snprintf(pidbuf, sizeof(pidbuf), "%ld", (long)master_pid);
		setenv("LOFT_MASTER_PID", pidbuf, 1);
		if (service->kind == SERVICE_KIND_LOGIN) {
			const char *user = service->set != NULL &&
				service->set->user != NULL && service->set->user[0] != '\0' ?
				service->set->user : m->set->default_login_user;
			char *chroot_dir = i_strdup_printf("%s/login", m->set->base_dir);
			if (m->running_as_root) {
				restrict_env_for_user(m, user, chroot_dir);
				setenv("LOFT_AUTH_SOCKET", "/auth-login", 1);
			} else {
				char *p = i_strdup_printf("%s/auth-login", chroot_dir);
				setenv("LOFT_AUTH_SOCKET", p, 1);
			}
		} else if (service->kind == SERVICE_KIND_AUTH) {
			/* auth reads passwd-files that are often root:dovecot
			   0640: run as default_internal_user when it exists */
			if (m->running_as_root &&
			    getpwnam(m->set->default_internal_user) != NULL)
				restrict_env_for_user(m, m->set->default_internal_user, NULL);
		}
		child_exec(m, service->binary);
	}
	struct service_process *proc = i_new(struct service_process, 1);
	proc->pid = pid;
	proc->control_fd = -1;
	proc->available = true;
	proc->started = time(NULL);
	if (sp[0] >= 0) {
		close(sp[1]);
		proc->control_fd = sp[0];
		evutil_make_socket_nonblocking(sp[0]);
		proc->control_event = event_new(m->base, sp[0], EV_READ | EV_PERSIST,
						service_control_input, proc);
		event_add(proc->control_event, NULL);
	}
	service_process_attach(service, proc);
}

static unsigned int service_available_count(struct service *service)
{
	unsigned int n = 0;
	for (struct service_process *p = service->processes; p != NULL; p = p->next) {
		if (p->available)
			n++;
	}
	return n;
}

static void service_throttle_end(evutil_socket_t fd, short what, void *ctx)
{
	struct service *service = ctx;
	event_free(service->throttle_timer);
	service->throttle_timer = NULL;
	service_process_ensure(service);
}

void service_process_ensure(struct service *service)
{
	if (master->shutting_down || service->kind == SERVICE_KIND_MAIL ||
	    service->throttle_timer != NULL)
		return;
	unsigned int want = service->process_min_avail;
	if (want == 0)
		want = 1;
	if (service->kind != SERVICE_KIND_LOGIN &&
	    service->kind != SERVICE_KIND_LMTP)
		want = 1;
	while (service_available_count(service) < want) {
		if (service_process_limit_reached(service))
			return;
		service_process_spawn(service);
	}
	service->warned_limit = false;
}

static void service_process_free(struct service_process *proc)
{
	if (proc->control_event != NULL)
		event_free(proc->control_event);
	if (proc->control_fd >= 0)
		close(proc->control_fd);
	free(proc->user);
	free(proc->rip);
	free(proc->group_key);
	free(proc);
}

void service_process_listen_control(struct service_process *proc, int fd)
{
	proc->control_fd = fd;
	evutil_make_socket_nonblocking(fd);
	proc->control_event = event_new(master->base, fd, EV_READ | EV_PERSIST,
					service_control_input, proc);
	event_add(proc->control_event, NULL);
}

/* what each kind of process may ask of the master: a mail process runs
   as its user and may only report its own sessions */
static bool service_msg_allowed(const struct service *service,
				enum ipc_msg_type type)
{
	switch (service->kind) {
	case SERVICE_KIND_LOGIN:
		return type == IPC_MSG_PROCESS_BUSY ||
			type == IPC_MSG_PROCESS_AVAIL ||
			type == IPC_MSG_SESSION_START;
	case SERVICE_KIND_LMTP:
		return type == IPC_MSG_PROCESS_BUSY ||
			type == IPC_MSG_PROCESS_AVAIL;
	case SERVICE_KIND_MAIL:
		return type == IPC_MSG_SESSION_DONE;
	default:
		return false;
	}
}

static void service_control_input(evutil_socket_t fd, short what, void *ctx)
{
	struct service_process *proc = ctx;
	struct service *service = proc->service;
	struct ipc_msg *msg;
	const char *error;

	int ret = ipc_recv(proc->control_fd, &msg, &error);
	if (ret < 0 && errno == EAGAIN)
		return;
	if (ret <= 0) {
		if (ret < 0)
			i_error("service(%s): pid %d sent a bad message: %s",
				service->name, (int)proc->pid, error);
		/* process is going away (or misbehaving): stop listening to it */
		event_del(proc->control_event);
		proc->available = false;
		proc->closing = true;
		if (ret < 0)
			kill(proc->pid, SIGKILL);
		service_process_ensure(service);
		return;
	}
	if (!service_msg_allowed(service, msg->type)) {
		i_error("service(%s): pid %d sent message type %d, which it "
			"may not: killing it", service->name, (int)proc->pid,
			msg->type);
		event_del(proc->control_event);
		proc->available = false;
		proc->closing = true;
		kill(proc->pid, SIGKILL);
		ipc_msg_free(&msg);
		return;
	}
	switch (msg->type) {
	case IPC_MSG_PROCESS_BUSY:
		proc->available = false;
		service_process_ensure(service);
		break;
	case IPC_MSG_PROCESS_AVAIL:
		proc->available = true;
		break;
	case IPC_MSG_SESSION_START:
		session_start(master, proc, msg);
		break;
	case IPC_MSG_SESSION_DONE:
		session_done(proc, msg);
		break;
	default:
		i_error("service(%s): unexpected message type %d",
			service->name, msg->type);
		break;
	}
	ipc_msg_free(&msg);
}

static void service_child_exited(struct master *m, pid_t pid, int status)
{
	struct service_process *proc = service_process_lookup(pid);
	if (proc == NULL)
		return; /* e.g. a session child that failed before its exec */
	struct service *service = proc->service;
	service_process_detach(proc);
	bool crashed = false;
	if (WIFSIGNALED(status)) {
		crashed = WTERMSIG(status) != SIGTERM || !m->shutting_down;
		if (crashed)
			i_error("service(%s): child %d killed with signal %d",
				service->name, (int)pid, WTERMSIG(status));
	} else if (WIFEXITED(status) && WEXITSTATUS(status) != 0) {
		crashed = true;
		i_error("service(%s): child %d returned error %d",
			service->name, (int)pid, WEXITSTATUS(status));
	}
	bool quick = time(NULL) - proc->started < SERVICE_THROTTLE_SECS;
	service_process_free(proc);
	if (crashed && service->kind != SERVICE_KIND_MAIL && quick) {
		if (++service->crash_count >= SERVICE_MAX_QUICK_CRASHES &&
		    service->throttle_timer == NULL) {
			i_error("service(%s): command startup failed, "
				"throttling for %d secs", service->name,
				SERVICE_THROTTLE_SECS);
			struct timeval tv = { SERVICE_THROTTLE_SECS, 0 };
			service->throttle_timer = evtimer_new(
				m->base, service_throttle_end, service);
			evtimer_add(service->throttle_timer, &tv);
			service->crash_count = 0;
		}
	} else if (!crashed) {
		service->crash_count = 0;
	}
	service_process_ensure(service);
}

void services_sigchld(struct master *m)
{
	int status;
	pid_t pid;
	while ((pid = waitpid(-1, &status, WNOHANG)) > 0)
		service_child_exited(m, pid, status);
}

void services_kill(struct master *m, int sig)
{
	for (unsigned int i = 0; i < m->services_count; i++) {
		for (struct service_process *p = m->services[i]->processes;
		     p != NULL; p = p->next)
			kill(p->pid, sig);
	}
}

void services_start(struct master *m)
{
	for (unsigned int i = 0; i < m->services_count; i++)
		service_process_ensure(m->services[i]);
}
