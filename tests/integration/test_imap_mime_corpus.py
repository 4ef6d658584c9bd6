"""A sample of the mime-zoo-free corpus through loft-imap: APPEND each
message, read it back with BODY.PEEK[] (byte-identical apart from CRLF),
and check ENVELOPE, BODYSTRUCTURE, BODY[n] and BODY[n.MIME] against
Python's email package (mimecheck.py) - the second FETCH comes from the
storage's parse cache and must say the same."""
import csv
import os
import re

import pytest

import mimecheck
from test_imap_harness import ImapHome

CORPUS = os.environ.get("LOFT_CORPUS", os.path.join(
    os.path.dirname(__file__), "..", "..", "..", "shared", "corpus"))
ZOO = os.path.join(CORPUS, "mime-zoo-free")
SAMPLE_EVERY = 9


def sample_rows():
    path = os.path.join(ZOO, "MANIFEST.tsv")
    with open(path, newline="") as f:
        rows = list(csv.DictReader(f, delimiter="\t"))
    return rows[::SAMPLE_EVERY]


@pytest.fixture(scope="module")
def conn():
    home = ImapHome()
    m = home.imaplib()
    yield m
    m.logout()
    home.cleanup()


def test_mime_zoo_sample_through_imap(conn):
    rows = sample_rows()
    assert len(rows) > 100
    typ, _ = conn.select("INBOX")
    assert typ == "OK"
    problems = []
    checked = 0
    for row in rows:
        with open(os.path.join(ZOO, row["maildir_file"]), "rb") as f:
            raw = f.read()
        if not raw:
            continue
        typ, data = conn.append("INBOX", None, None, raw)
        assert typ == "OK", (row["maildir_file"], data)
        uid = int(data[0].split(b"APPENDUID ")[1].split(b" ")[1].rstrip(b"]"))

        body = mimecheck.imap_fetch_items(conn, uid, "BODY.PEEK[]")["BODY[]"]
        # imaplib's append() turns bare CR and LF into CRLF
        if body != re.sub(rb"\r\n|\r(?!\n)|\n", b"\r\n", raw):
            problems.append("%s: BODY[] differs" % row["maildir_file"])
            continue
        items = mimecheck.imap_fetch_items(conn, uid, "ENVELOPE BODYSTRUCTURE")
        again = mimecheck.imap_fetch_items(conn, uid, "ENVELOPE BODYSTRUCTURE")
        if items != again:
            problems.append("%s: cached answer differs" % row["maildir_file"])
        try:
            p = mimecheck.check_message(
                body, items["ENVELOPE"], items["BODYSTRUCTURE"],
                mimecheck.imap_part_fetcher(conn, uid),
                malformed=row["malformed"] == "1")
        except mimecheck.ImapSyntaxError as e:
            p = ["syntax: %s" % e]
        if p:
            problems.append("%s: %s" % (row["maildir_file"], p[:3]))
        checked += 1
    assert problems == []
    assert checked > 100
    # nothing was marked \Seen by the PEEKs
    typ, data = conn.search(None, "SEEN")
    assert data == [b""]
