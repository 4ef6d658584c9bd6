"""Disk full: the Maildir (and the index inside it) on a 2 MB tmpfs. With
the disk full, LMTP answers 452 4.3.1 (or 451) and APPEND gets
NO [OVERQUOTA] Not enough disk space (as Dovecot) or NO [SERVERBUG];
nothing half-written becomes visible (no partial message in new/cur, tmp/
cleaned up); service resumes when space comes back."""
import errno
import os
import re
import subprocess

import pytest

from loftserver import LoftServer
from lmtpclient import LMTP, to_wire
from faultutil import IMAP, mailbox_listing, maildir_files, status, tmp_files

USER, PASSWORD = "erin", "erin-secret"
TRAILER = b"END-OF-MESSAGE-MARKER"


def message(mid, size):
    body = (b"0123456789abcdef" * 4 + b"\r\n") * (size // 66 + 1)
    return (b"Message-ID: <%s>\r\nSubject: %s\r\n\r\n" % (mid.encode(),
                                                          mid.encode())
            + body + TRAILER + b"\r\n")


def fill(path):
    """Write path until the filesystem is full; returns its size."""
    chunk = b"\0" * 65536
    with open(path, "wb", buffering=0) as f:
        while True:
            try:
                f.write(chunk)
            except OSError as e:
                if e.errno != errno.ENOSPC:
                    raise
                try:
                    while True:
                        f.write(b"\0" * 512)
                except OSError:
                    pass
                break
    return os.path.getsize(path)


def free_up(path, nbytes):
    size = os.path.getsize(path)
    with open(path, "r+b") as f:
        f.truncate(max(0, size - nbytes))


@pytest.fixture
def fullserver():
    if os.geteuid() != 0:
        pytest.skip("mounting a small tmpfs needs root (CI runs as root)")
    s = LoftServer(users={USER: PASSWORD})
    mnt = s.maildir(USER)
    os.makedirs(mnt, exist_ok=True)
    uid, gid = s.mail_uid_gid()
    r = subprocess.run(["mount", "-t", "tmpfs", "-o",
                        "size=2m,mode=0700,uid=%d,gid=%d" % (uid, gid),
                        "tmpfs", mnt], capture_output=True, text=True)
    if r.returncode != 0:
        s.cleanup()
        pytest.skip("mount -t tmpfs refused here (no CAP_SYS_ADMIN?): %s" %
                    r.stderr.strip())
    try:
        s.start()
        yield s
    finally:
        s.stop()
        subprocess.run(["umount", mnt], capture_output=True)
        if os.path.ismount(mnt):
            subprocess.run(["umount", "-l", mnt], capture_output=True)
        s.cleanup()


def deliver(server, mid, size):
    lmtp = LMTP("127.0.0.1", server.ports["lmtp"], timeout=15)
    lmtp.lhlo()
    wire, _ = to_wire(message(mid, size))
    codes, replies = lmtp.deliver("s@loft.test", [USER], wire)
    lmtp.quit()
    assert codes == [250], codes
    return replies[0]


def append(c, mid, size):
    body = message(mid, size)
    return c.cmd("APPEND INBOX (\\Seen) {%d}" % len(body), body)


def check_visible(server, acked, where):
    """Every message file in new/cur is complete, every acknowledged
    message is there, tmp/ is empty; IMAP agrees with the files."""
    files = maildir_files(server.maildir(USER))
    mids = []
    for p in files:
        with open(p, "rb") as f:
            data = f.read()
        assert data.rstrip().endswith(TRAILER), (
            "%s: partial message visible: %s (%d bytes)" % (where, p, len(data)))
        mids.append(re.search(rb"Message-ID: <([^>]+)>", data).group(1).decode())
    assert len(mids) == len(set(mids)), (where, "duplicate", mids)
    assert set(acked) <= set(mids), (where, set(acked) - set(mids))
    assert tmp_files(server.maildir(USER)) == [], (
        where, "tmp/ not cleaned", tmp_files(server.maildir(USER)))
    return set(mids)


def test_disk_full(fullserver):
    s = fullserver
    mnt = s.maildir(USER)
    acked = []
    assert deliver(s, "before-1@loft.test", 2000)[0] == 250
    acked.append("before-1@loft.test")
    c = IMAP(s.ports["imap"], timeout=15)
    c.login(USER, PASSWORD)
    st, line, _ = append(c, "before-2@loft.test", 2000)
    assert st == "OK", line
    acked.append("before-2@loft.test")
    c.ok("SELECT INBOX")

    filler = os.path.join(mnt, "filler")
    fill(filler)
    # completely full, then with a little room: the write starts and
    # fails half-way through a message
    for n, room in enumerate((0, 4096, 40000)):
        if room:
            free_up(filler, room)
        mid = "lmtp-full-%d@loft.test" % n
        code, lines = deliver(s, mid, 200000)
        assert code in (452, 451), lines
        if code == 452:
            assert lines[-1].startswith(b"452 4.3.1 "), lines
        mid = "append-full-%d@loft.test" % n
        st, line, _ = append(c, mid, 200000)
        assert st == "NO", line
        assert re.match(rb"f\d+ NO \[(OVERQUOTA|SERVERBUG|UNAVAILABLE)\]",
                        line), line
        if b"OVERQUOTA" not in line:
            # Dovecot answers ENOSPC with NO [OVERQUOTA] Not enough disk space
            pytest.fail("APPEND on a full disk: %r" % line)
        check_visible(s, acked, "room %d" % room)
        # the session still works while the disk is full
        st, line, _ = c.cmd("NOOP")
        assert st == "OK", line

    # small messages with the room growing a bit at a time: the failure
    # moves from the message file to dovecot-uidlist and the index; any
    # reply is fine as long as a 250/OK means the message is there
    # and nothing partial shows
    free_up(filler, 0)
    fill(filler + "2")
    for n in range(12):
        free_up(filler, 1500)
        mid = "tight-lmtp-%d@loft.test" % n
        code, lines = deliver(s, mid, 1200)
        assert code in (250, 451, 452), lines
        if code == 250:
            acked.append(mid)
        mid = "tight-append-%d@loft.test" % n
        st, line, _ = append(c, mid, 1200)
        if st == "OK":
            acked.append(mid)
        else:
            assert re.match(rb"f\d+ NO \[(OVERQUOTA|SERVERBUG)\]", line), line
        print("tight", n, code, line)
        check_visible(s, acked, "tight %d" % n)
    st, line, _ = c.cmd("NOOP")
    assert st == "OK", line
    os.unlink(filler + "2")

    # space returns: the same session and new ones work again
    os.unlink(filler)
    assert deliver(s, "after-1@loft.test", 200000)[0] == 250
    acked.append("after-1@loft.test")
    st, line, _ = append(c, "after-2@loft.test", 200000)
    assert st == "OK", line
    acked.append("after-2@loft.test")
    c.ok("LOGOUT")
    c.close()
    seen = check_visible(s, acked, "after")
    c = IMAP(s.ports["imap"], timeout=15)
    c.login(USER, PASSWORD)
    _, exists, rows = mailbox_listing(c, "INBOX")
    assert {r[2] for r in rows} == seen
    assert status(c, "INBOX")["MESSAGES"] == exists == len(seen)
    c.ok("LOGOUT")
    c.close()
