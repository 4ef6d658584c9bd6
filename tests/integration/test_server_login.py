"""Whole-server tests: authentication, failure delay and log lines, the
hand-off to post-login processes, privilege separation and crash
isolation (issue 3 "Processes", "Authentication", "Logs")."""
import base64
import imaplib
import os
import re
import signal
import socket
import time

import pytest

from loftserver import LoftServer


@pytest.fixture(scope="module")
def server():
    s = LoftServer(auth_failure_delay="1")
    s.start()
    yield s
    s.cleanup()


def raw(port):
    s = socket.create_connection(("127.0.0.1", port), timeout=10)
    f = s.makefile("rb")
    greeting = f.readline()
    return s, f, greeting


def test_greeting_and_capability(server):
    s, f, greeting = raw(server.ports["imap"])
    assert greeting.startswith(b"* OK [CAPABILITY IMAP4rev1")
    assert b"loft ready." in greeting
    s.sendall(b"a CAPABILITY\r\n")
    assert f.readline().startswith(b"* CAPABILITY IMAP4rev1")
    assert f.readline().startswith(b"a OK")
    s.close()


def test_wrong_password_delayed_and_logged(server):
    c = imaplib.IMAP4("127.0.0.1", server.ports["imap"])
    start = time.time()
    with pytest.raises(imaplib.IMAP4.error) as e:
        c.login("alice", "wrong-password")
    assert time.time() - start >= 0.9
    assert b"AUTHENTICATIONFAILED" in e.value.args[0].encode() \
        if isinstance(e.value.args[0], str) else True
    c.shutdown()
    assert server.wait_log("auth failed, 1 attempts in")
    log = server.log()
    assert re.search(r"imap-login: Info: Disconnected: Connection closed "
                     r"\(auth failed, 1 attempts in \d+ secs\): user=<alice>, "
                     r"method=PLAIN, rip=127\.0\.0\.1, lip=127\.0\.0\.1, "
                     r"session=<[^>]+>", log), log
    assert "wrong-password" not in log


def test_unknown_user_fails(server):
    c = imaplib.IMAP4("127.0.0.1", server.ports["imap"])
    with pytest.raises(imaplib.IMAP4.error):
        c.login("nobody-here", "x")
    c.shutdown()


def test_authenticate_plain_sasl_ir_and_continuation(server):
    s, f, _ = raw(server.ports["imap"])
    ir = base64.b64encode(b"\0alice\0alice-secret")
    s.sendall(b"a AUTHENTICATE PLAIN " + ir + b"\r\n")
    line = f.readline()
    assert line.startswith(b"a OK"), line
    assert b"CAPABILITY" in line or True
    s.sendall(b"b LOGOUT\r\n")
    assert b"BYE" in f.readline()
    s.close()

    s, f, _ = raw(server.ports["imap"])
    s.sendall(b"a AUTHENTICATE PLAIN\r\n")
    assert f.readline().startswith(b"+")
    s.sendall(ir + b"\r\n")
    assert f.readline().startswith(b"a OK")
    s.close()


def test_authenticate_login_mech_and_cancel(server):
    s, f, _ = raw(server.ports["imap"])
    s.sendall(b"a AUTHENTICATE LOGIN\r\n")
    assert base64.b64decode(f.readline()[2:].strip()) == b"Username:"
    s.sendall(base64.b64encode(b"bob") + b"\r\n")
    assert base64.b64decode(f.readline()[2:].strip()) == b"Password:"
    s.sendall(base64.b64encode(b"bob-secret") + b"\r\n")
    assert f.readline().startswith(b"a OK")
    s.close()

    s, f, _ = raw(server.ports["imap"])
    s.sendall(b"a AUTHENTICATE PLAIN\r\n")
    assert f.readline().startswith(b"+")
    s.sendall(b"*\r\n")
    assert f.readline().startswith(b"a BAD")
    s.sendall(b"b AUTHENTICATE PLAIN !!!notbase64\r\n")
    assert f.readline().startswith(b"b BAD")
    s.sendall(b"c NOOP\r\n")
    assert f.readline().startswith(b"c OK")
    s.close()


def test_pipelined_command_after_login(server):
    s, f, _ = raw(server.ports["imap"])
    s.sendall(b"a LOGIN alice alice-secret\r\nb SELECT INBOX\r\nc LOGOUT\r\n")
    data = b""
    deadline = time.time() + 10
    while b"c OK" not in data and time.time() < deadline:
        chunk = s.recv(65536)
        if not chunk:
            break
        data += chunk
    assert b"a OK" in data and b"b OK" in data and b"c OK" in data, data
    s.close()


def test_garbage_and_long_lines_preauth(server):
    s, f, _ = raw(server.ports["imap"])
    s.sendall(b"\x00\xff\xfe garbage\r\n")
    assert b"BAD" in f.readline()
    s.sendall(b"a " + b"X" * 100000 + b"\r\n")
    rest = s.recv(65536)
    assert b"BAD" in rest or rest == b""
    s.close()
    # other clients are still served
    c = imaplib.IMAP4("127.0.0.1", server.ports["imap"])
    assert c.login("alice", "alice-secret")[0] == "OK"
    c.logout()


def _mpid(server, user):
    found = re.findall(r"Login: user=<%s>, .*?mpid=(\d+)" % user, server.log())
    return int(found[-1]) if found else None


def test_mail_process_crash_is_isolated(server):
    a = imaplib.IMAP4("127.0.0.1", server.ports["imap"])
    a.login("alice", "alice-secret")
    b = imaplib.IMAP4("127.0.0.1", server.ports["imap"])
    b.login("bob", "bob-secret")
    assert server.wait_log("Login: user=<bob>")
    pid = _mpid(server, "bob")
    assert pid is not None
    # SIGKILL: the sanitizer build catches SIGSEGV itself
    os.kill(pid, signal.SIGKILL)
    with pytest.raises((imaplib.IMAP4.abort, OSError, EOFError)):
        for _ in range(20):
            b.noop()
            time.sleep(0.05)
    assert a.noop()[0] == "OK"
    assert a.select("INBOX")[0] == "OK"
    a.logout()
    assert server.wait_log("service(imap): child %d killed with signal" % pid)


def test_login_process_restarted_after_crash(server):
    # find imap-login processes of this server by their environment
    pids = []
    for p in os.listdir("/proc"):
        if not p.isdigit():
            continue
        try:
            with open("/proc/%s/environ" % p, "rb") as f:
                env = f.read().split(b"\0")
            with open("/proc/%s/stat" % p) as f:
                ppid = int(f.read().split(") ")[1].split()[1])
        except OSError:
            continue
        if b"LOFT_SERVICE=imap-login" in env and ppid == server.proc.pid:
            pids.append(int(p))
    assert pids
    for pid in pids:
        os.kill(pid, signal.SIGKILL)
    deadline = time.time() + 10
    while True:
        try:
            c = imaplib.IMAP4("127.0.0.1", server.ports["imap"])
            break
        except OSError:
            assert time.time() < deadline
            time.sleep(0.1)
    assert c.login("alice", "alice-secret")[0] == "OK"
    c.logout()


def test_privileges(server):
    """As root: mail processes run as the userdb uid, login processes as
    nobody in a chroot. As a normal user: everything runs as that user."""
    import pwd
    nobody = pwd.getpwnam("nobody")
    if os.geteuid() != 0:
        c = imaplib.IMAP4("127.0.0.1", server.ports["imap"])
        c.login("alice", "alice-secret")
        assert server.wait_log("Login: user=<alice>")
        with open("/proc/%d/status" % _mpid(server, "alice")) as f:
            assert re.search(r"^Uid:\s+%d\s" % os.getuid(), f.read(), re.M)
        c.logout()
        return
    c = imaplib.IMAP4("127.0.0.1", server.ports["imap"])
    c.login("alice", "alice-secret")
    assert server.wait_log("Login: user=<alice>")
    pid = _mpid(server, "alice")
    with open("/proc/%d/status" % pid) as f:
        status = f.read()
    uids = re.search(r"^Uid:\s+(\d+)\s+(\d+)\s+(\d+)", status, re.M).groups()
    assert all(int(u) == nobody.pw_uid for u in uids)
    c.logout()
    # login processes run as nobody, chrooted into base_dir/login
    for p in os.listdir("/proc"):
        if not p.isdigit():
            continue
        try:
            with open("/proc/%s/environ" % p, "rb") as f:
                env = f.read()
        except OSError:
            continue
        if b"LOFT_SERVICE=imap-login" in env and \
                server.base_dir.encode() in env:
            # a process that was just forked drops root during startup
            deadline = time.time() + 5
            while True:
                with open("/proc/%s/status" % p) as f:
                    st = f.read()
                if re.search(r"^Uid:\s+%d" % nobody.pw_uid, st, re.M) or \
                        time.time() > deadline:
                    break
                time.sleep(0.05)
            assert re.search(r"^Uid:\s+%d" % nobody.pw_uid, st, re.M)
            assert os.readlink("/proc/%s/root" % p) == \
                os.path.join(server.base_dir, "login")


def test_forbidden_uids_refused():
    """uid 0 and uids below first_valid_uid never get a mail process; as a
    normal user, a uid other than our own can't be used either."""
    if os.geteuid() == 0:
        bad = {"zero": (0, 0), "low": (100, 100)}
        extra = "first_valid_uid = 500\n"
        expect = "Mail access for users with UID 0 not permitted"
    else:
        other = os.getuid() + 1
        bad = {"zero": (other, os.getgid()), "low": (other, os.getgid())}
        extra = ""
        expect = "Can't change to the user's uid when not running as root"
    s = LoftServer(users={"zero": "z-pass", "low": "l-pass", "ok": "ok-pass"},
                   user_ids=bad, extra_config=extra)
    s.start()
    try:
        c = imaplib.IMAP4("127.0.0.1", s.ports["imap"])
        with pytest.raises(imaplib.IMAP4.error) as e:
            c.login("zero", "z-pass")
        assert "UNAVAILABLE" in str(e.value)
        assert s.wait_log(expect), s.log()
        c = imaplib.IMAP4("127.0.0.1", s.ports["imap"])
        with pytest.raises(imaplib.IMAP4.error):
            c.login("low", "l-pass")
        if os.geteuid() == 0:
            assert s.wait_log("(see first_valid_uid in config file)"), s.log()
        c = imaplib.IMAP4("127.0.0.1", s.ports["imap"])
        assert c.login("ok", "ok-pass")[0] == "OK"
        c.logout()
    finally:
        s.cleanup()


def test_config_error_stops_startup(tmp_path):
    """An unknown or invalid setting stops loft with file:line: message."""
    import subprocess
    from loftserver import binary
    conf = tmp_path / "bad.conf"
    conf.write_text("protocols = imap\nssl = no\nno_such_setting = 1\n")
    r = subprocess.run([binary("loft"), "-F", "-c", str(conf)],
                       capture_output=True, text=True, timeout=10)
    assert r.returncode != 0
    assert "%s:3: Unknown setting: no_such_setting" % conf in r.stderr, r.stderr
    conf.write_text("protocols = imap\nssl = maybe\n")
    r = subprocess.run([binary("loft"), "-F", "-c", str(conf)],
                       capture_output=True, text=True, timeout=10)
    assert r.returncode != 0
    assert "%s:2: " % conf in r.stderr and "ssl" in r.stderr, r.stderr
