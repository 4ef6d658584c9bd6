#ifndef LOFT_AUTH_PROTOCOL_H
#define LOFT_AUTH_PROTOCOL_H
/* The line protocol between loft-auth and its clients (login processes,
   lmtp, loftadm) over the unix sockets "auth-login" and "auth-userdb".

   Every line is a list of fields separated by TAB and ended by LF. In a
   field, backslash, TAB, LF and CR are escaped as "\\", "\t", "\n" and
   "\r"; any other backslash sequence is a protocol error. The first
   field is the command, the second a request id (decimal, 1..2^32-1,
   chosen by the client, unique among its pending requests); the rest are
   "key=value" fields (a key without "=" has an empty value). Replies
   carry the request's id and may come in any order, so one connection
   multiplexes many requests.

   On connect the server sends:  VERSION<TAB>1<TAB>0
   Requests:
     PASS <id> service=imap user=<u> password=<p> [rip=<ip>] [lip=<ip>]
          [secured=0|1] [session=<s>] [mech=PLAIN]
       Verify a password (passdbs in order, then the userdbs).
       -> OK <id> user=<canonical user> [uid=] [gid=] [home=] [mail=]
             [other userdb fields]
       -> FAIL <id> [user=<u>] reason=<text> [temp=1]
          (temp=1: internal/temporary failure, try again later. A plain
          FAIL comes after auth_failure_delay seconds.)
     USER <id> service=lmtp user=<u>
       Userdb lookup (only on the auth-userdb socket).
       -> USER <id> user=<canonical user> [uid=] [gid=] [home=] [mail=] ...
       -> NOTFOUND <id>
       -> FAIL <id> reason=<text> [temp=1]
   A malformed line or unknown command gets
       -> ERROR <id or 0> reason=<text>
   and the connection stays open; an over-long line closes the
   connection. A PASS while AUTH_PROTOCOL_MAX_PENDING failed replies are
   still being delayed gets "FAIL <id> ... temp=1" without being checked.

   Limits: AUTH_PROTOCOL_MAX_LINE bytes per line (incl. LF),
   AUTH_PROTOCOL_MAX_ARGS fields per line, AUTH_PROTOCOL_MAX_PENDING
   delayed replies per connection. */
#include "lib.h"

#define AUTH_PROTOCOL_MAJOR_VERSION 1
#define AUTH_PROTOCOL_MINOR_VERSION 0
#define AUTH_PROTOCOL_MAX_LINE 16384
#define AUTH_PROTOCOL_MAX_ARGS 64
#define AUTH_PROTOCOL_MAX_PENDING 128

/* Append value escaped for one field. */
void auth_protocol_append_escaped(string_t *dest, const char *value);
/* Append "\tkey=value" with the value escaped; nothing if value is
   NULL. */
void auth_protocol_append_field(string_t *dest, const char *key,
				const char *value);

/* Split one line (without the LF; a trailing CR is not removed) into
   unescaped fields. *args_r is a NULL-terminated array owned by the
   caller: free with auth_protocol_args_free(). Returns 0, or -1 with *error_r
   (static text) on a bad escape, an embedded NUL/LF, too many fields or
   an over-long line. */
int auth_protocol_parse_line(const char *line, size_t len, char ***args_r,
			     const char **error_r);

/* Wipe (fields may hold passwords) and free parsed args; sets *args
   to NULL. */
void auth_protocol_args_free(char ***args);

/* Value of "key=value" among args (from index start), NULL if absent.
   A bare "key" gives "". */
const char *auth_protocol_args_find(char *const *args, unsigned int start,
				    const char *key);

/* Parse a request id: decimal 1..UINT32_MAX. Returns 0 or -1. */
int auth_protocol_parse_id(const char *str, uint32_t *id_r);

#endif
