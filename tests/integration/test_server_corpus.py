"""Issue 3 "Done means": every message of the SpamAssassin corpus is
delivered over LMTP, then read back over IMAPS (UID FETCH BODY.PEEK[])
and POP3S (RETR): byte-identical to the source apart from the header
lines LMTP prepends and CRLF line endings."""
import imaplib
import os
import poplib
import re
import ssl

import pytest

from loftserver import CORPUS, LoftServer
from lmtpclient import LMTP, to_wire, strip_prepended

poplib._MAXLINE = 1 << 24  # corpus messages have very long lines


def ctx():
    c = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    c.check_hostname = False
    c.verify_mode = ssl.CERT_NONE
    return c


def manifest(name):
    """MANIFEST.tsv rows of a corpus, as dicts."""
    with open(os.path.join(CORPUS, name, "MANIFEST.tsv"), encoding="utf-8") as f:
        header = f.readline().rstrip("\n").split("\t")
        return [dict(zip(header, line.rstrip("\n").split("\t"))) for line in f]


def corpus_files(name):
    """Messages that can cross LMTP DATA unchanged: the corpus README
    says bare CRs can't (CRLF is the line end on the wire, so a bare CR
    before one is indistinguishable); those are served from a Maildir in
    test_server_mime.py instead."""
    rows = [r for r in manifest(name) if "bareCR" not in r["eol"]]
    return sorted(os.path.join(CORPUS, name, r["maildir_file"]) for r in rows)


@pytest.fixture(scope="module")
def delivered():
    server = LoftServer(users={"corpus": "corpus-pass"})
    assert len(corpus_files("spamassassin")) == 6046 - 8
    server.start()
    files = corpus_files("spamassassin")
    expected = []
    lmtp = LMTP("127.0.0.1", server.ports["lmtp"])
    assert lmtp.lhlo()[0] == 250
    for path in files:
        with open(path, "rb") as f:
            data = f.read()
        wire, served = to_wire(data)
        rcpt_codes, replies = lmtp.deliver("sender@example.org", ["corpus"], wire)
        assert rcpt_codes == [250], (path, rcpt_codes)
        assert replies[0][0] == 250, (path, replies)
        expected.append((path, served))
    lmtp.quit()
    yield server, expected
    server.cleanup()


def test_imaps_fetch_is_byte_identical(delivered):
    server, expected = delivered
    c = imaplib.IMAP4_SSL("127.0.0.1", server.ports["imaps"], ssl_context=ctx())
    c.login("corpus", "corpus-pass")
    typ, data = c.select("INBOX", readonly=True)
    assert int(data[0]) == len(expected)
    mismatches = []
    chunk = 500
    for start in range(1, len(expected) + 1, chunk):
        end = min(start + chunk - 1, len(expected))
        typ, data = c.uid("FETCH", "%d:%d" % (start, end),
                          "(UID RFC822.SIZE BODY.PEEK[])")
        assert typ == "OK"
        for item in data:
            if not isinstance(item, tuple):
                continue
            meta, body = item
            uid = int(re.search(rb"UID (\d+)", meta).group(1))
            size = int(re.search(rb"RFC822.SIZE (\d+)", meta).group(1))
            assert size == len(body)
            path, served = expected[uid - 1]
            if strip_prepended(body) != served:
                mismatches.append(path)
    c.logout()
    assert mismatches == [], "%d mismatches, first %s" % (len(mismatches), mismatches[:3])


def test_pop3s_retr_is_byte_identical(delivered):
    server, expected = delivered
    p = poplib.POP3_SSL("127.0.0.1", server.ports["pop3s"], context=ctx())
    p.user("corpus")
    p.pass_("corpus-pass")
    count, _ = p.stat()
    assert count == len(expected)
    mismatches = []
    for i in range(1, count + 1):
        resp, lines, octets = p.retr(i)
        body = b"\r\n".join(lines) + b"\r\n"
        path, served = expected[i - 1]
        if strip_prepended(body) != served:
            mismatches.append(path)
    p.quit()
    assert mismatches == [], "%d mismatches, first %s" % (len(mismatches), mismatches[:3])
