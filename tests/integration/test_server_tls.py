"""Whole-server tests: TLS, STARTTLS/STLS, LOGINDISABLED and the
plaintext-authentication rules (issue 3 "TLS and plaintext rules")."""
import base64
import imaplib
import os
import poplib
import re
import socket
import ssl
import subprocess
import time

import pytest

from loftserver import LoftServer


def client_ctx(**kw):
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    for k, v in kw.items():
        setattr(ctx, k, v)
    return ctx


class RemoteIMAP(imaplib.IMAP4):
    """IMAP4 from 127.0.0.2: rip != lip, so not a "local" secured client."""

    def _create_socket(self, timeout):
        return socket.create_connection((self.host, self.port), timeout,
                                        source_address=("127.0.0.2", 0))


class RemotePOP3(poplib.POP3):
    def _create_socket(self, timeout):
        return socket.create_connection((self.host, self.port), timeout,
                                        source_address=("127.0.0.2", 0))


@pytest.fixture(scope="module")
def strict():
    """disable_plaintext_auth = yes, ssl = yes"""
    server = LoftServer(disable_plaintext_auth="yes")
    server.start()
    yield server
    server.cleanup()


@pytest.fixture(scope="module")
def required():
    """ssl = required"""
    server = LoftServer(ssl="required", disable_plaintext_auth="no")
    server.start()
    yield server
    server.cleanup()


def test_imap_plaintext_refused_before_starttls(strict):
    c = RemoteIMAP("127.0.0.1", strict.ports["imap"])
    caps = c.capabilities
    assert "STARTTLS" in caps and "LOGINDISABLED" in caps
    assert "AUTH=PLAIN" not in caps
    typ, data = c._simple_command("LOGIN", "alice", "alice-secret")
    assert typ == "NO" and b"PRIVACYREQUIRED" in data[-1]
    typ, data = c._simple_command("AUTHENTICATE", "PLAIN",
                                  base64.b64encode(b"\0alice\0alice-secret").decode())
    assert typ == "NO"
    c.starttls(ssl_context=client_ctx())
    assert "LOGINDISABLED" not in c.capabilities
    assert "AUTH=PLAIN" in c.capabilities
    typ, _ = c.login("alice", "alice-secret")
    assert typ == "OK"
    typ, data = c.select("INBOX")
    assert typ == "OK"
    c.logout()
    assert "alice-secret" not in strict.log()


def test_imap_localhost_counts_as_secured(strict):
    c = imaplib.IMAP4("127.0.0.1", strict.ports["imap"])
    assert "LOGINDISABLED" not in c.capabilities
    typ, _ = c.login("alice", "alice-secret")
    assert typ == "OK"
    c.logout()


def test_imaps_implicit_tls(strict):
    c = imaplib.IMAP4_SSL("127.0.0.1", strict.ports["imaps"],
                          ssl_context=client_ctx())
    assert c.sock.version() in ("TLSv1.2", "TLSv1.3")
    assert "STARTTLS" not in c.capabilities
    typ, _ = c.login("bob", "bob-secret")
    assert typ == "OK"
    typ, data = c.select("INBOX")
    assert typ == "OK"
    c.logout()
    assert strict.wait_log("Login: user=<bob>, method=PLAIN, rip=127.0.0.1, "
                           "lip=127.0.0.1, mpid=")
    assert re.search(r"imap-login: Info: Login: user=<bob>, method=PLAIN, "
                     r"rip=127\.0\.0\.1, lip=127\.0\.0\.1, mpid=\d+, TLS, "
                     r"session=<[^>]+>", strict.log())


def test_tls_below_1_2_refused(strict):
    ctx = client_ctx(minimum_version=ssl.TLSVersion.TLSv1,
                     maximum_version=ssl.TLSVersion.TLSv1_1)
    try:
        ctx.set_ciphers("ALL:@SECLEVEL=0")
    except ssl.SSLError:
        pass
    with pytest.raises((ssl.SSLError, OSError)):
        imaplib.IMAP4_SSL("127.0.0.1", strict.ports["imaps"], ssl_context=ctx)
    # the server keeps serving
    c = imaplib.IMAP4_SSL("127.0.0.1", strict.ports["imaps"],
                          ssl_context=client_ctx())
    c.logout()


def test_pop3_plaintext_refused_before_stls(strict):
    p = RemotePOP3("127.0.0.1", strict.ports["pop3"])
    caps = p.capa()
    assert "STLS" in caps and "USER" not in caps
    with pytest.raises(poplib.error_proto) as e:
        p.user("alice")
    assert b"Plaintext authentication disallowed" in e.value.args[0]
    p.stls(context=client_ctx())
    assert "USER" in p.capa()
    p.user("alice")
    assert p.pass_("alice-secret").startswith(b"+OK")
    p.quit()


def test_pop3s_implicit(strict):
    p = poplib.POP3_SSL("127.0.0.1", strict.ports["pop3s"], context=client_ctx())
    p.user("bob")
    assert p.pass_("bob-secret").startswith(b"+OK")
    count, size = p.stat()
    assert count >= 0
    p.quit()


def test_ssl_required_logindisabled(required):
    c = RemoteIMAP("127.0.0.1", required.ports["imap"])
    assert "LOGINDISABLED" in c.capabilities
    typ, data = c._simple_command("LOGIN", "alice", "alice-secret")
    assert typ == "NO"
    c.starttls(ssl_context=client_ctx())
    assert c.login("alice", "alice-secret")[0] == "OK"
    c.logout()
    p = RemotePOP3("127.0.0.1", required.ports["pop3"])
    with pytest.raises(poplib.error_proto):
        p.user("alice")
    p.quit()


def s_client(port, starttls, script, timeout=10):
    proc = subprocess.run(
        ["openssl", "s_client", "-connect", "127.0.0.1:%d" % port,
         "-starttls", starttls, "-quiet", "-crlf", "-ign_eof"],
        input=script.encode(), capture_output=True, timeout=timeout)
    return proc.stdout.decode(errors="replace")


def test_openssl_s_client_starttls_imap(strict):
    out = s_client(strict.ports["imap"], "imap",
                   "a LOGIN alice alice-secret\nb SELECT INBOX\nc LOGOUT\n")
    assert "a OK" in out, out
    assert "b OK" in out, out
    assert "* BYE" in out


def test_openssl_s_client_stls_pop3(strict):
    out = s_client(strict.ports["pop3"], "pop3",
                   "USER alice\nPASS alice-secret\nSTAT\nQUIT\n")
    assert re.search(r"\+OK \d+ \d+", out), out


def test_starttls_discards_pipelined_plaintext(strict):
    """Commands sent in the clear after STARTTLS must not run inside TLS."""
    s = socket.create_connection(("127.0.0.1", strict.ports["imap"]),
                                 source_address=("127.0.0.2", 0))
    f = s.makefile("rb")
    f.readline()
    s.sendall(b"a STARTTLS\r\nb LOGIN alice alice-secret\r\n")
    assert f.readline().startswith(b"a OK")
    tls = client_ctx().wrap_socket(s)
    tls.sendall(b"c NOOP\r\n")
    line = tls.recv(4096)
    assert line.startswith(b"c OK"), line
    tls.close()
