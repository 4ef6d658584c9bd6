"""A byte-exact LMTP client for tests (smtplib rewrites bare CRs)."""
import socket


def to_wire(data):
    """Message bytes as LMTP DATA: LF -> CRLF (CRLF kept, bare CR kept),
    dot-stuffing, CRLF added when the message doesn't end in a line
    break. Returns (wire_bytes, expected_served_bytes)."""
    out = bytearray()
    i = 0
    n = len(data)
    while i < n:
        c = data[i]
        if c == 0x0a:
            out += b"\r\n"
        elif c == 0x0d and i + 1 < n and data[i + 1] == 0x0a:
            out += b"\r\n"
            i += 1
        else:
            out.append(c)
        i += 1
    if not out.endswith(b"\r\n"):
        out += b"\r\n"
    served = bytes(out)
    lines = served.split(b"\r\n")
    stuffed = b"\r\n".join(b"." + l if l.startswith(b".") else l for l in lines)
    return stuffed, served


class LMTP:
    def __init__(self, host=None, port=None, path=None, timeout=60):
        if path:
            self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            self.sock.settimeout(timeout)
            self.sock.connect(path)
        else:
            self.sock = socket.create_connection((host, port), timeout)
        self.f = self.sock.makefile("rb")
        self.greeting = self.reply()
        assert self.greeting[0] == 220, self.greeting

    def reply(self):
        lines = []
        while True:
            line = self.f.readline()
            if not line:
                raise EOFError("connection closed")
            lines.append(line.rstrip(b"\r\n"))
            if len(line) < 4 or line[3:4] != b"-":
                break
        return int(lines[-1][:3]), lines

    def cmd(self, line):
        self.sock.sendall(line.encode() + b"\r\n")
        return self.reply()

    def lhlo(self, name="test.example"):
        return self.cmd("LHLO " + name)

    def deliver(self, sender, rcpts, wire):
        """One transaction; returns the list of per-recipient DATA replies
        (code, lines), or raises on a MAIL/RCPT failure."""
        code, lines = self.cmd("MAIL FROM:<%s>" % sender)
        assert code == 250, lines
        accepted = 0
        rcpt_codes = []
        for r in rcpts:
            code, lines = self.cmd("RCPT TO:<%s>" % r)
            rcpt_codes.append(code)
            if code == 250:
                accepted += 1
        if accepted == 0:
            self.cmd("RSET")
            return rcpt_codes, []
        code, lines = self.cmd("DATA")
        assert code == 354, lines
        self.sock.sendall(wire + b".\r\n")
        return rcpt_codes, [self.reply() for _ in range(accepted)]

    def quit(self):
        try:
            self.cmd("QUIT")
        finally:
            self.sock.close()


def strip_prepended(served):
    """Remove the trace headers LMTP prepends, in the order loft (like
    Dovecot) writes them: Return-Path, Delivered-To, Received (with its
    continuation lines). The message's own headers of the same names
    stay."""
    out = served
    for name in (b"Return-Path:", b"Delivered-To:", b"Received:"):
        if out[:len(name)].lower() == name.lower():
            end = out.find(b"\r\n")
            while out[end + 2:end + 3] in (b" ", b"\t"):
                end = out.find(b"\r\n", end + 2)
            out = out[end + 2:]
    return out
