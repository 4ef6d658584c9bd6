"""The SQLite index destroyed or corrupted (deleted with its -wal/-shm,
truncated, random bytes) while a session sits idle and between sessions:
the next command / session rebuilds it from the Maildir with UIDs, flags,
keywords, UIDVALIDITY and UIDNEXT preserved."""
import glob
import os
import random
import re

import pytest

from loftserver import LoftServer
from lmtpclient import LMTP, to_wire
from faultutil import IMAP, mailbox_listing, status

USER, PASSWORD = "dana", "dana-secret"
MAILBOXES = ("INBOX", "Sub")


@pytest.fixture(scope="module")
def server():
    s = LoftServer(users={USER: PASSWORD})
    s.start()
    yield s
    s.cleanup()


def login(server):
    c = IMAP(server.ports["imap"])
    c.login(USER, PASSWORD)
    return c


def index_path(server):
    return os.path.join(server.maildir(USER), "loft.index.sqlite")


def snapshot(c):
    out = {}
    for mbox in MAILBOXES:
        uv, exists, rows = mailbox_listing(c, mbox)
        st = status(c, mbox)
        out[mbox] = (uv, st["UIDNEXT"], st["MESSAGES"], st["UNSEEN"],
                     sorted((uid, frozenset(flags - {"\\Recent"}), mid)
                            for uid, flags, mid in rows))
    return out


def populate(server, tag):
    lmtp = LMTP("127.0.0.1", server.ports["lmtp"])
    lmtp.lhlo()
    for i in range(12):
        wire, _ = to_wire(b"Message-ID: <%s-%d@loft.test>\nSubject: m %d\n\n"
                          b"body\n" % (tag.encode(), i, i))
        codes, replies = lmtp.deliver("s@loft.test", [USER], wire)
        assert replies[0][0] == 250, replies
    lmtp.quit()
    c = login(server)
    st, _, _ = c.cmd("CREATE Sub")
    for i, flags in enumerate(("\\Seen $Important", "\\Flagged", "",
                               "\\Answered \\Draft $Label1 NonJunk")):
        body = b"Message-ID: <%s-app%d@loft.test>\r\n\r\nx\r\n" % (
            tag.encode(), i)
        c.ok("APPEND %s (%s) {%d}" % (MAILBOXES[i % 2], flags, len(body)),
             body)
    c.ok("SELECT INBOX")
    c.ok("STORE 1:3 +FLAGS (\\Seen $Work)")
    c.ok("STORE 5 +FLAGS (\\Deleted)")
    c.ok("STORE 7 +FLAGS (Custom_kw \\Flagged)")
    c.ok("EXPUNGE")
    c.ok("COPY 2:4 Sub")
    c.ok("LOGOUT")
    c.close()


def corrupt(server, how, rng):
    path = index_path(server)
    assert os.path.exists(path), os.listdir(server.maildir(USER))
    if how == "delete":
        for p in glob.glob(path + "*"):
            os.unlink(p)
    elif how == "truncate":
        with open(path, "r+b") as f:
            f.truncate(rng.choice((0, 100, os.path.getsize(path) // 2)))
        for p in glob.glob(path + "-*"):
            os.unlink(p)
    elif how == "random":
        size = os.path.getsize(path)
        with open(path, "r+b") as f:
            # the header page and some random pages
            for off in [0] + [rng.randrange(size) for _ in range(8)]:
                f.seek(off)
                f.write(bytes(rng.randrange(256) for _ in range(512)))
        for p in glob.glob(path + "-*"):
            with open(p, "r+b") as f:
                f.write(os.urandom(64))
    elif how == "garbage":
        with open(path, "wb") as f:
            f.write(os.urandom(8192))
        for p in glob.glob(path + "-*"):
            os.unlink(p)
    else:
        raise ValueError(how)


@pytest.mark.parametrize("how", ["delete", "truncate", "random", "garbage"])
def test_index_rebuilt_between_sessions(server, how):
    seed = random.SystemRandom().randrange(1 << 30)
    print("seed", seed)
    rng = random.Random(seed)
    populate(server, how)
    c = login(server)
    before = snapshot(c)
    c.ok("LOGOUT")
    c.close()
    assert before["INBOX"][4] and before["Sub"][4]
    kws = set().union(*[f for _, f, _ in before["INBOX"][4] + before["Sub"][4]])
    assert {"$Important", "$Work", "Custom_kw", "\\Seen", "\\Flagged",
            "NonJunk"} <= kws, kws
    corrupt(server, how, rng)
    c = login(server)
    after = snapshot(c)
    assert after == before, (how, seed)
    # the index works again: a new delivery gets the next UID, flags stick
    wire, _ = to_wire(b"Message-ID: <after-%s@loft.test>\n\nx\n" % how.encode())
    lmtp = LMTP("127.0.0.1", server.ports["lmtp"])
    lmtp.lhlo()
    _, replies = lmtp.deliver("s@loft.test", [USER], wire)
    assert replies[0][0] == 250
    lmtp.quit()
    c.ok("SELECT INBOX")
    line, untagged = c.ok("UID FETCH %d:* (UID FLAGS)" % before["INBOX"][1])
    uids = [int(x) for x in re.findall(rb"UID (\d+)", b"".join(untagged))]
    assert uids == [before["INBOX"][1]], (uids, before["INBOX"][1])
    c.ok("UID STORE %d +FLAGS ($After)" % uids[0])
    c.ok("LOGOUT")
    c.close()
    c = login(server)
    again = snapshot(c)
    assert again["INBOX"][4][-1][1] == frozenset({"$After"})
    c.ok("LOGOUT")
    c.close()


@pytest.mark.parametrize("how", ["delete", "truncate", "random"])
def test_index_corrupted_under_idle_session(server, how):
    seed = random.SystemRandom().randrange(1 << 30)
    print("seed", seed)
    rng = random.Random(seed)
    populate(server, "idle-" + how)
    idle = login(server)
    before = snapshot(idle)
    idle.ok("SELECT INBOX")
    corrupt(server, how, rng)
    # the idle session's next commands work on the same messages
    st, line, untagged = idle.cmd("NOOP")
    assert st == "OK", line
    _, untagged = idle.ok("UID FETCH 1:* (UID FLAGS)")
    rows = sorted((int(re.search(rb"UID (\d+)", u).group(1)),
                   frozenset(re.search(rb"FLAGS \(([^)]*)\)", u).group(1)
                             .decode().split()) - {"\\Recent"})
                  for u in untagged if b" FETCH " in u)
    assert rows == [(uid, flags) for uid, flags, _ in before["INBOX"][4]]
    idle.ok("LOGOUT")
    idle.close()
    # and so does a new session
    c = login(server)
    assert snapshot(c) == before, (how, seed)
    c.ok("LOGOUT")
    c.close()


@pytest.mark.parametrize("how", ["truncate0", "truncate100", "random",
                                 "garbage"])
def test_index_damaged_while_lmtp_keeps_it_open(server, how):
    """loft-lmtp keeps a recipient's index open between deliveries; an
    index truncated in place under it must not make the next IMAP login
    wait for the LMTP process's lock (it was a 15 s busy wait)."""
    import time
    populate(server, "held-" + how)
    c = login(server)
    before = snapshot(c)
    c.ok("LOGOUT")
    c.close()
    lmtp = LMTP("127.0.0.1", server.ports["lmtp"])
    lmtp.lhlo()
    wire, _ = to_wire(b"Message-ID: <held-%s@loft.test>\n\nx\n" %
                      how.encode())
    _, replies = lmtp.deliver("s@loft.test", [USER], wire)
    assert replies[0][0] == 250
    path = index_path(server)
    if how.startswith("truncate"):
        with open(path, "r+b") as f:
            f.truncate(int(how[len("truncate"):]))
        for p in glob.glob(path + "-*"):
            os.unlink(p)
    else:
        corrupt(server, how, random.Random(how))
    t0 = time.monotonic()
    c = login(server)
    after = snapshot(c)
    elapsed = time.monotonic() - t0
    assert elapsed < 5, elapsed
    assert after["INBOX"][1] == before["INBOX"][1] + 1
    assert after["INBOX"][4][:-1] == before["INBOX"][4]
    assert after["Sub"] == before["Sub"]
    c.ok("LOGOUT")
    c.close()
    # the LMTP process still delivers (it reopens the new index)
    wire, _ = to_wire(b"Message-ID: <held2-%s@loft.test>\n\nx\n" %
                      how.encode())
    _, replies = lmtp.deliver("s@loft.test", [USER], wire)
    assert replies[0][0] == 250
    lmtp.quit()


def test_index_truncated_under_another_open_connection(server):
    """The same with the holder made certain: another process's SQLite
    connection in WAL mode keeps its shared lock on the file that is
    truncated in place. The login must rebuild, not wait on the lock."""
    import sqlite3
    import subprocess
    import sys
    import time
    populate(server, "held-sqlite")
    c = login(server)
    before = snapshot(c)
    c.ok("LOGOUT")
    c.close()
    path = index_path(server)
    holder = subprocess.Popen(
        [sys.executable, "-c",
         "import sqlite3, sys, time\n"
         "db = sqlite3.connect(sys.argv[1])\n"
         "db.execute('SELECT count(*) FROM sqlite_master').fetchall()\n"
         "print('ready', flush=True)\n"
         "time.sleep(30)\n", path],
        stdout=subprocess.PIPE)
    try:
        assert holder.stdout.readline().strip() == b"ready"
        with open(path, "r+b") as f:
            f.truncate(0)
        for p in glob.glob(path + "-*"):
            os.unlink(p)
        t0 = time.monotonic()
        c = login(server)
        after = snapshot(c)
        elapsed = time.monotonic() - t0
        c.ok("LOGOUT")
        c.close()
    finally:
        holder.kill()
        holder.wait()
    assert after == before
    assert elapsed < 5, elapsed
