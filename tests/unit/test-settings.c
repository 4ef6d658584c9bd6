/* Unit tests for src/lib-settings: good and bad configs side by side,
   includes, blocks, Dovecot 2.3 vs 2.4 names, printing, snapshot
   round-trip, and garbage/truncated/oversized input. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <stdio.h>
#include <unistd.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <cmocka.h>
#include "settings.h"
#include "settings-private.h"

static struct loft_settings *parse_ok(const char *text)
{
	struct loft_settings *set = NULL;
	char *error = NULL;
	if (settings_read_string("test.conf", text, strlen(text), &set,
				 &error) < 0)
		fail_msg("unexpected error: %s", error);
	assert_non_null(set);
	return set;
}

static char *parse_err(const char *text)
{
	struct loft_settings *set = NULL;
	char *error = NULL;
	if (settings_read_string("test.conf", text, strlen(text), &set,
				 &error) == 0)
		fail_msg("config unexpectedly accepted: %s", text);
	assert_null(set);
	assert_non_null(error);
	return error;
}

/* A global setting's value as dovecot.conf text. */
static char *get(const struct loft_settings *set, const char *name)
{
	const struct setting_def *def =
		setting_table_find(&settings_global_table, name);
	assert_non_null(def);
	string_t *str = str_new(64);
	setting_format(def, set, str);
	return str_free_without_data(&str);
}

static void assert_setting(const struct loft_settings *set, const char *name,
			   const char *value)
{
	char *v = get(set, name);
	if (strcmp(v, value) != 0)
		fail_msg("%s = '%s', expected '%s'", name, v, value);
	free(v);
}

static char *print_to_string(const struct loft_settings *set, bool nondef)
{
	char *buf = NULL;
	size_t size = 0;
	FILE *f = open_memstream(&buf, &size);
	assert_non_null(f);
	settings_print(set, nondef, f);
	fclose(f);
	return buf;
}

/* ---- good configs: text -> setting = value ---- */

static const struct {
	const char *text, *name, *value;
} good[] = {
	{ "", "base_dir", "/run/loft" },
	{ "", "ssl", "yes" },
	{ "", "disable_plaintext_auth", "yes" },
	{ "", "auth_mechanisms", "plain" },
	{ "", "auth_failure_delay", "2 secs" },
	{ "", "login_greeting", "loft ready." },
	{ "", "first_valid_uid", "500" },
	{ "", "last_valid_uid", "0" },
	{ "", "imap_max_line_length", "64k" },
	{ "", "mail_fsync", "optimized" },
	{ "", "pop3_uidl_format", "%08Xu%08Xv" },
	{ "", "recipient_delimiter", "+" },
	{ "", "lmtp_hdr_delivery_address", "final" },
	{ "", "default_login_user", "dovenull" },
	{ "", "default_internal_user", "dovecot" },
	{ "", "mail_max_userip_connections", "10" },
	{ "", "ssl_min_protocol", "TLSv1.2" },
	{ "", "log_path", "syslog" },
	{ "", "protocols", "imap pop3 lmtp" },
	{ "ssl = required\n", "ssl", "required" },
	{ "ssl=no\n", "ssl", "no" },
	{ "  ssl   =   no   \n", "ssl", "no" },
	{ "ssl = no # comment\n", "ssl", "no" },
	{ "# ssl = no\n", "ssl", "yes" },
	{ "login_greeting = \"Hello # there \"\n", "login_greeting", "Hello # there " },
	{ "login_greeting = 'a \\'b\\' c'\n", "login_greeting", "a 'b' c" },
	{ "login_greeting = Mail server ready\n", "login_greeting", "Mail server ready" },
	{ "login_greeting = \\\n  continued line\n", "login_greeting", "continued line" },
	{ "protocols = imap\nprotocols = $protocols pop3\n", "protocols", "imap pop3" },
	{ "protocols = $protocols sieve\n", "protocols", "imap pop3 lmtp sieve" },
	{ "listen = 127.0.0.1, ::1\n", "listen", "127.0.0.1, ::1" },
	{ "listen = 127.0.0.1 ::1,,127.0.0.1\n", "listen", "127.0.0.1, ::1" },
	{ "", "listen", "*, ::" },
	{ "protocols = $protocols imap\n", "protocols", "imap pop3 lmtp" },
	{ "login_greeting = $6$salt$hash\n", "login_greeting", "$6$salt$hash" },
	{ "login_greeting = a$protocols\n", "login_greeting", "a$protocols" },
	{ "login_greeting = $ssl-$ssl $ssl\n", "login_greeting", "yes-$ssl yes" },
	{ "login_greeting = $ENV:LOFT_TEST_UNSET_VAR x\n", "login_greeting", " x" },
	{ "login_greeting = \"$protocols\"\n", "login_greeting", "$protocols" },
	{ "ssl_cert = </etc/ssl/c.pem\n", "ssl_cert", "/etc/ssl/c.pem" },
	{ "ssl_key = < /etc/ssl/k.pem\n", "ssl_key", "/etc/ssl/k.pem" },
	{ "ssl_server_cert_file = /c.pem\n", "ssl_cert", "/c.pem" },
	{ "ssl_server_key_file = /k.pem\n", "ssl_key", "/k.pem" },
	{ "ssl_server_ca_file = /ca.pem\n", "ssl_ca", "/ca.pem" },
	{ "auth_allow_cleartext = yes\n", "disable_plaintext_auth", "no" },
	{ "auth_allow_cleartext = no\n", "disable_plaintext_auth", "yes" },
	{ "disable_plaintext_auth = no\n", "disable_plaintext_auth", "no" },
	{ "auth_default_domain = example.com\n", "auth_default_realm", "example.com" },
	{ "ssl_server_prefer_ciphers = server\n", "ssl_prefer_server_ciphers", "yes" },
	{ "mail_driver = maildir\nmail_path = ~/Mail\n", "mail_location", "maildir:~/Mail" },
	{ "mail_driver = maildir\n", "mail_location", "maildir:~/Maildir" },
	{ "mail_driver = mbox\nmail_path = ~/mail\nmail_inbox_path = /var/mail/%u\n",
	  "mail_location", "mbox:~/mail:INBOX=/var/mail/%u" },
	{ "mail_location = maildir:~/Maildir:LAYOUT=fs\n", "mail_location",
	  "maildir:~/Maildir:LAYOUT=fs" },
	{ "imap_max_line_length = 10M\n", "imap_max_line_length", "10M" },
	{ "imap_max_line_length = 65536\n", "imap_max_line_length", "64k" },
	{ "imap_max_line_length = 1 G\n", "imap_max_line_length", "1G" },
	{ "imap_max_line_length = 100\n", "imap_max_line_length", "100" },
	{ "auth_failure_delay = 1 min\n", "auth_failure_delay", "1 min" },
	{ "auth_failure_delay = 90 secs\n", "auth_failure_delay", "90 secs" },
	{ "auth_failure_delay = 3000 ms\n", "auth_failure_delay", "3 secs" },
	{ "auth_failure_delay = 0\n", "auth_failure_delay", "0 secs" },
	{ "imap_idle_notify_interval = 2h\n", "imap_idle_notify_interval", "2 hours" },
	{ "mail_fsync = always\n", "mail_fsync", "always" },
	{ "first_valid_uid = 1000\n", "first_valid_uid", "1000" },
	{ "shutdown_clients = No\n", "shutdown_clients", "no" },
	{ "dovecot_config_version = 2.4.1\n", "dovecot_config_version", "2.4.1" },
	{ "auth_mechanisms = plain login\n", "auth_mechanisms", "plain login" },
	{ "auth_mechanisms {\n  login = yes\n}\n", "auth_mechanisms", "plain login" },
	{ "protocols {\n  pop3 = no\n}\n", "protocols", "imap lmtp" },
	{ "protocol imap {\n  imap_max_line_length = 1k\n}\n",
	  "imap_max_line_length", "1k" },
	{ "protocol pop3 {\n  imap_max_line_length = 1k\n}\n",
	  "imap_max_line_length", "64k" },
	{ "protocol lda {\n  postmaster_address = pm@example.com\n}\n",
	  "postmaster_address", "pm@example.com" },
	{ "protocol imap {\n  mail_max_userip_connections = 50\n}\n",
	  "mail_max_userip_connections", "10" },
	{ "mail_plugins = quota\nmail_plugins = $mail_plugins acl\n", "ssl", "yes" },
	{ "ssl_dh = </nonexistent/dh.pem\n", "ssl", "yes" },
	{ "local 10.1.1.1 {\n  ssl_dh = </nonexistent/dh.pem\n}\n", "ssl", "yes" },
	{ "local 127.0.0.1 {\n  ssl_cert = </x.pem\n}\n", "ssl_cert", "" },
	{ "dict {\n  quota = file:/x\n  foo {\n  }\n}\n", "ssl", "yes" },
	{ "mail_location = maildir:~/M\r\nssl = no\r\n", "mail_location", "maildir:~/M" },
	{ "\xEF\xBB\xBFssl = no\n", "ssl", "no" },
};

static void test_good_configs(void **state)
{
	for (unsigned int i = 0; i < N_ELEMENTS(good); i++) {
		struct loft_settings *set = parse_ok(good[i].text);
		char *v = get(set, good[i].name);
		if (strcmp(v, good[i].value) != 0)
			fail_msg("config %u '%s': %s = '%s', expected '%s'", i,
				 good[i].text, good[i].name, v, good[i].value);
		free(v);
		settings_free(&set);
		assert_null(set);
	}
}

/* ---- bad configs: text -> exact error ---- */

static const struct {
	const char *text, *error;
} bad[] = {
	{ "ssl = maybe\n",
	  "test.conf:1: Invalid setting ssl: Invalid value 'maybe' (allowed: no, yes, required)" },
	{ "\n\nfoo_bar = 1\n", "test.conf:3: Unknown setting: foo_bar" },
	{ "mail_locaton = maildir:~/M\n", "test.conf:1: Unknown setting: mail_locaton" },
	{ "first_valid_uid = abc\n",
	  "test.conf:1: Invalid setting first_valid_uid: Invalid number 'abc'" },
	{ "first_valid_uid = 4294967296\n",
	  "test.conf:1: Invalid setting first_valid_uid: Invalid number '4294967296'" },
	{ "first_valid_uid = -1\n",
	  "test.conf:1: Invalid setting first_valid_uid: Invalid number '-1'" },
	{ "disable_plaintext_auth = maybe\n",
	  "test.conf:1: Invalid setting disable_plaintext_auth: Invalid boolean value 'maybe' (use yes or no)" },
	{ "auth_allow_cleartext = perhaps\n",
	  "test.conf:1: Invalid setting auth_allow_cleartext: Invalid boolean value 'perhaps' (use yes or no)" },
	{ "imap_max_line_length = 10X\n",
	  "test.conf:1: Invalid setting imap_max_line_length: Invalid size unit in '10X'" },
	{ "imap_max_line_length = 99999999999T\n",
	  "test.conf:1: Invalid setting imap_max_line_length: Size '99999999999T' is too large" },
	{ "imap_max_line_length = k\n",
	  "test.conf:1: Invalid setting imap_max_line_length: Invalid size 'k'" },
	{ "auth_failure_delay = 5 fortnights\n",
	  "test.conf:1: Invalid setting auth_failure_delay: Invalid time unit in '5 fortnights'" },
	{ "auth_failure_delay = 1500ms\n",
	  "test.conf:1: Invalid setting auth_failure_delay: Time '1500ms' is not a whole number of seconds" },
	{ "mail_fsync = sometimes\n",
	  "test.conf:1: Invalid setting mail_fsync: Invalid value 'sometimes' (allowed: optimized, always, never)" },
	{ "ssl_server_prefer_ciphers = yes\n",
	  "test.conf:1: Invalid setting ssl_server_prefer_ciphers: Invalid value 'yes' (allowed: client, server)" },
	{ "ssl_cert = /etc/ssl/c.pem\n",
	  "test.conf:1: Invalid setting ssl_cert: Expected '<' and a file path, e.g. ssl_cert = </etc/ssl/file.pem" },
	{ "ssl_cert = <  \n",
	  "test.conf:1: Invalid setting ssl_cert: missing file name after '<'" },
	{ "service imap {\n", "test.conf:1: Missing '}' for block 'service imap'" },
	{ "service imap {\n  inet_listener imap {\n}\n",
	  "test.conf:1: Missing '}' for block 'service imap'" },
	{ "ssl = yes\n}\n", "test.conf:2: Unexpected '}'" },
	{ "service imap {\n} x\n", "test.conf:2: Garbage after '}'" },
	{ "service imap { port = 1 }\n", "test.conf:1: Garbage after '{'" },
	{ "service imap x {\n}\n", "test.conf:1: Expecting '{'" },
	{ "service {\n}\n", "test.conf:1: service block needs a name" },
	{ "foo {\n}\n", "test.conf:1: Unknown section: foo" },
	{ "ssl yes\n", "test.conf:1: Expecting '=' or '{' after ssl" },
	{ "= value\n", "test.conf:1: Missing setting name before '='" },
	{ "service imap {\n  bogus = 1\n}\n", "test.conf:2: Unknown setting: bogus" },
	{ "service imap {\n  process_limit = lots\n}\n",
	  "test.conf:2: Invalid setting process_limit: Invalid number 'lots'" },
	{ "service imap-login {\n  inet_listener imap {\n    port = 70000x\n  }\n}\n",
	  "test.conf:3: Invalid setting port: Invalid number '70000x'" },
	{ "service imap-login {\n  inet_listener imap {\n    port = 65536\n  }\n}\n",
	  "test.conf:3: Invalid setting port: Invalid port '65536' (max 65535)" },
	{ "service imap-login {\n  inet_listener imaps {\n    ssl = maybe\n  }\n}\n",
	  "test.conf:3: Invalid setting ssl: Invalid boolean value 'maybe' (use yes or no)" },
	{ "service lmtp {\n  unix_listener lmtp {\n    mode = 0999\n  }\n}\n",
	  "test.conf:3: Invalid setting mode: Invalid file mode '0999'" },
	{ "service imap {\n  inet_listener imap {\n    bind = x\n  }\n}\n",
	  "test.conf:3: Unknown setting: bind" },
	{ "service imap {\n  listener x {\n  }\n}\n", "test.conf:2: Unknown section: listener" },
	{ "namespace inbox {\n  type = foo\n}\n",
	  "test.conf:2: Invalid setting type: Invalid value 'foo' (allowed: private, shared, public)" },
	{ "namespace inbox {\n  mailbox Sent {\n    auto = always\n  }\n}\n",
	  "test.conf:3: Invalid setting auto: Invalid value 'always' (allowed: no, create, subscribe)" },
	{ "namespace inbox {\n  mailbox {\n  }\n}\n", "test.conf:2: mailbox block needs a name" },
	{ "passdb {\n  driver = passwd-file\n  colour = red\n}\n",
	  "test.conf:3: Unknown setting: colour" },
	{ "passdb {\n  result_success = maybe\n}\n",
	  "test.conf:2: Invalid setting result_success: Invalid value 'maybe'" },
	{ "passdb {\n  deny = perhaps\n}\n",
	  "test.conf:2: Invalid setting deny: Invalid boolean value 'perhaps' (use yes or no)" },
	{ "protocol imap {\n  ssl = maybe\n}\n",
	  "test.conf:2: Invalid setting ssl: Invalid value 'maybe' (allowed: no, yes, required)" },
	{ "protocol imap {\n  nonsense = 1\n}\n", "test.conf:2: Unknown setting: nonsense" },
	{ "protocol {\n}\n", "test.conf:1: protocol block needs a name" },
	{ "protocols {\n  imap = maybe\n}\n",
	  "test.conf:2: Invalid setting imap: Invalid boolean value 'maybe' (use yes or no)" },
	{ "!include\n", "test.conf:1: !include: missing file name" },
	{ "!include /nonexistent/loft-test.conf\n",
	  "test.conf:1: !include /nonexistent/loft-test.conf: open(/nonexistent/loft-test.conf) failed: No such file or directory" },
	{ "!include /nonexistent/*.conf\n",
	  "test.conf:1: !include /nonexistent/*.conf: No matches" },
	{ "login_greeting = </nonexistent/greeting\n",
	  "test.conf:1: Invalid setting login_greeting: read(/nonexistent/greeting) failed: No such file or directory" },
	{ "service imap {\n  user = <x\n}\n",
	  "test.conf:2: Invalid setting user: '<' file values are not supported here" },
	{ "protocols = $protocols $protocols\nprotocols = $protocols $protocols\n"
	  "protocols = $protocols $protocols\nprotocols = $protocols $protocols\n"
	  "protocols = $protocols $protocols\nprotocols = $protocols $protocols\n"
	  "protocols = $protocols $protocols\nprotocols = $protocols $protocols\n"
	  "protocols = $protocols $protocols\nprotocols = $protocols $protocols\n"
	  "protocols = $protocols $protocols\nprotocols = $protocols $protocols\n"
	  "protocols = $protocols $protocols\nprotocols = $protocols $protocols\n",
	  "test.conf:13: Value too long after $variable expansion (max 65536 bytes)" },
};

static void test_bad_configs(void **state)
{
	for (unsigned int i = 0; i < N_ELEMENTS(bad); i++) {
		char *error = parse_err(bad[i].text);
		if (strcmp(error, bad[i].error) != 0)
			fail_msg("config %u:\n%s\ngave error:\n%s\nexpected:\n%s",
				 i, bad[i].text, error, bad[i].error);
		free(error);
	}
}

static void test_warnings(void **state)
{
	struct loft_settings *set = parse_ok(
		"mail_plugins = quota\n"
		"\n"
		"ssl_dh = </usr/share/dovecot/dh.pem\n"
		"metric imap {\n  filter = event=imap_command_finished\n}\n"
		"passdb {\n  skip = authenticated\n}\n"
		"login_greeting = x#y\n");
	assert_string_equal(set->warnings[0],
		"test.conf:1: setting mail_plugins is not supported yet, ignored");
	assert_string_equal(set->warnings[1],
		"test.conf:3: setting ssl_dh is not supported yet, ignored");
	assert_string_equal(set->warnings[2],
		"test.conf:4: metric block is not supported yet, ignored");
	assert_string_equal(set->warnings[3],
		"test.conf:8: setting skip is not supported yet, ignored");
	assert_true(strstr(set->warnings[4], "test.conf:10: Ambiguous '#'") ==
		    set->warnings[4]);
	assert_null(set->warnings[5]);
	assert_string_equal(set->login_greeting, "x");
	settings_free(&set);
}

/* ---- blocks ---- */

static void test_default_services(void **state)
{
	struct loft_settings *set = parse_ok("");
	const struct service_settings *s;

	s = settings_service_find(set, "imap-login");
	assert_non_null(s);
	assert_int_equal(s->inet_listeners_count, 2);
	assert_string_equal(s->inet_listeners[0].name, "imap");
	assert_int_equal(s->inet_listeners[0].port, 143);
	assert_false(s->inet_listeners[0].ssl);
	assert_string_equal(s->inet_listeners[1].name, "imaps");
	assert_int_equal(s->inet_listeners[1].port, 993);
	assert_true(s->inet_listeners[1].ssl);
	assert_string_equal(s->user, "dovenull");
	assert_int_equal(s->process_limit, 100);
	assert_int_equal(s->client_limit, 1000);
	assert_int_equal(s->vsz_limit, 256 * 1024 * 1024);

	s = settings_service_find(set, "pop3-login");
	assert_non_null(s);
	assert_int_equal(s->inet_listeners[0].port, 110);
	assert_int_equal(s->inet_listeners[1].port, 995);
	assert_true(s->inet_listeners[1].ssl);

	s = settings_service_find(set, "lmtp");
	assert_non_null(s);
	assert_int_equal(s->unix_listeners_count, 1);
	assert_string_equal(s->unix_listeners[0].path, "lmtp");
	assert_int_equal(s->unix_listeners[0].mode, 0666);

	s = settings_service_find(set, "auth");
	assert_non_null(s);
	assert_string_equal(s->user, "dovecot");
	assert_int_equal(s->process_limit, 1);
	assert_non_null(settings_service_find(set, "imap"));
	assert_non_null(settings_service_find(set, "pop3"));
	assert_null(settings_service_find(set, "nonexistent"));

	assert_true(settings_has_protocol(set, "imap"));
	assert_true(settings_has_protocol(set, "lmtp"));
	assert_false(settings_has_protocol(set, "sieve"));
	assert_int_equal(set->namespaces_count, 1);
	assert_true(set->namespaces[0].inbox);
	assert_null(set->mail_location);
	assert_int_equal(set->passdbs_count, 0);
	settings_free(&set);
}

static void test_service_merge(void **state)
{
	struct loft_settings *set = parse_ok(
		"default_login_user = nobody\n"
		"service imap-login {\n"
		"  inet_listener imap {\n"
		"    port = 10143\n"
		"    address = 127.0.0.1\n"
		"  }\n"
		"  inet_listener imaps {\n"
		"    port = 0\n"
		"  }\n"
		"  inet_listener imap-proxy {\n"
		"    port = 10144\n"
		"    haproxy = yes\n"
		"  }\n"
		"  process_min_avail = 4\n"
		"  vsz_limit = 1G\n"
		"}\n"
		"service imap {\n"
		"  restart_request_count = 100\n"
		"}\n"
		"service lmtp {\n"
		"  unix_listener /var/spool/postfix/private/dovecot-lmtp {\n"
		"    mode = 0600\n"
		"    user = postfix\n"
		"    group = postfix\n"
		"  }\n"
		"  inet_listener lmtp {\n"
		"    port = 24\n"
		"  }\n"
		"}\n"
		"service director {\n"
		"  inet_listener {\n"
		"    port = 9090\n"
		"  }\n"
		"  inet_listener {\n"
		"  }\n"
		"  fifo_listener login/proxy-notify {\n"
		"    mode = 0666\n"
		"  }\n"
		"}\n"
		"service auth-worker {\n"
		"  user = root\n"
		"  executable = /usr/lib/dovecot/auth\n"
		"}\n");
	const struct service_settings *s = settings_service_find(set, "imap-login");
	assert_int_equal(s->inet_listeners_count, 3);
	assert_int_equal(s->inet_listeners[0].port, 10143);
	assert_string_equal(s->inet_listeners[0].address, "127.0.0.1");
	assert_int_equal(s->inet_listeners[1].port, 0);
	assert_true(s->inet_listeners[1].ssl); /* merged, not replaced */
	assert_string_equal(s->inet_listeners[2].name, "imap-proxy");
	assert_true(s->inet_listeners[2].haproxy);
	assert_int_equal(s->process_min_avail, 4);
	assert_int_equal(s->vsz_limit, 1024ULL * 1024 * 1024);
	assert_string_equal(s->user, "nobody");
	assert_string_equal(s->chroot, "login");

	s = settings_service_find(set, "imap");
	assert_int_equal(s->service_count, 100);
	s = settings_service_find(set, "lmtp");
	assert_int_equal(s->unix_listeners_count, 2);
	assert_string_equal(s->unix_listeners[1].path,
			    "/var/spool/postfix/private/dovecot-lmtp");
	assert_int_equal(s->unix_listeners[1].mode, 0600);
	assert_string_equal(s->unix_listeners[1].user, "postfix");
	assert_string_equal(s->unix_listeners[1].group, "postfix");
	assert_int_equal(s->inet_listeners[0].port, 24);
	s = settings_service_find(set, "director");
	assert_int_equal(s->inet_listeners_count, 2);
	assert_string_equal(s->inet_listeners[0].name, "");
	assert_int_equal(s->inet_listeners[0].port, 9090);
	assert_int_equal(s->inet_listeners[1].port, 0);
	assert_int_equal(s->unix_listeners_count, 0);
	s = settings_service_find(set, "auth-worker");
	assert_non_null(s);
	assert_string_equal(s->user, "root");
	assert_int_equal(s->process_limit, 100);
	settings_free(&set);
}

static void test_auth_dbs_23(void **state)
{
	struct loft_settings *set = parse_ok(
		"passdb {\n"
		"  driver = passwd-file\n"
		"  args = scheme=SHA512-CRYPT username_format=%u /etc/dovecot/users\n"
		"}\n"
		"passdb {\n"
		"  driver = static\n"
		"  args = nopassword=y\n"
		"  deny = yes\n"
		"  pass = yes\n"
		"}\n"
		"userdb {\n"
		"  driver = passwd-file\n"
		"  args = username_format=%u /etc/dovecot/users\n"
		"  default_fields = uid=vmail gid=vmail home=/var/vmail/%u\n"
		"  override_fields = mail=maildir:~/Maildir\n"
		"}\n");
	assert_int_equal(set->passdbs_count, 2);
	assert_null(set->passdbs[0].name);
	assert_string_equal(set->passdbs[0].driver, "passwd-file");
	assert_string_equal(set->passdbs[0].args,
		"scheme=SHA512-CRYPT username_format=%u /etc/dovecot/users");
	assert_false(set->passdbs[0].deny);
	assert_true(set->passdbs[1].deny);
	assert_true(set->passdbs[1].pass);
	assert_int_equal(set->userdbs_count, 1);
	assert_string_equal(set->userdbs[0].default_fields,
			    "uid=vmail gid=vmail home=/var/vmail/%u");
	assert_string_equal(set->userdbs[0].override_fields,
			    "mail=maildir:~/Maildir");
	settings_free(&set);
}

static void test_config_24(void **state)
{
	struct loft_settings *set = parse_ok(
		"dovecot_config_version = 2.4.0\n"
		"dovecot_storage_version = 2.4.0\n"
		"mail_driver = maildir\n"
		"mail_path = ~/Maildir\n"
		"mail_index_path = /var/index/%{user}\n"
		"ssl_server_cert_file = /etc/ssl/certs/mail.pem\n"
		"ssl_server_key_file = /etc/ssl/private/mail.key\n"
		"auth_allow_cleartext = no\n"
		"passdb_default_password_scheme = ARGON2ID\n"
		"passdb passwd-file {\n"
		"  passwd_file_path = /etc/dovecot/users\n"
		"}\n"
		"passdb other {\n"
		"  driver = passwd-file\n"
		"  passdb_default_password_scheme = SHA512-CRYPT\n"
		"  result_success = continue-ok\n"
		"}\n"
		"passdb pam {\n"
		"  pam_session = yes\n"
		"  auth_username_format = %{user | lower}\n"
		"}\n"
		"userdb static {\n"
		"  fields {\n"
		"    uid = vmail\n"
		"    home = /var/vmail/%{user}\n"
		"  }\n"
		"}\n"
		"service imap {\n"
		"  restart_request_count = 1\n"
		"}\n");
	assert_string_equal(set->dovecot_config_version, "2.4.0");
	assert_string_equal(set->dovecot_storage_version, "2.4.0");
	assert_string_equal(set->mail_location,
			    "maildir:~/Maildir:INDEX=/var/index/%{user}");
	assert_string_equal(set->ssl_cert_path, "/etc/ssl/certs/mail.pem");
	assert_string_equal(set->ssl_key_path, "/etc/ssl/private/mail.key");
	assert_true(set->disable_plaintext_auth);
	assert_int_equal(set->passdbs_count, 3);
	assert_string_equal(set->passdbs[2].driver, "pam");
	assert_string_equal(set->warnings[0], "test.conf:19: setting "
		"pam_session inside a passdb block is not supported yet, ignored");
	assert_string_equal(set->warnings[1], "test.conf:20: setting "
		"auth_username_format inside a passdb block is not supported "
		"yet, ignored");
	assert_string_equal(set->passdbs[0].name, "passwd-file");
	assert_string_equal(set->passdbs[0].driver, "passwd-file");
	assert_string_equal(set->passdbs[0].args, "/etc/dovecot/users");
	assert_string_equal(set->passdbs[0].default_password_scheme, "ARGON2ID");
	assert_string_equal(set->passdbs[1].default_password_scheme,
			    "SHA512-CRYPT");
	assert_true(set->passdbs[1].pass);
	assert_string_equal(set->userdbs[0].driver, "static");
	assert_string_equal(set->userdbs[0].default_fields,
			    "uid=vmail home=/var/vmail/%{user}");
	assert_int_equal(settings_service_find(set, "imap")->service_count, 1);
	settings_free(&set);
}

static void test_namespaces(void **state)
{
	struct loft_settings *set = parse_ok(
		"namespace inbox {\n"
		"  inbox = yes\n"
		"  separator = /\n"
		"  mailbox Drafts {\n"
		"    special_use = \\Drafts\n"
		"  }\n"
		"  mailbox \"Sent Messages\" {\n"
		"    special_use = \\Sent\n"
		"    auto = subscribe\n"
		"  }\n"
		"}\n"
		"namespace inbox {\n"
		"  mailbox Drafts {\n"
		"    auto = create\n"
		"  }\n"
		"}\n"
		"namespace shared {\n"
		"  type = shared\n"
		"  prefix = shared/%%u/\n"
		"  location = maildir:%%h/Maildir:INDEX=~/shared/%%u\n"
		"  list = children\n"
		"  subscriptions = no\n"
		"}\n");
	assert_int_equal(set->namespaces_count, 2);
	const struct namespace_settings *ns = &set->namespaces[0];
	assert_string_equal(ns->name, "inbox");
	assert_true(ns->inbox);
	assert_string_equal(ns->separator, "/");
	assert_null(ns->prefix);
	assert_int_equal(ns->mailboxes_count, 2);
	assert_string_equal(ns->mailboxes[0].name, "Drafts");
	assert_string_equal(ns->mailboxes[0].special_use, "\\Drafts");
	assert_string_equal(ns->mailboxes[0].autocreate, "create");
	assert_string_equal(ns->mailboxes[1].name, "Sent Messages");
	assert_string_equal(ns->mailboxes[1].autocreate, "subscribe");
	ns = &set->namespaces[1];
	assert_string_equal(ns->type, "shared");
	assert_string_equal(ns->prefix, "shared/%%u/");
	assert_true(ns->list);
	assert_false(ns->subscriptions);
	settings_free(&set);
}

static void test_filters(void **state)
{
	struct loft_settings *set = parse_ok(
		"mail_max_userip_connections = 5\n"
		"protocol imap {\n"
		"  mail_max_userip_connections = 20\n"
		"  imap_capability = +XFOO\n"
		"}\n"
		"protocol !imap {\n"
		"  auth_verbose = yes\n"
		"}\n"
		"local 10.0.0.1 {\n"
		"  protocol imap {\n"
		"    ssl_cert = </etc/ssl/other.pem\n"
		"  }\n"
		"}\n"
		"local_name mail.example.com {\n"
		"  ssl_cert = </etc/ssl/example.pem\n"
		"}\n");
	char *error = NULL;
	assert_int_equal(set->filters_count, 5);
	assert_string_equal(set->filters[2].local, "10.0.0.1");
	assert_null(set->filters[2].protocol);
	assert_string_equal(set->filters[3].local, "10.0.0.1");
	assert_string_equal(set->filters[3].protocol, "imap");
	assert_string_equal(set->filters[3].settings[0],
			    "ssl_cert=</etc/ssl/other.pem");
	assert_string_equal(set->filters[4].local_name, "mail.example.com");
	/* protocol-only setting applied directly, generic one kept */
	assert_string_equal(set->imap_capability, "+XFOO");
	assert_int_equal(set->mail_max_userip_connections, 5);
	assert_false(set->auth_verbose);
	assert_null(set->ssl_cert_path);

	assert_int_equal(settings_apply_protocol(set, "imap", &error), 0);
	assert_int_equal(set->mail_max_userip_connections, 20);
	assert_false(set->auth_verbose);
	assert_null(set->ssl_cert_path);
	assert_int_equal(settings_apply_protocol(set, "pop3", &error), 0);
	assert_true(set->auth_verbose);
	settings_free(&set);
}

static void test_plugin_and_comments(void **state)
{
	struct loft_settings *set = parse_ok(
		"# a comment\n"
		"   # indented comment\n"
		"\n"
		"plugin {\n"
		"  sieve = file:~/sieve;active=~/.dovecot.sieve\n"
		"  quota = maildir:User quota\n"
		"}\n"
		"login_greeting = \"quoted # not a comment\" \n");
	assert_string_equal(set->plugin_settings[0],
			    "sieve=file:~/sieve;active=~/.dovecot.sieve");
	assert_string_equal(set->plugin_settings[1], "quota=maildir:User quota");
	assert_null(set->plugin_settings[2]);
	assert_string_equal(set->login_greeting, "quoted # not a comment");
	settings_free(&set);
}

/* ---- includes (real files in a temp dir) ---- */

static char tmpdir[64];

static void write_file(const char *rel, const char *text)
{
	char path[256];
	snprintf(path, sizeof(path), "%s/%s", tmpdir, rel);
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

static char *tmp_path(const char *rel)
{
	return i_strdup_printf("%s/%s", tmpdir, rel);
}

static int setup_tmpdir(void **state)
{
	strcpy(tmpdir, "/tmp/loft-test-settings.XXXXXX");
	if (mkdtemp(tmpdir) == NULL)
		return -1;
	char *d = tmp_path("conf.d");
	mkdir(d, 0700);
	free(d);
	return 0;
}

static int teardown_tmpdir(void **state)
{
	char *cmd = i_strdup_printf("rm -rf '%s'", tmpdir);
	int ret = system(cmd);
	free(cmd);
	return ret == 0 ? 0 : -1;
}

static void test_includes(void **state)
{
	struct loft_settings *set;
	char *error = NULL, *path, *expected;

	write_file("main.conf",
		   "protocols = imap\n"
		   "!include conf.d/*.conf\n"
		   "!include_try missing.conf\n"
		   "!include_try nothing/*.conf\n"
		   "!include_try local.conf\n");
	write_file("conf.d/10-auth.conf",
		   "auth_mechanisms = plain login\n"
		   "!include auth-passwdfile.conf.ext\n");
	write_file("conf.d/auth-passwdfile.conf.ext",
		   "passdb {\n  driver = passwd-file\n}\n");
	write_file("conf.d/20-imap.conf",
		   "protocols = $protocols pop3\n"
		   "service imap-login {\n"
		   "  !include listener.inc\n"
		   "}\n"
		   "login_greeting = <greeting.txt\n");
	write_file("conf.d/listener.inc",
		   "inet_listener imap {\n  port = 1143\n}\n");
	write_file("conf.d/greeting.txt", "Hello from a file\n");
	write_file("local.conf", "ssl = required\nssl_cert = <certs/c.pem\n");
	path = tmp_path("main.conf");
	if (settings_read(path, &set, &error) < 0)
		fail_msg("%s", error);
	assert_string_equal(set->config_path, path);
	assert_setting(set, "protocols", "imap pop3");
	assert_setting(set, "auth_mechanisms", "plain login");
	assert_setting(set, "ssl", "required");
	assert_string_equal(set->login_greeting, "Hello from a file");
	expected = i_strdup_printf("%s/certs/c.pem", tmpdir);
	assert_string_equal(set->ssl_cert_path, expected);
	free(expected);
	assert_int_equal(set->passdbs_count, 1);
	assert_int_equal(settings_service_find(set, "imap-login")->
			 inet_listeners[0].port, 1143);
	settings_free(&set);
	free(path);

	/* errors name the included file and its line */
	write_file("conf.d/30-bad.conf", "\n\nssl = maybe\n");
	path = tmp_path("main.conf");
	assert_int_equal(settings_read(path, &set, &error), -1);
	expected = i_strdup_printf("%s/conf.d/30-bad.conf:3: Invalid setting ssl: "
		"Invalid value 'maybe' (allowed: no, yes, required)", tmpdir);
	assert_string_equal(error, expected);
	free(expected);
	free(error);

	write_file("conf.d/30-bad.conf", "!include nonexistent.conf\n");
	assert_int_equal(settings_read(path, &set, &error), -1);
	expected = i_strdup_printf("%s/conf.d/30-bad.conf:1: !include "
		"%s/conf.d/nonexistent.conf: open(%s/conf.d/nonexistent.conf) "
		"failed: No such file or directory", tmpdir, tmpdir, tmpdir);
	assert_string_equal(error, expected);
	free(expected);
	free(error);

	/* an included file must close its own blocks */
	write_file("conf.d/30-bad.conf", "ssl = yes\nservice imap {\n");
	assert_int_equal(settings_read(path, &set, &error), -1);
	expected = i_strdup_printf("%s/conf.d/30-bad.conf:2: Missing '}' for "
				   "block 'service imap'", tmpdir);
	assert_string_equal(error, expected);
	free(expected);
	free(error);

	/* include loops stop at the depth limit */
	write_file("conf.d/30-bad.conf", "!include 30-bad.conf\n");
	assert_int_equal(settings_read(path, &set, &error), -1);
	assert_non_null(strstr(error, "30-bad.conf:1: !include nested too deeply (max 16)"));
	free(error);
	free(path);

	path = tmp_path("nonexistent.conf");
	assert_int_equal(settings_read(path, &set, &error), -1);
	expected = i_strdup_printf("open(%s) failed: No such file or directory", path);
	assert_string_equal(error, expected);
	free(expected);
	free(error);
	free(path);
}

/* ---- limits, garbage, truncation ---- */

static void test_limits(void **state)
{
	char *error;
	string_t *str = str_new(80000);

	/* line length */
	str_append(str, "login_greeting = ");
	while (str_len(str) <= 65536)
		str_append_c(str, 'x');
	str_append_c(str, '\n');
	error = parse_err(str_c(str));
	assert_string_equal(error, "test.conf:1: Line too long (max 65536 bytes)");
	free(error);

	/* exactly at the limit is fine */
	str_truncate(str, 0);
	str_append(str, "login_greeting = ");
	while (str_len(str) < 65536)
		str_append_c(str, 'y');
	struct loft_settings *set = parse_ok(str_c(str));
	assert_int_equal(strlen(set->login_greeting), 65536 - 17);
	settings_free(&set);

	/* continuation lines add up */
	str_truncate(str, 0);
	str_append(str, "login_greeting = ");
	for (int i = 0; i < 2000; i++)
		str_append(str, "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa \\\n");
	error = parse_err(str_c(str));
	assert_non_null(strstr(error, ": Line too long (max 65536 bytes)"));
	free(error);

	/* block nesting: 16 is fine, 17 is not */
	str_truncate(str, 0);
	for (int i = 0; i < 16; i++)
		str_printfa(str, "protocol p%d {\n", i);
	for (int i = 0; i < 16; i++)
		str_append(str, "}\n");
	set = parse_ok(str_c(str));
	settings_free(&set);
	str_truncate(str, 0);
	for (int i = 0; i < 17; i++)
		str_printfa(str, "protocol p%d {\n", i);
	error = parse_err(str_c(str));
	assert_string_equal(error, "test.conf:17: Blocks nested too deeply (max 16)");
	free(error);

	/* NUL byte */
	struct loft_settings *s2;
	assert_int_equal(settings_read_string("test.conf", "ssl = yes\nss\0l = no\n",
					      20, &s2, &error), -1);
	assert_string_equal(error, "test.conf:2: NUL byte in line");
	free(error);

	/* oversized file */
	size_t big = 16 * 1024 * 1024 + 1;
	char *data = i_malloc(big);
	memset(data, '\n', big);
	assert_int_equal(settings_read_string("test.conf", data, big, &s2,
					      &error), -1);
	assert_string_equal(error, "test.conf:0: File too large (max 16777216 bytes)");
	free(error);
	free(data);
	str_free(&str);
}

static const char rich_config[] =
	"protocols = imap pop3 lmtp\n"
	"listen = 127.0.0.1, ::1\n"
	"ssl = required\n"
	"ssl_cert = </etc/ssl/c.pem\n"
	"ssl_key = </etc/ssl/k.pem\n"
	"ssl_key_password = \"se#cr$et \"\n"
	"disable_plaintext_auth = no\n"
	"auth_mechanisms = plain login\n"
	"auth_failure_delay = 5 secs\n"
	"login_greeting = Hi \\there\n"
	"login_trusted_networks = 10.0.0.0/8 192.168.0.0/16\n"
	"mail_location = maildir:~/Maildir\n"
	"first_valid_uid = 1000\n"
	"mail_fsync = never\n"
	"imap_max_line_length = 128k\n"
	"mail_max_message_size = 50M\n"
	"passdb {\n  driver = passwd-file\n  args = scheme=SHA512-CRYPT /etc/u\n}\n"
	"passdb master {\n  driver = static\n  master = yes\n}\n"
	"userdb {\n  driver = passwd-file\n  args = /etc/u\n"
	"  default_fields = uid=1000 gid=1000\n}\n"
	"namespace inbox {\n  inbox = yes\n  separator = /\n"
	"  mailbox Trash {\n    special_use = \\Trash\n    auto = create\n  }\n}\n"
	"namespace {\n  prefix = Other/\n  hidden = yes\n}\n"
	"service imap-login {\n  inet_listener imap {\n    port = 10143\n"
	"    address = 127.0.0.1\n  }\n  inet_listener imaps {\n    port = 0\n  }\n}\n"
	"service lmtp {\n  unix_listener \"/tmp/lmtp sock\" {\n    mode = 0660\n"
	"    group = mail\n  }\n}\n"
	"service stats {\n  vsz_limit = unlimited\n  inet_listener {\n    port = 9900\n  }\n}\n"
	"protocol imap {\n  mail_max_userip_connections = 3\n}\n"
	"local 127.0.0.1 {\n  ssl_cert = </etc/ssl/local.pem\n}\n"
	"plugin {\n  sieve = ~/.dovecot.sieve\n}\n"
	"mail_plugins = quota\n";

/* -n output parses back to the same settings */
static void test_print_roundtrip(void **state)
{
	struct loft_settings *set = parse_ok(rich_config), *set2;
	char *out_n = print_to_string(set, true);
	char *out_a = print_to_string(set, false);
	char *error;

	assert_non_null(strstr(out_n, "\nssl = required\n"));
	assert_non_null(strstr(out_n, "\nssl_cert = </etc/ssl/c.pem\n"));
	assert_non_null(strstr(out_n, "\nssl_key_password = \"se#cr$et \"\n"));
	assert_non_null(strstr(out_n, "    port = 10143\n"));
	assert_null(strstr(out_n, "port = 993"));
	assert_null(strstr(out_n, "base_dir"));
	assert_non_null(strstr(out_a, "\nbase_dir = /run/loft\n"));
	assert_non_null(strstr(out_a, "    port = 995\n"));

	if (settings_read_string("printed.conf", out_n, strlen(out_n), &set2,
				 &error) < 0)
		fail_msg("%s\nin:\n%s", error, out_n);
	char *out_a2 = print_to_string(set2, false);
	/* skip the "# loft ...: file" header line */
	assert_string_equal(strchr(out_a, '\n'), strchr(out_a2, '\n'));
	free(out_a2);
	settings_free(&set2);
	free(out_n);
	free(out_a);
	settings_free(&set);

	/* a service without defaults is printed even when empty; paths
	   with '#' or spaces are quoted */
	set = parse_ok("service extra {\n}\nssl_cert = <\"/a # b \"\n"
		       "ssl_server_key_file = \"/k #1\"\n");
	assert_string_equal(set->ssl_cert_path, "/a # b ");
	assert_string_equal(set->ssl_key_path, "/k #1");
	out_n = print_to_string(set, true);
	assert_non_null(strstr(out_n, "\nservice extra {\n}\n"));
	assert_non_null(strstr(out_n, "\nssl_cert = <\"/a # b \"\n"));
	assert_non_null(strstr(out_n, "\nssl_key = <\"/k #1\"\n"));
	set2 = parse_ok(out_n);
	assert_string_equal(set2->ssl_cert_path, "/a # b ");
	assert_non_null(settings_service_find(set2, "extra"));
	settings_free(&set2);
	free(out_n);
	settings_free(&set);

	/* defaults print nothing but the header with -n */
	set = settings_defaults();
	out_n = print_to_string(set, true);
	assert_string_equal(strchr(out_n, '\n'), "\n");
	free(out_n);
	settings_free(&set);
}

/* ---- snapshot ---- */

static void test_snapshot_roundtrip(void **state)
{
	struct loft_settings *set = parse_ok(rich_config), *set2;
	string_t *a = str_new(1024), *b = str_new(1024);
	char *error;

	settings_snapshot_serialize(set, a);
	if (settings_snapshot_parse(str_data(a), str_len(a), &set2, &error) < 0)
		fail_msg("%s", error);
	settings_snapshot_serialize(set2, b);
	assert_int_equal(str_len(a), str_len(b));
	assert_memory_equal(str_data(a), str_data(b), str_len(a));

	/* spot checks of every kind of field */
	assert_string_equal(set2->config_path, "test.conf");
	assert_int_equal(set2->ssl, SSL_MODE_REQUIRED);
	assert_string_equal(set2->ssl_key_password, "se#cr$et ");
	assert_int_equal(set2->imap_max_line_length, 128 * 1024);
	assert_int_equal(set2->auth_failure_delay, 5);
	assert_string_equal(set2->listen[1], "::1");
	assert_null(set2->listen[2]);
	assert_int_equal(set2->passdbs_count, 2);
	assert_string_equal(set2->passdbs[1].name, "master");
	assert_true(set2->passdbs[1].master);
	assert_string_equal(set2->userdbs[0].default_fields, "uid=1000 gid=1000");
	assert_int_equal(set2->namespaces_count, 2);
	assert_null(set2->namespaces[1].name);
	assert_string_equal(set2->namespaces[0].mailboxes[0].special_use, "\\Trash");
	const struct service_settings *s = settings_service_find(set2, "lmtp");
	assert_string_equal(s->unix_listeners[1].path, "/tmp/lmtp sock");
	assert_int_equal(s->unix_listeners[1].mode, 0660);
	assert_int_equal(settings_service_find(set2, "stats")->vsz_limit, 0);
	assert_int_equal(set2->filters_count, 2);
	assert_string_equal(set2->plugin_settings[0], "sieve=~/.dovecot.sieve");
	assert_string_equal(set2->warnings[0],
		"test.conf:72: setting mail_plugins is not supported yet, ignored");
	settings_free(&set2);

	/* through a pipe and through a seekable file */
	int fds[2];
	assert_int_equal(pipe(fds), 0);
	assert_int_equal(settings_snapshot_write(set, fds[1]), 0);
	close(fds[1]);
	assert_int_equal(settings_snapshot_read(fds[0], &set2, &error), 0);
	close(fds[0]);
	assert_string_equal(set2->ssl_cert_path, "/etc/ssl/c.pem");
	settings_free(&set2);

	char path[] = "/tmp/loft-snapshot.XXXXXX";
	int fd = mkstemp(path);
	assert_true(fd >= 0);
	unlink(path);
	assert_int_equal(settings_snapshot_write(set, fd), 0);
	/* offset is at the end; the reader reads from 0 */
	assert_int_equal(settings_snapshot_read(fd, &set2, &error), 0);
	assert_int_equal(set2->first_valid_uid, 1000);
	settings_free(&set2);
	close(fd);

	/* byte at a time from another process */
	assert_int_equal(pipe(fds), 0);
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		close(fds[0]);
		for (size_t i = 0; i < str_len(a); i++) {
			if (write(fds[1], str_data(a) + i, 1) != 1)
				_exit(1);
			if (i % 64 == 0)
				usleep(100);
		}
		_exit(0);
	}
	close(fds[1]);
	assert_int_equal(settings_snapshot_read(fds[0], &set2, &error), 0);
	close(fds[0]);
	int status;
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	settings_snapshot_serialize(set2, b);
	assert_memory_equal(str_data(a), str_data(b) + str_len(a), str_len(a));
	str_truncate(b, 0);
	settings_free(&set2);

	/* truncated stream */
	assert_int_equal(pipe(fds), 0);
	assert_int_equal(write_full(fds[1], str_data(a), str_len(a) - 1), 0);
	close(fds[1]);
	assert_int_equal(settings_snapshot_read(fds[0], &set2, &error), -1);
	assert_string_equal(error, "Settings snapshot: read failed: truncated");
	free(error);
	close(fds[0]);

	str_free(&a);
	str_free(&b);
	settings_free(&set);
}

static void test_snapshot_garbage(void **state)
{
	struct loft_settings *set = parse_ok(rich_config), *set2;
	string_t *a = str_new(1024);
	char *error;
	unsigned int accepted = 0;

	settings_snapshot_serialize(set, a);
	settings_free(&set);
	size_t size = str_len(a);
	unsigned char *buf = i_malloc(size + 1);

	/* every truncation fails cleanly */
	for (size_t len = 0; len < size; len++) {
		memcpy(buf, str_data(a), len);
		assert_int_equal(settings_snapshot_parse(buf, len, &set2,
							 &error), -1);
		assert_null(set2);
		free(error);
	}
	/* every truncation with a matching length header fails too */
	for (size_t len = 12; len < size; len++) {
		memcpy(buf, str_data(a), len);
		uint32_t plen = (uint32_t)(len - 12);
		buf[8] = plen >> 24; buf[9] = plen >> 16;
		buf[10] = plen >> 8; buf[11] = plen;
		assert_int_equal(settings_snapshot_parse(buf, len, &set2,
							 &error), -1);
		free(error);
	}
	/* single byte flips: no crash, no leak; most are rejected */
	for (size_t i = 0; i < size; i++) {
		memcpy(buf, str_data(a), size);
		buf[i] ^= 0xff;
		if (settings_snapshot_parse(buf, size, &set2, &error) == 0) {
			accepted++;
			settings_free(&set2);
		} else {
			free(error);
		}
	}
	assert_true(accepted < size);
	/* trailing garbage */
	memcpy(buf, str_data(a), size);
	buf[size] = 0;
	uint32_t plen = (uint32_t)(size + 1 - 12);
	buf[8] = plen >> 24; buf[9] = plen >> 16; buf[10] = plen >> 8; buf[11] = plen;
	assert_int_equal(settings_snapshot_parse(buf, size + 1, &set2, &error), -1);
	assert_string_equal(error, "Settings snapshot: trailing garbage");
	free(error);
	/* random garbage after a valid header */
	srandom(1234);
	for (int round = 0; round < 2000; round++) {
		size_t len = 12 + (size_t)(random() % 300);
		memcpy(buf, "LOFTSET1", 8);
		for (size_t i = 12; i < len; i++)
			buf[i] = (unsigned char)(random() % 4 == 0 ? random() : random() % 3);
		plen = (uint32_t)(len - 12);
		buf[8] = plen >> 24; buf[9] = plen >> 16; buf[10] = plen >> 8; buf[11] = plen;
		if (settings_snapshot_parse(buf, len, &set2, &error) == 0)
			settings_free(&set2);
		else
			free(error);
	}
	assert_int_equal(settings_snapshot_parse("XXXXSET1\0\0\0\0", 12, &set2,
						 &error), -1);
	assert_string_equal(error, "Settings snapshot: bad magic");
	free(error);
	free(buf);
	str_free(&a);
}

/* Every prefix of a valid config either parses or fails with file:line. */
static void test_config_truncated(void **state)
{
	size_t size = strlen(rich_config);
	for (size_t len = 0; len <= size; len++) {
		struct loft_settings *set;
		char *error;
		if (settings_read_string("t.conf", rich_config, len, &set,
					 &error) == 0) {
			settings_free(&set);
		} else {
			assert_true(str_begins(error, "t.conf:"));
			free(error);
		}
	}
	/* the complete config parses */
	struct loft_settings *set = parse_ok(rich_config);
	settings_free(&set);
}

static void test_config_garbage(void **state)
{
	static const char alphabet[] = "ab =#{}\"'\\<$!\n\t\r\0\xff";
	char buf[512];
	srandom(42);
	for (int round = 0; round < 3000; round++) {
		size_t len = (size_t)(random() % sizeof(buf));
		for (size_t i = 0; i < len; i++) {
			buf[i] = random() % 3 == 0 ? (char)random() :
				alphabet[random() % (sizeof(alphabet) - 1)];
		}
		struct loft_settings *set;
		char *error;
		if (settings_read_string("g.conf", buf, len, &set, &error) == 0) {
			settings_free(&set);
		} else {
			assert_true(str_begins(error, "g.conf:"));
			free(error);
		}
	}
}

/* Generated configs: whatever parses must survive -n print + reparse
   and a snapshot round-trip unchanged. */
static void test_generated_roundtrip(void **state)
{
	static const char *const keys[] = {
		"ssl", "protocols", "listen", "port", "address", "mode", "user",
		"driver", "args", "inbox", "separator", "special_use", "auto",
		"mail_plugins", "auth_mechanisms", "login_greeting",
		"first_valid_uid", "vsz_limit", "process_limit",
		"restart_request_count", "mail_driver", "mail_path", "ssl_cert",
		"imap_max_line_length", "default_fields", "list", "haproxy",
		"imap", "result_success", "type", "path", "auth_allow_cleartext",
		"ssl_server_cert_file", "imap_capability", "postmaster_address" };
	static const char *const vals[] = {
		"yes", "no", "required", "imap pop3", "$protocols x", "0", "143",
		"0666", "10M", "\"q # v\"", "'a\\'b'", "<file", "children",
		"create", "subscribe", "continue", "\\Drafts", "plain login", "",
		"$ssl", "shared", "/tmp/x" };
	static const char *const blocks[] = {
		"service imap-login", "service x", "inet_listener imap",
		"inet_listener", "unix_listener lmtp", "passdb", "userdb static",
		"namespace inbox", "mailbox Drafts", "mailbox \"A B\"",
		"protocol imap", "protocol !lda", "local 1.2.3.4",
		"remote 10.0.0.0/8", "local_name a.b", "plugin", "dict",
		"fields", "protocols", "metric m" };
	unsigned int accepted = 0;

	srandom(7);
	for (int round = 0; round < 1500; round++) {
		string_t *text = str_new(256);
		int depth = 0, n = (int)(random() % 30);
		for (int i = 0; i < n; i++) {
			int k = (int)(random() % 10);
			if (k < 5)
				str_printfa(text, "%s = %s\n",
					    keys[random() % N_ELEMENTS(keys)],
					    vals[random() % N_ELEMENTS(vals)]);
			else if (k < 7 && depth < 5) {
				str_printfa(text, "%s {\n",
					    blocks[random() % N_ELEMENTS(blocks)]);
				depth++;
			} else if (depth > 0) {
				str_append(text, "}\n");
				depth--;
			}
		}
		while (depth-- > 0)
			str_append(text, "}\n");

		struct loft_settings *set, *set2;
		char *error;
		if (settings_read_string("gen.conf", str_c(text), str_len(text),
					 &set, &error) < 0) {
			assert_true(str_begins(error, "gen.conf:"));
			free(error);
			str_free(&text);
			continue;
		}
		accepted++;
		char *out_n = print_to_string(set, true);
		if (settings_read_string("gen.conf", out_n, strlen(out_n),
					 &set2, &error) < 0)
			fail_msg("%s\nconfig:\n%s\nprinted:\n%s", error,
				 str_c(text), out_n);
		char *a1 = print_to_string(set, false);
		char *a2 = print_to_string(set2, false);
		if (strcmp(a1, a2) != 0)
			fail_msg("-a differs after reparse of:\n%s", str_c(text));
		free(a1);
		free(a2);
		free(out_n);
		settings_free(&set2);

		string_t *s1 = str_new(1024), *s2 = str_new(1024);
		settings_snapshot_serialize(set, s1);
		assert_int_equal(settings_snapshot_parse(str_data(s1), str_len(s1),
							 &set2, &error), 0);
		settings_snapshot_serialize(set2, s2);
		assert_int_equal(str_len(s1), str_len(s2));
		assert_memory_equal(str_data(s1), str_data(s2), str_len(s1));
		str_free(&s1);
		str_free(&s2);
		settings_free(&set2);
		settings_free(&set);
		str_free(&text);
	}
	/* the generator must produce a fair share of valid configs */
	assert_true(accepted > 50);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_good_configs),
		cmocka_unit_test(test_bad_configs),
		cmocka_unit_test(test_warnings),
		cmocka_unit_test(test_default_services),
		cmocka_unit_test(test_service_merge),
		cmocka_unit_test(test_auth_dbs_23),
		cmocka_unit_test(test_config_24),
		cmocka_unit_test(test_namespaces),
		cmocka_unit_test(test_filters),
		cmocka_unit_test(test_plugin_and_comments),
		cmocka_unit_test_setup_teardown(test_includes, setup_tmpdir,
						teardown_tmpdir),
		cmocka_unit_test(test_limits),
		cmocka_unit_test(test_print_roundtrip),
		cmocka_unit_test(test_snapshot_roundtrip),
		cmocka_unit_test(test_snapshot_garbage),
		cmocka_unit_test(test_config_truncated),
		cmocka_unit_test(test_config_garbage),
		cmocka_unit_test(test_generated_roundtrip),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
