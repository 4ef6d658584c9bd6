"""Helpers for the loft-imap tests: run the post-login IMAP process by
hand ("loft-imap -c CONFIG" with LOFT_USER/LOFT_HOME set) on one end of
a socketpair and talk to it with raw lines or with Python's imaplib.

(Named test_imap_* to live with the IMAP tests; it holds no tests.)
"""
import imaplib
import os
import select
import shutil
import socket
import subprocess
import tempfile
import time

BUILD = os.path.abspath(os.environ.get("LOFT_BUILD_DIR") or os.path.join(
    os.path.dirname(__file__), "..", "..", "build-test"))
LOFT_IMAP = os.path.join(BUILD, "src", "imap", "loft-imap")


class ImapHome:
    """A temporary user home with a config file; several sessions can
    be started on the same Maildir."""

    def __init__(self, extra_config=""):
        self.dir = tempfile.mkdtemp(prefix="loft-imap-test-")
        self.home = os.path.join(self.dir, "home")
        os.mkdir(self.home)
        self.conf = os.path.join(self.dir, "loft.conf")
        with open(self.conf, "w") as f:
            f.write("mail_location = maildir:~/Maildir\n" + extra_config)
        self.sessions = []

    def session(self, env=None, user="testuser"):
        s = ImapSession(self, env=env, user=user)
        self.sessions.append(s)
        return s

    def imaplib(self, env=None):
        s = self.session(env=env)
        return ImapLibPipe(s)

    @property
    def maildir(self):
        return os.path.join(self.home, "Maildir")

    def cleanup(self):
        """End every session by closing its connection (so that a leak
        check runs at exit), then check their logs."""
        logs = []
        for s in self.sessions:
            try:
                s.sock.close()
                s.proc.wait(10)
            except subprocess.TimeoutExpired:
                pass
            s.kill()
            logs.append(s.log_text())
        shutil.rmtree(self.dir, ignore_errors=True)
        for text in logs:
            assert_no_sanitizer_errors(text)


class ImapSession:
    """One loft-imap process with raw line access."""

    def __init__(self, home, env=None, user="testuser"):
        self.sock, child = socket.socketpair()
        self.log_path = os.path.join(home.dir, "imap-%d.log" % len(home.sessions))
        self.log = open(self.log_path, "wb")
        full_env = dict(os.environ)
        for k in list(full_env):
            if k.startswith("LOFT_") and k != "LOFT_BUILD_DIR":
                del full_env[k]
        full_env.update({"LOFT_USER": user, "LOFT_HOME": home.home,
                         "ASAN_OPTIONS": "detect_leaks=1"})
        if env:
            full_env.update(env)
        self.proc = subprocess.Popen([LOFT_IMAP, "-c", home.conf],
                                     stdin=child, stdout=child,
                                     stderr=self.log, env=full_env)
        child.close()
        self.buf = b""
        self.tagnum = 0

    def send(self, data):
        if isinstance(data, str):
            data = data.encode()
        self.sock.sendall(data)

    def readline(self, timeout=10):
        deadline = time.time() + timeout
        while b"\r\n" not in self.buf:
            left = deadline - time.time()
            if left <= 0:
                raise TimeoutError("no line from loft-imap: %r" % self.buf)
            r, _, _ = select.select([self.sock], [], [], left)
            if not r:
                continue
            chunk = self.sock.recv(65536)
            if not chunk:
                raise EOFError("loft-imap closed the connection: %r" % self.buf)
            self.buf += chunk
        line, self.buf = self.buf.split(b"\r\n", 1)
        return line

    def read_literal_line(self, timeout=10):
        """A response line; literals {n} are read and inlined."""
        line = self.readline(timeout)
        while line.endswith(b"}") and b"{" in line:
            n = int(line[line.rindex(b"{") + 1:-1])
            while len(self.buf) < n:
                r, _, _ = select.select([self.sock], [], [], timeout)
                if not r:
                    raise TimeoutError("literal")
                chunk = self.sock.recv(65536)
                if not chunk:
                    raise EOFError("closed in literal")
                self.buf += chunk
            data, self.buf = self.buf[:n], self.buf[n:]
            line = line + b"\r\n" + data + self.readline(timeout)
        return line

    def greeting(self):
        return self.readline()

    def cmd(self, text, tag=None, timeout=10):
        """Send "<tag> text" and return (untagged lines, tagged line)."""
        if tag is None:
            self.tagnum += 1
            tag = "t%d" % self.tagnum
        if isinstance(text, str):
            text = text.encode()
        self.send(tag.encode() + b" " + text + b"\r\n")
        return self.read_until_tag(tag, timeout)

    def read_until_tag(self, tag, timeout=10):
        if isinstance(tag, str):
            tag = tag.encode()
        untagged = []
        while True:
            line = self.read_literal_line(timeout)
            if line.startswith(tag + b" "):
                return untagged, line
            untagged.append(line)

    def ok(self, text):
        untagged, tagged = self.cmd(text)
        assert b" OK " in tagged, (text, untagged, tagged)
        return untagged

    def closed(self, timeout=5):
        """True when loft-imap has closed the connection."""
        deadline = time.time() + timeout
        while time.time() < deadline:
            r, _, _ = select.select([self.sock], [], [], 0.2)
            if r:
                try:
                    chunk = self.sock.recv(65536)
                except ConnectionResetError:
                    return True
                if not chunk:
                    return True
                self.buf += chunk
        return False

    def wait(self, timeout=10):
        try:
            return self.proc.wait(timeout)
        finally:
            self.log.close()

    def log_text(self):
        if not self.log.closed:
            self.log.flush()
        with open(self.log_path, "rb") as f:
            return f.read().decode(errors="replace")

    def kill(self):
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        self.sock.close()
        if not self.log.closed:
            self.log.close()


class ImapLibPipe(imaplib.IMAP4):
    """imaplib over the socketpair of an ImapSession."""

    def __init__(self, session):
        self._session = session
        super().__init__()

    def open(self, host="", port=0, timeout=None):
        self.host = host
        self.port = port
        self.sock = self._session.sock
        self.file = self.sock.makefile("rb")

    def shutdown(self):
        self.file.close()


def assert_no_sanitizer_errors(text):
    """No ASan/LSan report at all, and no UBSan report from the IMAP code
    (other modules' UBSan findings are theirs to fix)."""
    assert "AddressSanitizer" not in text, text
    assert "LeakSanitizer" not in text, text
    for line in text.splitlines():
        if "runtime error:" in line:
            assert "src/imap/" not in line, line
            for mine in ("imap-parser.c", "imap-utf7.c", "imap-seqset.c"):
                assert mine not in line, line
