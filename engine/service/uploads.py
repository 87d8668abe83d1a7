"""Uploaded material files: accepted by content, stored under generated names, checked against
the item's material rules. Used by the JSON API and the applicant portal alike.

Files live in ``upload_dir`` (outside the web root; ``var/uploads`` beside the database) as
``<uuid hex>`` with mode 0600, fsynced before their row is committed; the client's file name is
kept only as a label. The type is judged by the first bytes (magic numbers), never by the
name or the client's Content-Type; a file whose first kilobyte holds web-page markup (an
HTML/SVG polyglot) and an office file whose zip declares a bomb's worth of content are refused.

Every upload belongs to a draft (engine.service.drafts; the portal's, or an API client's token) or to a
case it supplements, and counts against limits per draft or case and per client address, and the
disk's free space (engine.service.upload_limits). Only the application filed from the same draft
claims it; one no application claimed is purged by the sweep ``drafts.LIFETIME`` after its draft's
last change (:func:`purge_unclaimed`).

A stored file is served (engine.web.desk) as an attachment named after its material, with the
sniffed type's extension and Content-Type (:func:`served_name`, :func:`content_disposition`).
"""

from __future__ import annotations

import hashlib
import io
import os
import uuid
import zipfile
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote

from sqlalchemy import and_, bindparam, delete, exists, insert, or_, select, update
from sqlalchemy.engine import Engine
from starlette.requests import Request
from starlette.types import Message

from engine.base import input_guard
from engine.base.i18n import N_
from engine.ledger import tables
from engine.ledger.db import iso, read_only
from engine.ledger.fastpath import fast_execute
from engine.rules import forms
from engine.rules.forms import FieldError
from engine.service import drafts
from engine.service.upload_limits import LIMITS, MIB, Limits, Owner, check_quota, check_room, open_draft

_T = tables.uploads
MAX_UPLOAD = 20 * MIB  # one file; the item's max_size_mb may be lower
CHECK_BEFORE_READING = MIB  # a larger body is checked against the limits before it is read, too
MAX_UNZIPPED = 200 * MIB  # an office/zip file declaring more content than this is a zip bomb
MAX_ZIP_RATIO = 100  # … and so is one declaring over 100 times its own size
MARKUP = (b"<html", b"<script", b"<svg", b"<!doctype", b"<body", b"<iframe", b"<object", b"<embed", b"<meta")
"""Web-page markup that a real PDF, image or office file never has in its first kilobyte: a
browser (or an old one's sniffing) could run such a file as a page, so it is refused."""


# sniffed content type -> the catalogue's format word (schema: materials[].formats)
FORMAT_OF = {
    "application/pdf": "pdf",
    "image/png": "png",
    "image/jpeg": "jpg",
    "application/ofd": "ofd",
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document": "docx",
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": "xlsx",
    "application/zip": "zip",
    "application/msword": "doc",
    "application/vnd.ms-excel": "xls",
}
# the catalogue's format word -> what a file input's ``accept`` lists
ACCEPT_OF = {
    "pdf": ".pdf,application/pdf",
    "jpg": ".jpg,.jpeg,image/jpeg",
    "png": ".png,image/png",
    "ofd": ".ofd",
    "doc": ".doc",
    "docx": ".docx",
    "xls": ".xls",
    "xlsx": ".xlsx",
    "zip": ".zip",
}
# catalogue messages: translated where they are shown (gettext)
MARKUP_REFUSED = N_("文件开头含有网页代码（HTML、SVG 或脚本），不予接收")
NOT_ACCEPTED = N_("只接受 PDF、OFD、JPG、PNG、DOC/DOCX、XLS/XLSX 文件（按文件内容判断，不看扩展名）")


@dataclass(frozen=True, slots=True)
class Upload:
    id: str
    filename: str
    content_type: str
    size: int
    sha256: str
    path: str
    draft: str | None = None
    case_number: str | None = None

    @property
    def format(self) -> str:
        return FORMAT_OF.get(self.content_type, "")


def sniff(content: bytes, filename: str = "") -> str | None:
    """The content type by magic bytes, or None when the file is not of an accepted kind (or
    carries web-page markup, or is a zip bomb)."""
    if has_markup(content):
        return None
    head = content[:16]
    if head.startswith(b"%PDF-"):
        return "application/pdf"
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if head.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if head.startswith(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"):  # OLE2: .doc or .xls
        return "application/vnd.ms-excel" if filename.lower().endswith(".xls") else "application/msword"
    if head.startswith(b"PK\x03\x04"):
        return _sniff_zip(content)
    return None


def has_markup(content: bytes) -> bool:
    """Whether the first kilobyte holds web-page markup (an HTML/SVG polyglot)."""
    head = content[:1024].lower()
    return any(tag in head for tag in MARKUP)


def _sniff_zip(content: bytes) -> str | None:
    """Judged by the zip's directory alone: nothing is decompressed."""
    try:
        with zipfile.ZipFile(io.BytesIO(content)) as z:
            infos = z.infolist()
    except (zipfile.BadZipFile, ValueError, OSError, EOFError, NotImplementedError):
        return None
    declared = sum(i.file_size for i in infos)
    if declared > MAX_UNZIPPED or declared > MAX_ZIP_RATIO * max(len(content), 1):
        return None
    names = {i.filename for i in infos}
    if "OFD.xml" in names:
        return "application/ofd"
    if "word/document.xml" in names:
        return "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
    if "xl/workbook.xml" in names:
        return "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    return "application/zip"


def limited(request: Request, limit: int, too_large: Callable[[], Exception]) -> Request:
    """``request`` reading at most ``limit`` body bytes: a Content-Length over it, or a body that
    grows past it (chunked, or a lying header), raises ``too_large()`` before more is read."""
    length = request.headers.get("content-length", "")
    if (input_guard.whole(length, 19) or 0) > limit:
        raise too_large()
    received = 0

    async def receive() -> Message:
        nonlocal received
        message = await request.receive()
        received += len(message.get("body", b""))
        if received > limit:
            raise too_large()
        return message

    return Request(request.scope, receive)


def safe_name(name: str | None) -> str:
    """The client's file name as a label: no folders, no control characters, at most 255 characters."""
    base = (name or "").replace("\\", "/").rsplit("/", 1)[-1]
    return "".join(ch for ch in base if ch.isprintable())[:255]


_DRAFTS = tables.drafts
_TOUCH_DRAFT = update(_DRAFTS).where(_DRAFTS.c.id == bindparam("draft_id")).values(updated_at=bindparam("at"))


def store(
    db: Engine,
    upload_dir: Path,
    content: bytes,
    filename: str,
    content_type: str,
    at: datetime,
    owner: Owner | None = None,
    limits: Limits = LIMITS,
) -> Upload:
    """Write the file (fsynced) and its row; the caller has sniffed ``content_type`` already. With
    an ``owner``, the disk and the owner's limits are checked first, and the limits again in the
    transaction that adds the row (so concurrent uploads cannot pass them together): Refused."""
    if owner is not None:
        check_room(upload_dir, len(content), limits)
    upload_id = uuid.uuid4().hex
    digest = hashlib.sha256(content).hexdigest()
    upload_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    path = upload_dir / upload_id
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as fh:
        fh.write(content)
        fh.flush()
        os.fsync(fh.fileno())
    row = Upload(upload_id, safe_name(filename), content_type, len(content), digest, str(path))
    values = {
        "id": row.id,
        "filename": row.filename,
        "content_type": row.content_type,
        "size": row.size,
        "sha256": row.sha256,
        "path": row.path,
        "created_at": iso(at),
    }
    if owner is not None:
        values |= {"draft": owner.draft, "case_number": owner.case, "client": owner.client}
        values["claimed_at"] = values["created_at"] if owner.case is not None else None  # a case owns it now
    try:
        with db.begin() as conn:
            if owner is not None:
                check_quota(conn, owner, len(content), at, limits)
            fast_execute(conn, _INSERT, values)
            if owner is not None and owner.draft is not None:  # an upload keeps its draft alive (drafts.LIFETIME)
                touched = fast_execute(conn, _TOUCH_DRAFT, {"draft_id": owner.draft, "at": values["created_at"]})
                if touched.rowcount == 0:  # an API draft's first file: its row begins here
                    open_draft(conn, owner, at, limits)
    except BaseException:
        path.unlink(missing_ok=True)  # no row, no file
        raise
    return row


_INSERT = insert(_T)
# built once ("expanding" IN): composing the statement per call costs more than running it
_FETCH = select(
    _T.c.id, _T.c.filename, _T.c.content_type, _T.c.size, _T.c.sha256, _T.c.path, _T.c.draft, _T.c.case_number
).where(_T.c.id.in_(bindparam("ids", expanding=True)))


def fetch(db: Engine, ids: Iterable[str]) -> dict[str, Upload]:
    """The uploads with these ids that exist."""
    wanted = list(dict.fromkeys(ids))
    if not wanted:
        return {}
    with read_only(db) as conn:
        rows = conn.execute(_FETCH, {"ids": wanted}).all()
    return {
        r.id: Upload(r.id, r.filename, r.content_type, int(r.size), r.sha256, r.path, r.draft, r.case_number)
        for r in rows
    }


def material_errors(
    db: Engine,
    materials: Sequence[Mapping[str, Any]],
    uploads: Mapping[str, list[str]],
    owner: Owner | None = None,
) -> list[FieldError]:
    """Every referenced upload must exist and meet its material's formats and size limit; with an
    ``owner``, it must also have been uploaded into the same draft (or for the same case)."""
    found = fetch(db, (u for v in uploads.values() for u in v))
    specs = {m["id"]: m for m in materials}
    errors: list[FieldError] = []
    for material_id, upload_ids in uploads.items():
        spec = specs.get(material_id, {})
        field = f"{forms.MATERIALS}.{material_id}"
        for upload_id in upload_ids:
            row = found.get(upload_id)
            if row is None:
                words = N_("上传编号 %(upload)s 不存在，请重新上传")
                errors.append(forms.field_error(field, "unknown_upload", words, upload=upload_id))
                continue
            if owner is not None and (owner == Owner() or (row.draft, row.case_number) != (owner.draft, owner.case)):
                words = N_("上传编号 %(upload)s 不是用本申请的草稿上传的，请用本草稿重新上传")
                errors.append(forms.field_error(field, "foreign_upload", words, upload=upload_id))
                continue
            problem = file_error(field, spec, row.content_type, row.size)
            if problem is not None:
                errors.append(problem)
    return errors


def file_error(field: str, spec: Mapping[str, Any], content_type: str, size: int) -> FieldError | None:
    """The material's rule a file of this type and size breaks, as ``field``'s error (None when it meets
    them); its message is Chinese, as the API answers, and ``text()`` says it in the page's language."""
    name = spec.get("name", "该材料")
    kind = FORMAT_OF.get(content_type, "")
    if spec.get("formats") and kind not in spec["formats"]:
        allowed = tuple(str(f).upper() for f in spec["formats"])
        if not kind:
            words = N_("%(name)s须为 %(allowed)s 格式，这个文件是 不接受的类型，请换一个文件")
            return forms.field_error(field, "wrong_format", words, name=name, allowed=allowed)
        words = N_("%(name)s须为 %(allowed)s 格式，这个文件是 %(kind)s，请换一个文件")
        return forms.field_error(field, "wrong_format", words, name=name, allowed=allowed, kind=kind.upper())
    limit = spec.get("max_size_mb")
    if limit is not None and size > float(limit) * 2**20:
        words = N_("%(name)s单个文件不得超过 %(limit)s MB，请压缩或拆分后再上传")
        return forms.field_error(field, "file_too_large", words, name=name, limit=str(limit))
    return None


def file_problem(spec: Mapping[str, Any], content_type: str, size: int) -> tuple[str, str] | None:
    """(code, message in the page's language) when a file of this type and size does not meet the
    material's rules (the portal's and the progress page's uploads)."""
    found = file_error("", spec, content_type, size)
    return None if found is None else (found.code, found.text())


def accept_attribute(spec: Mapping[str, Any]) -> str:
    """What a file input's ``accept`` should list for this material (empty: anything we accept)."""
    return ",".join(ACCEPT_OF[f] for f in spec.get("formats", []) if f in ACCEPT_OF)


def purge_unclaimed(db: Engine, now: datetime) -> int:
    """Delete (rows and files) the uploads no application claimed: in a draft untouched for
    ``drafts.LIFETIME`` that was never filed (no idempotency key ``draft:<id>``, nor a chain's).
    A filed draft's uploads are marked claimed instead, so each upload is looked at once after
    its first week (``ix_uploads_unclaimed``). Uploaded for a case, or before migration 21:
    claimed from the start. Returns how many were purged."""
    u, d, i = _T, tables.drafts, tables.idempotency
    cutoff = iso(now - drafts.LIFETIME)
    key = drafts.key("")  # "draft:": the portal and the API file a draft's application under it
    old = and_(u.c.claimed_at.is_(None), u.c.created_at < cutoff, u.c.draft.is_not(None))
    filed = or_(
        exists().where(i.c.key.in_([key + u.c.draft, "chain:" + key + u.c.draft])),
        exists().where(d.c.id == u.c.draft, d.c.case_number.is_not(None)),
    )
    stale = and_(old, ~exists().where(d.c.id == u.c.draft, d.c.updated_at >= cutoff))
    with db.begin() as conn:
        conn.execute(update(u).where(old, filed).values(claimed_at=iso(now)))
        rows = conn.execute(select(u.c.id, u.c.path).where(stale)).all()
        for start in range(0, len(rows), 500):
            conn.execute(delete(u).where(u.c.id.in_([r.id for r in rows[start : start + 500]]), stale))
    for r in rows:  # after the commit: a crash in between leaves a file without a row, never the reverse
        Path(r.path).unlink(missing_ok=True)
    return len(rows)


def served_name(label: str, content_type: str, index: int = 0) -> str:
    """A stored file's name when served: its material's name (never the client's), the ``index``-th
    file of it numbered, with the extension of the type its content was sniffed as."""
    base = "".join(ch if ch.isprintable() and ch not in '/\\"' else "_" for ch in label).strip(" .")[:100]
    return f"{base or 'file'}{f'（{index + 1}）' if index else ''}.{FORMAT_OF.get(content_type, 'bin')}"


def served_type(content_type: str) -> str:
    """The Content-Type a stored file is served with: the sniffed one (never text/html)."""
    return content_type if content_type in FORMAT_OF else "application/octet-stream"


def content_disposition(name: str, fallback: str) -> str:
    """An attachment header (RFC 6266) with ``name`` in UTF-8 (RFC 5987) and an ASCII ``fallback``
    for clients that read only ``filename``."""
    plain = "".join(ch for ch in fallback if (ch.isascii() and ch.isalnum()) or ch in "._-") or "file"
    return f"attachment; filename=\"{plain}\"; filename*=UTF-8''{quote(name, safe='')}"
