"""SIGKILL trials: while LMTP deliveries and IMAP APPEND/STORE/EXPUNGE/MOVE
run concurrently, imap/lmtp/auth processes (and in some rounds the master,
after which loft is started again on the same directories) are killed at
random moments. After each round a fresh session checks that every
acknowledged message (LMTP 250, APPEND OK [APPENDUID]) is present exactly
once (by its unique Message-ID) with the flags acknowledged by STORE OK, that
no UID is ever reused, that UIDVALIDITY never changes, and that the index
heals itself (SELECT works, STATUS counts match the Maildir files).

The RNG seed is printed; rerun one with LOFT_FAULT_SEED=<seed>."""
import os
import random
import re
import signal
import threading
import time

import pytest

from loftserver import LoftServer
from lmtpclient import LMTP, to_wire
from faultutil import (IMAP, IMAPError, children, mailbox_listing, maildir_files,
                       proc_name, process_age, status, wait_for)

ROUNDS = int(os.environ.get("LOFT_FAULT_ROUNDS", "50"))
ROUND_SECS = 0.45
USER, PASSWORD = "alice", "alice-secret"
MAILBOXES = ("INBOX", "Other")
FLAGS = ("\\Flagged", "\\Seen", "\\Answered", "\\Draft", "$Fault", "$Kw2")
# services whose quick crashes the master throttles (2 s after 5 crashes
# within 2 s of start): kill only processes older than that
THROTTLED = {"loft-lmtp", "loft-auth"}


class Msg:
    def __init__(self, mid, mailbox, flags=()):
        self.mid = mid
        self.min_n = 0            # copies that must exist
        self.max_n = 1            # copies that may exist
        self.mailboxes = {mailbox}
        self.required = set()     # flags acknowledged by APPEND/STORE OK
        self.maybe = set(flags)   # flags an unacknowledged command may have set
        self.append_uid = None
        self.pinned = None        # {(mailbox, uid)} seen by a check, unchanged since
        self.busy = False         # excluded from further mutations


class Model:
    def __init__(self):
        self.lock = threading.Lock()
        self.msgs = {}
        self.uidvalidity = {}
        self.uids = {}            # (mailbox, uidvalidity) -> {uid: mid}
        self.errors = []

    def add(self, mid, mailbox, flags=()):
        with self.lock:
            m = Msg(mid, mailbox, flags)
            self.msgs[mid] = m
            return m

    def see_uid(self, mailbox, uidvalidity, uid, mid, where):
        key = (mailbox, uidvalidity)
        with self.lock:
            old = self.uids.setdefault(key, {}).setdefault(uid, mid)
        if old != mid:
            self.errors.append("%s: UID %d in %s reused: was %s, now %s" %
                               (where, uid, mailbox, old, mid))

    def mutable_targets(self):
        with self.lock:
            return [m for m in self.msgs.values()
                    if not m.busy and m.pinned and len(m.pinned) == 1 and
                    next(iter(m.pinned))[0] == "INBOX" and m.min_n == 1]


def message(mid, text):
    return (b"From: fault@loft.test\r\nTo: alice@loft.test\r\n"
            b"Message-ID: <%s>\r\nSubject: %s\r\n\r\n%s\r\n" %
            (mid.encode(), text.encode(), text.encode() * 3))


def imap_login(server, timeout=5):
    c = IMAP(server.ports["imap"], timeout=timeout)
    c.login(USER, PASSWORD)
    return c


def lmtp_worker(server, model, stop, tag):
    n = 0
    lmtp = None
    while not stop.is_set():
        try:
            if lmtp is None:
                lmtp = LMTP("127.0.0.1", server.ports["lmtp"], timeout=5)
                lmtp.lhlo()
            n += 1
            mid = "lmtp-%s-%d@loft.test" % (tag, n)
            m = model.add(mid, "INBOX")
            wire, _ = to_wire(message(mid, "delivered %s %d" % (tag, n)))
            codes, replies = lmtp.deliver("s@loft.test", [USER], wire)
            if codes == [250] and replies and replies[0][0] == 250:
                with model.lock:
                    m.min_n = 1
            time.sleep(0.015)   # keep the mailbox small: rounds stay short
        except (OSError, EOFError, AssertionError):
            if lmtp is not None:
                lmtp.sock.close()
            lmtp = None
            time.sleep(0.02)


def append_worker(server, model, stop, tag, rng):
    n = 0
    c = None
    while not stop.is_set():
        try:
            if c is None:
                c = imap_login(server)
            n += 1
            mid = "append-%s-%d@loft.test" % (tag, n)
            flags = set(rng.sample(FLAGS, rng.randint(0, 2)))
            m = model.add(mid, "INBOX", flags)
            body = message(mid, "appended %s %d" % (tag, n))
            line, _ = c.ok("APPEND INBOX (%s) {%d}" % (" ".join(sorted(flags)),
                                                         len(body)), body)
            am = re.search(rb"APPENDUID (\d+) (\d+)", line)
            if not am:
                model.errors.append("APPEND OK without APPENDUID: %r" % line)
                continue
            uv, uid = int(am.group(1)), int(am.group(2))
            model.see_uid("INBOX", uv, uid, mid, "APPENDUID")
            with model.lock:
                m.min_n = 1
                m.required = set(flags)
                m.maybe = set()
                m.append_uid = (uv, uid)
            time.sleep(0.015)
        except (OSError, EOFError, IMAPError):
            if c is not None:
                c.close()
            c = None
            time.sleep(0.02)


def mutate_worker(server, model, stop, rng):
    c = None
    while not stop.is_set():
        try:
            if c is None:
                c = imap_login(server)
                c.ok("SELECT INBOX")
            targets = model.mutable_targets()
            if not targets:
                c.ok("NOOP")
                time.sleep(0.02)
                continue
            m = rng.choice(targets)
            uid = next(iter(m.pinned))[1]
            op = rng.choice(("store", "store", "expunge", "move"))
            with model.lock:
                m.busy = True
            if op == "store":
                flag = rng.choice(FLAGS)
                with model.lock:
                    m.maybe.add(flag)
                    m.busy = False
                c.ok("UID STORE %d +FLAGS.SILENT (%s)" % (uid, flag))
                with model.lock:
                    m.required.add(flag)
            elif op == "expunge":
                with model.lock:
                    m.maybe.add("\\Deleted")
                    m.min_n = 0
                    m.pinned = None
                c.ok("UID STORE %d +FLAGS.SILENT (\\Deleted)" % uid)
                c.ok("UID EXPUNGE %d" % uid)
                with model.lock:
                    m.max_n = 0
            else:
                with model.lock:
                    m.mailboxes.add("Other")
                    m.max_n = 2   # MOVE is COPY + expunge (as in Dovecot)
                    m.pinned = None
                c.ok("UID MOVE %d Other" % uid)
                with model.lock:
                    m.mailboxes = {"Other"}
                    m.max_n = 1
        except (OSError, EOFError, IMAPError):
            if c is not None:
                c.close()
            c = None
            time.sleep(0.02)


def killer(server, rng, kill_master, log):
    """Kill one process at a random moment of the round."""
    time.sleep(rng.uniform(0.02, ROUND_SECS - 0.05))
    if kill_master:
        log.append("master %d" % server.proc.pid)
        os.kill(server.proc.pid, signal.SIGKILL)
        return
    kids = children(server.proc.pid)
    cands = {}
    for pid, name in kids.items():
        if name in THROTTLED and (process_age(pid) or 0) < 2.2:
            continue
        if name in ("loft-imap", "loft-lmtp", "loft-auth"):
            cands.setdefault(name, []).append(pid)
    if not cands:
        log.append("nothing to kill")
        return
    name = rng.choice(sorted(cands))
    pid = rng.choice(sorted(cands[name]))
    log.append("%s %d" % (name, pid))
    try:
        os.kill(pid, signal.SIGKILL)
    except ProcessLookupError:
        pass


def session_members(sid):
    """{pid: binary name} of the living processes of session sid (the
    server runs in its own session, start_new_session)."""
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


def restart_after_master_kill(server, old_kids):
    sid = server.proc.pid
    server.proc.wait(timeout=10)
    server.proc.stdout.close()
    # the services holding listeners must go away with the master,
    # or the new master can't bind its ports
    holders = [p for p, n in old_kids.items() if n != "loft-imap"]
    # and those the master started during the round (loft-lmtp runs one
    # process per connection): they are still in its session
    holders += [p for p, n in session_members(sid).items()
                if n != "loft-imap" and p not in holders]

    def gone():
        for p in holders:
            try:
                with open("/proc/%d/stat" % p) as f:
                    if f.read().rsplit(")", 1)[1].split()[0] != "Z":
                        return False
            except OSError:
                pass
        return True
    if not wait_for(gone, 5):
        states = {}
        for p in holders:
            try:
                with open("/proc/%d/status" % p) as f:
                    states[p] = f.read().split("\n")[:8]
            except OSError:
                states[p] = "gone"
        raise AssertionError("services outlived the master: %s\n%s" %
                             (states, server.log()[-3000:]))
    server.proc = None
    server.start()


def check(server, model, where):
    """A fresh session sees exactly what the model allows; then the model
    takes what it saw as the new certain state."""
    c = None
    deadline = time.time() + 10
    while c is None:
        try:
            c = imap_login(server)
        except Exception as e:   # noqa: BLE001
            if time.time() > deadline:
                raise AssertionError("%s: no login after the round: %r\n%s" %
                                     (where, e, server.log()[-3000:]))
            time.sleep(0.1)
    seen = {}
    c.sock.settimeout(30)
    for mbox in MAILBOXES:
        start = time.time()
        try:
            uv, exists, rows = mailbox_listing(c, mbox)
        except (OSError, EOFError, IMAPError) as e:
            raise AssertionError("%s: SELECT %s failed: %r\n%s" % (
                where, mbox, e, server.log()[-4000:]))
        took = time.time() - start
        assert took < 10, "%s: SELECT %s took %.1f s\n%s" % (
            where, mbox, took, server.log()[-4000:])
        assert uv, "%s: SELECT %s gave no UIDVALIDITY" % (where, mbox)
        first = model.uidvalidity.setdefault(mbox, uv)
        assert uv == first, "%s: UIDVALIDITY of %s changed %d -> %d" % (
            where, mbox, first, uv)
        assert exists == len(rows), (where, mbox, exists, len(rows))
        st = status(c, mbox)
        files = maildir_files(server.maildir(USER) if mbox == "INBOX" else
                              os.path.join(server.maildir(USER), "." + mbox))
        assert st["MESSAGES"] == exists == len(files), (
            "%s: %s: STATUS %d, SELECT %d, Maildir files %d" %
            (where, mbox, st["MESSAGES"], exists, len(files)))
        assert st["UIDVALIDITY"] == uv
        uids = [r[0] for r in rows]
        assert len(set(uids)) == len(uids), (where, mbox, "duplicate UID")
        if uids:
            assert st["UIDNEXT"] > max(uids), (where, mbox, st, max(uids))
        for uid, flags, mid in rows:
            assert mid is not None, "%s: %s UID %d has no Message-ID" % (
                where, mbox, uid)
            model.see_uid(mbox, uv, uid, mid, where)
            seen.setdefault(mid, []).append((mbox, uid, flags - {"\\Recent"}))
    c.ok("LOGOUT")
    c.close()
    errors = list(model.errors)
    with model.lock:
        for mid, m in model.msgs.items():
            copies = seen.get(mid, [])
            n = len(copies)
            if not m.min_n <= n <= m.max_n:
                errors.append("%s: %s has %d copies, expected %d..%d" %
                              (where, mid, n, m.min_n, m.max_n))
            for mbox, uid, flags in copies:
                if mbox not in m.mailboxes:
                    errors.append("%s: %s in %s, expected in %s" %
                                  (where, mid, mbox, m.mailboxes))
                if not m.required <= flags:
                    errors.append("%s: %s flags %s lack acknowledged %s" %
                                  (where, mid, flags, m.required))
                if not flags <= m.required | m.maybe:
                    errors.append("%s: %s flags %s, never set: %s" %
                                  (where, mid, flags,
                                   flags - m.required - m.maybe))
            if m.pinned is not None and n == m.min_n == m.max_n:
                got = {(b, u) for b, u, _ in copies}
                if got != m.pinned:
                    errors.append("%s: %s moved from %s to %s" %
                                  (where, mid, m.pinned, got))
            if m.append_uid and m.min_n == 1 and m.mailboxes == {"INBOX"} \
               and m.append_uid[0] == model.uidvalidity.get("INBOX"):
                if [u for b, u, _ in copies] != [m.append_uid[1]]:
                    errors.append("%s: %s APPENDUID %d, found at %s" %
                                  (where, mid, m.append_uid[1], copies))
            # what was seen is now certain
            m.min_n = m.max_n = n
            m.mailboxes = {b for b, _, _ in copies} or m.mailboxes
            m.required = set(copies[0][2]) if copies else set()
            m.maybe = set()
            m.pinned = {(b, u) for b, u, _ in copies}
            m.busy = n != 1
        unknown = set(seen) - set(model.msgs)
        if unknown:
            errors.append("%s: unknown messages %s" % (where, unknown))
    assert not errors, "\n".join(errors[:20])
    return sum(len(v) for v in seen.values())


@pytest.mark.parametrize("client_limit", [1, 4])
def test_sigkill_trials(client_limit):
    """client_limit 1: a process per session (the default); 4: the
    user's sessions share loft-imap processes (service imap
    { client_limit }), so one kill ends several sessions at once"""
    rounds = ROUNDS if client_limit == 1 else max(1, ROUNDS // 2)
    base_seed = int(os.environ.get("LOFT_FAULT_SEED") or
                    random.SystemRandom().randrange(1 << 30))
    print("SIGKILL trials, client_limit %d: base seed %d "
          "(LOFT_FAULT_SEED=%d to rerun), %d rounds" % (
              client_limit, base_seed, base_seed, rounds))
    extra = "" if client_limit == 1 else \
        "service imap {\n  client_limit = %d\n}\n" % client_limit
    server = LoftServer(users={USER: PASSWORD}, extra_config=extra)
    model = Model()
    try:
        server.start()
        c = imap_login(server)
        c.ok("CREATE Other")
        c.ok("LOGOUT")
        c.close()
        check(server, model, "start")
        started = time.time()
        masters = 0
        for rnd in range(rounds):
            seed = base_seed + rnd
            rng = random.Random(seed)
            where = "round %d (seed %d)" % (rnd, seed)
            kill_master = rng.random() < 0.12
            masters += kill_master
            old_kids = children(server.proc.pid)
            stop = threading.Event()
            log = []
            threads = [
                threading.Thread(target=lmtp_worker,
                                 args=(server, model, stop, "%d" % rnd)),
                threading.Thread(target=append_worker,
                                 args=(server, model, stop, "%d" % rnd,
                                       random.Random(seed * 7 + 1))),
                threading.Thread(target=mutate_worker,
                                 args=(server, model, stop,
                                       random.Random(seed * 7 + 2))),
                threading.Thread(target=killer,
                                 args=(server, rng, kill_master, log)),
            ]
            for t in threads:
                t.start()
            time.sleep(ROUND_SECS)
            threads[-1].join()
            stop.set()
            for t in threads:
                t.join(30)
                assert not t.is_alive(), "%s: a client hangs" % where
            if kill_master:
                restart_after_master_kill(server, old_kids)
            count = check(server, model, "%s after killing %s" % (where, log))
            print("%s: killed %s; %d messages" % (where, log, count))
        print("%d rounds (%d master kills) in %.1f s, %d messages tracked" %
              (rounds, masters, time.time() - started, len(model.msgs)))
        acked = [m for m in model.msgs.values() if m.min_n >= 1]
        assert len(acked) > rounds, "too few acknowledged messages to mean much"
    finally:
        server.cleanup()


def test_services_die_with_master():
    """After the master is SIGKILLed, the services holding its listeners
    (auth, login, lmtp, also after lmtp switched its euid for a delivery)
    exit, so loft starts again on the same ports; a running IMAP session
    keeps working, as in Dovecot."""
    server = LoftServer(users={USER: PASSWORD})
    try:
        server.start()
        lmtp = LMTP("127.0.0.1", server.ports["lmtp"], timeout=5)
        lmtp.lhlo()
        wire, _ = to_wire(message("before-kill@loft.test", "x"))
        _, replies = lmtp.deliver("s@loft.test", [USER], wire)
        assert replies[0][0] == 250
        c = imap_login(server)
        c.ok("CREATE Other")
        c.ok("SELECT INBOX")
        kids = children(server.proc.pid)
        assert {"loft-auth", "loft-lmtp", "loft-login", "loft-imap"} <= \
            set(kids.values()), kids
        os.kill(server.proc.pid, signal.SIGKILL)
        restart_after_master_kill(server, kids)
        _, untagged = c.ok("UID FETCH 1:* (UID)")
        assert len(untagged) == 1
        c.close()
        lmtp.sock.close()
        wire, _ = to_wire(message("after-kill@loft.test", "x"))
        lmtp = LMTP("127.0.0.1", server.ports["lmtp"], timeout=5)
        lmtp.lhlo()
        _, replies = lmtp.deliver("s@loft.test", [USER], wire)
        assert replies[0][0] == 250
        lmtp.quit()
        model = Model()
        for mid in ("before-kill@loft.test", "after-kill@loft.test"):
            model.add(mid, "INBOX").min_n = 1
        check(server, model, "after restart")
    finally:
        server.cleanup()


def test_uidlist_lock_of_killed_process():
    """A dovecot-uidlist.lock left by a process killed while locking (empty:
    killed between creating it and writing its pid; or with the pid of a
    dead process) doesn't block the mailbox for the 120 s stale timeout."""
    server = LoftServer(users={USER: PASSWORD})
    try:
        server.start()
        c = imap_login(server)
        c.ok("SELECT INBOX")
        c.ok("LOGOUT")
        c.close()
        lock = os.path.join(server.maildir(USER), "dovecot-uidlist.lock")
        for content in (b"", b"2147483646:%s" % os.uname().nodename.encode()):
            with open(lock, "wb") as f:
                f.write(content)
            old = time.time() - 10
            os.utime(lock, (old, old))
            # a delivery takes the lock too
            lmtp = LMTP("127.0.0.1", server.ports["lmtp"], timeout=20)
            lmtp.lhlo()
            wire, _ = to_wire(message("lock-%d@loft.test" % len(content), "x"))
            start = time.time()
            _, replies = lmtp.deliver("s@loft.test", [USER], wire)
            lmtp.quit()
            assert replies[0][0] == 250, replies
            c = imap_login(server)
            c.sock.settimeout(20)
            c.ok("SELECT INBOX")
            took = time.time() - start
            c.ok("LOGOUT")
            c.close()
            assert took < 3, "lock %r blocked for %.1f s" % (content, took)
            assert not os.path.exists(lock)
    finally:
        server.cleanup()
