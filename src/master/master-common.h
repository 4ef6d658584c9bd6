#ifndef LOFT_MASTER_COMMON_H
#define LOFT_MASTER_COMMON_H
/* The master process: reads the config once, binds listeners, starts and
   supervises the services (DESIGN.md "Processes"). */
#include "lib.h"
#include "log.h"
#include "settings.h"
#include "ipc.h"
#include <event2/event.h>
#include <sys/types.h>

enum service_kind {
	SERVICE_KIND_AUTH,
	SERVICE_KIND_LOGIN,   /* imap-login, pop3-login */
	SERVICE_KIND_LMTP,
	SERVICE_KIND_MAIL,    /* imap, pop3: one process per session */
};

struct master_listener_fd {
	char *name;
	int fd;
	bool ssl;
	bool haproxy;
	bool unix_socket;
	char *path;           /* unix socket path, unlinked at exit */
};

struct service;

struct service_process {
	struct service_process *prev, *next; /* service->processes */
	struct service_process *hash_next;   /* process-table.c pid hash */
	struct service *service;
	pid_t pid;
	int control_fd;       /* login processes: SEQPACKET to the master */
	struct event *control_event;
	bool available;       /* login: still accepting connections */
	time_t started;
	char *user, *rip;     /* mail sessions: for mail_max_userip_connections */
	/* a mail process serving several sessions of one user (service
	   client_limit > 1; session.c): what they must share to be added
	   to it, and each session's id and remote IP */
	char *group_key;
	struct service_session *sessions;
	unsigned int sessions_count, sessions_alloc;
	bool closing;         /* no sessions left: control socket closed */
};

struct service_session {
	char *id, *rip;
};

struct service {
	char *name;
	enum service_kind kind;
	const char *binary;   /* "loft-login" ... */
	char *binary_path;    /* resolved once (master_binary_path) */
	const struct service_settings *set; /* may be NULL for defaults */
	struct master_listener_fd *listeners;
	unsigned int listeners_count;
	struct service_process *processes;
	unsigned int process_count;
	unsigned int process_limit;
	unsigned int process_min_avail;
	unsigned int crash_count;   /* recent crashes, for throttling */
	time_t last_crash;
	struct event *throttle_timer;
	bool warned_limit;
};

struct master {
	struct loft_settings *set;
	struct event_base *base;
	int snapshot_fd;       /* memfd with the settings snapshot */
	int log_fd;
	int null_fd;           /* /dev/null, for children's unused fds */
	int log_relay_fd;      /* log_path = syslog: read end of the log pipe */
	string_t *log_relay_buf;
	bool running_as_root;
	char *exe_dir;
	struct service *services[16];
	unsigned int services_count;
	bool shutting_down;
};

extern struct master *master;

/* listeners.c: bind every inet/unix listener of the enabled services.
   Returns -1 with *error_r on failure. */
int master_listeners_create(struct master *m, char **error_r);
void master_listeners_close(struct master *m);

/* service.c */
struct service *service_find(struct master *m, const char *name);
/* true (and a warning, once until a process exits) when the service has
   process_limit processes */
bool service_process_limit_reached(struct service *service);
void services_start(struct master *m);
void service_process_ensure(struct service *service);
void services_sigchld(struct master *m);
void services_kill(struct master *m, int sig);
/* Read proc's IPC messages from fd (its end of the control socket,
   made non-blocking); proc owns fd from now on. */
void service_process_listen_control(struct service_process *proc, int fd);
/* Resolve a service binary (build tree or libexec). Caller frees. */
char *master_binary_path(struct master *m, const char *binary);

/* process-table.c: O(1) bookkeeping of children. attach links proc into
   service->processes (process_count++), the pid hash and, when proc->user
   and proc->rip are set, the per (service, user, rip) session count;
   detach undoes all of it (the caller frees proc). */
void service_process_attach(struct service *service,
			    struct service_process *proc);
void service_process_detach(struct service_process *proc);
struct service_process *service_process_lookup(pid_t pid);
/* One more session (id, rip: may be NULL) served by a mail process,
   counted for mail_max_userip_connections until removed or until the
   process is detached. remove returns false if proc has no such id. */
void service_process_session_add(struct service_process *proc,
				 const char *id, const char *rip);
bool service_process_session_remove(struct service_process *proc,
				    const char *id);
/* Live sessions of service for user from rip. */
unsigned int service_userip_count(const struct service *service,
				  const char *user, const char *rip);
void process_table_deinit(void);

/* session.c: start a post-login mail session (imap, pop3) for a login
   process's SESSION_START request; replies SESSION_STARTED. */
void session_start(struct master *m, struct service_process *login,
		   struct ipc_msg *msg);
/* A mail process's IPC_MSG_SESSION_DONE: one of its sessions ended;
   with none left, close its control socket (it exits then). */
void session_done(struct service_process *proc, struct ipc_msg *msg);

#endif
