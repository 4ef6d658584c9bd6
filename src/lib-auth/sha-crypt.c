/* SHA-crypt with OpenSSL's SHA-2 (see sha-crypt.h). The algorithm and its
   odd byte order in the output follow the specification at
   https://www.akkadia.org/drepper/SHA-crypt.txt */
#define OPENSSL_SUPPRESS_DEPRECATED /* SHA256_Init() etc.: no EVP
				       dispatch per call in the hot loop */
#include "sha-crypt.h"
#include <stdlib.h>
#include <openssl/crypto.h>
#include <openssl/sha.h>

#define SHA_CRYPT_SALT_MAX 16
#define SHA_CRYPT_ROUNDS_DEFAULT 5000
#define SHA_CRYPT_ROUNDS_MIN 1000
#define SHA_CRYPT_ROUNDS_MAX 999999999

union sha_ctx {
	SHA256_CTX s256;
	SHA512_CTX s512;
};

struct sha_alg {
	char id;               /* '5' or '6' */
	size_t len;            /* digest bytes */
	void (*init)(union sha_ctx *ctx);
	void (*update)(union sha_ctx *ctx, const void *data, size_t size);
	void (*final)(unsigned char *md, union sha_ctx *ctx);
};

static void s256_init(union sha_ctx *c) { SHA256_Init(&c->s256); }
static void s256_update(union sha_ctx *c, const void *d, size_t n)
{ SHA256_Update(&c->s256, d, n); }
static void s256_final(unsigned char *md, union sha_ctx *c)
{ SHA256_Final(md, &c->s256); }
static void s512_init(union sha_ctx *c) { SHA512_Init(&c->s512); }
static void s512_update(union sha_ctx *c, const void *d, size_t n)
{ SHA512_Update(&c->s512, d, n); }
static void s512_final(unsigned char *md, union sha_ctx *c)
{ SHA512_Final(md, &c->s512); }

static const struct sha_alg sha256_alg = {
	'5', 32, s256_init, s256_update, s256_final
};
static const struct sha_alg sha512_alg = {
	'6', 64, s512_init, s512_update, s512_final
};

static const char b64t[] =
	"./0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

/* output order of the digest bytes, three at a time (the last group of
   SHA-256 is 2 bytes + 0, of SHA-512 1 byte + 0 + 0) */
static const unsigned char sha256_order[][3] = {
	{ 0, 10, 20 }, { 21, 1, 11 }, { 12, 22, 2 }, { 3, 13, 23 },
	{ 24, 4, 14 }, { 15, 25, 5 }, { 6, 16, 26 }, { 27, 7, 17 },
	{ 18, 28, 8 }, { 9, 19, 29 },
};
static const unsigned char sha512_order[][3] = {
	{ 0, 21, 42 }, { 22, 43, 1 }, { 44, 2, 23 }, { 3, 24, 45 },
	{ 25, 46, 4 }, { 47, 5, 26 }, { 6, 27, 48 }, { 28, 49, 7 },
	{ 50, 8, 29 }, { 9, 30, 51 }, { 31, 52, 10 }, { 53, 11, 32 },
	{ 12, 33, 54 }, { 34, 55, 13 }, { 56, 14, 35 }, { 15, 36, 57 },
	{ 37, 58, 16 }, { 59, 17, 38 }, { 18, 39, 60 }, { 40, 61, 19 },
	{ 62, 20, 41 },
};

static void b64_from_24bit(string_t *out, unsigned int b2, unsigned int b1,
			   unsigned int b0, unsigned int n)
{
	unsigned int w = (b2 << 16) | (b1 << 8) | b0;
	while (n-- > 0) {
		str_append_c(out, b64t[w & 0x3f]);
		w >>= 6;
	}
}

static bool salt_char_valid(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		(c >= '0' && c <= '9') || c == '.' || c == '/';
}

/* crypt(3) refuses a setting with bytes outside printable ASCII or with
   any of "!*:;\\" anywhere in it (libxcrypt's check_badsalt_chars()) */
static bool setting_chars_valid(const char *setting)
{
	for (const unsigned char *p = (const unsigned char *)setting;
	     *p != '\0'; p++) {
		if (*p <= 0x20 || *p >= 0x7f || strchr("!*:;\\", *p) != NULL)
			return false;
	}
	return true;
}

/* Parse what follows "$N$". Returns false for what is left to crypt(3). */
static bool setting_parse(const char *p, unsigned int *rounds_r,
			  bool *rounds_custom_r, const char **salt_r,
			  size_t *salt_len_r)
{
	*rounds_r = SHA_CRYPT_ROUNDS_DEFAULT;
	*rounds_custom_r = false;
	if (strncmp(p, "rounds=", 7) == 0) {
		p += 7;
		if (*p < '1' || *p > '9')
			return false;
		unsigned long long n = 0;
		unsigned int digits = 0;
		for (; *p >= '0' && *p <= '9'; p++) {
			if (++digits > 10)
				return false;
			n = n * 10 + (unsigned int)(*p - '0');
		}
		if (*p != '$' || n < SHA_CRYPT_ROUNDS_MIN ||
		    n > SHA_CRYPT_ROUNDS_MAX)
			return false;
		p++;
		*rounds_r = (unsigned int)n;
		*rounds_custom_r = true;
	}
	size_t len = 0;
	while (p[len] != '\0' && p[len] != '$') {
		if (!salt_char_valid(p[len]))
			return false;
		len++;
	}
	if (len == 0)
		return false;
	*salt_r = p;
	*salt_len_r = len > SHA_CRYPT_SALT_MAX ? SHA_CRYPT_SALT_MAX : len;
	return true;
}

/* a buffer of len bytes: digest repeated */
static unsigned char *repeat_digest(const unsigned char *digest,
				    size_t digest_len, size_t len)
{
	unsigned char *buf = i_malloc(len + 1);
	size_t pos = 0;
	for (; pos + digest_len <= len; pos += digest_len)
		memcpy(buf + pos, digest, digest_len);
	memcpy(buf + pos, digest, len - pos);
	return buf;
}

int sha_crypt_hash(const char *key, const char *setting, string_t *out)
{
	const struct sha_alg *alg;
	unsigned int rounds;
	bool rounds_custom;
	const char *salt;
	size_t salt_len;

	if (setting[0] != '$')
		return -1;
	if (setting[1] == '5')
		alg = &sha256_alg;
	else if (setting[1] == '6')
		alg = &sha512_alg;
	else
		return -1;
	if (setting[2] != '$' || !setting_chars_valid(setting))
		return -1;
	if (!setting_parse(setting + 3, &rounds, &rounds_custom, &salt,
			   &salt_len))
		return -1;

	const size_t dlen = alg->len, klen = strlen(key);
	unsigned char a[64], b[64], dp[64], ds[64];
	union sha_ctx ctx;
	size_t cnt;

	/* B = H(key salt key) */
	alg->init(&ctx);
	alg->update(&ctx, key, klen);
	alg->update(&ctx, salt, salt_len);
	alg->update(&ctx, key, klen);
	alg->final(b, &ctx);
	/* A = H(key salt B-for-each-byte-of-key, then per bit of klen:
	   1 -> B, 0 -> key) */
	alg->init(&ctx);
	alg->update(&ctx, key, klen);
	alg->update(&ctx, salt, salt_len);
	for (cnt = klen; cnt > dlen; cnt -= dlen)
		alg->update(&ctx, b, dlen);
	alg->update(&ctx, b, cnt);
	for (cnt = klen; cnt > 0; cnt >>= 1) {
		if ((cnt & 1) != 0)
			alg->update(&ctx, b, dlen);
		else
			alg->update(&ctx, key, klen);
	}
	alg->final(a, &ctx);
	/* P = H(key repeated klen times), stretched to klen bytes */
	alg->init(&ctx);
	for (cnt = 0; cnt < klen; cnt++)
		alg->update(&ctx, key, klen);
	alg->final(dp, &ctx);
	unsigned char *p = repeat_digest(dp, dlen, klen);
	/* S = H(salt repeated 16 + A[0] times), stretched to the salt */
	alg->init(&ctx);
	for (cnt = 0; cnt < 16u + a[0]; cnt++)
		alg->update(&ctx, salt, salt_len);
	alg->final(ds, &ctx);
	unsigned char *s = repeat_digest(ds, dlen, salt_len);

	for (unsigned int r = 0; r < rounds; r++) {
		alg->init(&ctx);
		if ((r & 1) != 0)
			alg->update(&ctx, p, klen);
		else
			alg->update(&ctx, a, dlen);
		if (r % 3 != 0)
			alg->update(&ctx, s, salt_len);
		if (r % 7 != 0)
			alg->update(&ctx, p, klen);
		if ((r & 1) != 0)
			alg->update(&ctx, a, dlen);
		else
			alg->update(&ctx, p, klen);
		alg->final(a, &ctx);
	}

	str_printfa(out, "$%c$", alg->id);
	if (rounds_custom)
		str_printfa(out, "rounds=%u$", rounds);
	str_append_n(out, salt, salt_len);
	str_append_c(out, '$');
	if (alg == &sha512_alg) {
		for (unsigned int i = 0; i < N_ELEMENTS(sha512_order); i++)
			b64_from_24bit(out, a[sha512_order[i][0]],
				       a[sha512_order[i][1]],
				       a[sha512_order[i][2]], 4);
		b64_from_24bit(out, 0, 0, a[63], 2);
	} else {
		for (unsigned int i = 0; i < N_ELEMENTS(sha256_order); i++)
			b64_from_24bit(out, a[sha256_order[i][0]],
				       a[sha256_order[i][1]],
				       a[sha256_order[i][2]], 4);
		b64_from_24bit(out, 0, a[31], a[30], 3);
	}

	OPENSSL_cleanse(p, klen);
	OPENSSL_cleanse(s, salt_len);
	free(p);
	free(s);
	OPENSSL_cleanse(a, sizeof(a));
	OPENSSL_cleanse(b, sizeof(b));
	OPENSSL_cleanse(dp, sizeof(dp));
	OPENSSL_cleanse(ds, sizeof(ds));
	OPENSSL_cleanse(&ctx, sizeof(ctx));
	return 0;
}
