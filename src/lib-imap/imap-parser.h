#ifndef LOFT_IMAP_PARSER_H
#define LOFT_IMAP_PARSER_H
/* Resumable pull parser for IMAP commands (RFC 3501 section 9 grammar,
   LITERAL+ from RFC 7888).

   The caller keeps its own input buffer and hands the parser whatever
   bytes have arrived; the parser consumes what it can (never more than
   one command) and says how far it got:

     size_t used;
     r = imap_parser_parse(parser, data, size, &used);
     drain `used` bytes from the input buffer, then:
       NEED_MORE      wait for more input
       LITERAL_CONT   send "+ OK\r\n" (synchronizing literal), call again
       COMMAND        imap_parser_get_command() is complete; run it
       ERROR          imap_parser_get_error(); the parser skips the rest of
                      the offending line by itself on the next calls

   Every byte of a command except literal data counts against
   max_line_length. Literals are refused at their announcement "{N}" (or
   "{N+}"), before any of their data is read: for APPEND they may be up
   to max_literal_size bytes, for other commands the literal counts
   against max_line_length too (like Dovecot).

   Arguments: atoms, quoted strings, literals, NIL and parenthesized
   lists, with lengths (literals may hold NULs). An atom that opens a '['
   keeps spaces and parentheses until the matching ']', so
   "BODY[HEADER.FIELDS (From To)]<0.10>" is one atom, as FETCH needs. */
#include "lib.h"

enum imap_arg_type {
	IMAP_ARG_EOL = 0,	/* end of a list / of the arguments */
	IMAP_ARG_NIL,
	IMAP_ARG_ATOM,
	IMAP_ARG_STRING,	/* quoted string */
	IMAP_ARG_LITERAL,
	IMAP_ARG_LIST,
};

struct imap_arg {
	enum imap_arg_type type;
	/* ATOM, STRING, LITERAL (and NIL: "NIL"): NUL-terminated, str_len
	   bytes (a literal may contain NULs) */
	const char *str;
	size_t str_len;
	/* LIST: list_count elements followed by an IMAP_ARG_EOL */
	const struct imap_arg *list;
	unsigned int list_count;
	/* LITERAL: announced as "{N+}" */
	bool literal_plus;
};

struct imap_parser_limits {
	size_t max_line_length;     /* bytes per command line; 0 = 65536 */
	uint64_t max_literal_size;  /* APPEND literal; 0 = max_line_length */
	unsigned int max_list_depth;/* nested '(' levels; 0 = 16 */
	unsigned int max_args;      /* arguments incl. nested; 0 = 1000 */
};

enum imap_parser_result {
	IMAP_PARSER_NEED_MORE = 0,
	IMAP_PARSER_LITERAL_CONT,
	IMAP_PARSER_COMMAND,
	IMAP_PARSER_ERROR,
};

enum imap_parser_error {
	IMAP_PARSER_ERROR_NONE = 0,
	/* Syntax error; the rest of the line is skipped. */
	IMAP_PARSER_ERROR_BAD,
	/* Line longer than max_line_length; the rest is skipped. */
	IMAP_PARSER_ERROR_LINE_TOO_LONG,
	/* Announced literal too big. If imap_parser_error.fatal is false it
	   was a synchronizing literal: nothing more of the command will
	   come and the connection stays usable. If fatal (LITERAL+), its
	   data is already on the way: the caller should say BYE and close. */
	IMAP_PARSER_ERROR_LITERAL_TOO_BIG,
};

struct imap_command_parsed {
	const char *tag;       /* never NULL for a COMMAND result */
	const char *name;      /* as sent (not uppercased); "UID" is not
	                          joined with its subcommand */
	const struct imap_arg *args; /* terminated by IMAP_ARG_EOL */
	unsigned int args_count;
};

struct imap_parser;

/* limits may be NULL for the defaults. */
struct imap_parser *imap_parser_create(const struct imap_parser_limits *limits);
void imap_parser_destroy(struct imap_parser **parser);
/* Forget any partial command (including a pending line skip). */
void imap_parser_reset(struct imap_parser *parser);

/* Consume input; see the top of this file. *used_r is how many bytes of
   data were consumed (always <= size). After COMMAND, the command stays
   valid until the next imap_parser_parse()/reset() call, which starts
   the next command. */
enum imap_parser_result
imap_parser_parse(struct imap_parser *parser, const unsigned char *data,
		  size_t size, size_t *used_r);

/* The command after an IMAP_PARSER_COMMAND result. */
const struct imap_command_parsed *
imap_parser_get_command(const struct imap_parser *parser);

/* After IMAP_PARSER_ERROR: a client-safe message (no trailing period
   issue: it ends with '.'), the error kind and whether the connection
   should be closed. Tag and command name as far as they were read
   (NULL if not yet), so the caller can answer "TAG BAD Error in IMAP
   command NAME: msg" or "* BAD Error in IMAP tag: ..." like Dovecot. */
const char *imap_parser_get_error(const struct imap_parser *parser,
				  enum imap_parser_error *error_r,
				  bool *fatal_r);
const char *imap_parser_get_tag(const struct imap_parser *parser);
const char *imap_parser_get_name(const struct imap_parser *parser);
/* While a command is being read (e.g. after LITERAL_CONT): the complete
   top-level arguments read so far (not EOL-terminated; an open list is
   not counted). Lets APPEND refuse a missing mailbox before the client
   sends the message, as Dovecot does. Valid until the next parse call. */
const struct imap_arg *
imap_parser_get_partial_args(const struct imap_parser *parser,
			     unsigned int *count_r);
/* True while the parser is in the middle of a command or line skip
   (i.e. input consumed so far is not at a command boundary). */
bool imap_parser_is_busy(const struct imap_parser *parser);

/* --- argument helpers (Dovecot imap-arg.h style) --- */
/* astring: ATOM, STRING or LITERAL (NIL reads as the string "NIL"). */
bool imap_arg_get_astring(const struct imap_arg *arg, const char **str_r);
/* string: STRING or LITERAL only. */
bool imap_arg_get_string(const struct imap_arg *arg, const char **str_r);
/* nstring: STRING, LITERAL or NIL (*str_r = NULL). */
bool imap_arg_get_nstring(const struct imap_arg *arg, const char **str_r);
bool imap_arg_get_atom(const struct imap_arg *arg, const char **str_r);
bool imap_arg_get_list(const struct imap_arg *arg,
		       const struct imap_arg **list_r, unsigned int *count_r);
static inline bool imap_arg_is_eol(const struct imap_arg *arg)
{ return arg->type == IMAP_ARG_EOL; }
/* True if arg is an atom equal to s (case-insensitive). */
bool imap_arg_atom_equals(const struct imap_arg *arg, const char *s);

/* Append args back in IMAP syntax (for logging / tests): atoms as is,
   strings quoted, literals as {N} + data (or "<N byte literal>" when
   human is true), lists in parentheses. */
void imap_write_args(string_t *dest, const struct imap_arg *args, bool human);

#endif
