"""loft-imap, one session: every command with good and bad arguments,
checked with raw protocol lines and with Python's imaplib."""
import email
import os
import re
import time

import pytest

from test_imap_harness import ImapHome, assert_no_sanitizer_errors

CAPS = (b"IMAP4rev1 SASL-IR LOGIN-REFERRALS ID ENABLE IDLE UNSELECT "
        b"CHILDREN NAMESPACE UIDPLUS MOVE LITERAL+")

MSG1 = (b"From: Alice Example <alice@example.com>\r\n"
        b"To: bob@example.org, \"Carol C\" <carol@example.net>\r\n"
        b"Subject: hello world\r\n"
        b"Date: Mon, 7 Feb 1994 21:52:25 -0800\r\n"
        b"Message-ID: <msg1@example.com>\r\n"
        b"\r\n"
        b"first body line\r\n"
        b"second line with needle\r\n")

MSG2 = (b"From: bob@example.org\r\n"
        b"To: alice@example.com\r\n"
        b"Subject: multipart\r\n"
        b"Date: Tue, 8 Feb 1994 10:00:00 +0000\r\n"
        b"MIME-Version: 1.0\r\n"
        b"Content-Type: multipart/mixed; boundary=\"XX\"\r\n"
        b"\r\n"
        b"--XX\r\n"
        b"Content-Type: text/plain; charset=us-ascii\r\n"
        b"\r\n"
        b"part one\r\n"
        b"--XX\r\n"
        b"Content-Type: application/octet-stream\r\n"
        b"Content-Transfer-Encoding: base64\r\n"
        b"\r\n"
        b"aGVsbG8=\r\n"
        b"--XX--\r\n")


@pytest.fixture
def home():
    h = ImapHome()
    yield h
    h.cleanup()


def started(home, **kw):
    s = home.session(**kw)
    g = s.greeting()
    assert g.startswith(b"* PREAUTH [CAPABILITY "), g
    return s


def append(s, mailbox, msg, extra=""):
    untagged, tagged = s.cmd(("APPEND %s %s{%d+}\r\n" % (mailbox, extra, len(msg))).encode() + msg)
    assert b"OK [APPENDUID " in tagged, tagged
    m = re.search(rb"APPENDUID (\d+) (\d+)", tagged)
    return int(m.group(1)), int(m.group(2))


def test_greeting_capability_logout(home):
    s = home.session()
    g = s.greeting()
    assert g == b"* PREAUTH [CAPABILITY " + CAPS + b"] Logged in as testuser"
    untagged, tagged = s.cmd("CAPABILITY", tag="a1")
    assert untagged == [b"* CAPABILITY " + CAPS]
    assert re.fullmatch(rb"a1 OK Capability completed \(\d+\.\d{3} \+ \d+\.\d{3} secs\)\.", tagged)
    untagged, tagged = s.cmd("NOOP")
    assert b"OK NOOP completed" in tagged
    untagged, tagged = s.cmd("LOGOUT", tag="z")
    assert untagged == [b"* BYE Logging out"]
    assert tagged.startswith(b"z OK Logout completed (")
    assert s.closed()
    assert s.wait() == 0
    log = s.log_text()
    assert re.search(r"imap\(testuser\)<\d+><>: Info: Disconnected: Logged out "
                     r"in=\d+ out=\d+ deleted=0 expunged=0 trashed=0 hdr_count=0 "
                     r"hdr_bytes=0 body_count=0 body_bytes=0", log), log
    assert_no_sanitizer_errors(log)


def test_login_tag_and_pipelined_input(home):
    import base64
    pipelined = b"p1 NOOP\r\np2 SELECT INBOX\r\n"
    s = home.session(env={"LOFT_TAG": "L1", "LOFT_SESSION": "sess42",
                          "LOFT_INPUT": base64.b64encode(pipelined).decode()})
    assert s.readline() == b"L1 OK [CAPABILITY " + CAPS + b"] Logged in"
    _, tagged = s.read_until_tag("p1")
    assert b"OK NOOP" in tagged
    untagged, tagged = s.read_until_tag("p2")
    assert b"OK [READ-WRITE] Select completed" in tagged
    s.sock.close()
    assert s.wait() == 0
    log = s.log_text()
    assert re.search(r"imap\(testuser\)<\d+><sess42>: Info: Disconnected: "
                     r"Connection closed \(SELECT finished \d+\.\d+ secs ago\) in=", log), log


def test_disconnect_without_commands_logged(home):
    s = started(home)
    s.sock.close()
    assert s.wait() == 0
    assert "Disconnected: Connection closed (No commands sent) in=0 out=" in s.log_text()


def test_unknown_and_bad_commands(home):
    s = started(home)
    _, tagged = s.cmd("FOO", tag="x1")
    assert tagged.startswith(b"x1 BAD Error in IMAP command FOO: Unknown command")
    _, tagged = s.cmd("UID FOO 1", tag="x2")
    assert tagged.startswith(b"x2 BAD Error in IMAP command UID FOO: Unknown command")
    _, tagged = s.cmd("UID CREATE x", tag="x3")
    assert b"BAD" in tagged
    _, tagged = s.cmd("FETCH 1 FLAGS", tag="x4")
    assert tagged.startswith(b"x4 BAD No mailbox selected")
    _, tagged = s.cmd("LOGIN user pass", tag="x5")
    assert b"x5 BAD" in tagged
    s.send(b"+bad NOOP\r\n")
    assert s.readline().startswith(b"* BAD Error in IMAP tag: Invalid characters in tag")
    _, tagged = s.cmd("SELECT (a", tag="x6")
    assert tagged.startswith(b"x6 BAD Error in IMAP command SELECT: Missing ')'")
    # still alive
    _, tagged = s.cmd("NOOP")
    assert b"OK" in tagged


def test_create_delete_rename_list(home):
    s = started(home)
    for name in ["Sent", "Archive", "Archive.2023", "Archive.2023.Q1",
                 "\"with space\"", "&AOQ-bc"]:
        _, tagged = s.cmd("CREATE " + name)
        assert b"OK Create completed" in tagged, (name, tagged)
    _, tagged = s.cmd("CREATE Sent")
    assert b"NO [ALREADYEXISTS]" in tagged
    _, tagged = s.cmd("CREATE inbox")
    assert b"NO [ALREADYEXISTS]" in tagged
    _, tagged = s.cmd("CREATE &Jjo")
    assert b" NO " in tagged, tagged
    _, tagged = s.cmd("CREATE")
    assert b"BAD Error in IMAP command CREATE: Missing arguments" in tagged

    untagged, _ = s.cmd('LIST "" ""')
    assert untagged == [b'* LIST (\\Noselect) "." ""']
    untagged, _ = s.cmd('LIST "" *')
    lines = set(untagged)
    assert b'* LIST (\\HasNoChildren) "." INBOX' in lines
    assert b'* LIST (\\HasChildren) "." Archive' in lines
    assert b'* LIST (\\HasChildren) "." Archive.2023' in lines
    assert b'* LIST (\\HasNoChildren) "." Archive.2023.Q1' in lines
    assert b'* LIST (\\HasNoChildren) "." "with space"' in lines
    assert b'* LIST (\\HasNoChildren) "." &AOQ-bc' in lines
    assert len(untagged) == 7
    untagged, _ = s.cmd('LIST "" %')
    names = sorted(l.split(b'"." ')[1] for l in untagged)
    assert names == [b'"with space"', b"&AOQ-bc", b"Archive", b"INBOX", b"Sent"]
    untagged, _ = s.cmd('LIST Archive. %')
    assert untagged == [b'* LIST (\\HasChildren) "." Archive.2023']
    untagged, _ = s.cmd('LIST "" Archive.*')
    assert len(untagged) == 2
    untagged, _ = s.cmd('LIST "" inbox')
    assert untagged == [b'* LIST (\\HasNoChildren) "." INBOX']
    untagged, _ = s.cmd('LIST "" nothing*')
    assert untagged == []
    _, tagged = s.cmd('LIST ""')
    assert b"BAD" in tagged

    _, tagged = s.cmd("RENAME Sent Sent2")
    assert b"OK Rename completed" in tagged
    _, tagged = s.cmd("RENAME Nope Other")
    assert b"NO [NONEXISTENT] Mailbox doesn't exist: Nope" in tagged
    _, tagged = s.cmd("RENAME Sent2 Archive")
    assert b"NO [ALREADYEXISTS]" in tagged
    _, tagged = s.cmd("DELETE Sent2")
    assert b"OK Delete completed" in tagged
    _, tagged = s.cmd("DELETE Sent2")
    assert b"NO [NONEXISTENT] Mailbox doesn't exist: Sent2" in tagged
    _, tagged = s.cmd("DELETE INBOX")
    assert b" NO " in tagged
    # a parent that exists only through its children is \Noselect
    _, tagged = s.cmd("DELETE Archive.2023")
    untagged, _ = s.cmd('LIST "" Archive.%')
    assert untagged and all(b"Archive.2023" in l for l in untagged), untagged


def test_subscribe_lsub(home):
    s = started(home)
    s.ok("CREATE Lists")
    s.ok("CREATE Lists.a")
    _, tagged = s.cmd("SUBSCRIBE Lists.a")
    assert b"OK Subscribe completed" in tagged
    _, tagged = s.cmd("SUBSCRIBE Nope")
    assert b"NO [NONEXISTENT]" in tagged
    untagged, _ = s.cmd('LSUB "" *')
    assert untagged == [b'* LSUB () "." Lists.a']
    untagged, _ = s.cmd('LSUB "" %')
    assert untagged == [b'* LSUB (\\Noselect) "." Lists']
    _, tagged = s.cmd("UNSUBSCRIBE Lists.a")
    assert b"OK Unsubscribe completed" in tagged
    untagged, _ = s.cmd('LSUB "" *')
    assert untagged == []


def test_select_examine_status_append(home):
    s = started(home)
    untagged, tagged = s.cmd("SELECT INBOX")
    assert untagged[0] == b"* FLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft)"
    assert untagged[1] == (b"* OK [PERMANENTFLAGS (\\Answered \\Flagged \\Deleted "
                           b"\\Seen \\Draft \\*)] Flags permitted.")
    assert b"* 0 EXISTS" in untagged and b"* 0 RECENT" in untagged
    assert any(l.startswith(b"* OK [UIDVALIDITY ") for l in untagged)
    assert b"* OK [UIDNEXT 1] Predicted next UID" in untagged
    assert re.fullmatch(rb"t\d+ OK \[READ-WRITE\] Select completed \(\d\.\d{3} \+ \d\.\d{3} secs\)\.", tagged)

    # synchronizing literal: wait for "+ OK"
    s.send(b"a1 APPEND INBOX (\\Seen $Label) \"07-Feb-1994 21:52:25 -0800\" {%d}\r\n" % len(MSG1))
    assert s.readline() == b"+ OK"
    s.send(MSG1 + b"\r\n")
    untagged, tagged = s.read_until_tag("a1")
    assert b"* 1 EXISTS" in untagged
    m = re.match(rb"a1 OK \[APPENDUID (\d+) 1\] Append completed", tagged)
    assert m, tagged
    uidvalidity = int(m.group(1))
    # LITERAL+
    uv, uid = append(s, "INBOX", MSG2)
    assert (uv, uid) == (uidvalidity, 2)

    untagged, _ = s.cmd("FETCH 1 (FLAGS INTERNALDATE RFC822.SIZE)")
    assert untagged == [b'* 1 FETCH (FLAGS (\\Seen $Label) INTERNALDATE '
                        b'"08-Feb-1994 05:52:25 +0000" RFC822.SIZE %d)' % len(MSG1)] or \
        (b"INTERNALDATE" in untagged[0] and b"$Label" in untagged[0]), untagged

    untagged, _ = s.cmd("STATUS INBOX (MESSAGES UIDNEXT UIDVALIDITY UNSEEN RECENT)")
    assert untagged == [b"* STATUS INBOX (MESSAGES 2 RECENT 0 UIDNEXT 3 "
                        b"UIDVALIDITY %d UNSEEN 1)" % uidvalidity] or \
        untagged[0].startswith(b"* STATUS INBOX (MESSAGES 2 "), untagged
    _, tagged = s.cmd("STATUS INBOX (BOGUS)")
    assert b"BAD Error in IMAP command STATUS: Invalid status item BOGUS" in tagged
    _, tagged = s.cmd("STATUS Nope (MESSAGES)")
    assert b"NO [NONEXISTENT] Mailbox doesn't exist: Nope" in tagged

    # APPEND errors
    _, tagged = s.cmd(b"APPEND Nope {3+}\r\nabc")
    assert b"NO [TRYCREATE] Mailbox doesn't exist: Nope" in tagged
    # with a synchronizing literal the answer comes instead of "+ OK"
    s.send(b"n1 APPEND Nope (\\Seen) {3}\r\n")
    line = s.readline()
    assert line.startswith(b"n1 NO [TRYCREATE] Mailbox doesn't exist: Nope"), line
    _, tagged = s.cmd("NOOP", tag="n2")
    assert tagged.startswith(b"n2 OK")
    _, tagged = s.cmd(b'APPEND INBOX "31-Feb-2020 00:00:00 +0000" {3+}\r\nabc')
    assert b"BAD" in tagged
    _, tagged = s.cmd(b"APPEND INBOX (\\Bogus) {3+}\r\nabc")
    assert b"BAD" in tagged
    _, tagged = s.cmd(b"APPEND INBOX {0+}\r\n")
    assert b" NO " in tagged

    # EXAMINE is read-only
    untagged, tagged = s.cmd("EXAMINE INBOX")
    assert untagged[0] == b"* OK [CLOSED] Previous mailbox closed."
    assert b"* OK [PERMANENTFLAGS ()] Read-only mailbox." in untagged
    assert b"OK [READ-ONLY] Examine completed" in tagged
    _, tagged = s.cmd("STORE 1 +FLAGS (\\Deleted)")
    assert b"NO [READ-ONLY]" in tagged
    untagged, _ = s.cmd("FETCH 2 BODY[]")
    assert b"FLAGS" not in untagged[0]   # read-only: \Seen not set
    _, tagged = s.cmd("SELECT Nope")
    assert b"NO [NONEXISTENT] Mailbox doesn't exist: Nope" in tagged
    _, tagged = s.cmd("FETCH 1 FLAGS")
    assert b"BAD No mailbox selected" in tagged


def test_append_too_big(tmp_path):
    home = ImapHome(extra_config="mail_max_message_size = 1k\n")
    try:
        s = started(home)
        s.send(b"a1 APPEND INBOX {5000}\r\n")
        line = s.readline()
        assert line.startswith(b"a1 NO [TOOBIG]"), line
        # LITERAL+: its data is skipped, connection stays usable
        s.send(b"a2 APPEND INBOX {5000+}\r\n" + b"x" * 5000 + b"\r\n")
        line = s.readline()
        assert line.startswith(b"a2 NO [TOOBIG]"), line
        _, tagged = s.cmd("NOOP", tag="a3")
        assert tagged.startswith(b"a3 OK")
        s.ok("SELECT INBOX")
        untagged, _ = s.cmd("SEARCH ALL")
        assert untagged == [b"* SEARCH"]
    finally:
        home.cleanup()


def test_fetch_items(home):
    s = started(home)
    s.ok("SELECT INBOX")
    append(s, "INBOX", MSG1)
    append(s, "INBOX", MSG2)
    untagged, _ = s.cmd("FETCH 1 ENVELOPE")
    env = untagged[0]
    assert env.startswith(b'* 1 FETCH (ENVELOPE ("Mon, 7 Feb 1994 21:52:25 -0800" "hello world" '
                          b'(("Alice Example" NIL "alice" "example.com"))'), env
    assert b'"<msg1@example.com>"))' in env
    # cached: same answer again
    untagged2, _ = s.cmd("FETCH 1 ENVELOPE")
    assert untagged2 == untagged

    untagged, _ = s.cmd("FETCH 2 BODYSTRUCTURE")
    assert b'("text" "plain" ("charset" "us-ascii") NIL NIL "7bit" 8 ' in untagged[0], untagged
    assert b'"mixed" ("boundary" "XX")' in untagged[0]
    untagged, _ = s.cmd("FETCH 2 BODY")
    assert b"BODY ((" in untagged[0] and b"boundary" not in untagged[0]

    untagged, _ = s.cmd("FETCH 2 (BODY.PEEK[1] BODY.PEEK[2.MIME])")
    assert untagged[0] == (b"* 2 FETCH (BODY[1] {8}\r\npart one BODY[2.MIME] {77}\r\n"
                           b"Content-Type: application/octet-stream\r\n"
                           b"Content-Transfer-Encoding: base64\r\n\r\n)"), untagged
    untagged, _ = s.cmd("FETCH 1 (BODY.PEEK[HEADER.FIELDS (Subject To)])")
    assert untagged[0].startswith(b"* 1 FETCH (BODY[HEADER.FIELDS (SUBJECT TO)] {")
    assert b"Subject: hello world\r\n" in untagged[0]
    assert b"From:" not in untagged[0]
    untagged, _ = s.cmd('FETCH 1 (BODY.PEEK[HEADER.FIELDS ("subject")])')
    assert untagged[0] == b'* 1 FETCH (BODY[HEADER.FIELDS ("SUBJECT")] {24}\r\nSubject: hello world\r\n\r\n)', untagged
    untagged, _ = s.cmd("FETCH 1 (BODY.PEEK[HEADER.FIELDS.NOT (To From Date Message-ID)])")
    assert untagged[0] == b'* 1 FETCH (BODY[HEADER.FIELDS.NOT (TO FROM DATE MESSAGE-ID)] {24}\r\nSubject: hello world\r\n\r\n)', untagged
    untagged, _ = s.cmd("FETCH 1 (BODY.PEEK[3])")
    assert untagged[0] == b"* 1 FETCH (BODY[3] {0}\r\n)"
    untagged, _ = s.cmd("FETCH 1 (BODY.PEEK[]<6.5>)")
    assert untagged[0] == b"* 1 FETCH (BODY[]<6> {5}\r\nAlice)"
    untagged, _ = s.cmd("FETCH 1 (BODY.PEEK[TEXT])")
    assert untagged[0] == b"* 1 FETCH (BODY[TEXT] {42}\r\nfirst body line\r\nsecond line with needle\r\n)"
    untagged, _ = s.cmd("FETCH 1 RFC822.HEADER")
    assert untagged[0].startswith(b"* 1 FETCH (RFC822.HEADER {")
    untagged, _ = s.cmd("FETCH 1 FLAGS")
    assert untagged == [b"* 1 FETCH (FLAGS (\\Recent))"]
    # BODY[] without PEEK sets \Seen and reports FLAGS
    untagged, _ = s.cmd("FETCH 1 BODY[]")
    assert untagged[0].startswith(b"* 1 FETCH (FLAGS (\\Seen \\Recent) BODY[] {%d}\r\n" % len(MSG1))
    assert untagged[0].endswith(MSG1 + b")")
    untagged, _ = s.cmd("FETCH 2 RFC822")
    assert b"FLAGS (\\Seen \\Recent)" in untagged[0] and b"RFC822 {" in untagged[0]
    untagged, _ = s.cmd("UID FETCH 1:* (UID FLAGS)")
    assert untagged == [b"* 1 FETCH (UID 1 FLAGS (\\Seen \\Recent))",
                        b"* 2 FETCH (UID 2 FLAGS (\\Seen \\Recent))"]
    untagged, _ = s.cmd("FETCH 1:2 FAST")
    assert len(untagged) == 2 and b"RFC822.SIZE" in untagged[0] and b"INTERNALDATE" in untagged[0]
    untagged, _ = s.cmd("FETCH 1 ALL")
    assert b"ENVELOPE" in untagged[0] and b"BODY " not in untagged[0]
    untagged, _ = s.cmd("FETCH 1 FULL")
    assert b"ENVELOPE" in untagged[0] and b"BODY (" in untagged[0]
    untagged, _ = s.cmd("FETCH * UID")
    assert untagged == [b"* 2 FETCH (UID 2)"]
    # bad
    _, tagged = s.cmd("FETCH 3 FLAGS")
    assert b"BAD Error in IMAP command FETCH: Invalid messageset" in tagged
    _, tagged = s.cmd("FETCH 1 (FLAGS BOGUS)")
    assert b"BAD Error in IMAP command FETCH: Unknown parameter BOGUS" in tagged
    _, tagged = s.cmd("FETCH 1 BODY[HEADER.FIELDS]")
    assert b"BAD" in tagged
    _, tagged = s.cmd("FETCH 1 BODY[]<x>")
    assert b"BAD" in tagged
    _, tagged = s.cmd("FETCH 0 FLAGS")
    assert b"BAD" in tagged
    _, tagged = s.cmd("FETCH 1")
    assert b"BAD" in tagged
    untagged, tagged = s.cmd("UID FETCH 100:200 FLAGS")
    assert b"OK" in tagged
    log = s.log_text()
    s.cmd("LOGOUT")
    s.wait()
    log = s.log_text()
    assert re.search(r"hdr_count=[1-9]\d* hdr_bytes=[1-9]\d* body_count=[1-9]", log), log


def test_store_search_copy_move_expunge(home):
    s = started(home)
    s.ok("CREATE Other")
    s.ok("SELECT INBOX")
    for i in range(5):
        append(s, "INBOX", MSG1 if i % 2 == 0 else MSG2)
    untagged, tagged = s.cmd("STORE 1:2 +FLAGS (\\Flagged $Work)")
    # a new keyword is announced before it is used (RFC 3501 7.2.6)
    assert untagged == [b"* FLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft $Work)",
                        b"* OK [PERMANENTFLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft $Work \\*)] Flags permitted.",
                        b"* 1 FETCH (FLAGS (\\Flagged \\Recent $Work))",
                        b"* 2 FETCH (FLAGS (\\Flagged \\Recent $Work))"], untagged
    untagged, _ = s.cmd("STORE 2 -FLAGS.SILENT ($Work)")
    assert untagged == []
    untagged, _ = s.cmd("UID STORE 3 FLAGS (\\Seen)")
    assert untagged == [b"* 3 FETCH (UID 3 FLAGS (\\Seen \\Recent))"]
    _, tagged = s.cmd("STORE 1 +FLAGS (\\Recent)")
    assert b"BAD" in tagged
    _, tagged = s.cmd("STORE 1 BOGUS (\\Seen)")
    assert b"BAD" in tagged
    _, tagged = s.cmd("STORE 9 +FLAGS (\\Seen)")
    assert b"BAD Error in IMAP command STORE: Invalid messageset" in tagged
    # \Seen is reported again only if something changed
    untagged, _ = s.cmd("NOOP")
    assert untagged == []

    def search(q):
        untagged, tagged = s.cmd("SEARCH " + q)
        assert b"OK Search completed" in tagged, (q, tagged)
        assert len(untagged) == 1 and untagged[0].startswith(b"* SEARCH"), untagged
        return [int(x) for x in untagged[0].split()[2:]]

    assert search("ALL") == [1, 2, 3, 4, 5]
    assert search("FLAGGED") == [1, 2]
    assert search("UNFLAGGED") == [3, 4, 5]
    assert search("KEYWORD $Work") == [1]
    assert search("UNKEYWORD $Work") == [2, 3, 4, 5]
    assert search("SEEN") == [3]
    assert search("UNSEEN") == [1, 2, 4, 5]
    assert search("RECENT") == [1, 2, 3, 4, 5]
    assert search("NEW") == [1, 2, 4, 5]
    assert search("OLD") == []
    assert search("2:4") == [2, 3, 4]
    assert search("1,5") == [1, 5]
    assert search("*") == [5]
    assert search("UID 2:3") == [2, 3]
    assert search("NOT 2:4") == [1, 5]
    assert search("OR 1 5") == [1, 5]
    assert search("OR FLAGGED SEEN") == [1, 2, 3]
    assert search("(FLAGGED 2:3)") == [2]
    assert search("SUBJECT hello") == [1, 3, 5]
    assert search("SUBJECT HELLO") == [1, 3, 5]
    assert search("FROM alice") == [1, 3, 5]
    assert search("TO alice") == [2, 4]
    assert search("CC nobody") == []
    assert search("BCC nobody") == []
    assert search("HEADER Message-ID msg1") == [1, 3, 5]
    assert search('HEADER Content-Type ""') == [2, 4]
    assert search("BODY needle") == [1, 3, 5]
    assert search("BODY \"part one\"") == [2, 4]
    assert search("TEXT multipart") == [2, 4]
    assert search("TEXT needle") == [1, 3, 5]
    assert search("LARGER 229") == [2, 4]
    assert search("LARGER 228") == [1, 2, 3, 4, 5]
    assert search("SMALLER 230") == [1, 3, 5]
    assert search("SMALLER 229") == []
    assert search("SENTON 7-Feb-1994") == [1, 3, 5]
    assert search("SENTBEFORE 8-Feb-1994") == [1, 3, 5]
    assert search("SENTSINCE 8-Feb-1994") == [2, 4]
    today = time.strftime("%d-%b-%Y")
    assert search("ON " + today) == [1, 2, 3, 4, 5]
    assert search("SINCE " + today) == [1, 2, 3, 4, 5]
    assert search("BEFORE " + today) == []
    assert search("CHARSET UTF-8 SUBJECT world") == [1, 3, 5]
    assert search("CHARSET US-ASCII ALL") == [1, 2, 3, 4, 5]
    assert search("DELETED") == []
    assert search("UNDELETED ANSWERED") == []
    assert search("UNANSWERED DRAFT") == []
    assert search("UNDRAFT 1") == [1]
    untagged, _ = s.cmd("UID SEARCH 2:3")
    assert untagged == [b"* SEARCH 2 3"]
    _, tagged = s.cmd("SEARCH CHARSET KOI8-R ALL")
    assert b"NO [BADCHARSET" in tagged
    for bad in ["", "BOGUS", "FROM", "OR 1", "NOT", "BEFORE 99-Foo-2000",
                "LARGER x", "UID x", "()", "HEADER Subject", "1:x"]:
        _, tagged = s.cmd("SEARCH " + bad)
        assert b" BAD " in tagged, (bad, tagged)

    # COPY / MOVE with COPYUID
    _, tagged = s.cmd("COPY 1:2 Other")
    m = re.search(rb"OK \[COPYUID (\d+) 1:2 1:2\] Copy completed", tagged)
    assert m, tagged
    _, tagged = s.cmd("COPY 1 Nope")
    assert b"NO [TRYCREATE] Mailbox doesn't exist: Nope" in tagged
    _, tagged = s.cmd("UID COPY 100 Other")
    assert b"OK No messages found" in tagged
    untagged, tagged = s.cmd("MOVE 4 Other")
    assert re.match(rb"\* OK \[COPYUID \d+ 4 3\] Moved UIDs\.", untagged[0]), untagged
    assert b"* 4 EXPUNGE" in untagged
    assert b"OK Move completed" in tagged
    untagged, tagged = s.cmd("UID MOVE 5 Other")
    assert b"* 4 EXPUNGE" in untagged and b"OK Move completed" in tagged
    untagged, _ = s.cmd("STATUS Other (MESSAGES UIDNEXT)")
    assert untagged == [b"* STATUS Other (MESSAGES 4 UIDNEXT 5)"]

    # EXPUNGE / UID EXPUNGE
    s.ok("STORE 1:3 +FLAGS.SILENT (\\Deleted)")
    untagged, tagged = s.cmd("UID EXPUNGE 2")
    assert untagged == [b"* 2 EXPUNGE"], untagged
    assert search("ALL") == [1, 2]
    untagged, tagged = s.cmd("EXPUNGE")
    assert untagged == [b"* 2 EXPUNGE", b"* 1 EXPUNGE"] or \
        untagged == [b"* 1 EXPUNGE", b"* 1 EXPUNGE"], untagged
    assert b"OK Expunge completed" in tagged
    untagged, _ = s.cmd("SELECT INBOX")
    assert b"* 0 EXISTS" in untagged
    # UIDs are not reused
    _, uid = append(s, "INBOX", MSG1)
    assert uid == 6

    # CLOSE expunges silently, UNSELECT does not
    s.ok("STORE 1 +FLAGS (\\Deleted)")
    untagged, tagged = s.cmd("UNSELECT")
    assert untagged == [] and b"OK Unselect completed" in tagged
    s.ok("SELECT INBOX")
    untagged, tagged = s.cmd("CLOSE")
    assert untagged == [] and b"OK Close completed" in tagged
    untagged, _ = s.cmd("STATUS INBOX (MESSAGES)")
    assert untagged == [b"* STATUS INBOX (MESSAGES 0)"]
    _, tagged = s.cmd("CLOSE")
    assert b"BAD No mailbox selected" in tagged
    s.cmd("LOGOUT")
    s.wait()
    log = s.log_text()
    assert re.search(r"deleted=[1-9]\d* expunged=[1-9]\d* trashed=0", log), log


def test_id_enable_namespace_check(home):
    s = started(home)
    untagged, tagged = s.cmd('ID ("name" "pytest" "version" "1")')
    assert untagged == [b'* ID ("name" "loft")'] and b"OK ID completed" in tagged
    untagged, tagged = s.cmd("ID NIL")
    assert b"OK" in tagged
    _, tagged = s.cmd('ID ("name")')
    assert b"BAD" in tagged
    _, tagged = s.cmd("ID")
    assert b"BAD" in tagged
    untagged, tagged = s.cmd("ENABLE CONDSTORE")
    assert untagged == [b"* ENABLED"] and b"OK Enabled" in tagged
    _, tagged = s.cmd("ENABLE")
    assert b"BAD" in tagged
    untagged, tagged = s.cmd("NAMESPACE")
    assert untagged == [b'* NAMESPACE (("" ".")) NIL NIL']
    _, tagged = s.cmd("CHECK")
    assert b"BAD No mailbox selected" in tagged
    s.ok("SELECT INBOX")
    _, tagged = s.cmd("CHECK")
    assert b"OK Check completed" in tagged


def test_imaplib_session(home):
    m = home.imaplib()
    assert m.state == "AUTH"
    assert "IDLE" in m.capabilities and "UIDPLUS" in m.capabilities
    typ, _ = m.create("Work")
    assert typ == "OK"
    typ, data = m.append("Work", "(\\Flagged)", None, MSG1)
    assert typ == "OK" and b"APPENDUID" in data[0]
    typ, data = m.select("Work")
    assert typ == "OK" and data == [b"1"]
    typ, data = m.fetch("1", "(RFC822)")
    assert typ == "OK" and data[0][1] == MSG1
    msg = email.message_from_bytes(data[0][1])
    assert msg["Subject"] == "hello world"
    typ, data = m.search(None, "FLAGGED")
    assert data == [b"1"]
    typ, data = m.uid("SEARCH", "ALL")
    assert data == [b"1"]
    typ, data = m.store("1", "+FLAGS", "\\Deleted")
    assert typ == "OK"
    typ, data = m.expunge()
    assert data == [b"1"]
    typ, data = m.list()
    assert typ == "OK" and any(b"Work" in d for d in data)
    m.close()
    m.logout()


def test_list_many_mailboxes(home):
    """LIST stays fast with thousands of folders (made directly on disk
    as Maildir++ .folders, the way an existing tree looks)."""
    s = started(home)
    s.ok("NOOP")
    n = 0
    for a in range(20):
        for b in range(50):
            d = os.path.join(home.maildir, ".p%d.c%d" % (a, b))
            for sub in ("cur", "new", "tmp"):
                os.makedirs(os.path.join(d, sub))
            n += 1
    t0 = time.time()
    untagged, tagged = s.cmd('LIST "" *', timeout=60)
    assert b"OK List completed" in tagged
    # + INBOX and the parents p0..p19 that exist only through children
    assert len(untagged) == n + 21
    assert b'* LIST (\\Noselect \\HasChildren) "." p7' in untagged
    assert b'* LIST (\\HasNoChildren) "." p7.c42' in untagged
    untagged, _ = s.cmd('LIST "" %', timeout=60)
    assert b'* LIST (\\Noselect \\HasChildren) "." p7' in untagged
    assert len(untagged) == 21
    assert time.time() - t0 < 10


def test_capability_setting_and_separator():
    home = ImapHome(extra_config="imap_capability = +XFOO\n"
                    "namespace inbox {\n  inbox = yes\n  separator = /\n}\n")
    try:
        s = started(home)
        untagged, _ = s.cmd("CAPABILITY")
        assert untagged == [b"* CAPABILITY " + CAPS + b" XFOO"]
        s.ok("CREATE a/b/c")
        untagged, _ = s.cmd('LIST "" ""')
        assert untagged == [b'* LIST (\\Noselect) "/" ""']
        untagged, _ = s.cmd("NAMESPACE")
        assert untagged == [b'* NAMESPACE (("" "/")) NIL NIL']
        untagged, _ = s.cmd('LIST "" a/%/%')
        assert untagged == [b'* LIST (\\HasNoChildren) "/" a/b/c']
        untagged, _ = s.cmd('LIST a/ %')
        assert untagged == [b'* LIST (\\Noselect \\HasChildren) "/" a/b']
    finally:
        home.cleanup()
    home = ImapHome(extra_config="imap_capability = IMAP4rev1 IDLE\n")
    try:
        s = home.session()
        assert s.greeting() == b"* PREAUTH [CAPABILITY IMAP4rev1 IDLE] Logged in as testuser"
    finally:
        home.cleanup()


def test_namespace_prefix_inbox_dot():
    """namespace inbox { prefix = INBOX. } as Courier-migrated Dovecot
    setups have it: clients see INBOX.Sent for the storage's Sent."""
    home = ImapHome(extra_config="namespace inbox {\n  inbox = yes\n"
                    "  separator = .\n  prefix = INBOX.\n}\n")
    try:
        s = started(home)
        untagged, _ = s.cmd("NAMESPACE")
        assert untagged == [b'* NAMESPACE (("INBOX." ".")) NIL NIL']
        s.ok("CREATE INBOX.Sent")
        _, tagged = s.cmd("CREATE Sent")
        assert b"NO Client tried to access nonexistent namespace" in tagged
        assert os.path.isdir(os.path.join(home.maildir, ".Sent"))
        untagged, _ = s.cmd('LIST "" *')
        assert sorted(untagged) == [b'* LIST (\\HasChildren) "." INBOX',
                                    b'* LIST (\\HasNoChildren) "." INBOX.Sent']
        untagged, _ = s.cmd('LIST "" inbox.%')
        assert untagged == [b'* LIST (\\HasNoChildren) "." INBOX.Sent']
        s.ok("SUBSCRIBE INBOX.Sent")
        untagged, _ = s.cmd('LSUB "" *')
        assert untagged == [b'* LSUB () "." INBOX.Sent']
        append_untagged = s.ok(b"APPEND inbox.Sent {12+}\r\nSubject: x\r\n")
        untagged, _ = s.cmd("STATUS INBOX.Sent (MESSAGES)")
        assert untagged == [b"* STATUS INBOX.Sent (MESSAGES 1)"]
        s.ok("SELECT INBOX.Sent")
        s.ok("SELECT INBOX")
        _, tagged = s.cmd(b"APPEND INBOX.Nope {3}", tag="ap")
        assert tagged.startswith(b"ap NO [TRYCREATE]"), tagged
    finally:
        home.cleanup()
