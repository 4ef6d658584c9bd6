#ifndef LOFT_LOG_H
#define LOFT_LOG_H
/* Process logging in Dovecot's line shape:
     "Nov 25 12:00:00 imap-login: Info: Login: user=<u>, ..."
   Every process writes whole lines to fd 2 with one write(2); the master
   points fd 2 of its children at log_path (O_APPEND) or its own stderr. */
#include "lib.h"

/* Set the "service: " prefix of every line, e.g. "imap-login". A
   prefix containing "(%s)" is not expanded: pass the final text. */
void log_init(const char *service);
/* Add a per-session prefix after the service, e.g. "imap(user)<pid><session>"
   as Dovecot does for mail processes; NULL clears it. */
void log_set_prefix(const char *prefix);
/* Send this process's own lines to syslog(3) (already opened with
   openlog) instead of fd 2. */
void log_set_syslog(bool enable);
/* Relay one line a child wrote in the fd 2 format ("<timestamp>
   service: Level: text") to syslog with the matching priority. */
void log_relay_to_syslog(const char *line);

/* Enable debug lines (mail_debug / auth_debug). */
void log_set_debug(bool debug);
bool log_debug_enabled(void);

void i_debug(const char *fmt, ...) ATTR_FORMAT(1, 2);
void i_info(const char *fmt, ...) ATTR_FORMAT(1, 2);
void i_warning(const char *fmt, ...) ATTR_FORMAT(1, 2);
void i_error(const char *fmt, ...) ATTR_FORMAT(1, 2);
void i_fatal(const char *fmt, ...) ATTR_FORMAT(1, 2) ATTR_NORETURN;
/* Exit code used by i_fatal. */
#define FATAL_EXIT_CODE 89

#endif
