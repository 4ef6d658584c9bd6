"""Start a whole loft server (master + services) for integration tests.

The server runs from the build directory in $LOFT_BUILD_DIR with a config
written into a temporary directory: loopback, free unprivileged ports, a
self-signed certificate, a passwd-file with SHA512-CRYPT hashes, Maildirs
under the temporary directory. When the tests run as root (as in CI),
loft drops privileges for real: login processes run as "nobody" in a
chroot and mail processes as the users' uid from the passwd-file.
"""
import os
import pwd
import grp
import shutil
import signal
import socket
import subprocess
import tempfile
import time

BUILD = os.environ.get("LOFT_BUILD_DIR") or os.path.join(
    os.path.dirname(__file__), "..", "..", "build-test")
BUILD = os.path.abspath(BUILD)
CORPUS = os.path.abspath(os.environ.get("LOFT_CORPUS") or os.path.join(
    os.path.dirname(__file__), "..", "..", "..", "shared", "corpus"))


def binary(name):
    """Path of a loft binary in the build tree."""
    module = {"loft": "master", "loftconf": "config", "loftadm": "admin"}.get(
        name, name[len("loft-"):] if name.startswith("loft-") else name)
    return os.path.join(BUILD, "src", module, name)


def free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


_cert_cache = {}


def make_cert(directory):
    """A self-signed certificate + key (EC P-256) for localhost."""
    if "pem" not in _cert_cache:
        tmp = tempfile.mkdtemp(prefix="loft-cert-")
        subprocess.run(
            ["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
             "ec_paramgen_curve:prime256v1", "-nodes", "-days", "30",
             "-subj", "/CN=localhost", "-addext",
             "subjectAltName=DNS:localhost,IP:127.0.0.1",
             "-keyout", os.path.join(tmp, "key.pem"),
             "-out", os.path.join(tmp, "cert.pem")],
            check=True, capture_output=True)
        _cert_cache["pem"] = tmp
    cert = os.path.join(directory, "cert.pem")
    key = os.path.join(directory, "key.pem")
    shutil.copy(os.path.join(_cert_cache["pem"], "cert.pem"), cert)
    shutil.copy(os.path.join(_cert_cache["pem"], "key.pem"), key)
    os.chmod(key, 0o600)
    return cert, key


def sha512_crypt(password):
    out = subprocess.run(["openssl", "passwd", "-6", "-stdin"],
                         input=password.encode(), check=True,
                         capture_output=True).stdout.decode().strip()
    return "{SHA512-CRYPT}" + out


class LoftServer:
    """A running loft. Use as a context manager or call start()/stop()."""

    def __init__(self, users=None, extra_config="", ssl="yes",
                 disable_plaintext_auth="no", protocols="imap pop3 lmtp",
                 auth_failure_delay="0", user_ids=None):
        self.dir = tempfile.mkdtemp(prefix="loft-test-")
        os.chmod(self.dir, 0o755)
        self.root = os.geteuid() == 0
        self.users = users or {"alice": "alice-secret", "bob": "bob-secret"}
        self.ports = {n: free_port() for n in
                      ("imap", "imaps", "pop3", "pop3s", "lmtp")}
        self.base_dir = os.path.join(self.dir, "base")
        self.log_path = os.path.join(self.dir, "loft.log")
        self.lmtp_socket = os.path.join(self.base_dir, "lmtp")
        self.extra_config = extra_config
        self.ssl = ssl
        self.disable_plaintext_auth = disable_plaintext_auth
        self.protocols = protocols
        self.auth_failure_delay = auth_failure_delay
        self.user_ids = user_ids or {}   # user -> (uid, gid) override
        self.proc = None
        self._write_config()

    def mail_uid_gid(self):
        if self.root:
            pw = pwd.getpwnam("nobody")
            return pw.pw_uid, pw.pw_gid
        return os.getuid(), os.getgid()

    def home(self, user):
        return os.path.join(self.dir, "home", user)

    def maildir(self, user):
        return os.path.join(self.home(user), "Maildir")

    def _write_config(self):
        self.cert, self.key = make_cert(self.dir)
        uid, gid = self.mail_uid_gid()
        lines = []
        for user, password in self.users.items():
            home = self.home(user)
            os.makedirs(home, exist_ok=True)
            os.chown(home, uid, gid) if self.root else None
            u, g = self.user_ids.get(user, (uid, gid))
            lines.append("%s:%s:%d:%d::%s::" % (user, sha512_crypt(password),
                                                u, g, home))
        self.passwd_file = os.path.join(self.dir, "users")
        with open(self.passwd_file, "w") as f:
            f.write("\n".join(lines) + "\n")
        if self.root:
            os.chmod(self.passwd_file, 0o644)
        login_user = "nobody"
        self.config_path = os.path.join(self.dir, "loft.conf")
        with open(self.config_path, "w") as f:
            f.write(f"""# written by tests/integration/loftserver.py
protocols = {self.protocols}
listen = 127.0.0.1
base_dir = {self.base_dir}
log_path = {self.log_path}
ssl = {self.ssl}
ssl_cert = <{self.cert}
ssl_key = <{self.key}
disable_plaintext_auth = {self.disable_plaintext_auth}
auth_mechanisms = plain login
auth_failure_delay = {self.auth_failure_delay}
auth_verbose = yes
default_login_user = {login_user}
default_internal_user = {login_user}
first_valid_uid = 1
mail_location = maildir:~/Maildir
passdb {{
  driver = passwd-file
  args = {self.passwd_file}
}}
userdb {{
  driver = passwd-file
  args = {self.passwd_file}
}}
service imap-login {{
  inet_listener imap {{
    port = {self.ports['imap']}
  }}
  inet_listener imaps {{
    port = {self.ports['imaps']}
    ssl = yes
  }}
}}
service pop3-login {{
  inet_listener pop3 {{
    port = {self.ports['pop3']}
  }}
  inet_listener pop3s {{
    port = {self.ports['pop3s']}
    ssl = yes
  }}
}}
service lmtp {{
  unix_listener lmtp {{
    mode = 0666
  }}
  inet_listener lmtp {{
    port = {self.ports['lmtp']}
  }}
}}
{self.extra_config}
""")

    def start(self, timeout=15):
        self.proc = subprocess.Popen(
            [binary("loft"), "-F", "-c", self.config_path],
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
            start_new_session=True)
        deadline = time.time() + timeout
        # the master binds every listener before it starts any service,
        # so one plaintext port answering means all are there
        wanted = []
        if "imap" in self.protocols:
            wanted = ["imap"]
        elif "pop3" in self.protocols:
            wanted = ["pop3"]
        for name in wanted:
            while True:
                if self.proc.poll() is not None:
                    out = self.proc.stdout.read().decode(errors="replace")
                    raise RuntimeError("loft exited: %s\n%s" % (out, self.log()))
                try:
                    with socket.create_connection(("127.0.0.1", self.ports[name]),
                                                  timeout=1):
                        break
                except OSError:
                    if time.time() > deadline:
                        raise RuntimeError("port %s not listening\n%s" %
                                           (name, self.log()))
                    time.sleep(0.05)
        if "lmtp" in self.protocols:
            while not os.path.exists(self.lmtp_socket):
                if time.time() > deadline:
                    raise RuntimeError("no lmtp socket\n" + self.log())
                time.sleep(0.05)
        return self

    def stop(self):
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()
        if self.proc is not None:
            try:
                os.killpg(self.proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            self.proc.stdout.close()
        self.proc = None

    def cleanup(self):
        self.stop()
        shutil.rmtree(self.dir, ignore_errors=True)

    def log(self):
        try:
            with open(self.log_path, errors="replace") as f:
                return f.read()
        except FileNotFoundError:
            return ""

    def wait_log(self, text, timeout=5):
        deadline = time.time() + timeout
        while time.time() < deadline:
            if text in self.log():
                return True
            time.sleep(0.05)
        return False

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.cleanup()
