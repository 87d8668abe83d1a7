"""The limits every upload counts against, and their refusals: per draft or case (files, their
total, files a minute) and per client address (files a minute, bytes a day, API drafts an hour;
:class:`Limits`, the numbers are the module constants below, the per-address ones set by a
server's environment, :func:`limits_from_env`). New uploads are refused (507) while the uploads
folder's disk has less free space than ``max(MIN_FREE_BYTES, MIN_FREE_FRACTION)``. The limits are
checked again in the transaction that adds an upload's row (engine.service.uploads.store), so
concurrent uploads cannot pass them together."""

from __future__ import annotations

import hashlib
import math
import shutil
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import and_, bindparam, case, func, select
from sqlalchemy.engine import Connection
from starlette.requests import HTTPConnection

from engine.base import addresses
from engine.base.i18n import N_, gettext, ngettext
from engine.ledger import tables
from engine.ledger.db import iso, lock
from engine.ledger.fastpath import fast_execute
from engine.service import drafts

_T = tables.uploads
MIB = 2**20
# An item lists at most 12 materials, most limited to 5 or 10 MB (a chain joins a few items):
DRAFT_MAX_FILES = 60  # files in one draft, or uploaded for one case's supplements
DRAFT_MAX_BYTES = 200 * MIB  # their total: ten files of the largest size
DRAFT_FILES_PER_MINUTE = 30  # into one draft or case
CLIENT_FILES_PER_MINUTE = 60  # from one address (an office behind one proxy shares it)
CLIENT_BYTES_PER_DAY = 2048 * MIB  # from one address in 24 hours
CLIENT_DRAFTS_PER_HOUR = 60  # API drafts one address may begin (counted at each one's first file)
# applications (cases and chain applications, portal and API) one address may file (engine.service.filing_limits):
# a person files a few; a hall's own PCs file as signed-in staff (代办), who are not counted
CLIENT_FILINGS_PER_HOUR = 10
CLIENT_FILINGS_PER_DAY = 30
MIN_FREE_BYTES = 1024 * MIB  # refuse uploads (507) before the uploads disk has less free than this …
MIN_FREE_FRACTION = 0.05  # … or than this share of the disk, whichever is more


@dataclass(frozen=True, slots=True)
class Limits:
    """The limits one server applies (the module constants; tests pass smaller ones)."""

    draft_max_files: int = DRAFT_MAX_FILES
    draft_max_bytes: int = DRAFT_MAX_BYTES
    draft_files_per_minute: int = DRAFT_FILES_PER_MINUTE
    client_files_per_minute: int = CLIENT_FILES_PER_MINUTE
    client_bytes_per_day: int = CLIENT_BYTES_PER_DAY
    client_drafts_per_hour: int = CLIENT_DRAFTS_PER_HOUR
    client_filings_per_hour: int = CLIENT_FILINGS_PER_HOUR
    client_filings_per_day: int = CLIENT_FILINGS_PER_DAY
    min_free_bytes: int = MIN_FREE_BYTES
    min_free_fraction: float = MIN_FREE_FRACTION


LIMITS = Limits()


# The per-address limits a server may set (a center whose applicants all arrive through one
# proxy or intranet NAT address shares them): variable -> (Limits field, unit, factor, default).
ENV_LIMITS = {
    "YANGGUANG_UPLOAD_FILES_PER_MINUTE_PER_ADDRESS": ("client_files_per_minute", "files", 1, CLIENT_FILES_PER_MINUTE),
    "YANGGUANG_UPLOAD_MB_PER_DAY_PER_ADDRESS": ("client_bytes_per_day", "MB", MIB, CLIENT_BYTES_PER_DAY // MIB),
    "YANGGUANG_DRAFTS_PER_HOUR_PER_ADDRESS": ("client_drafts_per_hour", "drafts", 1, CLIENT_DRAFTS_PER_HOUR),
    "YANGGUANG_FILINGS_PER_HOUR_PER_ADDRESS": ("client_filings_per_hour", "filings", 1, CLIENT_FILINGS_PER_HOUR),
    "YANGGUANG_FILINGS_PER_DAY_PER_ADDRESS": ("client_filings_per_day", "filings", 1, CLIENT_FILINGS_PER_DAY),
}


def limits_from_env(environ: Mapping[str, str]) -> Limits:
    """The server's limits: the defaults, with the per-address ones :data:`ENV_LIMITS` names taken
    from ``environ`` where set. Raises ValueError naming the variable and what it must be."""
    changes: dict[str, int] = {}
    for name, (attr, unit, factor, default) in ENV_LIMITS.items():
        raw = environ.get(name, "").strip()
        if not raw:
            continue
        if not (raw.isascii() and raw.isdigit()) or int(raw) < 1 or len(raw) > 12:
            raise ValueError(
                f"{name} must be a whole number of {unit}, at least 1 (default {default}; at most 12 digits), "
                f"not {raw!r}"
            )
        changes[attr] = int(raw) * factor
    return Limits(**changes)  # type: ignore[arg-type]


@dataclass(frozen=True, slots=True)
class Owner:
    """Who an upload belongs to: a draft or a case (exactly one), and the hashed client address
    whose limits it counts against (None for staff: a whole office may share one address)."""

    draft: str | None = None
    case: str | None = None
    client: str | None = None


class Refused(Exception):
    """An upload the limits refuse: ``status`` 413 (a draft's total), 429 (a rate; ``retry_after``
    seconds) or 507 (the disk); ``message`` says why and what to do, in the language of the request
    that uploaded (the API answers with it; the portal's pages word it by ``code``: page_message)."""

    def __init__(self, status: int, code: str, message: str, retry_after: int | None = None) -> None:
        super().__init__(message)
        self.status, self.code, self.message, self.retry_after = status, code, message, retry_after


# the limits' words, shared by the API's refusal and the portal's page
TOO_OFTEN = N_("上传过于频繁，请 %(seconds)s 秒后再试")
TOO_LARGE = N_("本申请的文件合计不得超过 %(mb)s MB，请压缩或删去不需要的文件")
NO_ROOM = N_("服务器存储空间不足，暂时不能接收文件，请稍后再试或到窗口办理")


def page_message(e: Refused, limits: Limits = LIMITS) -> str:
    """What the portal's materials page says about a refused file (in the page's language)."""
    if e.code == "too_many_requests":
        return gettext(TOO_OFTEN) % {"seconds": e.retry_after}
    if e.code == "too_many_files":
        return gettext("本申请的文件已达上限（%(files)s 个），请删去不需要的文件") % {"files": limits.draft_max_files}
    if e.code == "too_large":
        return gettext(TOO_LARGE) % {"mb": limits.draft_max_bytes // MIB}
    return gettext(NO_ROOM)


def client_of(address: str) -> str:
    """The stored form of a client address: its sha256 (limits need equality only)."""
    return hashlib.sha256(address.encode("utf-8", "replace")).hexdigest()


def client(request: HTTPConnection) -> str:
    """The stored form of the address this request counts as (engine.base.addresses)."""
    return client_of(addresses.of(request))


def check_room(upload_dir: Path, size: int, limits: Limits = LIMITS) -> None:
    """Refuse (507) a file of ``size`` bytes that would leave the uploads disk with less free space
    than ``max(min_free_bytes, min_free_fraction of the disk)``: the database and the logs share it."""
    upload_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    usage = shutil.disk_usage(upload_dir)
    floor = max(limits.min_free_bytes, math.ceil(limits.min_free_fraction * usage.total))
    if usage.free - size < floor:
        raise Refused(507, "insufficient_storage", gettext(NO_ROOM))


def _usage(where: Any, since: str) -> Any:
    """files, bytes, files since ``since`` and the first of those, of the uploads ``where`` picks:
    one prebuilt statement per owner kind (run by ledger.fast_execute: the limits are checked in
    every upload's write transaction, where SQLAlchemy's per-statement work would cost more than SQLite's)."""
    recent = _T.c.created_at > bindparam(since)
    return select(
        func.count(),
        func.coalesce(func.sum(_T.c.size), 0),
        func.coalesce(func.sum(case((recent, 1), else_=0)), 0),
        func.min(case((recent, _T.c.created_at))),
    ).where(where)


_BY_DRAFT = _usage(_T.c.draft == bindparam("owner"), "minute")
_BY_CASE = _usage(_T.c.case_number == bindparam("owner"), "minute")
# an address's uploads of the last day (the index on client, created_at): bytes in the day, files in the minute
_BY_CLIENT = _usage(and_(_T.c.client == bindparam("owner"), _T.c.created_at > bindparam("day")), "minute")


def check_quota(conn: Connection, owner: Owner, size: int, now: datetime, limits: Limits = LIMITS) -> None:
    """Refuse a file of ``size`` bytes that would take ``owner`` past a limit (413 or 429)."""
    lock(conn, "uploads")  # PostgreSQL: uploads count and are counted one after the other, as on SQLite
    minute = iso(now - timedelta(minutes=1))
    if owner.draft is not None or owner.case is not None:
        stmt, who = (_BY_DRAFT, owner.draft) if owner.draft is not None else (_BY_CASE, owner.case)
        n, total, recent, first = fast_execute(conn, stmt, {"owner": who, "minute": minute}).rows[0]
        if n >= limits.draft_max_files:
            words = gettext("本申请已有 %(count)s 个文件，至多 %(files)s 个；请删去不需要的文件")
            raise Refused(413, "too_many_files", words % {"count": n, "files": limits.draft_max_files})
        if int(total) + size > limits.draft_max_bytes:
            words = gettext(TOO_LARGE) % {"mb": limits.draft_max_bytes // MIB}
            raise Refused(413, "too_large", words)
        _past(int(recent) + 1, limits.draft_files_per_minute, first, now, timedelta(minutes=1))
    if owner.client is not None:
        day = iso(now - timedelta(days=1))
        params = {"owner": owner.client, "minute": minute, "day": day}
        n, total, recent, first = fast_execute(conn, _BY_CLIENT, params).rows[0]
        _past(int(recent) + 1, limits.client_files_per_minute, first, now, timedelta(minutes=1))
        if int(total) + size > limits.client_bytes_per_day:
            oldest = fast_execute(conn, _FIRST_OF_CLIENT, {"owner": owner.client, "day": day}).rows[0][0]
            _past(limits.client_bytes_per_day + 1, limits.client_bytes_per_day, oldest, now, timedelta(days=1))


_FIRST_OF_CLIENT = select(func.min(_T.c.created_at)).where(
    _T.c.client == bindparam("owner"), _T.c.created_at > bindparam("day")
)


def open_draft(conn: Connection, owner: Owner, at: datetime, limits: Limits) -> None:
    """drafts.open_api, with its hour's limit answered as every upload limit is (429, Retry-After)."""
    assert owner.draft is not None
    try:
        drafts.open_api(conn, owner.draft, owner.client, at, limits.client_drafts_per_hour)
    except drafts.TooMany as exc:
        seconds = exc.retry_after(at)
        words = ngettext(
            "新建草稿过于频繁，请 %(seconds)s 秒后再试", "新建草稿过于频繁，请 %(seconds)s 秒后再试", seconds
        )
        raise Refused(429, "too_many_requests", words % {"seconds": seconds}, seconds) from None


def _past(used: int, limit: int, first: str | None, now: datetime, window: timedelta) -> None:
    """429 when ``used`` passes ``limit``; Retry-After: when the first counted upload (``first``)
    leaves the ``window``."""
    if used <= limit:
        return
    wait = datetime.fromisoformat(first) + window - now if first else window
    seconds = max(1, math.ceil(wait.total_seconds()))
    raise Refused(429, "too_many_requests", gettext(TOO_OFTEN) % {"seconds": seconds}, seconds)
