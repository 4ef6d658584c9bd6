#!/usr/bin/python3
"""`make bench`: loft beside a private Debian Dovecot, same workload.

Called by bench/run.sh with the loft build dir. Writes one temp dir per
server (same users, same Maildirs, same settings), starts both, runs each
scenario with bench/loft-loadgen alternating loft/Dovecot, 3 runs, and
prints medians and the loft/Dovecot ratio; the JSON goes to
bench/results/<date>.json.

Environment: SECS=N shortens every timed scenario to N seconds and LMTP to
a 2000-message subset (quick mode); RUNS=N (3); KEEP=1 keeps the temp dir.
"""
import datetime
import json
import os
import platform
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
IMAP_USERS = 20
IMAP_MSGS = 300      # messages per IMAP user's INBOX
POP_USERS = 4
POP_MSGS = 1000      # messages per POP3 user
LMTP_USERS = 4
LMTP_MSGS = 2000 if QUICK else 0   # 0 = the whole spamassassin corpus
# a run stops after this many seconds even if not every message is in
# (keeps `make bench` near 10 minutes when deliveries are slow)
LMTP_MAX_SECS = max(SECS * 2, 10) if QUICK else 60


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def sha512_crypt(password):
    out = subprocess.run(["openssl", "passwd", "-6", "-stdin"],
                         input=password.encode(), check=True,
                         capture_output=True).stdout.decode().strip()
    return "{SHA512-CRYPT}" + out


def user_names():
    names = ["user%d" % i for i in range(1, IMAP_USERS + 1)]
    names += ["pop%d" % i for i in range(1, POP_USERS + 1)]
    for run in range(1, RUNS + 2):
        names += ["lmtp%d_%d" % (run, i) for i in range(1, LMTP_USERS + 1)]
    return names


SERVICES = """
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
            f.write(SERVICES.format(**self.ports))

    def populate(self, uid, gid, root):
        # hard links to one pristine copy: both servers only ever rename
        # or unlink message files, never rewrite them
        pristine = os.path.join(os.path.dirname(self.dir), "pristine")
        files = sorted(os.listdir(SA_DIR))[:max(IMAP_MSGS, POP_MSGS)]
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
            n = IMAP_MSGS if user.startswith("user") else \
                POP_MSGS if user.startswith("pop") else 0
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


def scenarios():
    """name -> (description, function(server, run) -> loadgen args,
    [(metric, json key, unit, better)])"""
    sa = SA_DIR
    return [
        ("imap20", "IMAP mixed workload, 20 clients, plaintext",
         lambda s, run: ["-m", "imap", "-p", str(s.ports["imap"]), "-c", "20",
                         "-u", "user", "-U", str(IMAP_USERS), "-C", sa,
                         "-t", str(SECS), "-r", str(run)],
         [("ops/s", "ops_per_s", "higher"), ("p50 ms", "p50_ms", "lower"),
          ("p99 ms", "p99_ms", "lower"),
          ("server CPU ms/op", "server_cpu_ms_per_op", "lower")]),
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
                         "-u", "user", "-U", str(IMAP_USERS),
                         "-t", str(max(SECS // 2, 5))],
         [("sessions/s", "ops_per_s", "higher"), ("p50 ms", "p50_ms", "lower"),
          ("server CPU ms/session", "server_cpu_ms_per_op", "lower")]),
        ("pop3", "POP3 RETR of whole 1000-message mailboxes, 4 clients",
         lambda s, run: ["-m", "pop3", "-p", str(s.ports["pop3"]), "-c", "4",
                         "-u", "pop", "-U", str(POP_USERS),
                         "-t", str(max(SECS // 2, 5))],
         [("MB/s", "mb_per_s", "higher"), ("RETR p50 ms", "p50_ms", "lower"),
          ("server CPU ms/RETR", "server_cpu_ms_per_op", "lower")]),
    ]


def main():
    only = os.environ.get("SCENARIOS", "").split()
    top = tempfile.mkdtemp(prefix="loft-bench-")
    os.chmod(top, 0o755)
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
               "scenarios": {}}
    try:
        for s in servers:
            s.start()
        # warm-up: both build their indexes of the IMAP and POP3 mailboxes
        sys.stderr.write("warm-up\n")
        for s in servers:
            loadgen(s, ["-m", "imap", "-p", str(s.ports["imap"]), "-c", "20",
                        "-u", "user", "-U", str(IMAP_USERS), "-C", SA_DIR,
                        "-t", "3"], s.name + " warm-up")
            loadgen(s, ["-m", "pop3", "-p", str(s.ports["pop3"]), "-c", "4",
                        "-u", "pop", "-U", str(POP_USERS), "-t", "2"],
                    s.name + " warm-up")
        for name, desc, args, metrics in scenarios():
            if only and name not in only:
                continue
            sys.stderr.write("%s: %s\n" % (name, desc))
            raw = {"loft": [], "dovecot": []}
            for run in range(1, RUNS + 1):
                order = servers if run % 2 == 1 else servers[::-1]
                for s in order:
                    raw[s.name].append(loadgen(s, args(s, run),
                                               "%s run %d" % (s.name, run)))
            med = {}
            for srv in raw:
                med[srv] = {key: statistics.median(r[key] for r in raw[srv])
                            for _, key, _ in metrics}
                med[srv]["errors"] = sum(r["errors"] for r in raw[srv])
            results["scenarios"][name] = {
                "description": desc,
                "metrics": [{"name": m, "key": k, "better": b}
                            for m, k, b in metrics],
                "median": med, "runs": raw}
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
            for l in bad[:5]:
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
    fmt = "%-10s %-24s %12s %12s %12s"
    print(fmt % ("scenario", "metric", "loft", "dovecot", "loft/dovecot"))
    for name, sc in results["scenarios"].items():
        for m in sc["metrics"]:
            lv = sc["median"]["loft"][m["key"]]
            dv = sc["median"]["dovecot"][m["key"]]
            ratio = lv / dv if dv else float("nan")
            print(fmt % (name, m["name"] + (" ↑" if m["better"] == "higher"
                                            else " ↓"),
                         "%.2f" % lv, "%.2f" % dv, "%.2f" % ratio))
        print(fmt % (name, "errors (all runs)", sc["median"]["loft"]["errors"],
                     sc["median"]["dovecot"]["errors"], ""))
    outdir = os.path.join(HERE, "results")
    os.makedirs(outdir, exist_ok=True)
    out = os.path.join(outdir, datetime.date.today().isoformat() +
                       ("-quick" if QUICK else "") + ".json")
    with open(out, "w") as f:
        json.dump(results, f, indent=1)
        f.write("\n")
    print("\nwrote %s" % os.path.relpath(out, ROOT))


if __name__ == "__main__":
    main()
