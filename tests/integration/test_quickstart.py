"""`make run` as a new user would use it: start the quickstart script,
read the printed credentials, log in with Python's imaplib over IMAPS and
STARTTLS, and deliver a message over LMTP."""
import imaplib
import os
import re
import signal
import smtplib
import ssl
import subprocess
import tempfile
import time
import shutil

from loftserver import BUILD, free_port

TOP = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))


def test_quickstart_credentials_work():
    run_dir = tempfile.mkdtemp(prefix="loft-quickstart-")
    os.chmod(run_dir, 0o755)
    ports = {k: free_port() for k in ("IMAP", "IMAPS", "POP3", "POP3S", "LMTP")}
    env = dict(os.environ, LOFT_RUN_DIR=run_dir,
               **{"LOFT_%s_PORT" % k: str(v) for k, v in ports.items()})
    proc = subprocess.Popen(["bash", os.path.join(TOP, "scripts", "quickstart.sh"),
                             BUILD], env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, start_new_session=True)
    try:
        out = b""
        deadline = time.time() + 30
        while b"password:" not in out or b"try:" not in out:
            line = proc.stdout.readline()
            assert line, out
            out += line
            assert time.time() < deadline
        text = out.decode()
        password = re.search(r"password: (\S+)", text).group(1)
        assert re.search(r"user:\s+demo", text)
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
        deadline = time.time() + 15
        while True:
            try:
                c = imaplib.IMAP4_SSL("127.0.0.1", ports["IMAPS"], ssl_context=ctx)
                break
            except OSError:
                assert time.time() < deadline
                time.sleep(0.1)
        assert c.login("demo", password)[0] == "OK"
        assert c.select("INBOX")[0] == "OK"
        c.logout()
        s = smtplib.LMTP("127.0.0.1", ports["LMTP"])
        s.sendmail("me@example.org", ["demo"],
                   b"Subject: hello\r\n\r\nfirst message\r\n")
        s.quit()
        c = imaplib.IMAP4("127.0.0.1", ports["IMAP"])
        c.starttls(ssl_context=ctx)
        c.login("demo", password)
        typ, data = c.select("INBOX")
        assert int(data[0]) == 1
        typ, data = c.fetch("1", "(BODY.PEEK[HEADER.FIELDS (SUBJECT)])")
        assert b"Subject: hello" in data[0][1]
        c.logout()
        # the hash in the passwd-file is SHA512-CRYPT, not the password
        with open(os.path.join(run_dir, "users")) as f:
            users = f.read()
        assert "{SHA512-CRYPT}$6$" in users and password not in users
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=10)
        shutil.rmtree(run_dir, ignore_errors=True)
