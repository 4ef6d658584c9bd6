/* lib-auth parsers: SASL PLAIN/LOGIN, auth protocol lines, passwd-file,
   %variable expansion. Good and bad input side by side, byte-at-a-time
   where input arrives in pieces, garbage and oversized input. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>
#include <sys/stat.h>
#include <cmocka.h>

#include "lib.h"
#include "sasl.h"
#include "auth-protocol.h"
#include "auth-var-expand.h"
#include "passwd-file.h"

/* ---- SASL ---- */

struct sasl_out {
	int ret;
	const char *challenge, *user, *pass, *error;
	bool done;
};

static struct sasl_out sasl_feed(struct sasl_mech *mech, const void *data,
				 size_t len)
{
	struct sasl_out o;
	o.ret = sasl_mech_input(mech, data, len, &o.challenge, &o.done,
				&o.user, &o.pass, &o.error);
	return o;
}

static void test_sasl_plain(void **state)
{
	static const char msg[] = "\0bob\0s3cret pass";
	struct sasl_mech *mech = sasl_mech_create("plain");
	assert_non_null(mech);
	assert_string_equal(sasl_mech_name(mech), "PLAIN");
	/* SASL-IR: the whole message at once */
	struct sasl_out o = sasl_feed(mech, msg, sizeof(msg) - 1);
	assert_int_equal(o.ret, 0);
	assert_true(o.done);
	assert_string_equal(o.user, "bob");
	assert_string_equal(o.pass, "s3cret pass");
	/* nothing after done */
	o = sasl_feed(mech, "x", 1);
	assert_int_equal(o.ret, -1);
	sasl_mech_destroy(&mech);
	assert_null(mech);

	/* without IR: empty challenge first */
	mech = sasl_mech_create("PLAIN");
	o = sasl_feed(mech, NULL, 0);
	assert_int_equal(o.ret, 0);
	assert_false(o.done);
	assert_string_equal(o.challenge, "");
	static const char msg2[] = "bob\0bob\0pw";
	o = sasl_feed(mech, msg2, sizeof(msg2) - 1);
	assert_int_equal(o.ret, 0);
	assert_true(o.done);
	assert_string_equal(o.user, "bob");
	assert_string_equal(o.pass, "pw");
	sasl_mech_destroy(&mech);

	/* empty password is allowed to reach the passdb (it will fail) */
	mech = sasl_mech_create("PLAIN");
	o = sasl_feed(mech, "\0bob\0", 5);
	assert_int_equal(o.ret, 0);
	assert_string_equal(o.pass, "");
	sasl_mech_destroy(&mech);
	assert_null(sasl_mech_create("CRAM-MD5"));
	assert_null(sasl_mech_create(""));
	assert_null(sasl_mech_create(NULL));
}

static void test_sasl_plain_bad(void **state)
{
	static const struct { const char *data; size_t len; } bad[] = {
		{ "", 0 },                     /* empty response */
		{ "bob", 3 },                  /* no NUL */
		{ "\0bob", 4 },                /* one NUL */
		{ "\0\0pw", 4 },               /* empty authcid */
		{ "\0bob\0pw\0", 8 },          /* extra NUL */
		{ "alice\0bob\0pw", 12 },      /* authzid != authcid */
		{ "\0b\xffo\0pw", 7 },         /* bad UTF-8 user */
		{ "\0bob\0p\xc0\xaf", 8 },     /* overlong UTF-8 password */
		{ "\0bob\0p\xe2\x82", 8 },     /* truncated UTF-8 */
		{ "\0bob\0\xed\xa0\x80", 8 },  /* surrogate */
	};
	for (size_t i = 0; i < N_ELEMENTS(bad); i++) {
		struct sasl_mech *mech = sasl_mech_create("PLAIN");
		struct sasl_out o = sasl_feed(mech, bad[i].data, bad[i].len);
		if (o.ret != -1)
			fail_msg("bad PLAIN #%zu accepted", i);
		assert_non_null(o.error);
		assert_null(strstr(o.error, "pw"));
		/* failed state is final */
		o = sasl_feed(mech, "\0bob\0pw", 7);
		assert_int_equal(o.ret, -1);
		sasl_mech_destroy(&mech);
	}
	/* oversized parts */
	char *big = i_malloc(SASL_MAX_RESPONSE_LEN + 10);
	memset(big, 'a', SASL_MAX_RESPONSE_LEN + 10);
	struct sasl_mech *mech = sasl_mech_create("PLAIN");
	assert_int_equal(sasl_feed(mech, big, SASL_MAX_RESPONSE_LEN + 1).ret, -1);
	sasl_mech_destroy(&mech);
	big[0] = '\0';
	big[SASL_MAX_USER_LEN + 2] = '\0'; /* authcid of 256 bytes */
	mech = sasl_mech_create("PLAIN");
	assert_int_equal(sasl_feed(mech, big, SASL_MAX_USER_LEN + 5).ret, -1);
	sasl_mech_destroy(&mech);
	memset(big, 'a', SASL_MAX_RESPONSE_LEN + 10);
	memcpy(big, "\0bob\0", 5);     /* password of 1025 bytes */
	mech = sasl_mech_create("PLAIN");
	assert_int_equal(sasl_feed(mech, big, 5 + SASL_MAX_PASSWORD_LEN + 1).ret, -1);
	sasl_mech_destroy(&mech);
	mech = sasl_mech_create("PLAIN");
	assert_int_equal(sasl_feed(mech, big, 5 + SASL_MAX_PASSWORD_LEN).ret, 0);
	sasl_mech_destroy(&mech);
	free(big);
	/* a second start without data is an error */
	mech = sasl_mech_create("PLAIN");
	assert_int_equal(sasl_feed(mech, NULL, 0).ret, 0);
	assert_int_equal(sasl_feed(mech, NULL, 0).ret, -1);
	sasl_mech_destroy(&mech);
}

/* Every split of a PLAIN message is not how SASL works (one response is
   one message), but every prefix must be rejected or be a valid message
   on its own: nothing crashes or reads past the end. */
static void test_sasl_plain_truncated(void **state)
{
	static const char msg[] = "bob\0bob\0secret";
	for (size_t len = 0; len < sizeof(msg) - 1; len++) {
		char *copy = i_memdup(msg, len == 0 ? 1 : len);
		struct sasl_mech *mech = sasl_mech_create("PLAIN");
		struct sasl_out o = sasl_feed(mech, copy, len);
		if (len < 8)
			assert_int_equal(o.ret, -1);
		else {
			assert_int_equal(o.ret, 0);
			assert_int_equal(strlen(o.pass), len - 8);
		}
		sasl_mech_destroy(&mech);
		free(copy);
	}
}

static void test_sasl_login(void **state)
{
	struct sasl_mech *mech = sasl_mech_create("LOGIN");
	struct sasl_out o = sasl_feed(mech, NULL, 0);
	assert_int_equal(o.ret, 0);
	assert_string_equal(o.challenge, "Username:");
	o = sasl_feed(mech, "bob", 3);
	assert_int_equal(o.ret, 0);
	assert_false(o.done);
	assert_string_equal(o.challenge, "Password:");
	o = sasl_feed(mech, "pw x", 4);
	assert_int_equal(o.ret, 0);
	assert_true(o.done);
	assert_string_equal(o.user, "bob");
	assert_string_equal(o.pass, "pw x");
	assert_int_equal(sasl_feed(mech, "", 0).ret, -1);
	sasl_mech_destroy(&mech);

	/* SASL-IR carries the username */
	mech = sasl_mech_create("login");
	o = sasl_feed(mech, "alice", 5);
	assert_int_equal(o.ret, 0);
	assert_string_equal(o.challenge, "Password:");
	o = sasl_feed(mech, "", 0);
	assert_int_equal(o.ret, 0);
	assert_true(o.done);
	assert_string_equal(o.pass, "");
	sasl_mech_destroy(&mech);

	/* bad: empty user, NUL in user, missing response, oversized */
	mech = sasl_mech_create("LOGIN");
	sasl_feed(mech, NULL, 0);
	assert_int_equal(sasl_feed(mech, "", 0).ret, -1);
	sasl_mech_destroy(&mech);
	mech = sasl_mech_create("LOGIN");
	assert_int_equal(sasl_feed(mech, "a\0b", 3).ret, -1);
	sasl_mech_destroy(&mech);
	mech = sasl_mech_create("LOGIN");
	sasl_feed(mech, "bob", 3);
	assert_int_equal(sasl_feed(mech, NULL, 0).ret, -1);
	sasl_mech_destroy(&mech);
	char big[SASL_MAX_PASSWORD_LEN + 1];
	memset(big, 'x', sizeof(big));
	mech = sasl_mech_create("LOGIN");
	assert_int_equal(sasl_feed(mech, big, SASL_MAX_USER_LEN + 1).ret, -1);
	sasl_mech_destroy(&mech);
	mech = sasl_mech_create("LOGIN");
	sasl_feed(mech, "bob", 3);
	assert_int_equal(sasl_feed(mech, big, sizeof(big)).ret, -1);
	sasl_mech_destroy(&mech);
}

static void test_sasl_garbage(void **state)
{
	unsigned char buf[64];
	srand(1234);
	for (unsigned int i = 0; i < 2000; i++) {
		size_t len = (size_t)rand() % sizeof(buf);
		for (size_t j = 0; j < len; j++)
			buf[j] = (unsigned char)(rand() % 4 == 0 ? 0 : rand());
		struct sasl_mech *mech = sasl_mech_create(i % 2 == 0 ? "PLAIN" : "LOGIN");
		for (unsigned int step = 0; step < 3; step++) {
			struct sasl_out o = sasl_feed(mech, buf, len);
			if (o.ret < 0 || o.done) {
				if (o.done)
					assert_non_null(o.user);
				break;
			}
		}
		sasl_mech_destroy(&mech);
	}
}

/* ---- auth protocol ---- */

static void test_protocol_escape(void **state)
{
	static const char *const values[] = {
		"plain", "", "tab\there", "nl\nx", "cr\rx", "back\\slash",
		"\\t literally", "\t\n\r\\", "p\xc3\xa4ss",
	};
	string_t *line = str_new(256);
	str_append(line, "PASS\t1");
	for (size_t i = 0; i < N_ELEMENTS(values); i++) {
		str_append(line, "\tk=");
		auth_protocol_append_escaped(line, values[i]);
	}
	assert_null(strchr(str_c(line), '\n'));
	char **args;
	const char *error;
	assert_int_equal(auth_protocol_parse_line(str_c(line), str_len(line),
						  &args, &error), 0);
	assert_int_equal(str_array_length(args), 2 + N_ELEMENTS(values));
	assert_string_equal(args[0], "PASS");
	for (size_t i = 0; i < N_ELEMENTS(values); i++)
		assert_string_equal(args[2 + i] + 2, values[i]);
	auth_protocol_args_free(&args);
	assert_null(args);
	str_free(&line);
}

static void test_protocol_parse(void **state)
{
	char **args;
	const char *error;
	const char *line = "USER\t7\tservice=lmtp\tuser=bob\tflag";
	assert_int_equal(auth_protocol_parse_line(line, strlen(line), &args,
						  &error), 0);
	assert_string_equal(auth_protocol_args_find(args, 2, "user"), "bob");
	assert_string_equal(auth_protocol_args_find(args, 2, "flag"), "");
	assert_null(auth_protocol_args_find(args, 2, "use"));
	assert_null(auth_protocol_args_find(args, 2, "password"));
	/* the command is not searched from index 2 */
	assert_null(auth_protocol_args_find(args, 2, "USER"));
	uint32_t id;
	assert_int_equal(auth_protocol_parse_id(args[1], &id), 0);
	assert_int_equal(id, 7);
	auth_protocol_args_free(&args);

	/* empty line: one empty field */
	assert_int_equal(auth_protocol_parse_line("", 0, &args, &error), 0);
	assert_int_equal(str_array_length(args), 1);
	auth_protocol_args_free(&args);

	static const char *const bad_ids[] = {
		"0", "", "-1", "01", "4294967296", "1x", " 1", NULL,
	};
	for (size_t i = 0; i < N_ELEMENTS(bad_ids); i++)
		assert_int_equal(auth_protocol_parse_id(bad_ids[i], &id), -1);
	assert_int_equal(auth_protocol_parse_id("4294967295", &id), 0);
}

static void test_protocol_bad(void **state)
{
	static const struct { const char *line; size_t len; } bad[] = {
		{ "PASS\t1\tx=\\", 10 },        /* escape at end */
		{ "PASS\t1\tx=\\q", 11 },       /* unknown escape */
		{ "PASS\t1\tx=\\0", 11 },
		{ "PASS\t1\tx\0y", 10 },        /* NUL */
		{ "PASS\t1\tx\ny", 10 },        /* LF inside */
	};
	char **args = NULL;
	const char *error;
	for (size_t i = 0; i < N_ELEMENTS(bad); i++) {
		error = NULL;
		assert_int_equal(auth_protocol_parse_line(bad[i].line, bad[i].len,
							  &args, &error), -1);
		assert_null(args);
		assert_non_null(error);
	}
	/* too many fields */
	string_t *line = str_new(512);
	str_append(line, "PASS");
	for (unsigned int i = 0; i < AUTH_PROTOCOL_MAX_ARGS; i++)
		str_append(line, "\tx");
	assert_int_equal(auth_protocol_parse_line(str_c(line), str_len(line),
						  &args, &error), -1);
	str_truncate(line, str_len(line) - 2);
	assert_int_equal(auth_protocol_parse_line(str_c(line), str_len(line),
						  &args, &error), 0);
	assert_int_equal(str_array_length(args), AUTH_PROTOCOL_MAX_ARGS);
	auth_protocol_args_free(&args);
	/* oversized line */
	str_truncate(line, 0);
	while (str_len(line) < AUTH_PROTOCOL_MAX_LINE)
		str_append(line, "aaaaaaaa");
	assert_int_equal(auth_protocol_parse_line(str_c(line), str_len(line),
						  &args, &error), -1);
	assert_int_equal(auth_protocol_parse_line(str_c(line),
		AUTH_PROTOCOL_MAX_LINE - 1, &args, &error), 0);
	auth_protocol_args_free(&args);
	str_free(&line);

	/* garbage never crashes and parsed fields never hold raw LF */
	char buf[128];
	srand(99);
	for (unsigned int i = 0; i < 5000; i++) {
		size_t len = (size_t)rand() % sizeof(buf);
		static const char alphabet[] = "\t\\tnr=aZ\n\r\0\x80";
		for (size_t j = 0; j < len; j++)
			buf[j] = alphabet[(size_t)rand() % (sizeof(alphabet) - 1)];
		if (auth_protocol_parse_line(buf, len, &args, &error) == 0) {
			/* escaping the fields again gives a line that parses
			   back to the same fields */
			string_t *again = str_new(256);
			for (unsigned int j = 0; args[j] != NULL; j++) {
				if (j > 0)
					str_append_c(again, '\t');
				auth_protocol_append_escaped(again, args[j]);
			}
			char **args2;
			assert_int_equal(auth_protocol_parse_line(str_c(again),
				str_len(again), &args2, &error), 0);
			assert_int_equal(str_array_length(args2),
					 str_array_length(args));
			for (unsigned int j = 0; args[j] != NULL; j++)
				assert_string_equal(args[j], args2[j]);
			auth_protocol_args_free(&args2);
			auth_protocol_args_free(&args);
			str_free(&again);
		}
	}
}

/* ---- %variables ---- */

static void expand_check(const char *fmt, const char *user, const char *expect)
{
	struct auth_var_values vals = {
		.user = user, .service = "imap", .rip = "192.0.2.1",
		.lip = "192.0.2.2", .session = "sess", .home = "/home/x",
	};
	string_t *out = str_new(64);
	const char *error = NULL;
	int ret = auth_var_expand(fmt, &vals, out, &error);
	if (expect == NULL) {
		if (ret != -1)
			fail_msg("%s: expected error, got %s", fmt, str_c(out));
	} else {
		if (ret != 0)
			fail_msg("%s: %s", fmt, error);
		assert_string_equal(str_c(out), expect);
	}
	str_free(&out);
}

static void test_var_expand(void **state)
{
	expand_check("%u", "Bob@Example.COM", "Bob@Example.COM");
	expand_check("%Lu", "Bob@Example.COM", "bob@example.com");
	expand_check("%Uu", "Bob@x", "BOB@X");
	expand_check("%n", "Bob@Example.COM", "Bob");
	expand_check("%Ln", "Bob@Example.COM", "bob");
	expand_check("%d", "Bob@Example.COM", "Example.COM");
	expand_check("%Ld", "Bob@Example.COM", "example.com");
	expand_check("%n", "bob", "bob");
	expand_check("%d", "bob", "");
	expand_check("/etc/%d/passwd", "a@b.c", "/etc/b.c/passwd");
	expand_check("%s %r %l %h %%", "u", "imap 192.0.2.1 192.0.2.2 /home/x %");
	expand_check("%{user}", "A@B", "A@B");
	expand_check("%{username}-%{domain}", "a@b", "a-b");
	expand_check("%{user | lower}", "A@B", "a@b");
	expand_check("%{user|username|lower}", "Ab@B", "ab");
	expand_check("%{user | domain | upper}", "a@b.c", "B.C");
	expand_check("%{service}:%{protocol}:%{session}", "u", "imap:imap:sess");
	expand_check("%{remote_ip}/%{local_ip}", "u", "192.0.2.1/192.0.2.2");
	expand_check("no vars", "u", "no vars");
	expand_check("", "u", "");
	/* errors */
	expand_check("%", "u", NULL);
	expand_check("%L", "u", NULL);
	expand_check("%q", "u", NULL);
	expand_check("%{user", "u", NULL);
	expand_check("%{nosuch}", "u", NULL);
	expand_check("%{user | nosuch}", "u", NULL);
	expand_check("%{user lower}", "u", NULL);
	/* oversized result */
	char *big = i_malloc(AUTH_VAR_EXPAND_MAX_LEN + 2);
	memset(big, 'a', AUTH_VAR_EXPAND_MAX_LEN + 1);
	big[AUTH_VAR_EXPAND_MAX_LEN + 1] = '\0';
	expand_check("%u%u", big, NULL);
	free(big);
}

/* ---- passwd-file ---- */

static void test_passwd_file_parse(void **state)
{
	static const char data[] =
		"# comment\n"
		"\n"
		"bob:{PLAIN}pw:1000:1000:Bob B:/home/bob:/bin/sh:userdb_mail=maildir:~/Maildir userdb_quota_rule=*:storage=1G nologin\n"
		"alice:{SHA512-CRYPT}$6$x$y::::::\r\n"
		"carol:pw\n"
		"dave\n"
		":nouser:1:1\n"
		"erin:pw:notanumber:1\n"
		"frank:pw:1:notagroup-xyzzy\n"
		"bob:second:1:1\n"
		"gina:pw:2:3::/home/gina::  nopassword  \n"
		"nul:p\0w\n"
		"last:pw:5:5";
	struct passwd_file *file = passwd_file_parse("test", data, sizeof(data) - 1);
	const struct passwd_user *pu;

	assert_int_equal(passwd_file_count(file), 6);
	pu = passwd_file_find(file, "bob");
	assert_non_null(pu);
	assert_string_equal(pu->password, "{PLAIN}pw");
	assert_true(pu->uid_set && pu->uid == 1000);
	assert_true(pu->gid_set && pu->gid == 1000);
	assert_string_equal(pu->gecos, "Bob B");
	assert_string_equal(pu->home, "/home/bob");
	assert_string_equal(pu->shell, "/bin/sh");
	assert_string_equal(passwd_user_extra_field(pu, "userdb_mail"),
			    "maildir:~/Maildir");
	assert_string_equal(passwd_user_extra_field(pu, "userdb_quota_rule"),
			    "*:storage=1G");
	assert_string_equal(passwd_user_extra_field(pu, "nologin"), "");
	assert_null(passwd_user_extra_field(pu, "nopassword"));
	assert_null(passwd_user_extra_field(pu, "userdb"));

	pu = passwd_file_find(file, "alice");
	assert_string_equal(pu->password, "{SHA512-CRYPT}$6$x$y");
	assert_false(pu->uid_set);
	assert_null(pu->home);
	pu = passwd_file_find(file, "carol");
	assert_string_equal(pu->password, "pw");
	assert_false(pu->gid_set);
	/* only "user" with no fields at all: a user without a password */
	pu = passwd_file_find(file, "dave");
	assert_non_null(pu);
	assert_null(pu->password);
	pu = passwd_file_find(file, "gina");
	assert_string_equal(passwd_user_extra_field(pu, "nopassword"), "");
	assert_non_null(passwd_file_find(file, "last"));
	assert_null(passwd_file_find(file, "erin"));
	assert_null(passwd_file_find(file, "frank"));
	assert_null(passwd_file_find(file, "nul"));
	assert_null(passwd_file_find(file, ""));
	assert_null(passwd_file_find(file, "Bob"));
	passwd_file_free(&file);
	assert_null(file);
}

static void test_passwd_file_limits(void **state)
{
	/* an over-long line is skipped, the next one still parses */
	string_t *data = str_new(PASSWD_FILE_MAX_LINE * 2);
	str_append(data, "long:");
	while (str_len(data) <= PASSWD_FILE_MAX_LINE)
		str_append(data, "xxxxxxxxxxxxxxxx");
	str_append(data, "\nok:pw\n");
	/* too many extra fields */
	str_append(data, "many:pw:1:1::::");
	for (unsigned int i = 0; i <= PASSWD_FILE_MAX_EXTRA_FIELDS; i++)
		str_append(data, " k=v");
	str_append(data, "\nbadextra:pw:1:1:::: =v\n");
	struct passwd_file *file = passwd_file_parse("t", str_c(data), str_len(data));
	assert_int_equal(passwd_file_count(file), 1);
	assert_non_null(passwd_file_find(file, "ok"));
	passwd_file_free(&file);

	/* byte-at-a-time: every prefix parses without crashing and never
	   yields more users than the whole file */
	static const char whole[] = "a:pw:1:2::/h::userdb_mail=x\nb:p\nc\n";
	for (size_t len = 0; len <= sizeof(whole) - 1; len++) {
		file = passwd_file_parse("t", whole, len);
		assert_true(passwd_file_count(file) <= 3);
		passwd_file_free(&file);
	}
	/* garbage */
	char buf[256];
	srand(7);
	for (unsigned int i = 0; i < 200; i++) {
		static const char alphabet[] = "ab:: =\n\r#\0x1";
		size_t len = (size_t)rand() % sizeof(buf);
		for (size_t j = 0; j < len; j++)
			buf[j] = alphabet[(size_t)rand() % (sizeof(alphabet) - 1)];
		file = passwd_file_parse("garbage", buf, len);
		passwd_file_free(&file);
	}
	str_free(&data);
}

static char tmpdir[64];

static void write_file(const char *path, const char *data)
{
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	fputs(data, f);
	fclose(f);
}

static void test_passwd_file_db(void **state)
{
	char *error = NULL;
	const char *err;
	const struct passwd_user *pu;
	struct auth_var_values vals = { 0 };

	strcpy(tmpdir, "/tmp/loft-test-auth-XXXXXX");
	assert_non_null(mkdtemp(tmpdir));
	char *path = i_strdup_printf("%s/users", tmpdir);
	write_file(path, "bob:{PLAIN}one::::::\n");

	char *args = i_strdup_printf("scheme=SHA512 username_format=%%n %s", path);
	struct passwd_file_db *db = passwd_file_db_create(args, NULL, &error);
	assert_non_null(db);
	assert_string_equal(passwd_file_db_default_scheme(db), "SHA512");
	vals.user = "bob@example.com";
	assert_int_equal(passwd_file_db_lookup(db, &vals, &pu, &err), 1);
	assert_string_equal(pu->password, "{PLAIN}one");
	vals.user = "nobody";
	assert_int_equal(passwd_file_db_lookup(db, &vals, &pu, &err), 0);

	/* changed file is re-read (size differs even within the same second) */
	write_file(path, "bob:{PLAIN}changed::::::\nnew:x\n");
	vals.user = "bob";
	assert_int_equal(passwd_file_db_lookup(db, &vals, &pu, &err), 1);
	assert_string_equal(pu->password, "{PLAIN}changed");
	vals.user = "new";
	assert_int_equal(passwd_file_db_lookup(db, &vals, &pu, &err), 1);
	/* a missing fixed file is an internal error, not "unknown user" */
	unlink(path);
	assert_int_equal(passwd_file_db_lookup(db, &vals, &pu, &err), -1);
	passwd_file_db_destroy(&db);
	free(args);

	/* per-domain files; a missing one means unknown user */
	char *dir = i_strdup_printf("%s/example.com", tmpdir);
	assert_int_equal(mkdir(dir, 0700), 0);
	char *dpath = i_strdup_printf("%s/passwd", dir);
	write_file(dpath, "bob:{PLAIN}d\n");
	args = i_strdup_printf("username_format=%%Ln %s/%%Ld/passwd", tmpdir);
	db = passwd_file_db_create(args, "PLAIN", &error);
	assert_non_null(db);
	assert_string_equal(passwd_file_db_default_scheme(db), "PLAIN");
	vals.user = "BOB@Example.com";
	assert_int_equal(passwd_file_db_lookup(db, &vals, &pu, &err), 1);
	vals.user = "bob@other.org";
	assert_int_equal(passwd_file_db_lookup(db, &vals, &pu, &err), 0);
	vals.user = "bob@../example.com";
	assert_int_equal(passwd_file_db_lookup(db, &vals, &pu, &err), 0);
	passwd_file_db_destroy(&db);
	free(args);
	/* 2.4 syntax with spaces inside %{...} */
	args = i_strdup_printf("username_format=%%{user | username | lower} "
			       "%s/%%{user | domain | lower}/passwd", tmpdir);
	db = passwd_file_db_create(args, NULL, &error);
	if (db == NULL)
		fail_msg("%s", error);
	vals.user = "BOB@Example.COM";
	assert_int_equal(passwd_file_db_lookup(db, &vals, &pu, &err), 1);
	assert_string_equal(pu->password, "{PLAIN}d");
	passwd_file_db_destroy(&db);
	free(args);
	unlink(dpath);
	rmdir(dir);
	free(dpath);
	free(dir);

	/* bad args */
	static const char *const bad_args[] = {
		"", "scheme=NOSUCH /x", "/x /y", "foo=bar /x",
		"username_format=%{nosuch} /x", "/etc/%q",
	};
	for (size_t i = 0; i < N_ELEMENTS(bad_args); i++) {
		db = passwd_file_db_create(bad_args[i], NULL, &error);
		if (db != NULL)
			fail_msg("args '%s' accepted", bad_args[i]);
		assert_non_null(error);
		free(error);
		error = NULL;
	}
	db = passwd_file_db_create("/x", NULL, &error);
	assert_string_equal(passwd_file_db_default_scheme(db), "CRYPT");
	assert_string_equal(passwd_file_db_path(db), "/x");
	passwd_file_db_destroy(&db);
	rmdir(tmpdir);
	free(path);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_sasl_plain),
		cmocka_unit_test(test_sasl_plain_bad),
		cmocka_unit_test(test_sasl_plain_truncated),
		cmocka_unit_test(test_sasl_login),
		cmocka_unit_test(test_sasl_garbage),
		cmocka_unit_test(test_protocol_escape),
		cmocka_unit_test(test_protocol_parse),
		cmocka_unit_test(test_protocol_bad),
		cmocka_unit_test(test_var_expand),
		cmocka_unit_test(test_passwd_file_parse),
		cmocka_unit_test(test_passwd_file_limits),
		cmocka_unit_test(test_passwd_file_db),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
