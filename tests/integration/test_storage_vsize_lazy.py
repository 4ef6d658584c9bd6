"""A message file without ,W= in its name (nor a W field in
dovecot-uidlist) is not read when the index is built: the first SELECT of
such a Maildir opens none of its message files (strace) and the index
rows hold the "unknown" vsize (-1). The vsize is computed from the file
at the first need and kept in the index: FETCH RFC822.SIZE, SEARCH
LARGER/SMALLER, COPY (the new file's W=) and POP3 LIST/STAT give the
size a client receives (len of BODY[] / RETR), and a later session opens
no message file to give them again."""
import os
import poplib
import re
import sqlite3
import subprocess
import time

import pytest

from loftserver import LoftServer
from faultutil import IMAP, imap_pids, wait_for

# corpus messages have header lines longer than poplib's 2048
poplib._MAXLINE = 1 << 20

CORPUS = os.environ.get("LOFT_CORPUS") or os.path.join(
    os.path.dirname(__file__), "..", "..", "..", "shared", "corpus")
SA = os.path.join(CORPUS, "spamassassin", "Maildir", "cur")

USERS = {u: u + "-secret" for u in
         ("cold", "search", "copy", "pop", "second")}
TAG = ".vsizetest"   # in every message file name


def messages():
    """(data, flags): bare LF, CRLF, mixed, no final newline, CR CR LF,
    a big one, and a few corpus messages (bare LF) as they are."""
    msgs = [
        (b"From: a@example.com\nSubject: lf\n\nline one\nline two\n", "S"),
        (b"From: a@example.com\r\nSubject: crlf\r\n\r\nbody\r\n", ""),
        (b"From: a@example.com\r\nSubject: mixed\n\r\nx\ny\r\n", "F"),
        (b"Subject: no final newline\n\nabc", ""),
        (b"Subject: cr cr lf\r\r\n\nbody\n", "S"),
        (b"Subject: big\n\n" + b"0123456789 abcdefghij\n" * 5000, ""),
    ]
    for name in sorted(os.listdir(SA))[:6]:
        with open(os.path.join(SA, name), "rb") as f:
            msgs.append((f.read(), "S"))
    return msgs


def served_size(data):
    # what IMAP serves: a LF without a CR before it gets one
    return len(re.sub(rb"(?<!\r)\n", b"\r\n", data))


MSGS = messages()


@pytest.fixture(scope="module")
def server():
    s = LoftServer(users=USERS)
    s.start()
    uid, gid = s.mail_uid_gid()
    for user in USERS:
        md = s.maildir(user)
        for sub in ("", "/cur", "/new", "/tmp"):
            os.makedirs(md + sub, exist_ok=True)
            os.chown(md + sub, uid, gid)
        for i, (data, flags) in enumerate(MSGS):
            # no ,S= and no ,W=: only the file can tell the vsize
            path = "%s/cur/%d.M%dP7%s:2,%s" % (md, 1600000000 + i, i, TAG,
                                               flags)
            with open(path, "wb") as f:
                f.write(data)
            os.chown(path, uid, gid)
    yield s
    s.cleanup()


def login(server, user):
    """A logged-in IMAP client and the pid of its (new) loft-imap."""
    before = imap_pids(server.proc.pid)
    c = IMAP(server.ports["imap"], timeout=60)
    c.login(user, USERS[user])
    assert wait_for(lambda: imap_pids(server.proc.pid) - before, 10)
    new = imap_pids(server.proc.pid) - before
    assert len(new) == 1, new
    return c, new.pop()


def logout(server, c, pid):
    c.ok("LOGOUT")
    c.close()
    assert wait_for(lambda: pid not in imap_pids(server.proc.pid), 10)


class Trace:
    """strace of the files a process opens while a block runs."""

    def __init__(self, server, pid):
        self.out = os.path.join(server.dir, "strace-%d-%f" % (pid, time.time()))
        self.pid = pid

    def __enter__(self):
        self.proc = subprocess.Popen(
            ["strace", "-f", "-qq", "-e", "trace=open,openat,openat2",
             "-o", self.out, "-p", str(self.pid)],
            stderr=subprocess.DEVNULL)
        # attached once the process shows a tracer
        assert wait_for(lambda: self._traced(), 5)
        return self

    def _traced(self):
        with open("/proc/%d/status" % self.pid) as f:
            return re.search(r"TracerPid:\s+[1-9]", f.read()) is not None

    def __exit__(self, *exc):
        time.sleep(0.2)
        self.proc.terminate()
        self.proc.wait()

    def opened(self):
        with open(self.out) as f:
            return re.findall(r'open\w*\([^"]*"([^"]+)"', f.read())

    def opened_messages(self):
        return [p for p in self.opened() if TAG in p]


def index_vsizes(server, user):
    """{uid: vsize} of INBOX's rows in the index."""
    path = os.path.join(server.maildir(user), "loft.index.sqlite")
    db = sqlite3.connect("file:%s?mode=ro" % path, uri=True, timeout=10)
    try:
        rows = db.execute("SELECT m.uid, m.vsize FROM messages m JOIN "
                          "mailboxes b ON m.mailbox = b.id WHERE b.dir = ''"
                          ).fetchall()
    finally:
        db.close()
    return dict(rows)


def fetch_items(untagged, item):
    """{uid: value} of a numeric FETCH item."""
    out = {}
    for line in untagged:
        m = re.search(rb"UID (\d+)", line)
        v = re.search(item.encode() + rb" (\d+)", line)
        if m and v:
            out[int(m.group(1))] = int(v.group(1))
    return out


def fetch_bodies(c):
    """{uid: BODY[] as received}."""
    _, untagged = c.ok("FETCH 1:* (UID BODY.PEEK[])")
    out = {}
    for line in untagged:
        m = re.match(rb"\* \d+ FETCH \(UID (\d+) BODY\[\] \{(\d+)\}\r\n",
                     line)
        if m:
            start = m.end()
            out[int(m.group(1))] = line[start:start + int(m.group(2))]
    return out


def expected_by_uid(bodies):
    """uid -> size a client receives; checked against our own count."""
    assert len(bodies) == len(MSGS)
    want = sorted(served_size(d) for d, _ in MSGS)
    assert sorted(len(b) for b in bodies.values()) == want
    return {uid: len(b) for uid, b in bodies.items()}


def test_cold_select_reads_no_message_then_fetch_sizes(server):
    c, pid = login(server, "cold")
    with Trace(server, pid) as t:
        _, untagged = c.ok("SELECT INBOX")
    assert b"* %d EXISTS\r\n" % len(MSGS) in untagged
    # the trace works: the scan opened cur/ and the index
    assert any(p.endswith("/Maildir/cur") for p in t.opened()), t.opened()
    assert t.opened_messages() == []
    vs = index_vsizes(server, "cold")
    assert len(vs) == len(MSGS) and set(vs.values()) == {-1}, vs

    with Trace(server, pid) as t:
        _, untagged = c.ok("FETCH 1:* (UID RFC822.SIZE)")
    sizes = fetch_items(untagged, "RFC822.SIZE")
    # computed now, each file read once
    opened = t.opened_messages()
    assert len(opened) == len(MSGS) and len(set(opened)) == len(MSGS)
    bodies = fetch_bodies(c)
    assert sizes == expected_by_uid(bodies)
    # asked again in the same session: no read
    with Trace(server, pid) as t:
        _, untagged = c.ok("FETCH 1:* (UID RFC822.SIZE)")
    assert fetch_items(untagged, "RFC822.SIZE") == sizes
    assert t.opened_messages() == []
    logout(server, c, pid)
    # kept in the index
    assert index_vsizes(server, "cold") == sizes

    # a later session: known from the index, no file opened for them
    c, pid = login(server, "cold")
    with Trace(server, pid) as t:
        c.ok("SELECT INBOX")
        _, untagged = c.ok("FETCH 1:* (UID RFC822.SIZE)")
        c.ok("SEARCH LARGER 100")
    assert fetch_items(untagged, "RFC822.SIZE") == sizes
    assert t.opened_messages() == []
    logout(server, c, pid)


def search(c, criteria):
    _, untagged = c.ok("UID SEARCH " + criteria)
    for line in untagged:
        if line.startswith(b"* SEARCH"):
            return {int(x) for x in line.split()[2:]}
    raise AssertionError(untagged)


def test_search_larger_smaller(server):
    c, pid = login(server, "search")
    c.ok("SELECT INBOX")
    assert set(index_vsizes(server, "search").values()) == {-1}
    # SEARCH computes the sizes itself (nothing fetched before)
    found = {}
    for v in sorted({served_size(d) for d, _ in MSGS}):
        found[v] = (search(c, "LARGER %d" % (v - 1)),
                    search(c, "LARGER %d" % v),
                    search(c, "SMALLER %d" % (v + 1)),
                    search(c, "SMALLER %d" % v))
    sizes = expected_by_uid(fetch_bodies(c))
    allu = set(sizes)
    for v, (l1, l0, s1, s0) in found.items():
        assert l1 == {u for u in allu if sizes[u] > v - 1}
        assert l0 == {u for u in allu if sizes[u] > v}
        assert s1 == {u for u in allu if sizes[u] < v + 1}
        assert s0 == {u for u in allu if sizes[u] < v}
    logout(server, c, pid)
    assert index_vsizes(server, "search") == sizes


def test_copy_names_real_vsize(server):
    c, pid = login(server, "copy")
    c.ok("CREATE Dest")
    c.ok("SELECT INBOX")
    c.ok("COPY 1:* Dest")
    sizes = expected_by_uid(fetch_bodies(c))
    logout(server, c, pid)
    dest = os.path.join(server.maildir("copy"), ".Dest")
    names = []
    for sub in ("cur", "new"):
        names += [os.path.join(dest, sub, n)
                  for n in os.listdir(os.path.join(dest, sub))]
    assert len(names) == len(MSGS)
    by_content = {served_size(d): d for d, _ in MSGS}
    for path in names:
        m = re.search(r",S=(\d+),W=(\d+)", os.path.basename(path))
        assert m, path
        with open(path, "rb") as f:
            data = f.read()
        assert int(m.group(1)) == len(data)
        assert int(m.group(2)) == served_size(data)
        assert served_size(data) in by_content
    assert sorted(sizes.values()) == sorted(
        int(re.search(r",W=(\d+)", p).group(1)) for p in names)
    # Dest's sizes come from W=, and are what its BODY[] gives
    c, pid = login(server, "copy")
    with Trace(server, pid) as t:
        c.ok("SELECT Dest")
        _, untagged = c.ok("FETCH 1:* (UID RFC822.SIZE)")
    assert t.opened_messages() == []
    assert fetch_items(untagged, "RFC822.SIZE") == \
        expected_by_uid(fetch_bodies(c))
    logout(server, c, pid)


def test_pop3_list_stat(server):
    p = poplib.POP3("127.0.0.1", server.ports["pop3"], timeout=60)
    try:
        p.user("pop")
        p.pass_(USERS["pop"])
        count, total = p.stat()
        _, listing, _ = p.list()
        sizes = [int(x.split()[1]) for x in listing]
        assert count == len(MSGS) and len(sizes) == len(MSGS)
        assert total == sum(sizes)
        for i, size in enumerate(sizes):
            _, lines, octets = p.retr(i + 1)
            # RETR's data is the message with CRLF line endings (and
            # dot-stuffed, which poplib undoes): its length is the size
            body = b"\r\n".join(lines) + b"\r\n"
            assert size == len(body) or size == len(body) - 2, (i, size)
        assert sorted(sizes) == sorted(served_size(d) for d, _ in MSGS)
        p.quit()
    finally:
        p.close()
    # written to the index at the login
    vs = index_vsizes(server, "pop")
    assert sorted(vs.values()) == sorted(sizes)


def test_second_session_while_first_open(server):
    """One session computes the sizes; another one, open since before,
    takes them from the index instead of reading the files."""
    c1, pid1 = login(server, "second")
    c1.ok("SELECT INBOX")
    p = poplib.POP3("127.0.0.1", server.ports["pop3"], timeout=60)
    try:
        p.user("second")
        p.pass_(USERS["second"])
        _, listing, _ = p.list()
        p.quit()
    finally:
        p.close()
    pop_sizes = sorted(int(x.split()[1]) for x in listing)
    with Trace(server, pid1) as t:
        _, untagged = c1.ok("FETCH 1:* (UID RFC822.SIZE)")
    assert t.opened_messages() == []
    assert sorted(fetch_items(untagged, "RFC822.SIZE").values()) == pop_sizes
    logout(server, c1, pid1)
