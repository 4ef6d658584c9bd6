#ifndef LOFT_SMTP_PARSER_H
#define LOFT_SMTP_PARSER_H
/* Resumable SMTP/LMTP command line parser (RFC 5321 4.1, RFC 2033).

   Feed it whatever bytes have arrived; it returns one command line at a
   time. Lines end in CRLF; a bare LF is tolerated (as Dovecot does).
   Limits: a command line may be at most max_line_length bytes without
   its line end (RFC 5321 4.5.3.1.4 asks for 512; we are lenient and
   default to SMTP_COMMAND_DEFAULT_MAX_LINE). An over-long line is
   discarded without buffering it and reported once its line end has
   arrived, so the connection stays in step with the client. */
#include "lib.h"

#define SMTP_COMMAND_DEFAULT_MAX_LINE 4096
/* Longest command verb we accept ("STARTTLS" is 8). */
#define SMTP_COMMAND_MAX_NAME 32

struct smtp_command_parser;

struct smtp_command {
	const char *name;  /* upper-cased verb, e.g. "MAIL" */
	const char *args;  /* text after the first SP ("" if none), CR/LF
	                      removed */
};

/* max_line_length in bytes; 0 = SMTP_COMMAND_DEFAULT_MAX_LINE. */
struct smtp_command_parser *smtp_command_parser_create(size_t max_line_length);
void smtp_command_parser_destroy(struct smtp_command_parser **parser);

/* Parse the next command from data[0..size). *consumed_r tells how many
   bytes were used (the caller drops them and passes the rest next time).
   Returns 1 with *cmd_r filled (strings valid until the next call),
   0 when more input is needed (all of data was consumed), or -1 for a
   bad line (too long, control characters, bad verb) with a short reason
   in *error_r; the bad line has been consumed and the parser can go on. */
int smtp_command_parser_next(struct smtp_command_parser *parser,
			     const void *data, size_t size,
			     size_t *consumed_r, struct smtp_command *cmd_r,
			     const char **error_r);

#endif
