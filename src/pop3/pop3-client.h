#ifndef LOFT_POP3_CLIENT_H
#define LOFT_POP3_CLIENT_H
/* One POP3 session after login (RFC 1939 TRANSACTION and UPDATE states,
   RFC 2449 CAPA/PIPELINING). The message list is fixed when the session
   starts; DELE marks, QUIT expunges. */
#include "lib.h"
#include "settings.h"
#include "mail-storage.h"
#include <event2/event.h>
#include <event2/buffer.h>

/* Longest command line (Dovecot's pop3 input buffer). */
#define POP3_MAX_LINE_LENGTH 4096
/* Stop reading commands / producing RETR output above this much queued
   output; go on when it drained below half. */
#define POP3_OUTPUT_THROTTLE (128 * 1024)
#define POP3_MAX_BAD_COMMANDS 20
#define POP3_IDLE_TIMEOUT_SECS (10 * 60)

struct pop3_client;
/* A command that produces output over several rounds (LIST, UIDL, RETR):
   called again when the output drained; returns true when finished. */
typedef bool pop3_cmd_continue_t(struct pop3_client *client);

struct pop3_client {
	const struct loft_settings *set;
	struct event_base *base;
	int fd_in, fd_out;
	struct event *ev_read, *ev_write, *ev_idle;
	struct evbuffer *input, *output;

	char *username, *session_id;
	struct mail_user *user;
	struct mailbox *box;

	uint32_t messages_count;
	uint64_t *message_sizes;    /* vsize (CRLF) per message */
	uint64_t total_size;
	uint8_t *deleted_bitmask, *seen_bitmask;
	uint32_t deleted_count;
	uint64_t deleted_size;
	char **uidls;               /* computed on first UIDL */

	/* running command */
	pop3_cmd_continue_t *cmd;
	void *cmd_context;
	void (*cmd_free)(void *context); /* frees cmd_context if aborted */

	unsigned int bad_counter;
	uint64_t input_bytes, output_bytes;
	unsigned int top_count, retr_count;
	uint64_t top_bytes, retr_bytes;
	unsigned int seen_changes;
	bool delete_success;
	bool disconnected, input_eof;
};

/* Create the session on fd_in/fd_out (may be the same) for an opened
   INBOX. initial_input: bytes the client pipelined after login (may be
   NULL). Sends "+OK Logged in." */
struct pop3_client *
pop3_client_create(struct event_base *base, int fd_in, int fd_out,
		   const struct loft_settings *set, const char *username,
		   const char *session_id, struct mail_user *user,
		   struct mailbox *box, const void *initial_input,
		   size_t initial_input_size);
/* Log "Disconnected: <reason> <stats>", flush what we can and end the
   event loop. */
void pop3_client_disconnect(struct pop3_client *client, const char *reason);
void pop3_client_destroy(struct pop3_client **client);

void pop3_client_send_line(struct pop3_client *client, const char *fmt, ...)
	ATTR_FORMAT(2, 3);
bool pop3_client_output_full(struct pop3_client *client);
/* Apply \Seen of RETRed messages and (if expunge) the DELEs.
   Returns 0 or -1 with *error_r. */
int pop3_client_update_mails(struct pop3_client *client, bool expunge,
			     const char **error_r);

/* pop3-commands.c: run one command line; returns -1 for a bad command
   (counts towards POP3_MAX_BAD_COMMANDS). */
int pop3_command_execute(struct pop3_client *client, const char *name,
			 const char *args);

#endif
