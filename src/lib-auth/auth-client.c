/* libevent client of the loft-auth line protocol. */
#include "auth-client.h"
#include "auth-protocol.h"
#include "log.h"

#include <errno.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>
#include <event2/event.h>
#include <event2/bufferevent.h>
#include <event2/buffer.h>

struct auth_client_pending {
	struct auth_client_pending *prev, *next;
	unsigned int id;
	time_t sent;
	auth_client_callback_t *callback;
	void *context;
	/* set when the request failed before a reply: delivered from a
	   zero timeout so that the callback doesn't run inside the call */
	bool early_tempfail;
};

struct auth_client {
	struct event_base *base;
	char *socket_path;
	struct bufferevent *bev;
	struct event *timer;       /* timeouts and early failures */
	struct auth_client_pending *pending;
	unsigned int pending_count;
	unsigned int next_id;
	bool timer_added;
};

static void auth_client_timer_cb(evutil_socket_t fd, short what, void *ctx);

struct auth_client *auth_client_create(struct event_base *base,
				       const char *socket_path)
{
	struct auth_client *client = i_new(struct auth_client, 1);
	client->base = base;
	client->socket_path = i_strdup(socket_path);
	client->next_id = 1;
	client->timer = evtimer_new(base, auth_client_timer_cb, client);
	return client;
}

static void pending_unlink(struct auth_client *client,
			   struct auth_client_pending *p)
{
	if (p->prev != NULL)
		p->prev->next = p->next;
	else
		client->pending = p->next;
	if (p->next != NULL)
		p->next->prev = p->prev;
	client->pending_count--;
}

static void auth_client_disconnect(struct auth_client *client)
{
	if (client->bev != NULL) {
		bufferevent_free(client->bev);
		client->bev = NULL;
	}
}

void auth_client_destroy(struct auth_client **_client)
{
	struct auth_client *client = *_client;
	if (client == NULL)
		return;
	auth_client_disconnect(client);
	while (client->pending != NULL) {
		struct auth_client_pending *p = client->pending;
		pending_unlink(client, p);
		free(p);
	}
	event_free(client->timer);
	free(client->socket_path);
	free(client);
	*_client = NULL;
}

unsigned int auth_client_pending_count(const struct auth_client *client)
{
	return client->pending_count;
}

static void timer_schedule(struct auth_client *client, bool now)
{
	struct timeval tv = { now ? 0 : 1, 0 };
	if (client->timer_added && !now)
		return;
	evtimer_add(client->timer, &tv);
	client->timer_added = true;
}

static void result_tempfail(struct auth_client_pending *p, const char *reason)
{
	struct auth_client_result result;
	memset(&result, 0, sizeof(result));
	result.status = AUTH_CLIENT_TEMPFAIL;
	result.reason = reason;
	p->callback(&result, p->context);
}

/* Fail every pending request (connection lost). */
static void auth_client_fail_all(struct auth_client *client, const char *reason)
{
	struct auth_client_pending *list = client->pending;
	client->pending = NULL;
	client->pending_count = 0;
	while (list != NULL) {
		struct auth_client_pending *p = list;
		list = p->next;
		result_tempfail(p, reason);
		free(p);
	}
}

static void auth_client_timer_cb(evutil_socket_t fd, short what, void *ctx)
{
	struct auth_client *client = ctx;
	time_t now = time(NULL);
	struct auth_client_pending *p = client->pending, *next;

	client->timer_added = false;
	for (; p != NULL; p = next) {
		next = p->next;
		bool timeout = now - p->sent >= AUTH_CLIENT_REQUEST_TIMEOUT_SECS;
		if (!p->early_tempfail && !timeout)
			continue;
		pending_unlink(client, p);
		result_tempfail(p, p->early_tempfail ? "Auth service unavailable" :
				"Auth request timed out");
		free(p);
		/* the callback may have cancelled/added requests */
		next = client->pending;
	}
	if (client->pending != NULL)
		timer_schedule(client, false);
}

static struct auth_client_pending *
pending_find(struct auth_client *client, unsigned int id)
{
	for (struct auth_client_pending *p = client->pending; p != NULL; p = p->next) {
		if (p->id == id)
			return p;
	}
	return NULL;
}

static void reply_handle(struct auth_client *client, char **args)
{
	unsigned int count = str_array_length(args);
	struct auth_client_result result;
	struct auth_client_pending *p;
	uint32_t id;

	if (count == 0 || strcmp(args[0], "VERSION") == 0)
		return;
	if (count < 2 || auth_protocol_parse_id(args[1], &id) < 0) {
		i_error("auth client: Invalid reply from auth server");
		return;
	}
	p = pending_find(client, id);
	if (p == NULL)
		return; /* cancelled */

	memset(&result, 0, sizeof(result));
	if (strcmp(args[0], "OK") == 0 || strcmp(args[0], "USER") == 0)
		result.status = AUTH_CLIENT_OK;
	else if (strcmp(args[0], "NOTFOUND") == 0)
		result.status = AUTH_CLIENT_NOTFOUND;
	else if (strcmp(args[0], "FAIL") == 0)
		result.status = auth_protocol_args_find(args, 2, "temp") != NULL ?
			AUTH_CLIENT_TEMPFAIL : AUTH_CLIENT_FAIL;
	else {
		/* ERROR or unknown: our request was bad */
		result.status = AUTH_CLIENT_TEMPFAIL;
	}
	struct auth_client_field *fields = i_new(struct auth_client_field, count);
	for (unsigned int i = 2; i < count; i++) {
		char *eq = strchr(args[i], '=');
		const char *key = args[i], *value = "";
		if (eq != NULL) {
			*eq = '\0';
			value = eq + 1;
		}
		if (strcmp(key, "user") == 0)
			result.user = value;
		else if (strcmp(key, "reason") == 0)
			result.reason = value;
		else if (strcmp(key, "temp") == 0)
			continue;
		else {
			uint32_t num;
			if (strcmp(key, "uid") == 0 && str_to_uint32(value, &num) == 0) {
				result.uid = (uid_t)num;
				result.uid_set = true;
			} else if (strcmp(key, "gid") == 0 &&
				   str_to_uint32(value, &num) == 0) {
				result.gid = (gid_t)num;
				result.gid_set = true;
			} else if (strcmp(key, "home") == 0)
				result.home = value;
			else if (strcmp(key, "mail") == 0)
				result.mail = value;
			fields[result.fields_count].key = key;
			fields[result.fields_count].value = value;
			result.fields_count++;
		}
	}
	result.fields = fields;
	pending_unlink(client, p);
	p->callback(&result, p->context);
	free(p);
	free(fields);
}

static void auth_client_read_cb(struct bufferevent *bev, void *ctx)
{
	struct auth_client *client = ctx;
	struct evbuffer *in = bufferevent_get_input(bev);

	for (;;) {
		struct evbuffer_ptr eol = evbuffer_search_eol(in, NULL, NULL,
							      EVBUFFER_EOL_LF);
		if (eol.pos < 0) {
			if (evbuffer_get_length(in) >= AUTH_CLIENT_MAX_REPLY_LINE) {
				i_error("auth client: Reply line too long from %s",
					client->socket_path);
				auth_client_disconnect(client);
				auth_client_fail_all(client, "Invalid auth reply");
			}
			return;
		}
		size_t len;
		char *line = evbuffer_readln(in, &len, EVBUFFER_EOL_LF);
		char **args;
		const char *error;
		if (line == NULL)
			return;
		if (auth_protocol_parse_line(line, len, &args, &error) < 0) {
			i_error("auth client: Invalid reply from %s: %s",
				client->socket_path, error);
		} else {
			reply_handle(client, args);
			auth_protocol_args_free(&args);
		}
		free(line);
		/* a callback may have destroyed the connection */
		if (client->bev != bev)
			return;
	}
}

static void auth_client_event_cb(struct bufferevent *bev, short what, void *ctx)
{
	struct auth_client *client = ctx;
	if ((what & (BEV_EVENT_EOF | BEV_EVENT_ERROR)) == 0)
		return;
	if (what & BEV_EVENT_ERROR)
		i_error("auth client: Connection to %s failed: %m", client->socket_path);
	auth_client_disconnect(client);
	auth_client_fail_all(client, "Lost connection to auth service");
}

static int auth_client_connect(struct auth_client *client)
{
	struct sockaddr_un sun;
	int fd;

	if (client->bev != NULL)
		return 0;
	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	if (strlen(client->socket_path) >= sizeof(sun.sun_path)) {
		i_error("auth client: Socket path too long: %s", client->socket_path);
		return -1;
	}
	strcpy(sun.sun_path, client->socket_path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		i_error("auth client: socket() failed: %m");
		return -1;
	}
	/* Non-blocking before connect(): a unix socket connects at once,
	   or fails with EAGAIN when the auth process's backlog is full,
	   which must not stall the caller's event loop. */
	evutil_make_socket_nonblocking(fd);
	if (connect(fd, (struct sockaddr *)&sun, sizeof(sun)) < 0) {
		i_error("auth client: connect(%s) failed: %m", client->socket_path);
		close(fd);
		return -1;
	}
	client->bev = bufferevent_socket_new(client->base, fd,
					     BEV_OPT_CLOSE_ON_FREE);
	if (client->bev == NULL) {
		close(fd);
		return -1;
	}
	bufferevent_setcb(client->bev, auth_client_read_cb, NULL,
			  auth_client_event_cb, client);
	bufferevent_enable(client->bev, EV_READ | EV_WRITE);
	return 0;
}

static unsigned int auth_client_send(struct auth_client *client, string_t *line,
				     auth_client_callback_t *callback,
				     void *context)
{
	struct auth_client_pending *p = i_new(struct auth_client_pending, 1);

	p->id = client->next_id;
	p->sent = time(NULL);
	p->callback = callback;
	p->context = context;
	client->next_id = client->next_id == UINT32_MAX ? 1 : client->next_id + 1;
	p->next = client->pending;
	if (p->next != NULL)
		p->next->prev = p;
	client->pending = p;
	client->pending_count++;

	/* the id goes after the command name, already in line as "\t%u" */
	str_append_c(line, '\n');
	if (str_len(line) > AUTH_PROTOCOL_MAX_LINE ||
	    auth_client_connect(client) < 0 ||
	    bufferevent_write(client->bev, str_data(line), str_len(line)) < 0) {
		p->early_tempfail = true;
		timer_schedule(client, true);
	} else {
		timer_schedule(client, false);
	}
	safe_memset(line->data, 0, line->alloc);
	str_free(&line);
	return p->id;
}

unsigned int auth_client_passdb_verify(struct auth_client *client,
				       const struct auth_client_request *req,
				       auth_client_callback_t *callback,
				       void *context)
{
	string_t *line = str_new(256);
	str_printfa(line, "PASS\t%u", client->next_id);
	auth_protocol_append_field(line, "service", req->service);
	auth_protocol_append_field(line, "user", req->user);
	auth_protocol_append_field(line, "password", req->password);
	auth_protocol_append_field(line, "rip", req->rip);
	auth_protocol_append_field(line, "lip", req->lip);
	auth_protocol_append_field(line, "secured", req->secured ? "1" : "0");
	auth_protocol_append_field(line, "session", req->session);
	auth_protocol_append_field(line, "mech", req->mech);
	return auth_client_send(client, line, callback, context);
}

unsigned int auth_client_userdb_lookup(struct auth_client *client,
				       const char *service, const char *user,
				       auth_client_callback_t *callback,
				       void *context)
{
	string_t *line = str_new(128);
	str_printfa(line, "USER\t%u", client->next_id);
	auth_protocol_append_field(line, "service", service);
	auth_protocol_append_field(line, "user", user);
	return auth_client_send(client, line, callback, context);
}

void auth_client_cancel(struct auth_client *client, unsigned int id)
{
	struct auth_client_pending *p = pending_find(client, id);
	if (p != NULL) {
		pending_unlink(client, p);
		free(p);
	}
}
