"""service imap { client_limit = N } with N > 1: one loft-imap process
serves up to N connections of the same user (never of two users, unlike
Dovecot's client_limit). The sessions stay independent (own mailbox,
own IDLE, own log prefix), mail_max_userip_connections still counts
sessions, a process exits when its last session ends, and one process
killed drops only its own connections."""
import os
import re
import signal
import socket

from loftserver import LoftServer
from faultutil import IMAP, IMAPError, imap_pids, wait_for

USERS = {"alice": "alice-secret", "bob": "bob-secret"}
CONFIG = """
mail_max_userip_connections = 6
service imap {
  client_limit = 4
}
"""


def socket_inode_of(sock, server_port):
    """inode of the server's side of this client connection"""
    cport = sock.getsockname()[1]
    with open("/proc/net/tcp") as f:
        next(f)
        for line in f:
            fields = line.split()
            lport = int(fields[1].split(":")[1], 16)
            rport = int(fields[2].split(":")[1], 16)
            if lport == server_port and rport == cport:
                return int(fields[9])
    return None


def serving_pid(srv, client):
    """the loft-imap process holding this client's connection"""
    inode = socket_inode_of(client.sock, srv.ports["imap"])
    target = "socket:[%d]" % inode
    for pid in imap_pids(srv.proc.pid):
        try:
            for fd in os.listdir("/proc/%d/fd" % pid):
                if os.readlink("/proc/%d/fd/%s" % (pid, fd)) == target:
                    return pid
        except OSError:
            continue
    return None


def login(srv, user):
    c = IMAP(srv.ports["imap"])
    c.login(user, USERS[user])
    return c


def test_sessions_of_one_user_share_a_process():
    with LoftServer(users=USERS, extra_config=CONFIG) as srv:
        alice = [login(srv, "alice") for _ in range(6)]
        bob = [login(srv, "bob") for _ in range(2)]
        apids = [wait_for(lambda c=c: serving_pid(srv, c), 5) for c in alice]
        bpids = [wait_for(lambda c=c: serving_pid(srv, c), 5) for c in bob]
        assert None not in apids and None not in bpids
        # 6 sessions at 4 per process: 2 processes; bob's never in them
        assert len(set(apids)) == 2, apids
        assert sorted(apids.count(p) for p in set(apids)) == [2, 4]
        assert len(set(bpids)) == 1 and not set(bpids) & set(apids)
        # independent sessions in one process: different mailboxes,
        # IDLE in one sees an APPEND made in another
        a0, a1, a2 = [c for c, p in zip(alice, apids) if p == apids[0]][:3] \
            if apids.count(apids[0]) >= 3 else \
            [c for c, p in zip(alice, apids) if p != apids[0]][:3]
        a0.ok("CREATE Work")
        a0.ok("SELECT INBOX")
        a1.ok("SELECT Work")
        a2.ok("EXAMINE INBOX")
        a2.send(b"i1 IDLE\r\n")
        assert a2.readline().startswith(b"+ ")
        msg = b"Subject: hello\r\n\r\nhi\r\n"
        a1.ok("APPEND INBOX {%d}" % len(msg), msg)
        line = a2.readline()
        assert re.match(rb"\* 1 EXISTS", line) or \
            re.match(rb"\* 1 RECENT", a2.readline()), line
        a2.send(b"DONE\r\n")
        while not a2.readline().startswith(b"i1 OK"):
            pass
        _, untagged = a0.ok("NOOP")
        assert b"* 1 EXISTS" in b"".join(untagged)
        _, untagged = a1.ok("STATUS INBOX (MESSAGES)")
        assert b"MESSAGES 1" in b"".join(untagged)
        # a1 has Work selected: empty
        _, untagged = a1.ok("SEARCH ALL")
        assert b"* SEARCH\r\n" in untagged

        # mail_max_userip_connections counts sessions, not processes
        st, line, _ = IMAP(srv.ports["imap"]).cmd(
            'LOGIN "alice" "alice-secret"')
        assert st == "NO", line

        # each session logs with its own prefix
        for c in alice + bob:
            c.ok("LOGOUT")
            c.close()
        def logged_out():
            return set(re.findall(r"imap\(alice\)<(\d+)><([^>]*)>: "
                                  r"Info: Disconnected: Logged out",
                                  srv.log()))
        ids = wait_for(lambda: len(logged_out()) == 6 and logged_out(), 5)
        ids = ids or logged_out()
        assert len(ids) == 6, ids
        assert {int(p) for p, _ in ids} == set(apids)
        # the processes exit with their last session
        assert wait_for(lambda: not imap_pids(srv.proc.pid), 10), \
            imap_pids(srv.proc.pid)
        # and a new login starts afresh
        c = login(srv, "alice")
        c.ok("SELECT INBOX")
        c.ok("LOGOUT")
        assert "Error" not in srv.log() and "Panic" not in srv.log(), \
            srv.log()[-3000:]


def test_killed_process_drops_only_its_sessions():
    with LoftServer(users=USERS, extra_config=CONFIG) as srv:
        alice = [login(srv, "alice") for _ in range(6)]
        bob = login(srv, "bob")
        apids = [wait_for(lambda c=c: serving_pid(srv, c), 5) for c in alice]
        victim = apids[0]
        os.kill(victim, signal.SIGKILL)
        for c, pid in zip(alice, apids):
            if pid == victim:
                try:
                    c.cmd("NOOP")
                    raise AssertionError("session survived its process")
                except (EOFError, OSError, IMAPError):
                    pass
            else:
                c.ok("NOOP")
        bob.ok("NOOP")
        # the killed sessions no longer count for the user+IP limit
        lost = apids.count(victim)
        extra = [wait_for(lambda: _try_login(srv), 5) for _ in range(lost)]
        assert all(extra)
        st, line, _ = IMAP(srv.ports["imap"]).cmd(
            'LOGIN "alice" "alice-secret"')
        assert st == "NO", line
        for c in extra:
            c.ok("NOOP")


def _try_login(srv):
    c = IMAP(srv.ports["imap"])
    st, _, _ = c.cmd('LOGIN "alice" "alice-secret"')
    if st == "OK":
        return c
    c.close()
    return None


def test_default_is_one_process_per_connection():
    """without client_limit, as Dovecot: one process per session"""
    with LoftServer(users=USERS) as srv:
        clients = [login(srv, "alice") for _ in range(3)]
        pids = [wait_for(lambda c=c: serving_pid(srv, c), 5)
                for c in clients]
        assert len(set(pids)) == 3, pids
        for c in clients:
            c.ok("LOGOUT")


def test_tls_sessions_and_shutdown():
    """imaps sessions (proxied by the login process) join the same
    process as plaintext ones; stopping the server says BYE to the
    sessions of a shared process"""
    import imaplib
    import ssl
    with LoftServer(users=USERS, extra_config=CONFIG) as srv:
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
        tls = []
        for _ in range(2):
            m = imaplib.IMAP4_SSL("127.0.0.1", srv.ports["imaps"],
                                  ssl_context=ctx)
            m.login("alice", "alice-secret")
            tls.append(m)
        plain = login(srv, "alice")
        assert len(imap_pids(srv.proc.pid)) == 1, imap_pids(srv.proc.pid)
        msg = b"Subject: over tls\r\n\r\nbody\r\n"
        assert tls[0].append("INBOX", None, None, msg)[0] == "OK"
        assert tls[1].select("INBOX") == ("OK", [b"1"])
        typ, data = tls[1].fetch("1", "(BODY.PEEK[])")
        assert typ == "OK" and msg in data[0][1]
        _, untagged = plain.ok("SELECT INBOX")
        assert b"* 1 EXISTS" in b"".join(untagged)
        srv.stop()
        assert b"* BYE Server shutting down." in plain.readline()
        # the login processes relaying TLS stop at the same time: a TLS
        # client may see the BYE or only the connection close, never
        # anything else
        for m in tls:
            try:
                line = m.readline()
            except (OSError, EOFError, imaplib.IMAP4.abort):
                line = b""
            assert line.startswith(b"* BYE Server shutting down.") or \
                line == b"", line


def test_pop3_client_limit_keeps_a_process_per_session():
    """client_limit > 1 on service pop3 changes nothing: loft-pop3 takes
    one session (POP3 sessions are short; the mailbox is locked per
    session anyway)"""
    import poplib
    config = "service pop3 {\n  client_limit = 4\n}\n"
    with LoftServer(users=USERS, extra_config=config) as srv:
        msg = b"Subject: p\r\n\r\nbody\r\n"
        c = login(srv, "alice")
        c.ok("APPEND INBOX {%d}" % len(msg), msg)
        c.ok("LOGOUT")
        pops = []
        for _ in range(2):
            p = poplib.POP3("127.0.0.1", srv.ports["pop3"], timeout=10)
            p.user("alice")
            p.pass_("alice-secret")
            pops.append(p)
        for p in pops:
            assert p.stat()[0] == 1
        for p in pops:
            p.quit()
