"""loft-pop3 started by hand (as the master would after login): a
socketpair as the client connection, the session in LOFT_* variables,
messages placed straight into the Maildir. Driven with poplib and with
raw lines."""
import os
import re
import socket
import time

import pytest

from pop3lmtp_util import Env, wait_exit

USER = "alice@example.com"

MSG1 = (b"From: a@example.org\nTo: alice@example.com\nSubject: one\n"
        b"Message-ID: <one@example.org>\n\nfirst line\n.dot line\n..two dots\n"
        b"last line\n")
MSG2 = b"Subject: two\n\nbody of two\n" + b"x" * 1000 + b"\n"
MSG3 = b"Subject: three\n\nno final newline"


def assert_closed(f):
    """The server closed the connection (EOF, or a reset when it didn't
    read all we sent)."""
    try:
        assert f.readline() == b""
    except ConnectionResetError:
        pass


def crlf(data):
    return data.replace(b"\n", b"\r\n")


@pytest.fixture
def env():
    e = Env(users=(USER,), ssl=False)
    e.put_message(USER, "1000000001.M1P1.test", MSG1)
    e.put_message(USER, "1000000002.M2P1.test", MSG2)
    e.put_message(USER, "1000000003.M3P1.test", MSG3)
    yield e
    e.stop()
    errors = e.sanitizer_errors()
    e.cleanup()
    assert errors == []


def maildir_files(env):
    md = env.maildir(USER)
    return sorted(os.listdir(os.path.join(md, "cur")) +
                  os.listdir(os.path.join(md, "new")))


def test_greeting_capa_stat_list(env):
    pop, proc = env.poplib(USER)
    assert pop.getwelcome() == b"+OK Logged in."
    caps = pop.capa()
    for cap in ("TOP", "UIDL", "RESP-CODES", "PIPELINING", "AUTH-RESP-CODE",
                "USER"):
        assert cap in caps, caps
    sizes = [len(crlf(MSG1)), len(crlf(MSG2)), len(crlf(MSG3))]
    assert pop.stat() == (3, sum(sizes))
    resp, lines, _ = pop.list()
    assert resp == b"+OK 3 messages:"
    assert lines == [b"%d %d" % (i + 1, s) for i, s in enumerate(sizes)]
    assert pop.list(2) == b"+OK 2 %d" % sizes[1]
    with pytest.raises(Exception, match="There's no message 9"):
        pop.list(9)
    assert pop.quit() == b"+OK Logging out."
    assert wait_exit(proc) == 0
    assert env.wait_log("pop3", "Disconnected: Logged out top=0/0, retr=0/0, "
                        "del=0/3, size=%d" % sum(sizes))
    assert "pop3(%s)<" % USER in env.read_log("pop3")


def test_retr_top_bytes(env):
    sock, proc = env.pop3(USER)
    f = sock.makefile("rb")
    assert f.readline() == b"+OK Logged in.\r\n"

    def multiline(cmd):
        sock.sendall(cmd + b"\r\n")
        first = f.readline()
        body = b""
        while True:
            line = f.readline()
            assert line, "EOF"
            if line == b".\r\n":
                return first, body
            body += line

    first, body = multiline(b"RETR 1")
    assert first == b"+OK %d octets\r\n" % len(crlf(MSG1))
    # byte-stuffed on the wire
    expected = crlf(MSG1).replace(b"\r\n.", b"\r\n..")
    assert body == expected
    first, body = multiline(b"RETR 3")
    assert body == crlf(MSG3) + b"\r\n"  # CRLF added before the final dot
    first, body = multiline(b"TOP 1 1")
    assert first == b"+OK\r\n"
    assert body == crlf(b"From: a@example.org\nTo: alice@example.com\n"
                        b"Subject: one\nMessage-ID: <one@example.org>\n\n"
                        b"first line\n")
    first, body = multiline(b"TOP 2 0")
    assert body == b"Subject: two\r\n\r\n"
    sock.sendall(b"TOP 2\r\n")
    assert f.readline().startswith(b"-ERR Noise after message number")
    sock.sendall(b"TOP 2 x\r\n")
    assert f.readline().startswith(b"-ERR Invalid size")
    sock.sendall(b"RETR 0\r\nRETR abc\r\nRETR 4\r\nRETR 99999999999\r\n")
    assert f.readline() == b"-ERR There's no message 0.\r\n"
    assert f.readline() == b"-ERR Invalid message number: abc\r\n"
    assert f.readline() == b"-ERR There's no message 4.\r\n"
    assert f.readline().startswith(b"-ERR Message number too large")
    sock.sendall(b"QUIT\r\n")
    assert f.readline() == b"+OK Logging out.\r\n"
    assert f.readline() == b""
    assert wait_exit(proc) == 0
    log = env.read_log("pop3")
    assert re.search(r"Logged out top=2/\d+, retr=2/\d+, del=0/3", log), log
    # RETRed messages got \Seen at QUIT, as Dovecot does by default
    flags = {x.split(".")[0]: x.split(":2,")[1] if ":2," in x else ""
             for x in maildir_files(env)}
    assert "S" in flags["1000000001"], flags
    assert "S" in flags["1000000003"], flags
    assert "S" not in flags["1000000002"], flags


def test_uidl_default_and_stable(env):
    pop, proc = env.poplib(USER)
    resp, lines, _ = pop.uidl()
    assert resp == b"+OK"
    uidls = [l.split()[1].decode() for l in lines]
    assert [l.split()[0] for l in lines] == [b"1", b"2", b"3"]
    # %08Xu%08Xv: UID then UIDVALIDITY, both 8 upper-case hex digits
    for i, u in enumerate(uidls):
        assert re.fullmatch(r"[0-9A-F]{16}", u), u
    uids = [int(u[:8], 16) for u in uidls]
    assert uids == sorted(uids) and len(set(uids)) == 3
    assert len({u[8:] for u in uidls}) == 1
    with open(os.path.join(env.maildir(USER), "dovecot-uidlist")) as f:
        header = f.readline()
    uidvalidity = int(re.search(r"V(\d+)", header).group(1))
    assert int(uidls[0][8:], 16) == uidvalidity
    assert pop.uidl(2) == b"+OK 2 " + uidls[1].encode()
    pop.quit()
    wait_exit(proc)
    pop, proc = env.poplib(USER)
    assert [l.split()[1].decode() for l in pop.uidl()[1]] == uidls
    pop.quit()
    wait_exit(proc)


def test_uidl_format_setting():
    env = Env(users=(USER,), ssl=False,
              extra_config='pop3_uidl_format = %u-%v-%f\n')
    try:
        env.put_message(USER, "1000000001.M1P1.test", MSG1)
        pop, proc = env.poplib(USER)
        resp, lines, _ = pop.uidl()
        # %f: the Maildir base file name (Dovecot's maildir GUID)
        assert re.fullmatch(rb"1 1-\d+-1000000001\.M1P1\.test", lines[0]), lines
        pop.quit()
        wait_exit(proc)
        env.stop()
        assert env.sanitizer_errors() == []
    finally:
        env.cleanup()


def test_dele_rset_quit(env):
    pop, proc = env.poplib(USER)
    assert pop.dele(1) == b"+OK Marked to be deleted."
    with pytest.raises(Exception, match="Message is deleted"):
        pop.retr(1)
    with pytest.raises(Exception, match="Message is deleted"):
        pop.dele(1)
    assert pop.stat() == (2, len(crlf(MSG2)) + len(crlf(MSG3)))
    assert [l.split()[0] for l in pop.list()[1]] == [b"2", b"3"]
    assert [l.split()[0] for l in pop.uidl()[1]] == [b"2", b"3"]
    assert pop.rset() == b"+OK"
    assert pop.stat()[0] == 3
    pop.dele(2)
    # nothing is deleted before QUIT
    assert len(maildir_files(env)) == 3
    assert pop.quit() == b"+OK Logging out, messages deleted."
    wait_exit(proc)
    files = maildir_files(env)
    assert len(files) == 2 and not any("1000000002" in x for x in files)
    assert env.wait_log("pop3", "del=1/3")
    pop, proc = env.poplib(USER)
    assert pop.stat()[0] == 2
    pop.quit()
    wait_exit(proc)


def test_disconnect_without_quit_keeps_messages(env):
    sock, proc = env.pop3(USER)
    f = sock.makefile("rb")
    f.readline()
    sock.sendall(b"DELE 1\r\nDELE 2\r\n")
    assert f.readline().startswith(b"+OK")
    assert f.readline().startswith(b"+OK")
    sock.shutdown(socket.SHUT_RDWR)
    f.close()
    sock.close()
    assert wait_exit(proc) == 0
    assert len(maildir_files(env)) == 3
    assert env.wait_log("pop3", "Disconnected: Connection closed")


def test_pipelining(env):
    sock, proc = env.pop3(USER)
    f = sock.makefile("rb")
    f.readline()
    sock.sendall(b"STAT\r\nLIST\r\nUIDL 1\r\nNOOP\r\nTOP 3 0\r\nQUIT\r\n")
    data = b""
    while True:
        chunk = sock.recv(65536)
        if not chunk:
            break
        data += chunk
    lines = data.split(b"\r\n")
    assert lines[0].startswith(b"+OK 3 ")
    assert lines[1] == b"+OK 3 messages:"
    assert lines[5] == b"."
    assert lines[6].startswith(b"+OK 1 ")
    assert lines[7] == b"+OK"
    assert lines[8] == b"+OK"
    assert lines[9] == b"Subject: three"
    assert lines[10] == b""
    assert lines[11] == b"."
    assert lines[12] == b"+OK Logging out."
    wait_exit(proc)


def test_garbage_and_limits(env):
    sock, proc = env.pop3(USER)
    f = sock.makefile("rb")
    f.readline()
    sock.sendall(b"FOO bar\r\n\x00\x01\xff\r\nnoop\r\n")
    assert f.readline() == b"-ERR Unknown command: FOO\r\n"
    assert f.readline().startswith(b"-ERR Unknown command")
    assert f.readline() == b"+OK\r\n"
    # an over-long line ends the session
    sock.sendall(b"NOOP " + b"a" * 10000 + b"\r\n")
    assert f.readline() == b"-ERR Input line too long.\r\n"
    assert_closed(f)
    assert wait_exit(proc) == 0

    sock, proc = env.pop3(USER)
    f = sock.makefile("rb")
    f.readline()
    sock.sendall(b"BAD\r\n" * 30)
    replies = [f.readline() for _ in range(22)]
    assert replies[:21] == [b"-ERR Unknown command: BAD\r\n"] * 21
    assert replies[21] == b"-ERR Too many bad commands.\r\n"
    assert_closed(f)
    assert wait_exit(proc) == 0
    assert len(maildir_files(env)) == 3


def test_big_message_slow_reader():
    """A 12 MB message streams out to a reader that is slow to start;
    the server keeps its output bounded and the bytes arrive intact."""
    env = Env(users=(USER,), ssl=False)
    try:
        line = b"0123456789abcdefghijklmnopqrstuvwxyz" * 2 + b"\n"
        body = line * (12 * 1024 * 1024 // len(line))
        msg = b"Subject: big\n\n" + body + b".starts with dot\n"
        env.put_message(USER, "1000000001.M1P1.test", msg)
        sock, proc = env.pop3(USER)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        f = sock.makefile("rb")
        f.readline()
        sock.sendall(b"RETR 1\r\nNOOP\r\n")
        time.sleep(0.5)  # let the server fill the socket and wait
        assert f.readline() == b"+OK %d octets\r\n" % len(crlf(msg))
        got = bytearray()
        while True:
            l = f.readline()
            assert l
            if l == b".\r\n":
                break
            got += l
        assert bytes(got) == crlf(msg).replace(b"\r\n.", b"\r\n..")
        assert f.readline() == b"+OK\r\n"
        sock.sendall(b"QUIT\r\n")
        assert f.readline() == b"+OK Logging out.\r\n"
        wait_exit(proc)
        assert env.wait_log("pop3", "retr=1/")
        env.stop()
        assert env.sanitizer_errors() == []
    finally:
        env.cleanup()


def test_pipelined_input_from_login(env):
    """Commands the client sent right after PASS reach the session
    through LOFT_INPUT."""
    import base64
    sock, proc = env.pop3(USER, extra_env={
        "LOFT_INPUT": base64.b64encode(b"STAT\r\n").decode()})
    f = sock.makefile("rb")
    assert f.readline() == b"+OK Logged in.\r\n"
    assert f.readline().startswith(b"+OK 3 ")
    sock.sendall(b"QUIT\r\n")
    assert f.readline() == b"+OK Logging out.\r\n"
    wait_exit(proc)


def test_empty_new_mailbox():
    """A user without a Maildir yet: it is created, and the session is
    empty but fully usable."""
    env = Env(users=(USER,), ssl=False)
    try:
        pop, proc = env.poplib(USER)
        assert pop.stat() == (0, 0)
        assert pop.list()[:2] == (b"+OK 0 messages:", [])
        assert pop.uidl()[1] == []
        with pytest.raises(Exception, match="There's no message 1"):
            pop.retr(1)
        assert pop.quit() == b"+OK Logging out."
        assert wait_exit(proc) == 0
        assert os.path.isdir(os.path.join(env.maildir(USER), "cur"))
        env.stop()
        assert env.sanitizer_errors() == []
    finally:
        env.cleanup()
