"""loftconf (doveconf twin): -n / -a / -x on temporary configs and on a
Debian-style multi-file dovecot.conf tree."""
import os
import shutil
import subprocess

import pytest

BUILD = os.environ.get("LOFT_BUILD_DIR", "build-test")
LOFTCONF = os.path.abspath(os.path.join(BUILD, "src", "config", "loftconf"))
FIXTURE = os.path.join(os.path.dirname(__file__), "data", "dovecot-conf")


def run(*args, cwd=None):
    return subprocess.run([LOFTCONF, *args], capture_output=True, text=True,
                          timeout=30, cwd=cwd)


def write(path, text):
    with open(path, "w") as f:
        f.write(text)
    return str(path)


def body(output):
    """-n/-a output without the '# loft VERSION: path' header line."""
    first, _, rest = output.partition("\n")
    assert first.startswith("# loft ")
    return rest


@pytest.fixture(scope="module", autouse=True)
def have_binary():
    if not os.access(LOFTCONF, os.X_OK):
        pytest.fail(f"{LOFTCONF} not built")


def test_defaults_print_nothing_with_n(tmp_path):
    conf = write(tmp_path / "empty.conf", "# nothing here\n")
    r = run("-c", conf, "-n")
    assert r.returncode == 0, r.stderr
    assert body(r.stdout) == ""
    assert r.stdout.startswith(f"# loft 0.1.0: {conf}\n")


def test_all_prints_defaults(tmp_path):
    conf = write(tmp_path / "empty.conf", "")
    r = run("-c", conf, "-a")
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    for want in ("base_dir = /run/loft", "ssl = yes",
                 "disable_plaintext_auth = yes", "auth_mechanisms = plain",
                 "auth_failure_delay = 2 secs",
                 "login_greeting = loft ready.", "first_valid_uid = 500",
                 "imap_max_line_length = 64k", "mail_fsync = optimized",
                 "pop3_uidl_format = %08Xu%08Xv", "recipient_delimiter = +",
                 "lmtp_hdr_delivery_address = final",
                 "default_login_user = dovenull",
                 "default_internal_user = dovecot",
                 "mail_max_userip_connections = 10",
                 "ssl_min_protocol = TLSv1.2", "log_path = syslog",
                 "service imap-login {", "    port = 993",
                 "service pop3-login {", "    port = 995",
                 "  unix_listener lmtp {"):
        assert want in lines, want


def test_non_default_values(tmp_path):
    conf = write(tmp_path / "loft.conf", """\
protocols = imap lmtp
listen = 127.0.0.1
ssl = required
ssl_cert = </etc/ssl/loft.pem
ssl_key = </etc/ssl/loft.key
disable_plaintext_auth = no
mail_location = maildir:~/Maildir
service imap-login {
  inet_listener imap {
    port = 10143
  }
}
""")
    r = run("-c", conf, "-n")
    assert r.returncode == 0, r.stderr
    assert body(r.stdout) == """\
protocols = imap lmtp
listen = 127.0.0.1
ssl = required
ssl_cert = </etc/ssl/loft.pem
ssl_key = </etc/ssl/loft.key
disable_plaintext_auth = no
mail_location = maildir:~/Maildir
service imap-login {
  inet_listener imap {
    port = 10143
  }
}
"""
    assert r.stderr == ""


def test_24_names_print_as_23(tmp_path):
    conf = write(tmp_path / "v24.conf", """\
dovecot_config_version = 2.4.0
dovecot_storage_version = 2.4.0
ssl_server_cert_file = /etc/ssl/c.pem
ssl_server_key_file = /etc/ssl/k.pem
auth_allow_cleartext = yes
mail_driver = maildir
mail_path = ~/Mail
passdb passwd-file {
  passwd_file_path = /etc/dovecot/users
}
service imap {
  restart_request_count = 10
}
""")
    r = run("-c", conf, "-n")
    assert r.returncode == 0, r.stderr
    out = body(r.stdout)
    assert "ssl_cert = </etc/ssl/c.pem\n" in out
    assert "ssl_key = </etc/ssl/k.pem\n" in out
    assert "disable_plaintext_auth = no\n" in out
    assert "mail_location = maildir:~/Mail\n" in out
    assert "passdb passwd-file {\n  driver = passwd-file\n" \
           "  args = /etc/dovecot/users\n}\n" in out
    assert "service imap {\n  service_count = 10\n}\n" in out


def test_n_output_parses_back(tmp_path):
    conf = write(tmp_path / "a.conf", """\
login_greeting = "Hello #1 $protocols "
auth_mechanisms = plain login
namespace inbox {
  inbox = yes
  separator = /
  mailbox "Sent Messages" {
    special_use = \\Sent
    auto = subscribe
  }
}
service lmtp {
  unix_listener /var/spool/postfix/private/dovecot-lmtp {
    mode = 0600
    user = postfix
  }
}
protocol imap {
  mail_max_userip_connections = 3
}
""")
    r1 = run("-c", conf, "-n")
    assert r1.returncode == 0, r1.stderr
    conf2 = write(tmp_path / "b.conf", r1.stdout)
    r2 = run("-c", conf2, "-n")
    assert r2.returncode == 0, r2.stderr
    assert body(r2.stdout) == body(r1.stdout)
    assert 'login_greeting = "Hello #1 $protocols "' in r1.stdout


BAD = [
    ("ssl = maybe\n",
     "{f}:1: Invalid setting ssl: Invalid value 'maybe' (allowed: no, yes, required)"),
    ("# comment\nno_such_setting = 1\n", "{f}:2: Unknown setting: no_such_setting"),
    ("first_valid_uid = lots\n",
     "{f}:1: Invalid setting first_valid_uid: Invalid number 'lots'"),
    ("disable_plaintext_auth = perhaps\n",
     "{f}:1: Invalid setting disable_plaintext_auth: Invalid boolean value 'perhaps' (use yes or no)"),
    ("service imap-login {\n  inet_listener imap {\n    port = 143\n  }\n",
     "{f}:1: Missing '}}' for block 'service imap-login'"),
    ("ssl = yes\n}\n", "{f}:2: Unexpected '}}'"),
    ("\n\n!include missing.conf\n",
     "{f}:3: !include {d}/missing.conf: open({d}/missing.conf) failed: No such file or directory"),
    ("service imap { port = 1 }\n", "{f}:1: Garbage after '{{'"),
]


@pytest.mark.parametrize("text,error", BAD)
def test_check_fails_with_file_line(tmp_path, text, error):
    conf = write(tmp_path / "bad.conf", text)
    r = run("-c", conf, "-x")
    assert r.returncode == 1
    assert r.stdout == ""
    assert r.stderr.strip() == error.format(f=conf, d=tmp_path)
    # -n refuses the same file the same way
    r = run("-c", conf, "-n")
    assert r.returncode == 1
    assert r.stderr.strip() == error.format(f=conf, d=tmp_path)


def test_check_ok_and_warnings(tmp_path):
    conf = write(tmp_path / "ok.conf", "mail_plugins = quota\nssl = yes\n")
    r = run("-c", conf, "-x")
    assert r.returncode == 0
    assert r.stdout == ""
    assert r.stderr == (f"Warning: {conf}:1: setting mail_plugins is not "
                        "supported yet, ignored\n")


def test_error_in_included_file(tmp_path):
    os.mkdir(tmp_path / "conf.d")
    conf = write(tmp_path / "main.conf", "!include conf.d/*.conf\n")
    write(tmp_path / "conf.d" / "10-a.conf", "ssl = yes\n")
    bad = write(tmp_path / "conf.d" / "20-b.conf",
                "service auth {\n  unix_listener auth-userdb {\n"
                "    mode = rw\n  }\n}\n")
    r = run("-c", conf, "-x")
    assert r.returncode == 1
    assert r.stderr.strip() == \
        f"{bad}:3: Invalid setting mode: Invalid file mode 'rw'"


def test_missing_config_and_usage(tmp_path):
    missing = str(tmp_path / "nope.conf")
    r = run("-c", missing, "-x")
    assert r.returncode == 1
    assert r.stderr.strip() == \
        f"open({missing}) failed: No such file or directory"
    r = run("-q")
    assert r.returncode == 2
    assert "Usage: loftconf" in r.stderr


def test_debian_style_tree(tmp_path):
    """A Debian conf.d tree: includes with globs, comments, blocks merged
    across files, settings loft does not implement yet."""
    tree = tmp_path / "dovecot"
    shutil.copytree(FIXTURE, tree)
    conf = str(tree / "dovecot.conf")
    r = run("-c", conf, "-x")
    assert r.returncode == 0, r.stderr
    warnings = r.stderr.splitlines()
    assert f"Warning: {conf}:90: dict block is not supported yet, ignored" \
        in warnings
    assert f"Warning: {tree}/conf.d/10-ssl.conf:51: setting ssl_dh is " \
        "not supported yet, ignored" in warnings
    assert f"Warning: {tree}/conf.d/10-director.conf:34: fifo_listener " \
        "is not supported yet, ignored" in warnings
    assert all(w.startswith("Warning: ") for w in warnings)

    r = run("-c", conf, "-n")
    assert r.returncode == 0, r.stderr
    out = body(r.stdout)
    for want in (
            "ssl = required\n",
            "ssl_cert = </etc/dovecot/private/dovecot.pem\n",
            "ssl_key = </etc/dovecot/private/dovecot.key\n",
            "auth_mechanisms = plain login\n",
            "mail_location = maildir:~/Maildir\n",
            "mail_privileged_group = mail\n",
            "first_valid_uid = 1000\n",
            "postmaster_address = postmaster@example.org\n",
            "passdb {\n  driver = passwd-file\n"
            "  args = scheme=SHA512-CRYPT username_format=%u /etc/dovecot/users\n}\n",
            "userdb {\n  driver = passwd-file\n"
            "  args = username_format=%u /etc/dovecot/users\n"
            "  default_fields = uid=vmail gid=vmail home=/var/vmail/%d/%n\n}\n",
            "  mailbox Drafts {\n    special_use = \\Drafts\n  }\n",
            "  mailbox \"Sent Messages\" {\n    special_use = \\Sent\n  }\n",
            "  unix_listener /var/spool/postfix/private/auth {\n"
            "    mode = 0660\n    user = postfix\n    group = postfix\n  }\n",
            "protocol imap {\n  mail_max_userip_connections = 20\n",
            "log_path = /var/log/dovecot.log\n",
            "auth_verbose = yes\n",
            "service director {\n  inet_listener {\n  }\n"):
        assert want in out, want
    # namespace inbox from 10-mail.conf and its mailboxes from
    # 15-mailboxes.conf are one namespace
    assert out.count("namespace ") == 1
    # commented-out defaults stay defaults
    assert "port = 143" not in out
    assert "disable_plaintext_auth" not in out

    # running from another directory with a relative path works too
    r2 = run("-c", "dovecot.conf", "-n", cwd=str(tree))
    assert r2.returncode == 0, r2.stderr
    assert body(r2.stdout) == out


def test_single_settings(tmp_path):
    conf = write(tmp_path / "s.conf",
                 "mail_location = maildir:~/Mail\nssl_cert = </c.pem\n")
    r = run("-c", conf, "mail_location", "ssl", "ssl_cert")
    assert r.returncode == 0, r.stderr
    assert r.stdout == ("mail_location = maildir:~/Mail\nssl = yes\n"
                        "ssl_cert = </c.pem\n")
    r = run("-c", conf, "-h", "mail_location")
    assert r.returncode == 0
    assert r.stdout == "maildir:~/Mail\n"
    r = run("-c", conf, "-h", "nonexistent_setting")
    assert r.returncode == 1
    assert r.stderr == "Unknown setting: nonexistent_setting\n"
