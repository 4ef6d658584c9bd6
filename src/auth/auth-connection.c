/* Client connections of the auth process. */
#include "auth-connection-private.h"
#include "auth-sasl-server.h"
#include "auth-protocol.h"
#include "auth-request.h"
#include "auth-worker.h"
#include "log.h"

#include <stdlib.h>
#include <unistd.h>
#include <event2/event.h>
#include <event2/bufferevent.h>
#include <event2/buffer.h>

struct delayed_reply {
	struct delayed_reply *prev, *next;
	struct auth_connection *conn;
	struct event *timer;
	char *line;
};

struct conn_lookup {
	struct conn_lookup *prev, *next;
	struct auth_connection *conn;
	uint32_t id;
	struct auth_worker_request *wreq;
	auth_connection_pass_callback_t *callback;
};

static struct auth_connection *connections;
static unsigned int connections_count;
static struct auth_worker_pool *worker_pool;

void auth_connections_init(struct auth_worker_pool *pool)
{
	worker_pool = pool;
}

static void lookup_unlink(struct conn_lookup *l)
{
	struct auth_connection *conn = l->conn;
	if (l->prev != NULL)
		l->prev->next = l->next;
	else
		conn->lookups = l->next;
	if (l->next != NULL)
		l->next->prev = l->prev;
	conn->lookups_count--;
}

static void lookup_callback(const struct auth_request_reply *reply,
			    void *context)
{
	struct conn_lookup *l = context;
	struct auth_connection *conn = l->conn;

	lookup_unlink(l);
	l->callback(conn, l->id, reply);
	free(l);
}

void auth_connection_pass(struct auth_connection *conn, uint32_t id,
			  const struct auth_request_info *info,
			  auth_connection_pass_callback_t *callback)
{
	struct conn_lookup *l = i_new(struct conn_lookup, 1);
	l->conn = conn;
	l->id = id;
	l->callback = callback;
	l->next = conn->lookups;
	if (l->next != NULL)
		l->next->prev = l;
	conn->lookups = l;
	conn->lookups_count++;
	/* may call back at once (no workers): l must be complete here */
	struct auth_worker_request *wreq =
		auth_worker_pass(worker_pool, info, lookup_callback, l);
	if (wreq != NULL)
		l->wreq = wreq;
}

static void auth_connection_destroy(struct auth_connection *conn);

unsigned int auth_connections_count(void)
{
	return connections_count;
}

void auth_connection_write(struct auth_connection *conn, const char *line)
{
	struct evbuffer *out = bufferevent_get_output(conn->bev);
	if (evbuffer_get_length(out) > AUTH_CONNECTION_MAX_OUTPUT) {
		i_error("auth client connection: Client doesn't read its replies, "
			"disconnecting");
		auth_connection_destroy(conn);
		return;
	}
	bufferevent_write(conn->bev, line, strlen(line));
}

static void delayed_free(struct delayed_reply *d)
{
	struct auth_connection *conn = d->conn;
	if (d->prev != NULL)
		d->prev->next = d->next;
	else
		conn->delayed = d->next;
	if (d->next != NULL)
		d->next->prev = d->prev;
	conn->delayed_count--;
	event_free(d->timer);
	free(d->line);
	free(d);
}

static void delayed_timeout(evutil_socket_t fd, short what, void *ctx)
{
	struct delayed_reply *d = ctx;
	struct auth_connection *conn = d->conn;
	char *line = d->line;

	d->line = NULL;
	delayed_free(d);
	auth_connection_write(conn, line);
	free(line);
}

void auth_connection_reply(struct auth_connection *conn, char *line,
			   bool delay)
{
	unsigned int secs = auth_settings(conn->auth)->auth_failure_delay;

	if (!delay || secs == 0) {
		auth_connection_write(conn, line);
		free(line);
		return;
	}
	struct delayed_reply *d = i_new(struct delayed_reply, 1);
	struct timeval tv = { (time_t)secs, 0 };
	d->conn = conn;
	d->line = line;
	d->timer = evtimer_new(conn->base, delayed_timeout, d);
	d->next = conn->delayed;
	if (d->next != NULL)
		d->next->prev = d;
	conn->delayed = d;
	conn->delayed_count++;
	evtimer_add(d->timer, &tv);
}

static char *reply_format(const char *cmd, uint32_t id,
			  const struct auth_request_reply *reply)
{
	string_t *line = str_new(256);

	str_printfa(line, "%s\t%u", cmd, id);
	if (reply->user != NULL)
		auth_protocol_append_field(line, "user", reply->user);
	if (reply->status == AUTH_REQUEST_OK) {
		for (unsigned int i = 0; i < reply->fields.count; i++) {
			if (strcmp(reply->fields.keys[i], "user") == 0)
				continue;
			auth_protocol_append_field(line, reply->fields.keys[i],
				  reply->fields.values[i]);
		}
	} else if (reply->status != AUTH_REQUEST_NOTFOUND) {
		auth_protocol_append_field(line, "reason", reply->reason != NULL ?
			  reply->reason : "Authentication failed.");
		if (reply->status == AUTH_REQUEST_TEMPFAIL)
			str_append(line, "\ttemp=1");
	}
	str_append_c(line, '\n');
	return str_free_without_data(&line);
}

static void send_error(struct auth_connection *conn, uint32_t id,
		       const char *reason)
{
	string_t *line = str_new(128);
	str_printfa(line, "ERROR\t%u", id);
	auth_protocol_append_field(line, "reason", reason);
	str_append_c(line, '\n');
	auth_connection_write(conn, str_c(line));
	str_free(&line);
}

static void request_fill(struct auth_connection *conn, char **args,
			 struct auth_request_info *info)
{
	memset(info, 0, sizeof(*info));
	info->service = auth_protocol_args_find(args, 2, "service");
	info->user = auth_protocol_args_find(args, 2, "user");
	info->password = auth_protocol_args_find(args, 2, "password");
	info->rip = auth_protocol_args_find(args, 2, "rip");
	info->lip = auth_protocol_args_find(args, 2, "lip");
	info->session = auth_protocol_args_find(args, 2, "session");
	info->mech = auth_protocol_args_find(args, 2, "mech");
	const char *secured = auth_protocol_args_find(args, 2, "secured");
	info->secured = secured != NULL && strcmp(secured, "1") == 0;
	info->trusted = (conn->type == AUTH_CONNECTION_USERDB);
}

static void pass_callback(struct auth_connection *conn, uint32_t id,
			  const struct auth_request_reply *reply)
{
	bool failed = reply->status != AUTH_REQUEST_OK;
	auth_connection_reply(conn, reply_format(failed ? "FAIL" : "OK", id,
						 reply),
			      reply->status == AUTH_REQUEST_FAIL);
}

static void handle_pass(struct auth_connection *conn, uint32_t id, char **args)
{
	struct auth_request_info info;
	struct auth_request_reply reply;

	request_fill(conn, args, &info);
	if (info.service == NULL || info.user == NULL || info.password == NULL) {
		send_error(conn, id, "PASS needs service, user and password");
		return;
	}
	/* Failed replies held back by auth_failure_delay: while too many are
	   waiting, a PASS is not checked at all (guessing on many
	   connections at once gets no faster answer). Checks in progress
	   only have a high safety bound: 200 clients logging in at once
	   through one login process is normal load. */
	if (conn->delayed_count >= AUTH_PROTOCOL_MAX_PENDING ||
	    conn->lookups_count >= AUTH_CONNECTION_MAX_LOOKUPS) {
		memset(&reply, 0, sizeof(reply));
		reply.status = AUTH_REQUEST_TEMPFAIL;
		reply.reason = i_strdup("Too many pending requests");
		auth_connection_reply(conn, reply_format("FAIL", id, &reply), false);
		auth_request_reply_free(&reply);
		return;
	}
	auth_connection_pass(conn, id, &info, pass_callback);
}

static void handle_user(struct auth_connection *conn, uint32_t id, char **args)
{
	struct auth_request_info info;
	struct auth_request_reply reply;
	const char *cmd;

	if (!(conn->type == AUTH_CONNECTION_USERDB)) {
		send_error(conn, id, "USER is allowed only on the auth-userdb socket");
		return;
	}
	request_fill(conn, args, &info);
	if (info.service == NULL || info.user == NULL) {
		send_error(conn, id, "USER needs service and user");
		return;
	}
	auth_request_user(conn->auth, &info, &reply);
	cmd = reply.status == AUTH_REQUEST_OK ? "USER" :
		reply.status == AUTH_REQUEST_NOTFOUND ? "NOTFOUND" : "FAIL";
	if (reply.status == AUTH_REQUEST_NOTFOUND) {
		free(reply.user);
		reply.user = NULL;
	}
	auth_connection_reply(conn, reply_format(cmd, id, &reply), false);
	auth_request_reply_free(&reply);
}

static void handle_line(struct auth_connection *conn, const char *line,
			size_t len)
{
	char **args;
	const char *error;
	uint32_t id = 0;

	if (conn->type == AUTH_CONNECTION_SASL) {
		auth_sasl_server_input(conn, line, len);
		return;
	}

	if (auth_protocol_parse_line(line, len, &args, &error) < 0) {
		send_error(conn, 0, error);
		return;
	}
	const char *cmd = args[0];
	if (strcmp(cmd, "VERSION") == 0) {
		if (args[1] == NULL || strcmp(args[1], "1") != 0)
			send_error(conn, 0, "Unsupported protocol version");
	} else if (auth_protocol_parse_id(args[1], &id) < 0) {
		send_error(conn, 0, "Missing or invalid request id");
	} else if (strcmp(cmd, "PASS") == 0) {
		handle_pass(conn, id, args);
	} else if (strcmp(cmd, "USER") == 0) {
		handle_user(conn, id, args);
	} else {
		send_error(conn, id, "Unknown command");
	}
	auth_protocol_args_free(&args);
}

static void conn_read_cb(struct bufferevent *bev, void *ctx)
{
	struct auth_connection *conn = ctx;
	struct evbuffer *in = bufferevent_get_input(bev);

	for (;;) {
		struct evbuffer_ptr eol = evbuffer_search_eol(in, NULL, NULL,
							      EVBUFFER_EOL_LF);
		if (eol.pos < 0 ? evbuffer_get_length(in) >= AUTH_PROTOCOL_MAX_LINE :
		    (size_t)eol.pos >= AUTH_PROTOCOL_MAX_LINE) {
			i_error("auth client connection: Request line too long, "
				"disconnecting");
			send_error(conn, 0, "Line too long");
			/* best effort: the error before the close */
			(void)evbuffer_write(bufferevent_get_output(bev),
					     bufferevent_getfd(bev));
			auth_connection_destroy(conn);
			return;
		}
		if (eol.pos < 0)
			return;
		size_t len;
		char *line = evbuffer_readln(in, &len, EVBUFFER_EOL_LF);
		if (line == NULL)
			return;
		struct auth_connection *c;
		handle_line(conn, line, len);
		safe_memset(line, 0, len);
		free(line);
		/* handle_line may have destroyed conn */
		for (c = connections; c != NULL && c != conn; c = c->next) ;
		if (c == NULL || c->bev != bev)
			return;
	}
}

static void conn_event_cb(struct bufferevent *bev, short what, void *ctx)
{
	if ((what & (BEV_EVENT_EOF | BEV_EVENT_ERROR)) != 0)
		auth_connection_destroy(ctx);
}

void auth_connection_create(struct auth *auth, struct event_base *base,
			    int fd, enum auth_connection_type type)
{
	struct auth_connection *conn = i_new(struct auth_connection, 1);
	char version[64];

	conn->auth = auth;
	conn->base = base;
	conn->type = type;
	evutil_make_socket_nonblocking(fd);
	conn->bev = bufferevent_socket_new(base, fd, BEV_OPT_CLOSE_ON_FREE);
	if (conn->bev == NULL) {
		close(fd);
		free(conn);
		return;
	}
	bufferevent_setcb(conn->bev, conn_read_cb, NULL, conn_event_cb, conn);
	bufferevent_enable(conn->bev, EV_READ | EV_WRITE);
	conn->next = connections;
	if (connections != NULL)
		connections->prev = conn;
	connections = conn;
	connections_count++;
	if (type == AUTH_CONNECTION_SASL) {
		auth_sasl_server_handshake(conn);
		return;
	}
	snprintf(version, sizeof(version), "VERSION\t%u\t%u\n",
		 AUTH_PROTOCOL_MAJOR_VERSION, AUTH_PROTOCOL_MINOR_VERSION);
	bufferevent_write(conn->bev, version, strlen(version));
}

void auth_connection_close(struct auth_connection *conn)
{
	auth_connection_destroy(conn);
}

static void auth_connection_destroy(struct auth_connection *conn)
{
	while (conn->lookups != NULL) {
		struct conn_lookup *l = conn->lookups;
		lookup_unlink(l);
		auth_worker_request_abort(&l->wreq);
		free(l);
	}
	auth_sasl_server_deinit(conn);
	while (conn->delayed != NULL)
		delayed_free(conn->delayed);
	if (conn->prev != NULL)
		conn->prev->next = conn->next;
	else
		connections = conn->next;
	if (conn->next != NULL)
		conn->next->prev = conn->prev;
	connections_count--;
	bufferevent_free(conn->bev);
	free(conn);
}

void auth_connections_destroy_all(void)
{
	while (connections != NULL)
		auth_connection_destroy(connections);
}
