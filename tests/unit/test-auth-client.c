/* auth-client against an in-process fake auth server. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <cmocka.h>
#include <event2/event.h>
#include <event2/listener.h>
#include <event2/bufferevent.h>
#include <event2/buffer.h>

#include "lib.h"
#include "auth-client.h"
#include "auth-protocol.h"

/* ---- fake server ---- */

struct fake_server {
	struct event_base *base;
	struct evconnlistener *listener;
	struct bufferevent *conn;
	char path[108];
	char dir[64];
	char *last_password;
	unsigned int connects;
	/* replies held back to answer in reverse order */
	char *held[8];
	unsigned int held_count;
	bool hold;
};

static struct fake_server server;

static void server_reply(const char *line)
{
	bufferevent_write(server.conn, line, strlen(line));
}

static void server_handle(char **args)
{
	const char *user = auth_protocol_args_find(args, 2, "user");
	const char *pass = auth_protocol_args_find(args, 2, "password");
	char line[1024];

	free(server.last_password);
	server.last_password = i_strdup(pass);
	if (user == NULL)
		user = "";
	if (strcmp(user, "drop") == 0) {
		bufferevent_free(server.conn);
		server.conn = NULL;
		return;
	}
	if (strcmp(user, "long") == 0) {
		char *big = i_malloc(AUTH_CLIENT_MAX_REPLY_LINE + 10);
		memset(big, 'a', AUTH_CLIENT_MAX_REPLY_LINE + 9);
		big[AUTH_CLIENT_MAX_REPLY_LINE + 9] = '\0';
		server_reply(big);
		free(big);
		return;
	}
	if (strcmp(user, "ok") == 0)
		snprintf(line, sizeof(line), "%s\t%s\tuser=canon\tuid=1000\tgid=1001"
			 "\thome=/home/x\tmail=maildir:~/M\\taildir\tquota_rule=*:storage=1G\n",
			 strcmp(args[0], "USER") == 0 ? "USER" : "OK", args[1]);
	else if (strcmp(user, "fail") == 0)
		snprintf(line, sizeof(line), "FAIL\t%s\tuser=fail\treason=Authentication failed.\n", args[1]);
	else if (strcmp(user, "temp") == 0)
		snprintf(line, sizeof(line), "FAIL\t%s\treason=down\ttemp=1\n", args[1]);
	else if (strcmp(user, "garbage") == 0)
		snprintf(line, sizeof(line), "OK\tnotanid\nOK\t%s\tx=\\q\nFAIL\t%s\n",
			 args[1], args[1]);
	else
		snprintf(line, sizeof(line), "NOTFOUND\t%s\n", args[1]);
	if (server.hold && server.held_count < N_ELEMENTS(server.held)) {
		server.held[server.held_count++] = i_strdup(line);
		return;
	}
	server_reply(line);
}

static void server_read_cb(struct bufferevent *bev, void *ctx)
{
	struct evbuffer *in = bufferevent_get_input(bev);
	char *line;
	size_t len;

	while (server.conn == bev &&
	       (line = evbuffer_readln(in, &len, EVBUFFER_EOL_LF)) != NULL) {
		char **args;
		const char *error;
		assert_int_equal(auth_protocol_parse_line(line, len, &args, &error), 0);
		server_handle(args);
		auth_protocol_args_free(&args);
		free(line);
	}
}

static void server_event_cb(struct bufferevent *bev, short what, void *ctx)
{
	if (server.conn == bev) {
		bufferevent_free(bev);
		server.conn = NULL;
	}
}

static void server_accept_cb(struct evconnlistener *l, evutil_socket_t fd,
			     struct sockaddr *sa, int socklen, void *ctx)
{
	if (server.conn != NULL)
		bufferevent_free(server.conn);
	server.connects++;
	server.conn = bufferevent_socket_new(server.base, fd, BEV_OPT_CLOSE_ON_FREE);
	bufferevent_setcb(server.conn, server_read_cb, NULL, server_event_cb, NULL);
	bufferevent_enable(server.conn, EV_READ | EV_WRITE);
	server_reply("VERSION\t1\t0\n");
}

static void server_start(void)
{
	struct sockaddr_un sun;
	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	strcpy(sun.sun_path, server.path);
	unlink(server.path);
	server.listener = evconnlistener_new_bind(server.base, server_accept_cb,
		NULL, LEV_OPT_CLOSE_ON_FREE, 16, (struct sockaddr *)&sun, sizeof(sun));
	assert_non_null(server.listener);
}

static void server_stop(void)
{
	if (server.conn != NULL) {
		bufferevent_free(server.conn);
		server.conn = NULL;
	}
	if (server.listener != NULL) {
		evconnlistener_free(server.listener);
		server.listener = NULL;
	}
	unlink(server.path);
}

static int setup(void **state)
{
	memset(&server, 0, sizeof(server));
	strcpy(server.dir, "/tmp/loft-test-authc-XXXXXX");
	assert_non_null(mkdtemp(server.dir));
	snprintf(server.path, sizeof(server.path), "%s/auth", server.dir);
	server.base = event_base_new();
	server_start();
	return 0;
}

static int teardown(void **state)
{
	server_stop();
	for (unsigned int i = 0; i < server.held_count; i++)
		free(server.held[i]);
	free(server.last_password);
	event_base_free(server.base);
	rmdir(server.dir);
	return 0;
}

/* ---- results ---- */

struct result {
	bool called;
	unsigned int calls;
	enum auth_client_status status;
	char *user, *reason, *home, *mail, *quota;
	bool uid_set, gid_set;
	uid_t uid;
	gid_t gid;
	unsigned int fields_count;
};

static void result_cb(const struct auth_client_result *r, void *context)
{
	struct result *res = context;
	res->called = true;
	res->calls++;
	res->status = r->status;
	res->user = i_strdup(r->user);
	res->reason = i_strdup(r->reason);
	res->home = i_strdup(r->home);
	res->mail = i_strdup(r->mail);
	res->uid_set = r->uid_set;
	res->gid_set = r->gid_set;
	res->uid = r->uid;
	res->gid = r->gid;
	res->fields_count = r->fields_count;
	for (unsigned int i = 0; i < r->fields_count; i++) {
		if (strcmp(r->fields[i].key, "quota_rule") == 0)
			res->quota = i_strdup(r->fields[i].value);
	}
}

static void result_free(struct result *res)
{
	free(res->user);
	free(res->reason);
	free(res->home);
	free(res->mail);
	free(res->quota);
	memset(res, 0, sizeof(*res));
}

static void run_until(bool *flag)
{
	uint64_t start = time_monotonic_ms();
	while (!*flag) {
		assert_true(time_monotonic_ms() - start < 5000);
		event_base_loop(server.base, EVLOOP_ONCE | EVLOOP_NONBLOCK);
		usleep(1000);
	}
}

static unsigned int verify(struct auth_client *client, const char *user,
			   const char *pass, struct result *res)
{
	struct auth_client_request req = {
		.service = "imap", .user = user, .password = pass,
		.mech = "PLAIN", .rip = "192.0.2.1", .lip = "192.0.2.2",
		.session = "s1", .secured = true,
	};
	return auth_client_passdb_verify(client, &req, result_cb, res);
}

static void test_ok_fail_temp(void **state)
{
	struct auth_client *client = auth_client_create(server.base, server.path);
	struct result res = { 0 };

	unsigned int id = verify(client, "ok", "pa\tss\\w\nord", &res);
	assert_true(id > 0);
	/* never called from inside the call */
	assert_false(res.called);
	assert_int_equal(auth_client_pending_count(client), 1);
	run_until(&res.called);
	assert_int_equal(res.status, AUTH_CLIENT_OK);
	assert_string_equal(res.user, "canon");
	assert_true(res.uid_set && res.uid == 1000);
	assert_true(res.gid_set && res.gid == 1001);
	assert_string_equal(res.home, "/home/x");
	assert_string_equal(res.mail, "maildir:~/M\taildir");
	assert_string_equal(res.quota, "*:storage=1G");
	assert_int_equal(res.fields_count, 5);
	/* the password went over escaped and came out intact */
	assert_string_equal(server.last_password, "pa\tss\\w\nord");
	assert_int_equal(auth_client_pending_count(client), 0);
	result_free(&res);

	verify(client, "fail", "x", &res);
	run_until(&res.called);
	assert_int_equal(res.status, AUTH_CLIENT_FAIL);
	assert_string_equal(res.reason, "Authentication failed.");
	result_free(&res);

	verify(client, "temp", "x", &res);
	run_until(&res.called);
	assert_int_equal(res.status, AUTH_CLIENT_TEMPFAIL);
	assert_string_equal(res.reason, "down");
	result_free(&res);

	auth_client_userdb_lookup(client, "lmtp", "ok", result_cb, &res);
	run_until(&res.called);
	assert_int_equal(res.status, AUTH_CLIENT_OK);
	assert_true(res.uid_set);
	result_free(&res);
	auth_client_userdb_lookup(client, "lmtp", "nobody", result_cb, &res);
	run_until(&res.called);
	assert_int_equal(res.status, AUTH_CLIENT_NOTFOUND);
	assert_false(res.uid_set);
	result_free(&res);
	assert_int_equal(server.connects, 1);
	auth_client_destroy(&client);
	assert_null(client);
}

static void test_out_of_order_and_cancel(void **state)
{
	struct auth_client *client = auth_client_create(server.base, server.path);
	struct result res[4];
	memset(res, 0, sizeof(res));

	server.hold = true;
	unsigned int ids[4];
	ids[0] = verify(client, "ok", "a", &res[0]);
	ids[1] = verify(client, "fail", "b", &res[1]);
	ids[2] = verify(client, "temp", "c", &res[2]);
	ids[3] = verify(client, "ok", "d", &res[3]);
	for (unsigned int i = 0; i < 4; i++)
		for (unsigned int j = i + 1; j < 4; j++)
			assert_int_not_equal(ids[i], ids[j]);
	while (server.held_count < 4) {
		event_base_loop(server.base, EVLOOP_ONCE | EVLOOP_NONBLOCK);
		usleep(1000);
	}
	auth_client_cancel(client, ids[3]);
	assert_int_equal(auth_client_pending_count(client), 3);
	/* answer in reverse order */
	for (unsigned int i = server.held_count; i > 0; i--)
		server_reply(server.held[i - 1]);
	run_until(&res[0].called);
	run_until(&res[1].called);
	run_until(&res[2].called);
	assert_int_equal(res[0].status, AUTH_CLIENT_OK);
	assert_int_equal(res[1].status, AUTH_CLIENT_FAIL);
	assert_int_equal(res[2].status, AUTH_CLIENT_TEMPFAIL);
	/* the cancelled one never calls back */
	for (unsigned int i = 0; i < 20; i++)
		event_base_loop(server.base, EVLOOP_ONCE | EVLOOP_NONBLOCK);
	assert_false(res[3].called);
	for (unsigned int i = 0; i < 4; i++)
		result_free(&res[i]);
	auth_client_destroy(&client);
}

static void test_drop_and_reconnect(void **state)
{
	struct auth_client *client = auth_client_create(server.base, server.path);
	struct result res[3];
	memset(res, 0, sizeof(res));

	server.hold = true;
	verify(client, "fail", "a", &res[0]);
	verify(client, "drop", "b", &res[1]);
	run_until(&res[1].called);
	run_until(&res[0].called);
	/* the connection went away with both pending: TEMPFAIL each once */
	assert_int_equal(res[0].status, AUTH_CLIENT_TEMPFAIL);
	assert_int_equal(res[1].status, AUTH_CLIENT_TEMPFAIL);
	assert_int_equal(res[0].calls, 1);
	server.hold = false;
	/* the auth process "restarted": a new request reconnects */
	server_stop();
	server_start();
	verify(client, "ok", "c", &res[2]);
	run_until(&res[2].called);
	assert_int_equal(res[2].status, AUTH_CLIENT_OK);
	assert_int_equal(server.connects, 2);
	for (unsigned int i = 0; i < 3; i++)
		result_free(&res[i]);

	/* no socket at all: TEMPFAIL, from the loop */
	server_stop();
	struct result r = { 0 };
	verify(client, "ok", "x", &r);
	assert_false(r.called);
	run_until(&r.called);
	assert_int_equal(r.status, AUTH_CLIENT_TEMPFAIL);
	result_free(&r);
	/* a cancelled early failure doesn't call back either */
	unsigned int id = verify(client, "ok", "x", &r);
	auth_client_cancel(client, id);
	for (unsigned int i = 0; i < 20; i++)
		event_base_loop(server.base, EVLOOP_ONCE | EVLOOP_NONBLOCK);
	assert_false(r.called);
	server_start();
	auth_client_destroy(&client);
}

static void test_bad_replies(void **state)
{
	struct auth_client *client = auth_client_create(server.base, server.path);
	struct result res = { 0 };

	/* unparseable lines are skipped; the FAIL for our id still counts */
	verify(client, "garbage", "x", &res);
	run_until(&res.called);
	assert_int_equal(res.status, AUTH_CLIENT_FAIL);
	result_free(&res);
	/* an over-long reply drops the connection: TEMPFAIL */
	verify(client, "long", "x", &res);
	run_until(&res.called);
	assert_int_equal(res.status, AUTH_CLIENT_TEMPFAIL);
	result_free(&res);
	/* and the next request works on a new connection */
	verify(client, "ok", "x", &res);
	run_until(&res.called);
	assert_int_equal(res.status, AUTH_CLIENT_OK);
	result_free(&res);
	/* a request too big for the protocol fails without being sent */
	char *big = i_malloc(AUTH_PROTOCOL_MAX_LINE + 1);
	memset(big, 'p', AUTH_PROTOCOL_MAX_LINE);
	big[AUTH_PROTOCOL_MAX_LINE] = '\0';
	verify(client, "ok", big, &res);
	run_until(&res.called);
	assert_int_equal(res.status, AUTH_CLIENT_TEMPFAIL);
	result_free(&res);
	free(big);
	/* destroying with pending requests calls nothing */
	server.hold = true;
	verify(client, "ok", "x", &res);
	auth_client_destroy(&client);
	for (unsigned int i = 0; i < 20; i++)
		event_base_loop(server.base, EVLOOP_ONCE | EVLOOP_NONBLOCK);
	assert_false(res.called);
}

int main(void)
{
	/* as master_service_init() does in every loft process */
	signal(SIGPIPE, SIG_IGN);
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_ok_fail_temp, setup, teardown),
		cmocka_unit_test_setup_teardown(test_out_of_order_and_cancel, setup, teardown),
		cmocka_unit_test_setup_teardown(test_drop_and_reconnect, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bad_replies, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
