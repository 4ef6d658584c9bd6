/* loft-pop3: the POP3 process after login (Dovecot's "pop3"). The master
   (or a test, by hand with -c FILE) starts it per session with the client
   on fd 0/1 and the session in the environment (master-service.h). */
#include "lib.h"
#include "log.h"
#include "master-service.h"
#include "mail-storage.h"
#include "pop3-client.h"
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>


static enum mail_fsync_mode pop3_fsync_mode(const char *value)
{
	if (value != NULL && strcmp(value, "always") == 0)
		return FSYNC_MODE_ALWAYS;
	if (value != NULL && strcmp(value, "never") == 0)
		return FSYNC_MODE_NEVER;
	return FSYNC_MODE_OPTIMIZED;
}

int main(int argc, char *argv[])
{
	const struct loft_settings *set = master_service_init("pop3", argc, argv);
	struct master_session session;
	struct mail_user_settings user_set;
	struct mail_user *user;
	struct mailbox *box;
	const char *error;
	string_t *input = str_new(64);

	if (!master_service_get_session(&session))
		i_fatal("LOFT_USER not set: loft-pop3 runs a logged-in session");
	char *session_id = session.session_id != NULL ?
		i_strdup(session.session_id) : session_id_new();
	char *prefix = i_strdup_printf("pop3(%s)<%d><%s>", session.user,
				       (int)getpid(), session_id);
	log_set_prefix(prefix);
	if (session.client_input != NULL &&
	    base64_decode(session.client_input, strlen(session.client_input),
			  input) < 0)
		i_fatal("Invalid LOFT_INPUT");

	memset(&user_set, 0, sizeof(user_set));
	user_set.username = session.user;
	user_set.home = session.home;
	user_set.mail_location = session.mail != NULL && session.mail[0] != '\0' ?
		session.mail : set->mail_location;
	user_set.fsync = pop3_fsync_mode(set->mail_fsync);
	if (mail_user_open(&user_set, &user, &error) < 0 ||
	    mailbox_open(user, "INBOX", false, &box, &error) < 0) {
		/* Dovecot answers a failed mailbox open this way */
		printf("-ERR [SYS/TEMP] %s\r\n", error);
		fflush(stdout);
		i_error("Couldn't open INBOX: %s", error);
		return 1;
	}

	struct event_base *base = event_base_new();
	struct pop3_client *client =
		pop3_client_create(base, 0, 1, set, session.user, session_id,
				   user, box, str_data(input), str_len(input));
	event_base_dispatch(base);
	pop3_client_destroy(&client);
	event_base_free(base);

	mailbox_close(&box);
	mail_user_close(&user);
	str_free(&input);
	free(prefix);
	free(session_id);
	master_service_deinit();
	return 0;
}
