#ifndef LOFT_IPC_H
#define LOFT_IPC_H
/* Typed messages between loft processes over SOCK_SEQPACKET unix
   sockets: one datagram is one record, optionally carrying one fd
   (SCM_RIGHTS). Every message type is defined here.

   Wire format (all integers little-endian u32):
     version (IPC_VERSION), type, field count,
     then per field: key length, key bytes, value length, value bytes.
   Readers check every length against the datagram size and reject
   anything left over; no peer's lengths or strings are trusted. */
#include "lib.h"

#define IPC_VERSION 1
#define IPC_MAX_MSG_SIZE (64 * 1024)
#define IPC_MAX_FIELDS 64

enum ipc_msg_type {
	/* login -> master: start a post-login session for an authenticated
	   user. fd = the client connection (or the socketpair end the login
	   process proxies TLS through). Fields: service (imap|pop3), user,
	   uid, gid, home, mail, rip, lip, rport, lport, session, tag, input
	   (base64), mech, secured (0/1), tls (0/1), userdb (tab-separated
	   key=value of all userdb fields). */
	IPC_MSG_SESSION_START = 1,
	/* master -> login: reply. Fields: status (ok|fail), pid (on ok),
	   reason (on fail, client-safe). */
	IPC_MSG_SESSION_STARTED = 2,
	/* login -> master: this process accepts no more connections (its
	   service_count or client_limit is reached); start another. */
	IPC_MSG_PROCESS_BUSY = 3,
	/* login -> master: this process accepts connections again. */
	IPC_MSG_PROCESS_AVAIL = 4,
	/* master -> mail process (imap with client_limit > 1): serve one
	   more session of the same user. fd = the client connection;
	   fields as in IPC_MSG_SESSION_START. */
	IPC_MSG_SESSION_ADD = 5,
	/* mail process -> master: a session added by SESSION_ADD (or the
	   first one, from the environment) has ended. Fields: session (its
	   id), rip. When the process has none left the master closes the
	   control socket and the process exits. */
	IPC_MSG_SESSION_DONE = 6,
};
#define IPC_MSG_TYPE_MAX 6

struct ipc_field {
	char *key;
	char *value;  /* NUL-terminated; may not contain NUL itself */
};

struct ipc_msg {
	enum ipc_msg_type type;
	struct ipc_field fields[IPC_MAX_FIELDS];
	unsigned int fields_count;
	int fd;       /* -1 if none; the receiver owns it */
};

struct ipc_msg *ipc_msg_create(enum ipc_msg_type type);
/* Add a field (copied). Values containing NUL are not possible. */
void ipc_msg_add(struct ipc_msg *msg, const char *key, const char *value);
void ipc_msg_addf(struct ipc_msg *msg, const char *key, const char *fmt, ...)
	ATTR_FORMAT(3, 4);
/* Value of a field, or NULL. */
const char *ipc_msg_get(const struct ipc_msg *msg, const char *key);
/* Frees the message; closes msg->fd if it is still >= 0. */
void ipc_msg_free(struct ipc_msg **msg);

/* Send msg (and msg->fd if >= 0; the sender keeps its copy of the fd).
   Returns 0, or -1 with errno. */
int ipc_send(int sock, const struct ipc_msg *msg);
/* Receive one message. Returns 1 with *msg_r, 0 on EOF, -1 on error
   (errno EAGAIN for a non-blocking socket with nothing to read, EPROTO
   for a malformed record, with *error_r describing it). */
int ipc_recv(int sock, struct ipc_msg **msg_r, const char **error_r);

#endif
