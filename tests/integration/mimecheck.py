"""Compare what an IMAP server says about a message (ENVELOPE,
BODYSTRUCTURE, BODY[n], BODY[n.MIME]) with what Python's email package
parses from the same bytes.

Reusable: check_message() takes the raw message bytes, the ENVELOPE and
BODYSTRUCTURE texts (as bytes/str, outer parentheses included, literals
allowed) and a part_fetcher(section) -> bytes callable, so the same
checks run against tests/tools/mime-dump output or a live server's
FETCH responses.

Where Dovecot and Python legitimately differ (see the notes in
check_message) the comparison is skipped rather than weakened.
"""
import email
import email.policy
import email.utils
import re
import urllib.parse

__all__ = ["parse_imap", "parse_bodystructure", "parse_dump",
           "parse_dump_multi", "imap_fetch_items", "imap_part_fetcher",
           "check_message", "check_syntax", "crlf"]


class ImapSyntaxError(ValueError):
    pass


def crlf(data):
    """LF -> CRLF for bare LFs, as IMAP serves a message."""
    return re.sub(rb"(?<!\r)\n", b"\r\n", data)


def parse_imap(text):
    """Parse one IMAP value (list/atom/NIL/string/literal) from bytes.
    Returns (value, rest). Lists -> Python lists, NIL -> None,
    strings/literals -> bytes, atoms -> str."""
    if isinstance(text, str):
        text = text.encode("utf-8", "surrogateescape")
    val, pos = _parse_value(text, 0, 0)
    return val, text[pos:]


def _parse_value(t, pos, depth):
    if depth > 500:
        raise ImapSyntaxError("nesting too deep")
    if pos >= len(t):
        raise ImapSyntaxError("unexpected end")
    c = t[pos:pos + 1]
    if c == b"(":
        items = []
        pos += 1
        while True:
            if pos >= len(t):
                raise ImapSyntaxError("missing )")
            if t[pos:pos + 1] == b")":
                return items, pos + 1
            if items:
                if t[pos:pos + 1] != b" ":
                    # Dovecot writes body parts of a multipart
                    # back to back: "(...)(...)"
                    if t[pos:pos + 1] != b"(" or t[pos - 1:pos] != b")":
                        raise ImapSyntaxError(
                            "expected space at %d: %r" % (pos, t[pos:pos + 20]))
                else:
                    pos += 1
            v, pos = _parse_value(t, pos, depth + 1)
            items.append(v)
    if c == b'"':
        out = bytearray()
        pos += 1
        while True:
            if pos >= len(t):
                raise ImapSyntaxError("unterminated quoted string")
            ch = t[pos]
            if ch == 0x22:
                return bytes(out), pos + 1
            if ch == 0x5c:
                pos += 1
                if pos >= len(t) or t[pos] not in (0x22, 0x5c):
                    raise ImapSyntaxError("bad escape")
                ch = t[pos]
            elif ch in (0x0d, 0x0a) or ch >= 0x80 or ch == 0:
                raise ImapSyntaxError("invalid char in quoted string")
            out.append(ch)
            pos += 1
    if c == b"{":
        m = re.compile(rb"\{(\d+)\}\r\n").match(t, pos)
        if not m:
            raise ImapSyntaxError("bad literal")
        n = int(m.group(1))
        start = m.end()
        if start + n > len(t):
            raise ImapSyntaxError("short literal")
        return t[start:start + n], start + n
    m = re.compile(rb"[^ ()\"{\r\n\x00-\x1f\x7f-\xff]+").match(t, pos)
    if not m:
        raise ImapSyntaxError("bad token at %d: %r" % (pos, t[pos:pos + 20]))
    tok = m.group(0).decode()
    if tok.upper() == "NIL":
        return None, m.end()
    return tok, m.end()


def _s(v):
    return None if v is None else v.decode("utf-8", "surrogateescape")


def _params(lst):
    if lst is None:
        return []
    if not isinstance(lst, list) or len(lst) % 2:
        raise ImapSyntaxError("bad parameter list")
    return [(_s(lst[i]), _s(lst[i + 1])) for i in range(0, len(lst), 2)]


def imap_fetch_items(conn, uid, items):
    """UID FETCH one message with imaplib and return {item name: raw
    value bytes} (e.g. {"ENVELOPE": b'("date" ...)', "BODY[1]": b"..."}).
    Literals in the response are kept as "{n}\r\n<bytes>" so the raw
    ENVELOPE/BODYSTRUCTURE text can be given to check_message(); for
    BODY[...] items the value is the section's bytes."""
    typ, data = conn.uid("FETCH", str(uid), "(%s)" % items)
    if typ != "OK":
        raise ImapSyntaxError("FETCH failed: %r" % (data,))
    raw = b""
    for x in data:
        if isinstance(x, tuple):
            raw += x[0] + b"\r\n" + x[1]
        elif x is not None:
            raw += x
    m = re.match(rb"\d+ \(", raw)
    if not m:
        raise ImapSyntaxError("bad FETCH response %r" % raw[:80])
    pos, out = m.end(), {}
    while pos < len(raw) and raw[pos:pos + 1] != b")":
        nm = re.compile(rb"[^ ()\"{\r\n]+").match(raw, pos)
        if not nm:
            raise ImapSyntaxError("bad FETCH item at %r" % raw[pos:pos + 40])
        name = nm.group(0).decode()
        start = nm.end() + 1
        value, end = _parse_value(raw, start, 0)
        out[name.upper()] = value if name.upper().startswith("BODY[") \
            else raw[start:end]
        pos = end + 1 if raw[end:end + 1] == b" " else end
    return out


def imap_part_fetcher(conn, uid):
    """part_fetcher for check_message() backed by UID FETCH BODY.PEEK."""
    def fetch(section):
        items = imap_fetch_items(conn, uid, "BODY.PEEK[%s]" % section)
        for name, value in items.items():
            if name.startswith("BODY["):
                return value or b""
        raise ImapSyntaxError("no BODY[%s] in response" % section)
    return fetch


def parse_bodystructure(value, extended=True):
    """Turn a parsed BODYSTRUCTURE list into a dict tree:
    {'type','subtype','params','children'|..., 'size','lines',
     'envelope','message'}"""
    if not isinstance(value, list) or not value:
        raise ImapSyntaxError("body is not a list")
    if isinstance(value[0], list):
        children = []
        i = 0
        while i < len(value) and isinstance(value[i], list):
            children.append(parse_bodystructure(value[i], extended))
            i += 1
        if i >= len(value) or not isinstance(value[i], bytes):
            raise ImapSyntaxError("multipart subtype missing")
        node = {"type": "multipart", "subtype": _s(value[i]).lower(),
                "children": children, "params": []}
        if extended and i + 1 < len(value):
            node["params"] = _params(value[i + 1])
            _parse_ext(node, value[i + 2:])
        return node
    if len(value) < 7:
        raise ImapSyntaxError("body-type-1part too short")
    for k in (0, 1):
        if not isinstance(value[k], bytes):
            raise ImapSyntaxError("type/subtype not a string")
    node = {"type": _s(value[0]).lower(), "subtype": _s(value[1]).lower(),
            "params": _params(value[2]), "id": _s(value[3]),
            "description": _s(value[4]), "encoding": _s(value[5])}
    if not isinstance(value[6], str) or not value[6].isdigit():
        raise ImapSyntaxError("body size not a number")
    node["size"] = int(value[6])
    rest = value[7:]
    if node["type"] == "message" and node["subtype"] == "rfc822" and \
            len(rest) >= 3 and isinstance(rest[0], list) and \
            isinstance(rest[1], list):
        node["envelope"] = rest[0]
        node["message"] = parse_bodystructure(rest[1], extended)
        node["lines"] = int(rest[2])
        rest = rest[3:]
    elif node["type"] == "text":
        if not rest or not isinstance(rest[0], str):
            raise ImapSyntaxError("text part without line count")
        node["lines"] = int(rest[0])
        rest = rest[1:]
    if extended and rest:
        node["md5"] = _s(rest[0]) if not isinstance(rest[0], list) else None
        _parse_ext(node, rest[1:])
    return node


def _parse_ext(node, ext):
    """body-ext: disposition, language, location (after md5/params)."""
    if ext:
        d = ext[0]
        if d is not None:
            if not isinstance(d, list) or len(d) != 2:
                raise ImapSyntaxError("bad disposition")
            node["disposition"] = (_s(d[0]).lower(), _params(d[1]))
    if len(ext) > 1 and ext[1] is not None:
        langs = ext[1] if isinstance(ext[1], list) else [ext[1]]
        node["language"] = [_s(x) for x in langs]
    if len(ext) > 2:
        node["location"] = _s(ext[2])


def parse_dump(out):
    """Parse tests/tools/mime-dump output for one message into
    (records, sections): records maps ENVELOPE/BODY/BODYSTRUCTURE/SIZE to
    bytes, sections maps IMAP section names ("1", "1.MIME", "2.HEADER")
    to bytes. For multi-file output use parse_dump_multi()."""
    return parse_dump_multi(out)[None]


def parse_dump_multi(out):
    """mime-dump FILE... output -> {path: (records, sections)}; a single
    message without FILE records is keyed None."""
    result = {}
    cur = None
    records, sections = {}, {}
    pos = 0
    while pos < len(out):
        nl = out.index(b"\n", pos)
        head = out[pos:nl].decode()
        name, size = head.rsplit(" ", 1)
        size = int(size)
        data = out[nl + 1:nl + 1 + size]
        if len(data) != size or out[nl + 1 + size:nl + 2 + size] != b"\n":
            raise ValueError("bad dump framing at %r" % head)
        pos = nl + 2 + size
        kind, _, number = name.partition(" ")
        if kind == "FILE":
            if records or cur is not None:
                result[cur] = (records, sections)
            cur = data.decode("utf-8", "surrogateescape")
            records, sections = {}, {}
        elif kind in ("MIME", "HEADER"):
            sections[number + "." + kind] = data
        elif kind == "BODY" and number:
            sections[number] = data
        elif kind == "PART":
            pass
        else:
            records[name] = data
    result[cur] = (records, sections)
    return result


def check_syntax(envelope_text, bodystructure_text):
    """Valid IMAP syntax for both; returns (envelope_list, body_tree)."""
    env, rest = parse_imap(envelope_text)
    if rest.strip():
        raise ImapSyntaxError("garbage after ENVELOPE")
    if not isinstance(env, list) or len(env) != 10:
        raise ImapSyntaxError("ENVELOPE must have 10 fields")
    for i in (2, 3, 4, 5, 6, 7):
        if env[i] is not None:
            for a in env[i]:
                if not isinstance(a, list) or len(a) != 4:
                    raise ImapSyntaxError("bad address")
    bs, rest = parse_imap(bodystructure_text)
    if rest.strip():
        raise ImapSyntaxError("garbage after BODYSTRUCTURE")
    return env, parse_bodystructure(bs)


def _norm(b):
    return b.replace(b"\r\n", b"\n")


def _ws(b):
    if b is None:
        return None
    if isinstance(b, str):
        b = b.encode("utf-8", "surrogateescape")
    return b" ".join(b.split())


def _py_bytes(s):
    if isinstance(s, bytes):
        return s
    return s.encode("ascii", "surrogateescape")


def _header_names(hdr):
    names = []
    for i, line in enumerate(_norm(hdr).split(b"\n")):
        if not line or line[:1] in (b" ", b"\t"):
            continue
        if i == 0 and line.startswith(b"From "):
            continue  # mbox From_ line: Python's unixfrom
        if b":" in line:
            names.append(line.split(b":", 1)[0].strip().lower())
    return names


def _env_addrs(lst):
    out = []
    for a in lst or []:
        if a[3] is None:        # group start/end
            continue
        out.append((_s(a[2]) or "") + "@" + (_s(a[3]) or ""))
    return out


def _raw_all(pymsg, name):
    """Raw header values (str with surrogate escapes), in order."""
    return [v for k, v in pymsg._headers if k.lower() == name]


def _check_envelope(env, pymsg, problems, where):
    def last(name):
        # Dovecot's ENVELOPE uses the last instance of a field
        v = _raw_all(pymsg, name)
        return v[-1] if v else None

    subj = last("subject")
    if subj is not None:
        ours = _ws(env[1]) or b""
        if _ws(_py_bytes(subj)) != ours:
            problems.append("%s: ENVELOPE subject %r != %r" %
                            (where, ours, _ws(_py_bytes(subj))))
    for idx, name in ((0, "date"), (8, "in-reply-to"), (9, "message-id")):
        v = last(name)
        if v is None:
            if env[idx] is not None:
                problems.append("%s: ENVELOPE %s should be NIL" %
                                (where, name))
        elif _ws(_py_bytes(v)) != (_ws(env[idx]) or b""):
            problems.append("%s: ENVELOPE %s %r != %r" %
                            (where, name, env[idx], v))
    for idx, name in ((2, "from"), (5, "to"), (6, "cc"), (7, "bcc")):
        raw = last(name)
        if raw is None:
            if env[idx] is not None:
                problems.append("%s: ENVELOPE %s should be NIL" % (where, name))
            continue
        try:
            pairs = email.utils.getaddresses([raw])
        except RecursionError:
            continue  # Python's parser gives up on this one
        # Python keeps 8-bit bytes as surrogates; we decode UTF-8
        pairs = [(n, a.encode("utf-8", "surrogateescape").decode(
            "utf-8", "surrogateescape")) for n, a in pairs]
        py = [a.lower() for _, a in pairs if a.count("@") == 1 and
              " " not in a and a.split("@")[0] and a.split("@")[1]]
        if len(py) != len([a for _, a in pairs if a]):
            continue  # Python saw something odd; not comparable
        ours = [a.lower() for a in _env_addrs(env[idx])]
        if py and py != ours:
            problems.append("%s: ENVELOPE %s %r != %r" % (where, name, ours, py))


def _py_children(part):
    payload = part.get_payload()
    return payload if isinstance(payload, list) else None


def _pair_children(node, kids, prefix, fetch):
    """Pair our body parts with Python's. Dovecot keeps the empty parts
    between back-to-back boundary lines, Python drops them: when the
    counts differ, ignore our parts with no header and no body."""
    ours = [(prefix + str(i), c) for i, c in enumerate(node["children"], 1)]
    if len(ours) != len(kids):
        ours = [(n, c) for n, c in ours
                if not (c.get("size") == 0 and
                        _norm(fetch(n + ".MIME")).strip() == b"")]
    if len(ours) != len(kids):
        return None
    return [(n, c, pc) for (n, c), pc in zip(ours, kids)]


def _walk(node, py, number, fetch, problems, strict, msg_root=False):
    where = "part %s" % (number or "TEXT")
    ptype = py.get_content_type().lower()
    ours_type = node["type"] + "/" + node["subtype"]
    if node["type"] == "multipart":
        kids = _py_children(py) if py.is_multipart() else None
        if kids is None:
            problems.append("%s: multipart for us, %s for Python" %
                            (where, ptype))
            return
        if ours_type != ptype:
            problems.append("%s: type %s != %s" % (where, ours_type, ptype))
        pairs = _pair_children(node, kids, number + "." if number else "",
                               fetch)
        if pairs is None:
            problems.append("%s: %d children != %d in Python" %
                            (where, len(node["children"]), len(kids)))
            return
        for num, c, pc in pairs:
            _walk(c, pc, num, fetch, problems, strict)
        _check_params(node, py, where, problems)
        return
    if ours_type != ptype:
        problems.append("%s: type %s != %s" % (where, ours_type, ptype))
        return
    _check_params(node, py, where, problems)
    if not (msg_root and not _raw_all(py, "content-type") and
            not _raw_all(py, "mime-version")):
        # (Dovecot ignores Content-* of a message that is not MIME)
        _check_encoding_disposition(node, py, where, problems)
    num = number or "1"
    body = fetch(num)
    if len(body) != node["size"]:
        problems.append("%s: BODYSTRUCTURE size %d != %d bytes fetched" %
                        (where, node["size"], len(body)))
    if node["type"] == "text" and body.count(b"\n") != node["lines"]:
        problems.append("%s: %d lines != %d" %
                        (where, node["lines"], body.count(b"\n")))
    if number:
        mime = fetch(num + ".MIME")
        py_names = [k.lower().encode("ascii", "surrogateescape")
                    for k, _ in py._headers]
        if _header_names(mime) != py_names:
            problems.append("%s: MIME header fields %r != %r" %
                            (where, _header_names(mime), py_names))
    if "message" in node:
        kids = _py_children(py)
        if not kids or len(kids) != 1:
            problems.append("%s: message/rfc822 not parsed by Python" % where)
            return
        if body.count(b"\n") != node["lines"]:
            problems.append("%s: %d lines != %d" %
                            (where, node["lines"], body.count(b"\n")))
        names = [k.lower().encode("ascii", "surrogateescape")
                 for k, _ in kids[0]._headers]
        if _header_names(fetch(num + ".HEADER")) != names:
            problems.append("%s: HEADER fields %r != %r" % (
                where, _header_names(fetch(num + ".HEADER")), names))
        _check_envelope(node["envelope"], kids[0], problems, where)
        _walk_message(node["message"], kids[0], num + ".", fetch,
                      problems, strict)
        return
    if py.is_multipart() or node["type"] == "message":
        return  # Python parses message/* payloads into objects
    # the raw payload: get_payload() would decode 8-bit text by charset
    payload = py._payload
    if not isinstance(payload, (str, bytes)):
        return
    if _norm(crlf(_py_bytes(payload))) != _norm(body):
        problems.append("%s: body bytes differ (%d vs %d)" %
                        (where, len(body), len(_py_bytes(payload))))


def _walk_message(node, py, prefix, fetch, problems, strict):
    if node["type"] == "multipart":
        # the multipart itself has no number of its own
        kids = _py_children(py) if py.is_multipart() else None
        if kids is None:
            problems.append("%s: multipart for us, %s for Python" %
                            (prefix or "message", py.get_content_type()))
            return
        if node["type"] + "/" + node["subtype"] != py.get_content_type():
            problems.append("%s: type multipart/%s != %s" %
                            (prefix or "message", node["subtype"],
                             py.get_content_type()))
        pairs = _pair_children(node, kids, prefix, fetch)
        if pairs is None:
            problems.append("%s: %d children != %d in Python" %
                            (prefix or "message", len(node["children"]),
                             len(kids)))
            return
        _check_params(node, py, prefix or "message", problems)
        for num, c, pc in pairs:
            _walk(c, pc, num, fetch, problems, strict)
    else:
        _walk(node, py, prefix + "1" if prefix else "", fetch, problems,
              strict, msg_root=True)


def _check_encoding_disposition(node, py, where, problems):
    cte = _raw_all(py, "content-transfer-encoding")
    if cte:
        v = cte[0].strip().lower()
        if re.fullmatch(r"[a-z0-9._-]+", v) and \
                node["encoding"].lower() != v:
            problems.append("%s: encoding %r != %r" %
                            (where, node["encoding"], v))
    elif node["encoding"].lower() != "7bit":
        problems.append("%s: encoding %r without the header" %
                        (where, node["encoding"]))
    cd = _raw_all(py, "content-disposition")
    if not cd:
        if node.get("disposition") is not None:
            problems.append("%s: disposition without the header" % where)
        return
    try:
        pyd = py.get_content_disposition()
        pyname = py.get_param("filename", header="content-disposition")
    except Exception:
        return
    ours = node.get("disposition")
    if pyd and re.fullmatch(r"[a-z0-9._-]+", pyd):
        if ours is None or ours[0] != pyd:
            problems.append("%s: disposition %r != %r" % (where, ours, pyd))
            return
        if isinstance(pyname, str) and "\\" not in pyname:
            names = [v for n, v in ours[1] if n.lower() == "filename"]
            if names and " ".join(names[0].split()) != \
                    " ".join(pyname.split()):
                problems.append("%s: filename %r != %r" %
                                (where, names[0], pyname))


def _check_params(node, py, where, problems):
    try:
        pyparams = py.get_params(header="content-type", unquote=True)
    except Exception:
        return
    if not pyparams:
        return
    py_map = {}
    for name, value in pyparams[1:]:
        py_map.setdefault(name.lower(), value)
    ours = {}
    for name, value in node["params"]:
        if name is None:
            continue
        ours.setdefault(name.lower().rstrip("*"), (name, value))
    for name, value in py_map.items():
        if not name or name.endswith("*") or re.search(r"\*\d", name):
            continue
        if name not in ours:
            if name == "charset" and node["type"] == "text":
                continue
            problems.append("%s: parameter %s missing" % (where, name))
            continue
        oname, ovalue = ours[name]
        if isinstance(value, tuple):   # RFC 2231 (charset, lang, value)
            pyv = email.utils.collapse_rfc2231_value(value)
            if oname.endswith("*"):
                ov = ovalue.split("'", 2)[-1] if ovalue.count("'") >= 2 \
                    else ovalue
                charset = ovalue.split("'")[0] or "us-ascii"
                try:
                    ov = urllib.parse.unquote(ov, encoding=charset,
                                              errors="replace")
                except LookupError:
                    continue
            else:
                ov = ovalue
            if ov != pyv:
                problems.append("%s: parameter %s %r != %r" %
                                (where, name, ov, pyv))
        elif ovalue != value and " ".join(ovalue.split()) != \
                " ".join(str(value).split()) and \
                ovalue != re.sub(r"\\(.)", r"\1", str(value)):
            # (Python keeps "\x" quoted-pairs other than \\ and \";
            # RFC 5322 and Dovecot unescape them)
            problems.append("%s: parameter %s %r != %r" %
                            (where, name, ovalue, value))


def check_message(raw, envelope_text, bodystructure_text, part_fetcher,
                  malformed=False):
    """Return a list of problems (empty = agrees with Python).

    raw: the message bytes as the server serves them (BODY.PEEK[]; a
    server that prepends Return-Path etc. serves those too; LF or CRLF
    line ends both work). part_fetcher(section) returns the
    bytes of BODY[section] (e.g. "1", "1.2.MIME"). With malformed=True
    only syntax and self-consistency are checked (Python and Dovecot are
    both "right" in different ways about broken MIME)."""
    problems = []
    env, tree = check_syntax(envelope_text, bodystructure_text)
    data = raw
    if data.startswith(b"From ") and not malformed:
        data = data.split(b"\n", 1)[1] if b"\n" in data else b""
    if malformed:
        _self_consistency(tree, "", part_fetcher, problems)
        return problems
    try:
        py = email.message_from_bytes(data, policy=email.policy.compat32)
        _check_envelope(env, py, problems, "message")
        _walk_message(tree, py, "", part_fetcher, problems, True)
    except RecursionError:
        pass  # Python can't parse this message; nothing to compare with
    return problems


def _self_consistency(node, prefix, fetch, problems):
    if node["type"] == "multipart":
        for i, c in enumerate(node["children"], 1):
            _self_part(c, prefix + str(i), fetch, problems)
    else:
        _self_part(node, prefix + "1" if prefix else "1", fetch, problems)


def _self_part(node, number, fetch, problems):
    if node["type"] == "multipart":
        _self_consistency(node, number + ".", fetch, problems)
        return
    body = fetch(number)
    if len(body) != node["size"]:
        problems.append("part %s: size %d != %d fetched" %
                        (number, node["size"], len(body)))
    if "message" in node:
        _self_consistency(node["message"], number + ".", fetch, problems)
