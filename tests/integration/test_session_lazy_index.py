"""The SQLite index is opened at its first use, not at login: a session
that only does LOGIN/CAPABILITY/NOOP/LOGOUT creates no index file in a
fresh Maildir and leaves an existing index (and its directory) untouched;
a SELECT afterwards opens (creates) it and works."""
import os
import time

import pytest

from loftserver import LoftServer
from faultutil import IMAP

USERS = {"lazy": "lazy-secret", "lazy2": "lazy2-secret"}
INDEX = "loft.index.sqlite"


@pytest.fixture(scope="module")
def server():
    s = LoftServer(users=USERS)
    s.start()
    yield s
    s.cleanup()


def index_files(server, user):
    d = server.maildir(user)
    if not os.path.isdir(d):
        return []
    return sorted(n for n in os.listdir(d) if n.startswith(INDEX))


def quiet_session(server, user):
    c = IMAP(server.ports["imap"])
    line, _ = c.login(user, USERS[user])
    c.ok("CAPABILITY")
    c.ok("NOOP")
    st, line, untagged = c.cmd("LOGOUT")
    assert st == "OK", line
    assert any(u.startswith(b"* BYE") for u in untagged), untagged
    c.close()


def wait_no_imap_session(server, user):
    # the mail process ends after LOGOUT; give it a moment to exit
    time.sleep(0.3)


def test_login_logout_creates_no_index(server):
    user = "lazy"
    quiet_session(server, user)
    wait_no_imap_session(server, user)
    # the Maildir itself is created at login (INBOX), the index is not
    assert os.path.isdir(os.path.join(server.maildir(user), "cur"))
    assert index_files(server, user) == []

    # a command that needs the index opens and creates it
    c = IMAP(server.ports["imap"])
    c.login(user, USERS[user])
    _, untagged = c.ok("SELECT INBOX")
    assert any(b"EXISTS" in u for u in untagged), untagged
    assert INDEX in index_files(server, user)
    c.ok("LOGOUT")
    c.close()


def test_login_logout_leaves_existing_index_alone(server):
    user = "lazy2"
    c = IMAP(server.ports["imap"])
    c.login(user, USERS[user])
    c.ok("SELECT INBOX")
    c.ok("LOGOUT")
    c.close()
    wait_no_imap_session(server, user)
    d = server.maildir(user)
    path = os.path.join(d, INDEX)
    assert os.path.exists(path)
    before_files = index_files(server, user)
    st = os.stat(path)
    dst = os.stat(d)
    time.sleep(0.05)
    for _ in range(3):
        quiet_session(server, user)
    wait_no_imap_session(server, user)
    st2 = os.stat(path)
    assert (st2.st_ino, st2.st_mtime_ns, st2.st_size) == \
        (st.st_ino, st.st_mtime_ns, st.st_size)
    # no -wal/-shm created and removed again: the directory is unchanged
    assert os.stat(d).st_mtime_ns == dst.st_mtime_ns
    assert index_files(server, user) == before_files

    # and the index still serves the next SELECT
    c = IMAP(server.ports["imap"])
    c.login(user, USERS[user])
    _, untagged = c.ok("SELECT INBOX")
    assert any(b"EXISTS" in u for u in untagged), untagged
    st, _, untagged = c.cmd("STATUS INBOX (MESSAGES UIDNEXT)")
    assert st == "OK"
    c.ok("LOGOUT")
    c.close()
