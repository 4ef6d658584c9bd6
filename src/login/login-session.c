/* Hand-off of an authenticated client to its post-login process. A
   plaintext connection's fd is passed to the master as is; a TLS
   connection stays here and is proxied through a socketpair. */
#include "login-session.h"
#include "ipc.h"
#include "master-service.h"
#include <errno.h>
#include <stdlib.h>
#include <unistd.h>
#include <sys/socket.h>
#include <event2/buffer.h>

struct pending_session {
	struct pending_session *next;
	struct login_client *client;  /* NULL if the client went away */
	char *user, *mech;
	int proxy_fd;                 /* our end of the socketpair, or -1 */
};

static struct pending_session *pending_head, **pending_tail = &pending_head;
static struct event *control_event;

static void proxy_close(struct login_client *client)
{
	login_client_free(client);
}

static void proxy_read_client(struct bufferevent *bev, void *ctx)
{
	struct login_client *client = ctx;
	bufferevent_write_buffer(client->proxy, bufferevent_get_input(bev));
}

static void proxy_read_backend(struct bufferevent *bev, void *ctx)
{
	struct login_client *client = ctx;
	bufferevent_write_buffer(client->bev, bufferevent_get_input(bev));
}

static void proxy_event(struct bufferevent *bev, short what, void *ctx)
{
	struct login_client *client = ctx;
	if ((what & (BEV_EVENT_EOF | BEV_EVENT_ERROR)) == 0)
		return;
	if (bev == client->proxy) {
		/* post-login process closed: flush its last words to the
		   client before closing */
		struct evbuffer *out = bufferevent_get_output(client->bev);
		bufferevent_write_buffer(client->bev, bufferevent_get_input(bev));
		if (evbuffer_get_length(out) > 0) {
			bufferevent_free(client->proxy);
			client->proxy = NULL;
			bufferevent_setwatermark(client->bev, EV_WRITE, 0, 0);
			return;
		}
	}
	proxy_close(client);
}

static void proxy_client_drained(struct bufferevent *bev, void *ctx)
{
	struct login_client *client = ctx;
	if (client->proxy == NULL &&
	    evbuffer_get_length(bufferevent_get_output(bev)) == 0)
		proxy_close(client);
}

static void proxy_start(struct login_client *client, int fd)
{
	struct event_base *base = bufferevent_get_base(client->bev);
	client->proxy = bufferevent_socket_new(base, fd,
		BEV_OPT_CLOSE_ON_FREE | BEV_OPT_DEFER_CALLBACKS);
	/* what the client pipelined after its login command goes first */
	bufferevent_write_buffer(client->proxy, client->input);
	bufferevent_setcb(client->bev, proxy_read_client, proxy_client_drained,
			  proxy_event, client);
	bufferevent_setcb(client->proxy, proxy_read_backend, NULL,
			  proxy_event, client);
	/* bounded buffering both ways: stop reading a side while the other
	   side's output is backed up */
	bufferevent_setwatermark(client->bev, EV_READ, 0, 256 * 1024);
	bufferevent_setwatermark(client->proxy, EV_READ, 0, 256 * 1024);
	bufferevent_enable(client->proxy, EV_READ | EV_WRITE);
	bufferevent_enable(client->bev, EV_READ | EV_WRITE);
}

static void log_login(struct login_client *client, const char *user,
		      const char *mech, const char *mpid)
{
	i_info("Login: user=<%s>, method=%s, rip=%s, lip=%s, mpid=%s%s, session=<%s>",
	       user, mech, client->rip, client->lip, mpid,
	       client->tls ? ", TLS" : "", client->session_id);
}

static void session_reply(struct ipc_msg *msg)
{
	struct pending_session *ps = pending_head;
	if (ps == NULL) {
		i_error("Unexpected session reply from master");
		return;
	}
	pending_head = ps->next;
	if (pending_head == NULL)
		pending_tail = &pending_head;

	struct login_client *client = ps->client;
	const char *status = ipc_msg_get(msg, "status");
	bool ok = status != NULL && strcmp(status, "ok") == 0;
	if (client == NULL) {
		if (ps->proxy_fd >= 0)
			close(ps->proxy_fd);
	} else if (!ok) {
		if (ps->proxy_fd >= 0)
			close(ps->proxy_fd);
		client->waiting_master = false;
		const char *reason = ipc_msg_get(msg, "reason");
		const char *code = ipc_msg_get(msg, "code");
		if (code != NULL && strcmp(code, "userip") == 0 &&
		    reason != NULL) {
			/* a limit the client is told about, as Dovecot:
			   NO [UNAVAILABLE] Maximum number of connections ... */
			i_info("%s: user=<%s>, method=%s, rip=%s, lip=%s, "
			       "session=<%s>", reason, ps->user, ps->mech,
			       client->rip, client->lip, client->session_id);
			client->proto->auth_failed(client,
				LOGIN_AUTH_SESSION_FAILED, reason);
			login_client_destroy(client, reason);
		} else {
			i_error("Login failed for user=<%s>: %s", ps->user,
				reason == NULL ? "unknown error" : reason);
			client->proto->auth_failed(client,
				LOGIN_AUTH_SESSION_FAILED, NULL);
			login_client_destroy(client, "Internal login failure");
		}
	} else {
		const char *pid = ipc_msg_get(msg, "pid");
		log_login(client, ps->user, ps->mech, pid == NULL ? "0" : pid);
		client->waiting_master = false;
		login_clients_unlink(client);
		client->destroyed = true;
		evtimer_del(client->timeout);
		if (ps->proxy_fd >= 0) {
			proxy_start(client, ps->proxy_fd);
		} else {
			/* the post-login process has the fd now */
			login_client_free(client);
		}
	}
	free(ps->user);
	free(ps->mech);
	free(ps);
}

static void control_input(evutil_socket_t fd, short what, void *ctx)
{
	struct ipc_msg *msg;
	const char *error;
	int ret = ipc_recv(MASTER_CONTROL_FD, &msg, &error);
	if (ret < 0 && errno == EAGAIN)
		return;
	if (ret <= 0) {
		/* master is gone: nothing more can log in */
		i_error("Lost connection to master%s%s", ret < 0 ? ": " : "",
			ret < 0 ? error : "");
		exit(FATAL_EXIT_CODE);
	}
	if (msg->type == IPC_MSG_SESSION_STARTED)
		session_reply(msg);
	ipc_msg_free(&msg);
}

void login_session_init(struct event_base *base)
{
	evutil_make_socket_nonblocking(MASTER_CONTROL_FD);
	control_event = event_new(base, MASTER_CONTROL_FD, EV_READ | EV_PERSIST,
				  control_input, NULL);
	event_add(control_event, NULL);
}

void login_session_deinit(void)
{
	if (control_event != NULL)
		event_free(control_event);
}

void login_session_forget(struct login_client *client)
{
	for (struct pending_session *ps = pending_head; ps != NULL; ps = ps->next) {
		if (ps->client == client)
			ps->client = NULL;
	}
}

static char *handoff_input(struct login_client *client)
{
	size_t len = evbuffer_get_length(client->input);
	if (len == 0 || client->tls)
		return NULL;
	if (len > LOGIN_MAX_HANDOFF_INPUT)
		len = LOGIN_MAX_HANDOFF_INPUT;
	unsigned char *data = evbuffer_pullup(client->input, (ev_ssize_t)len);
	string_t *b64 = str_new(len * 4 / 3 + 4);
	base64_encode(data, len, b64);
	evbuffer_drain(client->input, len);
	return str_free_without_data(&b64);
}

void login_session_start(struct login_client *client,
			 const struct login_userdb_fields *fields)
{
	const char *service = client->proto->name;
	struct ipc_msg *msg = ipc_msg_create(IPC_MSG_SESSION_START);
	int sp[2] = { -1, -1 };

	ipc_msg_add(msg, "service", service);
	ipc_msg_add(msg, "user", fields->user);
	if (fields->uid != NULL)
		ipc_msg_add(msg, "uid", fields->uid);
	if (fields->gid != NULL)
		ipc_msg_add(msg, "gid", fields->gid);
	if (fields->home != NULL)
		ipc_msg_add(msg, "home", fields->home);
	if (fields->mail != NULL)
		ipc_msg_add(msg, "mail", fields->mail);
	if (fields->all != NULL)
		ipc_msg_add(msg, "userdb", fields->all);
	ipc_msg_add(msg, "rip", client->rip);
	ipc_msg_add(msg, "lip", client->lip);
	ipc_msg_addf(msg, "rport", "%u", client->rport);
	ipc_msg_addf(msg, "lport", "%u", client->lport);
	ipc_msg_add(msg, "session", client->session_id);
	ipc_msg_add(msg, "mech", client->last_mech == NULL ? "PLAIN" : client->last_mech);
	ipc_msg_add(msg, "secured", client->secured ? "1" : "0");
	ipc_msg_add(msg, "tls", client->tls ? "1" : "0");
	const char *tag = client->proto->handoff_tag == NULL ? NULL :
		client->proto->handoff_tag(client);
	if (tag != NULL)
		ipc_msg_add(msg, "tag", tag);
	char *input = handoff_input(client);
	if (input != NULL)
		ipc_msg_add(msg, "input", input);
	free(input);

	if (client->tls) {
		if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sp) < 0) {
			i_error("socketpair() failed: %m");
			ipc_msg_free(&msg);
			client->proto->auth_failed(client, LOGIN_AUTH_SESSION_FAILED, NULL);
			login_client_destroy(client, "Internal login failure");
			return;
		}
		msg->fd = sp[1];
	} else {
		msg->fd = client->fd;
	}
	/* nothing more is read until the master answers */
	bufferevent_disable(client->bev, EV_READ);
	int ret = ipc_send(MASTER_CONTROL_FD, msg);
	if (!client->tls)
		msg->fd = -1; /* still ours to close later */
	ipc_msg_free(&msg);
	if (ret < 0) {
		i_error("Can't send session to master: %m");
		if (sp[0] >= 0)
			close(sp[0]);
		client->proto->auth_failed(client, LOGIN_AUTH_SESSION_FAILED, NULL);
		login_client_destroy(client, "Internal login failure");
		return;
	}
	struct pending_session *ps = i_new(struct pending_session, 1);
	ps->client = client;
	ps->user = i_strdup(fields->user);
	ps->mech = i_strdup(client->last_mech == NULL ? "PLAIN" : client->last_mech);
	ps->proxy_fd = sp[0];
	*pending_tail = ps;
	pending_tail = &ps->next;
	client->waiting_master = true;
}
