#ifndef LOFT_SHA_CRYPT_H
#define LOFT_SHA_CRYPT_H
/* SHA-256-CRYPT ("$5$") and SHA-512-CRYPT ("$6$"), Drepper's "Unix crypt
   using SHA-256 and SHA-512" (the crypt(3) schemes), computed with
   OpenSSL's SHA-2 code, which is about 2.5x faster than libxcrypt's
   portable C on x86-64. The result is byte-for-byte what crypt(3) gives
   (tests/unit/test-password-scheme.c checks it against crypt_rn()). */
#include "lib.h"

/* Hash key with setting ("$6$[rounds=N$]salt[$...]") and append the
   crypt(3) string to out. Only settings crypt(3) accepts and that this
   code handles are done here: salt of 1..16+ characters from
   [./0-9A-Za-z] (longer salts are cut to 16, as crypt(3) does), rounds
   1000..999999999 written without leading zeros. Returns 0, or -1 (out
   unchanged) for anything else: the caller then uses crypt(3). */
int sha_crypt_hash(const char *key, const char *setting, string_t *out);

#endif
