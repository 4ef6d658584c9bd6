"""Issue 3 "Done means": for every message of mime-zoo-free, FETCH
ENVELOPE / BODYSTRUCTURE / BODY[n.MIME] / BODY[n] from a running loft
agree with what Python's email package parses, and malformed messages are
served without error. The messages are placed in the user's Maildir as
files (as an existing Dovecot tree would hold them), so loft must also
index a Maildir it did not write; the SpamAssassin messages with bare CRs
(which can't cross LMTP unchanged) are served the same way."""
import hashlib
import imaplib
import os
import shutil

import pytest

import mimecheck
from loftserver import CORPUS, LoftServer
from test_server_corpus import manifest

imaplib._MAXLINE = 1 << 26


def place(server, user, rows, corpus):
    cur = os.path.join(server.maildir(user), "cur")
    for sub in ("cur", "new", "tmp"):
        os.makedirs(os.path.join(server.maildir(user), sub), exist_ok=True)
    by_hash = {}   # sha256 of the served bytes -> (row, bytes); a few
    count = 0      # files differ only in line ends, so count files too
    for r in rows:
        src = os.path.join(CORPUS, corpus, r["maildir_file"])
        shutil.copy(src, os.path.join(cur, os.path.basename(src)))
        with open(src, "rb") as f:
            served = mimecheck.crlf(f.read())
        by_hash[hashlib.sha256(served).hexdigest()] = (r, served)
        count += 1
    if server.root:
        uid, gid = server.mail_uid_gid()
        for dirpath, dirs, files in os.walk(server.home(user)):
            for n in dirs + files:
                os.chown(os.path.join(dirpath, n), uid, gid)
            os.chown(dirpath, uid, gid)
    return by_hash, count


@pytest.fixture(scope="module")
def zoo():
    server = LoftServer(users={"zoo": "zoo-pass", "cr": "cr-pass"})
    zoo_rows = manifest("mime-zoo-free")
    cr_rows = [r for r in manifest("spamassassin") if "bareCR" in r["eol"]]
    expected = {"zoo": place(server, "zoo", zoo_rows, "mime-zoo-free"),
                "cr": place(server, "cr", cr_rows, "spamassassin")}
    server.start()
    yield server, expected
    server.cleanup()


def fetch_all(server, user, password):
    c = imaplib.IMAP4("127.0.0.1", server.ports["imap"])
    c.login(user, password)
    typ, data = c.select("INBOX", readonly=True)
    assert typ == "OK"
    typ, data = c.uid("SEARCH", "ALL")
    return c, [int(x) for x in data[0].split()]


def test_existing_maildir_served_byte_identical(zoo):
    server, expected = zoo
    for user, password in (("zoo", "zoo-pass"), ("cr", "cr-pass")):
        c, uids = fetch_all(server, user, password)
        by_hash, count = expected[user]
        assert len(uids) == count
        seen = set()
        for uid in uids:
            body = mimecheck.imap_fetch_items(c, uid, "BODY.PEEK[]")["BODY[]"]
            h = hashlib.sha256(body).hexdigest()
            assert h in by_hash, "uid %d not byte-identical" % uid
            seen.add(h)
        assert len(seen) == len(by_hash)
        c.logout()


def test_fetch_structure_agrees_with_python(zoo):
    server, expected = zoo
    c, uids = fetch_all(server, "zoo", "zoo-pass")
    failures = []
    for uid in uids:
        items = mimecheck.imap_fetch_items(
            c, uid, "ENVELOPE BODYSTRUCTURE BODY.PEEK[]")
        raw = items["BODY[]"]
        row, _ = expected["zoo"][0][hashlib.sha256(raw).hexdigest()]
        try:
            problems = mimecheck.check_message(
                raw, items["ENVELOPE"], items["BODYSTRUCTURE"],
                mimecheck.imap_part_fetcher(c, uid),
                malformed=row["malformed"] == "1")
        except Exception as e:  # a syntax error in our output is a failure
            problems = ["exception: %r" % e]
        if problems:
            failures.append((row["maildir_file"], problems[:3]))
    c.logout()
    assert failures == [], "%d of %d messages disagree, e.g. %s" % (
        len(failures), len(uids), failures[:5])
