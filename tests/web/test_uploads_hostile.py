"""Issue 15, hole 5: a hostile-upload corpus against POST /api/uploads. Every file an attacker
might send is answered with a clear 4xx in the one error shape (or, for a genuine file under a
lying name, stored under a generated name by its content); nothing is ever written outside the
uploads folder, and nothing answers 500. Real SQLite file, real HTTP via the app."""

from __future__ import annotations

import io
import os
import struct
import time
import uuid
import zipfile
from pathlib import Path
from typing import Any

import pytest
from support.api import Client, World, new_draft
from support.portal import PDF

from engine.ledger import tables
from engine.ledger.db import read_only
from engine.service import uploads
from engine.service.upload_limits import DRAFT_FILES_PER_MINUTE, DRAFT_MAX_FILES

JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00\xff\xd9"
HTML = b"<!DOCTYPE html><html><body><script>alert(document.cookie)</script></body></html>"
SVG = b'<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"><script>alert(1)</script></svg>'


def multipart(filename: bytes, content: bytes, field: bytes = b"file") -> tuple[bytes, str]:
    """A multipart body written byte by byte, so a name may hold anything (NUL, lone surrogates)."""
    boundary = uuid.uuid4().hex
    body = (
        b"--" + boundary.encode() + b"\r\n"
        b'Content-Disposition: form-data; name="' + field + b'"; filename="' + filename + b'"\r\n'
        b"Content-Type: application/octet-stream\r\n\r\n" + content + b"\r\n--" + boundary.encode() + b"--\r\n"
    )
    return body, f"multipart/form-data; boundary={boundary}"


def post(client: Client, draft: str, filename: bytes, content: bytes, language: str = "") -> Any:
    """Upload one file into ``draft``; ``language`` as Accept-Language (the refusal is said in it)."""
    body, ctype = multipart(filename, content)
    headers = {"Content-Type": ctype, "X-Draft-Token": draft} | ({"Accept-Language": language} if language else {})
    return client.post("/api/uploads", content=body, headers=headers)


def office(members: dict[str, bytes], compression: int = zipfile.ZIP_DEFLATED) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", compression) as z:
        for name, data in members.items():
            z.writestr(name, data)
    return out.getvalue()


def zip_bomb() -> bytes:
    """A .docx whose one member inflates 1,000-fold (10 MB of zeros in about 10 KB)."""
    return office({"[Content_Types].xml": b"<Types/>", "word/document.xml": b"\0" * (10 * 2**20)})


def lying_zip() -> bytes:
    """A small .docx whose directory claims a 4 GB member (the sizes are forged, not compressed)."""
    data = bytearray(office({"word/document.xml": b"<w:document/>"}, zipfile.ZIP_STORED))
    central = data.index(b"PK\x01\x02")
    data[central + 24 : central + 28] = struct.pack("<I", 0xFFFFFFF0)  # uncompressed size
    return bytes(data)


# (name sent, content, status, error code): each refused in the one error shape
REFUSED = [
    (b"invoice.pdf", HTML, 415, "unsupported_media_type"),  # a page dressed as a PDF
    (b"photo.jpg", SVG, 415, "unsupported_media_type"),  # an SVG with script dressed as a JPEG
    (b"a.pdf", b"%PDF-1.4\n" + HTML + b"\n%%EOF\n", 415, "unsupported_media_type"),  # PDF/HTML polyglot
    (b"a.jpg", JPEG[:4] + b"<svg onload=alert(1)>" + JPEG[4:], 415, "unsupported_media_type"),  # JPEG/SVG
    (b"a.png", b"\x89PNG\r\n\x1a\n<script>alert(1)</script>", 415, "unsupported_media_type"),  # PNG/HTML
    (b"empty.pdf", b"", 422, "empty_file"),
    (b"setup.pdf", b"MZ\x90\x00" + b"\0" * 200, 415, "unsupported_media_type"),  # an executable
    (b"a.docx", b"PK\x03\x04" + b"\0" * 100, 415, "unsupported_media_type"),  # not a zip at all
    (b"bomb.docx", zip_bomb(), 415, "unsupported_media_type"),
    (b"liar.docx", lying_zip(), 415, "unsupported_media_type"),
    (b"big.pdf", b"%PDF-" + b"0" * (20 * 2**20), 413, "too_large"),  # one byte over 20 MB
]


# names that must never reach the disk as a path, each with a genuine PDF: stored under a
# generated name, the label cleaned
@pytest.fixture
def api(make_api: Any) -> World:
    return make_api()  # type: ignore[no-any-return]


NAMES = [
    b"../../x.pdf",
    b"..\\..\\windows\\x.pdf",
    b"/etc/passwd",
    "长".encode() * 400 + b".pdf",  # 1,200 bytes: the label keeps 255 characters
    b"a\x00b.pdf",
    b"a\x1b[31mb\x07.pdf",
    "a\ud800b.pdf".encode("utf-8", "surrogatepass"),  # a lone surrogate, as bytes
    b"\xff\xfe.pdf",  # not UTF-8
    "营业执照\u202egpj.exe".encode(),  # a right-to-left override hiding the extension
    b"evil.html",  # a genuine PDF under a page's name: stored and later served as a PDF
]


def _tree(root: Path) -> set[Path]:
    return {Path(d) / f for d, _, files in os.walk(root) for f in files}


@pytest.mark.parametrize(("name", "content", "status", "code"), REFUSED, ids=[n.decode() for n, *_ in REFUSED])
def test_hostile_files_are_refused_with_a_clear_4xx(api: World, name: bytes, content: bytes, status: int,
                                                     code: str) -> None:  # fmt: skip
    """Hole 5: web pages, polyglots, executables, broken and bomb-like zips, empty and oversized
    files are refused; none is stored."""
    client, svc, _, upload_dir = api
    started = time.monotonic()
    r = post(client, new_draft(client), name, content)
    assert r.status_code == status, r.text
    body = r.json()
    assert set(body) == {"error"} and body["error"]["status"] == status and body["error"]["code"] == code
    assert not body["error"]["message"].isascii()  # said in Chinese by default …
    english = post(client, new_draft(client), name, content, "en").json()["error"]
    assert english["code"] == code and english["message"].isascii()  # … and in English on request
    if status == 415 and content.startswith((b"%PDF", b"\xff\xd8", b"\x89PNG")):
        assert "markup" in english["message"]  # a polyglot is told why
    assert time.monotonic() - started < 5  # nothing is decompressed
    assert not upload_dir.exists() or not any(upload_dir.iterdir())
    with read_only(svc.db) as conn:
        assert conn.execute(tables.uploads.select()).all() == []


def test_markup_gets_its_own_reason() -> None:
    """Hole 5: a polyglot is refused for its markup; a genuine office file still passes."""
    assert uploads.sniff(b"%PDF-1.4\n<script>") is None and uploads.has_markup(b"%PDF-1.4\n<SCRIPT>")
    assert not uploads.has_markup(PDF) and uploads.sniff(PDF) == "application/pdf"
    docx = office({"[Content_Types].xml": b"<Types/>", "word/document.xml": b"<w:document/>" * 50})
    assert uploads.sniff(docx) == "application/vnd.openxmlformats-officedocument.wordprocessingml.document"


@pytest.mark.parametrize("name", NAMES, ids=range(len(NAMES)))
def test_hostile_names_never_become_paths(api: World, tmp_path: Path, name: bytes) -> None:
    """Hole 5: traversal, very long, NUL/control, lone-surrogate and non-UTF-8 names: the file is
    stored under a generated name inside the uploads folder and the label is harmless."""
    client, svc, _, upload_dir = api
    before = _tree(tmp_path)
    r = post(client, new_draft(client), name, PDF)
    assert r.status_code == 201, r.text
    upload_id = r.json()["upload_id"]
    new = _tree(tmp_path) - before
    files = {p for p in new if not p.name.startswith("cases.db")}
    assert files == {upload_dir / upload_id} and len(upload_id) == 32 and upload_id.isalnum()
    label = uploads.fetch(svc.db, [upload_id])[upload_id].filename
    assert len(label) <= 255 and "/" not in label and "\\" not in label
    assert all(ch.isprintable() for ch in label) and label.encode("utf-8")  # no NUL, control or surrogate


def test_a_name_longer_than_a_header_may_be_is_a_400(api: World) -> None:
    """Hole 5: a name of 5,000 bytes overflows the multipart header: 400, nothing stored."""
    client, _, _, upload_dir = api
    r = post(client, new_draft(client), b"a" * 5000 + b".pdf", PDF)
    assert r.status_code == 400 and r.json()["error"]["code"] == "bad_request"
    assert not upload_dir.exists() or not any(upload_dir.iterdir())


def test_many_small_files_meet_the_rate_and_then_the_draft_total(api: World) -> None:
    """Hole 5: many small files: the 31st in a minute answers 429, the 61st in a draft 413."""
    client, _, clk, upload_dir = api
    draft = new_draft(client)
    for i in range(DRAFT_FILES_PER_MINUTE):
        assert post(client, draft, b"a.pdf", PDF).status_code == 201, i
    r = post(client, draft, b"a.pdf", PDF)
    assert r.status_code == 429 and r.headers["retry-after"] == "60"  # all 30 at 09:00:00; free at 09:01:00
    clk.advance(minutes=1)
    for i in range(DRAFT_MAX_FILES - DRAFT_FILES_PER_MINUTE):
        assert post(client, draft, b"a.pdf", PDF).status_code == 201, i
    clk.advance(minutes=1)
    r = post(client, draft, b"a.pdf", PDF)
    assert r.status_code == 413 and r.json()["error"]["code"] == "too_many_files"
    assert len(list(upload_dir.iterdir())) == DRAFT_MAX_FILES


def test_a_lone_surrogate_or_garbage_in_the_credentials_is_a_4xx(api: World) -> None:
    """Hole 5: a draft token or query code that is not text, and a body that is not multipart."""
    client, _, _, _ = api
    body, ctype = multipart(b"a.pdf", PDF)
    for headers in ({"X-Draft-Token": "\udcff".encode("utf-8", "surrogateescape").decode("latin-1")},
                    {"X-Draft-Token": "x" * 10_000}):  # fmt: skip
        r = client.post("/api/uploads", content=body, headers=headers | {"Content-Type": ctype})
        assert r.status_code == 401, r.text
    r = client.post("/api/uploads", params={"case": "x" * 5000}, content=body,
                    headers={"Content-Type": ctype, "X-Query-Code": "1"})  # fmt: skip
    assert r.status_code == 404, r.text
    draft = new_draft(client)
    r = client.post("/api/uploads", content=PDF, headers={"Content-Type": "application/pdf", "X-Draft-Token": draft})
    assert r.status_code == 415
    r = client.post("/api/uploads", content=b"--x\r\n", headers={"Content-Type": "multipart/form-data; boundary=x",
                                                                  "X-Draft-Token": draft})  # fmt: skip
    assert 400 <= r.status_code < 500, r.text
