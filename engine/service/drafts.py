"""Applications being filled in on the portal (草稿), one page at a time.

A draft belongs to the browser that started it: the row keeps the sha256 of a random token
held in that browser's HttpOnly cookie, and a draft is only found with the same token. So a
draft's id in a URL (history, logs, a shared screen) reveals nothing by itself. What the
applicant typed is kept as typed (strings), so a page with errors shows it back unchanged;
typing and validation happen on the way to a case (engine.rules.forms).

A JSON API client has no cookie: ``POST /api/drafts`` gives it a draft token instead
(:func:`issue_api`, signed with the server's key; nothing is written until its first file),
for no particular item (``item_code`` is empty). The row's id is the token's sha256, so the
token itself is stored nowhere. Uploads go into a draft (engine.service.uploads)
and only the application filed with the same draft claims them; the draft's idempotency key
``draft:<id>`` is what tells the sweep it was filed. A draft lives ``LIFETIME`` after its last
change; its unclaimed uploads are purged after that (engine.service.uploads.purge_unclaimed).
"""

from __future__ import annotations

import hashlib
import math
import secrets
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import bindparam, delete, func, insert, select, update
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import IntegrityError

from engine.base import keys
from engine.ledger import tables
from engine.ledger.db import dumps, iso, loads, read_only
from engine.ledger.fastpath import fast_execute
from engine.ledger.idempotency import find_idempotency

_T = tables.drafts

LIFETIME = timedelta(days=7)
"""A draft untouched this long is over: its token no longer uploads, its unclaimed files are purged."""
API_ITEM = ""  # an API draft's item_code: it names its item only when the application is filed
MAX_TOKEN = 128


@dataclass(slots=True)
class Draft:
    id: str
    item_code: str
    data: dict[str, dict[str, Any]] = field(default_factory=dict)  # {section: {field: value as typed}}
    uploads: dict[str, list[str]] = field(default_factory=dict)  # {material id: [upload ids]}
    case_number: str | None = None
    query_code: str | None = None
    #: an API draft that filed its application: (the number, whether it is a chain application)
    filed: tuple[str, bool] | None = None


def browser_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


MAX_DATA = 256 * 1024
"""Bytes a draft's answers may take (as stored JSON): every real form fits many times over; a client
pasting megabytes into each field would otherwise grow the database with every page it posts."""


class TooLarge(Exception):
    """A draft whose answers pass :data:`MAX_DATA`: not saved."""


def create(
    db: Engine,
    item_code: str,
    browser_token: str,
    at: datetime,
    client: str | None = None,
    per_hour: int | None = None,
) -> Draft:
    """A new portal draft. With ``per_hour``, an address (``client``, hashed: engine.service.uploads.client_of)
    that began that many drafts within the hour — portal and API alike — is refused (:class:`TooMany`),
    counted in the insert's own write transaction."""
    draft = Draft(secrets.token_hex(16), item_code)
    now = iso(at)
    with db.begin() as conn:
        if per_hour is not None and client is not None:
            _refuse_past(conn, client, at, per_hour)
        row = {"id": draft.id, "item_code": item_code, "browser": browser_hash(browser_token), "client": client}
        fast_execute(conn, _INSERT, row | {"data": "{}", "uploads": "{}", "created_at": now, "updated_at": now})
    return draft


def purge(db: Engine, now: datetime) -> int:
    """Delete the drafts untouched for :data:`LIFETIME` (run by the sweep after the uploads' purge,
    which keeps a filed draft's files by its idempotency key, not by its row). Returns how many."""
    with db.begin() as conn:
        return int(conn.execute(delete(_T).where(_T.c.updated_at < iso(now - LIFETIME))).rowcount)


def get(db: Engine, draft_id: str, browser_token: str, item_code: str) -> Draft | None:
    """The draft, if it exists, is for ``item_code`` and belongs to this browser."""
    if not draft_id or len(draft_id) > 64 or not browser_token:
        return None
    with read_only(db) as conn:
        row = conn.execute(select(_T).where(_T.c.id == draft_id)).first()
    if (
        row is None
        or row.item_code != item_code
        or not secrets.compare_digest(row.browser, browser_hash(browser_token))
    ):
        return None
    return Draft(row.id, row.item_code, loads(row.data), loads(row.uploads), row.case_number, row.query_code)


def save(db: Engine, draft: Draft, at: datetime) -> None:
    """Store the draft's answers and files; :class:`TooLarge` (nothing written) past :data:`MAX_DATA`."""
    data = dumps(draft.data)
    if len(data.encode("utf-8", "surrogatepass")) > MAX_DATA:
        raise TooLarge(f"a draft's answers take at most {MAX_DATA // 1024} KiB")
    with db.begin() as conn:
        conn.execute(
            update(_T)
            .where(_T.c.id == draft.id)
            .values(
                data=data,
                uploads=dumps(draft.uploads),
                updated_at=iso(at),
                case_number=draft.case_number,
                query_code=draft.query_code,
            )
        )


def key(draft_id: str) -> str:
    """The idempotency key an application filed from this draft is stored under (portal and API)."""
    return f"draft:{draft_id}"


class TooMany(Exception):
    """An address began its hour's number of drafts; ``first`` is when the earliest of them was."""

    def __init__(self, first: str) -> None:
        super().__init__(first)
        self.first = first

    def retry_after(self, now: datetime) -> int:
        """Seconds until the hour's first draft leaves the hour (at least 1): the Retry-After."""
        wait = datetime.fromisoformat(self.first) + timedelta(hours=1) - now
        return max(1, math.ceil(wait.total_seconds()))


def issue_api(key: bytes, at: datetime) -> tuple[str, datetime]:
    """A new API draft token and when it ends unless used. Nothing is stored: the token is
    ``expires.random.mac`` (the server's key signs it), and the draft's row begins with its
    first file (:func:`open_api`, in that upload's transaction). So opening a draft costs the
    server no write, and a token it did not issue is refused."""
    expires = str(int((at + LIFETIME).timestamp()))
    nonce = secrets.token_urlsafe(32)
    return f"{expires}.{nonce}.{keys.sign(key, 'draft', expires, nonce)}", at + LIFETIME


_INSERT = insert(_T)
_OPENED_SINCE = select(func.count(), func.min(_T.c.created_at)).where(
    _T.c.client == bindparam("client"), _T.c.created_at >= bindparam("since")
)


def _refuse_past(conn: Connection, client: str, at: datetime, per_hour: int) -> None:
    since = iso(at - timedelta(hours=1))
    n, first = fast_execute(conn, _OPENED_SINCE, {"client": client, "since": since}).rows[0]
    if n >= per_hour:
        raise TooMany(first or iso(at))


def open_api(conn: Connection, draft_id: str, client: str | None, at: datetime, per_hour: int) -> None:
    """The row of an API draft, made with its first file inside that upload's write transaction;
    an address that started ``per_hour`` drafts within the hour is refused (:class:`TooMany`)."""
    now = iso(at)
    if client is not None:
        _refuse_past(conn, client, at, per_hour)
    row = {"id": draft_id, "item_code": API_ITEM, "browser": draft_id, "client": client, "data": "{}"}
    fast_execute(conn, _INSERT, row | {"uploads": "{}", "created_at": now, "updated_at": now})


_FIND_API = select(_T.c.id, _T.c.updated_at, _T.c.case_number, _T.c.query_code).where(
    _T.c.id == bindparam("id"), _T.c.item_code == API_ITEM
)


def find_api(db: Engine, key: bytes, token: str, now: datetime) -> Draft | None:
    """The API draft of this token, with what it filed (``filed``): None for a token this server
    did not issue, or one that ended (unused ``LIFETIME`` after it was issued, or untouched
    ``LIFETIME`` after its last file)."""
    if not token or len(token) > MAX_TOKEN or not token.isascii() or token.count(".") != 2:
        return None
    expires, nonce, mac = token.split(".")
    if not expires.isdigit() or len(expires) > 12 or not keys.verify(key, mac, "draft", expires, nonce):
        return None
    draft_id = browser_hash(token)
    with read_only(db) as conn:  # one read: the row and what the draft filed
        rows = fast_execute(conn, _FIND_API, {"id": draft_id}).rows
        filed = _filed(conn, draft_id)
    if not rows:  # no file yet: the token's own end
        return Draft(draft_id, API_ITEM, filed=filed) if int(expires) > now.timestamp() else None
    if rows[0][1] < iso(now - LIFETIME):
        return None
    _, _, case_number, query_code = rows[0]
    return Draft(draft_id, API_ITEM, case_number=case_number, query_code=query_code, filed=filed)


def _filed(conn: Connection, draft_id: str) -> tuple[str, bool] | None:
    """(the number of the application this draft filed, whether it is a chain application) — a case
    is filed under ``draft:<id>``, a chain application under ``chain:draft:<id>`` (engine.service.chains)
    — or None while the draft is open."""
    case = find_idempotency(conn, key(draft_id))
    if case:
        return case, False
    chain = find_idempotency(conn, "chain:" + key(draft_id))
    return (chain, True) if chain else None


class Filed(Exception):
    """The draft already filed an application of the other kind (a case or a chain application):
    ``number`` is that application's."""

    def __init__(self, number: str, chain: bool) -> None:
        super().__init__(number)
        self.number, self.chain = number, chain


_FILED_MARK = "filed:"


def mark_filed(conn: Connection, idempotency_key: str, number: str, at: datetime) -> None:
    """In the filing's own write transaction: mark the draft whose key ``idempotency_key`` is
    (``draft:<id>`` for a case, ``chain:draft:<id>`` for a chain application; any other key names
    no draft, and nothing is done) as having filed ``number``, or raise :class:`Filed` when it
    already filed the other kind. The mark's key is unique (``filed:draft:<id>`` in ``idempotency``),
    so of two filings racing from one draft — a case and a chain application each look only at their
    own idempotency key — exactly one commits; the read before it also covers drafts filed before
    the mark existed."""
    chain = idempotency_key.startswith("chain:")
    plain = idempotency_key.removeprefix("chain:")
    if not plain.startswith(key("")):
        return
    draft_id = plain.removeprefix(key(""))
    earlier = _filed(conn, draft_id)
    if earlier is not None and earlier[1] != chain:
        raise Filed(*earlier)
    try:
        with conn.begin_nested():
            conn.execute(_INSERT_MARK.values(key=_FILED_MARK + plain, case_number=number, created_at=iso(at)))
    except IntegrityError:  # another filing from this draft marked it first
        raise Filed(find_idempotency(conn, _FILED_MARK + plain) or "", not chain) from None


_INSERT_MARK = insert(tables.idempotency)
