"""mime-zoo-free corpus through lib-mail/lib-imap (tests/tools/mime-dump):
ENVELOPE, BODYSTRUCTURE, BODY[n], BODY[n.MIME] agree with Python's email
package (mimecheck.py); malformed messages are served with valid syntax
and self-consistent sizes, without crashing."""
import csv
import os
import subprocess
from concurrent.futures import ThreadPoolExecutor

import pytest

import mimecheck

BUILD = os.environ.get("LOFT_BUILD_DIR", "build-test")
CORPUS = os.environ.get("LOFT_CORPUS", os.path.join(
    os.path.dirname(__file__), "..", "..", "..", "shared", "corpus"))
ZOO = os.path.join(CORPUS, "mime-zoo-free")
TOOL = os.path.join(BUILD, "tests", "tools", "mime-dump")


def _rows(base=None):
    path = os.path.join(base or ZOO, "MANIFEST.tsv")
    if not os.path.exists(path):
        return []
    with open(path, newline="") as f:
        return list(csv.DictReader(f, delimiter="\t"))


def _check(row, dump, base=ZOO):
    path = os.path.join(base, row["maildir_file"])
    with open(path, "rb") as f:
        raw = f.read()
    if dump is None:
        return ["no output"]
    records, sections = dump
    if int(records["SIZE"]) != len(mimecheck.crlf(raw)):
        return ["SIZE mismatch"]
    try:
        return mimecheck.check_message(
            raw, records["ENVELOPE"], records["BODYSTRUCTURE"],
            lambda s: sections.get(s, b""),
            malformed=row["malformed"] == "1")
    except mimecheck.ImapSyntaxError as e:
        return ["syntax: %s" % e]


def _run_batch(rows, base=ZOO):
    """One mime-dump process per batch: ASan start-up is the slow part."""
    paths = [os.path.join(base, r["maildir_file"]) for r in rows]
    p = subprocess.run([TOOL] + paths, capture_output=True, timeout=600)
    if p.returncode != 0:
        return [(r, ["exit %d: %s" % (p.returncode, p.stderr[-2000:])])
                for r in rows]
    dumps = mimecheck.parse_dump_multi(p.stdout)
    if len(paths) == 1:
        dumps = {paths[0]: dumps.get(None)}
    return [(r, _check(r, dumps.get(path), base))
            for r, path in zip(rows, paths)]


@pytest.fixture(scope="module")
def results():
    rows = _rows()
    if not rows:
        pytest.fail("corpus missing: %s" % ZOO)
    if not os.path.exists(TOOL):
        pytest.fail("mime-dump not built: %s" % TOOL)
    batches = [rows[i:i + 50] for i in range(0, len(rows), 50)]
    with ThreadPoolExecutor(max_workers=4) as ex:
        return [x for batch in ex.map(_run_batch, batches) for x in batch]


def test_corpus_is_complete(results):
    assert len(results) == 1301


def test_wellformed_messages_agree_with_python(results):
    bad = ["%s: %s" % (r["maildir_file"], p[:3])
           for r, p in results if r["malformed"] == "0" and p]
    assert bad == []


def test_malformed_messages_are_served(results):
    bad = ["%s: %s" % (r["maildir_file"], p[:3])
           for r, p in results if r["malformed"] == "1" and p]
    assert bad == []


def test_targeted_features_present(results):
    # the interesting cases really went through the comparison
    feats = {}
    for r, _ in results:
        for f in r["features"].split(","):
            feats[f.split("(")[0]] = feats.get(f.split("(")[0], 0) + 1
    for f in ("deep-multipart", "nested-rfc822", "encoded-words",
              "utf8-header", "missing-boundary-param", "NUL"):
        assert feats.get(f, 0) > 0, f


def test_spamassassin_sample_agrees_with_python():
    """Every 5th message of the SpamAssassin corpus: real-world mail."""
    base = os.path.join(CORPUS, "spamassassin")
    rows = _rows(base)[::5]
    assert len(rows) > 1000
    batches = [rows[i:i + 100] for i in range(0, len(rows), 100)]
    with ThreadPoolExecutor(max_workers=4) as ex:
        results = [x for b in ex.map(lambda b: _run_batch(b, base), batches)
                   for x in b]
    bad = ["%s: %s" % (r["maildir_file"], p[:3]) for r, p in results if p]
    assert bad == []
