"""`yangguang demo-users` (run by `make run`): one account per role for every department whose
items or chains the reference catalogue has, the center's front desk, supervisor and admin, printed
as a table a person can read; later runs leave every existing account alone."""

from __future__ import annotations

import unicodedata
from datetime import datetime
from pathlib import Path

import pytest
import yaml
from sqlalchemy import select

from engine.base.dates import TZ
from engine.check.pipeline import load
from engine.cli.main import main
from engine.ledger import tables
from engine.ledger.db import open_engine
from engine.ledger.migrations import migrate
from engine.service import auth, demo_users
from engine.service.accounts import DEMO_PASSWORD, DEPARTMENT_ROLES, ROLE_NAMES, ROLES, add_user

REPO = Path(__file__).resolve().parents[3]
T0 = datetime(2026, 3, 6, 9, 0, tzinfo=TZ)

# Argon2id with the cheapest parameters (tests/conftest.py): the command creates dozens of accounts
pytestmark = pytest.mark.usefixtures("cheap_hashes")


def departments_with_items() -> dict[str, str]:
    """Read from the YAML files themselves, not through engine.service.demo_users: id -> short name (with the
    complaints office of appeals/kinds.yaml, which has work though no items)."""
    center = yaml.safe_load((REPO / "center.yaml").read_text(encoding="utf-8"))
    names = {d["id"]: d.get("short_name") or d["name"] for d in center["departments"]}
    used = {yaml.safe_load(f.read_text(encoding="utf-8"))["department"] for f in (REPO / "items").rglob("*.yaml")}
    used.add(yaml.safe_load((REPO / "appeals" / "kinds.yaml").read_text(encoding="utf-8"))["office"])
    return {d: names[d] for d in used}


def rows(out: str) -> dict[str, list[str]]:
    """The table's rows by username, cut into columns at the header's column starts (in terminal
    columns: a Chinese character is two wide, so a misaligned table cuts words in half here)."""
    lines = out.splitlines()
    header = lines[1]
    starts = [header.index(h) for h in ("username", "role", "department", "password")]
    table = {}
    for line in lines[2:]:
        if not line.startswith("  ") or not line.strip():
            continue
        cols, col, cells, cell = 0, 0, [], ""
        for ch in line:
            if col + 1 < len(starts) and cols >= starts[col + 1]:
                cells.append(cell.strip())
                cell, col = "", col + 1
            cell += ch
            cols += 2 if unicodedata.east_asian_width(ch) in "WF" else 1
        cells.append(cell.strip())
        table[cells[0]] = cells[1:]
    return table


def test_every_department_with_items_gets_every_role_and_the_table_says_so(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "demo.db"
    engine = open_engine(path)
    migrate(engine)
    add_user(engine, "admin", "admin", None, "my own secret")  # an existing account is left alone
    with engine.connect() as conn:
        admin_hash = conn.execute(select(tables.users.c.password_hash).where(tables.users.c.username == "admin"))
        admin_hash = admin_hash.scalar_one()

    assert main(["demo-users", "--db", str(path)]) == 0
    out = capsys.readouterr().out
    table = rows(out)
    depts = departments_with_items()
    assert {"amr", "psb", "tax", "hrss", "hpf", "housing", "realestate"} <= set(depts)  # food, company, chains
    for dept, short in depts.items():
        for role in DEPARTMENT_ROLES:  # window, undertaker, reviewer, decider, issuer, inspector, head
            assert table[f"{role}.{dept}"] == [f"{ROLE_NAMES[role]} {role}", f"{short} ({dept})", "demo-password"]
    assert table["frontdesk"] == ["综合受理 frontdesk", "center-wide", "demo-password"]
    assert table["supervisor"] == ["效能监察 supervisor", "center-wide", "demo-password"]
    assert table["admin"] == ["系统管理员 admin", "center-wide", "unchanged (existed before)"]
    assert table["backup.realestate"] == [
        "审核 reviewer + 审批 decider B角",
        "不动产登记中心 (realestate)",
        "demo-password",
    ]
    total = len(depts) * len(DEPARTMENT_ROLES) + 3 + 1  # + frontdesk, supervisor, admin; + the backup
    assert len(table) == total
    assert f"{total - 1} created, 1 already existed (left unchanged)." in out
    assert "password: demo-password" in out

    assert main(["demo-users", "--db", str(path)]) == 0
    again = capsys.readouterr().out
    assert f"0 created, {total} already existed (left unchanged)." in again
    assert {cells[2] for cells in rows(again).values()} == {"unchanged (existed before)"}

    with engine.connect() as conn:
        assert (
            conn.execute(select(tables.users.c.password_hash).where(tables.users.c.username == "admin")).scalar_one()
            == admin_hash
        )
    for username in ("window.amr", "decider.psb", "frontdesk", "head.tax", "backup.realestate"):
        assert auth.start_session(engine, username, DEMO_PASSWORD, T0).actor.username == username
    food = auth.start_session(engine, "undertaker.amr", DEMO_PASSWORD, T0).actor
    assert (food.role, food.department) == ("undertaker", "amr")
    backup = auth.start_session(engine, "backup.realestate", DEMO_PASSWORD, T0).actor
    assert (backup.role, backup.department, backup.backup_role) == ("reviewer", "realestate", "decider")
    engine.dispose()


def test_a_department_without_items_gets_no_accounts_and_joint_ones_do() -> None:
    cat = load(REPO).catalogue
    listed = [d["id"] for d in cat.center["departments"]]
    needed = [d.id for d in demo_users.departments(cat)]
    assert needed == [d for d in listed if d in needed]  # center.yaml's order
    for doc in list(cat.items.values()):
        if doc.data["department"] == "hpf":
            del cat.items[doc.data["code"]]
    assert "hpf" not in [d.id for d in demo_users.departments(cat)]  # no work there: no accounts
    some = next(iter(cat.items.values()))
    some.data["joint_departments"] = ["hpf"]  # a joint-handling department works the case too
    assert "hpf" in [d.id for d in demo_users.departments(cat)]


def test_user_add_help_lists_every_role_with_its_meaning(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["user", "add", "--help"])
    text = " ".join(capsys.readouterr().out.split())
    for role in ROLES:
        assert f"{role} " in text, role
    assert "frontdesk 综合受理 (accepts chain applications for every department)" in text
