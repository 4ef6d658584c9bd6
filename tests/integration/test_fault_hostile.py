"""Hostile clients: each gets a bounded response, and a well-behaved client
(faultutil.Watchdog: NOOP round trips and fresh logins) is served
meanwhile, checked in the same test."""
import os
import re
import socket
import time

import pytest

from loftserver import LoftServer
from lmtpclient import LMTP, to_wire
from faultutil import (IMAP, Watchdog, imap_pids, vm_rss_kb, wait_for)

USERS = {"alice": "alice-secret", "bob": "bob-secret", "carl": "carl-secret"}


@pytest.fixture(scope="module")
def server():
    s = LoftServer(users=USERS)
    s.start()
    yield s
    s.cleanup()


def login(server, user="alice", timeout=10):
    c = IMAP(server.ports["imap"], timeout=timeout)
    c.login(user, USERS[user])
    return c


def raw(server, timeout=5):
    s = socket.create_connection(("127.0.0.1", server.ports["imap"]), timeout)
    s.settimeout(timeout)
    f = s.makefile("rb")
    assert f.readline().startswith(b"* OK")
    return s, f


def read_reply(f, tag):
    """Lines up to the tagged reply (or EOF/BYE); returns them."""
    lines = []
    while True:
        line = f.readline()
        if not line:
            return lines
        lines.append(line)
        if line.startswith(tag + b" ") or line.startswith(b"* BYE"):
            return lines


def test_slowloris(server):
    """Connections sending one byte per second, before and after login,
    don't slow down anyone else; the post-login ones still get their
    command answered once it is complete."""
    with Watchdog(server.ports["imap"], "bob", USERS["bob"]) as wd:
        pre = [raw(server) for _ in range(5)]
        post = []
        for _ in range(3):
            c = login(server)
            post.append(c)
        line = b"s1 LOGIN alice alice-secret\r\n"
        cmd = b"s2 NOOP\r\n"
        for i in range(4):
            for s, _ in pre:
                s.sendall(line[i:i + 1])
            for c in post:
                c.send(cmd[i:i + 1])
            time.sleep(1.0)
        for s, f in pre:
            s.sendall(line[4:])
            lines = read_reply(f, b"s1")
            assert lines and lines[-1].startswith(b"s1 OK"), lines
            s.close()
        for c in post:
            c.send(cmd[4:])
            line = c.readline()
            while not line.startswith(b"s2 "):
                line = c.readline()
            assert line.startswith(b"s2 OK"), line
            c.close()
    wd.check()


def test_never_reading_client_huge_fetch(server):
    """A client that pipelines FETCHes of many MB and never reads: the
    imap process's memory stays bounded (output buffer), everyone else
    is served, and the process goes away when the client does."""
    c = login(server, "carl")
    c.ok("CREATE Big")
    big = (b"Subject: big\r\n\r\n" + (b"x" * 1022 + b"\r\n") * 2048)  # 2 MB
    for _ in range(4):
        c.ok("APPEND Big {%d}" % len(big), big)
    c.ok("LOGOUT")
    c.close()

    before = imap_pids(server.proc.pid)
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    s.connect(("127.0.0.1", server.ports["imap"]))
    s.settimeout(10)
    f = s.makefile("rb")
    f.readline()
    s.sendall(b"a LOGIN carl carl-secret\r\n")
    assert f.readline().startswith(b"a OK")
    pids = wait_for(lambda: imap_pids(server.proc.pid) - before, 5)
    assert len(pids) == 1, pids
    pid = pids.pop()
    s.sendall(b"b SELECT Big\r\n")
    while not f.readline().startswith(b"b OK"):
        pass
    rss0 = vm_rss_kb(pid)
    # 40 x 8 MB = 320 MB of output requested, none of it read
    s.sendall(b"".join(b"f%d FETCH 1:* BODY[]\r\n" % i for i in range(40)))
    peak = rss0
    with Watchdog(server.ports["imap"], "bob", USERS["bob"]) as wd:
        deadline = time.time() + 3
        while time.time() < deadline:
            peak = max(peak, vm_rss_kb(pid))
            time.sleep(0.1)
    wd.check()
    print("imap VmRSS %d kB -> peak %d kB" % (rss0, peak))
    assert peak - rss0 < 64 * 1024, (rss0, peak)
    f.close()
    s.close()
    assert wait_for(lambda: not os.path.exists("/proc/%d/status" % pid) or
                    "State:\tZ" in open("/proc/%d/status" % pid).read(), 15), \
        "imap process stays after its client is gone"


def mime_bomb(parts):
    out = [b"Message-ID: <bomb-%d@loft.test>\r\nMIME-Version: 1.0\r\n"
           b"Content-Type: multipart/mixed; boundary=b\r\n\r\n" % parts]
    out += [b"--b\r\n\r\nx\r\n"] * parts
    out.append(b"--b--\r\n")
    return b"".join(out)


def nest_bomb(depth):
    out = [b"Message-ID: <nest-%d@loft.test>\r\nMIME-Version: 1.0\r\n" % depth]
    for i in range(depth):
        out.append(b"Content-Type: multipart/mixed; boundary=n%d\r\n\r\n"
                   b"--n%d\r\n" % (i, i))
    out.append(b"Content-Type: text/plain\r\n\r\ninnermost\r\n")
    for i in reversed(range(depth)):
        out.append(b"--n%d--\r\n" % i)
    return b"".join(out)


def test_mime_bombs(server):
    """A 100k-part message and a 5000-deep nesting, delivered and
    FETCHed: BODYSTRUCTURE and part fetches come back within seconds,
    with a bounded size, while others are served."""
    lmtp = LMTP("127.0.0.1", server.ports["lmtp"], timeout=60)
    lmtp.lhlo()
    for msg in (mime_bomb(100000), nest_bomb(5000)):
        wire, _ = to_wire(msg)
        _, replies = lmtp.deliver("s@loft.test", ["bob"], wire)
        assert replies[0][0] == 250, replies
    lmtp.quit()
    with Watchdog(server.ports["imap"], "alice", USERS["alice"]) as wd:
        c = login(server, "bob", timeout=30)
        c.ok("SELECT INBOX")
        _, untagged = c.ok("SEARCH HEADER Message-ID bomb-")
        n = int(untagged[0].split()[2])
        for item in ("BODYSTRUCTURE", "BODY", "BODY.PEEK[50000]",
                     "BODY.PEEK[99999.MIME]", "BODY.PEEK[1.1.1]"):
            start = time.time()
            st, line, untagged = c.cmd("FETCH %d (%s)" % (n, item))
            took = time.time() - start
            size = sum(len(u) for u in untagged)
            print("%s: %s in %.2f s, %d bytes" % (item, st, took, size))
            assert st in ("OK", "NO"), line
            assert took < 10, (item, took)
            assert size < 20 * 1024 * 1024, (item, size)
        n2 = n + 1
        start = time.time()
        st, line, untagged = c.cmd("FETCH %d (BODYSTRUCTURE BODY[TEXT])" % n2)
        assert st == "OK" and time.time() - start < 10, line
        st, line, _ = c.cmd("SEARCH BODY innermost")
        assert st == "OK", line
        c.ok("LOGOUT")
        c.close()
    wd.check()


def test_huge_literal(server):
    """A 1 GB literal is refused before anything is read, pre-auth
    (LOGIN) and post-auth (APPEND), synchronising and LITERAL+."""
    with Watchdog(server.ports["imap"], "bob", USERS["bob"]) as wd:
        s, f = raw(server)
        s.sendall(b"a LOGIN {1073741824}\r\n")
        line = f.readline()
        assert not line.startswith(b"+"), line
        assert re.match(rb"(a (NO|BAD)|\* BYE) ", line), line
        if not line.startswith(b"* BYE"):
            # the connection is still usable
            s.sendall(b"b NOOP\r\n")
            assert f.readline().startswith(b"b OK")
            s.sendall(b"c LOGIN {1073741824+}\r\n")
            lines = read_reply(f, b"c")
            assert lines and re.match(rb"(c (NO|BAD)|\* BYE) ", lines[-1]), lines
        s.close()

        c = login(server, "alice")
        c.send(b"d APPEND INBOX {1073741824}\r\n")
        line = c.readline()
        assert not line.startswith(b"+"), line
        assert re.match(rb"d (NO|BAD) ", line), line
        assert c.cmd("NOOP")[0] == "OK"
        start = time.time()
        # the literal's data is message text, never commands
        c.send(b"e APPEND INBOX {1073741824+}\r\nSubject: x\r\n\r\n"
               b"z1 CREATE Injected\r\nz2 LOGOUT\r\n")
        try:
            line = c.readline()
            while not (line.startswith(b"e ") or line.startswith(b"* BYE")):
                line = c.readline()
            assert re.match(rb"(e (NO|BAD)|\* BYE) ", line), line
        except EOFError:
            pass
        assert time.time() - start < 5
        time.sleep(0.3)
        c.close()
        assert not os.path.exists(os.path.join(server.maildir("alice"),
                                               ".Injected"))
    wd.check()


def test_deep_nesting(server):
    """Deeply nested parentheses get BAD (or BYE), quickly."""
    with Watchdog(server.ports["imap"], "bob", USERS["bob"]) as wd:
        for depth in (200, 5000, 30000):
            c = login(server, "alice")
            c.ok("SELECT INBOX")
            for cmd in ("SEARCH " + "(" * depth + "ALL" + ")" * depth,
                        "FETCH 1 " + "(" * depth + "FLAGS" + ")" * depth,
                        "STORE 1 FLAGS " + "(" * depth + ")" * depth):
                start = time.time()
                try:
                    st, line, untagged = c.cmd(cmd)
                except EOFError:
                    break
                assert time.time() - start < 3, (depth, cmd[:20])
                if any(u.startswith(b"* BYE") for u in untagged):
                    break
                if depth > 100:
                    assert st in ("BAD", "NO"), (depth, cmd[:20], line)
            c.close()
        s, f = raw(server)
        s.sendall(b"p LOGIN " + b"(" * 5000 + b"\r\n")
        lines = read_reply(f, b"p")
        assert lines and re.match(rb"(p BAD|\* BYE) ", lines[-1]), lines
        s.close()
    wd.check()


BAD_NAMES = [
    b'"\xff\xfe"',            # not UTF-8
    b'"caf\xc3"',             # truncated UTF-8
    b'"caf\xc3\xa9"',         # 8-bit without UTF8=ACCEPT
    b'"&"',                   # unterminated mUTF-7 shift
    b'"&AGE"',                # unterminated base64
    b'"&AGE-"',               # "a" encoded: must be plain ASCII
    b'"&2D0-"',               # lone surrogate
    b'"&Jjo!-"',              # bad base64 char
    b'"x&ZeVnLIqe"',          # unterminated after valid text
    b'"\x01ctl"',             # control character
]


def maildir_tree(path):
    out = set()
    for root, dirs, files in os.walk(path):
        for d in dirs:
            out.add(os.path.relpath(os.path.join(root, d), path))
    return out


def test_bad_mailbox_names(server):
    c = login(server, "alice")
    md = server.maildir("alice")
    tree = maildir_tree(md)
    with Watchdog(server.ports["imap"], "bob", USERS["bob"]) as wd:
        for name in BAD_NAMES:
            for cmd in (b"CREATE", b"SELECT", b"RENAME INBOX", b"STATUS"):
                args = name + (b" (MESSAGES)" if cmd == b"STATUS" else b"")
                st, line, untagged = c.cmd(cmd + b" " + args)
                assert st in ("NO", "BAD"), (cmd, name, line)
            assert maildir_tree(md) == tree, (name, maildir_tree(md) - tree)
        # a valid mUTF-7 name works (the check above can fail)
        c.ok('CREATE "&ZeVnLIqe-"')
        assert maildir_tree(md) != tree
        c.ok('SELECT "&ZeVnLIqe-"')
    wd.check()
    c.close()


def test_userip_connection_limit():
    """mail_max_userip_connections: the connection over the limit gets
    Dovecot's NO [UNAVAILABLE] Maximum number of connections from user+IP
    exceeded (mail_max_userip_connections=N); other users and the
    existing sessions are served; a slot frees when a session ends."""
    s = LoftServer(users=USERS, extra_config="mail_max_userip_connections = 3\n")
    try:
        s.start()
        sessions = [login(s, "alice") for _ in range(3)]
        with Watchdog(s.ports["imap"], "bob", USERS["bob"]) as wd:
            for _ in range(2):
                c = IMAP(s.ports["imap"])
                st, line, _ = c.cmd("LOGIN alice alice-secret")
                assert st == "NO", line
                assert b"[UNAVAILABLE] Maximum number of connections from " \
                    b"user+IP exceeded (mail_max_userip_connections=3)" in line, line
                c.close()
            for c in sessions:
                c.ok("NOOP")
            # POP3 is counted on its own, as in Dovecot
            p = socket.create_connection(("127.0.0.1", s.ports["pop3"]), 10)
            pf = p.makefile("rb")
            assert pf.readline().startswith(b"+OK")
            p.sendall(b"USER alice\r\n")
            assert pf.readline().startswith(b"+OK")
            p.sendall(b"PASS alice-secret\r\n")
            assert pf.readline().startswith(b"+OK")
            p.close()
        wd.check()
        pids = imap_pids(s.proc.pid)
        sessions[0].ok("LOGOUT")
        sessions[0].close()
        assert wait_for(lambda: len(imap_pids(s.proc.pid)) < len(pids), 10)
        time.sleep(0.2)  # the master reaps the session
        c = login(s, "alice")
        c.ok("NOOP")
        c.close()
        assert "Maximum number of connections from user+IP exceeded" in s.log()
    finally:
        s.cleanup()


def test_process_limit():
    """process_limit of the imap service reached: new logins are refused
    (or wait), the existing sessions keep working, and a freed slot is
    usable again."""
    s = LoftServer(users=USERS, extra_config="mail_max_userip_connections = 0\n"
                   "service imap {\n  process_limit = 3\n}\n")
    try:
        s.start()
        sessions = [login(s, u) for u in ("alice", "bob", "alice")]
        c = IMAP(s.ports["imap"])
        st, line, _ = c.cmd("LOGIN carl carl-secret")
        assert st == "NO", line
        c.close()
        for c in sessions:
            c.ok("NOOP")
        assert "process_limit (3) reached" in s.log()
        pids = imap_pids(s.proc.pid)
        sessions[0].ok("LOGOUT")
        sessions[0].close()
        assert wait_for(lambda: len(imap_pids(s.proc.pid)) < len(pids), 10)
        time.sleep(0.2)
        c = login(s, "carl")
        c.ok("NOOP")
        c.close()
        for c in sessions[1:]:
            c.ok("NOOP")
            c.close()
    finally:
        s.cleanup()
