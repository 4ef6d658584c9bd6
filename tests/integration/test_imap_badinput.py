"""loft-imap with hostile or broken clients: garbage, over-long lines,
oversized literals, endless BADs, slow readers, early disconnects. The
process must answer BAD/NO or close cleanly, never crash."""
import os
import random
import re
import select
import time

import pytest

from test_imap_harness import ImapHome, assert_no_sanitizer_errors


@pytest.fixture
def home():
    h = ImapHome(extra_config="imap_max_line_length = 2k\n")
    yield h
    h.cleanup()


def session(home):
    s = home.session()
    assert s.greeting().startswith(b"* PREAUTH")
    return s


def finish(s):
    """Log out (if still connected) and check the process ended well."""
    try:
        s.cmd("LOGOUT", timeout=5)
    except (EOFError, BrokenPipeError, ConnectionResetError, TimeoutError):
        pass
    assert s.wait() == 0
    assert_no_sanitizer_errors(s.log_text())


def test_too_long_line_skipped(home):
    s = session(home)
    s.send(b"a1 LIST \"\" " + b"x" * 5000 + b"\r\n")
    line = s.readline()
    assert line.startswith(b"a1 BAD Error in IMAP command LIST: Too long argument"), line
    _, tagged = s.cmd("NOOP", tag="a2")
    assert tagged.startswith(b"a2 OK")
    # a long line of garbage without a tag
    s.send(b"x" * 5000 + b"\r\n")
    line = s.readline()
    assert line.startswith(b"* BAD Error in IMAP tag: Too long argument"), line
    _, tagged = s.cmd("NOOP", tag="a3")
    assert tagged.startswith(b"a3 OK")
    finish(s)


def test_literal_limits(home):
    s = session(home)
    # synchronizing literal too big for a non-APPEND command: refused
    # before any data, connection usable
    s.send(b"a1 SELECT {100000}\r\n")
    line = s.readline()
    assert line.startswith(b"a1 BAD Error in IMAP command SELECT: Literal size too large"), line
    _, tagged = s.cmd("NOOP", tag="a2")
    assert tagged.startswith(b"a2 OK")
    # a literal inside the limit works
    _, tagged = s.cmd(b"CREATE {5+}\r\nabcde", tag="a3")
    assert tagged.startswith(b"a3 OK")
    # LITERAL+ too big for a non-APPEND command: its data is already on
    # the way, so loft says BYE and closes
    s.send(b"a4 SELECT {100000+}\r\n")
    line = s.readline()
    assert line.startswith(b"a4 BAD Error in IMAP command SELECT: Literal size too large"), line
    assert s.readline() == b"* BYE Literal size too large."
    assert s.closed()
    assert s.wait() == 0


def test_too_many_bad_commands(home):
    s = session(home)
    for i in range(19):
        _, tagged = s.cmd("BOGUS%d" % i)
        assert b"BAD" in tagged
    # a good command resets the counter
    s.ok("NOOP")
    for i in range(19):
        _, tagged = s.cmd("BOGUS")
        assert b"BAD" in tagged
    s.send(b"last BOGUS\r\n")
    assert s.readline().startswith(b"last BAD")
    assert s.readline() == b"* BYE Too many invalid IMAP commands."
    assert s.closed()
    assert s.wait() == 0
    assert "Disconnected: Too many invalid IMAP commands." in s.log_text()


def test_random_garbage_never_crashes(home):
    rnd = random.Random(4242)
    alphabet = b'aX ()"\\{}+0123456789\r\n[]*%~\x00\x80\xff.:<>'
    s = session(home)
    s.ok("SELECT INBOX")
    s.ok(b"APPEND INBOX {20+}\r\nSubject: x\r\n\r\nbody\r\n")
    words = [b"FETCH", b"STORE", b"SEARCH", b"LIST", b"SELECT", b"UID",
             b"BODY[", b"1:*", b"FLAGS", b"NOT", b"OR", b"{3}", b"{2+}",
             b"APPEND", b"COPY", b"IDLE", b"DONE", b"STATUS", b"ID"]
    for i in range(400):
        parts = []
        for _ in range(rnd.randint(0, 8)):
            if rnd.random() < 0.5:
                parts.append(rnd.choice(words))
            else:
                parts.append(bytes(rnd.choice(alphabet)
                                   for _ in range(rnd.randint(1, 6))))
        line = b"g%d " % i + b" ".join(parts) + b"\r\n"
        try:
            s.send(line)
        except OSError:
            break
        if i % 25 == 0:
            # drain output so the server never blocks on us
            end = time.time() + 0.05
            while time.time() < end:
                r, _, _ = select.select([s.sock], [], [], 0.01)
                try:
                    if r and not s.sock.recv(65536):
                        break
                except OSError:
                    break
    # whatever state it's in (maybe IDLE, maybe waiting for a literal,
    # maybe disconnected for too many BADs), it must end cleanly
    try:
        s.send(b"\r\nDONE\r\nzz NOOP\r\n")
    except (BrokenPipeError, ConnectionResetError):
        pass
    try:
        s.sock.shutdown(1)
        end = time.time() + 10
        while time.time() < end:
            r, _, _ = select.select([s.sock], [], [], 0.5)
            if r and not s.sock.recv(65536):
                break
    except OSError:
        pass
    assert s.wait() == 0
    assert_no_sanitizer_errors(s.log_text())


def test_garbage_bytes(home):
    s = session(home)
    s.send(bytes(range(256)) * 4 + b"\r\n")
    s.send(b"\x00\x00\x00 NOOP\r\n")
    s.send(b"ok NOOP\r\n")
    lines = []
    while True:
        line = s.readline()
        lines.append(line)
        if line.startswith(b"ok "):
            break
    assert all(b" BAD " in l for l in lines[:-1]), lines
    assert len(lines) >= 2
    assert lines[-1].startswith(b"ok OK")
    finish(s)


def test_nesting_and_nul_names(home):
    s = session(home)
    _, tagged = s.cmd("SEARCH " + "(" * 200 + "ALL" + ")" * 200)
    assert b"BAD" in tagged
    s.ok("SELECT INBOX")
    _, tagged = s.cmd("SEARCH " + "NOT " * 500 + "ALL")
    assert b"BAD" in tagged
    _, tagged = s.cmd(b"CREATE {3+}\r\na\x00b")
    assert b" NO " in tagged
    _, tagged = s.cmd("FETCH 1:* (" + "FLAGS " * 300 + ")")
    assert b"BAD" in tagged
    finish(s)


def test_disconnect_mid_literal_and_mid_command(home):
    s = session(home)
    s.send(b"a1 APPEND INBOX {1000+}\r\npartial")
    s.sock.close()
    assert s.wait() == 0
    assert "Disconnected: Connection closed" in s.log_text()
    s = session(home)
    s.send(b"a1 NOO")
    s.sock.close()
    assert s.wait() == 0


def test_slow_reader_big_fetch(home):
    """A client that doesn't read: the server stops producing output at
    its buffer limit and completes when the client reads."""
    s = session(home)
    s.ok("SELECT INBOX")
    body = (b"0123456789" * 10 + b"\r\n") * 2000     # ~200 KB
    msg = b"Subject: big\r\n\r\n" + body
    for _ in range(10):
        s.ok(b"APPEND INBOX {%d+}\r\n" % len(msg) + msg)
    s.sock.setsockopt(__import__("socket").SOL_SOCKET,
                      __import__("socket").SO_RCVBUF, 4096)
    s.send(b"f1 FETCH 1:* BODY.PEEK[]\r\nf2 NOOP\r\n")
    time.sleep(1.0)
    # the process must not have buffered all 2 MB + in memory for us:
    # check its RSS stays well below 10 copies of the output
    with open("/proc/%d/status" % s.proc.pid) as f:
        rss_kb = int(re.search(r"VmRSS:\s+(\d+)", f.read()).group(1))
    got = 0
    untagged, tagged = s.read_until_tag("f1", timeout=30)
    assert tagged.startswith(b"f1 OK Fetch completed"), tagged
    assert len(untagged) == 10
    for line in untagged:
        assert line.endswith(msg + b")")
    _, tagged = s.read_until_tag("f2")
    assert tagged.startswith(b"f2 OK")
    assert rss_kb < 200 * 1024, rss_kb
    finish(s)


def test_idle_long_line(home):
    s = session(home)
    s.send(b"i1 IDLE\r\n")
    assert s.readline() == b"+ idling"
    s.send(b"x" * 10000)
    assert s.closed()
    assert s.wait() == 0


def test_reply_injection(home):
    """Client text echoed in a reply can't start a new response line."""
    s = session(home)
    _, tagged = s.cmd(b"SELECT {12+}\r\nx\r\n* OK evil")
    assert tagged.startswith(b"t1 NO [NONEXISTENT] Mailbox doesn't exist: x??* OK evil"), tagged
    s.ok("SELECT INBOX")
    _, tagged = s.cmd(b"SEARCH CHARSET {7+}\r\na\r\nb OK ALL", tag="cs")
    assert tagged.startswith(b"cs NO [BADCHARSET (US-ASCII UTF-8)] "
                             b"Unsupported charset a??b OK"), tagged
    _, tagged = s.cmd(b"APPEND {4+}\r\nx\r\ny {1+}\r\nz")
    assert b" NO [TRYCREATE] Mailbox doesn't exist: x??y" in tagged, tagged
    _, tagged = s.cmd("NOOP", tag="last")
    assert tagged.startswith(b"last OK")
    finish(s)
