"""Pinned catalogue snapshots: the item, its form sections and its fee schedule as a case was filed under
them, named by the hash of their canonical JSON.

A case is decided by the rules it was filed under, never by the live catalogue's (engine.catalogue.pinned).
The store computes an item's snapshot once per catalogue, saves it once per database and, as a snapshot
never changes, keeps every one it has read in memory.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from typing import Any

from sqlalchemy import bindparam, select

from engine.catalogue.model import Catalogue, Document
from engine.ledger import tables
from engine.ledger.db import Tx, loads
from engine.ledger.fastpath import fast_execute
from engine.ledger.snapshots import load_snapshot, save_snapshot
from engine.rules import clock

__all__ = ["SnapshotMissing", "SnapshotStore"]

_CONTENT = select(tables.catalogue_snapshots.c.content).where(
    tables.catalogue_snapshots.c.version == bindparam("version")
)


class SnapshotMissing(LookupError):
    """A case names a snapshot the database does not hold."""


def _canonical(value: Any) -> str:
    return json.dumps(value, sort_keys=True, ensure_ascii=False, separators=(",", ":"), default=str)


class SnapshotStore:
    def __init__(self, catalogue: Catalogue, clock_: clock.Clock) -> None:
        self.catalogue = catalogue
        self.clock = clock_
        #: key -> snapshot, every one computed or read (they never change)
        self.known: dict[str, dict[str, Any]] = {}
        self._keys: dict[str, str] = {}  # item code -> snapshot key under this catalogue
        self._saved: set[str] = set()  # snapshot keys known to be in the database

    def of_item(self, item: Document) -> dict[str, Any]:
        """The live item's snapshot: its data, its form sections and its fee schedule."""
        cat = self.catalogue
        data = cat.data(item)
        forms = {s: cat.data(cat.forms[s]) for s in data.get("form", {}).get("sections", []) if isinstance(s, str)}
        fee = data.get("fee")
        schedule = cat.data(cat.fees[fee["schedule"]]) if isinstance(fee, Mapping) and "schedule" in fee else None
        return {"item": data, "forms": forms, "fee_schedule": schedule, "catalogue_version": cat.version}

    def store(self, conn: Any, item: Document) -> str:
        """Pin the item's documents: computed once per item for this catalogue, saved once per database."""
        code = self.catalogue.data(item)["code"]
        if code not in self._keys:
            snap = self.of_item(item)
            key = hashlib.sha256(_canonical(snap).encode()).hexdigest()[:32]
            self._keys[code] = key
            self.known[key] = snap
        key = self._keys[code]
        if key not in self._saved:
            save_snapshot(conn, key, self.known[key], self.clock.now())
            self._saved.add(key)
        return key

    def read_in(self, conn: Any, key: str) -> dict[str, Any]:
        """The snapshot ``key``, read on ``conn`` the first time; SnapshotMissing when the database lacks it."""
        if key not in self.known:
            if isinstance(conn, Tx):  # runs prebuilt statements only (engine.ledger.db.write_transaction)
                rows = fast_execute(conn, _CONTENT, {"version": key}).rows
                value = loads(rows[0][0]) if rows else None
            else:
                value = load_snapshot(conn, key)
            if value is None:
                raise SnapshotMissing(f"catalogue snapshot {key} is missing")
            self.known[key] = dict(value)
        return self.known[key]
