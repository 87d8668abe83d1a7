"""The catalogue as it was served: frozen snapshots that cases are pinned to, and the history of versions.

A case is decided under the catalogue documents of the day it was filed: the case service saves them once
under their hash (``catalogue_snapshots``) and the case keeps the key, so a later reload of the catalogue
never changes the rules of a case already running. ``catalogue_versions`` notes every version served and
from where.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, insert, select
from sqlalchemy.engine import Connection

from engine.ledger.db import dumps, iso, loads
from engine.ledger.fastpath import Tx, fast_execute
from engine.ledger.tables import catalogue_snapshots, catalogue_versions

__all__ = ["catalogue_history", "load_snapshot", "newest_catalogue", "record_catalogue", "save_snapshot"]


_SNAPSHOT_SAVED = select(catalogue_snapshots.c.version).where(catalogue_snapshots.c.version == bindparam("version"))
_INSERT_SNAPSHOT = insert(catalogue_snapshots)


def save_snapshot(conn: Connection | Tx, version: str, content: Any, at: datetime) -> bool:
    """Freeze the catalogue documents of ``version`` once; return whether they were new. Prebuilt
    statements (engine.ledger.fastpath): a filing saves its item's snapshot in its own write transaction."""
    if fast_execute(conn, _SNAPSHOT_SAVED, {"version": version}).rows:
        return False
    fast_execute(conn, _INSERT_SNAPSHOT, {"version": version, "created_at": iso(at), "content": dumps(content)})
    return True


def load_snapshot(conn: Connection, version: str) -> Any:
    """The frozen catalogue documents of ``version`` (``None`` if never saved)."""
    content = conn.execute(
        select(catalogue_snapshots.c.content).where(catalogue_snapshots.c.version == version)
    ).scalar_one_or_none()
    return loads(content)


def record_catalogue(conn: Connection, version: str, root: str, items: int, at: datetime) -> bool:
    """Note that catalogue ``version`` from ``root`` is being served (once per change of either);
    return whether a row was added."""
    last = conn.execute(
        select(catalogue_versions.c.version, catalogue_versions.c.root)
        .order_by(catalogue_versions.c.id.desc())
        .limit(1)
    ).first()
    if last is not None and tuple(last) == (version, root):
        return False
    conn.execute(insert(catalogue_versions).values(version=version, root=root, items=items, loaded_at=iso(at)))
    return True


def newest_catalogue(conn: Connection) -> tuple[int, str] | None:
    """The id and version of the catalogue history's newest row (server processes of one database poll
    it to notice a version another one put live), or None before the first."""
    row = conn.execute(
        select(catalogue_versions.c.id, catalogue_versions.c.version).order_by(catalogue_versions.c.id.desc()).limit(1)
    ).first()
    return None if row is None else (int(row.id), str(row.version))


def catalogue_history(conn: Connection) -> list[dict[str, Any]]:
    """Every catalogue version served, oldest first."""
    rows = conn.execute(select(catalogue_versions).order_by(catalogue_versions.c.id)).mappings().all()
    return [dict(r) for r in rows]
