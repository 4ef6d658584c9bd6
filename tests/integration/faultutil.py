"""Helpers for the crash and fault trials (tests/integration/test_fault_*.py):
a small byte-level IMAP client with timeouts, loft process discovery under
the master, and Maildir inspection."""
import os
import re
import socket
import time


class IMAPError(Exception):
    pass


class IMAP:
    """A minimal IMAP client: one command at a time, literals handled,
    every read bounded by a socket timeout."""

    def __init__(self, port, timeout=10, host="127.0.0.1"):
        self.sock = socket.create_connection((host, port), timeout)
        self.sock.settimeout(timeout)
        self.buf = b""
        self.tagno = 0
        self.greeting = self.readline()
        if not self.greeting.startswith(b"* OK"):
            raise IMAPError("bad greeting %r" % self.greeting)

    def readline(self):
        while b"\r\n" not in self.buf:
            data = self.sock.recv(65536)
            if not data:
                raise EOFError("connection closed")
            self.buf += data
        line, self.buf = self.buf.split(b"\r\n", 1)
        return line + b"\r\n"

    def readn(self, n):
        while len(self.buf) < n:
            data = self.sock.recv(max(65536, n - len(self.buf)))
            if not data:
                raise EOFError("connection closed")
            self.buf += data
        out, self.buf = self.buf[:n], self.buf[n:]
        return out

    def response(self):
        """One whole response line with its literals inlined."""
        out = self.readline()
        while True:
            m = re.search(rb"\{(\d+)\+?\}\r\n$", out)
            if not m:
                return out
            out += self.readn(int(m.group(1)))
            out += self.readline()

    def send(self, data):
        self.sock.sendall(data)

    def cmd(self, text, literal=None):
        """Run one command; returns (status, tagged_line, untagged list).
        With literal, text must end in the literal announcement, which is
        sent synchronising ({n}) and waits for the continuation."""
        self.tagno += 1
        tag = b"f%d" % self.tagno
        if isinstance(text, str):
            text = text.encode()
        self.send(tag + b" " + text + b"\r\n")
        untagged = []
        if literal is not None:
            while True:
                line = self.response()
                if line.startswith(b"+"):
                    break
                if line.startswith(tag + b" "):
                    return line.split(b" ")[1].decode(), line, untagged
                untagged.append(line)
            self.send(literal + b"\r\n")
        while True:
            line = self.response()
            if line.startswith(tag + b" "):
                return line.split(b" ")[1].decode(), line, untagged
            untagged.append(line)

    def ok(self, text, literal=None):
        st, line, untagged = self.cmd(text, literal)
        if st != "OK":
            raise IMAPError("%s -> %r" % (text[:80], line))
        return line, untagged

    def login(self, user, password):
        return self.ok('LOGIN "%s" "%s"' % (user, password))

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass


FETCH_RE = re.compile(rb"^\* \d+ FETCH ", re.S)


def parse_fetch(untagged):
    """[(uid, flags set, message-id or None)] from FETCH responses."""
    out = []
    for line in untagged:
        if not FETCH_RE.match(line):
            continue
        m = re.search(rb"UID (\d+)", line)
        if not m:
            continue
        uid = int(m.group(1))
        f = re.search(rb"FLAGS \(([^)]*)\)", line)
        flags = set(f.group(1).decode().split()) if f else None
        mid = re.search(rb"(?i)Message-ID:\s*<([^>\r\n]+)>", line)
        out.append((uid, flags, mid.group(1).decode() if mid else None))
    return out


def mailbox_listing(client, mailbox):
    """SELECT mailbox and return (uidvalidity, exists, [(uid, flags, mid)])."""
    _, untagged = client.ok('SELECT "%s"' % mailbox)
    uidvalidity = exists = None
    for line in untagged:
        m = re.search(rb"UIDVALIDITY (\d+)", line)
        if m:
            uidvalidity = int(m.group(1))
        m = re.match(rb"\* (\d+) EXISTS", line)
        if m:
            exists = int(m.group(1))
    rows = []
    if exists:
        _, untagged = client.ok(
            "UID FETCH 1:* (UID FLAGS BODY.PEEK[HEADER.FIELDS (MESSAGE-ID)])")
        rows = parse_fetch(untagged)
    return uidvalidity, exists, rows


def status(client, mailbox):
    _, untagged = client.ok('STATUS "%s" (MESSAGES UNSEEN UIDNEXT UIDVALIDITY)'
                            % mailbox)
    for line in untagged:
        if line.startswith(b"* STATUS"):
            return {k.decode(): int(v) for k, v in
                    re.findall(rb"([A-Z]+) (\d+)", line)}
    raise IMAPError("no STATUS reply")


def maildir_files(path):
    """Message files in new/ and cur/ of one Maildir folder."""
    out = []
    for sub in ("new", "cur"):
        d = os.path.join(path, sub)
        try:
            out += [os.path.join(d, n) for n in os.listdir(d)
                    if not n.startswith(".")]
        except FileNotFoundError:
            pass
    return out


def tmp_files(path):
    try:
        return os.listdir(os.path.join(path, "tmp"))
    except FileNotFoundError:
        return []


def proc_name(pid):
    try:
        return os.path.basename(os.readlink("/proc/%d/exe" % pid))
    except OSError:
        try:
            with open("/proc/%d/cmdline" % pid, "rb") as f:
                return os.path.basename(f.read().split(b"\0")[0].decode())
        except OSError:
            return None


def children(master_pid):
    """{pid: binary name} of the processes whose parent is master_pid."""
    out = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open("/proc/%s/stat" % entry) as f:
                stat = f.read()
        except OSError:
            continue
        fields = stat[stat.rfind(")") + 2:].split()
        if fields[0] == "Z":
            continue
        if int(fields[1]) == master_pid:
            name = proc_name(int(entry))
            if name:
                out[int(entry)] = name.replace(" (deleted)", "")
    return out


def process_age(pid):
    """Seconds since the process started, or None."""
    try:
        with open("/proc/%d/stat" % pid) as f:
            stat = f.read()
        start = int(stat[stat.rfind(")") + 2:].split()[19])
        with open("/proc/uptime") as f:
            uptime = float(f.read().split()[0])
        return uptime - start / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError):
        return None


def vm_rss_kb(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return None


def wait_for(predicate, timeout, interval=0.05):
    deadline = time.time() + timeout
    while time.time() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    return predicate()


class Watchdog:
    """A well-behaved client served meanwhile: one logged-in session doing
    NOOP round trips, and every so often a fresh connection + LOGIN + NOOP.
    max_noop / max_login are the worst latencies seen (seconds)."""

    def __init__(self, port, user, password, interval=0.2):
        import threading
        self.port, self.user, self.password = port, user, password
        self.interval = interval
        self.stop_ev = threading.Event()
        self.max_noop = 0.0
        self.max_login = 0.0
        self.rounds = 0
        self.errors = []
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _login(self):
        start = time.time()
        c = IMAP(self.port, timeout=10)
        c.login(self.user, self.password)
        self.max_login = max(self.max_login, time.time() - start)
        return c

    def _run(self):
        try:
            c = self._login()
            n = 0
            while not self.stop_ev.is_set():
                start = time.time()
                c.ok("NOOP")
                self.max_noop = max(self.max_noop, time.time() - start)
                self.rounds += 1
                n += 1
                if n % 5 == 0:
                    fresh = self._login()
                    fresh.ok("LOGOUT")
                    fresh.close()
                self.stop_ev.wait(self.interval)
            c.ok("LOGOUT")
            c.close()
        except Exception as e:  # noqa: BLE001
            self.errors.append(repr(e))

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        # at least a few round trips happen while the hostile client acts
        deadline = time.time() + 5
        while self.rounds < 3 and not self.errors and time.time() < deadline:
            time.sleep(0.05)
        self.stop_ev.set()
        self.thread.join(30)

    def check(self, noop_bound=1.0, login_bound=3.0):
        assert not self.errors, self.errors
        assert self.rounds >= 3, "the well-behaved client barely ran"
        assert self.max_noop < noop_bound, "NOOP took %.2f s" % self.max_noop
        assert self.max_login < login_bound, "LOGIN took %.2f s" % self.max_login


def imap_pids(master_pid):
    return {p for p, n in children(master_pid).items() if n == "loft-imap"}
