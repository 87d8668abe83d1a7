"""Pinned catalogue snapshots (engine/ledger/snapshots.py) and idempotency keys (engine/ledger/idempotency.py)."""

from __future__ import annotations

from ledger_support import CATV, T0
from sqlalchemy.engine import Engine

from engine.ledger.idempotency import remember_idempotency
from engine.ledger.snapshots import load_snapshot, save_snapshot


def test_snapshots_and_idempotency(engine: Engine) -> None:
    with engine.begin() as conn:
        assert save_snapshot(conn, CATV, {"items": {"a": {"name": "刻章备案"}}}, T0)
        assert not save_snapshot(conn, CATV, {"other": 1}, T0)
        assert remember_idempotency(conn, "k1", "QQ1", T0) == "QQ1"
        assert remember_idempotency(conn, "k1", "QQ2", T0) == "QQ1"
    with engine.connect() as conn:
        assert load_snapshot(conn, CATV) == {"items": {"a": {"name": "刻章备案"}}}
        assert load_snapshot(conn, "nope") is None
