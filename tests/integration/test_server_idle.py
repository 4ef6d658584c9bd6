"""Many idle authenticated IMAP connections (issue 4: 10,000 idle
connections must work; here 300 so that it runs in seconds under ASan).

One mail process per connection: the master starts 300 sessions, keeps
count of them per service and per user+IP, reaps them when they end, and
none of the idle sessions is dropped or stops answering. A share of the
connections is implicit TLS, proxied by the login process."""
import os
import re
import selectors
import socket
import ssl
import time

import pytest

from loftserver import LoftServer

USERS = 30
PER_USER = 10          # = mail_max_userip_connections (default 10)
TLS_EVERY = 5          # every 5th connection is imaps
PASSWORD = "idle-secret"


class Conn:
    def __init__(self, port, tls, user):
        self.user = user
        raw = socket.create_connection(("127.0.0.1", port), timeout=60)
        if tls:
            ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
            ctx.check_hostname = False
            ctx.verify_mode = ssl.CERT_NONE
            raw = ctx.wrap_socket(raw)
        self.sock = raw
        self.buf = b""

    def fileno(self):
        return self.sock.fileno()

    def send(self, data):
        self.sock.sendall(data)

    def lines(self):
        """complete lines received so far (non-blocking poll)"""
        out = []
        while b"\r\n" in self.buf:
            line, self.buf = self.buf.split(b"\r\n", 1)
            out.append(line)
        return out

    def feed(self):
        """read what is there; False on EOF"""
        try:
            data = self.sock.recv(65536)
        except ssl.SSLWantReadError:
            return True
        if not data:
            return False
        self.buf += data
        # TLS: more may sit decrypted in the SSL object
        while isinstance(self.sock, ssl.SSLSocket) and self.sock.pending():
            self.buf += self.sock.recv(65536)
        return True


def wait_all(conns, prefix, timeout=120):
    """wait until every connection has sent a line starting with prefix;
    returns {conn: that line}. Fails on EOF."""
    sel = selectors.DefaultSelector()
    pending = {}
    for c in conns:
        pending[c] = None
        c.sock.setblocking(False)
        sel.register(c, selectors.EVENT_READ)
    done = {}
    deadline = time.time() + timeout
    # lines may already be buffered from an earlier read
    for c in conns:
        for line in c.lines():
            if line.startswith(prefix):
                done[c] = line
    for c in done:
        sel.unregister(c)
    while len(done) < len(conns):
        left = deadline - time.time()
        assert left > 0, "%d of %d connections answered %r" % (
            len(done), len(conns), prefix)
        for key, _ in sel.select(min(left, 1.0)):
            c = key.fileobj
            assert c.feed(), "connection of %s dropped" % c.user
            for line in c.lines():
                if line.startswith(prefix) and c not in done:
                    done[c] = line
                    sel.unregister(c)
    sel.close()
    for c in conns:
        c.sock.setblocking(True)
    return done


def mail_children(server):
    """pids of the master's loft-imap children"""
    pids = []
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open("/proc/%s/stat" % d) as f:
                st = f.read()
        except OSError:
            continue
        comm = st[st.index("(") + 1:st.rindex(")")]
        ppid = int(st[st.rindex(")") + 2:].split()[1])
        if ppid == server.proc.pid and comm == "loft-imap":
            pids.append(int(d))
    return pids


def wait_children(server, count, timeout=30):
    deadline = time.time() + timeout
    while time.time() < deadline:
        n = len(mail_children(server))
        if n == count:
            return n
        time.sleep(0.1)
    return len(mail_children(server))


@pytest.fixture(scope="module")
def server():
    users = {"idle%d" % i: PASSWORD for i in range(1, USERS + 1)}
    # Dovecot's "high-performance" login mode, as for many TLS clients in
    # production: the login processes proxy every TLS connection for its
    # whole life, so one process per connection (service_count = 1)
    # would cap idle TLS connections at the login process_limit (100).
    # A second block of the same service adds to the first (Dovecot).
    s = LoftServer(users=users, protocols="imap", extra_config="""
service imap-login {
  service_count = 0
  client_limit = 1000
  process_min_avail = 2
}
""")
    s.start()
    yield s
    s.cleanup()


def login_all(server, count, user_offset=0, batch=50):
    """count connections logged in (LOGIN + SELECT), batch at a time"""
    conns = []
    for first in range(0, count, batch):
        part = []
        for i in range(first, min(count, first + batch)):
            user = "idle%d" % ((i + user_offset) % USERS + 1)
            tls = i % TLS_EVERY == TLS_EVERY - 1
            part.append(Conn(server.ports["imaps" if tls else "imap"],
                             tls, user))
        greetings = wait_all(part, b"* OK")
        assert len(greetings) == len(part)
        for c in part:
            c.send(b"a LOGIN %s %s\r\nb SELECT INBOX\r\n" % (
                c.user.encode(), PASSWORD.encode()))
        replies = wait_all(part, b"b ")
        bad = [r for r in replies.values() if not r.startswith(b"b OK")]
        assert not bad, bad[:5]
        conns += part
    return conns


def test_300_idle_connections(server):
    n = USERS * PER_USER
    start = time.time()
    conns = login_all(server, n)
    setup = time.time() - start
    # one mail process per connection, all alive
    assert wait_children(server, n) == n, server.log()[-3000:]

    # the master raised its soft fd limit to the hard one
    with open("/proc/%d/limits" % server.proc.pid) as f:
        line = [l for l in f if l.startswith("Max open files")][0]
    soft, hard = line.split()[3:5]
    assert soft == hard, line

    # idle for a moment: nothing is dropped, every session answers
    time.sleep(2)
    for i, c in enumerate(conns):
        c.send(b"n%d NOOP\r\n" % i)
    replies = wait_all(conns, b"n")
    assert all(re.match(rb"n\d+ OK", r) for r in replies.values())

    # every user is at mail_max_userip_connections (10): one more is
    # refused by the master's per user+IP count
    extra = Conn(server.ports["imap"], False, "idle1")
    wait_all([extra], b"* OK")
    extra.send(b"x LOGIN idle1 %s\r\n" % PASSWORD.encode())
    reply = wait_all([extra], b"x ")[extra]
    assert reply.startswith(b"x NO [UNAVAILABLE] Maximum number of "
                            b"connections from user+IP exceeded"), reply
    extra.sock.close()

    # end the sessions of idle1..idle5 (LOGOUT on 5 x 10 connections);
    # the master reaps them and counts them out again
    gone = [c for c in conns if c.user in
            {"idle%d" % i for i in range(1, 6)}]
    assert len(gone) == 5 * PER_USER
    for c in gone:
        c.send(b"z LOGOUT\r\n")
    wait_all(gone, b"z OK")
    for c in gone:
        c.sock.close()
    left = [c for c in conns if c not in gone]
    assert wait_children(server, len(left)) == len(left)

    # idle1 may log in again (its count went back to 0), the others'
    # sessions still answer
    again = login_all(server, 3, user_offset=0)
    for c in left + again:
        c.send(b"m NOOP\r\n")
    replies = wait_all(left + again, b"m ")
    assert all(r.startswith(b"m OK") for r in replies.values())
    for c in left + again:
        c.sock.close()
    assert wait_children(server, 0) == 0

    log = server.log()
    assert " Fatal: " not in log and " Panic: " not in log, log[-3000:]
    assert "process_limit" not in log
    # setup time is printed, not asserted (machine-dependent)
    print("%d logins in %.1f s" % (n, setup))


def test_process_limit_from_config():
    """service imap { process_limit } is the master's limit on sessions:
    the next login is refused, and a session that ends makes room"""
    users = {"pl%d" % i: PASSWORD for i in range(1, 5)}
    with LoftServer(users=users, protocols="imap",
                    extra_config="service imap {\n  process_limit = 3\n}\n"
                    ) as server:
        conns = []
        for i in range(3):
            c = Conn(server.ports["imap"], False, "pl%d" % (i + 1))
            conns.append(c)
        wait_all(conns, b"* OK")
        for c in conns:
            c.send(b"a LOGIN %s %s\r\n" % (c.user.encode(), PASSWORD.encode()))
        assert all(r.startswith(b"a OK")
                   for r in wait_all(conns, b"a ").values())
        extra = Conn(server.ports["imap"], False, "pl4")
        wait_all([extra], b"* OK")
        extra.send(b"a LOGIN pl4 %s\r\n" % PASSWORD.encode())
        reply = wait_all([extra], b"a ")[extra]
        assert reply.startswith(b"a NO"), reply
        assert server.wait_log("process_limit (3) reached")
        conns[0].send(b"z LOGOUT\r\n")
        wait_all([conns[0]], b"z OK")
        conns[0].sock.close()
        assert wait_children(server, 2) == 2
        again = Conn(server.ports["imap"], False, "pl4")
        wait_all([again], b"* OK")
        again.send(b"a LOGIN pl4 %s\r\n" % PASSWORD.encode())
        assert wait_all([again], b"a ")[again].startswith(b"a OK")
        for c in conns[1:] + [again]:
            c.sock.close()


def test_burst_of_logins_through_one_login_process():
    """200 clients of one login process send LOGIN at the same moment:
    all of them are checked and logged in (the auth service does not
    refuse a login process's concurrent requests beyond a small count)"""
    n = 200
    users = {"burst%d" % i: PASSWORD for i in range(1, 21)}
    with LoftServer(users=users, protocols="imap", extra_config="""
service imap-login {
  service_count = 0
  client_limit = 1000
  process_min_avail = 1
}
mail_max_userip_connections = 20
""") as server:
        conns = [Conn(server.ports["imap"], False, "burst%d" % (i % 20 + 1))
                 for i in range(n)]
        wait_all(conns, b"* OK")
        for c in conns:
            c.send(b"a LOGIN %s %s\r\n" % (c.user.encode(),
                                          PASSWORD.encode()))
        replies = wait_all(conns, b"a ")
        bad = [r for r in replies.values() if not r.startswith(b"a OK")]
        assert not bad, (len(bad), bad[:3])
        # one login process served them all
        assert server.log().count("imap-login: Info: Login: ") == n
        for c in conns:
            c.send(b"z LOGOUT\r\n")
        wait_all(conns, b"z OK")
        for c in conns:
            c.sock.close()


def test_fd_limit_warning():
    """the master raises its soft fd limit to the hard one; when even that
    can't hold a login process's client_limit clients (two fds each over
    TLS) it says so in the log"""
    import subprocess
    from loftserver import binary
    server = LoftServer(users={"fd1": PASSWORD}, protocols="imap",
                        extra_config="""
service imap-login {
  service_count = 0
  client_limit = 1000
}
""")
    try:
        proc = subprocess.Popen(
            ["prlimit", "--nofile=100:512", binary("loft"), "-F", "-c",
             server.config_path], stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL, start_new_session=True)
        server.proc = proc
        assert server.wait_log("service(imap-login): client_limit (1000) "
                               "needs up to 2032 file descriptors, but "
                               "RLIMIT_NOFILE is 512", timeout=15), \
            server.log()
        with open("/proc/%d/limits" % proc.pid) as f:
            line = [l for l in f if l.startswith("Max open files")][0]
        assert line.split()[3:5] == ["512", "512"], line
    finally:
        if server.proc is not None and server.proc.poll() is None:
            server.proc.terminate()
            server.proc.wait(timeout=10)
        server.proc = None
        server.cleanup()
