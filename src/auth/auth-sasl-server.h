#ifndef LOFT_AUTH_SASL_SERVER_H
#define LOFT_AUTH_SASL_SERVER_H
/* Dovecot's auth client protocol, server side, for SMTP servers that use
   Dovecot SASL (Postfix smtpd_sasl_type = dovecot, Exim's dovecot
   authenticator) on a `service auth { unix_listener ... }` socket:

     S: VERSION 1 2 / MECH PLAIN plaintext / MECH LOGIN plaintext /
        SPID <pid> / CUID <n> / COOKIE <hex> / DONE
     C: VERSION 1 x / CPID <pid>
     C: AUTH <id> <mech> service=smtp [nologin] [lip=] [rip=] [secured]
        [resp=<base64 initial response>]
     S: CONT <id> <base64 challenge>      C: CONT <id> <base64 response>
     S: OK <id> user=<user>  |  FAIL <id> [user=] [reason=] [temp]
     C: CANCEL <id>

   Fields are TAB-separated; in values \001 escapes itself ("\0011"),
   TAB ("\001t"), LF ("\001n") and CR ("\001r"). Mechanisms are those of
   auth_mechanisms that sasl.h implements (PLAIN, LOGIN). A FAIL waits
   auth_failure_delay seconds. Limits: AUTH_PROTOCOL_MAX_LINE per line,
   AUTH_SASL_MAX_REQUESTS unfinished exchanges per connection. */
#include "lib.h"

#define AUTH_SASL_MAX_REQUESTS 64

struct auth_connection;

/* Send the server's greeting. */
void auth_sasl_server_handshake(struct auth_connection *conn);
/* Handle one input line (without LF). May close conn. */
void auth_sasl_server_input(struct auth_connection *conn, const char *line,
			    size_t len);
/* Free the connection's unfinished exchanges. */
void auth_sasl_server_deinit(struct auth_connection *conn);

/* Dovecot's \001 tab-escaping, exposed for tests. */
void auth_sasl_tabescape(string_t *dest, const char *value);
/* Returns -1 on an invalid escape. */
int auth_sasl_tabunescape(const char *src, size_t len, string_t *dest);

#endif
