#ifndef LOFT_MASTER_SERVICE_H
#define LOFT_MASTER_SERVICE_H
/* How a service process (auth, imap-login, imap, pop3, lmtp, ...) starts.

   The master forks and execs each service binary with:
     fd 0, 1   the client connection for per-session mail processes
               (imap, pop3), else /dev/null
     fd 2      the log (log_path, opened O_APPEND by the master)
     fd 3      the settings snapshot (settings_snapshot_read)
     fd 4      a control socket to the master (login processes use it to
               start sessions; see master-protocol.h), or closed
     fd 5...   listening sockets, described by LOFT_LISTENERS:
               "name:fd:flags,..." where flags is "ssl", "haproxy",
               "unix" or "" (e.g. "imap:5:,imaps:6:ssl")
   Environment: LOFT_SERVICE=<service name>, and for mail processes the
   session (see below).

   For tests and debugging, a service may be started by hand with
   "-c FILE" (reads the config file itself) instead of fd 3. */
#include "lib.h"
#include "settings.h"
#include "ipc.h"

#define MASTER_SETTINGS_FD 3
#define MASTER_CONTROL_FD 4
#define MASTER_LISTEN_FD_FIRST 5

struct master_listener {
	char *name;
	int fd;
	bool ssl;
	bool haproxy;
	bool unix_socket;
};

/* Session details handed to a post-login mail process (imap, pop3) by
   the master, as environment variables. */
struct master_session {
	const char *user;        /* LOFT_USER */
	const char *home;        /* LOFT_HOME, may be NULL */
	const char *mail;        /* LOFT_MAIL: mail_location, may be NULL */
	const char *rip, *lip;   /* LOFT_RIP, LOFT_LIP */
	unsigned int rport, lport; /* LOFT_RPORT, LOFT_LPORT */
	const char *session_id;  /* LOFT_SESSION */
	const char *tag;         /* LOFT_TAG: IMAP tag of LOGIN/AUTHENTICATE
	                            to answer "OK Logged in", NULL = none
	                            (PREAUTH when run by hand) */
	const char *client_input;/* LOFT_INPUT: base64 of bytes the client
	                            sent after the login command, NULL = none */
	const char *mech;        /* LOFT_MECH */
	bool secured;            /* LOFT_SECURED=1: TLS or localhost */
	bool tls;                /* LOFT_TLS=1 */
	const char *userdb_fields; /* LOFT_USERDB: tab-separated key=value */
};

/* Initialize a service: logging prefix (service name), settings from fd 3
   or "-c FILE" in argv, listeners from LOFT_LISTENERS. Exits with a
   fatal log line on error. The returned settings live until
   master_service_deinit(). */
const struct loft_settings *master_service_init(const char *name,
						int argc, char *argv[]);
void master_service_deinit(void);
const char *master_service_name(void);
/* Listeners handed over by the master (may be empty). */
const struct master_listener *master_service_listeners(unsigned int *count_r);
/* Session from the environment (for imap/pop3). Strings point into the
   environment. Returns false if LOFT_USER is unset. */
bool master_service_get_session(struct master_session *session_r);
/* The same from an IPC_MSG_SESSION_ADD message (fields named as in
   IPC_MSG_SESSION_START). Strings point into msg. Returns false if it
   has no user. */
bool master_service_session_from_ipc(const struct ipc_msg *msg,
				     struct master_session *session_r);
/* True when MASTER_CONTROL_FD is the master's socket for adding sessions
   to this mail process (service imap with client_limit > 1). */
bool master_service_session_control(void);

/* Drop privileges as the master asked in the environment
   (LOFT_RESTRICT_CHROOT, LOFT_RESTRICT_GID, LOFT_RESTRICT_UID): chroot,
   setgroups/setgid/setuid, and verify root can't be regained. Call after
   opening what needs privileges (TLS keys, sockets). Fatal on failure. */
void master_service_restrict(void);

/* In a service process the master started with listeners: get SIGTERM when
   the master dies (prctl PR_SET_PDEATHSIG), or exit now if it already has
   (the parent is no longer the pid the master gave in LOFT_MASTER_PID).
   Any uid/euid change clears the kernel setting: call this again after
   one. No-op in mail sessions and processes not started by loft. */
void master_service_die_with_master(void);

/* Tell the master over MASTER_CONTROL_FD whether this service process
   takes new connections: busy at its client_limit (the master then starts
   another process on the same listeners), available again below it.
   Sends only when the state changes. */
void master_service_report_busy(bool busy);

/* base_dir-relative path of a service socket, e.g. "auth-userdb".
   Caller frees. */
char *master_service_socket_path(const char *name);

#endif
