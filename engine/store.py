"""The embedded database (SQLite through SQLAlchemy Core, so PostgreSQL can follow).

For now it records which catalogue versions were served and when, so a later
case can be pinned to the exact catalogue version it was filed under.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import Column, DateTime, Integer, MetaData, String, Table, create_engine, insert, select
from sqlalchemy.engine import Engine

metadata = MetaData()

catalogue_versions = Table(
    "catalogue_versions",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("version", String(64), nullable=False),
    Column("root", String(1024), nullable=False),
    Column("items", Integer, nullable=False),
    Column("loaded_at", DateTime(timezone=True), nullable=False),
)

Clock = Callable[[], datetime]


def utc_now() -> datetime:
    return datetime.now(UTC)


class Store:
    def __init__(self, url_or_path: str | Path, clock: Clock = utc_now) -> None:
        url = str(url_or_path)
        if "://" not in url:
            path = Path(url)
            path.parent.mkdir(parents=True, exist_ok=True)
            url = f"sqlite:///{path}"
        self.engine: Engine = create_engine(url, future=True)
        self.clock = clock
        metadata.create_all(self.engine)

    def record_catalogue(self, version: str, root: str, items: int) -> None:
        """Note that this catalogue version is live (once per version and root)."""
        with self.engine.begin() as conn:
            last = conn.execute(
                select(catalogue_versions.c.version, catalogue_versions.c.root)
                .order_by(catalogue_versions.c.id.desc())
                .limit(1)
            ).first()
            if last is None or tuple(last) != (version, root):
                conn.execute(
                    insert(catalogue_versions).values(version=version, root=root, items=items, loaded_at=self.clock())
                )

    def catalogue_history(self) -> list[dict[str, object]]:
        with self.engine.connect() as conn:
            rows = conn.execute(select(catalogue_versions).order_by(catalogue_versions.c.id)).mappings().all()
        return [dict(r) for r in rows]

    def close(self) -> None:
        self.engine.dispose()
