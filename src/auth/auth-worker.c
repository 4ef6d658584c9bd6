/* Worker processes for password checks. */
#include "auth-worker.h"
#include "auth-protocol.h"
#include "log.h"

#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>
#include <event2/event.h>
#include <event2/bufferevent.h>
#include <event2/buffer.h>

#define AUTH_WORKER_FD 3
#define AUTH_WORKER_MAX_REPLY_LINE (AUTH_PROTOCOL_MAX_LINE * 4)

struct auth_worker {
	struct auth_worker_pool *pool;
	time_t last_start;
	pid_t pid;
	struct bufferevent *bev;
	unsigned int pending;
};

struct auth_worker_request {
	struct auth_worker_request *prev, *next;
	struct auth_worker_pool *pool;
	struct auth_worker *worker;
	uint32_t id;
	auth_worker_callback_t *callback;
	void *context;
};

struct auth_worker_pool {
	struct auth *auth;
	struct event_base *base;
	struct auth_worker *workers;
	unsigned int count;
	struct auth_worker_request *requests;
	uint32_t next_id;
};

/* ---- the channel format ---- */

static char *request_format(uint32_t id, const struct auth_request_info *info)
{
	string_t *line = str_new(256);
	str_printfa(line, "PASS\t%u", id);
	auth_protocol_append_field(line, "service", info->service);
	auth_protocol_append_field(line, "user", info->user);
	auth_protocol_append_field(line, "password", info->password);
	auth_protocol_append_field(line, "rip", info->rip);
	auth_protocol_append_field(line, "lip", info->lip);
	auth_protocol_append_field(line, "session", info->session);
	auth_protocol_append_field(line, "mech", info->mech);
	auth_protocol_append_field(line, "secured", info->secured ? "1" : "0");
	auth_protocol_append_field(line, "trusted", info->trusted ? "1" : "0");
	str_append_c(line, '\n');
	return str_free_without_data(&line);
}

static char *reply_format(uint32_t id, const struct auth_request_reply *reply)
{
	static const char *const status_names[] = {
		[AUTH_REQUEST_OK] = "OK", [AUTH_REQUEST_FAIL] = "FAIL",
		[AUTH_REQUEST_TEMPFAIL] = "TEMPFAIL",
		[AUTH_REQUEST_NOTFOUND] = "NOTFOUND",
	};
	string_t *line = str_new(256);
	str_printfa(line, "%s\t%u", status_names[reply->status], id);
	auth_protocol_append_field(line, "user", reply->user);
	auth_protocol_append_field(line, "reason", reply->reason);
	for (unsigned int i = 0; i < reply->fields.count; i++) {
		str_append(line, "\tf:");
		auth_protocol_append_escaped(line, reply->fields.keys[i]);
		str_append_c(line, '=');
		auth_protocol_append_escaped(line, reply->fields.values[i]);
	}
	str_append_c(line, '\n');
	return str_free_without_data(&line);
}

static int reply_parse(char **args, uint32_t *id_r,
		       struct auth_request_reply *reply)
{
	memset(reply, 0, sizeof(*reply));
	if (args[0] == NULL || auth_protocol_parse_id(args[1], id_r) < 0)
		return -1;
	if (strcmp(args[0], "OK") == 0)
		reply->status = AUTH_REQUEST_OK;
	else if (strcmp(args[0], "FAIL") == 0)
		reply->status = AUTH_REQUEST_FAIL;
	else if (strcmp(args[0], "NOTFOUND") == 0)
		reply->status = AUTH_REQUEST_NOTFOUND;
	else
		reply->status = AUTH_REQUEST_TEMPFAIL;
	for (unsigned int i = 2; args[i] != NULL; i++) {
		char *eq = strchr(args[i], '=');
		if (eq == NULL)
			continue;
		*eq = '\0';
		if (str_begins(args[i], "f:"))
			auth_fields_set(&reply->fields, args[i] + 2, eq + 1);
		else if (strcmp(args[i], "user") == 0)
			reply->user = i_strdup(eq + 1);
		else if (strcmp(args[i], "reason") == 0)
			reply->reason = i_strdup(eq + 1);
	}
	return 0;
}

/* ---- worker process ---- */

static void worker_handle(struct auth *auth, const char *line, size_t len)
{
	struct auth_request_info info;
	struct auth_request_reply reply;
	const char *error;
	char **args;
	uint32_t id;

	if (auth_protocol_parse_line(line, len, &args, &error) < 0)
		return;
	if (args[0] == NULL || strcmp(args[0], "PASS") != 0 ||
	    auth_protocol_parse_id(args[1], &id) < 0) {
		auth_protocol_args_free(&args);
		return;
	}
	memset(&info, 0, sizeof(info));
	info.service = auth_protocol_args_find(args, 2, "service");
	info.user = auth_protocol_args_find(args, 2, "user");
	info.password = auth_protocol_args_find(args, 2, "password");
	info.rip = auth_protocol_args_find(args, 2, "rip");
	info.lip = auth_protocol_args_find(args, 2, "lip");
	info.session = auth_protocol_args_find(args, 2, "session");
	info.mech = auth_protocol_args_find(args, 2, "mech");
	const char *v = auth_protocol_args_find(args, 2, "secured");
	info.secured = v != NULL && strcmp(v, "1") == 0;
	v = auth_protocol_args_find(args, 2, "trusted");
	info.trusted = v != NULL && strcmp(v, "1") == 0;
	if (info.password == NULL)
		info.password = "";
	auth_request_pass(auth, &info, &reply);
	auth_protocol_args_free(&args);
	char *out = reply_format(id, &reply);
	auth_request_reply_free(&reply);
	if (write_full(AUTH_WORKER_FD, out, strlen(out)) < 0)
		_exit(0);
	free(out);
}

static void ATTR_NORETURN worker_main(struct auth *auth)
{
	string_t *buf = str_new(4096);
	char chunk[4096];

	for (;;) {
		ssize_t ret = read(AUTH_WORKER_FD, chunk, sizeof(chunk));
		if (ret < 0 && errno == EINTR)
			continue;
		if (ret <= 0)
			break;
		str_append_n(buf, chunk, (size_t)ret);
		char *nl;
		while ((nl = memchr(buf->data, '\n', buf->len)) != NULL) {
			size_t len = (size_t)(nl - buf->data);
			worker_handle(auth, buf->data, len);
			safe_memset(buf->data, 0, len);
			str_delete(buf, 0, len + 1);
		}
		if (buf->len >= AUTH_PROTOCOL_MAX_LINE)
			break; /* the main process never sends that */
		safe_memset(chunk, 0, sizeof(chunk));
	}
	/* no atexit handlers: the forked copy of the main process's state
	   is not ours to free */
	_exit(0);
}

/* ---- main process side ---- */

static void worker_start(struct auth_worker *w);

static void request_unlink(struct auth_worker_request *req)
{
	struct auth_worker_pool *pool = req->pool;
	if (req->prev != NULL)
		req->prev->next = req->next;
	else
		pool->requests = req->next;
	if (req->next != NULL)
		req->next->prev = req->prev;
	if (req->worker != NULL)
		req->worker->pending--;
}

static void reply_tempfail(struct auth_worker_request *req)
{
	struct auth_request_reply reply;
	memset(&reply, 0, sizeof(reply));
	reply.status = AUTH_REQUEST_TEMPFAIL;
	reply.reason = i_strdup("Temporary authentication failure.");
	req->callback(&reply, req->context);
	auth_request_reply_free(&reply);
}

static void worker_lost(struct auth_worker *w)
{
	struct auth_worker_pool *pool = w->pool;

	bufferevent_free(w->bev);
	w->bev = NULL;
	if (w->pid > 0) {
		int status;
		/* normally gone already; never wait for a live one */
		(void)kill(w->pid, SIGKILL);
		(void)waitpid(w->pid, &status, 0);
		w->pid = -1;
	}
	/* fail what it had, then start a new one */
	struct auth_worker_request *req = pool->requests, *next;
	for (; req != NULL; req = next) {
		next = req->next;
		if (req->worker != w)
			continue;
		request_unlink(req);
		reply_tempfail(req);
		free(req);
		next = pool->requests;
	}
	worker_start(w);
}

static void worker_read_cb(struct bufferevent *bev, void *ctx)
{
	struct auth_worker *w = ctx;
	struct evbuffer *in = bufferevent_get_input(bev);
	char *line;
	size_t len;

	while ((line = evbuffer_readln(in, &len, EVBUFFER_EOL_LF)) != NULL) {
		struct auth_request_reply reply;
		const char *error;
		char **args;
		uint32_t id;

		if (auth_protocol_parse_line(line, len, &args, &error) == 0 &&
		    reply_parse(args, &id, &reply) == 0) {
			struct auth_worker_request *req = w->pool->requests;
			while (req != NULL && req->id != id)
				req = req->next;
			if (req != NULL) {
				request_unlink(req);
				req->callback(&reply, req->context);
				free(req);
			}
			auth_request_reply_free(&reply);
		} else {
			i_error("auth worker %ld: Invalid reply", (long)w->pid);
		}
		auth_protocol_args_free(&args);
		free(line);
	}
	if (evbuffer_get_length(in) > AUTH_WORKER_MAX_REPLY_LINE) {
		i_error("auth worker %ld: Reply too long", (long)w->pid);
		kill(w->pid, SIGKILL);
		worker_lost(w);
	}
}

static void worker_event_cb(struct bufferevent *bev, short what, void *ctx)
{
	struct auth_worker *w = ctx;
	if ((what & (BEV_EVENT_EOF | BEV_EVENT_ERROR)) == 0)
		return;
	i_error("auth worker %ld: Exited unexpectedly", (long)w->pid);
	worker_lost(w);
}

static void worker_start(struct auth_worker *w)
{
	int sv[2];
	time_t now = time(NULL);

	/* a worker that dies at once is not restarted in a tight loop */
	if (w->last_start != 0 && now - w->last_start < 1)
		return;
	w->last_start = now;
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0) {
		i_error("auth worker: socketpair() failed: %m");
		return;
	}
	pid_t pid = fork();
	if (pid < 0) {
		i_error("auth worker: fork() failed: %m");
		close(sv[0]);
		close(sv[1]);
		return;
	}
	if (pid == 0) {
		signal(SIGTERM, SIG_DFL);
		signal(SIGINT, SIG_DFL);
		if (dup2(sv[1], AUTH_WORKER_FD) < 0)
			_exit(FATAL_EXIT_CODE);
		/* no listeners, clients or event loop fds in the worker */
		close_range(AUTH_WORKER_FD + 1, ~0U, 0);
		worker_main(w->pool->auth);
	}
	close(sv[1]);
	w->pid = pid;
	evutil_make_socket_nonblocking(sv[0]);
	w->bev = bufferevent_socket_new(w->pool->base, sv[0], BEV_OPT_CLOSE_ON_FREE);
	bufferevent_setcb(w->bev, worker_read_cb, NULL, worker_event_cb, w);
	bufferevent_enable(w->bev, EV_READ | EV_WRITE);
}

struct auth_worker_pool *auth_worker_pool_create(struct auth *auth,
						 struct event_base *base,
						 unsigned int count)
{
	struct auth_worker_pool *pool = i_new(struct auth_worker_pool, 1);
	pool->auth = auth;
	pool->base = base;
	pool->count = count;
	pool->next_id = 1;
	pool->workers = i_new(struct auth_worker, count + 1);
	for (unsigned int i = 0; i < count; i++) {
		pool->workers[i].pool = pool;
		pool->workers[i].pid = -1;
		worker_start(&pool->workers[i]);
	}
	return pool;
}

void auth_worker_pool_destroy(struct auth_worker_pool **_pool)
{
	struct auth_worker_pool *pool = *_pool;
	if (pool == NULL)
		return;
	while (pool->requests != NULL) {
		struct auth_worker_request *req = pool->requests;
		request_unlink(req);
		free(req);
	}
	for (unsigned int i = 0; i < pool->count; i++) {
		struct auth_worker *w = &pool->workers[i];
		if (w->bev != NULL) {
			/* EOF ends the worker. bufferevent_free() may close
			   the fd only from the (stopped) event loop. */
			shutdown(bufferevent_getfd(w->bev), SHUT_RDWR);
			bufferevent_free(w->bev);
		}
		if (w->pid > 0) {
			int status;
			(void)waitpid(w->pid, &status, 0);
		}
	}
	free(pool->workers);
	free(pool);
	*_pool = NULL;
}

static struct auth_worker *worker_pick(struct auth_worker_pool *pool)
{
	struct auth_worker *best = NULL;
	for (unsigned int i = 0; i < pool->count; i++) {
		struct auth_worker *w = &pool->workers[i];
		if (w->bev == NULL)
			worker_start(w);
		if (w->bev != NULL && (best == NULL || w->pending < best->pending))
			best = w;
	}
	return best;
}

struct auth_worker_request *
auth_worker_pass(struct auth_worker_pool *pool,
		 const struct auth_request_info *info,
		 auth_worker_callback_t *callback, void *context)
{
	struct auth_worker *w = pool->count == 0 ? NULL : worker_pick(pool);

	if (w == NULL) {
		/* no workers (configured so, or none could start) */
		struct auth_request_reply reply;
		if (pool->count == 0) {
			auth_request_pass(pool->auth, info, &reply);
		} else {
			memset(&reply, 0, sizeof(reply));
			reply.status = AUTH_REQUEST_TEMPFAIL;
			reply.reason = i_strdup("Temporary authentication failure.");
		}
		callback(&reply, context);
		auth_request_reply_free(&reply);
		return NULL;
	}
	struct auth_worker_request *req = i_new(struct auth_worker_request, 1);
	req->pool = pool;
	req->worker = w;
	req->id = pool->next_id;
	pool->next_id = pool->next_id == UINT32_MAX ? 1 : pool->next_id + 1;
	req->callback = callback;
	req->context = context;
	req->next = pool->requests;
	if (req->next != NULL)
		req->next->prev = req;
	pool->requests = req;
	w->pending++;

	char *line = request_format(req->id, info);
	bufferevent_write(w->bev, line, strlen(line));
	safe_memset(line, 0, strlen(line));
	free(line);
	return req;
}

void auth_worker_request_abort(struct auth_worker_request **_req)
{
	struct auth_worker_request *req = *_req;
	if (req == NULL)
		return;
	/* the worker still answers; the reply finds no request */
	request_unlink(req);
	free(req);
	*_req = NULL;
}
