"""A Maildir written by Dovecot 2.3 is served by loft with its UIDs,
UIDVALIDITY, flags, keywords and subscriptions, and what loft writes
back stays in Dovecot's formats (dovecot-uidlist v3, dovecot-keywords,
subscriptions v2, ,S=/,W= file names), so the tree can go back."""
import imaplib
import os
import re
import time

import pytest

from loftserver import LoftServer

UIDLIST = (b"3 V1600000000 N12 G0123456789abcdef0123456789abcdef\n"
           b"7 :1600000001.M1P100.mx,S=24,W=27\n"
           b"9 W31 :1600000002.M2P100.mx\n"
           b"10 :1600000003.M3P100.mx,S=25,W=28\n")
FILES = {
    "cur/1600000001.M1P100.mx,S=24,W=27:2,RSa": b"Subject: one\n\nfirst msg\n",
    "cur/1600000002.M2P100.mx:2,Sb": b"Subject: two\n\nsecond msg\nz\n",
    "new/1600000003.M3P100.mx,S=25,W=28": b"Subject: three\n\nthird ms\n",
}


def write(path, data):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "wb") as f:
        f.write(data)


def chown_tree(top, uid, gid):
    for d, dirs, files in os.walk(top):
        os.chown(d, uid, gid)
        for f in files:
            os.chown(os.path.join(d, f), uid, gid)


def make_dovecot_tree(md):
    for sub in ("cur", "new", "tmp", ".Work/cur", ".Work/new", ".Work/tmp"):
        os.makedirs(os.path.join(md, sub), exist_ok=True)
    write(os.path.join(md, ".Work", "maildirfolder"), b"")
    write(os.path.join(md, ".Work", "dovecot-uidlist"),
          b"3 V1600000005 N1 Gfedcba9876543210fedcba9876543210\n")
    write(os.path.join(md, "dovecot-uidlist"), UIDLIST)
    write(os.path.join(md, "dovecot-keywords"), b"0 $Forwarded\n1 Junk\n")
    write(os.path.join(md, "subscriptions"), b"V\t2\n\nINBOX\nWork\n")
    for name, data in FILES.items():
        write(os.path.join(md, name), data)


def read(path):
    with open(path, "rb") as f:
        return f.read()


@pytest.fixture
def server():
    s = LoftServer(users={"alice": "alice-secret"})
    md = s.maildir("alice")
    make_dovecot_tree(md)
    uid, gid = s.mail_uid_gid()
    if s.root:
        chown_tree(os.path.dirname(md), uid, gid)
    s.start()
    yield s
    s.cleanup()


def login(s):
    c = imaplib.IMAP4("127.0.0.1", s.ports["imap"])
    c.login("alice", "alice-secret")
    return c


def fetch_flags(c):
    typ, data = c.uid("FETCH", "1:*", "(FLAGS)")
    assert typ == "OK"
    out = {}
    for line in data:
        m = re.search(rb"UID (\d+)", line)
        f = re.search(rb"FLAGS \(([^)]*)\)", line)
        out[int(m.group(1))] = set(f.group(1).split()) - {b"\\Recent"}
    return out


def test_dovecot_tree_round_trip(server):
    md = server.maildir("alice")
    c = login(server)
    typ, data = c.list()
    names = [re.search(rb'"([^"]+)"$|(\S+)$', l).group(0).strip(b'"')
             for l in data]
    assert set(names) == {b"INBOX", b"Work"}
    typ, data = c.lsub()
    assert len([l for l in data if l]) == 2

    typ, data = c.select("INBOX")
    assert data == [b"3"]
    assert c.untagged_responses.get("UIDVALIDITY") == [b"1600000000"]
    assert c.untagged_responses.get("UIDNEXT") == [b"12"]
    flags = fetch_flags(c)
    assert flags == {7: {b"\\Answered", b"\\Seen", b"$Forwarded"},
                     9: {b"\\Seen", b"Junk"},
                     10: set()}
    typ, data = c.uid("FETCH", "9", "(RFC822.SIZE BODY.PEEK[])")
    assert b"RFC822.SIZE 31" in data[0][0]
    assert data[0][1] == b"Subject: two\r\n\r\nsecond msg\r\nz\r\n"

    typ, _ = c.uid("STORE", "10", "+FLAGS", "(\\Flagged NewKw)")
    assert typ == "OK"
    typ, data = c.append("INBOX", "(\\Seen)", None,
                         b"Subject: four\r\n\r\nfrom loft\r\n")
    assert typ == "OK"
    assert b"APPENDUID 1600000000 12" in data[0]
    c.logout()

    # what a Dovecot would find now
    ul = read(os.path.join(md, "dovecot-uidlist"))
    assert ul.startswith(b"3 V1600000000 N")
    assert b"\n7 :1600000001.M1P100.mx,S=24,W=27\n" in ul
    assert b"\n9 W31 :1600000002.M2P100.mx\n" in ul
    assert b"\n10 :1600000003.M3P100.mx,S=25,W=28\n" in ul
    m = re.search(rb"\n12 :(\S+)\n", ul)
    assert m and re.match(rb"\d+\.M\d+P\d+\.\S+,S=25,W=28$", m.group(1))
    assert read(os.path.join(md, "dovecot-keywords")) == \
        b"0 $Forwarded\n1 Junk\n2 NewKw\n"
    cur = os.listdir(os.path.join(md, "cur"))
    assert "1600000003.M3P100.mx,S=25,W=28:2,Fc" in cur
    assert m.group(1).decode() + ":2,S" in cur
    assert read(os.path.join(md, "cur", m.group(1).decode() + ":2,S")) == \
        b"Subject: four\n\nfrom loft\n"
    assert read(os.path.join(md, "subscriptions")) == b"V\t2\n\nINBOX\nWork\n"

    # Dovecot (or a shell) changes things while loft isn't looking
    os.rename(os.path.join(md, "cur", "1600000001.M1P100.mx,S=24,W=27:2,RSa"),
              os.path.join(md, "cur", "1600000001.M1P100.mx,S=24,W=27:2,RSTa"))
    with open(os.path.join(md, "dovecot-uidlist"), "ab") as f:
        f.write(b"13 :1600000009.M9P100.mx,S=12,W=14\n")
    write(os.path.join(md, "new", "1600000009.M9P100.mx,S=12,W=14"),
          b"Subject: 5\n\n")
    if server.root:
        uid, gid = server.mail_uid_gid()
        chown_tree(md, uid, gid)
    c = login(server)
    typ, data = c.select("INBOX")
    assert data == [b"5"]
    flags = fetch_flags(c)
    assert flags[7] == {b"\\Answered", b"\\Seen", b"\\Deleted", b"$Forwarded"}
    assert flags[10] == {b"\\Flagged", b"NewKw"}
    assert flags[12] == {b"\\Seen"}
    assert 13 in flags
    c.logout()
    server.stop()
    assert b"\n13 :1600000009.M9P100.mx,S=12,W=14" in \
        read(os.path.join(md, "dovecot-uidlist"))


def test_index_lost_keeps_uids(server):
    md = server.maildir("alice")
    c = login(server)
    c.select("INBOX")
    before = fetch_flags(c)
    c.logout()
    for suffix in ("", "-wal", "-shm"):
        p = os.path.join(md, "loft.index.sqlite" + suffix)
        if os.path.exists(p):
            with open(p, "r+b") as f:
                f.write(os.urandom(4096))
    c = login(server)
    c.select("INBOX")
    assert fetch_flags(c) == before
    c.logout()
