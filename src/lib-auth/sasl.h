#ifndef LOFT_SASL_H
#define LOFT_SASL_H
/* Server side of the SASL mechanisms the login processes offer:
   PLAIN (RFC 4616) and LOGIN (draft-murchison-sasl-login). The login
   process base64-decodes each client response (IMAP AUTHENTICATE, POP3
   AUTH, incl. the SASL-IR initial response of RFC 4959 / RFC 2449) and
   feeds it here; the mechanism returns the next challenge (to be base64
   encoded by the caller) or, when done, the user and password to verify
   with loft-auth. A "*" cancel is the caller's business. */
#include "lib.h"

/* RFC 4616 allows up to 255 octets for authcid and authzid; passwords
   are allowed to be longer, as Dovecot does. */
#define SASL_MAX_USER_LEN 255
#define SASL_MAX_PASSWORD_LEN 1024
/* Bytes accepted in one decoded response. */
#define SASL_MAX_RESPONSE_LEN (SASL_MAX_USER_LEN * 2 + SASL_MAX_PASSWORD_LEN + 2)

struct sasl_mech;

/* Create a mechanism by name ("PLAIN", "LOGIN", case-insensitive).
   NULL if unknown. */
struct sasl_mech *sasl_mech_create(const char *name);
/* Free, wiping the password. */
void sasl_mech_destroy(struct sasl_mech **mech);
/* Canonical (uppercase) name. */
const char *sasl_mech_name(const struct sasl_mech *mech);

/* Feed one decoded client response. data == NULL means the client sent
   no initial response (start the exchange); data != NULL with len 0 is
   an empty response (SASL-IR "=" or an empty line).
   On success returns 0 and either *done_r = false and *challenge_r is
   the next server challenge (static text, may be ""), or *done_r = true
   and *user_r / *pass_r are the credentials (owned by mech, valid until
   sasl_mech_destroy). Returns -1 with *error_r (static text, never
   containing the password) on malformed input; the exchange is then
   over. */
int sasl_mech_input(struct sasl_mech *mech, const unsigned char *data,
		    size_t len, const char **challenge_r, bool *done_r,
		    const char **user_r, const char **pass_r,
		    const char **error_r);

#endif
