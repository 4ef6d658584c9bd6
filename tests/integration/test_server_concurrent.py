"""Issue 3 "Done means": two concurrent IMAP sessions and concurrent LMTP
deliveries, through the whole server, see each other's APPEND, STORE and
EXPUNGE at the right moments; no UID is ever reused."""
import imaplib
import re
import socket
import threading
import time

import pytest

from loftserver import LoftServer
from lmtpclient import LMTP, to_wire


@pytest.fixture(scope="module")
def server():
    s = LoftServer(users={"carol": "carol-pass"})
    s.start()
    yield s
    s.cleanup()


def login(server):
    c = imaplib.IMAP4("127.0.0.1", server.ports["imap"])
    c.login("carol", "carol-pass")
    return c


def uids(c):
    typ, data = c.uid("SEARCH", "ALL")
    assert typ == "OK"
    return [int(x) for x in data[0].split()]


def deliver(server, count, tag):
    lmtp = LMTP("127.0.0.1", server.ports["lmtp"])
    lmtp.lhlo()
    for i in range(count):
        wire, _ = to_wire(b"Subject: %s %d\n\nbody %d\n" % (tag.encode(), i, i))
        codes, replies = lmtp.deliver("s@example.org", ["carol"], wire)
        assert codes == [250] and replies[0][0] == 250
    lmtp.quit()


def test_sessions_and_delivery_see_each_other(server):
    a = login(server)
    b = login(server)
    assert a.select("INBOX")[0] == "OK"
    assert b.select("INBOX")[0] == "OK"
    all_uids = set()

    # LMTP deliveries run while both sessions append and store
    t = threading.Thread(target=deliver, args=(server, 30, "lmtp"))
    t.start()
    for i in range(15):
        typ, data = a.append("INBOX", "(\\Flagged)", None,
                             b"Subject: appended %d\r\n\r\nx\r\n" % i)
        assert typ == "OK"
        m = re.search(rb"APPENDUID (\d+) (\d+)", data[0])
        assert m, data
        uid = int(m.group(2))
        assert uid not in all_uids
        all_uids.add(uid)
        b.noop()
    t.join()

    # B learns about everything at NOOP: EXISTS grows to the full count
    typ, _ = b.noop()
    exists = [int(x) for x in b.untagged_responses.get("EXISTS", [b"0"])]
    b_uids = uids(b)
    a_uids = uids(a)
    assert sorted(a_uids) == sorted(b_uids)
    assert len(b_uids) == 45 and len(set(b_uids)) == 45
    assert max(exists) == 45
    assert all_uids <= set(b_uids)

    # B sets flags; A sees them as untagged FETCH after NOOP
    b.uid("STORE", "%d" % b_uids[0], "+FLAGS", "(\\Seen $Work)")
    a.untagged_responses.clear()
    a.noop()
    fetches = a.untagged_responses.get("FETCH", [])
    assert any(b"\\Seen" in f and b"$Work" in f for f in fetches), fetches

    # A expunges; B sees EXPUNGE at NOOP, not during a FETCH
    a.uid("STORE", "%d:%d" % (b_uids[0], b_uids[4]), "+FLAGS.SILENT", "(\\Deleted)")
    typ, data = a.expunge()
    assert typ == "OK"
    b.untagged_responses.clear()
    typ, data = b.fetch("1:*", "(UID)")
    assert "EXPUNGE" not in b.untagged_responses
    b.noop()
    assert len(b.untagged_responses.get("EXPUNGE", [])) == 5
    assert uids(b) == b_uids[5:]

    # new deliveries get new UIDs, never the expunged ones
    deliver(server, 3, "after")
    b.noop()
    new = uids(b)
    assert len(new) == 43
    assert min(new[-3:]) > max(b_uids)
    a.logout()
    b.logout()


def test_idle_sees_delivery_within_a_second(server):
    c = login(server)
    c.select("INBOX")
    sock = c.socket()
    tag = c._new_tag().decode()
    c.send(("%s IDLE\r\n" % tag).encode())
    assert c.readline().startswith(b"+")
    start = time.time()
    deliver(server, 1, "idle")
    sock.settimeout(5)
    line = c.readline()
    elapsed = time.time() - start
    assert re.match(rb"\* \d+ EXISTS", line), line
    assert elapsed < 1.5, elapsed
    c.send(b"DONE\r\n")
    while True:
        line = c.readline()
        if line.startswith(tag.encode()):
            assert b"OK" in line
            break
    c.logout()
