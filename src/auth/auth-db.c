/* passdb/userdb drivers: passwd-file, static, prefetch. */
#include "auth-db.h"
#include "passwd-file.h"
#include "password-scheme.h"
#include "log.h"

#include <grp.h>
#include <pwd.h>
#include <stdlib.h>

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
	return passdb;
}

void auth_passdb_destroy(struct auth_passdb **_passdb)
{
	struct auth_passdb *passdb = *_passdb;
	if (passdb == NULL)
		return;
	passwd_file_db_destroy(&passdb->pwfile);
	free(passdb->name);
	free(passdb);
	*_passdb = NULL;
}

static int static_args_parse(struct auth_userdb *userdb, const char *args,
			     char **error_r)
{
	char **words = str_split(args == NULL ? "" : args, " \t");
	for (unsigned int i = 0; words[i] != NULL; i++) {
		const char *w = words[i], *eq = strchr(w, '=');
		if (w[0] == '\0')
			continue;
		if (eq == NULL || eq == w) {
			*error_r = i_strdup_printf("userdb static: Invalid args field: %s", w);
			str_split_free(&words);
			return -1;
		}
		char *key = i_strndup(w, (size_t)(eq - w));
		if (strcmp(key, "allow_all_users") == 0)
			userdb->allow_all_users = strcmp(eq + 1, "yes") == 0;
		else
			auth_fields_set(&userdb->static_fields, key, eq + 1);
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
	if (strcmp(driver, "passwd-file") == 0) {
		userdb->pwfile = passwd_file_db_create(set->args, NULL, error_r);
		if (userdb->pwfile == NULL)
			goto fail;
	} else if (strcmp(driver, "static") == 0) {
		if (static_args_parse(userdb, set->args, error_r) < 0)
			goto fail;
		/* 2.4 puts userdb fields in default_fields/override_fields */
		if (static_args_parse(userdb, set->default_fields, error_r) < 0 ||
		    static_args_parse(userdb, set->override_fields, error_r) < 0)
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

static int static_userdb(struct auth_userdb *userdb,
			 const struct auth_var_values *vals,
			 struct auth_fields *fields, const char **error_r)
{
	for (unsigned int i = 0; i < userdb->static_fields.count; i++) {
		string_t *value = str_new(64);
		int ret = auth_var_expand(userdb->static_fields.values[i], vals,
					  value, error_r);
		if (ret == 0)
			ret = set_userdb_field(fields, userdb->static_fields.keys[i],
					       str_c(value), error_r);
		str_free(&value);
		if (ret < 0)
			return -1;
	}
	return 1;
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
	if (userdb->pwfile != NULL)
		ret = passwd_file_userdb(userdb, vals, fields, error_r);
	else
		ret = static_userdb(userdb, vals, fields, error_r);
	return ret < 0 ? AUTH_DB_INTERNAL_ERROR :
		ret == 0 ? AUTH_DB_NOTFOUND : AUTH_DB_OK;
}
