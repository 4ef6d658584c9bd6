/* Unit tests for src/lib-ipc/ipc.c: typed records with fd passing, and
   rejection of malformed records. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <unistd.h>
#include <errno.h>
#include <sys/socket.h>
#include <cmocka.h>
#include "ipc.h"

static void test_roundtrip_with_fd(void **state)
{
	int sp[2], pipefd[2];
	assert_int_equal(socketpair(AF_UNIX, SOCK_SEQPACKET, 0, sp), 0);
	assert_int_equal(pipe(pipefd), 0);
	struct ipc_msg *msg = ipc_msg_create(IPC_MSG_SESSION_START);
	ipc_msg_add(msg, "user", "alice");
	ipc_msg_addf(msg, "uid", "%u", 1000u);
	ipc_msg_add(msg, "empty", "");
	msg->fd = pipefd[1];
	assert_int_equal(ipc_send(sp[0], msg), 0);
	ipc_msg_free(&msg);

	struct ipc_msg *in;
	const char *error;
	assert_int_equal(ipc_recv(sp[1], &in, &error), 1);
	assert_int_equal(in->type, IPC_MSG_SESSION_START);
	assert_string_equal(ipc_msg_get(in, "user"), "alice");
	assert_string_equal(ipc_msg_get(in, "uid"), "1000");
	assert_string_equal(ipc_msg_get(in, "empty"), "");
	assert_null(ipc_msg_get(in, "nope"));
	assert_true(in->fd >= 0);
	assert_int_equal(write(in->fd, "x", 1), 1);
	char c;
	assert_int_equal(read(pipefd[0], &c, 1), 1);
	assert_int_equal(c, 'x');
	ipc_msg_free(&in);
	close(pipefd[0]);
	close(sp[0]);
	assert_int_equal(ipc_recv(sp[1], &in, &error), 0);
	close(sp[1]);
}

static void test_malformed(void **state)
{
	static const struct {
		const char *data;
		size_t size;
	} bad[] = {
		{ "", 0 + 1 },
		{ "\x01\x00\x00", 3 },
		{ "\x02\x00\x00\x00\x01\x00\x00\x00\x00\x00\x00\x00", 12 },
		{ "\x01\x00\x00\x00\x63\x00\x00\x00\x00\x00\x00\x00", 12 },
		{ "\x01\x00\x00\x00\x01\x00\x00\x00\x01\x00\x00\x00", 12 },
		{ "\x01\x00\x00\x00\x01\x00\x00\x00\x01\x00\x00\x00"
		  "\xff\xff\xff\xff", 16 },
		{ "\x01\x00\x00\x00\x01\x00\x00\x00\x01\x00\x00\x00"
		  "\x01\x00\x00\x00k\x01\x00\x00\x00\x00", 22 },
		{ "\x01\x00\x00\x00\x01\x00\x00\x00\x00\x00\x00\x00xx", 14 },
		{ "\x01\x00\x00\x00\x01\x00\x00\x00\xff\xff\x00\x00", 12 },
	};
	for (unsigned int i = 0; i < N_ELEMENTS(bad); i++) {
		int sp[2];
		assert_int_equal(socketpair(AF_UNIX, SOCK_SEQPACKET, 0, sp), 0);
		assert_int_equal(send(sp[0], bad[i].data, bad[i].size, 0),
				 (ssize_t)bad[i].size);
		struct ipc_msg *in = NULL;
		const char *error = NULL;
		assert_int_equal(ipc_recv(sp[1], &in, &error), -1);
		assert_null(in);
		assert_non_null(error);
		close(sp[0]);
		close(sp[1]);
	}
}

static void test_oversized(void **state)
{
	int sp[2];
	assert_int_equal(socketpair(AF_UNIX, SOCK_SEQPACKET, 0, sp), 0);
	int sz = 512 * 1024;
	setsockopt(sp[0], SOL_SOCKET, SO_SNDBUF, &sz, sizeof(sz));
	setsockopt(sp[1], SOL_SOCKET, SO_RCVBUF, &sz, sizeof(sz));
	size_t big = IPC_MAX_MSG_SIZE + 100;
	char *data = calloc(1, big);
	data[0] = 1;
	data[4] = 1;
	assert_int_equal(send(sp[0], data, big, 0), (ssize_t)big);
	struct ipc_msg *in = NULL;
	const char *error = NULL;
	assert_int_equal(ipc_recv(sp[1], &in, &error), -1);
	assert_string_equal(error, "message truncated");
	free(data);
	/* a too-big message is refused by the sender too */
	struct ipc_msg *msg = ipc_msg_create(IPC_MSG_SESSION_START);
	char *v = malloc(IPC_MAX_MSG_SIZE);
	memset(v, 'a', IPC_MAX_MSG_SIZE - 1);
	v[IPC_MAX_MSG_SIZE - 1] = '\0';
	ipc_msg_add(msg, "input", v);
	free(v);
	assert_int_equal(ipc_send(sp[0], msg), -1);
	assert_int_equal(errno, EMSGSIZE);
	ipc_msg_free(&msg);
	close(sp[0]);
	close(sp[1]);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_roundtrip_with_fd),
		cmocka_unit_test(test_malformed),
		cmocka_unit_test(test_oversized),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
