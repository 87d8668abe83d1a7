"""Uploaded material files: accepted by content, stored under generated names, checked against
the item's material rules. Used by the JSON API and the applicant portal alike.

Files live in ``upload_dir`` (outside the web root; ``var/uploads`` beside the database) as
``<uuid hex>`` with mode 0600, fsynced before their row is committed; the client's file name is
kept only as a label. The type is judged by the first bytes (magic numbers), never by the
name or the client's Content-Type.
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

from sqlalchemy import bindparam, insert, select
from sqlalchemy.engine import Engine
from starlette.requests import Request
from starlette.types import Message

from engine import forms, ledger
from engine.forms import FieldError

MAX_UPLOAD = 20 * 1024 * 1024  # one file; the item's max_size_mb may be lower

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
NOT_ACCEPTED = "只接受 PDF、OFD、JPG、PNG、DOC/DOCX、XLS/XLSX 文件（按文件内容判断，不看扩展名）"


@dataclass(frozen=True, slots=True)
class Upload:
    id: str
    filename: str
    content_type: str
    size: int
    sha256: str
    path: str

    @property
    def format(self) -> str:
        return FORMAT_OF.get(self.content_type, "")


def sniff(content: bytes, filename: str = "") -> str | None:
    """The content type by magic bytes, or None when the file is not of an accepted kind."""
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


def _sniff_zip(content: bytes) -> str | None:
    try:
        with zipfile.ZipFile(io.BytesIO(content)) as z:
            names = set(z.namelist())
    except (zipfile.BadZipFile, ValueError, OSError):
        return None
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
    if length.isdigit() and int(length) > limit:
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


def store(db: Engine, upload_dir: Path, content: bytes, filename: str, content_type: str, at: datetime) -> Upload:
    """Write the file (fsynced) and its row; the caller has sniffed ``content_type`` already."""
    upload_id = uuid.uuid4().hex
    digest = hashlib.sha256(content).hexdigest()
    upload_dir.mkdir(parents=True, exist_ok=True)
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
        "created_at": ledger.iso(at),
    }
    with db.begin() as conn:
        ledger.fast_execute(conn, _INSERT, values)
    return row


_T = ledger.uploads
_INSERT = insert(_T)
# built once ("expanding" IN): composing the statement per call costs more than running it
_FETCH = select(_T.c.id, _T.c.filename, _T.c.content_type, _T.c.size, _T.c.sha256, _T.c.path).where(
    _T.c.id.in_(bindparam("ids", expanding=True))
)


def fetch(db: Engine, ids: Iterable[str]) -> dict[str, Upload]:
    """The uploads with these ids that exist."""
    wanted = list(dict.fromkeys(ids))
    if not wanted:
        return {}
    with ledger.read_only(db) as conn:
        rows = conn.execute(_FETCH, {"ids": wanted}).all()
    return {r.id: Upload(r.id, r.filename, r.content_type, int(r.size), r.sha256, r.path) for r in rows}


def material_errors(
    db: Engine, materials: Sequence[Mapping[str, Any]], uploads: Mapping[str, list[str]]
) -> list[FieldError]:
    """Every referenced upload must exist and meet its material's formats and size limit."""
    found = fetch(db, (u for v in uploads.values() for u in v))
    specs = {m["id"]: m for m in materials}
    errors: list[FieldError] = []
    for material_id, upload_ids in uploads.items():
        spec = specs.get(material_id, {})
        field = f"{forms.MATERIALS}.{material_id}"
        for upload_id in upload_ids:
            row = found.get(upload_id)
            if row is None:
                errors.append(FieldError(field, f"上传编号 {upload_id} 不存在，请重新上传", "unknown_upload"))
                continue
            problem = file_problem(spec, row.content_type, row.size)
            if problem is not None:
                errors.append(FieldError(field, problem[1], problem[0]))
    return errors


def file_problem(spec: Mapping[str, Any], content_type: str, size: int) -> tuple[str, str] | None:
    """(code, message) when a file of this type and size does not meet the material's rules."""
    name = spec.get("name", "该材料")
    kind = FORMAT_OF.get(content_type, "")
    if spec.get("formats") and kind not in spec["formats"]:
        allowed = "、".join(str(f).upper() for f in spec["formats"])
        return "wrong_format", f"{name}须为 {allowed} 格式，这个文件是 {kind.upper() or '不接受的类型'}，请换一个文件"
    limit = spec.get("max_size_mb")
    if limit is not None and size > float(limit) * 2**20:
        return "file_too_large", f"{name}单个文件不得超过 {limit} MB，请压缩或拆分后再上传"
    return None


def accept_attribute(spec: Mapping[str, Any]) -> str:
    """What a file input's ``accept`` should list for this material (empty: anything we accept)."""
    return ",".join(ACCEPT_OF[f] for f in spec.get("formats", []) if f in ACCEPT_OF)
