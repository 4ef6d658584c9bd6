"""loft-lmtp started by hand with a TCP and a unix listener (LOFT_LISTENERS)
and a real loft-auth for userdb lookups; delivered mail is read back with
loft-pop3 and from the Maildir."""
import os
import re
import smtplib
import socket
import ssl
import time

import pytest

from lmtpclient import LMTP, to_wire, strip_prepended
from pop3lmtp_util import Env, wait_exit

ALICE = "alice@example.com"
BOB = "bob@example.com"


@pytest.fixture(scope="module")
def env():
    e = Env(users=(ALICE, BOB, "carol@example.com"))
    e.start_auth()
    e.start_lmtp()
    yield e
    e.stop()
    errors = e.sanitizer_errors()
    e.cleanup()
    assert errors == []


def maildir_messages(env, user):
    out = []
    md = env.maildir(user)
    for sub in ("new", "cur"):
        d = os.path.join(md, sub)
        if os.path.isdir(d):
            for name in sorted(os.listdir(d)):
                with open(os.path.join(d, name), "rb") as f:
                    out.append(f.read())
    return out


def pop3_retr_all(env, user):
    pop, proc = env.poplib(user, log_name="pop3-" + user)
    count = pop.stat()[0]
    msgs = []
    for i in range(1, count + 1):
        resp, lines, octets = pop.retr(i)
        msgs.append(b"\r\n".join(lines) + b"\r\n")
    pop.quit()
    wait_exit(proc)
    return msgs


def raw(env, data, unix=False, read_until=None, timeout=10):
    """Send data in one write, read until EOF or read_until appears."""
    if unix:
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.connect(env.lmtp_path)
    else:
        s = socket.create_connection(("127.0.0.1", env.lmtp_port))
    s.settimeout(timeout)
    got = s.recv(1000)
    assert got.startswith(b"220 ")
    s.sendall(data)
    got = b""
    while read_until is None or read_until not in got:
        chunk = s.recv(65536)
        if not chunk:
            break
        got += chunk
    s.close()
    return got.decode(errors="replace").split("\r\n")


def test_lhlo_capabilities(env):
    lmtp = LMTP(path=env.lmtp_path)
    code, lines = lmtp.lhlo()
    assert code == 250
    caps = [l[4:].decode() for l in lines[1:]]
    for cap in ("PIPELINING", "ENHANCEDSTATUSCODES", "8BITMIME", "STARTTLS"):
        assert cap in caps, caps
    assert any(c.startswith("SIZE") for c in caps)
    assert lmtp.cmd("NOOP") == (250, [b"250 2.0.0 OK"])
    assert lmtp.cmd("VRFY alice")[0] == 252
    code, lines = lmtp.cmd("QUIT")
    assert code == 221


def test_smtplib_single_recipient(env):
    before = len(maildir_messages(env, BOB))
    with smtplib.LMTP(env.lmtp_path) as lmtp:
        msg = (b"From: sender@example.org\r\nTo: bob@example.com\r\n"
               b"Subject: hello\r\nMessage-ID: <hello-1@example.org>\r\n\r\n"
               b"Hello Bob.\r\n.leading dot\r\n")
        refused = lmtp.sendmail("sender@example.org", [BOB], msg)
        assert refused == {}
    msgs = maildir_messages(env, BOB)
    assert len(msgs) == before + 1
    stored = [m for m in msgs if b"Message-ID: <hello-1@example.org>" in m][0]
    # Dovecot's order: Return-Path, Delivered-To, Received
    assert stored.startswith(b"Return-Path: <sender@example.org>\n"
                             b"Delivered-To: bob@example.com\n"
                             b"Received: from ")
    assert b"\tfor <bob@example.com>; " in stored
    assert stored.endswith(b"\n\nHello Bob.\n.leading dot\n")
    assert env.wait_log("lmtp", "lmtp(bob@example.com)<")
    assert env.wait_log("lmtp", "msgid=<hello-1@example.org>: saved mail to INBOX")


def test_multi_recipient_per_recipient_replies(env):
    lmtp = LMTP("127.0.0.1", env.lmtp_port)
    assert lmtp.lhlo()[0] == 250
    assert lmtp.cmd("MAIL FROM:<>")[0] == 250
    assert lmtp.cmd("RCPT TO:<alice@example.com>") == (250, [b"250 2.1.5 OK"])
    code, lines = lmtp.cmd("RCPT TO:<nobody@example.com>")
    assert code == 550
    assert lines == [b"550 5.1.1 <nobody@example.com> User doesn't exist: "
                     b"nobody@example.com"]
    assert lmtp.cmd("RCPT TO:<bob+detail@example.com>")[0] == 250
    assert lmtp.cmd("DATA")[0] == 354
    a_before = len(maildir_messages(env, ALICE))
    b_before = len(maildir_messages(env, BOB))
    lmtp.sock.sendall(b"Subject: multi\r\n\r\nto two\r\n.\r\n")
    r1 = lmtp.reply()
    r2 = lmtp.reply()
    assert r1[0] == 250 and r2[0] == 250
    assert re.fullmatch(rb"250 2\.0\.0 <alice@example\.com> \S+ Saved", r1[1][0])
    assert re.fullmatch(rb"250 2\.0\.0 <bob\+detail@example\.com> \S+ Saved",
                        r2[1][0])
    # the session ids of the two deliveries differ
    assert r1[1][0].split()[3] != r2[1][0].split()[3]
    lmtp.quit()
    a = maildir_messages(env, ALICE)
    b = maildir_messages(env, BOB)
    assert len(a) == a_before + 1 and len(b) == b_before + 1
    # two recipients: no Delivered-To, as Dovecot
    multi = [m for m in a if m.endswith(b"\n\nto two\n")]
    assert len(multi) == 1
    assert multi[0].startswith(b"Return-Path: <>\nReceived: from ")
    assert b"Delivered-To" not in multi[0]


def test_dot_stuffing_and_no_final_newline(env):
    lmtp = LMTP(path=env.lmtp_path)
    lmtp.lhlo()
    data = b"Subject: dots\n\n.\n..\n.x\nend without newline"
    wire, served = to_wire(data)
    codes, replies = lmtp.deliver("s@example.org", ["carol@example.com"], wire)
    assert codes == [250] and replies[0][0] == 250
    lmtp.quit()
    msgs = pop3_retr_all(env, "carol@example.com")
    assert strip_prepended(msgs[-1]) == served


def test_pipelining(env):
    lines = raw(env, b"LHLO x\r\nMAIL FROM:<a@b.c>\r\nRCPT TO:<alice@example.com>\r\n"
                     b"RCPT TO:<nope@example.com>\r\nDATA\r\nSubject: p\r\n\r\n"
                     b"pipelined\r\n.\r\nRSET\r\nNOOP\r\nQUIT\r\n", read_until=b"221 ")
    codes = [l[:4] for l in lines if l and l[3:4] == " "]
    assert codes == ["220 "[:0] + "250 ", "250 ", "250 ", "550 ", "354 ",
                     "250 ", "250 ", "250 ", "221 "], lines


def test_bad_sequences(env):
    lines = raw(env, b"MAIL FROM:<a@b.c>\r\nLHLO x\r\nRCPT TO:<alice@example.com>\r\n"
                     b"DATA\r\nMAIL FROM:<a@b.c>\r\nMAIL FROM:<a@b.c>\r\nDATA\r\n"
                     b"MAIL FROM:a@b.c\r\nRCPT TO:<>\r\nRCPT TO:<alice@example.com> FOO=1\r\n"
                     b"HELO x\r\nQUIT\r\n", read_until=b"221 ")
    replies = [l for l in lines if l and l[3:4] == " "]
    assert replies[0] == "503 5.5.1 Invalid command: Send LHLO first"
    assert replies[1].startswith("250 ")
    assert replies[2] == "503 5.5.0 MAIL needed first"
    assert replies[3] == "503 5.5.0 MAIL needed first"
    assert replies[4] == "250 2.1.0 OK"
    assert replies[5] == "503 5.5.1 MAIL already given"
    assert replies[6] == "554 5.5.0 No valid recipients"
    assert replies[7].startswith("503 5.5.1")  # MAIL still given
    assert replies[8].startswith("501 5.5.4 Invalid TO:")
    assert replies[9].startswith("555 5.5.4")
    assert replies[10] == "500 5.5.1 Unknown command"
    assert replies[11].startswith("221 2.0.0")


def test_garbage_and_limits(env):
    lines = raw(env, b"\x00\x01\x02garbage\r\n" + b"A" * 10000 + b"\r\nNOOP\r\n"
                     b"\xff\xfe\r\nQUIT\r\n", read_until=b"221 ")
    replies = [l for l in lines if l and l[3:4] == " "]
    assert replies[0].startswith("500 5.5.2")
    assert replies[1] == "500 5.5.2 Line too long"
    assert replies[2] == "250 2.0.0 OK"
    assert replies[3].startswith("500 ")
    assert replies[4].startswith("221 ")
    # too many bad commands: the server closes the connection
    lines = raw(env, b"BAD\r\n" * 20, unix=True)
    replies = [l for l in lines if l and l[3:4] == " "]
    assert replies[-1].startswith("421 4.7.0")
    assert len(replies) == 12
    # the server keeps serving others
    assert LMTP(path=env.lmtp_path).lhlo()[0] == 250


def test_big_message_streaming(env):
    line = b"The quick brown fox jumps over the lazy dog. 0123456789\n"
    data = b"Subject: big\n\n" + line * (10 * 1024 * 1024 // len(line))
    wire, served = to_wire(data)
    lmtp = LMTP("127.0.0.1", env.lmtp_port, timeout=120)
    lmtp.lhlo()
    codes, replies = lmtp.deliver("s@example.org", [BOB], wire)
    assert replies[0][0] == 250
    lmtp.quit()
    msgs = pop3_retr_all(env, BOB)
    assert strip_prepended(msgs[-1]) == served


def test_size_limit():
    env = Env(users=(ALICE, BOB), extra_config="mail_max_message_size = 1000\n")
    try:
        env.start_auth()
        env.start_lmtp()
        lmtp = LMTP(path=env.lmtp_path)
        code, lines = lmtp.lhlo()
        assert b"250-SIZE 1000" in lines or b"250 SIZE 1000" in lines
        assert lmtp.cmd("MAIL FROM:<a@b.c> SIZE=5000")[0] == 552
        big = b"Subject: x\r\n\r\n" + b"y" * 2000 + b"\r\n"
        codes, replies = lmtp.deliver("a@b.c", [ALICE, BOB], big)
        assert [r[0] for r in replies] == [552, 552]
        assert replies[0][1][0].startswith(b"552 5.3.4 <alice@example.com>")
        # the connection is still in step
        codes, replies = lmtp.deliver("a@b.c", [ALICE], b"Subject: s\r\n\r\nok\r\n")
        assert replies[0][0] == 250
        # BDAT: over the limit in the LAST chunk -> one 552 per recipient
        assert lmtp.cmd("MAIL FROM:<a@b.c>")[0] == 250
        assert lmtp.cmd("RCPT TO:<alice@example.com>")[0] == 250
        assert lmtp.cmd("RCPT TO:<bob@example.com>")[0] == 250
        lmtp.sock.sendall(b"BDAT 600\r\n" + b"z" * 600)
        assert lmtp.reply()[0] == 250
        lmtp.sock.sendall(b"BDAT 600 LAST\r\n" + b"z" * 600)
        assert [lmtp.reply()[0], lmtp.reply()[0]] == [552, 552]
        # over the limit in a middle chunk: refused, later chunks too
        assert lmtp.cmd("MAIL FROM:<a@b.c>")[0] == 250
        assert lmtp.cmd("RCPT TO:<alice@example.com>")[0] == 250
        lmtp.sock.sendall(b"BDAT 1500\r\n" + b"z" * 1500)
        assert lmtp.reply() == (552, [b"552 5.3.4 Message size exceeds "
                                      b"administrative limit"])
        lmtp.sock.sendall(b"BDAT 5 LAST\r\nzzzzz")
        assert lmtp.reply()[0] == 503
        assert lmtp.cmd("RSET")[0] == 250
        lmtp.quit()
        assert len(maildir_messages(env, ALICE)) == 1
        assert len(maildir_messages(env, BOB)) == 0
        env.stop()
        assert env.sanitizer_errors() == []
    finally:
        env.cleanup()


def test_starttls(env):
    s = socket.create_connection(("127.0.0.1", env.lmtp_port), timeout=10)
    f = s.makefile("rb")
    assert f.readline().startswith(b"220 ")
    s.sendall(b"LHLO x\r\n")
    while f.readline()[3:4] == b"-":
        pass
    s.sendall(b"STARTTLS\r\n")
    assert f.readline() == b"220 2.0.0 Begin TLS negotiation now.\r\n"
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    t = ctx.wrap_socket(s, server_hostname="localhost")
    assert t.version() in ("TLSv1.2", "TLSv1.3")
    f = t.makefile("rb")
    t.sendall(b"MAIL FROM:<a@b.c>\r\n")
    assert f.readline().startswith(b"503 5.5.1")  # LHLO again after TLS
    t.sendall(b"LHLO x\r\n")
    caps = []
    while True:
        l = f.readline()
        caps.append(l[4:].strip())
        if l[3:4] != b"-":
            break
    assert b"STARTTLS" not in caps
    t.sendall(b"MAIL FROM:<a@b.c>\r\nRCPT TO:<alice@example.com>\r\nDATA\r\n")
    assert f.readline().startswith(b"250 ")
    assert f.readline().startswith(b"250 ")
    assert f.readline().startswith(b"354 ")
    t.sendall(b"Subject: tls\r\n\r\nover tls\r\n.\r\nQUIT\r\n")
    assert f.readline().startswith(b"250 2.0.0 <alice@example.com>")
    assert f.readline().startswith(b"221 ")
    t.close()
    tls_msgs = [m for m in maildir_messages(env, ALICE)
                if m.endswith(b"\n\nover tls\n")]
    assert len(tls_msgs) == 1 and b"with LMTPS" in tls_msgs[0]


def test_storage_error_is_temporary_and_invisible():
    env = Env(users=(ALICE,))
    try:
        env.start_auth()
        env.start_lmtp()
        env.put_message(ALICE, "1000000001.M1P1.test", b"Subject: old\n\nold\n")
        md = env.maildir(ALICE)
        os.chmod(os.path.join(md, "tmp"), 0o500)
        os.chmod(os.path.join(md, "new"), 0o500)
        lmtp = LMTP(path=env.lmtp_path)
        lmtp.lhlo()
        codes, replies = lmtp.deliver("a@b.c", [ALICE], b"Subject: s\r\n\r\nx\r\n")
        lmtp.quit()
        os.chmod(os.path.join(md, "tmp"), 0o700)
        os.chmod(os.path.join(md, "new"), 0o700)
        assert replies[0][0] in (451, 452), replies
        assert replies[0][1][0].startswith(b"45")
        assert b"<alice@example.com>" in replies[0][1][0]
        assert os.listdir(os.path.join(md, "new")) == []
        assert os.listdir(os.path.join(md, "tmp")) == []
        env.stop()
        assert env.sanitizer_errors() == []
    finally:
        env.cleanup()


def test_duplicate_recipient_delivered_once(env):
    before = len(maildir_messages(env, "carol@example.com"))
    lmtp = LMTP(path=env.lmtp_path)
    lmtp.lhlo()
    codes, replies = lmtp.deliver("a@b.c", ["carol@example.com",
                                            "carol@example.com"],
                                  b"Subject: dup\r\n\r\nonce\r\n")
    lmtp.quit()
    assert codes == [250, 250]
    assert [r[0] for r in replies] == [250, 250]
    assert replies[0][1] == replies[1][1]
    assert len(maildir_messages(env, "carol@example.com")) == before + 1


def test_detail_mailbox():
    env = Env(users=(ALICE,), extra_config="lmtp_save_to_detail_mailbox = yes\n"
              "lda_mailbox_autocreate = yes\n")
    try:
        env.start_auth()
        env.start_lmtp()
        lmtp = LMTP(path=env.lmtp_path)
        lmtp.lhlo()
        codes, replies = lmtp.deliver("a@b.c", ["alice+lists@example.com"],
                                      b"Subject: list\r\n\r\nto lists\r\n")
        assert replies[0][0] == 250
        codes, replies = lmtp.deliver("a@b.c", ["alice@example.com"],
                                      b"Subject: inbox\r\n\r\nto inbox\r\n")
        assert replies[0][0] == 250
        lmtp.quit()
        box = os.path.join(env.maildir(ALICE), ".lists")
        files = [os.path.join(box, d, n) for d in ("new", "cur")
                 if os.path.isdir(os.path.join(box, d))
                 for n in os.listdir(os.path.join(box, d))]
        assert len(files) == 1
        with open(files[0], "rb") as f:
            data = f.read()
        assert data.endswith(b"\n\nto lists\n")
        assert b"Delivered-To: alice+lists@example.com\n" in data
        inbox = maildir_messages(env, ALICE)
        assert len(inbox) == 1 and inbox[0].endswith(b"to inbox\n")
        # a detail can't name something outside the Maildir
        home_before = sorted(os.listdir(env.home(ALICE)))
        top_before = sorted(os.listdir(env.dir))
        lmtp = LMTP(path=env.lmtp_path)
        lmtp.lhlo()
        for evil in ("alice+../../evil@example.com",
                     "alice+%s/evil2@example.com" % env.dir,
                     "alice+..@example.com"):
            codes, replies = lmtp.deliver("a@b.c", [evil],
                                          b"Subject: evil\r\n\r\nx\r\n")
            assert codes == [250] and replies[0][0] in (250, 451), replies
        lmtp.quit()
        assert sorted(os.listdir(env.home(ALICE))) == home_before
        assert sorted(os.listdir(env.dir)) == top_before
        assert not os.path.exists(os.path.join(env.dir, "evil2"))
        assert env.wait_log("lmtp", "saved mail to lists")
        env.stop()
        assert env.sanitizer_errors() == []
    finally:
        env.cleanup()


def test_auth_down_is_temporary():
    env = Env(users=(ALICE,))
    try:
        env.start_lmtp()  # no loft-auth
        lmtp = LMTP(path=env.lmtp_path)
        lmtp.lhlo()
        assert lmtp.cmd("MAIL FROM:<a@b.c>")[0] == 250
        code, lines = lmtp.cmd("RCPT TO:<alice@example.com>")
        assert (code, lines) == (451, [b"451 4.3.0 <alice@example.com> "
                                       b"Temporary internal error"])
        assert lmtp.cmd("NOOP")[0] == 250
        lmtp.quit()
        env.stop()
        assert env.sanitizer_errors() == []
    finally:
        env.cleanup()


def test_uid_checks():
    """As root, delivery runs as the userdb uid and refuses uid 0 and
    uids below first_valid_uid; as a normal user it delivers as itself."""
    import pop3lmtp_util
    uid, gid = pop3lmtp_util.mail_ids()
    env = Env(users=(ALICE, BOB, "carol@example.com"),
              user_ids={BOB: (0, 0), "carol@example.com": (5, gid)},
              extra_config="first_valid_uid = 10\n")
    try:
        env.start_auth()
        env.start_lmtp()
        lmtp = LMTP(path=env.lmtp_path)
        lmtp.lhlo()
        codes, replies = lmtp.deliver("a@b.c", [ALICE, BOB, "carol@example.com"],
                                      b"Subject: uids\r\n\r\nx\r\n")
        lmtp.quit()
        assert codes == [250, 250, 250]
        assert replies[0][0] == 250
        if pop3lmtp_util.ROOT:
            assert [r[0] for r in replies[1:]] == [451, 451]
            assert replies[1][1][0] == (b"451 4.3.0 <bob@example.com> "
                                        b"Temporary internal error")
            assert env.wait_log("lmtp", "Mail access for users with UID 0 not permitted")
            assert env.wait_log("lmtp", "Mail access for users with UID 5 not permitted")
            assert maildir_messages(env, BOB) == []
            # the delivered file belongs to the user, not to root
            md = env.maildir(ALICE)
            name = os.listdir(os.path.join(md, "new"))[0]
            assert os.stat(os.path.join(md, "new", name)).st_uid == uid
        else:
            assert [r[0] for r in replies] == [250, 250, 250]
        env.stop()
        assert env.sanitizer_errors() == []
    finally:
        env.cleanup()


def test_implicit_tls_listener(env):
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    s = socket.create_connection(("127.0.0.1", env.lmtps_port), timeout=10)
    t = ctx.wrap_socket(s, server_hostname="localhost")
    f = t.makefile("rb")
    assert f.readline().startswith(b"220 ")
    t.sendall(b"LHLO x\r\n")
    caps = []
    while True:
        l = f.readline()
        caps.append(l[4:].strip())
        if l[3:4] != b"-":
            break
    assert b"STARTTLS" not in caps and b"PIPELINING" in caps
    t.sendall(b"MAIL FROM:<a@b.c>\r\nRCPT TO:<bob@example.com>\r\nDATA\r\n")
    assert [f.readline()[:4] for _ in range(3)] == [b"250 ", b"250 ", b"354 "]
    t.sendall(b"Subject: lmtps\r\n\r\nimplicit\r\n.\r\nQUIT\r\n")
    assert f.readline().startswith(b"250 2.0.0 <bob@example.com>")
    assert f.readline().startswith(b"221 ")
    t.close()
    assert any(m.endswith(b"\n\nimplicit\n") for m in maildir_messages(env, BOB))


def test_disconnect_during_data_stores_nothing(env):
    before = len(maildir_messages(env, "carol@example.com"))
    s = socket.create_connection(("127.0.0.1", env.lmtp_port), timeout=10)
    f = s.makefile("rb")
    f.readline()
    s.sendall(b"LHLO x\r\nMAIL FROM:<a@b.c>\r\nRCPT TO:<carol@example.com>\r\n"
              b"DATA\r\nSubject: cut\r\n\r\nhalf a mess")
    while not f.readline().startswith(b"354"):
        pass
    s.shutdown(socket.SHUT_RDWR)
    f.close()
    s.close()
    assert env.wait_log("lmtp", "Disconnect from 127.0.0.1: Connection closed")
    assert LMTP(path=env.lmtp_path).lhlo()[0] == 250
    assert len(maildir_messages(env, "carol@example.com")) == before


def test_bdat_chunking(env):
    lmtp = LMTP(path=env.lmtp_path)
    code, lines = lmtp.lhlo()
    assert b"250-CHUNKING" in lines or b"250 CHUNKING" in lines
    # BDAT refused before MAIL: its bytes are still read and skipped
    lmtp.sock.sendall(b"BDAT 12\r\nNOOP\r\nNOOP\r\n")
    assert lmtp.reply() == (503, [b"503 5.5.0 MAIL needed first"])
    assert lmtp.cmd("MAIL FROM:<a@b.c>")[0] == 250
    assert lmtp.cmd("RCPT TO:<carol@example.com>")[0] == 250
    assert lmtp.cmd("RCPT TO:<bob@example.com>")[0] == 250
    part1 = b"Subject: chunks\r\n\r\n.no stuffing\r\n"
    part2 = b"second chunk\r\n.\r\nafter a dot line\r\n"
    lmtp.sock.sendall(b"BDAT %d\r\n" % len(part1) + part1)
    assert lmtp.reply() == (250, [b"250 2.0.0 Added %d octets" % len(part1)])
    assert lmtp.cmd("DATA")[0] == 503
    lmtp.sock.sendall(b"BDAT %d LAST\r\n" % len(part2) + part2)
    r1, r2 = lmtp.reply(), lmtp.reply()
    assert r1[0] == 250 and r1[1][0].startswith(b"250 2.0.0 <carol@example.com>")
    assert r2[0] == 250 and r2[1][0].startswith(b"250 2.0.0 <bob@example.com>")
    lmtp.quit()
    stored = [m for m in maildir_messages(env, "carol@example.com")
              if b"Subject: chunks" in m]
    assert len(stored) == 1
    assert stored[0].endswith(b"\n\n.no stuffing\nsecond chunk\n.\nafter a dot line\n")
    msgs = pop3_retr_all(env, "carol@example.com")
    assert any(strip_prepended(m).endswith((part1 + part2)[9:]) for m in msgs)


def test_bdat_bad_size_closes(env):
    lines = raw(env, b"LHLO x\r\nBDAT 12x\r\nNOOP\r\n")
    replies = [l for l in lines if l and l[3:4] == " "]
    assert replies[-1] == "501 5.5.4 Invalid BDAT parameters"
    assert not any(r.startswith("250 2.0.0 OK") for r in replies)
