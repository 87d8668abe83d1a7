"""Supervision events that a limit records when it is reached (查询码被猜测, 同一地址大量提交申请):
once per subject and window, so a flood leaves one record for supervisors, not one per request."""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, insert, select
from sqlalchemy.exc import IntegrityError

from engine.ledger import tables
from engine.ledger.db import iso

_S = tables.supervision_events


def record_once(
    conn: Connection,
    kind: str,
    prefix: str,
    now: datetime,
    since: str,
    detail: Mapping[str, Any],
    case_id: int | None = None,
    department: str | None = None,
) -> None:
    """Record a ``kind`` event keyed ``prefix`` + the instant, unless one with that prefix was recorded
    after ``since`` (an ISO instant: the window's start)."""
    known = conn.execute(
        select(_S.c.id).where(_S.c.kind == kind, _S.c.at > since, _S.c.key.startswith(prefix, autoescape=True))
    ).first()
    if known is not None:
        return
    try:
        with conn.begin_nested():
            conn.execute(
                insert(_S).values(
                    case_id=case_id,
                    department=department,
                    kind=kind,
                    key=(prefix + iso(now))[:200],
                    at=iso(now),
                    detail=json.dumps(detail, ensure_ascii=False, sort_keys=True),
                )
            )
    except IntegrityError:  # the same instant recorded already
        pass
