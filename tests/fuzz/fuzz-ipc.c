/* Fuzz target for the IPC record parser (src/lib-ipc/ipc.c): what the
   master reads from login processes (SESSION_START: they face the
   network) and from mail processes (SESSION_DONE: they run as the
   user), and what a mail process reads from the master (SESSION_ADD).
   The input is one datagram on a SOCK_SEQPACKET socketpair, as a peer
   would send it. A record that parses must give NUL-free fields within
   the limits, survive a send/receive round trip unchanged, and yield a
   session (master_service_session_from_ipc()) whose strings are the
   message's own.

   Built by tests/fuzz/meson.build: a libFuzzer binary with clang and
   -Dfuzzing=true (`make fuzz`), else linked with replay-main.c. */
#include "lib.h"
#include "ipc.h"
#include "master-service.h"
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/socket.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_round_trip(int sp[2], const struct ipc_msg *msg)
{
	struct ipc_msg *again;
	const char *error;

	if (ipc_send(sp[0], msg) < 0)
		abort();
	if (ipc_recv(sp[1], &again, &error) != 1)
		abort();
	if (again->type != msg->type ||
	    again->fields_count != msg->fields_count)
		abort();
	for (unsigned int i = 0; i < msg->fields_count; i++) {
		if (strcmp(again->fields[i].key, msg->fields[i].key) != 0 ||
		    strcmp(again->fields[i].value, msg->fields[i].value) != 0)
			abort();
	}
	ipc_msg_free(&again);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	int sp[2];
	struct ipc_msg *msg;
	const char *error;

	/* a datagram a little over the limit must be refused as truncated */
	if (size > IPC_MAX_MSG_SIZE + 64)
		return 0;
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sp) < 0)
		abort();
	int bufsize = 4 * IPC_MAX_MSG_SIZE;
	(void)setsockopt(sp[0], SOL_SOCKET, SO_SNDBUF, &bufsize, sizeof(bufsize));
	(void)setsockopt(sp[1], SOL_SOCKET, SO_RCVBUF, &bufsize, sizeof(bufsize));
	if (send(sp[0], data, size, 0) != (ssize_t)size)
		abort();
	int ret = ipc_recv(sp[1], &msg, &error);
	if (ret == 1) {
		if (size > IPC_MAX_MSG_SIZE || msg->type < 1 ||
		    msg->type > IPC_MSG_TYPE_MAX ||
		    msg->fields_count > IPC_MAX_FIELDS || msg->fd != -1)
			abort();
		for (unsigned int i = 0; i < msg->fields_count; i++) {
			if (msg->fields[i].key == NULL ||
			    msg->fields[i].value == NULL)
				abort();
		}
		check_round_trip(sp, msg);
		struct master_session s;
		if (master_service_session_from_ipc(msg, &s)) {
			if (s.user == NULL || s.user[0] == '\0' ||
			    strcmp(s.user, ipc_msg_get(msg, "user")) != 0)
				abort();
			if (s.session_id != NULL &&
			    strcmp(s.session_id, ipc_msg_get(msg, "session")) != 0)
				abort();
		} else if (ipc_msg_get(msg, "user") != NULL &&
			   ipc_msg_get(msg, "user")[0] != '\0') {
			abort();
		}
		ipc_msg_free(&msg);
	} else if (ret == 0 || error == NULL) {
		/* a non-empty datagram is never EOF; a failure says why */
		if (size > 0)
			abort();
	}
	close(sp[0]);
	close(sp[1]);
	return 0;
}
