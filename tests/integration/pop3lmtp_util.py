"""Start loft-pop3, loft-lmtp and loft-auth by hand (no master) for the
test_pop3_* and test_lmtp_* integration tests.

loft-pop3 gets the client end of a socketpair as stdin/stdout and the
session in LOFT_* variables, as the master would pass them. loft-lmtp gets
listening sockets through LOFT_LISTENERS (fds passed with pass_fds) and
does its userdb lookups against a real loft-auth started by hand on the
same config. When the tests run as root, mail processes run as "nobody"
the way the master would start them."""
import os
import poplib
import pwd
import shutil
import signal
import socket
import subprocess
import tempfile
import time

from loftserver import binary, make_cert, sha512_crypt, CORPUS  # noqa: F401

ROOT = os.geteuid() == 0


def mail_ids():
    if ROOT:
        pw = pwd.getpwnam("nobody")
        return pw.pw_uid, pw.pw_gid
    return os.getuid(), os.getgid()


def drop_privileges():
    """preexec_fn: become the mail user when running as root."""
    if ROOT:
        uid, gid = mail_ids()
        os.setgroups([gid])
        os.setgid(gid)
        os.setuid(uid)


class Env:
    """A temp dir with a config, a passwd-file and homes."""

    def __init__(self, users=("alice@example.com", "bob@example.com"),
                 extra_config="", ssl=True, user_ids=None):
        self.dir = tempfile.mkdtemp(prefix="loft-pop3lmtp-")
        os.chmod(self.dir, 0o755)
        self.base_dir = os.path.join(self.dir, "base")
        self.procs = []
        uid, gid = mail_ids()
        self.cert, self.key = make_cert(self.dir)
        lines = []
        for user in users:
            home = self.home(user)
            os.makedirs(home)
            if ROOT:
                os.chown(home, uid, gid)
            u, g = (user_ids or {}).get(user, (uid, gid))
            lines.append("%s:%s:%d:%d::%s::" % (user, sha512_crypt("pw"),
                                                u, g, home))
        self.passwd = os.path.join(self.dir, "users")
        with open(self.passwd, "w") as f:
            f.write("\n".join(lines) + "\n")
        os.chmod(self.passwd, 0o644)
        self.config = os.path.join(self.dir, "loft.conf")
        ssl_lines = ("ssl = yes\nssl_cert = <%s\nssl_key = <%s" %
                     (self.cert, self.key)) if ssl else "ssl = no"
        with open(self.config, "w") as f:
            f.write(f"""protocols = pop3 lmtp
listen = 127.0.0.1
base_dir = {self.base_dir}
{ssl_lines}
first_valid_uid = 1
mail_location = maildir:~/Maildir
passdb {{
  driver = passwd-file
  args = {self.passwd}
}}
userdb {{
  driver = passwd-file
  args = {self.passwd}
}}
{extra_config}
""")

    def home(self, user):
        return os.path.join(self.dir, "home", user)

    def maildir(self, user):
        return os.path.join(self.home(user), "Maildir")

    def log_file(self, name):
        return os.path.join(self.dir, name + ".log")

    def read_log(self, name):
        try:
            with open(self.log_file(name), errors="replace") as f:
                return f.read()
        except FileNotFoundError:
            return ""

    def wait_log(self, name, text, timeout=5):
        deadline = time.time() + timeout
        while time.time() < deadline:
            if text in self.read_log(name):
                return True
            time.sleep(0.05)
        return False

    def put_message(self, user, name, data, subdir="cur", flags=""):
        """Place a message file directly into the user's Maildir."""
        md = self.maildir(user)
        for d in ("cur", "new", "tmp"):
            os.makedirs(os.path.join(md, d), exist_ok=True)
        suffix = ":2," + flags if subdir == "cur" else ""
        path = os.path.join(md, subdir, name + suffix)
        with open(path, "wb") as f:
            f.write(data)
        if ROOT:
            uid, gid = mail_ids()
            for root, dirs, files in os.walk(self.home(user)):
                for x in dirs + files:
                    os.chown(os.path.join(root, x), uid, gid)
            os.chown(self.home(user), uid, gid)
        return path

    def start_auth(self, timeout=10):
        log = open(self.log_file("auth"), "ab")
        proc = subprocess.Popen([binary("loft-auth"), "-c", self.config],
                                stdin=subprocess.DEVNULL, stdout=log,
                                stderr=log, start_new_session=True)
        log.close()
        self.procs.append(proc)
        sock = os.path.join(self.base_dir, "auth-userdb")
        deadline = time.time() + timeout
        while not os.path.exists(sock):
            if proc.poll() is not None or time.time() > deadline:
                raise RuntimeError("loft-auth didn't start:\n" +
                                   self.read_log("auth"))
            time.sleep(0.05)
        if ROOT:
            os.chmod(sock, 0o666)
        return proc

    def start_lmtp(self, timeout=10):
        """Start loft-lmtp on a TCP listener and a unix listener.
        Sets self.lmtp_port and self.lmtp_path, and self.lmtps_port for an
        implicit TLS listener."""
        tcp = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        tcp.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        tcp.bind(("127.0.0.1", 0))
        tcp.listen(64)
        self.lmtp_port = tcp.getsockname()[1]
        self.lmtp_path = os.path.join(self.dir, "lmtp")
        unix = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        unix.bind(self.lmtp_path)
        os.chmod(self.lmtp_path, 0o666)
        unix.listen(64)
        tls = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        tls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        tls.bind(("127.0.0.1", 0))
        tls.listen(64)
        self.lmtps_port = tls.getsockname()[1]
        fds = []
        for s in (tcp, unix, tls):
            fd = s.fileno()
            while fd < 5:
                fd = os.dup(fd)
            fds.append(fd)
        env = dict(os.environ)
        env["LOFT_LISTENERS"] = "lmtp:%d:,lmtp:%d:unix,lmtps:%d:ssl" % tuple(fds)
        log = open(self.log_file("lmtp"), "ab")
        proc = subprocess.Popen([binary("loft-lmtp"), "-c", self.config],
                                stdin=subprocess.DEVNULL, stdout=log,
                                stderr=log, env=env, pass_fds=fds,
                                start_new_session=True)
        log.close()
        for s in (tcp, unix, tls):
            s.close()
        self.procs.append(proc)
        deadline = time.time() + timeout
        while True:
            try:
                with socket.create_connection(("127.0.0.1", self.lmtp_port),
                                              timeout=2) as s:
                    if s.recv(100).startswith(b"220 "):
                        break
            except OSError:
                pass
            if proc.poll() is not None or time.time() > deadline:
                raise RuntimeError("loft-lmtp didn't start:\n" +
                                   self.read_log("lmtp"))
            time.sleep(0.05)
        return proc

    def pop3(self, user, extra_env=None, log_name="pop3"):
        """Start a loft-pop3 session; returns (socket, process)."""
        ours, theirs = socket.socketpair()
        env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"),
               "LOFT_USER": user, "LOFT_HOME": self.home(user),
               "LOFT_SESSION": "testsession"}
        for k in ("ASAN_OPTIONS", "UBSAN_OPTIONS", "LSAN_OPTIONS"):
            if k in os.environ:
                env[k] = os.environ[k]
        env.update(extra_env or {})
        log = open(self.log_file(log_name), "ab")
        proc = subprocess.Popen([binary("loft-pop3"), "-c", self.config],
                                stdin=theirs, stdout=theirs, stderr=log,
                                env=env, preexec_fn=drop_privileges)
        log.close()
        theirs.close()
        ours.settimeout(30)
        self.procs.append(proc)
        return ours, proc

    def poplib(self, user, **kw):
        sock, proc = self.pop3(user, **kw)
        return POP3Socket(sock), proc

    def sanitizer_errors(self):
        """ASan/LSan reports, and UBSan reports from this slice's code,
        in the logs of the processes started so far."""
        errors = []
        for name in os.listdir(self.dir):
            if not name.endswith(".log"):
                continue
            text = self.read_log(name[:-4])
            for line in text.splitlines():
                if ("ERROR: AddressSanitizer" in line or
                        "ERROR: LeakSanitizer" in line or
                        ("runtime error" in line and
                         any(m in line for m in ("src/pop3/", "src/lmtp/",
                                                 "src/lib-smtp/")))):
                    errors.append("%s: %s" % (name, line))
        return errors

    def stop(self):
        """Stop the processes (SIGTERM, so that LSan runs at exit)."""
        for proc in self.procs:
            if proc.poll() is None:
                try:
                    os.killpg(proc.pid, signal.SIGTERM)
                except (ProcessLookupError, PermissionError):
                    proc.terminate()
                try:
                    proc.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait()

    def cleanup(self):
        for proc in self.procs:
            if proc.poll() is None:
                try:
                    os.killpg(proc.pid, signal.SIGTERM)
                except (ProcessLookupError, PermissionError):
                    proc.terminate()
                try:
                    proc.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait()
        shutil.rmtree(self.dir, ignore_errors=True)


class POP3Socket(poplib.POP3):
    """poplib over an already connected socket."""

    def __init__(self, sock):
        self._presock = sock
        super().__init__("loft-pop3", 110, timeout=30)

    def _create_socket(self, timeout):
        return self._presock


def read_line(f):
    line = f.readline()
    if not line:
        raise EOFError("connection closed")
    return line


def wait_exit(proc, timeout=15):
    try:
        return proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
        raise


def strip_lmtp_headers(served):
    """Remove exactly the header lines loft-lmtp prepends (as Dovecot's
    lmtp): one Return-Path line, at most one Delivered-To line, then at
    most one Received header with its continuation lines. The message's
    own Return-Path/Delivered-To/Received headers (most SpamAssassin
    messages start with them) are kept."""
    out = served
    for name, folded in ((b"Return-Path:", False), (b"Delivered-To:", False),
                         (b"Received:", True)):
        if out[:len(name)].lower() != name.lower():
            continue
        end = out.find(b"\r\n")
        while folded and out[end + 2:end + 3] in (b" ", b"\t"):
            end = out.find(b"\r\n", end + 2)
        out = out[end + 2:]
    return out
