"""Signed checkpoints of the case record: what lets an outside auditor check it.

Every sweep (engine.supervision.sweep.sweep) that finds more events than the last checkpoint covers signs a
new one: the RFC 9162 tree head (engine.ledger.merkle) over every event in ``events.id`` order, signed with
the center's Ed25519 key (engine.base.keys; a file beside the database, never in it) and stored in
``checkpoints`` (append-only, migration 22). They are published at ``GET /transparency/checkpoints``
(engine.web.transparency) with the public keys that signed them.

What is signed is :func:`signed_text`, UTF-8::

    yangguang checkpoint v1
    <origin: the center's id>
    <tree size>
    <tree head, 64 hex digits>
    <signed at, ISO 8601 UTC>
    <key id>

An auditor who saved that JSON earlier runs ``yangguang audit verify --checkpoints FILE --public-key
KEY`` against today's database (or a copy of it): each checkpoint's signature must verify with a key
the auditor holds, and a consistency proof (RFC 9162 §2.1.4) from the checkpoint's tree to today's
must hold, so nothing before it was rewritten, deleted, inserted or reordered since it was published.
"""

from __future__ import annotations

import base64
import binascii
import json
import logging
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, NamedTuple

from sqlalchemy import func, insert, select, update
from sqlalchemy.engine import Connection, Engine

from engine.base import keys
from engine.ledger import tables
from engine.ledger.db import iso, place, read_only
from engine.ledger.merkle import MerkleTree, leaf_data, verify_consistency

__all__ = [
    "Checkpoint",
    "Finding",
    "check",
    "checkpoint",
    "listing",
    "parse_published",
    "signed_text",
    "sweep",
]

log = logging.getLogger("yangguang.transparency")
FORMAT = "yangguang checkpoint v1"
LIST_DEFAULT, LIST_MAX = 100, 1000  # checkpoints per answer of GET /transparency/checkpoints
_CP, _KEYS, _EV = tables.checkpoints, tables.checkpoint_keys, tables.events


@dataclass(frozen=True, slots=True)
class Checkpoint:
    origin: str
    tree_size: int
    root: str  # hex
    signed_at: str
    key_id: str
    signature: str  # base64

    def message(self) -> bytes:
        return signed_text(self.origin, self.tree_size, self.root, self.signed_at, self.key_id)


class Finding(NamedTuple):
    """One thing wrong with a checkpoint: its tree size, a kind and what it means."""

    tree_size: int
    kind: str  # bad_signature | unknown_key | events_missing | inconsistent
    message: str


def signed_text(origin: str, tree_size: int, root: str, signed_at: str, key_id: str) -> bytes:
    return f"{FORMAT}\n{origin}\n{tree_size}\n{root}\n{signed_at}\n{key_id}\n".encode()


# ---------------------------------------------------------------------------------------
# Making checkpoints
# ---------------------------------------------------------------------------------------


def leaves(conn: Connection) -> list[bytes]:
    """Every event's leaf data, in ``events.id`` order: the order the record was written in."""
    return [leaf_data(str(h)) for (h,) in conn.execute(select(_EV.c.hash).order_by(_EV.c.id))]


def register_key(conn: Connection, public: bytes, at: datetime) -> str:
    """List a public key (once); its key id."""
    kid = keys.key_id(public)
    if conn.execute(select(_KEYS.c.key_id).where(_KEYS.c.key_id == kid)).first() is None:
        conn.execute(
            insert(_KEYS).values(key_id=kid, public_key=base64.b64encode(public).decode("ascii"), created_at=iso(at))
        )
    return kid


def retire_other_keys(conn: Connection, current: str, at: datetime) -> None:
    """Mark every listed key but ``current`` retired (they stay listed: old checkpoints name them)."""
    conn.execute(
        update(_KEYS).where(_KEYS.c.key_id != current, _KEYS.c.retired_at.is_(None)).values(retired_at=iso(at))
    )


def checkpoint(db: Engine, origin: str, now: datetime, key_path: Path | None = None) -> Checkpoint | None:
    """Sign and store a checkpoint when the record has grown since the last one; the new checkpoint, or
    None (nothing new, or an in-memory database, with no place to find the key). KeyUnavailable when the key
    cannot be used. The key is found beside the database (engine.ledger.db.place: a server's database in the
    data folder)."""
    if key_path is None:
        file = place(db)
        if file is None:
            return None
        key_path = keys.signing_key_path(file)
    private = keys.load_signing_key(key_path)  # first: without a key nothing below is worth reading
    with read_only(db) as conn:  # one snapshot: the size and the leaves agree
        last = conn.execute(select(func.coalesce(func.max(_CP.c.tree_size), 0))).scalar_one()
        size = conn.execute(select(func.count()).select_from(_EV)).scalar_one()
        if size <= last:
            return None
        root = MerkleTree(leaves(conn)).root().hex()
    public = keys.public_raw(private)
    at = iso(now)
    kid = keys.key_id(public)
    message = signed_text(origin, size, root, at, kid)
    made = Checkpoint(origin, size, root, at, kid, base64.b64encode(keys.sign_ed25519(private, message)).decode())
    with db.begin() as conn:
        if conn.execute(select(func.coalesce(func.max(_CP.c.tree_size), 0))).scalar_one() >= size:
            return None  # another sweep signed this size or a later one meanwhile
        register_key(conn, public, now)
        conn.execute(insert(_CP).values(**asdict(made)))
    return made


_warned: set[str] = set()


def sweep(db: Engine, center: Mapping[str, Any] | None, now: datetime) -> bool:
    """The sweep's call: a checkpoint if the record grew; whether one was signed. A missing or unreadable
    key is logged (once per problem) and the sweep goes on: the timed rules must not wait for it."""
    try:
        return checkpoint(db, str((center or {}).get("id", "YG")), now) is not None
    except keys.KeyUnavailable as exc:
        if str(exc) not in _warned:
            _warned.add(str(exc))
            log.warning("no checkpoint of the case record is signed: %s", exc)
        return False


# ---------------------------------------------------------------------------------------
# Publishing
# ---------------------------------------------------------------------------------------


def listing(conn: Connection, limit: int = LIST_DEFAULT) -> dict[str, Any]:
    """What GET /transparency/checkpoints answers: the newest ``limit`` checkpoints first, and every key."""
    rows = conn.execute(select(_CP).order_by(_CP.c.tree_size.desc()).limit(limit)).mappings().all()
    key_rows = conn.execute(select(_KEYS).order_by(_KEYS.c.created_at, _KEYS.c.key_id)).mappings().all()
    return {
        "format": FORMAT,
        "hashing": "RFC 9162 Merkle tree head (SHA-256) over the events' hashes in events.id order",
        "keys": [
            {
                "key_id": k["key_id"],
                "algorithm": "Ed25519",
                "public_key": k["public_key"],
                "created_at": k["created_at"],
                "retired_at": k["retired_at"],
            }
            for k in key_rows
        ],
        "checkpoints": [{k: r[k] for k in Checkpoint.__slots__} for r in rows],
    }


# ---------------------------------------------------------------------------------------
# Checking
# ---------------------------------------------------------------------------------------


def parse_published(text: str) -> list[Checkpoint]:
    """Checkpoints from saved JSON: the answer of GET /transparency/checkpoints or its ``checkpoints`` list.
    ValueError saying what is wrong otherwise."""
    try:
        data = json.loads(text)
    except ValueError as exc:
        raise ValueError(f"not JSON ({exc})") from None
    except RecursionError:  # a hostile file nested thousands deep: refused, not a traceback
        raise ValueError("not the JSON of GET /transparency/checkpoints (nested far too deep)") from None
    items = data.get("checkpoints") if isinstance(data, dict) else data
    if not isinstance(items, list) or not items:
        raise ValueError("no checkpoints in it (expected the JSON of GET /transparency/checkpoints)")
    out = []
    for n, item in enumerate(items, 1):
        try:
            cp = Checkpoint(**{k: item[k] for k in Checkpoint.__slots__})
            ok = isinstance(cp.tree_size, int) and cp.tree_size > 0 and len(bytes.fromhex(cp.root)) == 32
            ok = ok and all(isinstance(getattr(cp, k), str) for k in ("origin", "signed_at", "key_id", "signature"))
        except (TypeError, KeyError, ValueError):
            ok = False
        if not ok:
            fields = ", ".join(Checkpoint.__slots__)
            raise ValueError(f"checkpoint {n} is not an object with {fields} (a positive size, a 64-hex-digit root)")
        out.append(cp)
    return out


def check(
    conn: Connection, published: Sequence[Checkpoint], public_keys: Mapping[str, bytes], tree: MerkleTree | None = None
) -> list[Finding]:
    """What is wrong with each checkpoint against the record in ``conn``: its signature under the key it names
    (``public_keys``: key id -> raw key), and the consistency proof from its tree to today's."""
    tree = tree if tree is not None else MerkleTree(leaves(conn))
    today = tree.root()
    found = []
    for cp in published:
        public = public_keys.get(cp.key_id)
        try:
            signature = base64.b64decode(cp.signature, validate=True)
        except (binascii.Error, ValueError):
            signature = b""
        if public is None:
            found.append(Finding(cp.tree_size, "unknown_key", f"signed by key {cp.key_id}, not one of the keys given"))
            continue
        if not keys.verify_ed25519(public, signature, cp.message()):
            found.append(Finding(cp.tree_size, "bad_signature", f"the signature does not verify with key {cp.key_id}"))
            continue
        if cp.tree_size > tree.size:
            found.append(
                Finding(
                    cp.tree_size,
                    "events_missing",
                    f"the checkpoint covers {cp.tree_size} events but the database holds {tree.size}: events deleted",
                )
            )
            continue
        proof = tree.consistency_proof(cp.tree_size)
        if not verify_consistency(cp.tree_size, tree.size, bytes.fromhex(cp.root), today, proof):
            found.append(
                Finding(
                    cp.tree_size,
                    "inconsistent",
                    f"the first {cp.tree_size} events are not those signed at {cp.signed_at}: "
                    "an event before it was rewritten, deleted, inserted or reordered",
                )
            )
    return found


def stored(conn: Connection) -> tuple[list[Checkpoint], dict[str, bytes]]:
    """The database's own checkpoints, oldest first, and the public keys it lists."""
    rows = conn.execute(select(_CP).order_by(_CP.c.tree_size)).mappings().all()
    listed = {}
    for k in conn.execute(select(_KEYS.c.key_id, _KEYS.c.public_key)):
        try:
            listed[str(k.key_id)] = base64.b64decode(str(k.public_key), validate=True)
        except (binascii.Error, ValueError):
            continue
    return [Checkpoint(**{k: r[k] for k in Checkpoint.__slots__}) for r in rows], listed
