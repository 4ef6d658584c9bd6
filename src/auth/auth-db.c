/* passdb/userdb drivers: passwd-file, static, prefetch. */
#include "auth-db.h"
#include "passwd-file.h"
#include "password-scheme.h"
#include "log.h"

#include <grp.h>
#include <pwd.h>
#include <stdlib.h>

static int fields_expand(const struct auth_fields *templates,
			 const char *prefix, const struct auth_var_values *vals,
			 struct auth_fields *fields, const char **error_r);
static int fields_parse(const char *str, struct auth_fields *fields,
			bool *allow_all_users_r, const char *what,
			char **error_r);

void auth_fields_set(struct auth_fields *fields, const char *key,
		     const char *value)
{
	for (unsigned int i = 0; i < fields->count; i++) {
		if (strcmp(fields->keys[i], key) == 0) {
			free(fields->values[i]);
			fields->values[i] = i_strdup(value);
			return;
		}
	}
	if (fields->count == fields->alloc) {
		fields->alloc = fields->alloc == 0 ? 8 : fields->alloc * 2;
		fields->keys = i_realloc(fields->keys,
					 fields->alloc * sizeof(char *));
		fields->values = i_realloc(fields->values,
					   fields->alloc * sizeof(char *));
	}
	fields->keys[fields->count] = i_strdup(key);
	fields->values[fields->count] = i_strdup(value);
	fields->count++;
}

const char *auth_fields_get(const struct auth_fields *fields, const char *key)
{
	for (unsigned int i = 0; i < fields->count; i++) {
		if (strcmp(fields->keys[i], key) == 0)
			return fields->values[i];
	}
	return NULL;
}

void auth_fields_clear(struct auth_fields *fields)
{
	for (unsigned int i = 0; i < fields->count; i++) {
		free(fields->keys[i]);
		free(fields->values[i]);
	}
	free(fields->keys);
	free(fields->values);
	memset(fields, 0, sizeof(*fields));
}

struct auth_passdb *auth_passdb_create(const struct auth_db_settings *set,
				       char **error_r)
{
	const char *driver = set->driver == NULL ? "" : set->driver;

	if (strcmp(driver, "passwd-file") != 0) {
		*error_r = i_strdup_printf("passdb: Unsupported driver '%s' "
					   "(supported: passwd-file)", driver);
		return NULL;
	}
	struct passwd_file_db *pwfile =
		passwd_file_db_create(set->args, set->default_password_scheme,
				      error_r);
	if (pwfile == NULL)
		return NULL;
	struct auth_passdb *passdb = i_new(struct auth_passdb, 1);
	passdb->name = i_strdup(driver);
	passdb->deny = set->deny;
	passdb->pwfile = pwfile;
	if (fields_parse(set->default_fields, &passdb->default_fields, NULL,
			 "passdb default_fields", error_r) < 0 ||
	    fields_parse(set->override_fields, &passdb->override_fields, NULL,
			 "passdb override_fields", error_r) < 0) {
		auth_passdb_destroy(&passdb);
		return NULL;
	}
	return passdb;
}

void auth_passdb_destroy(struct auth_passdb **_passdb)
{
	struct auth_passdb *passdb = *_passdb;
	if (passdb == NULL)
		return;
	passwd_file_db_destroy(&passdb->pwfile);
	auth_fields_clear(&passdb->default_fields);
	auth_fields_clear(&passdb->override_fields);
	free(passdb->name);
	free(passdb);
	*_passdb = NULL;
}

/* "key=value key2=value2" into fields; allow_all_users_r (may be NULL)
   takes the static userdb's allow_all_users=yes. */
static int fields_parse(const char *str, struct auth_fields *fields,
			bool *allow_all_users_r, const char *what,
			char **error_r)
{
	char **words = str_split(str == NULL ? "" : str, " \t");
	for (unsigned int i = 0; words[i] != NULL; i++) {
		const char *w = words[i], *eq = strchr(w, '=');
		if (w[0] == '\0')
			continue;
		if (eq == NULL || eq == w) {
			*error_r = i_strdup_printf("%s: Invalid field: %s", what, w);
			str_split_free(&words);
			return -1;
		}
		char *key = i_strndup(w, (size_t)(eq - w));
		if (allow_all_users_r != NULL &&
		    strcmp(key, "allow_all_users") == 0)
			*allow_all_users_r = strcmp(eq + 1, "yes") == 0;
		else
			auth_fields_set(fields, key, eq + 1);
		free(key);
	}
	str_split_free(&words);
	return 0;
}

struct auth_userdb *auth_userdb_create(const struct auth_db_settings *set,
				       char **error_r)
{
	const char *driver = set->driver == NULL ? "" : set->driver;
	struct auth_userdb *userdb = i_new(struct auth_userdb, 1);

	userdb->name = i_strdup(driver);
	if (fields_parse(set->default_fields, &userdb->default_fields,
			 &userdb->allow_all_users, "userdb default_fields",
			 error_r) < 0 ||
	    fields_parse(set->override_fields, &userdb->override_fields,
			 &userdb->allow_all_users, "userdb override_fields",
			 error_r) < 0)
		goto fail;
	if (strcmp(driver, "passwd-file") == 0) {
		userdb->pwfile = passwd_file_db_create(set->args, NULL, error_r);
		if (userdb->pwfile == NULL)
			goto fail;
	} else if (strcmp(driver, "static") == 0) {
		if (fields_parse(set->args, &userdb->static_fields,
				 &userdb->allow_all_users, "userdb static",
				 error_r) < 0)
			goto fail;
	} else if (strcmp(driver, "prefetch") == 0) {
		userdb->prefetch = true;
	} else {
		*error_r = i_strdup_printf("userdb: Unsupported driver '%s' "
			"(supported: passwd-file, static, prefetch)", driver);
		goto fail;
	}
	return userdb;
fail:
	auth_userdb_destroy(&userdb);
	return NULL;
}

void auth_userdb_destroy(struct auth_userdb **_userdb)
{
	struct auth_userdb *userdb = *_userdb;
	if (userdb == NULL)
		return;
	passwd_file_db_destroy(&userdb->pwfile);
	auth_fields_clear(&userdb->static_fields);
	auth_fields_clear(&userdb->default_fields);
	auth_fields_clear(&userdb->override_fields);
	free(userdb->name);
	free(userdb);
	*_userdb = NULL;
}

enum auth_db_result
auth_passdb_verify(struct auth_passdb *passdb, const struct auth_var_values *vals,
		   const char *password, struct auth_passdb_result *result_r)
{
	const struct passwd_user *pu;
	const char *error;
	int ret;

	memset(result_r, 0, sizeof(*result_r));
	ret = passwd_file_db_lookup(passdb->pwfile, vals, &pu, &error);
	if (ret < 0) {
		result_r->error = error;
		return AUTH_DB_INTERNAL_ERROR;
	}
	if (ret == 0)
		return AUTH_DB_NOTFOUND;
	if (passdb->deny)
		return AUTH_DB_DISABLED;

	if (password != NULL &&
	    passwd_user_extra_field(pu, "nopassword") == NULL) {
		if (pu->password == NULL) {
			result_r->error = "Empty password";
			return AUTH_DB_MISMATCH;
		}
		ret = password_verify_stored(password, pu->password,
			passwd_file_db_default_scheme(passdb->pwfile), &error);
		if (ret < 0) {
			result_r->error = error;
			return AUTH_DB_INTERNAL_ERROR;
		}
		if (ret == 0)
			return AUTH_DB_MISMATCH;
	}
	const char *v = passwd_user_extra_field(pu, "user");
	if (v != NULL && v[0] != '\0')
		result_r->canonical_user = i_strdup(v);
	if (fields_expand(&passdb->default_fields, "userdb_", vals,
			  &result_r->userdb_fields, &error) < 0) {
		result_r->error = error;
		return AUTH_DB_INTERNAL_ERROR;
	}
	for (unsigned int i = 0; pu->extra_fields[i] != NULL; i++) {
		const char *f = pu->extra_fields[i];
		if (!str_begins(f, "userdb_") || f[7] == '\0' || f[7] == '=')
			continue;
		const char *eq = strchr(f, '=');
		char *key = i_strndup(f + 7, eq == NULL ? strlen(f + 7) :
				      (size_t)(eq - f - 7));
		auth_fields_set(&result_r->userdb_fields, key,
				eq == NULL ? "" : eq + 1);
		free(key);
	}
	if (fields_expand(&passdb->override_fields, "userdb_", vals,
			  &result_r->userdb_fields, &error) < 0) {
		result_r->error = error;
		return AUTH_DB_INTERNAL_ERROR;
	}
	if (passwd_user_extra_field(pu, "nologin") != NULL) {
		v = passwd_user_extra_field(pu, "reason");
		if (v != NULL)
			result_r->reason = i_strdup(v);
		return AUTH_DB_DISABLED;
	}
	return AUTH_DB_OK;
}

void auth_passdb_result_free(struct auth_passdb_result *result)
{
	free(result->canonical_user);
	free(result->reason);
	auth_fields_clear(&result->userdb_fields);
	memset(result, 0, sizeof(*result));
}

/* uid/gid may be names in userdbs: mail processes want numbers. */
static int resolve_id(const char *key, const char *value, char **num_r)
{
	uint32_t n;
	if (str_to_uint32(value, &n) == 0) {
		*num_r = i_strdup(value);
		return 0;
	}
	if (strcmp(key, "uid") == 0) {
		struct passwd *pw = getpwnam(value);
		if (pw == NULL)
			return -1;
		*num_r = i_strdup_printf("%u", (unsigned int)pw->pw_uid);
	} else {
		struct group *gr = getgrnam(value);
		if (gr == NULL)
			return -1;
		*num_r = i_strdup_printf("%u", (unsigned int)gr->gr_gid);
	}
	return 0;
}

static int set_userdb_field(struct auth_fields *fields, const char *key,
			    const char *value, const char **error_r)
{
	if (strcmp(key, "uid") == 0 || strcmp(key, "gid") == 0) {
		char *num;
		if (resolve_id(key, value, &num) < 0) {
			*error_r = strcmp(key, "uid") == 0 ?
				"Invalid uid in userdb" : "Invalid gid in userdb";
			return -1;
		}
		auth_fields_set(fields, key, num);
		free(num);
	} else {
		auth_fields_set(fields, key, value);
	}
	return 0;
}

static int passwd_file_userdb(struct auth_userdb *userdb,
			      const struct auth_var_values *vals,
			      struct auth_fields *fields, const char **error_r)
{
	const struct passwd_user *pu;
	int ret = passwd_file_db_lookup(userdb->pwfile, vals, &pu, error_r);
	if (ret <= 0)
		return ret;
	if (pu->uid_set) {
		char *s = i_strdup_printf("%u", (unsigned int)pu->uid);
		auth_fields_set(fields, "uid", s);
		free(s);
	}
	if (pu->gid_set) {
		char *s = i_strdup_printf("%u", (unsigned int)pu->gid);
		auth_fields_set(fields, "gid", s);
		free(s);
	}
	if (pu->home != NULL)
		auth_fields_set(fields, "home", pu->home);
	for (unsigned int i = 0; pu->extra_fields[i] != NULL; i++) {
		const char *f = pu->extra_fields[i];
		if (!str_begins(f, "userdb_") || f[7] == '\0' || f[7] == '=')
			continue;
		const char *eq = strchr(f, '=');
		char *key = i_strndup(f + 7, eq == NULL ? strlen(f + 7) :
				      (size_t)(eq - f - 7));
		int r = set_userdb_field(fields, key, eq == NULL ? "" : eq + 1,
					 error_r);
		free(key);
		if (r < 0)
			return -1;
	}
	return 1;
}

/* Expand templates into fields. prefix != NULL: only keys starting
   with it, stored without it. */
static int fields_expand(const struct auth_fields *templates,
			 const char *prefix, const struct auth_var_values *vals,
			 struct auth_fields *fields, const char **error_r)
{
	size_t prefix_len = prefix == NULL ? 0 : strlen(prefix);

	for (unsigned int i = 0; i < templates->count; i++) {
		const char *key = templates->keys[i];
		if (prefix != NULL) {
			if (strncmp(key, prefix, prefix_len) != 0 ||
			    key[prefix_len] == '\0')
				continue;
			key += prefix_len;
		}
		string_t *value = str_new(64);
		int ret = auth_var_expand(templates->values[i], vals, value,
					  error_r);
		if (ret == 0)
			ret = set_userdb_field(fields, key, str_c(value), error_r);
		str_free(&value);
		if (ret < 0)
			return -1;
	}
	return 0;
}

enum auth_db_result
auth_userdb_lookup(struct auth_userdb *userdb, const struct auth_var_values *vals,
		   const struct auth_fields *prefetched,
		   struct auth_fields *fields, const char **error_r)
{
	int ret;

	if (userdb->prefetch) {
		if (prefetched == NULL)
			return AUTH_DB_NOTFOUND;
		for (unsigned int i = 0; i < prefetched->count; i++) {
			if (set_userdb_field(fields, prefetched->keys[i],
					     prefetched->values[i], error_r) < 0)
				return AUTH_DB_INTERNAL_ERROR;
		}
		return AUTH_DB_OK;
	}
	struct auth_fields found;
	memset(&found, 0, sizeof(found));
	if (userdb->pwfile != NULL)
		ret = passwd_file_userdb(userdb, vals, &found, error_r);
	else
		ret = fields_expand(&userdb->static_fields, NULL, vals,
				    &found, error_r) < 0 ? -1 : 1;
	if (ret > 0) {
		/* default_fields, then what the userdb found, then
		   override_fields */
		if (fields_expand(&userdb->default_fields, NULL, vals, fields,
				  error_r) < 0)
			ret = -1;
		for (unsigned int i = 0; ret > 0 && i < found.count; i++)
			auth_fields_set(fields, found.keys[i], found.values[i]);
		if (ret > 0 && fields_expand(&userdb->override_fields, NULL,
					     vals, fields, error_r) < 0)
			ret = -1;
	}
	auth_fields_clear(&found);
	return ret < 0 ? AUTH_DB_INTERNAL_ERROR :
		ret == 0 ? AUTH_DB_NOTFOUND : AUTH_DB_OK;
}
