/* loft-auth lookup logic: passdbs in order, userdbs, username rules. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>
#include <cmocka.h>

#include "lib.h"
#include "settings.h"
#include "auth-request.h"
#include "auth-sasl-server.h"

static char dir[64];
static char *path_main, *path_second, *path_deny;

static void write_file(const char *path, const char *data)
{
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	fputs(data, f);
	fclose(f);
}

static int setup(void **state)
{
	strcpy(dir, "/tmp/loft-test-authreq-XXXXXX");
	assert_non_null(mkdtemp(dir));
	path_main = i_strdup_printf("%s/main", dir);
	path_second = i_strdup_printf("%s/second", dir);
	path_deny = i_strdup_printf("%s/deny", dir);
	write_file(path_main,
		"bob:{PLAIN}bobpw:1000:1000::/home/bob::userdb_mail=maildir:~/M\n"
		"carol:{PLAIN}first:1001:1001::/home/carol\n"
		"nolo:{PLAIN}x:1002:1002::/home/nolo::nologin reason=Gone\n"
		"ren:{PLAIN}x:1003:1003::/home/ren::user=renamed\n"
		"nopw::1004:1004::/home/nopw::nopassword\n"
		"empty::1005:1005::/home/empty\n"
		"evil:{PLAIN}x:1006:1006::/home/evil\n"
		"bad:{NOSUCH}x:1007:1007\n"
		"rich:{PLAIN}x:1008:1008::/home/rich::userdb_quota_rule=*:storage=1G userdb_uid=2008\n");
	write_file(path_second, "carol:{PLAIN}second\nonly2:{PLAIN}x\n");
	write_file(path_deny, "evil\n");
	return 0;
}

static int teardown(void **state)
{
	unlink(path_main);
	unlink(path_second);
	unlink(path_deny);
	rmdir(dir);
	free(path_main);
	free(path_second);
	free(path_deny);
	return 0;
}

static void add_db(struct auth_db_settings **dbs, unsigned int *count,
		   const char *driver, const char *args, bool deny)
{
	*dbs = i_realloc(*dbs, sizeof(**dbs) * (*count + 1));
	struct auth_db_settings *db = &(*dbs)[(*count)++];
	memset(db, 0, sizeof(*db));
	db->driver = i_strdup(driver);
	db->args = i_strdup(args);
	db->deny = deny;
}

static struct loft_settings *make_settings(bool static_userdb)
{
	struct loft_settings *set = settings_defaults();
	char *args;

	set->auth_failure_delay = 0;
	set->disable_plaintext_auth = true;
	free(set->auth_username_format);
	set->auth_username_format = i_strdup("%Lu");
	add_db(&set->passdbs, &set->passdbs_count, "passwd-file", path_deny, true);
	args = i_strdup_printf("scheme=PLAIN %s", path_main);
	add_db(&set->passdbs, &set->passdbs_count, "passwd-file", args, false);
	free(args);
	add_db(&set->passdbs, &set->passdbs_count, "passwd-file", path_second, false);
	if (static_userdb) {
		add_db(&set->userdbs, &set->userdbs_count, "static",
		       "uid=4000 gid=4001 home=/var/vmail/%d/%n mail=maildir:~/Maildir", false);
	} else {
		add_db(&set->userdbs, &set->userdbs_count, "passwd-file", path_main, false);
	}
	return set;
}

static enum auth_request_status
do_pass(struct auth *auth, const char *user, const char *pass, bool secured,
	struct auth_request_reply *reply)
{
	struct auth_request_info info = {
		.service = "imap", .user = user, .password = pass,
		.rip = "192.0.2.1", .session = "s", .secured = secured,
	};
	auth_request_pass(auth, &info, reply);
	return reply->status;
}

static void test_pass(void **state)
{
	struct loft_settings *set = make_settings(false);
	char *error = NULL;
	struct auth *auth = auth_create(set, &error);
	struct auth_request_reply reply;

	assert_non_null(auth);
	assert_int_equal(do_pass(auth, "bob", "bobpw", true, &reply), AUTH_REQUEST_OK);
	assert_string_equal(reply.user, "bob");
	assert_string_equal(auth_fields_get(&reply.fields, "uid"), "1000");
	assert_string_equal(auth_fields_get(&reply.fields, "home"), "/home/bob");
	assert_string_equal(auth_fields_get(&reply.fields, "mail"), "maildir:~/M");
	assert_null(auth_fields_get(&reply.fields, "password"));
	auth_request_reply_free(&reply);
	/* auth_username_format=%Lu */
	assert_int_equal(do_pass(auth, "BoB", "bobpw", true, &reply), AUTH_REQUEST_OK);
	assert_string_equal(reply.user, "bob");
	auth_request_reply_free(&reply);
	/* wrong password, unknown user: FAIL (not temporary) */
	assert_int_equal(do_pass(auth, "bob", "bobpW", true, &reply), AUTH_REQUEST_FAIL);
	auth_request_reply_free(&reply);
	assert_int_equal(do_pass(auth, "nobody", "x", true, &reply), AUTH_REQUEST_FAIL);
	auth_request_reply_free(&reply);
	/* passdbs in order: a mismatch in the first continues to the second */
	assert_int_equal(do_pass(auth, "carol", "second", true, &reply), AUTH_REQUEST_OK);
	auth_request_reply_free(&reply);
	assert_int_equal(do_pass(auth, "carol", "first", true, &reply), AUTH_REQUEST_OK);
	auth_request_reply_free(&reply);
	/* found in the second passdb, but no userdb knows the user */
	assert_int_equal(do_pass(auth, "only2", "x", true, &reply), AUTH_REQUEST_TEMPFAIL);
	auth_request_reply_free(&reply);
	/* deny passdb */
	assert_int_equal(do_pass(auth, "evil", "x", true, &reply), AUTH_REQUEST_FAIL);
	auth_request_reply_free(&reply);
	/* nologin with reason */
	assert_int_equal(do_pass(auth, "nolo", "x", true, &reply), AUTH_REQUEST_FAIL);
	assert_string_equal(reply.reason, "Gone");
	auth_request_reply_free(&reply);
	/* user= renames: the userdb lookup is for "renamed", unknown there */
	assert_int_equal(do_pass(auth, "ren", "x", true, &reply), AUTH_REQUEST_TEMPFAIL);
	auth_request_reply_free(&reply);
	/* nopassword accepts anything; an empty password field nothing */
	assert_int_equal(do_pass(auth, "nopw", "whatever", true, &reply), AUTH_REQUEST_OK);
	auth_request_reply_free(&reply);
	assert_int_equal(do_pass(auth, "empty", "", true, &reply), AUTH_REQUEST_FAIL);
	auth_request_reply_free(&reply);
	/* a broken hash is an internal error */
	assert_int_equal(do_pass(auth, "bad", "x", true, &reply), AUTH_REQUEST_TEMPFAIL);
	auth_request_reply_free(&reply);
	/* userdb_ fields of the passdb are defaults, the userdb overrides */
	assert_int_equal(do_pass(auth, "rich", "x", true, &reply), AUTH_REQUEST_OK);
	assert_string_equal(auth_fields_get(&reply.fields, "quota_rule"), "*:storage=1G");
	assert_string_equal(auth_fields_get(&reply.fields, "uid"), "2008");
	auth_request_reply_free(&reply);
	/* disable_plaintext_auth on an unsecured connection */
	assert_int_equal(do_pass(auth, "bob", "bobpw", false, &reply), AUTH_REQUEST_FAIL);
	assert_non_null(strstr(reply.reason, "Plaintext"));
	auth_request_reply_free(&reply);
	/* usernames: bad chars, too long, empty */
	static const char *const bad_users[] = {
		"bob/x", "bob:x", "bob x", "", "b\xc3\xa4",
	};
	for (size_t i = 0; i < N_ELEMENTS(bad_users); i++) {
		assert_int_equal(do_pass(auth, bad_users[i], "bobpw", true, &reply),
				 AUTH_REQUEST_FAIL);
		auth_request_reply_free(&reply);
	}
	char longuser[AUTH_USERNAME_MAX_LEN + 2];
	memset(longuser, 'a', sizeof(longuser) - 1);
	longuser[sizeof(longuser) - 1] = '\0';
	assert_int_equal(do_pass(auth, longuser, "x", true, &reply), AUTH_REQUEST_FAIL);
	auth_request_reply_free(&reply);

	/* missing file: temporary failure, not "unknown user" */
	unlink(path_second);
	assert_int_equal(do_pass(auth, "carol", "second", true, &reply),
			 AUTH_REQUEST_TEMPFAIL);
	auth_request_reply_free(&reply);
	write_file(path_second, "carol:{PLAIN}second\nonly2:{PLAIN}x\n");
	auth_destroy(&auth);
	settings_free(&set);
}

static void test_user_static(void **state)
{
	struct loft_settings *set = make_settings(true);
	char *error = NULL;
	struct auth *auth = auth_create(set, &error);
	struct auth_request_reply reply;
	struct auth_request_info info = { .service = "lmtp", .user = "bob@example.com" };

	free(set->auth_default_realm);
	set->auth_default_realm = NULL;
	/* static without allow_all_users: only users a passdb knows */
	info.user = "nobody";
	auth_request_user(auth, &info, &reply);
	assert_int_equal(reply.status, AUTH_REQUEST_NOTFOUND);
	auth_request_reply_free(&reply);
	info.user = "Bob";
	auth_request_user(auth, &info, &reply);
	assert_int_equal(reply.status, AUTH_REQUEST_OK);
	assert_string_equal(reply.user, "bob");
	assert_string_equal(auth_fields_get(&reply.fields, "uid"), "4000");
	assert_string_equal(auth_fields_get(&reply.fields, "gid"), "4001");
	assert_string_equal(auth_fields_get(&reply.fields, "home"), "/var/vmail//bob");
	/* static overrides the passdb's userdb_mail */
	assert_string_equal(auth_fields_get(&reply.fields, "mail"), "maildir:~/Maildir");
	auth_request_reply_free(&reply);
	/* PASS then static userdb */
	assert_int_equal(do_pass(auth, "carol", "first", true, &reply), AUTH_REQUEST_OK);
	assert_string_equal(auth_fields_get(&reply.fields, "home"), "/var/vmail//carol");
	auth_request_reply_free(&reply);
	auth_destroy(&auth);
	settings_free(&set);

	/* default realm and %d/%n */
	set = make_settings(true);
	set->auth_default_realm = i_strdup("example.com");
	free(set->auth_username_format);
	set->auth_username_format = i_strdup("%n");
	auth = auth_create(set, &error);
	assert_non_null(auth);
	info.user = "bob";
	auth_request_user(auth, &info, &reply);
	assert_int_equal(reply.status, AUTH_REQUEST_OK);
	assert_string_equal(reply.user, "bob");
	auth_request_reply_free(&reply);
	auth_destroy(&auth);
	free(set->auth_username_format);
	set->auth_username_format = i_strdup("%Lu");
	auth = auth_create(set, &error);
	info.user = "Bob";
	auth_request_user(auth, &info, &reply);
	/* the realm was added; the passwd-file has no "bob@example.com" */
	assert_int_equal(reply.status, AUTH_REQUEST_NOTFOUND);
	assert_string_equal(reply.user, "bob@example.com");
	auth_request_reply_free(&reply);
	auth_destroy(&auth);
	settings_free(&set);
}

static void test_default_override_fields(void **state)
{
	struct loft_settings *set = make_settings(false);
	struct auth_db_settings *udb = &set->userdbs[0];
	udb->default_fields = i_strdup("uid=5000 quota_rule=*:storage=%n home=/d/%n");
	udb->override_fields = i_strdup("mail=mdbox:~/mdbox");
	set->passdbs[1].default_fields = i_strdup("userdb_foo=bar-%u nopassword=y");
	set->passdbs[1].override_fields = i_strdup("userdb_mail=maildir:~/over");
	char *error = NULL;
	struct auth *auth = auth_create(set, &error);
	struct auth_request_reply reply;

	assert_non_null(auth);
	assert_int_equal(do_pass(auth, "bob", "bobpw", true, &reply), AUTH_REQUEST_OK);
	/* the file's values beat default_fields */
	assert_string_equal(auth_fields_get(&reply.fields, "uid"), "1000");
	assert_string_equal(auth_fields_get(&reply.fields, "home"), "/home/bob");
	/* defaults fill in what the file lacks */
	assert_string_equal(auth_fields_get(&reply.fields, "quota_rule"), "*:storage=bob");
	/* override_fields beat everything */
	assert_string_equal(auth_fields_get(&reply.fields, "mail"), "mdbox:~/mdbox");
	/* the passdb's userdb_ defaults are prefetched */
	assert_string_equal(auth_fields_get(&reply.fields, "foo"), "bar-bob");
	/* nopassword= in passdb default_fields is not honoured: only
	   userdb_ fields are used from there */
	auth_request_reply_free(&reply);
	assert_int_equal(do_pass(auth, "bob", "wrong", true, &reply), AUTH_REQUEST_FAIL);
	auth_request_reply_free(&reply);
	auth_destroy(&auth);
	settings_free(&set);

	set = make_settings(false);
	set->userdbs[0].default_fields = i_strdup("novalue");
	error = NULL;
	assert_null(auth_create(set, &error));
	assert_non_null(error);
	free(error);
	settings_free(&set);
}

static void test_bad_config(void **state)
{
	static const char *const drivers[][2] = {
		{ "pam", "" }, { "passwd-file", "" }, { "passwd-file", "scheme=NOPE /x" },
	};
	char *error;
	for (size_t i = 0; i < N_ELEMENTS(drivers); i++) {
		struct loft_settings *set = settings_defaults();
		add_db(&set->passdbs, &set->passdbs_count, drivers[i][0],
		       drivers[i][1], false);
		error = NULL;
		assert_null(auth_create(set, &error));
		assert_non_null(error);
		free(error);
		settings_free(&set);
	}
	struct loft_settings *set = settings_defaults();
	error = NULL;
	assert_null(auth_create(set, &error)); /* no passdbs */
	free(error);
	add_db(&set->passdbs, &set->passdbs_count, "passwd-file", path_main, false);
	add_db(&set->userdbs, &set->userdbs_count, "ldap", "", false);
	error = NULL;
	assert_null(auth_create(set, &error));
	assert_non_null(strstr(error, "ldap"));
	free(error);
	settings_free(&set);
}

static void test_sasl_tabescape(void **state)
{
	static const char *const values[] = {
		"", "plain", "tab\there", "\001", "a\nb\rc", "\001t literal",
	};
	for (size_t i = 0; i < N_ELEMENTS(values); i++) {
		string_t *esc = str_new(32), *back = str_new(32);
		auth_sasl_tabescape(esc, values[i]);
		assert_null(strchr(str_c(esc), '\t'));
		assert_null(strchr(str_c(esc), '\n'));
		assert_int_equal(auth_sasl_tabunescape(str_c(esc), str_len(esc),
						       back), 0);
		assert_string_equal(str_c(back), values[i]);
		str_free(&esc);
		str_free(&back);
	}
	static const char *const bad[] = { "\001", "x\001x", "\0012", "a\nb" };
	for (size_t i = 0; i < N_ELEMENTS(bad); i++) {
		string_t *out = str_new(32);
		assert_int_equal(auth_sasl_tabunescape(bad[i], strlen(bad[i]), out), -1);
		str_free(&out);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_pass),
		cmocka_unit_test(test_user_static),
		cmocka_unit_test(test_default_override_fields),
		cmocka_unit_test(test_bad_config),
		cmocka_unit_test(test_sasl_tabescape),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
