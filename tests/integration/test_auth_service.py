"""loft-auth started by hand: the auth protocol over its unix sockets.

The test binds the two listening sockets itself and hands them over as
the master does (fds 5 and 6, LOFT_LISTENERS), then speaks the protocol
of src/lib-auth/auth-protocol.h with plain sockets.
"""
import base64
import fcntl
import hashlib
import os
import shutil
import socket
import subprocess
import tempfile
import time

import pytest

BUILD = os.environ.get("LOFT_BUILD_DIR", "build-test")
AUTH_BIN = os.path.join(BUILD, "src", "auth", "loft-auth")
LOFTADM = os.path.join(BUILD, "src", "admin", "loftadm")
DELAY = 1  # auth_failure_delay in the test config

PASSWORDS = {
    "bob": "Bob's s3cret",
    "carol": "carol pw 2",
    "dave": "d4ve-argon",
    "erin": "erin-blf",
    "frank": "frank ssha512",
    "gina": "t\tab\\back",
    "nolo": "nologin-pw",
    "slow": "slow-bcrypt-pw",
}


def sha512_crypt(password):
    out = subprocess.run(["openssl", "passwd", "-6", "-stdin"],
                         input=password.encode(), capture_output=True,
                         check=True)
    return out.stdout.decode().strip()


def loftadm_hash(scheme, password):
    out = subprocess.run([LOFTADM, "pw", "-s", scheme, "-p", password],
                         capture_output=True, check=True)
    return out.stdout.decode().strip()


def ssha512(password):
    salt = os.urandom(8)
    digest = hashlib.sha512(password.encode() + salt).digest()
    return "{SSHA512}" + base64.b64encode(digest + salt).decode()


def escape(value):
    return (value.replace("\\", "\\\\").replace("\t", "\\t")
            .replace("\n", "\\n").replace("\r", "\\r"))


def unescape(value):
    out, i = [], 0
    while i < len(value):
        c = value[i]
        if c == "\\":
            i += 1
            c = {"\\": "\\", "t": "\t", "n": "\n", "r": "\r"}[value[i]]
        out.append(c)
        i += 1
    return "".join(out)


class AuthConn:
    def __init__(self, path):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(10)
        self.sock.connect(path)
        self.buf = b""
        assert self.read_line() == ["VERSION", "1", "0"]

    def send(self, data):
        self.sock.sendall(data if isinstance(data, bytes) else data.encode())

    def request(self, cmd, rid, **fields):
        line = "%s\t%d" % (cmd, rid)
        for key, value in fields.items():
            line += "\t%s=%s" % (key, escape(value))
        self.send(line + "\n")

    def read_line(self):
        while b"\n" not in self.buf:
            data = self.sock.recv(65536)
            if not data:
                raise EOFError("connection closed")
            self.buf += data
        line, self.buf = self.buf.split(b"\n", 1)
        return [unescape(f) for f in line.decode().split("\t")]

    def reply(self):
        args = self.read_line()
        fields = {}
        for f in args[2:]:
            key, _, value = f.partition("=")
            fields[key] = value
        return args[0], int(args[1]), fields

    def close(self):
        self.sock.close()


@pytest.fixture(scope="module")
def auth():
    if not os.path.exists(AUTH_BIN):
        pytest.fail("loft-auth not built: %s" % AUTH_BIN)
    tmp = tempfile.mkdtemp(prefix="loft-auth-test-")
    users = os.path.join(tmp, "users")
    lines = [
        "bob:{SHA512-CRYPT}%s:1000:1000::/home/bob::userdb_mail=maildir:~/Maildir"
        % sha512_crypt(PASSWORDS["bob"]),
        # no {SCHEME}: the scheme= of the args applies (SHA512-CRYPT)
        "carol:%s:1001:1001::/home/carol" % sha512_crypt(PASSWORDS["carol"]),
        "dave:%s:1002:1002::/home/dave" % loftadm_hash("ARGON2ID", PASSWORDS["dave"]),
        "erin:%s:1003:1003::/home/erin" % loftadm_hash("BLF-CRYPT", PASSWORDS["erin"]),
        "frank:%s:1004:1004::/home/frank::userdb_quota_rule=*:storage=1G"
        % ssha512(PASSWORDS["frank"]),
        "gina:{PLAIN}%s:1005:1005::/home/gina" % PASSWORDS["gina"],
        "nolo:{PLAIN}%s:1006:1006::/home/nolo::nologin reason=Moved" % PASSWORDS["nolo"],
        "Mixed:{PLAIN}x:1007:1007::/home/m",
        # bcrypt cost 13: a hash that takes a noticeable time
        "slow:%s:1008:1008::/home/slow"
        % subprocess.run([LOFTADM, "pw", "-s", "BLF-CRYPT", "-r", "13", "-p",
                          PASSWORDS["slow"]], capture_output=True,
                         check=True).stdout.decode().strip(),
        "broken line without enough:::::::: =bad",
    ]
    with open(users, "w") as f:
        f.write("\n".join(lines) + "\n")
    conf = os.path.join(tmp, "loft.conf")
    with open(conf, "w") as f:
        f.write("""base_dir = %(tmp)s/run
auth_verbose = yes
auth_debug = yes
auth_failure_delay = %(delay)d
disable_plaintext_auth = yes
auth_username_format = %%Lu
auth_mechanisms = plain login
passdb {
  driver = passwd-file
  args = scheme=SHA512-CRYPT username_format=%%u %(users)s
}
userdb {
  driver = passwd-file
  args = username_format=%%u %(users)s
}
""" % {"tmp": tmp, "users": users, "delay": DELAY})
    paths = {}
    socks = []
    for fd, name in ((5, "auth-login"), (6, "auth-userdb"), (7, "auth")):
        path = os.path.join(tmp, name)
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.bind(path)
        s.listen(64)
        socks.append(s)
        paths[name] = path
    log_path = os.path.join(tmp, "auth.log")
    log = open(log_path, "wb")
    env = dict(os.environ)
    # "auth": a unix_listener like Postfix's private/auth (Dovecot SASL)
    env["LOFT_LISTENERS"] = "auth-login:5:unix,auth-userdb:6:unix,auth:7:unix"

    # high copies, so that the dup2()s to 5 and 6 can't clobber them
    high = [fcntl.fcntl(s.fileno(), fcntl.F_DUPFD, 100) for s in socks]

    def handover():
        for i, fd in enumerate(high):
            os.dup2(fd, 5 + i)

    proc = subprocess.Popen([AUTH_BIN, "-c", conf], env=env, stdout=log,
                            stderr=subprocess.STDOUT, preexec_fn=handover,
                            pass_fds=(5, 6, 7))
    for s in socks:
        s.close()
    for fd in high:
        os.close(fd)

    class Ctx:
        pass
    ctx = Ctx()
    ctx.proc, ctx.tmp, ctx.users, ctx.log_path = proc, tmp, users, log_path
    ctx.login, ctx.userdb = paths["auth-login"], paths["auth-userdb"]
    ctx.sasl = paths["auth"]
    yield ctx
    proc.terminate()
    try:
        rc = proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()
        rc = proc.wait()
    log.close()
    with open(log_path, "rb") as f:
        logtext = f.read()
    shutil.rmtree(tmp)
    # clean exit (no sanitizer report) and no password in the log, ever
    assert rc == 0, logtext.decode(errors="replace")
    for pw in PASSWORDS.values():
        assert pw.encode() not in logtext
    assert b"wrong-password-xyz" not in logtext


def pass_req(conn, rid, user, password, **extra):
    fields = dict(service="imap", user=user, password=password,
                  rip="192.0.2.7", lip="192.0.2.1", secured="1",
                  session="sess%d" % rid, mech="PLAIN")
    fields.update(extra)
    conn.request("PASS", rid, **fields)


def read_log(ctx):
    with open(ctx.log_path, "rb") as f:
        return f.read().decode(errors="replace")


@pytest.mark.parametrize("user", ["bob", "carol", "dave", "erin", "frank", "gina"])
def test_pass_ok(auth, user):
    conn = AuthConn(auth.login)
    pass_req(conn, 1, user, PASSWORDS[user])
    cmd, rid, fields = conn.reply()
    assert (cmd, rid) == ("OK", 1), fields
    assert fields["user"] == user
    assert fields["uid"] == str(1000 + list(PASSWORDS).index(user))
    assert fields["home"] == "/home/" + user
    if user == "bob":
        assert fields["mail"] == "maildir:~/Maildir"
    if user == "frank":
        assert fields["quota_rule"] == "*:storage=1G"
    conn.close()


def test_username_format_and_canonical_user(auth):
    conn = AuthConn(auth.login)
    # auth_username_format = %Lu: "BOB" is bob
    pass_req(conn, 5, "BOB", PASSWORDS["bob"])
    cmd, rid, fields = conn.reply()
    assert (cmd, rid, fields["user"]) == ("OK", 5, "bob")
    conn.close()


def test_failures_are_delayed_without_blocking(auth):
    conn = AuthConn(auth.login)
    start = time.monotonic()
    pass_req(conn, 1, "bob", "wrong-password-xyz")
    pass_req(conn, 2, "nosuchuser", "whatever")
    pass_req(conn, 3, "bob", PASSWORDS["bob"])
    # the success comes first, at once
    cmd, rid, _ = conn.reply()
    assert (cmd, rid) == ("OK", 3)
    assert time.monotonic() - start < DELAY * 0.8
    # a second connection is served meanwhile
    other = AuthConn(auth.login)
    pass_req(other, 9, "gina", PASSWORDS["gina"])
    assert other.reply()[:2] == ("OK", 9)
    assert time.monotonic() - start < DELAY * 0.8
    other.close()
    replies = {}
    for _ in range(2):
        cmd, rid, fields = conn.reply()
        replies[rid] = (cmd, fields)
    elapsed = time.monotonic() - start
    assert DELAY * 0.9 <= elapsed < DELAY + 2
    assert replies[1][0] == "FAIL" and "temp" not in replies[1][1]
    assert replies[2][0] == "FAIL" and "temp" not in replies[2][1]
    conn.close()
    log = read_log(auth)
    assert "auth: Info: passwd-file(bob,192.0.2.7,<sess1>): Password mismatch" in log
    assert "auth: Info: passwd-file(nosuchuser,192.0.2.7,<sess2>): unknown user" in log


def test_nologin_and_plaintext_rules(auth):
    conn = AuthConn(auth.login)
    pass_req(conn, 1, "nolo", PASSWORDS["nolo"])
    # disable_plaintext_auth: an unsecured PLAIN login is refused
    pass_req(conn, 2, "bob", PASSWORDS["bob"], secured="0")
    replies = {}
    for _ in range(2):
        cmd, rid, fields = conn.reply()
        replies[rid] = (cmd, fields)
    assert replies[1][0] == "FAIL" and replies[1][1]["reason"] == "Moved"
    assert replies[2][0] == "FAIL"
    assert "Plaintext" in replies[2][1]["reason"]
    conn.close()


def test_userdb_lookups(auth):
    conn = AuthConn(auth.userdb)
    conn.request("USER", 1, service="lmtp", user="bob")
    conn.request("USER", 2, service="lmtp", user="nobody")
    conn.request("USER", 3, service="lmtp", user="Frank")
    cmd, rid, fields = conn.reply()
    assert (cmd, rid, fields["user"], fields["uid"], fields["gid"]) == \
        ("USER", 1, "bob", "1000", "1000")
    assert fields["mail"] == "maildir:~/Maildir"
    assert "password" not in fields
    assert conn.reply()[:2] == ("NOTFOUND", 2)
    cmd, rid, fields = conn.reply()
    assert (cmd, rid, fields["user"]) == ("USER", 3, "frank")
    # a PASS works on the userdb socket too (loftadm, trusted)
    pass_req(conn, 4, "carol", PASSWORDS["carol"], secured="0")
    assert conn.reply()[:2] == ("OK", 4)
    conn.close()
    # login processes can't enumerate users
    conn = AuthConn(auth.login)
    conn.request("USER", 1, service="imap", user="bob")
    cmd, rid, fields = conn.reply()
    assert (cmd, rid) == ("ERROR", 1)
    conn.close()


def test_multiplexed_and_byte_at_a_time(auth):
    conn = AuthConn(auth.login)
    ids = list(range(100, 140))
    data = b""
    for rid in ids:
        user = "gina" if rid % 2 == 0 else "bob"
        fields = "\tservice=imap\tuser=%s\tpassword=%s\tsecured=1" % (
            user, escape(PASSWORDS[user]))
        data += ("PASS\t%d%s\n" % (rid, fields)).encode()
    conn.send(data)
    got = {}
    for _ in ids:
        cmd, rid, fields = conn.reply()
        got[rid] = (cmd, fields["user"])
    assert sorted(got) == ids
    assert all(cmd == "OK" for cmd, _ in got.values())
    assert got[101][1] == "bob" and got[100][1] == "gina"
    # one request sent a byte at a time
    line = "PASS\t7\tservice=imap\tuser=gina\tpassword=%s\tsecured=1\n" % \
        escape(PASSWORDS["gina"])
    for b in line.encode():
        conn.send(bytes([b]))
        time.sleep(0.001)
    assert conn.reply()[:2] == ("OK", 7)
    conn.close()


def test_garbage_keeps_connection(auth):
    conn = AuthConn(auth.login)
    for bad in (b"PASS\t1\tuser=\\q\n", b"\n", b"PASS\n", b"PASS\t0\tuser=x\n",
                b"PASS\tabc\n", b"NOPE\t5\n", b"PASS\t6\tservice=imap\n",
                b"VERSION\t2\t0\n", b"\xff\xfe\t1\n"):
        conn.send(bad)
        cmd, rid, fields = conn.reply()
        assert cmd == "ERROR", bad
        assert "reason" in fields
    pass_req(conn, 8, "gina", PASSWORDS["gina"])
    assert conn.reply()[:2] == ("OK", 8)
    conn.close()


def test_oversized_line_closes_only_that_connection(auth):
    good = AuthConn(auth.login)
    bad = AuthConn(auth.login)
    bad.send(b"PASS\t1\tuser=" + b"a" * 20000)
    with pytest.raises((EOFError, ConnectionResetError)):
        while True:
            bad.read_line()
    bad.close()
    pass_req(good, 2, "gina", PASSWORDS["gina"])
    assert good.reply()[:2] == ("OK", 2)
    good.close()
    assert auth.proc.poll() is None


def test_passwd_file_reload(auth):
    with open(auth.users, "a") as f:
        f.write("newuser:{PLAIN}fresh-pw:2000:2000::/home/new\n")
    PASSWORDS["newuser"] = "fresh-pw"
    conn = AuthConn(auth.login)
    pass_req(conn, 1, "newuser", "fresh-pw")
    cmd, rid, fields = conn.reply()
    assert (cmd, fields["uid"]) == ("OK", "2000")
    conn.close()
    log = read_log(auth)
    # the bad line of the file is reported with file:line
    assert "passwd-file %s:10:" % auth.users in log


def test_bad_usernames(auth):
    conn = AuthConn(auth.login)
    pass_req(conn, 1, "bob/../x", "x")
    pass_req(conn, 2, "a" * 300, "x")
    pass_req(conn, 3, "", "x")
    pass_req(conn, 4, "ev\x01il\x1b[2J", "x")
    got = {}
    for _ in range(4):
        cmd, rid, fields = conn.reply()
        got[rid] = cmd
    assert got == {1: "FAIL", 2: "FAIL", 3: "FAIL", 4: "FAIL"}
    conn.close()
    log = read_log(auth)
    # control characters of rejected names don't reach the log
    assert "auth(ev?il?[2J,192.0.2.7,<sess4>)" in log
    assert "\x1b" not in log


def test_started_by_hand_without_listeners():
    """No LOFT_LISTENERS: loft-auth binds base_dir/login/auth-login and
    base_dir/auth-userdb itself, and shuts down cleanly on SIGTERM even
    with a delayed reply pending."""
    tmp = tempfile.mkdtemp(prefix="loft-auth-hand-")
    proc = None
    try:
        users = os.path.join(tmp, "users")
        with open(users, "w") as f:
            f.write("zed:{PLAIN}zed-pw-77::::::\n")
        conf = os.path.join(tmp, "loft.conf")
        with open(conf, "w") as f:
            f.write("base_dir = %s/run\nauth_failure_delay = 5\n"
                    "disable_plaintext_auth = no\n"
                    "passdb {\n  driver = passwd-file\n  args = %s\n}\n"
                    % (tmp, users))
        env = dict(os.environ)
        env.pop("LOFT_LISTENERS", None)
        log_path = os.path.join(tmp, "log")
        with open(log_path, "wb") as log:
            proc = subprocess.Popen([AUTH_BIN, "-c", conf], env=env,
                                    stdout=log, stderr=subprocess.STDOUT)
        login = os.path.join(tmp, "run", "login", "auth-login")
        userdb = os.path.join(tmp, "run", "auth-userdb")
        deadline = time.monotonic() + 10
        while not os.path.exists(userdb):
            assert proc.poll() is None and time.monotonic() < deadline
            time.sleep(0.05)
        conn = AuthConn(login)
        conn.request("PASS", 1, service="pop3", user="zed", password="zed-pw-77")
        cmd, rid, fields = conn.reply()
        # no userdb configured: the passdb's (empty) userdb fields
        assert (cmd, rid, fields["user"]) == ("OK", 1, "zed")
        conn.request("PASS", 2, service="pop3", user="zed", password="nope")
        time.sleep(0.2)
        udb = AuthConn(userdb)
        udb.request("USER", 3, service="lmtp", user="zed")
        assert udb.reply()[:2] == ("USER", 3)
        udb.close()
        proc.terminate()
        assert proc.wait(timeout=10) == 0
        conn.close()
        with open(log_path, "rb") as f:
            logtext = f.read()
        assert b"zed-pw-77" not in logtext
        assert b"ERROR: AddressSanitizer" not in logtext
    finally:
        if proc is not None and proc.poll() is None:
            proc.kill()  # its workers see EOF and exit
            proc.wait()
        shutil.rmtree(tmp)


class DovecotSaslClient:
    """The client side of Dovecot's auth protocol, as Postfix speaks it."""

    def __init__(self, path):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(10)
        self.sock.connect(path)
        self.buf = b""
        self.sock.sendall(b"VERSION\t1\t0\nCPID\t%d\n" % os.getpid())
        self.handshake = []
        while True:
            line = self.read_line()
            self.handshake.append(line)
            if line == ["DONE"]:
                break

    def read_line(self):
        while b"\n" not in self.buf:
            data = self.sock.recv(65536)
            if not data:
                raise EOFError("connection closed")
            self.buf += data
        line, self.buf = self.buf.split(b"\n", 1)
        return line.decode().split("\t")

    def send(self, line):
        self.sock.sendall(line.encode() + b"\n")

    def close(self):
        self.sock.close()


def b64(data):
    return base64.b64encode(data.encode()).decode()


def test_dovecot_sasl_postfix(auth):
    c = DovecotSaslClient(auth.sasl)
    assert c.handshake[0] == ["VERSION", "1", "2"]
    assert ["MECH", "PLAIN", "plaintext"] in c.handshake
    assert ["MECH", "LOGIN", "plaintext"] in c.handshake
    assert any(line[0] == "SPID" for line in c.handshake)
    assert any(line[0] == "COOKIE" and len(line[1]) == 32 for line in c.handshake)
    base = "service=smtp\tnologin\tlip=192.0.2.1\trip=192.0.2.9"
    # PLAIN with an initial response, over TLS
    c.send("AUTH\t1\tPLAIN\t%s\tsecured\tresp=%s" % (
        base, b64("\0bob\0" + PASSWORDS["bob"])))
    assert c.read_line() == ["OK", "1", "user=bob"]
    # LOGIN, step by step
    c.send("AUTH\t2\tLOGIN\t%s\tsecured" % base)
    assert c.read_line() == ["CONT", "2", b64("Username:")]
    c.send("CONT\t2\t%s" % b64("Gina"))
    assert c.read_line() == ["CONT", "2", b64("Password:")]
    c.send("CONT\t2\t%s" % b64(PASSWORDS["gina"]))
    assert c.read_line() == ["OK", "2", "user=gina"]
    # PLAIN without initial response
    c.send("AUTH\t3\tPLAIN\t%s\tsecured" % base)
    assert c.read_line() == ["CONT", "3", ""]
    c.send("CONT\t3\t%s" % b64("\0carol\0" + PASSWORDS["carol"]))
    assert c.read_line() == ["OK", "3", "user=carol"]
    # a cancelled exchange says nothing
    c.send("AUTH\t4\tLOGIN\t%s\tsecured" % base)
    assert c.read_line()[:2] == ["CONT", "4"]
    c.send("CANCEL\t4")
    # failures: wrong password (delayed), plaintext without TLS from a
    # remote address, unknown mechanism, bad base64
    start = time.monotonic()
    c.send("AUTH\t5\tPLAIN\t%s\tsecured\tresp=%s" % (
        base, b64("\0bob\0wrong-password-xyz")))
    c.send("AUTH\t6\tPLAIN\t%s\tresp=%s" % (
        base, b64("\0bob\0" + PASSWORDS["bob"])))
    c.send("AUTH\t7\tCRAM-MD5\t%s" % base)
    c.send("AUTH\t8\tPLAIN\t%s\tsecured\tresp=!!!" % base)
    # from localhost, plaintext is fine without TLS
    c.send("AUTH\t9\tPLAIN\tservice=smtp\tlip=127.0.0.1\trip=127.0.0.1\tresp=%s"
           % b64("\0gina\0" + PASSWORDS["gina"]))
    got = {}
    for _ in range(5):
        line = c.read_line()
        got[int(line[1])] = line
    assert got[9] == ["OK", "9", "user=gina"]
    assert got[5][0] == "FAIL" and "user=bob" in got[5]
    assert got[6][0] == "FAIL" and any("Plaintext" in f for f in got[6])
    assert got[7][0] == "FAIL"
    assert got[8][0] == "FAIL"
    assert time.monotonic() - start >= DELAY * 0.9
    assert not any("temp" in line for line in got.values())
    c.close()


def test_dovecot_sasl_bad_clients(auth):
    # a client that doesn't start with VERSION 1 is dropped
    for first in ("AUTH\t1\tPLAIN\tservice=smtp", "VERSION\t2\t0", "GARBAGE"):
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.settimeout(10)
        s.connect(auth.sasl)
        s.sendall(first.encode() + b"\n")
        data = b""
        while True:
            chunk = s.recv(4096)
            if not chunk:
                break
            data += chunk
        assert b"DONE" in data
        s.close()
    c = DovecotSaslClient(auth.sasl)
    c.send("AUTH\tnotanumber\tPLAIN\tservice=smtp")
    with pytest.raises(EOFError):
        c.read_line()
    c.close()
    # a duplicate id closes the connection too
    c = DovecotSaslClient(auth.sasl)
    c.send("AUTH\t1\tLOGIN\tservice=smtp\tsecured")
    assert c.read_line()[:2] == ["CONT", "1"]
    c.send("AUTH\t1\tLOGIN\tservice=smtp\tsecured")
    with pytest.raises(EOFError):
        c.read_line()
    c.close()
    assert auth.proc.poll() is None


def _workers(proc):
    with open("/proc/%d/task/%d/children" % (proc.pid, proc.pid)) as f:
        return [int(p) for p in f.read().split()]


def test_slow_hash_does_not_block_the_loop(auth):
    """Password checks run in worker processes: a slow bcrypt doesn't
    hold up other requests."""
    slow = AuthConn(auth.login)
    fast = AuthConn(auth.userdb)
    start = time.monotonic()
    pass_req(slow, 1, "slow", PASSWORDS["slow"])
    time.sleep(0.02)
    fast.request("USER", 2, service="lmtp", user="bob")
    assert fast.reply()[:2] == ("USER", 2)
    fast_time = time.monotonic() - start
    assert slow.reply()[:2] == ("OK", 1)
    slow_time = time.monotonic() - start
    assert fast_time < slow_time
    slow.close()
    fast.close()


def test_worker_crash_tempfails_and_recovers(auth):
    workers = _workers(auth.proc)
    assert len(workers) >= 1
    conn = AuthConn(auth.login)
    pass_req(conn, 1, "slow", PASSWORDS["slow"])
    time.sleep(0.1)
    for pid in workers:
        os.kill(pid, 9)
    cmd, rid, fields = conn.reply()
    assert (cmd, rid, fields.get("temp")) == ("FAIL", 1, "1")
    # new workers answer the next requests
    deadline = time.monotonic() + 10
    while True:
        pass_req(conn, 2, "gina", PASSWORDS["gina"])
        cmd, rid, fields = conn.reply()
        if cmd == "OK":
            break
        assert fields.get("temp") == "1" and time.monotonic() < deadline
        time.sleep(0.3)
    assert set(_workers(auth.proc)).isdisjoint(workers)
    conn.close()
    assert "Exited unexpectedly" in read_log(auth)


def test_random_garbage_on_every_socket(auth):
    """Random bytes on each socket: the process survives and keeps
    answering well-formed requests."""
    import random
    rnd = random.Random(4242)
    alphabet = b"\t\\\n\x01=PASUERTHCNOKV0123 tnr\xff\x00"
    for path in (auth.login, auth.userdb, auth.sasl):
        for _ in range(20):
            s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            s.settimeout(5)
            s.connect(path)
            data = bytes(rnd.choice(alphabet) for _ in range(rnd.randint(1, 400)))
            try:
                s.sendall(data + b"\n")
                s.shutdown(socket.SHUT_WR)
                while s.recv(65536):
                    pass
            except (ConnectionResetError, BrokenPipeError, socket.timeout):
                pass
            s.close()
    assert auth.proc.poll() is None
    conn = AuthConn(auth.login)
    pass_req(conn, 1, "gina", PASSWORDS["gina"])
    assert conn.reply()[:2] == ("OK", 1)
    conn.close()
