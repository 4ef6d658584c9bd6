"""A session in IDLE on a quiet mailbox sleeps: with inotify watching
cur/ and new/, it looks at the mailbox only every
mailbox_idle_check_interval (Dovecot's setting, 30 s by default), so
10,000 IDLE connections don't mean 10,000 wake-ups a second. A change
still wakes it at once."""
import time

from loftserver import LoftServer
from faultutil import IMAP, imap_pids, wait_for

USER, PASSWORD = "quiet", "quiet-secret"


def switches(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("voluntary_ctxt_switches:"):
                return int(line.split()[1])
    raise AssertionError("no voluntary_ctxt_switches")


def test_idle_session_sleeps_and_still_wakes():
    with LoftServer(users={USER: PASSWORD}) as srv:
        b = IMAP(srv.ports["imap"])
        b.ok("LOGIN %s %s" % (USER, PASSWORD))
        b.ok("SELECT INBOX")
        pid = wait_for(lambda: imap_pids(srv.proc.pid), 5).pop()
        b.send(b"i1 IDLE\r\n")
        assert b.readline() == b"+ idling\r\n"
        time.sleep(2.5)  # past the memory trim (2 s after input)
        before = switches(pid)
        time.sleep(4)
        woke = switches(pid) - before
        assert woke == 0, "IDLE session woke %d times in 4 s" % woke
        # a delivery still wakes it at once
        a = IMAP(srv.ports["imap"])
        a.ok("LOGIN %s %s" % (USER, PASSWORD))
        body = b"Subject: wake\r\n\r\nx\r\n"
        t0 = time.time()
        a.ok("APPEND INBOX {%d}" % len(body), body)
        line = b.readline()
        assert line == b"* 1 EXISTS\r\n", line
        assert time.time() - t0 < 1.5
        b.send(b"DONE\r\n")
        a.ok("LOGOUT")
