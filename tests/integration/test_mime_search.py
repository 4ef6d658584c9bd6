"""SEARCH on message content through a running loft (lib-mail matchers
behind the imap process): header fields with RFC 2047 encoded words and
address fields, BODY across transfer encodings and charsets, TEXT, and
SENTON/SENTBEFORE/SENTSINCE on the Date: field in its own timezone."""
import imaplib

import pytest

from loftserver import LoftServer

MESSAGES = [
    # 1
    b"From: =?utf-8?q?J=C3=BCrgen_M=C3=BCller?= <jm@example.com>\r\n"
    b"To: Someone <some@where.org>, list: a@b.c, d@e.f;\r\n"
    b"Subject: =?iso-8859-1?q?=C4pfel?= und Birnen\r\n"
    b"Date: Fri, 31 Dec 2010 23:00:00 -1130\r\n"
    b"X-Tag: alpha\r\n"
    b"MIME-Version: 1.0\r\n"
    b"Content-Type: multipart/mixed; boundary=s\r\n"
    b"\r\n"
    b"--s\r\n"
    b"Content-Type: text/plain; charset=iso-8859-1\r\n"
    b"Content-Transfer-Encoding: quoted-printable\r\n"
    b"\r\n"
    b"Gr=FC=DFe aus M=FCnchen\r\n"
    b"--s\r\n"
    b"Content-Type: text/plain; charset=utf-8\r\n"
    b"Content-Transfer-Encoding: base64\r\n"
    b"\r\n"
    b"0J/RgNC40LLQtdGCINC80LjRgA==\r\n"
    b"--s--\r\n",
    # 2
    b"From: plain@example.net\r\n"
    b"Subject: nothing special\r\n"
    b"Date: 1 Jan 2011 00:30:00 +0100\r\n"
    b"\r\n"
    b"just ascii body, no umlauts\r\n",
    # 3: no Date, windows-1252 body
    b"From: Other <other@example.net>\r\n"
    b"Subject: =?windows-1252?B?gCBwcmljZQ==?=\r\n"
    b"Content-Type: text/plain; charset=windows-1252\r\n"
    b"\r\n"
    b"costs 5 \x80 only\r\n",
]


@pytest.fixture(scope="module")
def conn():
    server = LoftServer(users={"s": "s-pass"})
    server.start()
    c = imaplib.IMAP4("127.0.0.1", server.ports["imap"])
    c.login("s", "s-pass")
    for m in MESSAGES:
        typ, _ = c.append("INBOX", None, None, m)
        assert typ == "OK"
    typ, _ = c.select("INBOX")
    assert typ == "OK"
    yield c
    c.logout()
    server.cleanup()


def search(c, *criteria, utf8=None):
    if utf8 is not None:
        c.literal = utf8.encode("utf-8")
        typ, data = c.search("UTF-8", *criteria)
    else:
        typ, data = c.search(None, *criteria)
    assert typ == "OK", data
    return [int(x) for x in data[0].split()]


@pytest.mark.parametrize("criteria,utf8,expected", [
    (("SUBJECT", "birnen"), None, [1]),
    (("SUBJECT",), "äPFEL", [1]),
    (("SUBJECT",), "€ price", [3]),
    (("FROM",), "jürgen müller", [1]),
    (("FROM", "JM@EXAMPLE.COM"), None, [1]),
    (("FROM", "example.net"), None, [2, 3]),
    (("TO", "d@e.f"), None, [1]),
    (("HEADER", "X-Tag", "alph"), None, [1]),
    (("HEADER", "X-Tag", '""'), None, [1]),
    (("BODY",), "grüße", [1]),
    (("BODY",), "MÜNCHEN", [1]),
    (("BODY",), "привет", [1]),
    (("BODY",), "€", [3]),
    (("BODY", "umlauts"), None, [2]),
    (("BODY", "birnen"), None, []),
    (("TEXT", "birnen"), None, [1]),
    (("TEXT", "UMLAUTS"), None, [2]),
    (("SENTON", "31-Dec-2010"), None, [1]),
    (("SENTBEFORE", "1-Jan-2011"), None, [1]),
    (("SENTSINCE", "1-Jan-2011"), None, [2]),
    (("NOT", "SENTON", "1-Jan-2011"), None, [1, 3]),
])
def test_search(conn, criteria, utf8, expected):
    assert search(conn, *criteria, utf8=utf8) == expected
