/* passdb/userdb lookup logic of the auth process. */
#include "auth-request.h"
#include "log.h"

#include <stdlib.h>

struct auth {
	const struct loft_settings *set;
	struct auth_passdb **passdbs;
	unsigned int passdbs_count;
	struct auth_userdb **userdbs;
	unsigned int userdbs_count;
};

struct auth *auth_create(const struct loft_settings *set, char **error_r)
{
	struct auth *auth = i_new(struct auth, 1);

	auth->set = set;
	auth->passdbs = i_new(struct auth_passdb *, set->passdbs_count + 1);
	for (unsigned int i = 0; i < set->passdbs_count; i++) {
		if (set->passdbs[i].master) {
			i_warning("passdb %s: master passdbs are not supported, ignored",
				  set->passdbs[i].driver);
			continue;
		}
		struct auth_passdb *passdb =
			auth_passdb_create(&set->passdbs[i], error_r);
		if (passdb == NULL)
			goto fail;
		auth->passdbs[auth->passdbs_count++] = passdb;
	}
	auth->userdbs = i_new(struct auth_userdb *, set->userdbs_count + 1);
	for (unsigned int i = 0; i < set->userdbs_count; i++) {
		struct auth_userdb *userdb =
			auth_userdb_create(&set->userdbs[i], error_r);
		if (userdb == NULL)
			goto fail;
		auth->userdbs[auth->userdbs_count++] = userdb;
	}
	if (auth->passdbs_count == 0) {
		*error_r = i_strdup("No passdbs configured");
		goto fail;
	}
	return auth;
fail:
	auth_destroy(&auth);
	return NULL;
}

void auth_destroy(struct auth **_auth)
{
	struct auth *auth = *_auth;
	if (auth == NULL)
		return;
	for (unsigned int i = 0; i < auth->passdbs_count; i++)
		auth_passdb_destroy(&auth->passdbs[i]);
	for (unsigned int i = 0; i < auth->userdbs_count; i++)
		auth_userdb_destroy(&auth->userdbs[i]);
	free(auth->passdbs);
	free(auth->userdbs);
	free(auth);
	*_auth = NULL;
}

const struct loft_settings *auth_settings(const struct auth *auth)
{
	return auth->set;
}

/* "passwd-file(user,1.2.3.4,<session>)" as Dovecot prefixes auth lines */
/* Usernames that failed validation reach the log too: keep them short
   and printable. */
static void append_log_safe(string_t *str, const char *value, size_t max_len)
{
	size_t i;
	for (i = 0; value[i] != '\0' && i < max_len; i++) {
		unsigned char c = (unsigned char)value[i];
		str_append_c(str, c < 0x20 || c == 0x7f ? '?' : (char)c);
	}
	if (value[i] != '\0')
		str_append(str, "...");
}

static char *log_prefix(const char *driver, const char *user,
			const struct auth_request_info *info)
{
	string_t *str = str_new(128);
	str_printfa(str, "%s(", driver);
	append_log_safe(str, user == NULL ? "?" : user, AUTH_USERNAME_MAX_LEN);
	if (info->rip != NULL && info->rip[0] != '\0') {
		str_append_c(str, ',');
		append_log_safe(str, info->rip, 64);
	}
	if (info->session != NULL && info->session[0] != '\0') {
		str_append(str, ",<");
		append_log_safe(str, info->session, 64);
		str_append_c(str, '>');
	}
	str_append_c(str, ')');
	return str_free_without_data(&str);
}

static void log_verbose(const struct auth *auth, const char *driver,
			const char *user, const struct auth_request_info *info,
			const char *msg)
{
	if (!auth->set->auth_verbose && !auth->set->auth_debug)
		return;
	char *prefix = log_prefix(driver, user, info);
	i_info("%s: %s", prefix, msg);
	free(prefix);
}

static void log_debug(const char *driver, const char *user,
		      const struct auth_request_info *info, const char *msg)
{
	if (!log_debug_enabled())
		return;
	char *prefix = log_prefix(driver, user, info);
	i_debug("%s: %s", prefix, msg);
	free(prefix);
}

static void log_err(const char *driver, const char *user,
		    const struct auth_request_info *info, const char *msg)
{
	char *prefix = log_prefix(driver, user, info);
	i_error("%s: %s", prefix, msg);
	free(prefix);
}

/* Check auth_username_chars, add the default realm, apply
   auth_username_format. Returns the translated user or NULL. */
static char *username_translate(struct auth *auth,
				const struct auth_request_info *info,
				const char **error_r)
{
	const char *user = info->user;
	size_t len = user == NULL ? 0 : strlen(user);

	if (len == 0) {
		*error_r = "Empty username";
		return NULL;
	}
	if (len > AUTH_USERNAME_MAX_LEN) {
		*error_r = "Username too long";
		return NULL;
	}
	if (strspn(user, AUTH_USERNAME_CHARS) != len) {
		*error_r = "Username character disallowed by auth_username_chars";
		return NULL;
	}
	char *full;
	const char *realm = auth->set->auth_default_realm;
	if (realm != NULL && realm[0] != '\0' && strchr(user, '@') == NULL)
		full = i_strdup_printf("%s@%s", user, realm);
	else
		full = i_strdup(user);
	const char *format = auth->set->auth_username_format;
	if (format == NULL || format[0] == '\0')
		return full;

	struct auth_var_values vals = {
		.user = full, .service = info->service, .rip = info->rip,
		.lip = info->lip, .session = info->session,
	};
	string_t *out = str_new(64);
	if (auth_var_expand(format, &vals, out, error_r) < 0 ||
	    str_len(out) == 0) {
		if (str_len(out) == 0)
			*error_r = "auth_username_format gave an empty username";
		str_free(&out);
		free(full);
		return NULL;
	}
	free(full);
	return str_free_without_data(&out);
}

static void vals_init(struct auth_var_values *vals, const char *user,
		      const struct auth_request_info *info)
{
	memset(vals, 0, sizeof(*vals));
	vals->user = user;
	vals->service = info->service;
	vals->rip = info->rip;
	vals->lip = info->lip;
	vals->session = info->session;
}

/* Run the passdbs. password NULL = existence check. On AUTH_DB_OK,
   *result_r holds the winning passdb's result (caller frees). */
static enum auth_db_result
passdbs_run(struct auth *auth, const char *user,
	    const struct auth_request_info *info, const char *password,
	    struct auth_passdb_result *result_r, char **reason_r)
{
	struct auth_var_values vals;
	bool mismatch = false, internal = false;

	vals_init(&vals, user, info);
	memset(result_r, 0, sizeof(*result_r));
	for (unsigned int i = 0; i < auth->passdbs_count; i++) {
		struct auth_passdb *passdb = auth->passdbs[i];
		struct auth_passdb_result result;
		enum auth_db_result ret =
			auth_passdb_verify(passdb, &vals, password, &result);

		switch (ret) {
		case AUTH_DB_OK:
			*result_r = result;
			return AUTH_DB_OK;
		case AUTH_DB_NOTFOUND:
			if (!passdb->deny)
				log_verbose(auth, passdb->name, user, info,
					    "unknown user");
			break;
		case AUTH_DB_MISMATCH:
			log_verbose(auth, passdb->name, user, info,
				    result.error != NULL ? result.error :
				    "Password mismatch");
			mismatch = true;
			break;
		case AUTH_DB_DISABLED:
			log_verbose(auth, passdb->name, user, info,
				    passdb->deny ? "User found from deny passdb" :
				    "Login disabled (nologin)");
			if (result.reason != NULL)
				*reason_r = i_strdup(result.reason);
			auth_passdb_result_free(&result);
			return AUTH_DB_DISABLED;
		case AUTH_DB_INTERNAL_ERROR:
			log_err(passdb->name, user, info, result.error);
			internal = true;
			break;
		}
		auth_passdb_result_free(&result);
	}
	return internal ? AUTH_DB_INTERNAL_ERROR :
		mismatch ? AUTH_DB_MISMATCH : AUTH_DB_NOTFOUND;
}

/* Returns AUTH_DB_OK, AUTH_DB_NOTFOUND or AUTH_DB_INTERNAL_ERROR. */
static enum auth_db_result
userdbs_run(struct auth *auth, const char *user,
	    const struct auth_request_info *info,
	    const struct auth_fields *prefetched, bool passdb_checked,
	    struct auth_fields *fields_r)
{
	struct auth_var_values vals;
	const char *error = NULL;

	vals_init(&vals, user, info);
	if (prefetched != NULL) {
		/* the passdb's userdb_ fields are defaults for the userdb */
		for (unsigned int i = 0; i < prefetched->count; i++)
			auth_fields_set(fields_r, prefetched->keys[i],
					prefetched->values[i]);
	}
	if (auth->userdbs_count == 0)
		return passdb_checked ? AUTH_DB_OK : AUTH_DB_NOTFOUND;
	for (unsigned int i = 0; i < auth->userdbs_count; i++) {
		struct auth_userdb *userdb = auth->userdbs[i];
		if (userdb->pwfile == NULL && !userdb->prefetch &&
		    !userdb->allow_all_users && !passdb_checked)
			continue; /* static userdb needs a passdb check first */
		enum auth_db_result ret =
			auth_userdb_lookup(userdb, &vals, prefetched,
					   fields_r, &error);
		if (ret == AUTH_DB_OK) {
			log_debug(userdb->name, user, info, "userdb: found");
			return AUTH_DB_OK;
		}
		if (ret == AUTH_DB_INTERNAL_ERROR) {
			log_err(userdb->name, user, info, error);
			return ret;
		}
		log_debug(userdb->name, user, info, "userdb: unknown user");
	}
	return AUTH_DB_NOTFOUND;
}

static void reply_set_user(struct auth_request_reply *reply, const char *user)
{
	free(reply->user);
	reply->user = i_strdup(user);
}

/* After a passdb success: the userdbs decide the reply's fields. */
static void pass_userdb_phase(struct auth *auth, const char *user,
			      const struct auth_request_info *info,
			      const struct auth_passdb_result *result,
			      struct auth_request_reply *reply)
{
	switch (userdbs_run(auth, user, info, &result->userdb_fields, true,
			    &reply->fields)) {
	case AUTH_DB_OK:
		reply->status = AUTH_REQUEST_OK;
		break;
	case AUTH_DB_NOTFOUND:
		log_err("auth", user, info, "user not found from any userdb");
		/* fall through */
	default:
		reply->status = AUTH_REQUEST_TEMPFAIL;
		reply->reason = i_strdup("Temporary authentication failure.");
		auth_fields_clear(&reply->fields);
		break;
	}
	const char *renamed = auth_fields_get(&reply->fields, "user");
	if (renamed != NULL && renamed[0] != '\0')
		reply_set_user(reply, renamed);
}

void auth_request_pass(struct auth *auth, const struct auth_request_info *info,
		       struct auth_request_reply *reply_r)
{
	struct auth_passdb_result result;
	const char *error;
	char *reason = NULL;

	memset(reply_r, 0, sizeof(*reply_r));
	reply_r->status = AUTH_REQUEST_FAIL;
	char *user = username_translate(auth, info, &error);
	if (user == NULL) {
		log_verbose(auth, "auth", info->user, info, error);
		reply_r->reason = i_strdup(error);
		return;
	}
	reply_set_user(reply_r, user);
	if (!info->trusted && auth->set->disable_plaintext_auth &&
	    !info->secured) {
		log_verbose(auth, "auth", user, info,
			    "Plaintext authentication disabled");
		reply_r->reason = i_strdup("Plaintext authentication disallowed "
					   "on non-secure (SSL/TLS) connections.");
	} else switch (passdbs_run(auth, user, info, info->password,
				   &result, &reason)) {
	case AUTH_DB_OK:
		if (result.canonical_user != NULL)
			reply_set_user(reply_r, result.canonical_user);
		pass_userdb_phase(auth, reply_r->user, info, &result, reply_r);
		auth_passdb_result_free(&result);
		break;
	case AUTH_DB_INTERNAL_ERROR:
		reply_r->status = AUTH_REQUEST_TEMPFAIL;
		reply_r->reason = i_strdup("Temporary authentication failure.");
		break;
	case AUTH_DB_DISABLED:
		reply_r->reason = reason != NULL ? reason :
			i_strdup("Authentication failed.");
		break;
	default:
		reply_r->reason = i_strdup("Authentication failed.");
		break;
	}
	free(user);
}

void auth_request_user(struct auth *auth, const struct auth_request_info *info,
		       struct auth_request_reply *reply_r)
{
	struct auth_passdb_result result;
	const char *error;
	char *reason = NULL;
	bool need_passdb = auth->userdbs_count == 0;

	memset(reply_r, 0, sizeof(*reply_r));
	reply_r->status = AUTH_REQUEST_NOTFOUND;
	char *user = username_translate(auth, info, &error);
	if (user == NULL) {
		i_debug("auth(%s): %s", info->user == NULL ? "" : info->user, error);
		return;
	}
	reply_set_user(reply_r, user);
	for (unsigned int i = 0; i < auth->userdbs_count; i++) {
		struct auth_userdb *u = auth->userdbs[i];
		if (u->pwfile == NULL && !u->allow_all_users)
			need_passdb = true;
	}
	memset(&result, 0, sizeof(result));
	bool passdb_ok = false;
	if (need_passdb) {
		/* static/prefetch userdbs (or none) only know users that a
		   passdb knows, as Dovecot's userdb static without
		   allow_all_users */
		enum auth_db_result ret =
			passdbs_run(auth, user, info, NULL, &result, &reason);
		free(reason);
		if (ret == AUTH_DB_INTERNAL_ERROR) {
			reply_r->status = AUTH_REQUEST_TEMPFAIL;
			reply_r->reason = i_strdup("Temporary lookup failure");
			free(user);
			return;
		}
		passdb_ok = ret == AUTH_DB_OK;
		if (passdb_ok && result.canonical_user != NULL) {
			free(user);
			user = i_strdup(result.canonical_user);
			reply_set_user(reply_r, user);
		}
	}
	switch (userdbs_run(auth, user, info,
			    passdb_ok ? &result.userdb_fields : NULL,
			    passdb_ok, &reply_r->fields)) {
	case AUTH_DB_OK:
		reply_r->status = AUTH_REQUEST_OK;
		break;
	case AUTH_DB_NOTFOUND:
		reply_r->status = AUTH_REQUEST_NOTFOUND;
		auth_fields_clear(&reply_r->fields);
		break;
	default:
		reply_r->status = AUTH_REQUEST_TEMPFAIL;
		reply_r->reason = i_strdup("Temporary lookup failure");
		auth_fields_clear(&reply_r->fields);
		break;
	}
	const char *renamed = auth_fields_get(&reply_r->fields, "user");
	if (renamed != NULL && renamed[0] != '\0')
		reply_set_user(reply_r, renamed);
	auth_passdb_result_free(&result);
	free(user);
}

void auth_request_reply_free(struct auth_request_reply *reply)
{
	free(reply->user);
	free(reply->reason);
	auth_fields_clear(&reply->fields);
	memset(reply, 0, sizeof(*reply));
}
