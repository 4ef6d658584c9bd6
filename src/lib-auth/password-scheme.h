#ifndef LOFT_PASSWORD_SCHEME_H
#define LOFT_PASSWORD_SCHEME_H
/* Password schemes as Dovecot names and stores them: "{SCHEME}data",
   where data is the scheme's own text (crypt(3) strings, $argon2id$...)
   or a base64/hex encoding of a raw digest. A scheme name may carry an
   encoding suffix: "SHA512.HEX", "SSHA512.B64" / ".BASE64".

   Supported: CRYPT (any crypt(3) string libxcrypt verifies; generates
   $2y$ like Dovecot 2.3), DES-CRYPT, MD5-CRYPT ($1$), MD5, SHA256-CRYPT
   ($5$), SHA512-CRYPT ($6$), BLF-CRYPT ($2y$), ARGON2I, ARGON2ID, ARGON2
   (libsodium), SHA/SHA1, SHA256, SHA512, SSHA, SSHA256, SSHA512, SMD5,
   PLAIN-MD5, LDAP-MD5, PLAIN/CLEAR/CLEARTEXT, PLAIN-TRUNC. Names are
   case-insensitive. Every comparison of secret-derived bytes is
   constant-time. */
#include "lib.h"

/* Plaintext passwords longer than this are refused (bcrypt and the
   SHA-crypt schemes cost time proportional to the length). */
#define PASSWORD_MAX_PLAINTEXT_LEN 4096
/* Stored hashes longer than this are refused as malformed. */
#define PASSWORD_MAX_STORED_LEN 4096

/* Dovecot's default scheme for passwd-file and doveadm pw. */
#define PASSWORD_DEFAULT_SCHEME "CRYPT"

/* Allow the weak schemes (DES-CRYPT, MD5-CRYPT, MD5, SMD5, PLAIN-MD5,
   LDAP-MD5). Default: allowed, as in Dovecot 2.3; Dovecot 2.4 refuses
   them unless auth_allow_weak_schemes=yes. */
void password_schemes_allow_weak(bool allow);

/* True if scheme (with optional .HEX/.B64 suffix) is known. */
bool password_scheme_is_known(const char *scheme);
/* Space-separated list of the known scheme names (static string). */
const char *password_schemes_list(void);

/* Split a stored password into scheme and data. "{SHA512}abc" gives
   scheme "SHA512" (i_malloc'd, caller frees) and *data_r pointing at
   "abc" inside stored. A bare "$1$salt$hash" gives "MD5-CRYPT" as
   Dovecot does. Returns NULL (and *data_r = stored) when there is no
   prefix. */
char *password_get_scheme(const char *stored, const char **data_r);

/* Verify plaintext against data stored in the given scheme (no {}
   prefix). Returns 1 on match, 0 on mismatch, -1 if the scheme is
   unknown or refused or the data is malformed (*error_r is a static
   string, never containing the password). */
int password_verify(const char *plaintext, const char *scheme,
		    const char *data, const char **error_r);

/* Verify plaintext against a stored password with an optional {SCHEME}
   prefix; default_scheme (NULL = PASSWORD_DEFAULT_SCHEME) applies when
   there is none. Results as password_verify(). */
int password_verify_stored(const char *plaintext, const char *stored,
			   const char *default_scheme, const char **error_r);

/* Hash plaintext with a fresh random salt. rounds = 0 is the scheme's
   default (bcrypt cost 5, SHA-crypt 5000, argon2 interactive limits).
   Returns the encoded data without the {SCHEME} prefix (i_malloc'd,
   caller frees), or NULL with *error_r for an unknown scheme or a
   failed hash. */
char *password_generate_encoded(const char *plaintext, const char *scheme,
				unsigned int rounds, const char **error_r);

#endif
