/* userdb lookups over the auth-userdb socket: see lmtp-userdb.h. */
#include "lmtp-userdb.h"
#include "auth-protocol.h"
#include "log.h"
#include <stdlib.h>
#include <stdio.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <event2/bufferevent.h>
#include <event2/buffer.h>

#define LMTP_USERDB_TIMEOUT_SECS 30

struct lmtp_userdb_lookup {
	struct lmtp_userdb_lookup *prev, *next;
	uint32_t id;
	lmtp_userdb_callback_t *callback;
	void *context;
	struct event *ev_timeout;
	/* being failed by userdb_disconnect() */
	bool failed;
};

static struct {
	struct event_base *base;
	char *socket_path;
	struct bufferevent *bev;
	struct lmtp_userdb_lookup *lookups;
	struct event *ev_fail;   /* deferred failure of pending lookups */
	uint32_t next_id;
	bool handshaked;
} userdb;

static void lookup_unlink(struct lmtp_userdb_lookup *lookup)
{
	if (lookup->prev != NULL)
		lookup->prev->next = lookup->next;
	else
		userdb.lookups = lookup->next;
	if (lookup->next != NULL)
		lookup->next->prev = lookup->prev;
	event_free(lookup->ev_timeout);
	free(lookup);
}

static void lookup_finish(struct lmtp_userdb_lookup *lookup,
			  enum lmtp_userdb_result result,
			  const struct lmtp_userdb_reply *reply,
			  const char *error)
{
	lmtp_userdb_callback_t *callback = lookup->callback;
	void *context = lookup->context;

	lookup_unlink(lookup);
	callback(result, reply, error, context);
}

static void userdb_disconnect(const char *error)
{
	if (userdb.bev != NULL) {
		bufferevent_free(userdb.bev);
		userdb.bev = NULL;
	}
	userdb.handshaked = false;
	/* fail only the lookups pending now: callbacks may start new ones */
	for (struct lmtp_userdb_lookup *l = userdb.lookups; l != NULL; l = l->next)
		l->failed = true;
	for (;;) {
		struct lmtp_userdb_lookup *l = userdb.lookups;
		while (l != NULL && !l->failed)
			l = l->next;
		if (l == NULL)
			break;
		lookup_finish(l, LMTP_USERDB_TEMPFAIL, NULL, error);
	}
}

static long long field_id(char *const *args, const char *key)
{
	const char *value = auth_protocol_args_find(args, 2, key);
	uint32_t num;

	if (value == NULL || str_to_uint32(value, &num) < 0)
		return -1;
	return num;
}

static void userdb_handle_line(const char *line, size_t len)
{
	char **args;
	const char *error;
	uint32_t id;

	if (auth_protocol_parse_line(line, len, &args, &error) < 0) {
		i_error("auth-userdb: Invalid reply: %s", error);
		userdb_disconnect("Invalid reply from auth");
		return;
	}
	if (args[0] == NULL || strcmp(args[0], "VERSION") == 0) {
		userdb.handshaked = true;
		auth_protocol_args_free(&args);
		return;
	}
	if (args[1] == NULL || auth_protocol_parse_id(args[1], &id) < 0) {
		auth_protocol_args_free(&args);
		return;
	}
	struct lmtp_userdb_lookup *lookup = userdb.lookups;
	while (lookup != NULL && lookup->id != id)
		lookup = lookup->next;
	if (lookup == NULL) {
		auth_protocol_args_free(&args);
		return;
	}
	if (strcmp(args[0], "USER") == 0) {
		struct lmtp_userdb_reply reply = {
			.user = auth_protocol_args_find(args, 2, "user"),
			.home = auth_protocol_args_find(args, 2, "home"),
			.mail = auth_protocol_args_find(args, 2, "mail"),
			.uid = field_id(args, "uid"),
			.gid = field_id(args, "gid"),
		};
		if (reply.user == NULL || reply.user[0] == '\0')
			lookup_finish(lookup, LMTP_USERDB_TEMPFAIL, NULL,
				      "userdb reply without user");
		else
			lookup_finish(lookup, LMTP_USERDB_FOUND, &reply, NULL);
	} else if (strcmp(args[0], "NOTFOUND") == 0) {
		lookup_finish(lookup, LMTP_USERDB_NOTFOUND, NULL, NULL);
	} else {
		const char *reason = auth_protocol_args_find(args, 2, "reason");
		char *msg = i_strdup(reason != NULL ? reason : "userdb lookup failed");
		lookup_finish(lookup, LMTP_USERDB_TEMPFAIL, NULL, msg);
		free(msg);
	}
	auth_protocol_args_free(&args);
}

static void userdb_read_cb(struct bufferevent *bev, void *context)
{
	struct evbuffer *in = bufferevent_get_input(bev);

	while (userdb.bev == bev) {
		size_t len;
		char *line = evbuffer_readln(in, &len, EVBUFFER_EOL_LF);
		if (line == NULL) {
			if (evbuffer_get_length(in) > AUTH_PROTOCOL_MAX_LINE) {
				i_error("auth-userdb: Reply line too long");
				userdb_disconnect("Invalid reply from auth");
			}
			return;
		}
		userdb_handle_line(line, len);
		free(line);
	}
}

static void userdb_event_cb(struct bufferevent *bev, short what, void *context)
{
	if ((what & (BEV_EVENT_EOF | BEV_EVENT_ERROR)) != 0) {
		i_error("auth-userdb: connection to %s lost", userdb.socket_path);
		userdb_disconnect("Lost connection to auth");
	}
}

static void userdb_fail_cb(evutil_socket_t fd, short what, void *context)
{
	userdb_disconnect("Can't connect to auth");
}

static int userdb_connect(void)
{
	struct sockaddr_un sa;

	if (userdb.bev != NULL)
		return 0;
	memset(&sa, 0, sizeof(sa));
	sa.sun_family = AF_UNIX;
	if (strlen(userdb.socket_path) >= sizeof(sa.sun_path)) {
		i_error("auth-userdb: socket path too long: %s", userdb.socket_path);
		return -1;
	}
	strcpy(sa.sun_path, userdb.socket_path);
	userdb.bev = bufferevent_socket_new(userdb.base, -1, BEV_OPT_CLOSE_ON_FREE);
	bufferevent_setcb(userdb.bev, userdb_read_cb, NULL, userdb_event_cb, NULL);
	if (bufferevent_socket_connect(userdb.bev, (struct sockaddr *)&sa,
				       sizeof(sa)) < 0) {
		i_error("auth-userdb: connect(%s) failed: %m", userdb.socket_path);
		bufferevent_free(userdb.bev);
		userdb.bev = NULL;
		return -1;
	}
	bufferevent_enable(userdb.bev, EV_READ);
	return 0;
}

static void lookup_timeout_cb(evutil_socket_t fd, short what, void *context)
{
	struct lmtp_userdb_lookup *lookup = context;

	i_error("auth-userdb: lookup timed out");
	lookup_finish(lookup, LMTP_USERDB_TEMPFAIL, NULL, "Lookup timed out");
}

void lmtp_userdb_init(struct event_base *base, const char *socket_path)
{
	userdb.base = base;
	userdb.socket_path = i_strdup(socket_path);
	userdb.ev_fail = evtimer_new(base, userdb_fail_cb, NULL);
}

void lmtp_userdb_deinit(void)
{
	while (userdb.lookups != NULL)
		lookup_unlink(userdb.lookups);
	if (userdb.bev != NULL)
		bufferevent_free(userdb.bev);
	userdb.bev = NULL;
	if (userdb.ev_fail != NULL)
		event_free(userdb.ev_fail);
	userdb.ev_fail = NULL;
	i_free(userdb.socket_path);
}

struct lmtp_userdb_lookup *
lmtp_userdb_lookup(const char *user, lmtp_userdb_callback_t *callback,
		   void *context)
{
	struct lmtp_userdb_lookup *lookup = i_new(struct lmtp_userdb_lookup, 1);
	struct timeval tv = { LMTP_USERDB_TIMEOUT_SECS, 0 };

	if (++userdb.next_id == 0)
		userdb.next_id = 1;
	lookup->id = userdb.next_id;
	lookup->callback = callback;
	lookup->context = context;
	lookup->ev_timeout = evtimer_new(userdb.base, lookup_timeout_cb, lookup);
	evtimer_add(lookup->ev_timeout, &tv);
	lookup->next = userdb.lookups;
	if (userdb.lookups != NULL)
		userdb.lookups->prev = lookup;
	userdb.lookups = lookup;

	if (userdb_connect() < 0) {
		struct timeval now = { 0, 0 };
		evtimer_add(userdb.ev_fail, &now);
		return lookup;
	}
	string_t *str = str_new(128);
	str_printfa(str, "USER\t%u\tservice=lmtp\tuser=", lookup->id);
	auth_protocol_append_escaped(str, user);
	str_append_c(str, '\n');
	bufferevent_write(userdb.bev, str_data(str), str_len(str));
	str_free(&str);
	return lookup;
}

void lmtp_userdb_lookup_abort(struct lmtp_userdb_lookup **_lookup)
{
	if (*_lookup == NULL)
		return;
	lookup_unlink(*_lookup);
	*_lookup = NULL;
}
