"""loftadm pw: doveadm pw compatible output, checked with other tools."""
import base64
import hashlib
import os
import select
import subprocess
import time

import pytest

BUILD = os.environ.get("LOFT_BUILD_DIR", "build-test")
LOFTADM = os.path.join(BUILD, "src", "admin", "loftadm")


def pw(*args, input_data=None):
    return subprocess.run([LOFTADM, "pw"] + list(args), input=input_data,
                          capture_output=True, timeout=60)


def pw_ok(*args):
    res = pw(*args)
    assert res.returncode == 0, res.stderr
    return res.stdout.decode().rstrip("\n")


def openssl_passwd(opt, salt, password):
    res = subprocess.run(["openssl", "passwd", opt, "-salt", salt, "-stdin"],
                         input=password.encode(), capture_output=True,
                         check=True)
    return res.stdout.decode().strip()


def test_default_scheme_is_crypt_bcrypt():
    out = pw_ok("-p", "test")
    # Dovecot 2.3's doveadm pw: {CRYPT} with bcrypt cost 5
    assert out.startswith("{CRYPT}$2y$05$") and len(out) == 7 + 60


@pytest.mark.parametrize("scheme,opt", [("SHA512-CRYPT", "-6"),
                                        ("SHA256-CRYPT", "-5"),
                                        ("MD5-CRYPT", "-1")])
def test_crypt_schemes_match_openssl(scheme, opt):
    password = "Pass word %d" % os.getpid()
    out = pw_ok("-s", scheme.lower(), "-p", password)
    prefix = "{%s}" % scheme
    assert out.startswith(prefix)
    hashed = out[len(prefix):]
    salt = hashed.split("$")[2]
    assert openssl_passwd(opt, salt, password) == hashed


def test_sha512_and_ssha512_match_hashlib():
    password = "h\u00e4sh me"
    out = pw_ok("-s", "SHA512", "-p", password)
    expected = base64.b64encode(hashlib.sha512(password.encode()).digest())
    assert out == "{SHA512}" + expected.decode()
    out = pw_ok("-s", "SHA512.HEX", "-p", password)
    assert out == "{SHA512.HEX}" + hashlib.sha512(password.encode()).hexdigest()
    out = pw_ok("-s", "SSHA512", "-p", password)
    raw = base64.b64decode(out[len("{SSHA512}"):])
    digest, salt = raw[:64], raw[64:]
    assert len(salt) > 0
    assert hashlib.sha512(password.encode() + salt).digest() == digest


def test_rounds():
    assert "$rounds=1000$" in pw_ok("-s", "SHA512-CRYPT", "-r", "1000", "-p", "x")
    assert pw_ok("-s", "BLF-CRYPT", "-r", "4", "-p", "x").startswith("{BLF-CRYPT}$2y$04$")
    assert pw("-r", "abc", "-p", "x").returncode != 0


def test_verify_hash():
    for scheme in ("SHA512-CRYPT", "SSHA512", "ARGON2ID", "PLAIN", "CRYPT"):
        hashed = pw_ok("-s", scheme, "-p", "right")
        out = pw_ok("-t", hashed, "-p", "right")
        assert out == hashed + " (verified)"
        res = pw("-t", hashed, "-p", "wrong")
        assert res.returncode != 0
        assert b"reverse password verification check failed" in res.stderr
        assert res.stdout == b""
    # a hash made by another tool, and Dovecot's own test vector
    h = openssl_passwd("-6", "abcdefgh12345678", "other tool")
    assert pw_ok("-t", "{SHA512-CRYPT}" + h, "-p", "other tool").endswith("(verified)")
    vec = ("{ARGON2ID}$argon2id$v=19$m=65536,t=3,p=1$vBb99oJ12p3WAdYlaMHz1A"
           "$jtFOtbo/sYV9OSlTxDo/nVNq3uArHd5GJSEx0ty85Cc")
    assert pw_ok("-t", vec, "-p", "test") == vec + " (verified)"
    res = pw("-t", "noprefix", "-p", "x")
    assert res.returncode != 0 and b"Missing {scheme} prefix" in res.stderr
    # -V verifies what it generated
    assert pw_ok("-V", "-s", "SSHA512", "-p", "v").endswith(" (verified)")


def test_errors_and_list():
    res = pw("-s", "NOSUCH", "-p", "x")
    assert res.returncode != 0 and b"Unknown scheme: NOSUCH" in res.stderr
    assert pw("extra-arg").returncode != 0
    schemes = pw_ok("-l").split()
    for s in ("CRYPT", "SHA512-CRYPT", "BLF-CRYPT", "ARGON2ID", "SSHA512",
              "SHA512", "PLAIN", "CLEAR"):
        assert s in schemes
    res = subprocess.run([LOFTADM, "nosuchcmd"], capture_output=True)
    assert res.returncode != 0


def test_password_from_stdin():
    res = pw("-s", "PLAIN", input_data=b"from stdin\n")
    assert res.returncode == 0
    assert res.stdout == b"{PLAIN}from stdin\n"
    res = pw("-t", "{PLAIN}abc", input_data=b"abc\n")
    assert res.stdout == b"{PLAIN}abc (verified)\n"


def _tty_session(answers):
    """Run loftadm pw -s PLAIN on a pseudo-terminal, answering prompts."""
    master, slave = os.openpty()
    proc = subprocess.Popen([LOFTADM, "pw", "-s", "PLAIN"], stdin=slave,
                            stdout=subprocess.PIPE, stderr=slave)
    os.close(slave)
    screen = b""
    deadline = time.monotonic() + 20
    for answer in answers:
        while b"password: " not in screen[-200:].lower() or screen.endswith(b"\n"):
            assert time.monotonic() < deadline, screen
            r, _, _ = select.select([master], [], [], 0.5)
            if r:
                screen += os.read(master, 1024)
        screen_before = len(screen)
        os.write(master, answer.encode() + b"\n")
        # wait for the newline printed after the hidden input
        while len(screen) == screen_before:
            assert time.monotonic() < deadline, screen
            r, _, _ = select.select([master], [], [], 0.5)
            if r:
                screen += os.read(master, 1024)
    out, _ = proc.communicate(timeout=20)
    try:
        while True:
            r, _, _ = select.select([master], [], [], 0.2)
            if not r:
                break
            screen += os.read(master, 1024)
    except OSError:
        pass
    os.close(master)
    return proc.returncode, out, screen


def test_password_from_tty_twice_without_echo():
    rc, out, screen = _tty_session(["tty secret", "tty secret"])
    assert rc == 0
    assert out == b"{PLAIN}tty secret\n"
    assert b"Enter new password:" in screen
    assert b"Retype new password:" in screen
    assert b"tty secret" not in screen  # not echoed
    rc, out, screen = _tty_session(["one", "two", "a", "b", "c", "d"])
    assert rc != 0 and out == b""
    assert b"don't match" in screen
