"""loft-imap: a session's own STORE/APPEND/EXPUNGE no longer forces a
Maildir rescan (rule at the top of src/lib-storage/maildir-sync.c), yet
another session on the same mailbox sees each of them at its next
command, and a foreign Maildir writer's change made in the same second
as loft's own change is seen within the rule's verify period (1 s)."""
import os
import re
import time

import pytest

from test_imap_harness import ImapHome

MSG = b"From: a@example.com\r\nSubject: s%d\r\n\r\nbody %d\r\n"
# the rule's verify period (SIG_VERIFY_NSECS) plus room for ASan
VERIFY_SECS = 1.0
SLACK_SECS = 0.6


@pytest.fixture
def home():
    h = ImapHome()
    yield h
    h.cleanup()


def session(home):
    s = home.session()
    assert s.greeting().startswith(b"* PREAUTH")
    return s


def append(s, n, flags=b"(\\Seen) "):
    msg = MSG % (n, n)
    _, tagged = s.cmd(b"APPEND INBOX " + flags + b"{%d+}\r\n" % len(msg) + msg)
    m = re.search(rb"APPENDUID \d+ (\d+)", tagged)
    assert m, tagged
    return int(m.group(1))


def cur_file(home, subject_n):
    """Name in cur/ of the message with Subject: s<n>."""
    cur = os.path.join(home.maildir, "cur")
    for name in os.listdir(cur):
        with open(os.path.join(cur, name), "rb") as f:
            if b"Subject: s%d\n" % subject_n in f.read():
                return os.path.join(cur, name)
    raise AssertionError("no message s%d in cur/" % subject_n)


def test_other_session_sees_each_own_change_at_next_noop(home):
    a = session(home)
    b = session(home)
    for i in range(1, 4):
        append(a, i)
    a.ok("SELECT INBOX")
    b.ok("SELECT INBOX")
    for rnd in range(4):
        me, peer = (a, b) if rnd % 2 == 0 else (b, a)
        # STORE: the other session gets FETCH at once
        flag = b"\\Flagged" if rnd < 2 else b"\\Answered"
        sign = b"+" if rnd % 2 == 0 else b"-"
        me.ok(b"STORE 1 " + sign + b"FLAGS (" + flag + b")")
        untagged = peer.ok("NOOP")
        assert any(l.startswith(b"* 1 FETCH (FLAGS (") and
                   (flag in l) == (sign == b"+") for l in untagged), untagged
        # APPEND: EXISTS at once
        uid = append(me, 10 + rnd)
        untagged = peer.ok("NOOP")
        assert any(l.endswith(b" EXISTS") for l in untagged), untagged
        me.ok("NOOP")
        # UID EXPUNGE of it: EXPUNGE at once
        me.ok("UID STORE %d +FLAGS.SILENT (\\Deleted)" % uid)
        untagged = me.ok("UID EXPUNGE %d" % uid)
        assert any(l.endswith(b" EXPUNGE") for l in untagged), untagged
        untagged = peer.ok("NOOP")
        assert untagged == [b"* 4 EXPUNGE"], untagged
    untagged, _ = a.cmd("UID FETCH 1:* (FLAGS)")
    untagged_b, _ = b.cmd("UID FETCH 1:* (FLAGS)")
    # A owns \Recent (it selected first)
    assert [l.replace(b" \\Recent", b"") for l in untagged] == untagged_b
    assert len(untagged) == 3


def wait_for(s, pred, since):
    """NOOP until pred(untagged lines) holds; seconds it took."""
    while True:
        untagged = s.ok("NOOP")
        if pred(untagged):
            return time.monotonic() - since
        assert time.monotonic() - since < VERIFY_SECS + SLACK_SECS, \
            "not seen within the verify period"
        time.sleep(0.01)


def test_foreign_change_same_second_as_own_store(home):
    a = session(home)
    for i in range(1, 5):
        append(a, i)
    a.ok("SELECT INBOX")
    # own rename in cur/, then at once a foreign rename in cur/
    a.ok("STORE 1 +FLAGS (\\Flagged)")
    path = cur_file(home, 2)
    os.rename(path, path + "T")
    t0 = time.monotonic()
    wait_for(a, lambda u: any(l.startswith(b"* 2 FETCH (FLAGS (") and
                              b"\\Deleted" in l for l in u), t0)

    # own STORE, then a foreign delivery into new/ (as another MDA)
    a.ok("STORE 1 -FLAGS (\\Flagged)")
    tmp = os.path.join(home.maildir, "tmp", "1700000002.M1P1.mda")
    with open(tmp, "wb") as f:
        f.write(b"Subject: s99\n\nx\n")
    os.rename(tmp, os.path.join(home.maildir, "new", "1700000002.M1P1.mda"))
    t0 = time.monotonic()
    wait_for(a, lambda u: b"* 5 EXISTS" in u, t0)

    # own EXPUNGE, then a file removed by hand
    uid = append(a, 7)
    a.ok("NOOP")
    a.ok("UID STORE %d +FLAGS.SILENT (\\Deleted)" % uid)
    a.ok("UID EXPUNGE %d" % uid)
    os.unlink(cur_file(home, 3))
    t0 = time.monotonic()
    wait_for(a, lambda u: b"* 3 EXPUNGE" in u, t0)
    untagged, _ = a.cmd("FETCH 1:* (UID)")
    assert len(untagged) == 4, untagged


def test_busy_session_sees_foreign_change(home):
    """A session that changes the mailbox all the time (a STORE every
    few ms) still sees a foreign rename within the verify period."""
    a = session(home)
    for i in range(1, 4):
        append(a, i)
    a.ok("SELECT INBOX")
    a.ok("STORE 3 +FLAGS (\\Answered)")
    path = cur_file(home, 2)
    os.rename(path, path + "F")
    t0 = time.monotonic()
    seen = False
    n = 0
    while not seen:
        sign = b"+" if n % 2 == 0 else b"-"
        untagged = a.ok(b"STORE 1 " + sign + b"FLAGS (\\Flagged)")
        seen = any(l.startswith(b"* 2 FETCH (FLAGS (") and b"\\Flagged" in l
                   for l in untagged)
        if not seen:
            untagged = a.ok("NOOP")
            seen = any(l.startswith(b"* 2 FETCH (FLAGS (") and
                       b"\\Flagged" in l for l in untagged)
        assert time.monotonic() - t0 < VERIFY_SECS + SLACK_SECS, \
            "not seen within the verify period"
        n += 1
