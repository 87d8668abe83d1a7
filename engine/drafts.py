"""Applications being filled in on the portal (草稿), one page at a time.

A draft belongs to the browser that started it: the row keeps the sha256 of a random token
held in that browser's HttpOnly cookie, and a draft is only found with the same token. So a
draft's id in a URL (history, logs, a shared screen) reveals nothing by itself. What the
applicant typed is kept as typed (strings), so a page with errors shows it back unchanged;
typing and validation happen on the way to a case (engine.forms).
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import insert, select, update
from sqlalchemy.engine import Engine

from engine import ledger

_T = ledger.drafts


@dataclass(slots=True)
class Draft:
    id: str
    item_code: str
    data: dict[str, dict[str, Any]] = field(default_factory=dict)  # {section: {field: value as typed}}
    uploads: dict[str, list[str]] = field(default_factory=dict)  # {material id: [upload ids]}
    case_number: str | None = None
    query_code: str | None = None


def browser_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def create(db: Engine, item_code: str, browser_token: str, at: datetime) -> Draft:
    draft = Draft(secrets.token_hex(16), item_code)
    now = ledger.iso(at)
    with db.begin() as conn:
        conn.execute(
            insert(_T).values(
                id=draft.id,
                item_code=item_code,
                browser=browser_hash(browser_token),
                data="{}",
                uploads="{}",
                created_at=now,
                updated_at=now,
            )
        )
    return draft


def get(db: Engine, draft_id: str, browser_token: str, item_code: str) -> Draft | None:
    """The draft, if it exists, is for ``item_code`` and belongs to this browser."""
    if not draft_id or len(draft_id) > 64 or not browser_token:
        return None
    with ledger.read_only(db) as conn:
        row = conn.execute(select(_T).where(_T.c.id == draft_id)).first()
    if (
        row is None
        or row.item_code != item_code
        or not secrets.compare_digest(row.browser, browser_hash(browser_token))
    ):
        return None
    return Draft(
        row.id, row.item_code, ledger.loads(row.data), ledger.loads(row.uploads), row.case_number, row.query_code
    )


def save(db: Engine, draft: Draft, at: datetime) -> None:
    with db.begin() as conn:
        conn.execute(
            update(_T)
            .where(_T.c.id == draft.id)
            .values(
                data=ledger.dumps(draft.data),
                uploads=ledger.dumps(draft.uploads),
                updated_at=ledger.iso(at),
                case_number=draft.case_number,
                query_code=draft.query_code,
            )
        )
