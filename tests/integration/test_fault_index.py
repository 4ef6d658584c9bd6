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
