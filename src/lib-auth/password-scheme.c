/* Password schemes: verify and generate, Dovecot-compatible. */
#include "password-scheme.h"

#include <crypt.h>
#include <stdlib.h>
#include <strings.h>
#include <openssl/evp.h>
#include <sodium.h>

enum pw_encoding {
	PW_ENCODING_NONE = 0,
	PW_ENCODING_BASE64,
	PW_ENCODING_HEX,
};

struct pw_scheme;
typedef int pw_verify_func_t(const struct pw_scheme *s, const char *plaintext,
			     const unsigned char *raw, size_t size,
			     const char **error_r);
typedef int pw_generate_func_t(const struct pw_scheme *s,
			       const char *plaintext, unsigned int rounds,
			       string_t *raw, const char **error_r);

struct pw_scheme {
	const char *name;
	enum pw_encoding default_encoding;
	/* raw (decoded) length, 0 = variable */
	size_t raw_len;
	bool weak;
	/* digest for the plain and salted digest schemes */
	const EVP_MD *(*md)(void);
	/* NULL = generate and compare in constant time */
	pw_verify_func_t *verify;
	pw_generate_func_t *generate;
};

#define CRYPT_BLF_ROUNDS_DEFAULT 5
#define CRYPT_BLF_ROUNDS_MIN 4
#define CRYPT_BLF_ROUNDS_MAX 31
#define CRYPT_BLF_PREFIX_LEN (7 + 22)
#define CRYPT_SHA2_ROUNDS_DEFAULT 5000
#define CRYPT_SHA2_ROUNDS_MIN 1000
#define CRYPT_SHA2_ROUNDS_MAX 999999999
#define CRYPT_SHA2_SALT_LEN 16
#define SALTED_DIGEST_SALT_LEN 4
#define SCHEME_NAME_MAX_LEN 64

static const char salt_chars[] =
	"./0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

static bool allow_weak = true;

void password_schemes_allow_weak(bool allow)
{
	allow_weak = allow;
}

static void pw_init(void)
{
	static bool initialized = false;
	if (!initialized) {
		if (sodium_init() < 0)
			abort();
		initialized = true;
	}
}

static void str_free_secret(string_t **str)
{
	if (*str == NULL)
		return;
	safe_memset((*str)->data, 0, (*str)->alloc);
	str_free(str);
}

static void salt_generate(char *dest, size_t len)
{
	pw_init();
	for (size_t i = 0; i < len; i++)
		dest[i] = salt_chars[randombytes_uniform(sizeof(salt_chars) - 1)];
	dest[len] = '\0';
}

static bool str_equals_timing_safe(const char *a, size_t a_len,
				   const char *b, size_t b_len)
{
	/* lengths of crypt(3) strings are public: only the bytes matter */
	if (a_len != b_len)
		return false;
	return mem_equals_timing_safe(a, b, a_len);
}

/* crypt(3) via libxcrypt's reentrant crypt_rn(). Appends the result to
   out. Returns 0, or -1 if the setting is invalid. */
static int crypt_hash(const char *plaintext, const char *setting,
		      string_t *out)
{
	struct crypt_data *data = i_new(struct crypt_data, 1);
	const char *res = crypt_rn(plaintext, setting, data, sizeof(*data));
	int ret = -1;

	if (res != NULL && res[0] != '*') {
		str_append(out, res);
		ret = 0;
	}
	safe_memset(data, 0, sizeof(*data));
	free(data);
	return ret;
}

static int crypt_compare(const char *plaintext, const unsigned char *raw,
			 size_t size, const char **error_r)
{
	char *stored = i_strndup(raw, size);
	string_t *out = str_new(128);
	int ret;

	if (crypt_hash(plaintext, stored, out) < 0) {
		*error_r = "Invalid crypt() hash";
		ret = -1;
	} else {
		ret = str_equals_timing_safe(str_c(out), str_len(out),
					     stored, size) ? 1 : 0;
	}
	str_free_secret(&out);
	free(stored);
	return ret;
}

static int blf_verify(const struct pw_scheme *s, const char *plaintext,
		      const unsigned char *raw, size_t size,
		      const char **error_r)
{
	if (size == 0)
		return 0;
	if (size < CRYPT_BLF_PREFIX_LEN || raw[0] != '$' || raw[1] != '2' ||
	    raw[2] < 'a' || raw[2] > 'z' || raw[3] != '$') {
		*error_r = "Password is not blowfish password";
		return -1;
	}
	return crypt_compare(plaintext, raw, size, error_r);
}

static int crypt_verify(const struct pw_scheme *s, const char *plaintext,
			const unsigned char *raw, size_t size,
			const char **error_r)
{
	if (size > 4 && raw[0] == '$' && raw[1] == '2' && raw[3] == '$')
		return blf_verify(s, plaintext, raw, size, error_r);
	/* crypt("", "") would match an empty hash */
	if (size == 0)
		return 0;
	if (size > 1 && !allow_weak) {
		if (raw[0] != '$') {
			*error_r = "Weak password scheme 'DES-CRYPT' used and refused";
			return -1;
		}
		if (raw[1] == '1') {
			*error_r = "Weak password scheme 'MD5-CRYPT' used and refused";
			return -1;
		}
	}
	return crypt_compare(plaintext, raw, size, error_r);
}

static int crypt_generate_setting(const char *plaintext, const char *setting,
				  string_t *raw, const char **error_r)
{
	if (crypt_hash(plaintext, setting, raw) < 0) {
		*error_r = "crypt() failed";
		return -1;
	}
	return 0;
}

static int des_generate(const struct pw_scheme *s, const char *plaintext,
			unsigned int rounds, string_t *raw,
			const char **error_r)
{
	char salt[3];
	salt_generate(salt, 2);
	return crypt_generate_setting(plaintext, salt, raw, error_r);
}

static int md5_crypt_generate(const struct pw_scheme *s,
			      const char *plaintext, unsigned int rounds,
			      string_t *raw, const char **error_r)
{
	char salt[9], setting[16];
	salt_generate(salt, 8);
	snprintf(setting, sizeof(setting), "$1$%s", salt);
	return crypt_generate_setting(plaintext, setting, raw, error_r);
}

static int blf_generate(const struct pw_scheme *s, const char *plaintext,
			unsigned int rounds, string_t *raw,
			const char **error_r)
{
	char setting[CRYPT_GENSALT_OUTPUT_SIZE];

	if (rounds == 0)
		rounds = CRYPT_BLF_ROUNDS_DEFAULT;
	else if (rounds < CRYPT_BLF_ROUNDS_MIN)
		rounds = CRYPT_BLF_ROUNDS_MIN;
	else if (rounds > CRYPT_BLF_ROUNDS_MAX)
		rounds = CRYPT_BLF_ROUNDS_MAX;
	if (crypt_gensalt_rn("$2y$", rounds, NULL, 0,
			     setting, sizeof(setting)) == NULL) {
		*error_r = "crypt_gensalt() failed";
		return -1;
	}
	return crypt_generate_setting(plaintext, setting, raw, error_r);
}

static int sha_crypt_generate(const char *prefix, const char *plaintext,
			      unsigned int rounds, string_t *raw,
			      const char **error_r)
{
	char salt[CRYPT_SHA2_SALT_LEN + 1], setting[64];

	if (rounds == 0)
		rounds = CRYPT_SHA2_ROUNDS_DEFAULT;
	else if (rounds < CRYPT_SHA2_ROUNDS_MIN)
		rounds = CRYPT_SHA2_ROUNDS_MIN;
	else if (rounds > CRYPT_SHA2_ROUNDS_MAX)
		rounds = CRYPT_SHA2_ROUNDS_MAX;
	salt_generate(salt, CRYPT_SHA2_SALT_LEN);
	if (rounds == CRYPT_SHA2_ROUNDS_DEFAULT)
		snprintf(setting, sizeof(setting), "%s%s", prefix, salt);
	else
		snprintf(setting, sizeof(setting), "%srounds=%u$%s",
			 prefix, rounds, salt);
	return crypt_generate_setting(plaintext, setting, raw, error_r);
}

static int sha256_crypt_generate(const struct pw_scheme *s,
				 const char *plaintext, unsigned int rounds,
				 string_t *raw, const char **error_r)
{
	return sha_crypt_generate("$5$", plaintext, rounds, raw, error_r);
}

static int sha512_crypt_generate(const struct pw_scheme *s,
				 const char *plaintext, unsigned int rounds,
				 string_t *raw, const char **error_r)
{
	return sha_crypt_generate("$6$", plaintext, rounds, raw, error_r);
}

static int argon2_verify(const struct pw_scheme *s, const char *plaintext,
			 const unsigned char *raw, size_t size,
			 const char **error_r)
{
	if (!(size > 9 && memcmp(raw, "$argon2i$", 9) == 0) &&
	    !(size > 10 && memcmp(raw, "$argon2id$", 10) == 0)) {
		*error_r = "Password is not an argon2 hash";
		return -1;
	}
	pw_init();
	char *stored = i_strndup(raw, size);
	/* libsodium compares in constant time */
	int ret = crypto_pwhash_str_verify(stored, plaintext,
					   strlen(plaintext)) == 0 ? 1 : 0;
	free(stored);
	return ret;
}

/* libsodium's limits for one Argon2 variant. A scheme's rounds are the
   ops limit (0 = interactive); the memory tier follows the ops limit. */
struct argon2_variant {
	int alg;
	const char *error; /* when hashing fails */
	unsigned long long ops_interactive, ops_moderate, ops_sensitive;
	size_t mem_interactive, mem_moderate, mem_sensitive;
	/* raise ops to this before choosing the memory tier */
	unsigned long long ops_min_before_tier;
	/* raise ops to this after choosing the memory tier */
	unsigned long long ops_min_after_tier;
};

static const struct argon2_variant argon2i_variant = {
	crypto_pwhash_ALG_ARGON2I13, "crypto_pwhash_argon2i_str() failed",
	crypto_pwhash_argon2i_OPSLIMIT_INTERACTIVE,
	crypto_pwhash_argon2i_OPSLIMIT_MODERATE,
	crypto_pwhash_argon2i_OPSLIMIT_SENSITIVE,
	crypto_pwhash_argon2i_MEMLIMIT_INTERACTIVE,
	crypto_pwhash_argon2i_MEMLIMIT_MODERATE,
	crypto_pwhash_argon2i_MEMLIMIT_SENSITIVE,
	crypto_pwhash_argon2i_OPSLIMIT_MIN, 0,
};

static const struct argon2_variant argon2id_variant = {
	crypto_pwhash_ALG_ARGON2ID13, "crypto_pwhash_argon2id_str() failed",
	crypto_pwhash_argon2id_OPSLIMIT_INTERACTIVE,
	crypto_pwhash_argon2id_OPSLIMIT_MODERATE,
	crypto_pwhash_argon2id_OPSLIMIT_SENSITIVE,
	crypto_pwhash_argon2id_MEMLIMIT_INTERACTIVE,
	crypto_pwhash_argon2id_MEMLIMIT_MODERATE,
	crypto_pwhash_argon2id_MEMLIMIT_SENSITIVE,
	/* as Dovecot: old libsodium insisted on at least 3 passes, and the
	   raise comes after the memory tier is chosen */
	0, 3,
};

static int argon2_generate(const struct argon2_variant *v,
			   const char *plaintext, unsigned int rounds,
			   string_t *raw, const char **error_r)
{
	char result[crypto_pwhash_STRBYTES];
	unsigned long long ops = rounds;
	size_t mem;

	pw_init();
	if (ops == 0)
		ops = v->ops_interactive;
	if (ops < v->ops_min_before_tier)
		ops = v->ops_min_before_tier;
	if (ops >= v->ops_sensitive)
		mem = v->mem_sensitive;
	else if (ops >= v->ops_moderate)
		mem = v->mem_moderate;
	else
		mem = v->mem_interactive;
	if (ops < v->ops_min_after_tier)
		ops = v->ops_min_after_tier;
	if (crypto_pwhash_str_alg(result, plaintext, strlen(plaintext),
				  ops, mem, v->alg) < 0) {
		*error_r = v->error;
		return -1;
	}
	str_append(raw, result);
	return 0;
}

static int argon2i_generate(const struct pw_scheme *s, const char *plaintext,
			    unsigned int rounds, string_t *raw,
			    const char **error_r)
{
	return argon2_generate(&argon2i_variant, plaintext, rounds, raw,
			       error_r);
}

static int argon2id_generate(const struct pw_scheme *s, const char *plaintext,
			     unsigned int rounds, string_t *raw,
			     const char **error_r)
{
	return argon2_generate(&argon2id_variant, plaintext, rounds, raw,
			       error_r);
}

static int digest_append(const EVP_MD *md, const void *data1, size_t size1,
			 const void *data2, size_t size2, string_t *out)
{
	unsigned char digest[EVP_MAX_MD_SIZE];
	unsigned int digest_len = 0;
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	int ret = -1;

	if (ctx != NULL && EVP_DigestInit_ex(ctx, md, NULL) == 1 &&
	    EVP_DigestUpdate(ctx, data1, size1) == 1 &&
	    (size2 == 0 || EVP_DigestUpdate(ctx, data2, size2) == 1) &&
	    EVP_DigestFinal_ex(ctx, digest, &digest_len) == 1) {
		str_append_n(out, digest, digest_len);
		ret = 0;
	}
	EVP_MD_CTX_free(ctx);
	safe_memset(digest, 0, sizeof(digest));
	return ret;
}

static int digest_generate(const struct pw_scheme *s, const char *plaintext,
			   unsigned int rounds, string_t *raw,
			   const char **error_r)
{
	if (digest_append(s->md(), plaintext, strlen(plaintext),
			  NULL, 0, raw) < 0) {
		*error_r = "Digest failed";
		return -1;
	}
	return 0;
}

static int salted_digest_generate(const struct pw_scheme *s,
				  const char *plaintext, unsigned int rounds,
				  string_t *raw, const char **error_r)
{
	unsigned char salt[SALTED_DIGEST_SALT_LEN];

	pw_init();
	randombytes_buf(salt, sizeof(salt));
	if (digest_append(s->md(), plaintext, strlen(plaintext),
			  salt, sizeof(salt), raw) < 0) {
		*error_r = "Digest failed";
		return -1;
	}
	str_append_n(raw, salt, sizeof(salt));
	return 0;
}

/* format: <digest><salt> */
static int salted_digest_verify(const struct pw_scheme *s,
				const char *plaintext,
				const unsigned char *raw, size_t size,
				const char **error_r)
{
	size_t md_size = (size_t)EVP_MD_get_size(s->md());
	string_t *digest;
	int ret;

	if (size <= md_size) {
		*error_r = "Salted password is too short";
		return -1;
	}
	digest = str_new(EVP_MAX_MD_SIZE);
	if (digest_append(s->md(), plaintext, strlen(plaintext),
			  raw + md_size, size - md_size, digest) < 0) {
		*error_r = "Digest failed";
		ret = -1;
	} else {
		ret = mem_equals_timing_safe(str_data(digest), raw,
					     md_size) ? 1 : 0;
	}
	str_free_secret(&digest);
	return ret;
}

static int plain_generate(const struct pw_scheme *s, const char *plaintext,
			  unsigned int rounds, string_t *raw,
			  const char **error_r)
{
	str_append(raw, plaintext);
	return 0;
}

static int plain_trunc_verify(const struct pw_scheme *s,
			      const char *plaintext,
			      const unsigned char *raw, size_t size,
			      const char **error_r)
{
	size_t i, plaintext_len, trunc_len = 0;

	/* format: <length>-<password> */
	for (i = 0; i < size && i < 9; i++) {
		if (raw[i] >= '0' && raw[i] <= '9')
			trunc_len = trunc_len * 10 + (raw[i] - '0');
		else
			break;
	}
	if (i == size || raw[i] != '-') {
		*error_r = "PLAIN-TRUNC missing length: prefix";
		return -1;
	}
	i++;
	plaintext_len = strlen(plaintext);
	if (size - i == trunc_len && plaintext_len >= trunc_len) {
		/* possibly truncated password: the prefix must match */
		return mem_equals_timing_safe(raw + i, plaintext,
					      trunc_len) ? 1 : 0;
	}
	return plaintext_len == size - i &&
		mem_equals_timing_safe(raw + i, plaintext,
				       plaintext_len) ? 1 : 0;
}

static int pw_decode(const struct pw_scheme *s, enum pw_encoding encoding,
		     bool explicit_encoding, const char *data,
		     string_t *raw, const char **error_r);

static const struct pw_scheme md5_hex_scheme;

/* "MD5": MD5-CRYPT when $1$, else PLAIN-MD5 */
static int md5_verify(const struct pw_scheme *s, const char *plaintext,
		      const unsigned char *raw, size_t size,
		      const char **error_r)
{
	if (size > 3 && memcmp(raw, "$1$", 3) == 0)
		return crypt_compare(plaintext, raw, size, error_r);

	char *data = i_strndup(raw, size);
	string_t *decoded = str_new(32), *digest = str_new(32);
	int ret;
	if (pw_decode(&md5_hex_scheme, PW_ENCODING_HEX, false, data,
		      decoded, error_r) < 0) {
		*error_r = "Not a valid MD5-CRYPT or PLAIN-MD5 password";
		ret = -1;
	} else if (digest_append(EVP_md5(), plaintext, strlen(plaintext),
				 NULL, 0, digest) < 0) {
		*error_r = "Digest failed";
		ret = -1;
	} else {
		ret = str_len(digest) == str_len(decoded) &&
			mem_equals_timing_safe(str_data(digest),
					       str_data(decoded),
					       str_len(digest)) ? 1 : 0;
	}
	str_free(&decoded);
	str_free_secret(&digest);
	free(data);
	return ret;
}

static int plain_verify(const struct pw_scheme *s, const char *plaintext,
			const unsigned char *raw, size_t size,
			const char **error_r);

static const struct pw_scheme md5_hex_scheme = {
	"PLAIN-MD5", PW_ENCODING_HEX, 16, true, EVP_md5, NULL, digest_generate
};

static const struct pw_scheme schemes[] = {
	{ "CRYPT", PW_ENCODING_NONE, 0, false, NULL, crypt_verify, blf_generate },
	{ "DES-CRYPT", PW_ENCODING_NONE, 0, true, NULL, crypt_verify, des_generate },
	{ "MD5-CRYPT", PW_ENCODING_NONE, 0, true, NULL, crypt_verify, md5_crypt_generate },
	{ "MD5", PW_ENCODING_NONE, 0, true, NULL, md5_verify, md5_crypt_generate },
	{ "SHA256-CRYPT", PW_ENCODING_NONE, 0, false, NULL, crypt_verify, sha256_crypt_generate },
	{ "SHA512-CRYPT", PW_ENCODING_NONE, 0, false, NULL, crypt_verify, sha512_crypt_generate },
	{ "BLF-CRYPT", PW_ENCODING_NONE, 0, false, NULL, blf_verify, blf_generate },
	{ "ARGON2I", PW_ENCODING_NONE, 0, false, NULL, argon2_verify, argon2i_generate },
	{ "ARGON2ID", PW_ENCODING_NONE, 0, false, NULL, argon2_verify, argon2id_generate },
	{ "ARGON2", PW_ENCODING_NONE, 0, false, NULL, argon2_verify, argon2id_generate },
	{ "SHA", PW_ENCODING_BASE64, 20, false, EVP_sha1, NULL, digest_generate },
	{ "SHA1", PW_ENCODING_BASE64, 20, false, EVP_sha1, NULL, digest_generate },
	{ "SHA256", PW_ENCODING_BASE64, 32, false, EVP_sha256, NULL, digest_generate },
	{ "SHA512", PW_ENCODING_BASE64, 64, false, EVP_sha512, NULL, digest_generate },
	{ "SMD5", PW_ENCODING_BASE64, 0, true, EVP_md5, salted_digest_verify, salted_digest_generate },
	{ "SSHA", PW_ENCODING_BASE64, 0, false, EVP_sha1, salted_digest_verify, salted_digest_generate },
	{ "SSHA256", PW_ENCODING_BASE64, 0, false, EVP_sha256, salted_digest_verify, salted_digest_generate },
	{ "SSHA512", PW_ENCODING_BASE64, 0, false, EVP_sha512, salted_digest_verify, salted_digest_generate },
	{ "PLAIN-MD5", PW_ENCODING_HEX, 16, true, EVP_md5, NULL, digest_generate },
	{ "LDAP-MD5", PW_ENCODING_BASE64, 16, true, EVP_md5, NULL, digest_generate },
	{ "PLAIN", PW_ENCODING_NONE, 0, false, NULL, plain_verify, plain_generate },
	{ "CLEAR", PW_ENCODING_NONE, 0, false, NULL, plain_verify, plain_generate },
	{ "CLEARTEXT", PW_ENCODING_NONE, 0, false, NULL, plain_verify, plain_generate },
	{ "PLAIN-TRUNC", PW_ENCODING_NONE, 0, false, NULL, plain_trunc_verify, plain_generate },
};

static int plain_verify(const struct pw_scheme *s, const char *plaintext,
			const unsigned char *raw, size_t size,
			const char **error_r)
{
	size_t len = strlen(plaintext);
	if (len != size)
		return 0;
	return mem_equals_timing_safe(plaintext, raw, size) ? 1 : 0;
}

const char *password_schemes_list(void)
{
	static char list[512];
	if (list[0] == '\0') {
		size_t pos = 0;
		for (size_t i = 0; i < N_ELEMENTS(schemes); i++) {
			int n = snprintf(list + pos, sizeof(list) - pos, "%s%s",
					 i == 0 ? "" : " ", schemes[i].name);
			if (n < 0 || (size_t)n >= sizeof(list) - pos)
				break;
			pos += (size_t)n;
		}
	}
	return list;
}

/* Find a scheme by name with optional ".HEX" / ".B64" / ".BASE64". */
static const struct pw_scheme *
pw_lookup(const char *name, enum pw_encoding *encoding_r, bool *explicit_r)
{
	const char *dot = strchr(name, '.');
	size_t len = dot == NULL ? strlen(name) : (size_t)(dot - name);
	const struct pw_scheme *s = NULL;

	if (len == 0 || len > SCHEME_NAME_MAX_LEN)
		return NULL;
	for (size_t i = 0; i < N_ELEMENTS(schemes); i++) {
		if (strlen(schemes[i].name) == len &&
		    strncasecmp(schemes[i].name, name, len) == 0) {
			s = &schemes[i];
			break;
		}
	}
	if (s == NULL)
		return NULL;
	*explicit_r = dot != NULL;
	if (dot == NULL)
		*encoding_r = s->default_encoding;
	else if (strcasecmp(dot + 1, "b64") == 0 ||
		 strcasecmp(dot + 1, "base64") == 0)
		*encoding_r = PW_ENCODING_BASE64;
	else if (strcasecmp(dot + 1, "hex") == 0)
		*encoding_r = PW_ENCODING_HEX;
	else
		return NULL;
	return s;
}

bool password_scheme_is_known(const char *scheme)
{
	enum pw_encoding enc;
	bool explicit_enc;
	return scheme != NULL && pw_lookup(scheme, &enc, &explicit_enc) != NULL;
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9') return c - '0';
	if (c >= 'a' && c <= 'f') return c - 'a' + 10;
	if (c >= 'A' && c <= 'F') return c - 'A' + 10;
	return -1;
}

static int hex_decode(const char *src, size_t size, string_t *dest)
{
	if (size % 2 != 0)
		return -1;
	for (size_t i = 0; i < size; i += 2) {
		int hi = hexval(src[i]), lo = hexval(src[i + 1]);
		if (hi < 0 || lo < 0)
			return -1;
		str_append_c(dest, (char)((hi << 4) | lo));
	}
	return 0;
}

static void hex_encode(const unsigned char *data, size_t size, string_t *dest)
{
	static const char hex[] = "0123456789abcdef";
	for (size_t i = 0; i < size; i++) {
		str_append_c(dest, hex[data[i] >> 4]);
		str_append_c(dest, hex[data[i] & 0xf]);
	}
}

static int pw_decode(const struct pw_scheme *s, enum pw_encoding encoding,
		     bool explicit_encoding, const char *data,
		     string_t *raw, const char **error_r)
{
	size_t len = strlen(data);
	bool guessed = false;

	if (encoding != PW_ENCODING_NONE && s->raw_len != 0 &&
	    !explicit_encoding) {
		/* as Dovecot: hex and base64 of a fixed-size digest have
		   different lengths */
		encoding = len == s->raw_len * 2 ?
			PW_ENCODING_HEX : PW_ENCODING_BASE64;
		guessed = true;
	}
	switch (encoding) {
	case PW_ENCODING_NONE:
		str_append_n(raw, data, len);
		break;
	case PW_ENCODING_HEX:
		if (hex_decode(data, len, raw) == 0)
			break;
		if (!guessed) {
			*error_r = "Input isn't valid HEX encoded data";
			return -1;
		}
		str_truncate(raw, 0);
		/* fall through */
	case PW_ENCODING_BASE64:
		if (base64_decode(data, len, raw) < 0) {
			*error_r = "Input isn't valid base64 encoded data";
			return -1;
		}
		break;
	}
	if (s->raw_len != 0 && str_len(raw) != s->raw_len) {
		*error_r = "Input length isn't valid";
		return -1;
	}
	return 0;
}

char *password_get_scheme(const char *stored, const char **data_r)
{
	*data_r = stored;
	if (stored == NULL)
		return NULL;
	if (str_begins(stored, "$1$") && strchr(stored + 3, '$') != NULL)
		return i_strdup("MD5-CRYPT");
	if (stored[0] != '{')
		return NULL;
	const char *end = strchr(stored, '}');
	if (end == NULL || (size_t)(end - stored) > SCHEME_NAME_MAX_LEN + 8)
		return NULL;
	*data_r = end + 1;
	return i_strndup(stored + 1, (size_t)(end - stored - 1));
}

int password_verify(const char *plaintext, const char *scheme,
		    const char *data, const char **error_r)
{
	const struct pw_scheme *s;
	enum pw_encoding encoding;
	bool explicit_encoding;
	string_t *raw;
	int ret;

	s = pw_lookup(scheme, &encoding, &explicit_encoding);
	if (s == NULL) {
		*error_r = "Unknown password scheme";
		return -1;
	}
	if (s->weak && !allow_weak) {
		*error_r = "Weak password scheme used and refused";
		return -1;
	}
	if (strlen(plaintext) > PASSWORD_MAX_PLAINTEXT_LEN) {
		*error_r = "Password too long";
		return -1;
	}
	if (strlen(data) > PASSWORD_MAX_STORED_LEN) {
		*error_r = "Stored password too long";
		return -1;
	}
	raw = str_new(128);
	if (pw_decode(s, encoding, explicit_encoding, data, raw, error_r) < 0) {
		str_free(&raw);
		return -1;
	}
	if (s->verify != NULL) {
		ret = s->verify(s, plaintext, str_data(raw), str_len(raw),
				error_r);
	} else {
		string_t *gen = str_new(128);
		if (s->generate(s, plaintext, 0, gen, error_r) < 0)
			ret = -1;
		else if (str_len(gen) != str_len(raw))
			ret = 0;
		else {
			ret = mem_equals_timing_safe(str_data(gen), str_data(raw),
						     str_len(raw)) ? 1 : 0;
		}
		str_free_secret(&gen);
	}
	str_free(&raw);
	if (ret == 0)
		*error_r = "Password mismatch";
	return ret;
}

int password_verify_stored(const char *plaintext, const char *stored,
			   const char *default_scheme, const char **error_r)
{
	const char *data;
	char *scheme = password_get_scheme(stored, &data);
	int ret;

	if (scheme == NULL && stored == NULL) {
		*error_r = "No password";
		return -1;
	}
	ret = password_verify(plaintext, scheme != NULL ? scheme :
			      default_scheme != NULL ? default_scheme :
			      PASSWORD_DEFAULT_SCHEME, data, error_r);
	free(scheme);
	return ret;
}

char *password_generate_encoded(const char *plaintext, const char *scheme,
				unsigned int rounds, const char **error_r)
{
	const struct pw_scheme *s;
	enum pw_encoding encoding;
	bool explicit_encoding;
	string_t *raw, *out;

	s = pw_lookup(scheme, &encoding, &explicit_encoding);
	if (s == NULL) {
		*error_r = "Unknown scheme";
		return NULL;
	}
	if (strlen(plaintext) > PASSWORD_MAX_PLAINTEXT_LEN) {
		*error_r = "Password too long";
		return NULL;
	}
	raw = str_new(128);
	if (s->generate(s, plaintext, rounds, raw, error_r) < 0) {
		str_free_secret(&raw);
		return NULL;
	}
	out = str_new(str_len(raw) * 2 + 1);
	switch (encoding) {
	case PW_ENCODING_NONE:
		str_append_n(out, str_data(raw), str_len(raw));
		break;
	case PW_ENCODING_BASE64:
		base64_encode(str_data(raw), str_len(raw), out);
		break;
	case PW_ENCODING_HEX:
		hex_encode(str_data(raw), str_len(raw), out);
		break;
	}
	str_free_secret(&raw);
	return str_free_without_data(&out);
}
