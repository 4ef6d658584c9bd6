"""Corpus round trip through this slice: a sample of the SpamAssassin
corpus delivered over LMTP (loft-lmtp by hand, userdb from loft-auth),
read back with loft-pop3 RETR: byte-identical to the file apart from the
headers LMTP prepends and CRLF line ends (see ../shared/corpus/README.md
"How tests should use them"). The whole corpus goes through the complete
server in test_server_corpus.py; this sample keeps the slice's own test
fast under ASan."""
import csv
import os

import pytest

from lmtpclient import LMTP, to_wire
from pop3lmtp_util import Env, CORPUS, wait_exit, strip_lmtp_headers

USER = "corpus@example.com"
SAMPLE = 80


def sample_files():
    root = os.path.join(CORPUS, "spamassassin")
    with open(os.path.join(root, "MANIFEST.tsv"), newline="") as f:
        rows = list(csv.DictReader(f, delimiter="\t"))
    # NUL bytes and bare CRs can't cross DATA unchanged (README)
    usable = [r for r in rows if r["eol"] == "LF" and "NUL" not in r["features"]]
    step = max(1, len(usable) // SAMPLE)
    picked = usable[::step][:SAMPLE]
    # always include the biggest messages and the one without final newline
    picked += sorted(usable, key=lambda r: -int(r["size"]))[:3]
    picked += [r for r in usable if r["final_newline"] == "0"][:1]
    return [os.path.join(root, r["maildir_file"]) for r in picked]


@pytest.fixture(scope="module")
def env():
    e = Env(users=(USER,))
    e.start_auth()
    e.start_lmtp()
    yield e
    e.stop()
    errors = e.sanitizer_errors()
    e.cleanup()
    assert errors == []


def test_corpus_lmtp_to_pop3_round_trip(env):
    files = sample_files()
    assert len(files) >= SAMPLE
    expected = []
    lmtp = LMTP(path=env.lmtp_path, timeout=120)
    assert lmtp.lhlo()[0] == 250
    for path in files:
        with open(path, "rb") as f:
            data = f.read()
        wire, served = to_wire(data)
        codes, replies = lmtp.deliver("sender@example.org", [USER], wire)
        assert codes == [250]
        assert replies[0][0] == 250, (path, replies)
        expected.append((path, served))
    lmtp.quit()

    pop, proc = env.poplib(USER)
    count, total = pop.stat()
    assert count == len(expected)
    sizes = {int(l.split()[0]): int(l.split()[1]) for l in pop.list()[1]}
    for i, (path, served) in enumerate(expected, 1):
        sock_file = pop.file
        pop._putcmd("RETR %d" % i)
        resp = pop._getresp()
        assert resp.startswith(b"+OK %d octets" % sizes[i])
        got = bytearray()
        while True:
            line = sock_file.readline()
            assert line, "EOF"
            if line == b".\r\n":
                break
            got += line[1:] if line.startswith(b"..") else line
        got = bytes(got)
        assert len(got) == sizes[i], path
        # the prepended block is exactly Return-Path, Delivered-To and a
        # 5-line Received header, then the message as delivered
        lines = got.split(b"\r\n", 7)
        assert lines[0] == b"Return-Path: <sender@example.org>", path
        assert lines[1] == b"Delivered-To: " + USER.encode(), path
        assert lines[2].startswith(b"Received: from "), path
        assert lines[3].startswith(b"\tby ") and b" with LMTP" in lines[3]
        assert lines[4].startswith(b"\tid ")
        assert lines[5] == b"\t(envelope-from <sender@example.org>)"
        assert lines[6].startswith(b"\tfor <%s>; " % USER.encode())
        assert lines[7] == served, path
        assert strip_lmtp_headers(got) == served, path
    pop.quit()
    assert wait_exit(proc) == 0
