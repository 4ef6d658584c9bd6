"""The MIME checks of test_mime_corpus.py, through a running loft over
IMAP: a sample of mime-zoo-free is placed in a Maildir and every message's
ENVELOPE, BODYSTRUCTURE, BODY[n] and BODY[n.MIME] (UID FETCH) must agree
with Python's email package (mimecheck.py); malformed messages must be
served with valid syntax and consistent sizes."""
import csv
import hashlib
import imaplib
import os
import shutil

import pytest

import mimecheck
from loftserver import CORPUS, LoftServer

ZOO = os.path.join(CORPUS, "mime-zoo-free")
SAMPLE_EVERY = 5


@pytest.fixture(scope="module")
def mailbox():
    with open(os.path.join(ZOO, "MANIFEST.tsv"), newline="") as f:
        rows = list(csv.DictReader(f, delimiter="\t"))[::SAMPLE_EVERY]
    server = LoftServer(users={"mime": "mime-pass"})
    md = server.maildir("mime")
    for sub in ("cur", "new", "tmp"):
        os.makedirs(os.path.join(md, sub), exist_ok=True)
    for row in rows:
        shutil.copy(os.path.join(ZOO, row["maildir_file"]),
                    os.path.join(md, "cur"))
    if server.root:
        uid, gid = server.mail_uid_gid()
        for d, _, files in os.walk(server.home("mime")):
            os.chown(d, uid, gid)
            for name in files:
                os.chown(os.path.join(d, name), uid, gid)
    server.start()
    conn = imaplib.IMAP4("127.0.0.1", server.ports["imap"])
    conn.login("mime", "mime-pass")
    typ, data = conn.select("INBOX", readonly=True)
    assert typ == "OK"
    yield server, conn, rows
    conn.logout()
    server.cleanup()


def _served(raw):
    return hashlib.sha256(mimecheck.crlf(raw)).hexdigest()


def test_fetch_agrees_with_python(mailbox):
    server, conn, rows = mailbox
    by_hash = {}
    for row in rows:
        with open(os.path.join(ZOO, row["maildir_file"]), "rb") as f:
            raw = f.read()
        by_hash[_served(raw)] = (row, raw)
    typ, data = conn.uid("SEARCH", None, "ALL")
    uids = data[0].split()
    assert len(uids) == len(rows)
    problems = []
    for uid in uids:
        items = mimecheck.imap_fetch_items(
            conn, uid.decode(), "ENVELOPE BODYSTRUCTURE BODY.PEEK[]")
        served = items["BODY[]"]
        key = hashlib.sha256(served).hexdigest()
        if key not in by_hash:
            problems.append("uid %s: served bytes match no corpus file" % uid)
            continue
        row, raw = by_hash.pop(key)
        try:
            p = mimecheck.check_message(
                served, items["ENVELOPE"], items["BODYSTRUCTURE"],
                mimecheck.imap_part_fetcher(conn, uid.decode()),
                malformed=row["malformed"] == "1")
        except mimecheck.ImapSyntaxError as e:
            p = ["syntax: %s" % e]
        if p:
            problems.append("%s: %s" % (row["maildir_file"], p[:3]))
    assert problems == []
    assert by_hash == {}
