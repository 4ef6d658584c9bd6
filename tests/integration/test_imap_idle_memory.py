"""An idle IMAP session gives memory back (issue 4: per-connection memory
of 10,000 idle connections). A session that FETCHed a big message keeps it
parsed for the next FETCH of the same message and SQLite keeps its page
cache; about 2 s after the client goes quiet, loft-imap frees both and
trims the heap, and the session still works."""
import os
import re
import time

from loftserver import LoftServer
from faultutil import IMAP, imap_pids, wait_for

USER, PASSWORD = "mem", "mem-secret"
BIG = 6 * 1024 * 1024


def pss_kb(pid):
    with open("/proc/%d/smaps_rollup" % pid) as f:
        for line in f:
            if line.startswith("Pss:"):
                return int(line.split()[1])
    raise AssertionError("no Pss")


def test_idle_session_releases_memory():
    old = os.environ.get("ASAN_OPTIONS")
    # under ASan, freed memory would sit in its quarantine instead of
    # going back to the kernel
    os.environ["ASAN_OPTIONS"] = (old + ":" if old else "") + \
        "quarantine_size_mb=0"
    srv = LoftServer(users={USER: PASSWORD})
    try:
        srv.start()
    finally:
        if old is None:
            del os.environ["ASAN_OPTIONS"]
        else:
            os.environ["ASAN_OPTIONS"] = old
    try:
        line = b"x" * 998 + b"\r\n"
        body = (b"Subject: big\r\n\r\n" + line * (BIG // len(line)))
        c = IMAP(srv.ports["imap"])
        c.ok("LOGIN %s %s" % (USER, PASSWORD))
        c.ok("APPEND INBOX {%d}" % len(body), body)
        c.ok("LOGOUT")
        c.sock.close()

        c = IMAP(srv.ports["imap"])
        c.ok("LOGIN %s %s" % (USER, PASSWORD))
        c.ok("SELECT INBOX")
        pids = wait_for(lambda: imap_pids(srv.proc.pid), 5)
        assert len(pids) == 1, pids
        pid = pids.pop()
        _, untagged = c.ok("FETCH 1 (BODY.PEEK[])")
        assert body in b"".join(untagged)
        busy = pss_kb(pid)
        assert busy > BIG // 1024, busy   # the message is kept parsed
        idle = wait_for(lambda: pss_kb(pid) < busy - BIG // 1024 // 2 and
                        pss_kb(pid), 8, interval=0.2)
        assert idle, "Pss stayed at %d kB (was %d kB busy)" % (
            pss_kb(pid), busy)
        # and the session still serves the same message
        _, untagged = c.ok("FETCH 1 (BODY.PEEK[])")
        assert body in b"".join(untagged)
        c.ok("LOGOUT")
        c.sock.close()
    finally:
        srv.cleanup()


def index_mapped(pid):
    """True while the process has SQLite's connection to the index open:
    its WAL and shared memory (an idle session keeps only a plain fd on
    the database file, to know it when it reopens)"""
    with open("/proc/%d/maps" % pid) as f:
        if "loft.index.sqlite-" in f.read():
            return True
    for fd in os.listdir("/proc/%d/fd" % pid):
        try:
            if "loft.index.sqlite-" in os.readlink("/proc/%d/fd/%s" % (pid, fd)):
                return True
        except OSError:
            pass
    return False


def test_idle_session_closes_index():
    """about 2 s after the client goes quiet the session closes its index
    (an open SQLite connection is most of an idle session's memory); the
    next command reopens it and reports what changed meanwhile, also
    when the index was rebuilt in between"""
    srv = LoftServer(users={USER: PASSWORD})
    srv.start()
    try:
        w = IMAP(srv.ports["imap"])
        w.ok("LOGIN %s %s" % (USER, PASSWORD))
        for i in range(20):
            msg = b"Subject: m%d\r\n\r\nbody %d\r\n" % (i, i)
            w.ok("APPEND INBOX {%d}" % len(msg), msg)

        c = IMAP(srv.ports["imap"])
        c.ok("LOGIN %s %s" % (USER, PASSWORD))
        _, untagged = c.ok("SELECT INBOX")
        assert b"* 20 EXISTS" in b"".join(untagged)
        c.ok("NOOP")
        pids = [p for p in imap_pids(srv.proc.pid) if index_mapped(p)]
        # both sessions have the index open right after their commands
        assert len(pids) == 2, pids
        assert wait_for(lambda: not any(index_mapped(p) for p in
                                        imap_pids(srv.proc.pid)), 8), \
            "an idle session still has its index open"

        # a change while the session's index is closed
        msg = b"Subject: new\r\n\r\nnew\r\n"
        w.ok("APPEND INBOX {%d}" % len(msg), msg)
        w.ok("SELECT INBOX")
        w.ok("STORE 3 +FLAGS (\\Flagged)")
        _, untagged = c.ok("NOOP")
        text = b"".join(untagged)
        assert b"* 21 EXISTS" in text, untagged
        assert re.search(rb"\* 3 FETCH \(FLAGS \([^)]*\\Flagged", text), untagged
        _, untagged = c.ok("UID FETCH 1:* (UID)")
        assert len([u for u in untagged if b"FETCH" in u]) == 21

        # the index rebuilt from the Maildir while both sessions are
        # idle (index closed): UIDs and flags survive, no new UIDVALIDITY
        assert wait_for(lambda: not any(index_mapped(p) for p in
                                        imap_pids(srv.proc.pid)), 8)
        root = srv.maildir(USER)
        for suffix in ("", "-wal", "-shm"):
            try:
                os.unlink(os.path.join(root, "loft.index.sqlite" + suffix))
            except FileNotFoundError:
                pass
        w.ok("STORE 1 +FLAGS (\\Seen)")
        _, untagged = c.ok("NOOP")
        text = b"".join(untagged)
        assert re.search(rb"\* 1 FETCH \(FLAGS \([^)]*\\Seen", text), (untagged, w.ok("FETCH 1:3 (UID FLAGS)"), srv.log()[-3000:])
        assert b"EXISTS" not in text and b"EXPUNGE" not in text, untagged
        _, untagged = c.ok("FETCH 1:* (UID FLAGS)")
        fetched = [u for u in untagged if b"FETCH" in u]
        assert len(fetched) == 21
        assert b"UID 21 " in fetched[-1] or b"UID 21)" in fetched[-1]
        assert b"\\Flagged" in fetched[2]
        c.ok("LOGOUT")
        w.ok("LOGOUT")
        assert "UIDVALIDITY changed" not in srv.log()
    finally:
        srv.cleanup()


def test_idle_checks_keep_index_closed():
    """an IDLE session's quiet checks (every mailbox_idle_check_interval,
    here 1 s) and NOOPs don't open the index again: unchanged Maildir
    stamps say nothing changed. A change is reported (and opens it);
    about 2 s later it is closed again."""
    srv = LoftServer(users={USER: PASSWORD},
                     extra_config="mailbox_idle_check_interval = 1\n")
    srv.start()
    try:
        w = IMAP(srv.ports["imap"])
        w.ok("LOGIN %s %s" % (USER, PASSWORD))
        for i in range(5):
            msg = b"Subject: m%d\r\n\r\nbody %d\r\n" % (i, i)
            w.ok("APPEND INBOX {%d}" % len(msg), msg)
        w.ok("LOGOUT")
        w.close()
        # stamps older than the sync rule's verify period
        time.sleep(1.2)

        c = IMAP(srv.ports["imap"])
        c.ok("LOGIN %s %s" % (USER, PASSWORD))
        c.ok("SELECT INBOX")
        # a sync whose stamps need no later check
        time.sleep(1.2)
        c.ok("NOOP")
        pid = wait_for(lambda: imap_pids(srv.proc.pid), 5).pop()
        assert wait_for(lambda: not index_mapped(pid), 8), \
            "the session's index is still open"
        c.ok("NOOP")
        assert not index_mapped(pid), "a NOOP with no change opened it"
        c.send(b"i1 IDLE\r\n")
        assert c.readline().startswith(b"+ ")
        # 3 quiet checks
        for _ in range(30):
            assert not index_mapped(pid), "a quiet IDLE check opened it"
            time.sleep(0.1)

        w = IMAP(srv.ports["imap"])
        w.ok("LOGIN %s %s" % (USER, PASSWORD))
        msg = b"Subject: new\r\n\r\nnew\r\n"
        w.ok("APPEND INBOX {%d}" % len(msg), msg)
        w.ok("LOGOUT")
        w.close()
        line = c.readline()
        while b"EXISTS" not in line:
            line = c.readline()
        assert line.startswith(b"* 6 EXISTS"), line
        assert wait_for(lambda: not index_mapped(pid), 8), \
            "still open after the change was reported"
        c.send(b"DONE\r\n")
        while not c.readline().startswith(b"i1 OK"):
            pass
        _, untagged = c.ok("FETCH 6 (UID)")
        assert b"* 6 FETCH (UID 6)" in b"".join(untagged)
        c.ok("LOGOUT")
    finally:
        srv.cleanup()
