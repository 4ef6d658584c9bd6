"""LMTP delivery under the whole server (master + per-connection
loft-lmtp processes), checked for durability:

- the 250 of a recipient is written only after the message file was
  fsynced in tmp/, renamed into new/, new/ was fsynced and its UID line
  was appended to dovecot-uidlist and flushed (the order is read from
  strace of the lmtp processes);
- a loft-lmtp killed with SIGKILL right after the 250 leaves the message
  and its UID in place (nothing of the delivery is deferred in the
  process: the user cache only keeps the index open);
- concurrent connections delivering to the same users get one process
  each, distinct UIDs, and lose nothing;
- a recipient kept open between deliveries notices its index or its
  whole Maildir being removed.
"""
import os
import re
import shutil
import signal
import subprocess
import threading
import time

from lmtpclient import LMTP
from loftserver import LoftServer
from faultutil import IMAP, mailbox_listing, maildir_files, proc_name, wait_for

USERS = {"alice": "alice-secret", "bob": "bob-secret"}
FSYNC_CONFIG = "mail_fsync = optimized\n"


def message(mid, body="hello"):
    return (b"From: durable@loft.test\r\nTo: alice@loft.test\r\n"
            b"Message-ID: <%s>\r\nSubject: %s\r\n\r\n%s\r\n" %
            (mid.encode(), mid.encode(), body.encode()))


def session_members(sid):
    """{pid: binary name} of the living processes of the server's session."""
    out = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open("/proc/%s/stat" % entry) as f:
                fields = f.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if fields[0] != "Z" and int(fields[3]) == sid:
            name = proc_name(int(entry))
            if name:
                out[int(entry)] = name.replace(" (deleted)", "")
    return out


def lmtp_pids(server):
    return {p for p, n in session_members(server.proc.pid).items()
            if n == "loft-lmtp"}


def uidlist(server, user):
    """{maildir base name: uid} from the user's INBOX dovecot-uidlist."""
    out = {}
    path = os.path.join(server.maildir(user), "dovecot-uidlist")
    with open(path) as f:
        lines = f.read().split("\n")
    for line in lines[1:]:
        m = re.match(r"(\d+)(?: [^:]*)? :(.+)$", line)
        if m:
            out[m.group(2)] = int(m.group(1))
    return out


def files_by_mid(server, user):
    """{message-id: [base name]} of the messages in new/ and cur/."""
    out = {}
    for path in maildir_files(server.maildir(user)):
        with open(path, "rb") as f:
            m = re.search(rb"Message-ID: <([^>]+)>", f.read())
        base = os.path.basename(path).split(":2,")[0]
        out.setdefault(m.group(1).decode() if m else None, []).append(base)
    return out


def deliver_one(lmtp, user, mid):
    codes, replies = lmtp.deliver("s@loft.test", [user], to_wire(message(mid)))
    assert codes == [250], codes
    return replies[0]


def to_wire(data):
    return data  # already CRLF, no lines starting with "."


def imap_uids(server, user):
    c = IMAP(server.ports["imap"])
    c.login(user, USERS[user])
    _, exists, rows = mailbox_listing(c, "INBOX")
    c.ok("LOGOUT")
    c.close()
    return {mid: uid for uid, _, mid in rows}


def test_reply_only_after_flushes():
    """strace of the lmtp processes: before each 250 of a delivery, the
    message was fsynced in tmp/, renamed into new/, new/ was fsynced and
    dovecot-uidlist flushed, in that order."""
    server = LoftServer(users=USERS, extra_config=FSYNC_CONFIG)
    out = os.path.join(server.dir, "strace.out")
    st = None
    try:
        server.start()
        assert wait_for(lambda: lmtp_pids(server), 5)
        args = ["strace", "-f", "-y", "-s", "120", "-o", out, "-e",
                "trace=fsync,fdatasync,rename,renameat,renameat2,write,"
                "writev,sendto,sendmsg"]
        # the master (for processes started later) and the lmtp ones
        for p in [server.proc.pid] + sorted(lmtp_pids(server)):
            args += ["-p", str(p)]
        st = subprocess.Popen(args, stderr=subprocess.DEVNULL)
        time.sleep(1.0)
        lmtp = LMTP("127.0.0.1", server.ports["lmtp"], timeout=30)
        lmtp.lhlo()
        n = 4
        for i in range(n):
            deliver_one(lmtp, "alice" if i % 2 == 0 else "bob", "order-%d@t" % i)
        lmtp.quit()
        time.sleep(0.3)
    finally:
        if st is not None:
            st.terminate()
            st.wait()
        server.stop()
    try:
        # per pid, the syscalls in order
        by_pid = {}
        with open(out) as f:
            for line in f:
                m = re.match(r"(\d+) +(\w+)\((.*)$", line)
                if m:
                    by_pid.setdefault(m.group(1), []).append(
                        (m.group(2), m.group(3)))
        replies = 0
        for calls in by_pid.values():
            seen = []
            for name, rest in calls:
                if "Saved" in rest and "250 2.0.0" in rest:
                    replies += 1
                    # what must have happened since the previous reply
                    steps = ["fsync tmp", "rename new", "fsync new",
                             "flush uidlist"]
                    pos = 0
                    for ev in seen:
                        if pos < len(steps) and ev == steps[pos]:
                            pos += 1
                    assert pos == len(steps), (steps[pos], seen)
                    seen = []
                    continue
                if name == "fsync" and "/tmp/" in rest and \
                        re.search(r"/Maildir/tmp/[^>]+>", rest):
                    seen.append("fsync tmp")
                elif name.startswith("rename") and "/tmp/" in rest and \
                        "/Maildir/new/" in rest:
                    seen.append("rename new")
                elif name == "fsync" and re.search(r"/Maildir/new>", rest):
                    seen.append("fsync new")
                elif name in ("fsync", "fdatasync") and \
                        re.search(r"/dovecot-uidlist>", rest):
                    seen.append("flush uidlist")
        assert replies == 4, open(out).read()[-3000:]
    finally:
        server.cleanup()


def test_sigkill_after_reply_keeps_message_and_uid():
    """Kill every loft-lmtp with SIGKILL the moment a 250 arrives: the
    message is in the Maildir, listed in dovecot-uidlist with a UID, and
    IMAP serves it under that UID; UIDs given later are new ones."""
    server = LoftServer(users=USERS, extra_config=FSYNC_CONFIG)
    try:
        server.start()
        acked = {}
        for rnd in range(4):
            lmtp = LMTP("127.0.0.1", server.ports["lmtp"], timeout=30)
            lmtp.lhlo()
            mid = "killed-%d@t" % rnd
            deliver_one(lmtp, "alice", mid)
            for p in lmtp_pids(server):
                os.kill(p, signal.SIGKILL)
            acked[mid] = None
            ul = uidlist(server, "alice")
            files = files_by_mid(server, "alice")
            assert len(files.get(mid, [])) == 1, (mid, files)
            base = files[mid][0]
            assert base in ul, (base, ul)
            acked[mid] = ul[base]
            lmtp.sock.close()
            # the master starts a new lmtp process
            assert wait_for(lambda: lmtp_pids(server), 10)
        uids = list(acked.values())
        assert len(set(uids)) == len(uids), acked
        assert uids == sorted(uids), acked
        # IMAP (index rebuilt or updated from the Maildir) agrees
        seen = imap_uids(server, "alice")
        for mid, uid in acked.items():
            assert seen.get(mid) == uid, (mid, uid, seen)
        assert "killed with signal 9" in server.log()
    finally:
        server.cleanup()


def test_concurrent_connections_distinct_uids():
    """6 connections at once, 15 messages each, alternating between two
    users: one process per connection, every message stored once, UIDs
    distinct and in dovecot-uidlist, IMAP sees them all."""
    server = LoftServer(users=USERS, extra_config=FSYNC_CONFIG)
    conns, per_conn = 6, 15
    errors = []
    served_by = set()
    try:
        server.start()
        barrier = threading.Barrier(conns)

        def worker(k):
            try:
                lmtp = LMTP("127.0.0.1", server.ports["lmtp"], timeout=60)
                lmtp.lhlo()
                barrier.wait(timeout=30)
                for i in range(per_conn):
                    user = ("alice", "bob")[(k + i) % 2]
                    reply = deliver_one(lmtp, user, "c%d-%d@t" % (k, i))
                    assert reply[0] == 250, reply
                lmtp.quit()
            except Exception as e:   # noqa: BLE001
                errors.append("conn %d: %r" % (k, e))

        threads = [threading.Thread(target=worker, args=(k,))
                   for k in range(conns)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(120)
        assert not errors, errors
        for line in server.log().split("\n"):
            m = re.search(r"lmtp\(\w+\)<(\d+)><[^>]+>: Info: msgid=<c\d", line)
            if m:
                served_by.add(m.group(1))
        # one process per connection (client_limit 1, as in Dovecot)
        assert len(served_by) >= conns, served_by
        for user in ("alice", "bob"):
            want = {"c%d-%d@t" % (k, i) for k in range(conns)
                    for i in range(per_conn) if ("alice", "bob")[(k + i) % 2] == user}
            files = files_by_mid(server, user)
            assert {m for m in files if m is not None} == want
            assert all(len(v) == 1 for v in files.values()), files
            ul = uidlist(server, user)
            uids = [ul[files[m][0]] for m in want]
            assert len(set(uids)) == len(uids)
            seen = imap_uids(server, user)
            assert {m: seen.get(m) for m in want} == \
                {m: ul[files[m][0]] for m in want}
    finally:
        server.cleanup()


def test_cached_user_sees_index_and_maildir_removed():
    """The lmtp process keeps the recipient open between deliveries on a
    connection: removing the index, then the whole Maildir, between two
    deliveries is noticed; the next delivery recreates them and keeps
    UIDs growing while the uidlist lives."""
    server = LoftServer(users=USERS, extra_config=FSYNC_CONFIG)
    try:
        server.start()
        lmtp = LMTP("127.0.0.1", server.ports["lmtp"], timeout=30)
        lmtp.lhlo()
        deliver_one(lmtp, "alice", "r1@t")
        md = server.maildir("alice")
        for suffix in ("", "-wal", "-shm"):
            try:
                os.unlink(os.path.join(md, "loft.index.sqlite" + suffix))
            except FileNotFoundError:
                pass
        deliver_one(lmtp, "alice", "r2@t")
        assert os.path.exists(os.path.join(md, "loft.index.sqlite"))
        ul = uidlist(server, "alice")
        files = files_by_mid(server, "alice")
        assert ul[files["r2@t"][0]] > ul[files["r1@t"][0]]
        seen = imap_uids(server, "alice")
        assert set(seen) == {"r1@t", "r2@t"}, seen
        shutil.rmtree(md)
        deliver_one(lmtp, "alice", "r3@t")
        lmtp.quit()
        files = files_by_mid(server, "alice")
        assert set(files) == {"r3@t"}, files
        assert files_by_mid(server, "alice")["r3@t"][0] in uidlist(server, "alice")
        assert set(imap_uids(server, "alice")) == {"r3@t"}
        assert "Error" not in "\n".join(
            l for l in server.log().split("\n") if "lmtp(" in l)
    finally:
        server.cleanup()
