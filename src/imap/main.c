/* loft-imap: the post-login IMAP process. The master (or a test) starts
   it with the client connection on fd 0/1 and the session in the
   environment (master-service.h). */
#include "lib.h"
#include "log.h"
#include "master-service.h"
#include "mail-storage.h"
#include "imap-client.h"

#include <stdlib.h>
#include <strings.h>
#include <unistd.h>
#include <signal.h>
#include <errno.h>
#include "ipc.h"

static enum mail_fsync_mode fsync_mode(const char *value)
{
	if (value != NULL && strcasecmp(value, "always") == 0)
		return FSYNC_MODE_ALWAYS;
	if (value != NULL && strcasecmp(value, "never") == 0)
		return FSYNC_MODE_NEVER;
	return FSYNC_MODE_OPTIMIZED;
}

static char inbox_separator(const struct loft_settings *set)
{
	for (unsigned int i = 0; i < set->namespaces_count; i++) {
		const struct namespace_settings *ns = &set->namespaces[i];
		if (ns->inbox && ns->separator != NULL &&
		    ns->separator[0] != '\0')
			return ns->separator[0];
	}
	if (set->namespaces_count > 0 && set->namespaces[0].separator != NULL)
		return set->namespaces[0].separator[0];
	return '\0';
}

/* The sessions this process serves: one, or with the imap service's
   client_limit > 1 several of the same user, added by the master over
   MASTER_CONTROL_FD (IPC_MSG_SESSION_ADD). Each has its own mail_user
   (own index connection): they share only the process. */
struct imap_session {
	struct imap_session *prev, *next;
	struct client *client;
	struct mail_user *user;
	char *session_id;
	struct event *ev_free;
	uint64_t linger_until_ms;
};

static const struct loft_settings *set;
static struct event_base *base;
static struct imap_session *sessions;
static unsigned int sessions_count;
static struct event *ev_control;   /* NULL: one session only */
static bool control_closed;

/* how long a disconnected client's last lines (BYE, the LOGOUT reply)
   may take to drain before it is freed */
#define SESSION_LINGER_MSECS 5000

static void control_report_done(const char *session_id)
{
	if (ev_control == NULL || control_closed)
		return;
	struct ipc_msg *msg = ipc_msg_create(IPC_MSG_SESSION_DONE);
	ipc_msg_add(msg, "session", session_id);
	if (ipc_send(MASTER_CONTROL_FD, msg) < 0)
		i_error("Can't report the session's end to the master: %m");
	ipc_msg_free(&msg);
}

static void session_free(struct imap_session *s)
{
	if (s->prev != NULL)
		s->prev->next = s->next;
	else
		sessions = s->next;
	if (s->next != NULL)
		s->next->prev = s->prev;
	sessions_count--;
	control_report_done(s->session_id);
	client_destroy(&s->client);
	mail_user_close(&s->user);
	event_free(s->ev_free);
	free(s->session_id);
	free(s);
	if (sessions_count == 0 && (ev_control == NULL || control_closed))
		event_base_loopbreak(base);
}

/* a disconnected client of a process with several: free it once its
   output has drained (without blocking the others) */
static void session_free_cb(evutil_socket_t fd, short what, void *context)
{
	struct imap_session *s = context;

	if (evbuffer_get_length(s->client->outbuf) > 0) {
		client_flush(s->client);
		if (evbuffer_get_length(s->client->outbuf) > 0 &&
		    time_monotonic_ms() < s->linger_until_ms) {
			struct timeval tv = { 0, 50 * 1000 };
			event_add(s->ev_free, &tv);
			return;
		}
		evbuffer_drain(s->client->outbuf,
			       evbuffer_get_length(s->client->outbuf));
	}
	session_free(s);
}

static void session_disconnected(struct client *client)
{
	struct imap_session *s = client->context;
	struct timeval tv = { 0, 0 };

	s->linger_until_ms = time_monotonic_ms() + SESSION_LINGER_MSECS;
	event_add(s->ev_free, &tv);
}

/* Start serving a session on fd_in/fd_out. Returns NULL (after telling
   the client) when its storage can't be opened. */
static struct imap_session *
session_open(const struct master_session *session, int fd_in, int fd_out)
{
	struct mail_user_settings user_set;
	struct mail_user *user;
	const char *error;

	memset(&user_set, 0, sizeof(user_set));
	user_set.username = session->user;
	user_set.home = session->home;
	user_set.mail_location = session->mail != NULL &&
		session->mail[0] != '\0' ? session->mail : set->mail_location;
	user_set.separator = inbox_separator(set);
	user_set.fsync = fsync_mode(set->mail_fsync);
	if (user_set.mail_location == NULL || user_set.mail_location[0] == '\0')
		user_set.mail_location = "maildir:~/Maildir";
	if (mail_user_open_lazy(&user_set, &user, &error) < 0) {
		i_error("Failed to open mail storage: %s", error);
		if (session->tag != NULL && session->tag[0] != '\0') {
			char *line = i_strdup_printf("%s NO [SERVERBUG] "
				"Internal error occurred. Refer to server log "
				"for more information.\r\n", session->tag);
			(void)write_full(fd_out, line, strlen(line));
			free(line);
		} else {
			static const char bye[] = "* BYE Internal error "
				"occurred. Refer to server log for more "
				"information.\r\n";
			(void)write_full(fd_out, bye, sizeof(bye) - 1);
		}
		return NULL;
	}

	struct imap_session *s = i_new(struct imap_session, 1);
	s->user = user;
	s->session_id = i_strdup(session->session_id == NULL ? "" :
				 session->session_id);
	s->client = client_create(base, fd_in, fd_out, set, user,
				  session->user, session->session_id);
	s->client->context = s;
	s->ev_free = evtimer_new(base, session_free_cb, s);
	s->next = sessions;
	if (sessions != NULL)
		sessions->prev = s;
	sessions = s;
	sessions_count++;
	return s;
}

static char *session_log_prefix(const struct master_session *session)
{
	return i_strdup_printf("imap(%s)<%ld><%s>", session->user,
			       (long)getpid(), session->session_id == NULL ?
			       "" : session->session_id);
}

/* several sessions: each client logs with its own prefix and is freed
   without ending the process */
static void session_set_shared(struct imap_session *s,
			       const struct master_session *session)
{
	s->client->log_prefix = session_log_prefix(session);
	s->client->disconnected_callback = session_disconnected;
}

static void control_input(evutil_socket_t fd, short what, void *context)
{
	struct ipc_msg *msg;
	const char *error;

	int ret = ipc_recv(MASTER_CONTROL_FD, &msg, &error);
	if (ret < 0 && errno == EAGAIN)
		return;
	if (ret <= 0) {
		/* the master closed it: no more sessions (it does when
		   the last one has ended, or when it is gone) */
		if (ret < 0)
			i_error("Bad message from the master: %s", error);
		event_del(ev_control);
		control_closed = true;
		if (sessions_count == 0)
			event_base_loopbreak(base);
		return;
	}
	struct master_session session;
	if (msg->type != IPC_MSG_SESSION_ADD || msg->fd < 0 ||
	    !master_service_session_from_ipc(msg, &session)) {
		i_error("Unexpected message from the master (type %d)",
			msg->type);
		ipc_msg_free(&msg);
		return;
	}
	char *prefix = session_log_prefix(&session);
	log_set_prefix(prefix);
	free(prefix);
	struct imap_session *s = session_open(&session, msg->fd, msg->fd);
	if (s == NULL) {
		/* still tell the master it is over */
		control_report_done(session.session_id == NULL ? "" :
				    session.session_id);
		ipc_msg_free(&msg);
		return;
	}
	msg->fd = -1;    /* the client's now */
	session_set_shared(s, &session);
	client_start(s->client, session.tag, session.client_input);
	ipc_msg_free(&msg);
}

static void sigterm_cb(evutil_socket_t fd, short what, void *context)
{
	struct imap_session *s, *next;

	for (s = sessions; s != NULL; s = next) {
		next = s->next;
		client_disconnect(s->client, "Server shutting down.",
				  "Server shutting down.");
	}
	if (ev_control != NULL && !control_closed) {
		event_del(ev_control);
		control_closed = true;
	}
	if (sessions_count == 0)
		event_base_loopbreak(base);
}

int main(int argc, char *argv[])
{
	struct master_session session;

	set = master_service_init("imap", argc, argv);
	if (!master_service_get_session(&session))
		i_fatal("LOFT_USER not set: loft-imap runs post-login sessions");

	char *prefix = session_log_prefix(&session);
	log_set_prefix(prefix);
	free(prefix);

	base = event_base_new();
	if (base == NULL)
		i_fatal("event_base_new() failed");
	struct imap_session *s = session_open(&session, 0, 1);
	if (s == NULL)
		return FATAL_EXIT_CODE;
	if (master_service_session_control()) {
		evutil_make_socket_nonblocking(MASTER_CONTROL_FD);
		ev_control = event_new(base, MASTER_CONTROL_FD,
				       EV_READ | EV_PERSIST, control_input,
				       NULL);
		event_add(ev_control, NULL);
		session_set_shared(s, &session);
	}
	struct event *ev_term = evsignal_new(base, SIGTERM, sigterm_cb, NULL);
	event_add(ev_term, NULL);
	client_start(s->client, session.tag, session.client_input);
	if (ev_control != NULL || !s->client->disconnected)
		event_base_dispatch(base);
	/* one session: it ended the loop and is freed here, after its last
	   lines were flushed (client_destroy()) */
	while (sessions != NULL)
		session_free(sessions);
	event_free(ev_term);
	if (ev_control != NULL)
		event_free(ev_control);
	event_base_free(base);
	master_service_deinit();
	return 0;
}
