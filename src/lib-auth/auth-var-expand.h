#ifndef LOFT_AUTH_VAR_EXPAND_H
#define LOFT_AUTH_VAR_EXPAND_H
/* Dovecot's %variables for auth_username_format, passwd-file paths and
   static userdb args.

   2.3 forms: %u (user), %n (user part before '@', the whole user when
   there is none), %d (domain after '@', "" when none), %s (service),
   %r / %l (remote/local IP), %h (home), %% (a '%'), with the modifiers
   L (lowercase) and U (uppercase): %Lu, %Ln, %Ud.
   Long forms: %{user} %{username} %{domain} %{service} %{protocol}
   %{rip} %{remote_ip} %{lip} %{local_ip} %{session} %{home}, and the 2.4
   filter syntax %{user | lower}, %{user | username | lower},
   %{user | domain} (filters: lower, upper, username, domain). */
#include "lib.h"

#define AUTH_VAR_EXPAND_MAX_LEN 4096

struct auth_var_values {
	const char *user;
	const char *service;
	const char *rip;
	const char *lip;
	const char *session;
	const char *home;
};

/* Append fmt with variables expanded to dest. NULL values expand to "".
   Returns 0, or -1 with *error_r (static text) on an unknown variable,
   unknown filter, bad syntax or a result over AUTH_VAR_EXPAND_MAX_LEN
   bytes. */
int auth_var_expand(const char *fmt, const struct auth_var_values *vals,
		    string_t *dest, const char **error_r);

#endif
