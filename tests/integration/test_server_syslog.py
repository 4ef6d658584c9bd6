"""log_path = syslog (Dovecot's default): every process's lines reach
syslog through the master, with Dovecot's ident and line shapes, so that
fail2ban's dovecot filter keeps matching."""
import imaplib
import os
import re
import socket
import time

import pytest

from loftserver import LoftServer


@pytest.fixture
def dev_log():
    """A syslog receiver on /dev/log (needs root and no syslog daemon)."""
    if os.geteuid() != 0 or os.path.exists("/dev/log"):
        pytest.skip("needs root and a free /dev/log to receive syslog")
    s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    s.bind("/dev/log")
    os.chmod("/dev/log", 0o666)
    s.settimeout(0.2)
    yield s
    s.close()
    os.unlink("/dev/log")


def test_syslog_relay(dev_log):
    server = LoftServer()
    # drop log_path so the default (syslog) applies
    with open(server.config_path) as f:
        conf = f.read()
    conf = re.sub(r"^log_path = .*$", "", conf, flags=re.M)
    with open(server.config_path, "w") as f:
        f.write(conf)
    server.start()
    try:
        c = imaplib.IMAP4("127.0.0.1", server.ports["imap"])
        c.login("alice", "alice-secret")
        c.logout()
        c = imaplib.IMAP4("127.0.0.1", server.ports["imap"])
        with pytest.raises(imaplib.IMAP4.error):
            c.login("alice", "wrong")
        c.shutdown()
        got = []
        deadline = time.time() + 5
        while time.time() < deadline:
            try:
                got.append(dev_log.recv(65536).decode(errors="replace"))
            except socket.timeout:
                if any("auth failed" in g for g in got):
                    break
        text = "\n".join(got)
        # <22> = facility mail (2) * 8 + info (6)
        assert re.search(r"<22>.*dovecot\[\d+\]: imap-login: Info: Login: "
                         r"user=<alice>, method=PLAIN, rip=127\.0\.0\.1", text), text
        assert re.search(r"dovecot\[\d+\]: imap-login: Info: Disconnected: "
                         r"Connection closed \(auth failed, 1 attempts in \d+ "
                         r"secs\): user=<alice>, method=PLAIN, rip=127\.0\.0\.1",
                         text), text
        assert re.search(r"dovecot\[\d+\]: imap\(alice\)<\d+><[^>]+>: Info: "
                         r"Disconnected: Logged out", text), text
        assert "alice-secret" not in text and "wrong" not in text.replace("wrong-", "")
    finally:
        server.cleanup()
