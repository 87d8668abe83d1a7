"""Signed checkpoints (issue 15, "a record an outside auditor can check", holes 2, 4 and 5): the RFC 9162
Merkle tree, the center's Ed25519 key commands, the sweep that signs, /transparency/checkpoints, and an
auditor holding only saved checkpoints and the public key catching a record rewritten behind them."""

from __future__ import annotations

import base64
import json
import logging
import os
import sqlite3
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from starlette.testclient import TestClient
from support import postgres, tamper

from engine.base import keys
from engine.base.dates import TZ
from engine.cli.main import main
from engine.ledger import transparency
from engine.ledger.db import open_engine
from engine.ledger.events import event_hash
from engine.ledger.merkle import MerkleTree, verify_consistency
from engine.ledger.migrations import migrate
from engine.rules.cases.model import Actor
from engine.rules.clock import ManualClock
from engine.service.cases import CaseService
from engine.service.samples import sample_application
from engine.supervision import sweep as supervision
from engine.web.app import create_app

REPO = Path(__file__).resolve().parents[3]
RESALE = "QQ-REALESTATE-DJ-102"
WINDOW = Actor("window@realestate", "window", "realestate")


# -- the tree (RFC 9162 §2.1) ---------------------------------------------------------------

# the leaves, heads and proofs of the Certificate Transparency reference tests (RFC 6962 hashing, the same
# as RFC 9162's): leaf data "", 00, 10, 2021, 3031, 40414243, 5051525354555657, 606162...6f
LEAVES = ["", "00", "10", "2021", "3031", "40414243", "5051525354555657", "606162636465666768696a6b6c6d6e6f"]
ROOTS = [
    "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
    "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
    "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
    "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
    "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
    "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
    "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
]
PROOFS = {
    (1, 8): [
        "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
        "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
        "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
    ],
    (6, 8): [
        "0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
        "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
        "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    ],
    (2, 5): [
        "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
        "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
    ],
}


def test_tree_heads_and_proofs_are_the_reference_ones() -> None:
    """Hole 4: heads and consistency proofs equal the Certificate Transparency reference values."""
    tree = MerkleTree([bytes.fromhex(x) for x in LEAVES])
    assert [tree.root(n).hex() for n in range(1, 9)] == ROOTS
    assert MerkleTree([]).root().hex() == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"  # H()
    for (m, n), proof in PROOFS.items():
        assert [p.hex() for p in tree.consistency_proof(m, n)] == proof
        assert verify_consistency(
            m, n, bytes.fromhex(ROOTS[m - 1]), bytes.fromhex(ROOTS[n - 1]), tree.consistency_proof(m, n)
        )


def test_every_prefix_is_proven_and_every_change_before_it_is_caught() -> None:
    """Hole 4: for every m <= n <= 20 the proof verifies, and fails once any leaf before m is changed,
    two leaves before m are swapped, or the proof is cut short."""
    data = [bytes([i]) * 32 for i in range(20)]
    tree = MerkleTree(data)
    for n in range(1, 21):
        for m in range(1, n + 1):
            old = tree.root(m)
            assert verify_consistency(m, n, old, tree.root(n), tree.consistency_proof(m, n)), (m, n)
            for i in range(m):
                changed = MerkleTree([b"x" * 32 if j == i else d for j, d in enumerate(data)])
                assert not verify_consistency(m, n, old, changed.root(n), changed.consistency_proof(m, n)), (m, n, i)
            if m >= 2:
                swapped = MerkleTree([data[1], data[0], *data[2:]])
                assert not verify_consistency(m, n, old, swapped.root(n), swapped.consistency_proof(m, n))
            proof = tree.consistency_proof(m, n)
            if proof:
                assert not verify_consistency(m, n, old, tree.root(n), proof[:-1]), (m, n)


# -- the key commands (hole 5) ----------------------------------------------------------------


def cli(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out = capsys.readouterr()
    return code, out.out, out.err


def test_key_create_public_and_clear_errors(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Hole 5: the private key is a 0600 file beside the database, never in it; its public half prints as
    PEM or base64; a missing, duplicate or damaged key is an exit-1 message saying what to do."""
    db = tmp_path / "center.db"
    code, _, err = cli(capsys, "key", "public", "--db", str(db))
    assert code == 1 and f"no signing key at {tmp_path / 'center.checkpoint.key'}" in err
    assert "yangguang key create" in err
    code, out, _ = cli(capsys, "key", "create", "--db", str(db))
    path = tmp_path / "center.checkpoint.key"
    assert code == 0 and str(path) in out
    assert os.stat(path).st_mode & 0o777 == 0o600
    private = keys.load_signing_key(path)
    raw = keys.public_raw(private)
    # the database lists the public key, and holds no private key
    assert postgres.query(db, "SELECT key_id, public_key FROM checkpoint_keys") == [
        (keys.key_id(raw), base64.b64encode(raw).decode())
    ]
    secret = path.read_text().split("-----")[2].strip().replace("\n", "")
    assert secret.encode() not in db.read_bytes()  # (a stand-in file under --store=postgresql: nothing to find)
    code, pem, _ = cli(capsys, "key", "public", "--db", str(db))
    assert code == 0 and pem.startswith("-----BEGIN PUBLIC KEY-----") and keys.parse_public_key(pem) == raw
    code, b64, _ = cli(capsys, "key", "public", "--db", str(db), "--format", "base64")
    assert code == 0 and base64.b64decode(b64.strip()) == raw
    code, _, err = cli(capsys, "key", "create", "--db", str(db))
    assert code == 1 and "already exists" in err and "yangguang key rotate" in err
    path.write_text("not a key\n")
    code, _, err = cli(capsys, "key", "public", "--db", str(db))
    assert code == 1 and "is not an unencrypted PEM private key" in err and "Traceback" not in err


# -- the sweep signs, the site publishes -------------------------------------------------------


@pytest.fixture
def site(tmp_path: Path, reference: Any) -> Iterator[tuple[TestClient, CaseService, ManualClock, Path]]:
    clk = ManualClock(datetime(2026, 3, 6, 9, 0, tzinfo=TZ))
    app = create_app(REPO, tmp_path / "center.db", reference.catalogue, clock=clk, sweep_seconds=0)
    with TestClient(app) as client:
        yield client, app.state.service, clk, tmp_path / "center.db"


def filed(svc: CaseService, key: str) -> str:
    data, uploads = sample_application(svc.catalogue, svc.catalogue.items[RESALE], {})
    return svc.submit(RESALE, data, uploads, Actor("zhang", "applicant"), key).number


def event_hashes(db: Path) -> list[bytes]:
    return [bytes.fromhex(h) for (h,) in postgres.query(db, "SELECT hash FROM events ORDER BY id")]


def test_the_sweep_signs_when_the_record_grew_and_the_site_publishes(
    site: tuple[TestClient, CaseService, ManualClock, Path],
    capsys: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Hole 4: no key, no checkpoint (logged once); then one per sweep that finds new events, signed, over
    exactly the events, listed newest first with the key at /transparency/checkpoints."""
    client, svc, clk, db = site
    a = filed(svc, "a")
    with caplog.at_level(logging.WARNING, "yangguang.transparency"):
        assert "checkpoint_signed" not in supervision.sweep(svc).other
        supervision.sweep(svc)
    assert [r.message for r in caplog.records].count(
        f"no checkpoint of the case record is signed: no signing key at {db.with_name('center.checkpoint.key')}; "
        "create one with `yangguang key create`"
    ) == 1
    assert cli(capsys, "key", "create", "--db", str(db))[0] == 0
    assert supervision.sweep(svc).other["checkpoint_signed"] == 1
    assert "checkpoint_signed" not in supervision.sweep(svc).other  # nothing new: nothing signed
    clk.advance(minutes=5)
    svc.act(a, "accept", WINDOW, {}, 1)
    filed(svc, "b")
    assert supervision.sweep(svc).other["checkpoint_signed"] == 1

    body = client.get("/transparency/checkpoints").json()
    public = keys.public_raw(keys.load_signing_key(db.with_name("center.checkpoint.key")))
    assert [k["key_id"] for k in body["keys"]] == [keys.key_id(public)]
    assert body["keys"][0]["public_key"] == base64.b64encode(public).decode()
    # a's submit; then a's accept and b's submit: 1, then 3 events (the sweep itself wrote none)
    assert [c["tree_size"] for c in body["checkpoints"]] == [3, 1]
    newest = body["checkpoints"][0]
    assert newest["root"] == MerkleTree(event_hashes(db)).root().hex()
    assert newest["origin"] == "qiqihar" and newest["key_id"] == keys.key_id(public)
    assert newest["signed_at"] == "2026-03-06T01:05:00.000000+00:00"  # 09:05 in Beijing
    message = transparency.signed_text("qiqihar", 3, newest["root"], newest["signed_at"], newest["key_id"])
    assert keys.verify_ed25519(public, base64.b64decode(newest["signature"]), message)
    assert [c["tree_size"] for c in client.get("/transparency/checkpoints?limit=1").json()["checkpoints"]] == [3]
    for bad in ("0", "1001", "x"):
        answer = client.get(f"/transparency/checkpoints?limit={bad}")
        assert answer.status_code == 400 and "limit 须为 1 到 1000 的整数" in answer.text
        answer = client.get(f"/transparency/checkpoints?limit={bad}", headers={"Accept-Language": "en"})
        assert answer.status_code == 400 and "limit must be a whole number 1 to 1000" in answer.text


# -- the outside auditor (holes 2 and 4) ---------------------------------------------------------


def copy_of(db: Path, dest: Path) -> Path:
    """The database as an auditor gets it: a consistent copy of the file (or of the PostgreSQL database)."""
    if postgres.copy_database(db, dest):
        return dest
    src, out = sqlite3.connect(db), sqlite3.connect(dest)
    src.backup(out)
    src.close()
    out.close()
    return dest


def test_an_auditor_with_saved_checkpoints_catches_what_nothing_else_can(
    site: tuple[TestClient, CaseService, ManualClock, Path], capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    """Holes 2 and 4: the day's last case deleted whole (no id or number gap), the database's own checkpoints
    deleted with it, passes every check the database alone allows; the checkpoints an auditor saved earlier
    and the public key catch it, as they catch an event rewritten with its chain recomputed."""
    client, svc, _clk, db = site
    cli(capsys, "key", "create", "--db", str(db))
    numbers = [filed(svc, k) for k in ("a", "b", "c")]
    supervision.sweep(svc)
    saved = tmp_path / "saved.json"
    saved.write_text(client.get("/transparency/checkpoints").text)
    pem = tmp_path / "center.pem"
    pem.write_text(cli(capsys, "key", "public", "--db", str(db))[1])
    auditor = ["--checkpoints", str(saved), "--public-key", str(pem)]

    honest = copy_of(db, tmp_path / "honest.db")
    code, out, _ = cli(capsys, "audit", "verify", "--db", str(honest), *auditor)
    assert code == 0, out
    assert out.startswith("ok: 3 cases, 3 events checked") and "2 checkpoints verified" in out  # own + saved

    deleted = copy_of(db, tmp_path / "deleted.db")
    last = numbers[-1]
    tamper(
        deleted,
        f"DELETE FROM events WHERE case_id = (SELECT id FROM cases WHERE number = '{last}')",
        f"DELETE FROM idempotency WHERE case_number = '{last}'",
        f"DELETE FROM cases WHERE number = '{last}'",
        "DELETE FROM checkpoints",
    )
    code, out, _ = cli(capsys, "audit", "verify", "--db", str(deleted))
    assert code == 0, out  # the database alone cannot tell: that is what the saved checkpoints are for
    code, out, _ = cli(capsys, "audit", "verify", "--db", str(deleted), *auditor)
    assert code == 1
    assert (
        "checkpoint:3: error[events_missing]: the published checkpoint: the checkpoint covers 3 events but the "
        "database holds 2: events deleted"
    ) in out

    rewritten = copy_of(db, tmp_path / "rewritten.db")
    row = postgres.query(  # b's submission, filed by somebody else, its chain recomputed
        rewritten,
        "SELECT e.id, c.number, e.seq, e.at, e.actor, e.role, e.action, e.payload, e.catalogue_version,"
        " e.prev_hash FROM events e JOIN cases c ON c.id = e.case_id WHERE c.number = ?",
        (numbers[1],),
    )[0]
    fields = dict(zip(("case_number", "seq", "at", "actor", "role", "action", "payload", "catalogue_version",
                       "prev_hash"), row[1:], strict=True))  # fmt: skip
    fields["payload"] = json.loads(fields["payload"])
    fields["actor"] = "li"
    forged = event_hash(fields)
    tamper(
        rewritten,
        f"UPDATE events SET actor = 'li', hash = '{forged}' WHERE id = {row[0]}",
        f"UPDATE cases SET last_event_hash = '{forged}' WHERE number = '{numbers[1]}'",
        "DELETE FROM checkpoints",
    )
    code, out, _ = cli(capsys, "audit", "verify", "--db", str(rewritten))
    assert code == 0, out  # every chain and row is consistent again
    code, out, _ = cli(capsys, "audit", "verify", "--db", str(rewritten), *auditor)
    assert code == 1 and "checkpoint:3: error[inconsistent]: the published checkpoint: the first 3 events" in out


def test_a_rotated_key_keeps_old_checkpoints_verifiable(
    site: tuple[TestClient, CaseService, ManualClock, Path], capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    """Hole 5: after `key rotate` new checkpoints name the new key, the old key stays listed (retired) and old
    checkpoints verify with it; without it they are named; a doctored checkpoint fails its signature."""
    client, svc, _clk, db = site
    cli(capsys, "key", "create", "--db", str(db))
    old_pem = tmp_path / "old.pem"
    old_pem.write_text(cli(capsys, "key", "public", "--db", str(db))[1])
    filed(svc, "a")
    supervision.sweep(svc)
    code, out, _ = cli(capsys, "key", "rotate", "--db", str(db))
    assert code == 0 and "stays listed" in out
    new_b64 = cli(capsys, "key", "public", "--db", str(db), "--format", "base64")[1].strip()
    filed(svc, "b")
    supervision.sweep(svc)
    body = client.get("/transparency/checkpoints").json()
    old_id, new_id = keys.key_id(keys.parse_public_key(old_pem.read_text())), keys.key_id(base64.b64decode(new_b64))
    assert [(k["key_id"], k["retired_at"] is not None) for k in body["keys"]] == [(old_id, True), (new_id, False)]
    assert [(c["tree_size"], c["key_id"]) for c in body["checkpoints"]] == [(2, new_id), (1, old_id)]
    saved = tmp_path / "saved.json"
    saved.write_text(json.dumps(body))
    both = ["--checkpoints", str(saved), "--public-key", str(old_pem), "--public-key", new_b64]
    code, out, _ = cli(capsys, "audit", "verify", "--db", str(db), *both)
    assert code == 0, out
    code, out, _ = cli(capsys, "audit", "verify", "--db", str(db), "--checkpoints", str(saved), "--public-key", new_b64)
    assert code == 1 and f"checkpoint:1: error[unknown_key]: the published checkpoint: signed by key {old_id}" in out
    body["checkpoints"][0]["tree_size"] = 1  # claims less than was signed
    saved.write_text(json.dumps(body))
    code, out, _ = cli(capsys, "audit", "verify", "--db", str(db), *both)
    assert code == 1 and f"checkpoint:1: error[bad_signature]: the published checkpoint: the signature does not " \
        f"verify with key {new_id}" in out  # fmt: skip


def test_bad_auditor_input_is_a_clear_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Hole 4: the auditor's files are checked before anything is read, each with what to do."""
    db = tmp_path / "c.db"
    migrate(open_engine(db))
    junk = tmp_path / "junk.json"
    junk.write_text("[]")
    code, _, err = cli(capsys, "audit", "verify", "--db", str(db), "--checkpoints", str(junk))
    assert code == 1 and "--checkpoints FILE and --public-key KEY go together" in err
    code, _, err = cli(capsys, "audit", "verify", "--db", str(db), "--checkpoints", str(junk), "--public-key", "AAAA")
    assert code == 1 and "no checkpoints in it" in err
    junk.write_text("[" * 100_000)  # nested far too deep: a clear error, not a traceback (exit 3)
    code, _, err = cli(capsys, "audit", "verify", "--db", str(db), "--checkpoints", str(junk), "--public-key", "AAAA")
    assert code == 1 and "nested far too deep" in err
    junk.write_text('{"checkpoints": [{"tree_size": 1}]}')
    code, _, err = cli(capsys, "audit", "verify", "--db", str(db), "--checkpoints", str(junk), "--public-key", "AAAA")
    assert code == 1 and "checkpoint 1 is not an object with origin, tree_size, root" in err
    good = json.dumps({"checkpoints": [{"origin": "x", "tree_size": 1, "root": "00" * 32, "signed_at": "t",
                                        "key_id": "k", "signature": "s"}]})  # fmt: skip
    junk.write_text(good)
    code, _, err = cli(capsys, "audit", "verify", "--db", str(db), "--checkpoints", str(junk), "--public-key", "AAAA")
    assert code == 1 and "--public-key AAAA: a public key is a PEM PUBLIC KEY block or the base64 of 32 bytes" in err


def test_the_open_data_file_carries_the_signed_checkpoints(
    site: tuple[TestClient, CaseService, ManualClock, Path], capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    """Hole 4: checkpoints are published as open data too — the same rows and keys as the listing,
    so an auditor who keeps only the open-data file can still run audit verify --checkpoints."""
    client, svc, _, db = site
    filed(svc, "a")
    assert cli(capsys, "key", "create", "--db", str(db))[0] == 0
    supervision.sweep(svc)
    listing = client.get("/transparency/checkpoints").json()
    r = client.get("/open-data/yangguang.sqlite")
    assert r.status_code == 200
    (tmp_path / "open.sqlite").write_bytes(r.content)
    conn = sqlite3.connect(tmp_path / "open.sqlite")
    conn.row_factory = sqlite3.Row
    rows = [dict(x) for x in conn.execute("SELECT * FROM checkpoints ORDER BY tree_size DESC")]
    keys_ = [dict(x) for x in conn.execute("SELECT * FROM checkpoint_keys")]
    conn.close()
    assert rows == listing["checkpoints"] and len(rows) == 1
    assert [k["public_key"] for k in keys_] == [k["public_key"] for k in listing["keys"]]
