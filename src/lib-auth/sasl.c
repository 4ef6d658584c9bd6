/* SASL PLAIN and LOGIN decoding for the login processes. */
#include "sasl.h"

#include <stdlib.h>
#include <strings.h>

enum sasl_mech_type {
	SASL_MECH_PLAIN,
	SASL_MECH_LOGIN,
};

enum sasl_state {
	SASL_STATE_START = 0,
	SASL_STATE_WAIT_RESPONSE, /* PLAIN: message; LOGIN: username */
	SASL_STATE_WAIT_PASSWORD, /* LOGIN */
	SASL_STATE_DONE,
	SASL_STATE_FAILED,
};

struct sasl_mech {
	enum sasl_mech_type type;
	enum sasl_state state;
	char *user;
	char *pass;
};

struct sasl_mech *sasl_mech_create(const char *name)
{
	struct sasl_mech *mech;
	enum sasl_mech_type type;

	if (name == NULL)
		return NULL;
	if (strcasecmp(name, "PLAIN") == 0)
		type = SASL_MECH_PLAIN;
	else if (strcasecmp(name, "LOGIN") == 0)
		type = SASL_MECH_LOGIN;
	else
		return NULL;
	mech = i_new(struct sasl_mech, 1);
	mech->type = type;
	return mech;
}

static void wipe_free(char **s)
{
	if (*s != NULL) {
		safe_memset(*s, 0, strlen(*s));
		i_free(*s);
	}
}

void sasl_mech_destroy(struct sasl_mech **_mech)
{
	struct sasl_mech *mech = *_mech;
	if (mech == NULL)
		return;
	wipe_free(&mech->user);
	wipe_free(&mech->pass);
	free(mech);
	*_mech = NULL;
}

const char *sasl_mech_name(const struct sasl_mech *mech)
{
	return mech->type == SASL_MECH_PLAIN ? "PLAIN" : "LOGIN";
}

/* RFC 3629 UTF-8 without overlongs or surrogates, no NUL. */
static bool utf8_valid(const unsigned char *s, size_t len)
{
	size_t i = 0;
	while (i < len) {
		unsigned char c = s[i];
		size_t n;
		unsigned int cp;

		if (c == 0)
			return false;
		if (c < 0x80) {
			i++;
			continue;
		}
		if (c >= 0xc2 && c <= 0xdf) { n = 1; cp = c & 0x1f; }
		else if (c >= 0xe0 && c <= 0xef) { n = 2; cp = c & 0x0f; }
		else if (c >= 0xf0 && c <= 0xf4) { n = 3; cp = c & 0x07; }
		else
			return false;
		if (i + n >= len)
			return false;
		for (size_t j = 1; j <= n; j++) {
			if ((s[i + j] & 0xc0) != 0x80)
				return false;
			cp = (cp << 6) | (s[i + j] & 0x3f);
		}
		if ((n == 2 && cp < 0x800) || (n == 3 && cp < 0x10000) ||
		    cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
			return false;
		i += n + 1;
	}
	return true;
}

static int sasl_fail(struct sasl_mech *mech, const char *error,
		     const char **error_r)
{
	mech->state = SASL_STATE_FAILED;
	wipe_free(&mech->user);
	wipe_free(&mech->pass);
	*error_r = error;
	return -1;
}

/* authzid NUL authcid NUL passwd (RFC 4616 section 2) */
static int plain_parse(struct sasl_mech *mech, const unsigned char *data,
		       size_t len, const char **error_r)
{
	const unsigned char *nul1, *nul2, *authcid, *passwd;
	size_t authzid_len, authcid_len, passwd_len;

	nul1 = memchr(data, '\0', len);
	if (nul1 == NULL)
		return sasl_fail(mech, "Invalid PLAIN message: missing NUL", error_r);
	authzid_len = (size_t)(nul1 - data);
	authcid = nul1 + 1;
	nul2 = memchr(authcid, '\0', len - authzid_len - 1);
	if (nul2 == NULL)
		return sasl_fail(mech, "Invalid PLAIN message: missing NUL", error_r);
	authcid_len = (size_t)(nul2 - authcid);
	passwd = nul2 + 1;
	passwd_len = len - authzid_len - authcid_len - 2;
	if (memchr(passwd, '\0', passwd_len) != NULL)
		return sasl_fail(mech, "Invalid PLAIN message: extra NUL", error_r);
	if (authcid_len == 0)
		return sasl_fail(mech, "Invalid PLAIN message: empty authcid", error_r);
	if (authcid_len > SASL_MAX_USER_LEN || authzid_len > SASL_MAX_USER_LEN)
		return sasl_fail(mech, "Username too long", error_r);
	if (passwd_len > SASL_MAX_PASSWORD_LEN)
		return sasl_fail(mech, "Password too long", error_r);
	if (!utf8_valid(data, authzid_len) || !utf8_valid(authcid, authcid_len))
		return sasl_fail(mech, "Username is not valid UTF-8", error_r);
	if (!utf8_valid(passwd, passwd_len))
		return sasl_fail(mech, "Password is not valid UTF-8", error_r);
	if (authzid_len != 0 && (authzid_len != authcid_len ||
				 memcmp(data, authcid, authcid_len) != 0))
		return sasl_fail(mech, "Authorization identity not supported",
				 error_r);
	mech->user = i_strndup(authcid, authcid_len);
	mech->pass = i_strndup(passwd, passwd_len);
	return 0;
}

static int login_field(struct sasl_mech *mech, const unsigned char *data,
		       size_t len, size_t max_len, bool is_user,
		       char **dest, const char **error_r)
{
	if (is_user && len == 0)
		return sasl_fail(mech, "Empty username", error_r);
	if (len > max_len) {
		return sasl_fail(mech, is_user ? "Username too long" :
				 "Password too long", error_r);
	}
	if (!utf8_valid(data, len)) {
		return sasl_fail(mech, is_user ? "Username is not valid UTF-8" :
				 "Password is not valid UTF-8", error_r);
	}
	*dest = i_strndup(data, len);
	return 0;
}

static int sasl_input_plain(struct sasl_mech *mech, const unsigned char *data,
			    size_t len, const char **challenge_r,
			    bool *done_r, const char **error_r)
{
	if (data == NULL) {
		if (mech->state != SASL_STATE_START)
			return sasl_fail(mech, "Missing response", error_r);
		mech->state = SASL_STATE_WAIT_RESPONSE;
		*challenge_r = "";
		return 0;
	}
	if (plain_parse(mech, data, len, error_r) < 0)
		return -1;
	mech->state = SASL_STATE_DONE;
	*done_r = true;
	return 0;
}

static int sasl_input_login(struct sasl_mech *mech, const unsigned char *data,
			    size_t len, const char **challenge_r,
			    bool *done_r, const char **error_r)
{
	switch (mech->state) {
	case SASL_STATE_START:
		if (data == NULL) {
			mech->state = SASL_STATE_WAIT_RESPONSE;
			*challenge_r = "Username:";
			return 0;
		}
		/* SASL-IR: the initial response is the username */
		/* fall through */
	case SASL_STATE_WAIT_RESPONSE:
		if (data == NULL)
			return sasl_fail(mech, "Missing response", error_r);
		if (login_field(mech, data, len, SASL_MAX_USER_LEN, true,
				&mech->user, error_r) < 0)
			return -1;
		mech->state = SASL_STATE_WAIT_PASSWORD;
		*challenge_r = "Password:";
		return 0;
	case SASL_STATE_WAIT_PASSWORD:
		if (data == NULL)
			return sasl_fail(mech, "Missing response", error_r);
		if (login_field(mech, data, len, SASL_MAX_PASSWORD_LEN, false,
				&mech->pass, error_r) < 0)
			return -1;
		mech->state = SASL_STATE_DONE;
		*done_r = true;
		return 0;
	default:
		break;
	}
	return sasl_fail(mech, "Unexpected SASL state", error_r);
}

int sasl_mech_input(struct sasl_mech *mech, const unsigned char *data,
		    size_t len, const char **challenge_r, bool *done_r,
		    const char **user_r, const char **pass_r,
		    const char **error_r)
{
	int ret;

	*challenge_r = NULL;
	*done_r = false;
	*user_r = NULL;
	*pass_r = NULL;
	if (mech->state == SASL_STATE_DONE || mech->state == SASL_STATE_FAILED)
		return sasl_fail(mech, "SASL exchange already finished", error_r);
	if (data != NULL && len > SASL_MAX_RESPONSE_LEN)
		return sasl_fail(mech, "SASL response too long", error_r);
	if (mech->type == SASL_MECH_PLAIN)
		ret = sasl_input_plain(mech, data, len, challenge_r, done_r, error_r);
	else
		ret = sasl_input_login(mech, data, len, challenge_r, done_r, error_r);
	if (ret == 0 && *done_r) {
		*user_r = mech->user;
		*pass_r = mech->pass;
	}
	return ret;
}
