/* loft: the master process. Reads the configuration once, binds the
   listeners, starts the services and restarts them when they die. */
#include "master-common.h"
#include <errno.h>
#include <fcntl.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <syslog.h>

struct master *master;

static const char *default_config_path(void)
{
	if (access("/etc/loft/loft.conf", F_OK) == 0)
		return "/etc/loft/loft.conf";
	return "/etc/dovecot/dovecot.conf";
}

static void usage(void)
{
	fprintf(stderr, "Usage: loft [-F] [-c CONFIG] [-n | -a | --version]\n");
	exit(64);
}

static void service_add(struct master *m, const char *name,
			enum service_kind kind, const char *binary,
			unsigned int default_limit)
{
	struct service *s = i_new(struct service, 1);
	s->name = i_strdup(name);
	s->kind = kind;
	s->binary = binary;
	s->set = settings_service_find(m->set, name);
	s->process_limit = s->set != NULL && s->set->process_limit > 0 ?
		s->set->process_limit : default_limit;
	s->process_min_avail = s->set != NULL ? s->set->process_min_avail : 0;
	if (m->services_count < N_ELEMENTS(m->services))
		m->services[m->services_count++] = s;
}

static void services_create(struct master *m)
{
	service_add(m, "auth", SERVICE_KIND_AUTH, "loft-auth", 1);
	if (settings_has_protocol(m->set, "imap")) {
		service_add(m, "imap-login", SERVICE_KIND_LOGIN, "loft-login", 100);
		service_add(m, "imap", SERVICE_KIND_MAIL, "loft-imap", 1024);
	}
	if (settings_has_protocol(m->set, "pop3")) {
		service_add(m, "pop3-login", SERVICE_KIND_LOGIN, "loft-login", 100);
		service_add(m, "pop3", SERVICE_KIND_MAIL, "loft-pop3", 1024);
	}
	if (settings_has_protocol(m->set, "lmtp"))
		service_add(m, "lmtp", SERVICE_KIND_LMTP, "loft-lmtp", 1);
}

static void services_free(struct master *m)
{
	for (unsigned int i = 0; i < m->services_count; i++) {
		struct service *s = m->services[i];
		while (s->processes != NULL) {
			struct service_process *p = s->processes;
			s->processes = p->next;
			if (p->control_event != NULL)
				event_free(p->control_event);
			if (p->control_fd >= 0)
				close(p->control_fd);
			free(p->user);
			free(p->rip);
			free(p);
		}
		free(s->binary_path);
		if (s->throttle_timer != NULL)
			event_free(s->throttle_timer);
		free(s->name);
		free(s);
	}
	m->services_count = 0;
	process_table_deinit();
}

static bool log_is_syslog(const struct loft_settings *set)
{
	return set->log_path == NULL || set->log_path[0] == '\0' ||
		strcmp(set->log_path, "syslog") == 0;
}

static int open_log(struct master *m)
{
	const char *path = m->set->log_path;
	if (log_is_syslog(m->set)) {
		/* children write lines into a pipe; the master relays them to
		   syslog. The ident is Dovecot's, so that fail2ban's dovecot
		   filter (_daemon = dovecot) keeps matching. */
		int fds[2];
		if (pipe2(fds, O_CLOEXEC) < 0)
			i_fatal("pipe() failed: %m");
		openlog("dovecot", LOG_NDELAY | LOG_PID, LOG_MAIL);
		m->log_relay_fd = fds[0];
		return fds[1];
	}
	if (strcmp(path, "/dev/stderr") == 0)
		return dup(STDERR_FILENO);
	int fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
	if (fd < 0)
		i_fatal("Can't open log_path %s: %m", path);
	return fd;
}

static void log_relay_input(evutil_socket_t fd, short what, void *ctx)
{
	struct master *m = ctx;
	char buf[8192];
	ssize_t n = read(fd, buf, sizeof(buf));
	if (n <= 0)
		return;
	str_append_n(m->log_relay_buf, buf, (size_t)n);
	char *start = m->log_relay_buf->data, *nl;
	while ((nl = memchr(start, '\n', m->log_relay_buf->len -
			    (size_t)(start - m->log_relay_buf->data))) != NULL) {
		*nl = '\0';
		log_relay_to_syslog(start);
		start = nl + 1;
	}
	str_delete(m->log_relay_buf, 0, (size_t)(start - m->log_relay_buf->data));
	if (m->log_relay_buf->len > 65536) {
		/* a line without end: relay what we have */
		log_relay_to_syslog(str_c(m->log_relay_buf));
		str_truncate(m->log_relay_buf, 0);
	}
}

static int make_dir(const char *path, mode_t mode)
{
	if (mkdir(path, mode) < 0 && errno != EEXIST)
		return -1;
	return 0;
}

static void create_base_dirs(struct master *m)
{
	char *login_dir = i_strdup_printf("%s/login", m->set->base_dir);
	if (make_dir(m->set->base_dir, 0755) < 0)
		i_fatal("mkdir(%s) failed: %m", m->set->base_dir);
	/* chroot of the login processes: owned by root, nothing inside but
	   the auth-login socket */
	if (make_dir(login_dir, 0755) < 0)
		i_fatal("mkdir(%s) failed: %m", login_dir);
	free(login_dir);
}

static void check_users(struct master *m)
{
	if (!m->running_as_root)
		return;
	if (getpwnam(m->set->default_login_user) == NULL)
		i_fatal("%s: default_login_user doesn't exist: %s",
			m->set->config_path, m->set->default_login_user);
}

/* Every connection costs file descriptors: the login processes hold
   client_limit clients (two fds each while proxying TLS), the master a
   control socket per login process and the mail processes their client.
   Raise the soft limit to the hard one, as far as the kernel allows;
   every service inherits it. */
static void raise_fd_limit(void)
{
	struct rlimit rl;
	if (getrlimit(RLIMIT_NOFILE, &rl) < 0 || rl.rlim_cur >= rl.rlim_max)
		return;
	rlim_t want = rl.rlim_max;
	rl.rlim_cur = want;
	if (setrlimit(RLIMIT_NOFILE, &rl) < 0) {
		/* RLIM_INFINITY above fs.nr_open: try the usual kernel max */
		rl.rlim_cur = want > 1048576 ? 1048576 : want;
		if (setrlimit(RLIMIT_NOFILE, &rl) < 0)
			i_warning("setrlimit(RLIMIT_NOFILE, %llu) failed: %m",
				  (unsigned long long)rl.rlim_cur);
	}
}

/* A login process holds up to client_limit clients, two fds each while
   it proxies TLS (client + socketpair to the mail process). Warn when
   the fd limit every service inherits can't hold that, as Dovecot does,
   rather than failing accept() under load. */
static void check_fd_limit(struct master *m)
{
	struct rlimit rl;
	if (getrlimit(RLIMIT_NOFILE, &rl) < 0 || rl.rlim_cur == RLIM_INFINITY)
		return;
	for (unsigned int i = 0; i < m->services_count; i++) {
		const struct service *s = m->services[i];
		if (s->kind != SERVICE_KIND_LOGIN)
			continue;
		unsigned int clients = s->set != NULL && s->set->client_limit > 0 ?
			s->set->client_limit : 1000;
		unsigned int count = s->set != NULL ? s->set->service_count : 1;
		if (count != 0 && count < clients)
			clients = count;
		unsigned long long need = (unsigned long long)clients * 2 + 32;
		if (need > rl.rlim_cur)
			i_warning("service(%s): client_limit (%u) needs up to %llu "
				  "file descriptors, but RLIMIT_NOFILE is %llu: "
				  "raise the hard limit (ulimit -Hn)", s->name,
				  clients, need, (unsigned long long)rl.rlim_cur);
	}
}

static void sig_terminate(evutil_socket_t sig, short what, void *ctx)
{
	struct master *m = ctx;
	i_info("master: Killed with signal %d (by pid=%d uid=%d code=kill)",
	       (int)sig, 0, 0);
	m->shutting_down = true;
	event_base_loopbreak(m->base);
}

static void sig_child(evutil_socket_t sig, short what, void *ctx)
{
	services_sigchld(ctx);
}

static char *exe_dir(void)
{
	char buf[4096];
	ssize_t n = readlink("/proc/self/exe", buf, sizeof(buf) - 1);
	if (n <= 0)
		return i_strdup(".");
	buf[n] = '\0';
	char *slash = strrchr(buf, '/');
	if (slash != NULL)
		*slash = '\0';
	return i_strdup(buf);
}

static void master_shutdown(struct master *m)
{
	services_kill(m, SIGTERM);
	/* give children a moment, then make sure they are gone */
	for (int i = 0; i < 50; i++) {
		services_sigchld(m);
		bool any = false;
		for (unsigned int j = 0; j < m->services_count; j++)
			any = any || m->services[j]->processes != NULL;
		if (!any)
			break;
		usleep(20000);
	}
	services_kill(m, SIGKILL);
	services_sigchld(m);
	master_listeners_close(m);
}

int main(int argc, char *argv[])
{
	const char *config_path = NULL;
	bool foreground = false;
	int print_mode = 0;

	log_init("master");
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "-c") == 0 && i + 1 < argc)
			config_path = argv[++i];
		else if (strcmp(argv[i], "-F") == 0)
			foreground = true;
		else if (strcmp(argv[i], "-n") == 0)
			print_mode = 1;
		else if (strcmp(argv[i], "-a") == 0)
			print_mode = 2;
		else if (strcmp(argv[i], "--version") == 0) {
			printf("%s\n", LOFT_VERSION);
			return 0;
		} else
			usage();
	}
	if (config_path == NULL)
		config_path = default_config_path();

	struct master m;
	memset(&m, 0, sizeof(m));
	master = &m;
	char *error = NULL;
	if (settings_read(config_path, &m.set, &error) < 0) {
		fprintf(stderr, "loft: Fatal: %s\n", error);
		free(error);
		return FATAL_EXIT_CODE;
	}
	if (print_mode != 0) {
		settings_print(m.set, print_mode == 1, stdout);
		settings_free(&m.set);
		return 0;
	}
	m.running_as_root = geteuid() == 0;
	m.exe_dir = exe_dir();
	raise_fd_limit();
	m.null_fd = open("/dev/null", O_RDWR | O_CLOEXEC);
	if (m.null_fd < 0)
		i_fatal("open(/dev/null) failed: %m");
	check_users(&m);
	create_base_dirs(&m);
	m.log_relay_fd = -1;
	m.log_fd = open_log(&m);
	/* the master's own lines go to log_path too */
	if (m.log_relay_fd >= 0)
		log_set_syslog(true);
	else
		dup2(m.log_fd, STDERR_FILENO);
	settings_log_warnings(m.set);

	m.snapshot_fd = memfd_create("loft-settings", MFD_CLOEXEC);
	if (m.snapshot_fd < 0 || settings_snapshot_write(m.set, m.snapshot_fd) < 0)
		i_fatal("Can't write the settings snapshot: %m");

	services_create(&m);
	check_fd_limit(&m);
	if (master_listeners_create(&m, &error) < 0) {
		i_error("%s", error);
		free(error);
		master_listeners_close(&m);
		return FATAL_EXIT_CODE;
	}
	if (!foreground) {
		pid_t pid = fork();
		if (pid < 0)
			i_fatal("fork() failed: %m");
		if (pid > 0)
			_exit(0);
		setsid();
		int null_fd = open("/dev/null", O_RDWR);
		dup2(null_fd, STDIN_FILENO);
		dup2(null_fd, STDOUT_FILENO);
		if (m.log_relay_fd < 0)
			dup2(m.log_fd, STDERR_FILENO);
		else
			dup2(null_fd, STDERR_FILENO);
		close(null_fd);
	}
	char *pidfile = i_strdup_printf("%s/master.pid", m.set->base_dir);
	FILE *f = fopen(pidfile, "w");
	if (f != NULL) {
		fprintf(f, "%d\n", (int)getpid());
		fclose(f);
	}

	signal(SIGPIPE, SIG_IGN);
	m.base = event_base_new();
	struct event *ev_term = evsignal_new(m.base, SIGTERM, sig_terminate, &m);
	struct event *ev_int = evsignal_new(m.base, SIGINT, sig_terminate, &m);
	struct event *ev_chld = evsignal_new(m.base, SIGCHLD, sig_child, &m);
	event_add(ev_term, NULL);
	event_add(ev_int, NULL);
	event_add(ev_chld, NULL);
	struct event *ev_log = NULL;
	if (m.log_relay_fd >= 0) {
		m.log_relay_buf = str_new(1024);
		ev_log = event_new(m.base, m.log_relay_fd, EV_READ | EV_PERSIST,
				   log_relay_input, &m);
		event_add(ev_log, NULL);
	}

	string_t *protos = str_new(64);
	for (unsigned int i = 0; m.set->protocols != NULL &&
	     m.set->protocols[i] != NULL; i++)
		str_printfa(protos, "%s%s", i > 0 ? ", " : "", m.set->protocols[i]);
	i_info("loft v%s starting up for %s", LOFT_VERSION,
	       str_len(protos) > 0 ? str_c(protos) : "(none)");
	str_free(&protos);
	services_start(&m);
	event_base_dispatch(m.base);

	master_shutdown(&m);
	if (ev_log != NULL) {
		/* the children's last words */
		evutil_make_socket_nonblocking(m.log_relay_fd);
		log_relay_input(m.log_relay_fd, EV_READ, &m);
		event_free(ev_log);
		str_free(&m.log_relay_buf);
		close(m.log_relay_fd);
	}
	(void)unlink(pidfile);
	free(pidfile);
	event_free(ev_term);
	event_free(ev_int);
	event_free(ev_chld);
	services_free(&m);
	event_base_free(m.base);
	close(m.snapshot_fd);
	close(m.log_fd);
	close(m.null_fd);
	free(m.exe_dir);
	settings_free(&m.set);
	return 0;
}
