#!/usr/bin/python3
"""`make bench`: loft beside a private Debian Dovecot, same workload.

Called by bench/run.sh with the loft build dir. Writes one temp dir per
server (same users, same Maildirs, same settings), starts both, runs each
scenario with bench/loft-loadgen alternating loft/Dovecot, 3 runs, and
prints medians and the loft/Dovecot ratio; the JSON goes to
bench/results/<date>.json.

Environment: SECS=N shortens every timed scenario to N seconds and LMTP to
a 2000-message subset (quick mode); RUNS=N (3); KEEP=1 keeps the temp dir;
SCENARIOS="imap20 ..." a subset; IDLE_CONNS=N idle connections for idle10k
(10000, quick 2000); BIG_MSGS=N messages in the big100k mailbox (100000,
quick 20000); IDLE_RUNS=N runs of idle10k (1); RESULTS_NAME=name writes
bench/results/name.json instead of <date>[-quick].json;
IMAP_CLIENT_LIMIT=N loft's service imap { client_limit } (10: a loft-imap
process serves up to 10 connections of one user; 1 = one process per
connection, as Dovecot is run).
"""
import datetime
import json
import os
import platform
import re
import resource
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
BUILD = os.path.abspath(sys.argv[1] if len(sys.argv) > 1 else
                        os.path.join(ROOT, "..", "build-bench"))
CORPUS = os.path.abspath(os.environ.get("LOFT_CORPUS") or os.path.join(
    ROOT, "..", "shared", "corpus"))
SA_DIR = os.path.join(CORPUS, "spamassassin", "Maildir", "cur")
LOADGEN = os.path.join(BUILD, "bench", "loft-loadgen")
QUICK = os.environ.get("SECS")
SECS = int(QUICK) if QUICK else 20
RUNS = int(os.environ.get("RUNS", "3"))
PASSWORD = "benchpass"
IMAP_USERS = 200     # imap20 uses the first 20, imap200 all
IMAP_MSGS = 300      # messages per IMAP user's INBOX
POP_USERS = 4
POP_MSGS = 1000      # messages per POP3 user
LMTP_USERS = 4
LMTP_MSGS = 2000 if QUICK else 0   # 0 = the whole spamassassin corpus
# a run stops after this many seconds even if not every message is in
# (keeps `make bench` near 10 minutes when deliveries are slow)
LMTP_MAX_SECS = max(SECS * 2, 10) if QUICK else 60
IDLE_CONNS = int(os.environ.get("IDLE_CONNS") or (2000 if QUICK else 10000))
IDLE_PER_USER = 10   # connections per idle user (all from 127.0.0.1)
IDLE_USERS = max(1, (IDLE_CONNS + IDLE_PER_USER - 1) // IDLE_PER_USER)
IDLE_MSGS = 10       # messages per idle user's INBOX
# 10k logins take ~100 s per server: one run each unless IDLE_RUNS says
# otherwise (memory per connection hardly varies between runs)
IDLE_RUNS = int(os.environ.get("IDLE_RUNS") or 1)
# loft's service imap { client_limit }: connections of one user that one
# loft-imap process serves (1 = a process per connection, as Dovecot)
IMAP_CLIENT_LIMIT = int(os.environ.get("IMAP_CLIENT_LIMIT") or 10)
BIG_MSGS = int(os.environ.get("BIG_MSGS") or (20000 if QUICK else 100000))
ONLY = os.environ.get("SCENARIOS", "").split()
# 10k connections: fds for the load generator and both servers' masters
# and children, processes for one mail process per connection
NOFILE = 65536


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def sha512_crypt(password):
    out = subprocess.run(["openssl", "passwd", "-6", "-stdin"],
                         input=password.encode(), check=True,
                         capture_output=True).stdout.decode().strip()
    return "{SHA512-CRYPT}" + out


def wanted(name):
    return not ONLY or name in ONLY


def user_names():
    names = ["user%d" % i for i in range(1, IMAP_USERS + 1)]
    names += ["pop%d" % i for i in range(1, POP_USERS + 1)]
    for run in range(1, RUNS + 2):
        names += ["lmtp%d_%d" % (run, i) for i in range(1, LMTP_USERS + 1)]
    if wanted("idle10k"):
        names += ["idle%d" % i for i in range(1, IDLE_USERS + 1)]
    if wanted("big100k"):
        names.append("big1")
    return names


SERVICES = """
# up to {procs} imap connections; 10 connections per user and IP in
# idle10k. Dovecot: one imap process per connection (its default and
# advice: its client_limit would put several users in one process).
# loft: {imap_client_limit_note}
mail_max_userip_connections = 100
service imap {{
  process_limit = {procs}
{imap_client_limit}}}
service imap-login {{
  inet_listener imap {{
    port = {imap}
  }}
  inet_listener imaps {{
    port = {imaps}
    ssl = yes
  }}
  service_count = 0
  client_limit = 1000
  process_min_avail = 2
}}
service pop3-login {{
  inet_listener pop3 {{
    port = {pop3}
  }}
  inet_listener pop3s {{
    port = {pop3s}
    ssl = yes
  }}
  service_count = 0
  client_limit = 1000
  process_min_avail = 2
}}
service lmtp {{
  inet_listener lmtp {{
    port = {lmtp}
  }}
}}
"""

# Dovecot's master checks that the services it talks to can take every
# process it may start (it warns and drops connections otherwise)
DOVECOT_EXTRA = """
default_client_limit = {procs}
service anvil {{
  client_limit = {procs}
}}
service auth {{
  client_limit = {procs}
}}
"""

COMMON = """
protocols = imap pop3 lmtp
listen = 127.0.0.1
base_dir = {base}
log_path = {log}
ssl = yes
ssl_cert = <{cert}
ssl_key = <{key}
disable_plaintext_auth = no
auth_mechanisms = plain login
auth_failure_delay = 0
mail_location = maildir:~/Maildir
mail_fsync = optimized
first_valid_uid = 1
passdb {{
  driver = passwd-file
  args = {passwd}
}}
userdb {{
  driver = passwd-file
  args = {passwd}
}}
"""


class Server:
    def __init__(self, name, top, hashes, cert, key):
        self.name = name
        self.dir = os.path.join(top, name)
        os.makedirs(self.dir)
        os.chmod(self.dir, 0o755)
        self.ports = {n: free_port() for n in
                      ("imap", "imaps", "pop3", "pop3s", "lmtp")}
        self.base = os.path.join(self.dir, "base")
        self.log = os.path.join(self.dir, name + ".log")
        self.proc = None
        root = os.geteuid() == 0
        uid, gid = (65534, 65534) if root else (os.getuid(), os.getgid())
        self.passwd = os.path.join(self.dir, "users")
        with open(self.passwd, "w") as f:
            for user, h in hashes.items():
                f.write("%s:%s:%d:%d::%s::\n" % (
                    user, h, uid, gid, os.path.join(self.dir, "home", user)))
        os.chmod(self.passwd, 0o644)
        self.populate(uid, gid, root)
        self.conf = os.path.join(self.dir, name + ".conf")
        with open(self.conf, "w") as f:
            f.write("# written by bench/bench.py\n")
            f.write(COMMON.format(base=self.base, log=self.log, cert=cert,
                                  key=key, passwd=self.passwd))
            if name == "dovecot":
                # a private instance: nothing from /etc/dovecot; state and
                # login users the Debian package created
                f.write("state_dir = %s\n" % os.path.join(self.dir, "state"))
                f.write("ssl_dh = <%s\n" % os.path.join(os.path.dirname(cert),
                                                        "dh.pem"))
                os.makedirs(os.path.join(self.dir, "state"))
            else:
                f.write("default_login_user = nobody\n"
                        "default_internal_user = nobody\n")
            if name == "loft" and IMAP_CLIENT_LIMIT > 1:
                limit = "  client_limit = %d\n" % IMAP_CLIENT_LIMIT
                note = ("a process serves up to %d connections of one "
                        "user (never two users)" % IMAP_CLIENT_LIMIT)
            else:
                limit = ""
                note = "one process per connection, as Dovecot"
            f.write(SERVICES.format(procs=IDLE_CONNS + 500,
                                    imap_client_limit=limit,
                                    imap_client_limit_note=note,
                                    **self.ports))
            if name == "dovecot":
                f.write(DOVECOT_EXTRA.format(procs=IDLE_CONNS + 500))

    def populate(self, uid, gid, root):
        # hard links to one pristine copy: both servers only ever rename
        # or unlink message files, never rewrite them
        pristine = os.path.join(os.path.dirname(self.dir), "pristine")
        files = sorted(os.listdir(SA_DIR))
        if not wanted("big100k"):
            files = files[:max(IMAP_MSGS, POP_MSGS)]
        if not os.path.isdir(pristine):
            os.makedirs(pristine)
            for fn in files:
                dst = os.path.join(pristine, fn)
                shutil.copy(os.path.join(SA_DIR, fn), dst)
                if root:
                    os.chown(dst, uid, gid)
        for user in user_names():
            md = os.path.join(self.dir, "home", user, "Maildir")
            for sub in ("cur", "new", "tmp"):
                os.makedirs(os.path.join(md, sub))
            if user.startswith("big"):
                # BIG_MSGS links to the corpus, round-robin, unique names
                cur = os.path.join(md, "cur")
                for i in range(BIG_MSGS):
                    fn = files[i % len(files)]
                    os.link(os.path.join(pristine, fn), os.path.join(
                        cur, "%d.big%d.bench:2,%s" % (
                            1100000000 + i, i, fn.split(":2,", 1)[-1]
                            if ":2," in fn else "")))
                continue
            n = IMAP_MSGS if user.startswith("user") else \
                POP_MSGS if user.startswith("pop") else \
                IDLE_MSGS if user.startswith("idle") else 0
            for fn in files[:n]:
                os.link(os.path.join(pristine, fn), os.path.join(md, "cur", fn))
        if root:
            for d, dirs, fns in os.walk(os.path.join(self.dir, "home")):
                os.chown(d, uid, gid)

    def start(self):
        if self.name == "loft":
            cmd = [os.path.join(BUILD, "src", "master", "loft"), "-F",
                   "-c", self.conf]
        else:
            cmd = ["/usr/sbin/dovecot", "-F", "-c", self.conf]
        self.proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL,
                                     stderr=open(self.log + ".stderr", "w"),
                                     start_new_session=True)
        deadline = time.time() + 20
        while True:
            if self.proc.poll() is not None:
                raise RuntimeError("%s exited:\n%s\n%s" % (
                    self.name, open(self.log + ".stderr").read(), self.tail()))
            try:
                with socket.create_connection(("127.0.0.1", self.ports["imap"]),
                                              timeout=1) as s:
                    s.settimeout(5)
                    if s.recv(100).startswith(b"* OK"):
                        break
            except OSError:
                pass
            if time.time() > deadline:
                raise RuntimeError("%s not answering\n%s" % (self.name,
                                                             self.tail()))
            time.sleep(0.1)
        time.sleep(1)   # let process_min_avail processes come up

    def stop(self):
        if self.proc is None:
            return
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                pass
        try:
            os.killpg(self.proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        self.proc.wait()
        self.proc = None

    def tail(self):
        try:
            with open(self.log, errors="replace") as f:
                return "".join(f.readlines()[-20:])
        except FileNotFoundError:
            return ""


def loadgen(server, args, label):
    cmd = [LOADGEN, "-P", str(server.proc.pid), "-l", label,
           "-w", PASSWORD] + args
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=900)
    sys.stderr.write("  " + r.stderr.replace("\n", "\n  ").rstrip() + "\n")
    if r.returncode != 0:
        raise RuntimeError("loadgen failed: %s" % r.stderr)
    return json.loads(r.stdout)


IMAP_METRICS = [("ops/s", "ops_per_s", "higher"), ("p50 ms", "p50_ms", "lower"),
                ("p99 ms", "p99_ms", "lower"),
                ("server CPU ms/op", "server_cpu_ms_per_op", "lower")]
POP3_METRICS = [("MB/s", "mb_per_s", "higher"),
                ("RETR p50 ms", "p50_ms", "lower"),
                ("server CPU ms/RETR", "server_cpu_ms_per_op", "lower")]


def scenarios():
    """[(name, description, function(server, run) -> loadgen args, or a
    Runner, [(metric, json key, better)])]"""
    sa = SA_DIR
    short = str(max(SECS // 2, 5))
    return [
        ("imap20", "IMAP mixed workload, 20 clients, plaintext",
         lambda s, run: ["-m", "imap", "-p", str(s.ports["imap"]), "-c", "20",
                         "-u", "user", "-U", "20", "-C", sa,
                         "-t", str(SECS), "-r", str(run)],
         IMAP_METRICS),
        ("imap200", "IMAP mixed workload, 200 clients (users 1-200), "
         "plaintext",
         lambda s, run: ["-m", "imap", "-p", str(s.ports["imap"]),
                         "-c", "200", "-u", "user", "-U", str(IMAP_USERS),
                         "-C", sa, "-t", short, "-r", str(run)],
         IMAP_METRICS),
        ("imaps20", "IMAP mixed workload, 20 clients, implicit TLS (imaps)",
         lambda s, run: ["-m", "imap", "-s", "-p", str(s.ports["imaps"]),
                         "-c", "20", "-u", "user", "-U", "20", "-C", sa,
                         "-t", short, "-r", str(run)],
         IMAP_METRICS),
        ("lmtp", "LMTP delivery of the spamassassin corpus%s, 4 connections,"
         " mail_fsync=optimized, at most %d s a run" % (
             " (2000-message subset)" if QUICK else "", LMTP_MAX_SECS),
         lambda s, run: ["-m", "lmtp", "-p", str(s.ports["lmtp"]), "-c", "4",
                         "-u", "lmtp%d_" % run, "-U", str(LMTP_USERS),
                         "-C", sa, "-n", str(LMTP_MSGS),
                         "-t", str(LMTP_MAX_SECS)],
         [("msgs/s", "ops_per_s", "higher"), ("p50 ms", "p50_ms", "lower"),
          ("server CPU ms/msg", "server_cpu_ms_per_op", "lower")]),
        ("tls", "IMAPS full TLS handshake + LOGIN + LOGOUT, 16 clients",
         lambda s, run: ["-m", "tls", "-p", str(s.ports["imaps"]), "-c", "16",
                         "-u", "user", "-U", "20", "-t", short],
         [("sessions/s", "ops_per_s", "higher"), ("p50 ms", "p50_ms", "lower"),
          ("server CPU ms/session", "server_cpu_ms_per_op", "lower"),
          ("loadgen CPU ms/session", "loadgen_cpu_ms_per_op", "lower")]),
        ("tlshs", "IMAPS full TLS handshake only (then close), 16 clients; "
         "also openssl s_server with the same certificate",
         lambda s, run: ["-m", "hs", "-p", str(s.ports["imaps"]), "-c", "16",
                         "-t", short],
         [("handshakes/s", "ops_per_s", "higher"),
          ("p50 ms", "p50_ms", "lower"),
          ("server CPU ms/handshake", "server_cpu_ms_per_op", "lower"),
          ("loadgen CPU ms/handshake", "loadgen_cpu_ms_per_op", "lower")]),
        ("pop3", "POP3 RETR of whole 1000-message mailboxes, 4 clients",
         lambda s, run: ["-m", "pop3", "-p", str(s.ports["pop3"]), "-c", "4",
                         "-u", "pop", "-U", str(POP_USERS), "-t", short],
         POP3_METRICS),
        ("pop3s", "POP3 RETR of whole 1000-message mailboxes, 4 clients, "
         "implicit TLS (pop3s)",
         lambda s, run: ["-m", "pop3", "-s", "-p", str(s.ports["pop3s"]),
                         "-c", "4", "-u", "pop", "-U", str(POP_USERS),
                         "-t", short],
         POP3_METRICS),
        ("idle10k", "%d idle IMAP connections (%d users x %d, LOGIN + "
         "SELECT INBOX of %d messages, then nothing), plaintext: server "
         "memory per connection; NOOP on every one at the end" % (
             IDLE_CONNS, IDLE_USERS, IDLE_PER_USER, IDLE_MSGS),
         lambda s, run: ["-m", "idle", "-p", str(s.ports["imap"]),
                         "-c", str(IDLE_CONNS), "-u", "idle",
                         "-U", str(IDLE_USERS), "-R", "100", "-S", "3",
                         "-t", "600"],
         [("Pss kB/conn", "pss_kb_per_conn", "lower"),
          ("Rss kB/conn", "rss_kb_per_conn", "lower"),
          ("conns up", "up", "higher"),
          ("dropped", "dropped", "lower"),
          ("setup logins/s", "logins_per_s", "higher"),
          ("server CPU ms/conn", "server_cpu_ms_per_conn", "lower")]),
        ("big100k", "one %d-message INBOX (the corpus hard-linked over and "
         "over), one client: cold index build (first SELECT with no index), "
         "then SELECT, FETCH 1:* (UID FLAGS), SEARCH FROM/SUBJECT (twice) "
         "/BODY" %
         BIG_MSGS, BigMailbox(),
         [("cold SELECT s", "cold_select_s", "lower"),
          ("SELECT s", "select_s", "lower"),
          ("FETCH 1:* (UID FLAGS) s", "fetch_s", "lower"),
          ("SEARCH FROM s", "search_from_s", "lower"),
          ("SEARCH FROM again s", "search_from_again_s", "lower"),
          ("SEARCH SUBJECT s", "search_subject_s", "lower"),
          ("SEARCH SUBJECT again s", "search_subject_again_s", "lower"),
          ("SEARCH BODY s", "search_body_s", "lower"),
          ("server CPU s cold SELECT", "cold_cpu_s", "lower"),
          ("server CPU s warm cmds", "server_cpu_s", "lower")]),
    ]


def proc_tree(root):
    """pids of root and all its descendants"""
    kids = {}
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open("/proc/%s/stat" % d) as f:
                st = f.read()
        except OSError:
            continue
        ppid = int(st[st.rindex(")") + 2:].split()[1])
        kids.setdefault(ppid, []).append(int(d))
    out, todo = [], [root]
    while todo:
        pid = todo.pop()
        out.append(pid)
        todo.extend(kids.get(pid, []))
    return out


def tree_cpu(root):
    """CPU seconds of root's tree, incl. reaped children (as loadgen)"""
    tck = os.sysconf("SC_CLK_TCK")
    total = 0
    for pid in proc_tree(root):
        try:
            with open("/proc/%d/stat" % pid) as f:
                st = f.read()
        except OSError:
            continue
        v = st[st.rindex(")") + 2:].split()
        total += sum(int(x) for x in v[11:15])
    return total / tck


def wait_tree_shrinks(server, limit, timeout=120):
    """after idle10k: wait until the server's process tree is back to at
    most limit processes, so the next run starts from a quiet server"""
    deadline = time.time() + timeout
    while time.time() < deadline:
        n = len(proc_tree(server.proc.pid))
        if n <= limit:
            return
        time.sleep(0.5)
    sys.stderr.write("  %s: still %d processes after %d s\n" % (
        server.name, len(proc_tree(server.proc.pid)), timeout))


class ImapClient:
    """a minimal blocking IMAP client for big100k"""

    def __init__(self, port):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=900)
        self.buf = bytearray()
        self.pos = 0        # start of the unread part of buf
        self.tag = 0
        greeting = self.readline()
        if not greeting.startswith(b"* OK"):
            raise RuntimeError("greeting: %r" % greeting)

    def fill(self):
        if self.pos > (1 << 20):
            del self.buf[:self.pos]
            self.pos = 0
        data = self.sock.recv(1 << 20)
        if not data:
            raise RuntimeError("connection closed")
        self.buf += data

    def readline(self):
        while True:
            end = self.buf.find(b"\r\n", self.pos)
            if end >= 0:
                line = bytes(self.buf[self.pos:end])
                self.pos = end + 2
                return line
            self.fill()

    def read_exact(self, n):
        while len(self.buf) - self.pos < n:
            self.fill()
        out = bytes(self.buf[self.pos:self.pos + n])
        self.pos += n
        return out

    def command(self, cmd):
        """-> (untagged lines, tagged line); literals are skipped"""
        self.tag += 1
        tag = b"b%d" % self.tag
        self.sock.sendall(tag + b" " + cmd.encode() + b"\r\n")
        untagged = []
        while True:
            line = self.readline()
            m = re.search(rb"\{(\d+)\}$", line)
            if m:
                self.read_exact(int(m.group(1)))
            if line.startswith(tag + b" "):
                if not line[len(tag) + 1:].startswith(b"OK"):
                    raise RuntimeError("%s: %r" % (cmd, line))
                return untagged, line
            untagged.append(line)

    def command_count(self, cmd, needle):
        """send cmd, read its whole reply as bytes (no per-line work, so
        that this client is not what is timed) -> count of needle"""
        self.tag += 1
        tag = b"\r\nb%d " % self.tag
        self.sock.sendall(tag[2:] + cmd.encode() + b"\r\n")
        while True:
            end = self.buf.find(tag, max(self.pos, len(self.buf) - (1 << 20)
                                         - len(tag)))
            if end >= 0 and self.buf.find(b"\r\n", end + 2) >= 0:
                break
            data = self.sock.recv(1 << 20)
            if not data:
                raise RuntimeError("connection closed")
            self.buf += data
        n = self.buf.count(needle, self.pos, end)
        eol = self.buf.find(b"\r\n", end + 2)
        status = bytes(self.buf[end + len(tag):eol])
        self.pos = eol + 2
        if not status.startswith(b"OK"):
            raise RuntimeError("%s: %r" % (cmd, status))
        return n

    def close(self):
        self.sock.close()


class BigMailbox:
    """big100k: times single commands on user big1's huge INBOX"""

    # FROM and SUBJECT run twice in a row: the second sees Dovecot's
    # header cache, which the first one filled
    SEARCHES = [("search_from", 'SEARCH FROM "yahoo"'),
                ("search_from_again", 'SEARCH FROM "yahoo"'),
                ("search_subject", 'SEARCH SUBJECT "money"'),
                ("search_subject_again", 'SEARCH SUBJECT "money"'),
                ("search_body", 'SEARCH BODY "unsubscribe"')]

    def run(self, server, run):
        pid = server.proc.pid
        res = {"errors": 0}
        cpu0 = tree_cpu(pid)
        self.cold(server, res)
        res["cold_cpu_s"] = tree_cpu(pid) - cpu0
        cpu0 = tree_cpu(pid)
        c = ImapClient(server.ports["imap"])
        c.command("LOGIN big1 %s" % PASSWORD)
        t = time.monotonic()
        c.command("SELECT INBOX")
        res["select_s"] = time.monotonic() - t
        t, u = time.monotonic(), time.process_time()
        res["fetch_lines"] = c.command_count("FETCH 1:* (UID FLAGS)",
                                             b" FETCH (")
        res["fetch_s"] = time.monotonic() - t
        # this client's own CPU for reading the 100k lines
        res["fetch_client_cpu_s"] = time.process_time() - u
        if res["fetch_lines"] != BIG_MSGS:
            res["errors"] += 1
            sys.stderr.write("  %s: FETCH 1:*: %d replies, want %d\n" % (
                server.name, res["fetch_lines"], BIG_MSGS))
        for key, cmd in self.SEARCHES:
            t = time.monotonic()
            untagged, _ = c.command(cmd)
            res[key + "_s"] = time.monotonic() - t
            hits = sum(len(l.split()) - 2 for l in untagged
                       if l.startswith(b"* SEARCH"))
            res[key + "_hits"] = hits
        c.command("LOGOUT")
        c.close()
        res["server_cpu_s"] = tree_cpu(pid) - cpu0
        sys.stderr.write("  %s run %d big: cold SELECT %.2f s, SELECT %.2f s, "
                         "FETCH %.2f s (client cpu %.2f s), SEARCH from "
                         "%.2f/%.2f s (%d hits), subject %.2f/%.2f s (%d), "
                         "body %.2f s (%d), server cpu %.1f s + %.1f s\n"
                         % (server.name, run, res["cold_select_s"],
                            res["select_s"], res["fetch_s"],
                            res["fetch_client_cpu_s"],
                            res["search_from_s"], res["search_from_again_s"],
                            res["search_from_hits"],
                            res["search_subject_s"],
                            res["search_subject_again_s"],
                            res["search_subject_hits"],
                            res["search_body_s"], res["search_body_hits"],
                            res["cold_cpu_s"], res["server_cpu_s"]))
        return res

    def cold(self, server, res):
        """the first SELECT with no index of any kind: both keep theirs
        (dovecot-uidlist, dovecot.index*, loft.index.sqlite*) at the
        Maildir's top, which the setup leaves empty"""
        md = os.path.join(server.dir, "home", "big1", "Maildir")
        for fn in os.listdir(md):
            if fn.startswith("dovecot") or fn.startswith("loft"):
                os.unlink(os.path.join(md, fn))
        c = ImapClient(server.ports["imap"])
        c.command("LOGIN big1 %s" % PASSWORD)
        t = time.monotonic()
        untagged, _ = c.command("SELECT INBOX")
        res["cold_select_s"] = time.monotonic() - t
        exists = [int(l.split()[1]) for l in untagged
                  if l.endswith(b" EXISTS")]
        res["exists"] = exists[-1] if exists else 0
        if res["exists"] != BIG_MSGS:
            res["errors"] += 1
            sys.stderr.write("  %s: cold SELECT: %d EXISTS, want %d\n" % (
                server.name, res["exists"], BIG_MSGS))
        c.command("LOGOUT")
        c.close()


class OpensslServer:
    """`openssl s_server -www` with the benchmark's certificate: the
    ceiling for tlshs (one process, one core)"""

    def __init__(self, cert, key):
        self.name = "openssl"
        self.cert, self.key = cert, key
        self.ports = {"imaps": free_port()}
        self.proc = None

    def start(self):
        self.proc = subprocess.Popen(
            ["openssl", "s_server", "-accept", str(self.ports["imaps"]),
             "-cert", self.cert, "-key", self.key, "-www", "-quiet"],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL, start_new_session=True)
        deadline = time.time() + 10
        while time.time() < deadline:
            try:
                socket.create_connection(("127.0.0.1", self.ports["imaps"]),
                                         timeout=1).close()
                return
            except OSError:
                time.sleep(0.1)
        raise RuntimeError("openssl s_server not listening")

    def stop(self):
        if self.proc is not None:
            self.proc.terminate()
            self.proc.wait()
            self.proc = None


def openssl_reference(cert, key):
    """s_time -new against s_server (1 pair, and 2 pairs in parallel, one
    per core), and openssl speed for ECDSA P-256 and X25519"""
    secs = max(SECS // 4, 3)
    out = {"s_time_secs": secs}
    for pairs in (1, 2):
        srvs = [OpensslServer(cert, key) for _ in range(pairs)]
        for s in srvs:
            s.start()
        t = time.monotonic()
        procs = [subprocess.Popen(
            ["openssl", "s_time", "-connect",
             "127.0.0.1:%d" % s.ports["imaps"], "-new", "-time", str(secs)],
            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
            for s in srvs]
        total = 0
        for p in procs:
            o = p.communicate()[0]
            m = re.search(r"(\d+) connections in [\d.]+s", o)
            total += int(m.group(1)) if m else 0
        wall = time.monotonic() - t
        for s in srvs:
            s.stop()
        out["s_time_%d_handshakes_per_s" % pairs] = total / wall
        sys.stderr.write("  openssl s_time -new x%d: %d handshakes in %.1f s "
                         "= %.0f/s\n" % (pairs, total, wall, total / wall))
    o = subprocess.run(["openssl", "speed", "-seconds", "2", "ecdsap256",
                        "ecdhx25519"], capture_output=True, text=True).stdout
    m = re.search(r"ecdsa \(nistp256\)\s+\S+\s+\S+\s+([\d.]+)\s+([\d.]+)", o)
    x = re.search(r"ecdh \(X25519\)\s+\S+\s+([\d.]+)", o)
    if m and x:
        sign, verify, ecdh = float(m.group(1)), float(m.group(2)), \
            float(x.group(1))
        out.update(ecdsap256_sign_per_s=sign, ecdsap256_verify_per_s=verify,
                   x25519_per_s=ecdh)
        # a TLS 1.3 server's full handshake: one ECDSA signature, one
        # X25519 key generation and one X25519 derivation
        out["speed_server_handshakes_per_cpu_s"] = \
            1 / (1 / sign + 2 / ecdh)
        sys.stderr.write("  openssl speed: ECDSA P-256 sign %.0f/s verify "
                         "%.0f/s, X25519 %.0f/s -> at most %.0f server "
                         "handshakes per CPU-second\n" % (
                             sign, verify, ecdh,
                             out["speed_server_handshakes_per_cpu_s"]))
    return out


def main():
    top = tempfile.mkdtemp(prefix="loft-bench-")
    os.chmod(top, 0o755)
    # fds for 10k connections in the load generator and in the servers
    # (their children inherit the limit)
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    want = NOFILE if os.geteuid() == 0 else hard
    try:
        resource.setrlimit(resource.RLIMIT_NOFILE, (want, max(want, hard)))
    except (ValueError, OSError):
        pass
    sys.stderr.write("setup in %s (RLIMIT_NOFILE %d)\n" % (
        top, resource.getrlimit(resource.RLIMIT_NOFILE)[0]))
    certdir = os.path.join(top, "cert")
    os.makedirs(certdir)
    cert, key = os.path.join(certdir, "cert.pem"), os.path.join(certdir, "key.pem")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                    "ec_paramgen_curve:prime256v1", "-nodes", "-days", "30",
                    "-subj", "/CN=localhost", "-keyout", key, "-out", cert],
                   check=True, capture_output=True)
    # Dovecot 2.3 wants ssl_dh; it is only used for DHE suites, which an
    # ECDSA key with TLS 1.3 clients does not negotiate
    subprocess.run(["openssl", "dhparam", "-dsaparam", "-out",
                    os.path.join(certdir, "dh.pem"), "2048"],
                   check=True, capture_output=True)
    os.chmod(key, 0o644)
    h = sha512_crypt(PASSWORD)
    hashes = {u: h for u in user_names()}
    servers = [Server("loft", top, hashes, cert, key),
               Server("dovecot", top, hashes, cert, key)]
    results = {"date": datetime.datetime.now().isoformat(timespec="seconds"),
               "host": {"cpus": os.cpu_count(), "kernel": platform.release()},
               "loft_commit": subprocess.run(
                   ["git", "-C", ROOT, "rev-parse", "--short", "HEAD"],
                   capture_output=True, text=True).stdout.strip(),
               "dovecot_version": subprocess.run(
                   ["/usr/sbin/dovecot", "--version"], capture_output=True,
                   text=True).stdout.strip(),
               "quick": bool(QUICK), "secs": SECS, "runs": RUNS,
               "loft_imap_client_limit": IMAP_CLIENT_LIMIT,
               "scenarios": {}}
    try:
        for s in servers:
            s.start()
        # warm-up: both build their indexes of the IMAP and POP3 mailboxes
        # (every user's INBOX selected once)
        sys.stderr.write("warm-up\n")
        for s in servers:
            loadgen(s, ["-m", "imap", "-p", str(s.ports["imap"]), "-c", "20",
                        "-u", "user", "-U", "20", "-C", SA_DIR,
                        "-t", "3"], s.name + " warm-up")
            # one LOGIN + SELECT per user, at most 100 at once (loft's
            # auth answers "Too many pending requests" to more than 128
            # pending logins per login process)
            if wanted("imap200"):
                loadgen(s, ["-m", "idle", "-p", str(s.ports["imap"]),
                            "-c", str(IMAP_USERS), "-u", "user",
                            "-U", str(IMAP_USERS), "-R", "100", "-S", "0",
                            "-t", "120"], s.name + " warm-up")
            if wanted("idle10k"):
                loadgen(s, ["-m", "idle", "-p", str(s.ports["imap"]),
                            "-c", str(IDLE_USERS), "-u", "idle",
                            "-U", str(IDLE_USERS), "-R", "100", "-S", "0",
                            "-t", "300"], s.name + " warm-up")
            loadgen(s, ["-m", "pop3", "-p", str(s.ports["pop3"]), "-c", "4",
                        "-u", "pop", "-U", str(POP_USERS), "-t", "2"],
                    s.name + " warm-up")
        for name, desc, args, metrics in scenarios():
            if not wanted(name):
                continue
            t_scen = time.monotonic()
            sys.stderr.write("%s: %s\n" % (name, desc))
            extra = []
            if name == "tlshs":
                extra = [OpensslServer(cert, key)]
                extra[0].start()
            raw = {srv.name: [] for srv in servers + extra}
            try:
                for run in range(1, (IDLE_RUNS if name == "idle10k"
                                     else RUNS) + 1):
                    order = servers + extra if run % 2 == 1 else \
                        servers[::-1] + extra
                    for s in order:
                        for other in servers:
                            if other.proc is not None and \
                                    other.proc.poll() is not None:
                                raise RuntimeError("%s died:\n%s" % (
                                    other.name, other.tail()))
                        if isinstance(args, BigMailbox):
                            r = args.run(s, run)
                        else:
                            before = len(proc_tree(s.proc.pid))
                            r = loadgen(s, args(s, run),
                                        "%s run %d" % (s.name, run))
                            if name == "idle10k":
                                r["server_cpu_ms_per_conn"] = \
                                    r["server_cpu_s"] * 1000 / max(r["up"], 1)
                                wait_tree_shrinks(s, before + 5)
                        raw[s.name].append(r)
            except Exception as e:   # report, keep going with the others
                sys.stderr.write("%s FAILED: %s\n" % (name, e))
                results["scenarios"][name] = {"description": desc,
                                              "failed": str(e), "runs": raw}
                for s in servers:
                    if s.proc is None or s.proc.poll() is not None:
                        s.stop()
                        s.start()
                continue
            finally:
                for x in extra:
                    x.stop()
            med = {}
            for srv in raw:
                # (big100k's cold SELECT is in run 1 only)
                med[srv] = {key: statistics.median(r[key] for r in raw[srv]
                                                   if key in r)
                            for _, key, _ in metrics
                            if any(key in r for r in raw[srv])}
                med[srv]["errors"] = sum(r["errors"] for r in raw[srv])
            results["scenarios"][name] = {
                "description": desc,
                "metrics": [{"name": m, "key": k, "better": b}
                            for m, k, b in metrics],
                "median": med, "runs": raw,
                "wall_s": round(time.monotonic() - t_scen, 1)}
            if name == "tlshs":
                results["scenarios"][name]["openssl_reference"] = \
                    openssl_reference(cert, key)
            sys.stderr.write("%s took %.0f s\n" % (
                name, time.monotonic() - t_scen))
    finally:
        for s in servers:
            s.stop()
        # errors at the end of a timed run are expected (clients are
        # dropped mid-command); fatals and panics are not
        for s in servers:
            lines = open(s.log, errors="replace").readlines() \
                if os.path.exists(s.log) else []
            errs = [l for l in lines if " Error: " in l or " error: " in l]
            bad = [l for l in lines if " Fatal: " in l or " Panic: " in l
                   or " fatal: " in l or " panic: " in l]
            sys.stderr.write("%s log: %d error lines, %d fatal/panic\n" %
                             (s.name, len(errs), len(bad)))
            for l in (bad + errs)[:5]:
                sys.stderr.write("  " + l)
        if os.environ.get("KEEP"):
            sys.stderr.write("kept %s\n" % top)
        else:
            shutil.rmtree(top, ignore_errors=True)

    # the table
    print()
    print("loft %s vs %s, %d CPUs, median of %d runs%s" % (
        results["loft_commit"], results["dovecot_version"] and
        "Dovecot " + results["dovecot_version"], os.cpu_count(), RUNS,
        " (quick: SECS=%s)" % QUICK if QUICK else ""))
    fmt = "%-10s %-26s %12s %12s %12s"
    print(fmt % ("scenario", "metric", "loft", "dovecot", "loft/dovecot"))
    for name, sc in results["scenarios"].items():
        if "failed" in sc:
            print(fmt % (name, "FAILED", "", "", "") + "  " +
                  sc["failed"].splitlines()[0][:80])
            continue
        for m in sc["metrics"]:
            lv = sc["median"]["loft"].get(m["key"], float("nan"))
            dv = sc["median"]["dovecot"].get(m["key"], float("nan"))
            ratio = lv / dv if dv else float("nan")
            print(fmt % (name, m["name"] + (" ↑" if m["better"] == "higher"
                                            else " ↓"),
                         "%.2f" % lv, "%.2f" % dv, "%.2f" % ratio))
        print(fmt % (name, "errors (all runs)", sc["median"]["loft"]["errors"],
                     sc["median"]["dovecot"]["errors"], ""))
    sc = results["scenarios"].get("big100k")
    if sc and "failed" not in sc:
        # the same mailbox: both should find the same messages
        for key, cmd in BigMailbox.SEARCHES:
            hits = {srv: [r.get(key + "_hits") for r in sc["runs"][srv]]
                    for srv in ("loft", "dovecot")}
            if hits["loft"] != hits["dovecot"]:
                print("big100k: %s: loft found %s, Dovecot %s messages" % (
                    cmd, hits["loft"], hits["dovecot"]))
    sc = results["scenarios"].get("tlshs")
    if sc and "failed" not in sc:
        ref = sc["openssl_reference"]
        lo, op = sc["median"]["loft"], sc["median"]["openssl"]
        print("\nTLS handshakes vs openssl (same ECDSA P-256 certificate, "
              "TLS 1.3, X25519):")
        print("  loadgen 16 clients: loft %.0f/s, openssl s_server (one "
              "process) %.0f/s" % (lo["ops_per_s"], op["ops_per_s"]))
        print("  server CPU ms/handshake: loft %.3f, openssl s_server %.3f "
              "-> loft per core = %.2f of s_server" % (
                  lo["server_cpu_ms_per_op"], op["server_cpu_ms_per_op"],
                  op["server_cpu_ms_per_op"] / lo["server_cpu_ms_per_op"]
                  if lo["server_cpu_ms_per_op"] else float("nan")))
        for pairs in (1, 2):
            k = "s_time_%d_handshakes_per_s" % pairs
            print("  openssl s_time -new x%d (vs %d s_server): %.0f/s -> "
                  "loft = %.2f of it" % (pairs, pairs, ref[k],
                                         lo["ops_per_s"] / ref[k]
                                         if ref[k] else float("nan")))
        if "speed_server_handshakes_per_cpu_s" in ref:
            print("  openssl speed (sign + 2 X25519 per handshake): %.0f "
                  "handshakes per CPU-second; loft %.0f" % (
                      ref["speed_server_handshakes_per_cpu_s"],
                      1000 / lo["server_cpu_ms_per_op"]
                      if lo["server_cpu_ms_per_op"] else float("nan")))
    outdir = os.path.join(HERE, "results")
    os.makedirs(outdir, exist_ok=True)
    out = os.path.join(outdir, (os.environ.get("RESULTS_NAME") or (
        datetime.date.today().isoformat() + ("-quick" if QUICK else ""))) +
        ".json")
    with open(out, "w") as f:
        json.dump(results, f, indent=1)
        f.write("\n")
    print("\nwrote %s" % os.path.relpath(out, ROOT))


if __name__ == "__main__":
    main()
