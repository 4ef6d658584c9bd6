"""An idle IMAP session gives memory back (issue 4: per-connection memory
of 10,000 idle connections). A session that FETCHed a big message keeps it
parsed for the next FETCH of the same message and SQLite keeps its page
cache; about 2 s after the client goes quiet, loft-imap frees both and
trims the heap, and the session still works."""
import os
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
