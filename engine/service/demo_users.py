"""``yangguang demo-users`` (run by ``make run``): demo staff accounts for every journey.

Every department that the catalogue's items and chains need (an item's department and joint
departments, a joint review's lead department) gets one account per departmental role, named
``ROLE.DEPARTMENT`` (``window.amr``, ``decider.psb``); the center gets its front desk (统一受理 of
chain applications), supervisor and administrator; and one AB-role backup shows standing in (a
reviewer who stands in for the decider). They all share the published ``auth.DEMO_PASSWORD``: for
trying Yangguang out, never on a real database. Accounts that exist are left as they are.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from engine.service.accounts import CENTER_ROLES, DEMO_PASSWORD, DEPARTMENT_ROLES, ROLE_NAMES, DemoAccount

CENTER_ORDER = ("frontdesk", "supervisor", "admin")  # the front desk first: a chain journey starts there
BACKUP_DEPARTMENT = "realestate"  # the backup stands in here when the catalogue has it, else in the first department


@dataclass(frozen=True, slots=True)
class Department:
    id: str
    short_name: str
    name: str


def departments(cat: Any) -> list[Department]:
    """The departments that have work in ``cat`` (items, chain stages, the complaints office), in center.yaml order."""
    needed: set[str] = set()
    for doc in cat.items.values():
        needed.add(str(doc.data["department"]))
        needed.update(str(d) for d in doc.data.get("joint_departments") or ())
    for chain in cat.chains.values():
        needed.update(str(s["lead"]) for s in chain.data.get("stages", ()) if s.get("lead"))
    office = cat.appeals_office() if hasattr(cat, "appeals_office") else None
    if office:  # the complaints office handles requests and complaints (appeals/kinds.yaml)
        needed.add(office)
    listed = (cat.center or {}).get("departments") or []
    return [
        Department(str(d["id"]), str(d.get("short_name") or d["name"]), str(d["name"]))
        for d in listed
        if str(d["id"]) in needed
    ]


def accounts(depts: Sequence[Department]) -> list[DemoAccount]:
    """The center's accounts first (the front desk is where a chain journey starts), then every
    departmental role of each department, then the AB backup."""
    out = [DemoAccount(r, r, None, None, f"中心{ROLE_NAMES[r]}（演示）") for r in CENTER_ORDER if r in CENTER_ROLES]
    out += [
        DemoAccount(f"{role}.{d.id}", role, d.id, None, f"{d.short_name}{ROLE_NAMES[role]}（演示）")
        for d in depts
        for role in DEPARTMENT_ROLES
    ]
    backup = next((d for d in depts if d.id == BACKUP_DEPARTMENT), depts[0] if depts else None)
    if backup is not None:
        label = f"{backup.short_name}审核·审批B角（演示）"
        out.append(DemoAccount(f"backup.{backup.id}", "reviewer", backup.id, "decider", label))
    return out


def role_label(account: DemoAccount) -> str:
    label = f"{ROLE_NAMES[account.role]} {account.role}"
    if account.backup_for:
        label += f" + {ROLE_NAMES[account.backup_for]} {account.backup_for} B角"
    return label


def table(db: str, done: Iterable[tuple[DemoAccount, bool]], depts: Sequence[Department]) -> str:
    """The printed table: username, role, department and what the password is, then how to sign in."""
    names = {d.id: f"{d.short_name} ({d.id})" for d in depts}
    done = list(done)
    rows = [("username", "role", "department", "password")]
    rows += [
        (
            a.username,
            role_label(a),
            names.get(a.department, a.department) if a.department else "center-wide",
            DEMO_PASSWORD if created else "unchanged (existed before)",
        )
        for a, created in done
    ]
    widths = [max(_width(r[i]) for r in rows) for i in range(len(rows[0]))]
    out = [f"demo staff accounts in {db} (for trying Yangguang out; never on a real database):"]
    out += ["  " + "  ".join(_pad(c, w) for c, w in zip(r, widths, strict=True)).rstrip() for r in rows]
    made = sum(created for _, created in done)
    out.append(f"{made} created, {len(done) - made} already existed (left unchanged).")
    out.append(f"password: {DEMO_PASSWORD}  (accounts that already existed keep the password they have)")
    out.append('staff desk: /desk/login; JSON API: POST /api/session; README "Try every journey" walks each one')
    return "\n".join(out) + "\n"


def _width(text: str) -> int:
    """Terminal columns: a Chinese character takes two, so the columns line up."""
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def _pad(text: str, width: int) -> str:
    return text + " " * (width - _width(text))
