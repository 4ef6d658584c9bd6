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

static void sigterm_cb(evutil_socket_t fd, short what, void *context)
{
	struct client *client = context;

	client_disconnect(client, "Server shutting down.",
			  "Server shutting down.");
}

int main(int argc, char *argv[])
{
	const struct loft_settings *set;
	struct master_session session;
	struct mail_user_settings user_set;
	struct mail_user *user;
	struct event_base *base;
	struct client *client;
	const char *error;

	set = master_service_init("imap", argc, argv);
	if (!master_service_get_session(&session))
		i_fatal("LOFT_USER not set: loft-imap runs post-login sessions");

	char *prefix = i_strdup_printf("imap(%s)<%ld><%s>", session.user,
				       (long)getpid(),
				       session.session_id == NULL ? "" :
				       session.session_id);
	log_set_prefix(prefix);
	free(prefix);

	memset(&user_set, 0, sizeof(user_set));
	user_set.username = session.user;
	user_set.home = session.home;
	user_set.mail_location = session.mail != NULL && session.mail[0] != '\0' ?
		session.mail : set->mail_location;
	user_set.separator = inbox_separator(set);
	user_set.fsync = fsync_mode(set->mail_fsync);
	if (user_set.mail_location == NULL || user_set.mail_location[0] == '\0')
		user_set.mail_location = "maildir:~/Maildir";
	if (mail_user_open_lazy(&user_set, &user, &error) < 0) {
		i_error("Failed to open mail storage: %s", error);
		if (session.tag != NULL && session.tag[0] != '\0') {
			char *line = i_strdup_printf("%s NO [SERVERBUG] "
				"Internal error occurred. Refer to server log "
				"for more information.\r\n", session.tag);
			(void)write_full(1, line, strlen(line));
			free(line);
		} else {
			static const char bye[] = "* BYE Internal error "
				"occurred. Refer to server log for more "
				"information.\r\n";
			(void)write_full(1, bye, sizeof(bye) - 1);
		}
		return FATAL_EXIT_CODE;
	}

	base = event_base_new();
	if (base == NULL)
		i_fatal("event_base_new() failed");
	client = client_create(base, 0, 1, set, user, session.user,
			       session.session_id);
	struct event *ev_term = evsignal_new(base, SIGTERM, sigterm_cb, client);
	event_add(ev_term, NULL);
	client_start(client, session.tag, session.client_input);
	if (!client->disconnected)
		event_base_dispatch(base);
	event_free(ev_term);
	client_destroy(&client);
	mail_user_close(&user);
	event_base_free(base);
	master_service_deinit();
	return 0;
}
