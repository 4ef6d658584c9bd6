#ifndef LOFT_IMAP_CLIENT_H
#define LOFT_IMAP_CLIENT_H
/* One post-login IMAP session (RFC 3501 authenticated/selected states):
   buffered non-blocking I/O on the client fds, command dispatch, the
   selected mailbox and the view of it the client has been told about. */
#include "lib.h"
#include "log.h"
#include "settings.h"
#include "mail-storage.h"
#include "imap-parser.h"
#include <event2/event.h>
#include <event2/buffer.h>

/* Stop producing output (e.g. a big FETCH) above this many buffered
   bytes; resume when the client has read it down to the low mark. */
#define CLIENT_OUTPUT_HIGH_WATER (256 * 1024)
#define CLIENT_OUTPUT_LOW_WATER (64 * 1024)
/* Disconnect after this many BAD commands in a row (Dovecot: 20). */
#define CLIENT_MAX_BAD_COMMANDS 20
/* Disconnect idle (not IDLE-ing) clients after 30 minutes (RFC 3501
   5.4 says at least 30 minutes). */
#define CLIENT_IDLE_TIMEOUT_SECS (30 * 60)

struct client;
struct client_command;

/* Returns true when the command is finished (its tagline set), false
   when it must be called again once the output buffer has drained. */
typedef bool command_func_t(struct client_command *cmd);

enum command_flags {
	/* needs a selected mailbox */
	COMMAND_FLAG_SELECTED = 0x01,
	/* may be used as "UID <name>" */
	COMMAND_FLAG_UID = 0x02,
	/* RFC 3501 7.4.1: no EXPUNGE while answering FETCH/STORE/SEARCH
	   by sequence number: don't sync after the command */
	COMMAND_FLAG_NO_EXPUNGES = 0x04,
	/* no automatic sync after the command (LOGOUT, IDLE) */
	COMMAND_FLAG_NO_SYNC = 0x08,
};

struct command {
	const char *name;
	command_func_t *func;
	enum command_flags flags;
};

struct client_command {
	struct client *client;
	char *tag;
	char *name;             /* uppercased; "UID FETCH" for UID variants */
	const struct imap_arg *args; /* after the command name (and UID's
	                                subcommand); valid while running */
	bool uid;
	const struct command *def;
	char *tagline;          /* "OK ...", "NO ...", "BAD ..." */
	bool param_error;       /* counts towards CLIENT_MAX_BAD_COMMANDS */
	bool seqs_expunged;     /* the sequence set named expunged messages */
	uint64_t start_ms;
	uint64_t wait_ms, wait_start_ms; /* time spent waiting for output */
	/* continuable commands keep their state here */
	void *context;
	void (*context_free)(void *context);
};

/* What the client has been told about one message of the selected
   mailbox, to send FETCH FLAGS only for real changes. */
struct client_known_msg {
	uint32_t uid;
	uint8_t flags;
	bool expunged;  /* gone from the storage, EXPUNGE not sent yet */
	uint32_t keywords_hash;
};

struct client {
	int fd_in, fd_out;
	struct event_base *base;
	struct event *ev_read, *ev_write, *ev_idle, *ev_idle_notify;
	struct event *ev_trim; /* release memory when input goes quiet */
	struct evbuffer *inbuf, *outbuf;
	struct imap_parser *parser;
	const struct loft_settings *set;
	struct mail_user *user;
	char *username;
	char *session_id;
	string_t *capability;
	/* prefix of the (inbox) namespace, e.g. "" or "INBOX.": client
	   mailbox names are this + the storage's names (but "INBOX") */
	char *ns_prefix;

	struct mailbox *mailbox;
	struct client_known_msg *known;
	uint32_t known_count, known_alloc;
	uint32_t recent_count;
	uint32_t keywords_hash;  /* of the keywords last sent in FLAGS */

	struct client_command *cmd;  /* running (blocked on output) */
	char *last_cmd_name;
	uint64_t last_cmd_end_ms;
	unsigned int bad_counter;

	/* IDLE (RFC 2177) */
	struct client_command *idle_cmd;
	uint64_t idle_last_notify_ms;

	uint64_t in_bytes, out_bytes;
	unsigned int deleted_count, expunged_count, trashed_count;
	unsigned int fetch_hdr_count, fetch_body_count;
	uint64_t fetch_hdr_bytes, fetch_body_bytes;

	/* A process serving several sessions (main.c) sets these: the log
	   prefix ("imap(user)<pid><session>") made current whenever the
	   client's events run, and what to call once it is disconnected
	   (instead of ending the event loop) */
	char *log_prefix;
	void (*disconnected_callback)(struct client *client);
	void *context;

	bool sync_error_logged;
	bool input_eof;
	bool disconnected;
	bool logged_out;
	bool destroyed;
};

/* Create a client on fds (may be the same fd). The capability line is
   built from settings; greeting is sent by client_start(). */
struct client *client_create(struct event_base *base, int fd_in, int fd_out,
			     const struct loft_settings *set,
			     struct mail_user *user, const char *username,
			     const char *session_id);
/* Send the greeting: "<tag> OK [CAPABILITY ...] Logged in" when tag is
   set (answer to the login process's LOGIN/AUTHENTICATE), else
   "* PREAUTH [CAPABILITY ...] Logged in as USER". Then process
   input_b64 (bytes the client pipelined after login), then start
   reading. */
void client_start(struct client *client, const char *tag,
		  const char *input_b64);
/* Free everything; logs the disconnect reason if not yet done. */
void client_destroy(struct client **client);

/* Output: a line (CRLF appended) or raw bytes. */
void client_send_line(struct client *client, const char *line);
void client_send_linef(struct client *client, const char *fmt, ...)
	ATTR_FORMAT(2, 3);
void client_send_raw(struct client *client, const void *data, size_t size);
/* True when the output buffer is above the high-water mark (after
   trying to write): the caller should return false from its command
   function and will be called again. */
bool client_output_is_full(struct client *client);
/* Write as much buffered output as the socket takes now. */
void client_flush(struct client *client);

/* Set the tagged reply of cmd ("OK Fetch completed."); Dovecot's timing
   "(0.001 + 0.000 secs)" is added when it is sent. */
void client_command_reply(struct client_command *cmd, const char *reply);
void client_command_replyf(struct client_command *cmd, const char *fmt, ...)
	ATTR_FORMAT(2, 3);
/* "BAD Error in IMAP command NAME: msg" and count it as a bad command. */
void client_command_error(struct client_command *cmd, const char *msg);

/* Disconnect: send "* BYE msg" (if msg != NULL), log "Disconnected:
   reason", stop reading. The client is freed from the event loop. */
void client_disconnect(struct client *client, const char *bye,
		       const char *reason);

/* Close the selected mailbox (no expunge). */
void client_close_mailbox(struct client *client);
/* Sync the selected mailbox and send FETCH/EXISTS/RECENT for changes
   (imap-sync.c), and EXPUNGE if expunges is true (never while
   answering FETCH, STORE or SEARCH: RFC 3501 7.4.1); until then an
   expunged message keeps its sequence number. send_uid adds "UID n" to
   FETCH updates. */
void client_sync(struct client *client, bool send_uid, bool expunges);
/* "* FLAGS (...)" and "* OK [PERMANENTFLAGS (...)]" for the selected
   mailbox, and again whenever its keyword list grows (RFC 3501 7.2.6). */
void client_send_mailbox_flags(struct client *client);
void client_send_keywords_if_changed(struct client *client);
/* Reset the client's view right after SELECT. */
void client_known_init(struct client *client);
/* Record what the client was just told about a message's flags
   (FETCH FLAGS / STORE output). */
void client_known_update(struct client *client, const struct mail_record *rec);
/* The client's sequence number of the storage's message storage_seq
   (0 if the client doesn't know it yet), and back (0 for a message
   that is gone). */
uint32_t client_seq_from_storage(struct client *client, uint32_t storage_seq);
uint32_t client_seq_to_storage(struct client *client, uint32_t seq);

/* IDLE (cmd-idle.c): after "+ idling", wait for DONE while sending
   changes as they happen; cmd_idle() returns false after calling it. */
void client_idle_start(struct client_command *cmd);

/* Resume input processing (after IDLE DONE or a finished command). */
void client_input_continue(struct client *client);

#endif
