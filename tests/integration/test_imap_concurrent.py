"""loft-imap: two sessions on one Maildir see each other's APPEND, STORE
and EXPUNGE as untagged EXISTS/FETCH/EXPUNGE at the moments RFC 3501
allows; IDLE reports within a second; UIDs are never reused."""
import re
import time

import pytest

from test_imap_harness import ImapHome, assert_no_sanitizer_errors

MSG = b"From: a@example.com\r\nSubject: s%d\r\n\r\nbody %d\r\n"


@pytest.fixture
def home():
    h = ImapHome()
    yield h
    h.cleanup()


def session(home):
    s = home.session()
    assert s.greeting().startswith(b"* PREAUTH")
    return s


def append(s, n):
    msg = MSG % (n, n)
    _, tagged = s.cmd(b"APPEND INBOX {%d+}\r\n" % len(msg) + msg)
    m = re.search(rb"APPENDUID \d+ (\d+)", tagged)
    assert m, tagged
    return int(m.group(1))


def test_two_sessions_append_store_expunge(home):
    a = session(home)
    b = session(home)
    a.ok("SELECT INBOX")
    b.ok("SELECT INBOX")
    uids = [append(a, i) for i in range(3)]
    assert uids == [1, 2, 3]

    # B learns about the new mail at its next command
    untagged = b.ok("NOOP")
    assert b"* 3 EXISTS" in untagged, untagged
    assert untagged.index(b"* 3 EXISTS") < len(untagged)

    # flag change by A -> FETCH in B; A's own change isn't repeated to A
    untagged = a.ok("STORE 2 +FLAGS (\\Flagged)")
    assert untagged == [b"* 2 FETCH (FLAGS (\\Flagged \\Recent))"], untagged
    assert a.ok("NOOP") == []
    untagged = b.ok("NOOP")
    assert untagged == [b"* 2 FETCH (FLAGS (\\Flagged))"], untagged
    # UID variants carry the UID in unsolicited FETCH
    a.ok("STORE 3 +FLAGS (\\Answered)")
    untagged = b.ok("UID SEARCH ANSWERED")
    assert b"* 3 FETCH (UID 3 FLAGS (\\Answered))" in untagged, untagged

    # a keyword new to the mailbox reaches B (the storage refreshes the
    # mailbox's keyword list, and so B's FLAGS, only with new mail)
    a.ok("STORE 3 +FLAGS ($Fresh)")
    untagged = b.ok("NOOP")
    assert untagged[-1] == b"* 3 FETCH (FLAGS (\\Answered $Fresh))", untagged
    assert all(l.startswith(b"* FLAGS") or l.startswith(b"* OK [PERMANENTFLAGS")
               for l in untagged[:-1]), untagged

    # expunge by A: B must not get EXPUNGE during FETCH/STORE/SEARCH
    a.ok("STORE 1 +FLAGS.SILENT (\\Deleted)")
    untagged = a.ok("EXPUNGE")
    assert untagged == [b"* 1 EXPUNGE"], untagged
    # the expunged message keeps its number in B until EXPUNGE may be sent
    untagged, tagged = b.cmd("FETCH 1:3 (UID)")
    assert untagged == [b"* 2 FETCH (UID 2)", b"* 3 FETCH (UID 3)"], untagged
    assert b"NO [EXPUNGEISSUED] Some of the requested messages no longer exist" in tagged
    untagged = b.ok("STORE 3 -FLAGS (\\Answered)")
    assert untagged == [b"* 3 FETCH (FLAGS ($Fresh))"], untagged
    untagged = b.ok("SEARCH ALL")
    assert untagged == [b"* SEARCH 2 3"], untagged
    # non-UID FETCH/STORE/SEARCH still see new mail and flag changes
    append(a, 5)
    a.ok("STORE 1 +FLAGS (\\Seen)")
    untagged = b.ok("FETCH 2 (FLAGS)")
    assert untagged[0] == b"* 2 FETCH (FLAGS (\\Flagged \\Seen))", untagged
    assert untagged[-1] == b"* 2 FETCH (FLAGS (\\Flagged \\Seen))", untagged
    assert b"* 4 EXISTS" in untagged, untagged
    assert not any(l.endswith(b"EXPUNGE") for l in untagged), untagged
    # sequence numbers B uses are still the old ones
    untagged = b.ok("FETCH 3 (UID)")
    assert untagged == [b"* 3 FETCH (UID 3)"], untagged
    untagged = b.ok("NOOP")
    assert b"* 1 EXPUNGE" in untagged, untagged
    untagged = b.ok("FETCH 1:* (UID)")
    assert untagged == [b"* 1 FETCH (UID 2)", b"* 2 FETCH (UID 3)",
                        b"* 3 FETCH (UID 4)"], untagged
    a.ok("NOOP")

    # UID EXPUNGE / UID FETCH may report expunges
    a.ok("STORE 1 +FLAGS.SILENT (\\Deleted)")
    a.ok("UID EXPUNGE 2")
    untagged = b.ok("UID FETCH 3 (FLAGS)")
    assert b"* 1 EXPUNGE" in untagged, untagged

    # a UID command works on fresh data: A's change is in B's answer
    a.ok("STORE 1 +FLAGS (\\Draft)")
    untagged = b.ok("UID FETCH 3 (FLAGS)")
    assert untagged[-1] == b"* 1 FETCH (UID 3 FLAGS (\\Draft $Fresh))", untagged

    # UIDs are never reused, in either session
    assert append(b, 10) == 5
    # A's APPEND reply also tells A about B's message
    msg = MSG % (11, 11)
    untagged, tagged = a.cmd(b"APPEND INBOX {%d+}\r\n" % len(msg) + msg)
    assert b"APPENDUID" in tagged and b" 6]" in tagged, tagged
    assert untagged[0] == b"* 4 EXISTS", untagged
    untagged = a.ok("UID FETCH 1:* (UID)")
    assert [int(x) for x in re.findall(rb"UID (\d+)", b" ".join(untagged))] == [3, 4, 5, 6]
    for s in (a, b):
        s.cmd("LOGOUT")
        s.wait()
        assert_no_sanitizer_errors(s.log_text())


def test_idle_notifications(home):
    a = session(home)
    b = session(home)
    a.ok("SELECT INBOX")
    b.ok("SELECT INBOX")
    b.send(b"i1 IDLE\r\n")
    assert b.readline() == b"+ idling"

    t0 = time.time()
    append(a, 1)
    line = b.readline(timeout=3)
    assert line == b"* 1 EXISTS", line
    assert time.time() - t0 < 1.5

    t0 = time.time()
    a.ok("STORE 1 +FLAGS (\\Seen)")
    while True:
        line = b.readline(timeout=3)
        if b"FETCH" in line:
            break
    # \Recent belongs to whichever session saw the message first
    assert line in (b"* 1 FETCH (FLAGS (\\Seen))",
                    b"* 1 FETCH (FLAGS (\\Seen \\Recent))"), line
    assert time.time() - t0 < 1.5

    t0 = time.time()
    a.ok("STORE 1 +FLAGS (\\Deleted)")
    a.ok("EXPUNGE")
    while True:
        line = b.readline(timeout=3)
        if b"EXPUNGE" in line:
            break
    assert line == b"* 1 EXPUNGE"
    assert time.time() - t0 < 1.5

    b.send(b"DONE\r\n")
    _, tagged = b.read_until_tag("i1")
    assert tagged.startswith(b"i1 OK Idle completed")
    # after IDLE, normal commands work
    untagged = b.ok("NOOP")
    assert untagged == []

    # anything but DONE ends IDLE with BAD
    b.send(b"i2 IDLE\r\n")
    assert b.readline() == b"+ idling"
    b.send(b"NOPE\r\n")
    _, tagged = b.read_until_tag("i2")
    assert tagged.startswith(b"i2 BAD")
    _, tagged = b.cmd("IDLE extra")
    assert b"BAD" in tagged


def test_idle_disconnect_logged(home):
    a = session(home)
    a.send(b"i1 IDLE\r\n")
    assert a.readline() == b"+ idling"
    a.sock.close()
    assert a.wait() == 0
    log = a.log_text()
    assert re.search(r"Disconnected: Connection closed \(IDLE running for "
                     r"\d+\.\d+ \+ waiting input for \d+\.\d+ secs\) in=", log), log


def test_selected_mailbox_deleted_by_other(home):
    a = session(home)
    b = session(home)
    a.ok("CREATE Box")
    b.ok("SELECT Box")
    _, tagged = a.cmd("DELETE Box")
    assert b"OK" in tagged
    # like Dovecot: the session can't go on with a vanished mailbox
    b.send(b"n1 NOOP\r\n")
    assert b.readline() == b"* BYE Selected mailbox was deleted, have to disconnect."
    assert b.closed()
    assert b.wait() == 0
    assert "Disconnected: Selected mailbox was deleted" in b.log_text()
    _, tagged = a.cmd("CREATE Box")
    assert b"OK" in tagged


def test_sigterm_says_bye(home):
    import signal
    a = session(home)
    a.ok("SELECT INBOX")
    a.proc.send_signal(signal.SIGTERM)
    assert a.readline() == b"* BYE Server shutting down."
    assert a.closed()
    assert a.wait() == 0
    assert "Disconnected: Server shutting down. in=" in a.log_text()


def test_expunged_messages_keep_their_numbers(home):
    a = session(home)
    b = session(home)
    a.ok("SELECT INBOX")
    for i in range(5):
        append(a, i)
    b.ok("SELECT INBOX")
    a.ok("STORE 1,3 +FLAGS.SILENT (\\Deleted)")
    assert a.ok("EXPUNGE") == [b"* 3 EXPUNGE", b"* 1 EXPUNGE"]
    # B still numbers 1..5; sequence set keys use B's numbers
    assert b.ok("SEARCH 4:5") == [b"* SEARCH 4 5"]
    assert b.ok("SEARCH ALL") == [b"* SEARCH 2 4 5"]
    untagged, tagged = b.cmd("STORE 1:2 +FLAGS (\\Flagged)")
    assert untagged == [b"* 2 FETCH (FLAGS (\\Flagged))"], untagged
    assert b"NO [EXPUNGEISSUED]" in tagged
    untagged = b.ok("FETCH 5 (UID)")
    assert untagged == [b"* 5 FETCH (UID 5)"]
    _, tagged = b.cmd("FETCH 6 (UID)")
    assert b"BAD Error in IMAP command FETCH: Invalid messageset" in tagged
    # COPY naming an expunged message copies nothing; after it (not a
    # FETCH/STORE/SEARCH) both expunges are reported, highest first
    a.ok("CREATE Other")
    untagged, tagged = b.cmd("COPY 2:3 Other")
    assert b"NO [EXPUNGEISSUED]" in tagged
    assert untagged == [b"* 3 EXPUNGE", b"* 1 EXPUNGE"], untagged
    assert a.ok("STATUS Other (MESSAGES)") == [b"* STATUS Other (MESSAGES 0)"]
    assert b.ok("NOOP") == []
    assert b.ok("FETCH 1:* (UID)") == [b"* 1 FETCH (UID 2)",
                                       b"* 2 FETCH (UID 4)",
                                       b"* 3 FETCH (UID 5)"]
    # A new message with a ghost pending: EXISTS counts the ghost
    a.ok("STORE 1 +FLAGS.SILENT (\\Deleted)")
    a.ok("EXPUNGE")
    append(a, 9)
    untagged = b.ok("FETCH 3 (UID)")
    assert b"* 4 EXISTS" in untagged and untagged[-1] == b"* 3 FETCH (UID 5)", untagged
    untagged = b.ok("COPY 2:3 Other")
    assert b.ok("STATUS Other (MESSAGES)") == [b"* STATUS Other (MESSAGES 2)"]
    untagged = b.ok("UID SEARCH ALL")
    assert untagged == [b"* SEARCH 4 5 6"], untagged
