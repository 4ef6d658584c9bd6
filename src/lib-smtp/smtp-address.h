#ifndef LOFT_SMTP_ADDRESS_H
#define LOFT_SMTP_ADDRESS_H
/* SMTP paths and the arguments of MAIL and RCPT (RFC 5321 4.1.1.2,
   4.1.1.3, 4.1.2). Quoted local parts are unquoted; source routes
   ("<@a,@b:user@c>") are accepted and dropped (RFC 5321 C); "<>" is the
   null reverse-path. Limits: a path may be SMTP_PATH_MAX_LENGTH bytes
   (RFC 5321 4.5.3.1.3 says 256; we are lenient), the local part
   SMTP_LOCALPART_MAX_LENGTH, and at most SMTP_MAX_PARAMS ESMTP
   parameters are accepted per command. */
#include "lib.h"

#define SMTP_PATH_MAX_LENGTH 1024
#define SMTP_LOCALPART_MAX_LENGTH 512
#define SMTP_DOMAIN_MAX_LENGTH 255
#define SMTP_MAX_PARAMS 16
#define SMTP_PARAM_MAX_LENGTH 512

struct smtp_address {
	char *localpart;  /* unquoted; NULL for the null path "<>" */
	char *domain;     /* NULL when the address has no "@domain"
	                     (e.g. RCPT TO:<postmaster>) */
};

struct smtp_param {
	char *keyword;    /* upper-cased */
	char *value;      /* NULL when the parameter has no "=value" */
};

/* MAIL FROM:<path> [params] or RCPT TO:<path> [params] */
struct smtp_envelope_cmd {
	struct smtp_address path;
	struct smtp_param params[SMTP_MAX_PARAMS];
	unsigned int params_count;
};

/* Parse a path starting at s ("<...>"). allow_null allows "<>".
   On success returns 0, fills *addr_r (free with smtp_address_free) and
   sets *end_r after the closing '>'. Returns -1 with *error_r on bad
   syntax or a limit exceeded. */
int smtp_path_parse(const char *s, bool allow_null,
		    struct smtp_address *addr_r, const char **end_r,
		    const char **error_r);
void smtp_address_free(struct smtp_address *addr);
/* The address as it goes between "<>" on the wire and in headers:
   local part quoted when it is not a dot-atom, "@domain" appended.
   "" for the null path. Caller frees. */
char *smtp_address_encode(const struct smtp_address *addr);
/* Same, from a local part and domain (domain may be NULL). */
char *smtp_address_encode_parts(const char *localpart, const char *domain);

/* Parse the arguments of MAIL ("FROM:<path> params", the text after
   "MAIL ") or RCPT ("TO:<path> params"). Keyword matching is
   case-insensitive and spaces after the colon are tolerated. Returns 0
   or -1 with *error_r. Free with smtp_envelope_cmd_free(). */
int smtp_parse_mail(const char *args, struct smtp_envelope_cmd *cmd_r,
		    const char **error_r);
int smtp_parse_rcpt(const char *args, struct smtp_envelope_cmd *cmd_r,
		    const char **error_r);
void smtp_envelope_cmd_free(struct smtp_envelope_cmd *cmd);
/* Value of parameter keyword (case-insensitive); NULL if absent or
   without value. *found_r (may be NULL) tells whether it was given. */
const char *smtp_envelope_cmd_param(const struct smtp_envelope_cmd *cmd,
				    const char *keyword, bool *found_r);

#endif
