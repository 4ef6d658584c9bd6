"""A service started by the master with listeners (auth, login, lmtp) must
not outlive the master: it holds the listening sockets. The master passes
its pid in LOFT_MASTER_PID; a service whose parent is not that pid (the
master died before the service armed its parent-death signal, and the
service was re-parented) exits at once instead of keeping the listeners."""
import os
import socket
import subprocess

from loftserver import LoftServer, binary


def run_lmtp(srv, master_pid):
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(1)
    # the listener goes to fd 5, as the master passes it
    env = dict(os.environ, LOFT_SERVICE="lmtp",
               LOFT_LISTENERS="lmtp:5:", LOFT_MASTER_PID=str(master_pid))
    fd = sock.fileno()

    def child():
        os.dup2(fd, 5)
    try:
        p = subprocess.Popen([binary("loft-lmtp"), "-c", srv.config_path],
                             env=env, preexec_fn=child, pass_fds=(fd,),
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        try:
            out, err = p.communicate(timeout=5)
            return p.returncode, err.decode(errors="replace")
        except subprocess.TimeoutExpired:
            p.kill()
            p.communicate()
            return None, ""
    finally:
        sock.close()


def test_service_exits_when_its_master_is_gone():
    with LoftServer() as srv:
        # a pid that is not our (the "master's") pid: the master is gone
        dead = subprocess.Popen(["true"])
        dead.wait()
        rc, err = run_lmtp(srv, dead.pid)
        assert rc is not None and rc != 0, "orphaned loft-lmtp kept running"
        assert "Master process died" in err


def test_service_stays_with_a_living_master():
    with LoftServer() as srv:
        rc, err = run_lmtp(srv, os.getpid())
        # still serving when the test gave up waiting: killed by the test
        assert rc is None, f"loft-lmtp exited ({rc}): {err}"
