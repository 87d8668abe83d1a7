"""绿色通道: key projects on an approval chain, each with its supervision card (效能督办卡).

A key project is designated by government, not by the applicant, so the front desk (or a
supervisor) marks a chain application as green channel, stating the designation (e.g. the
key-project list that names it). The mark is kept with who made it and when, and can be made
once. The card lists what the supervisors hold the departments to: the materials received, the
chain's promised completion date and, stage by stage, the date the stage must end by and the
departments answerable for it with their chief representatives (首席代表, ``center.yaml``).

A stage's date is the chain's start plus the promised limits of the stages up to and including
it (engine.rules.chains.critical_path: serial sums, parallel maxima, joint-review shared limits),
rounded up to whole working days — the same arithmetic as the chain's promised total, so the
last stage's date is never later than the chain's. The supervision dashboard tracks every card:
a stage still running past its date lights red, one due within the warning days yellow.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select, update

from engine.base.durations import MINUTES_PER_WORKING_DAY
from engine.base.i18n import gettext
from engine.ledger import tables
from engine.ledger.db import iso, loads, read_only
from engine.rules import chains, clock
from engine.rules.cases.model import ActionRefused, Actor
from engine.rules.lights import Thresholds
from engine.service import chains as chain_service
from engine.service import worklist
from engine.service.cases import CaseService

_T = tables.chain_cases
MAY_MARK = ("frontdesk", "supervisor", "admin")


@dataclass(frozen=True, slots=True)
class CardStage:
    id: str
    name: str
    mode: str
    departments: tuple[tuple[str, str], ...]  # (department name, its chief representative or "")
    due: datetime | None  # the date the stage must end by (暂定 in a year without its calendar file)
    status: str  # done | open | waiting | skipped | stopped | not_reached
    ended_at: datetime | None
    light: str  # for a stage still to finish: green | yellow | red; "none" once it has ended


@dataclass(frozen=True, slots=True)
class Card:
    number: str
    chain_name: str
    applicant: str
    basis: str
    marked_by: str
    marked_at: datetime
    materials: tuple[str, ...]
    due: datetime | None
    state: str
    stages: tuple[CardStage, ...]

    @property
    def light(self) -> str:
        """The worst light of the card's stages (red before yellow before green)."""
        lights = [s.light for s in self.stages]
        return next((w for w in ("red", "yellow", "green") if w in lights), "none")

    @property
    def late_stage(self) -> CardStage | None:
        return next((s for s in self.stages if s.light == "red"), None)


def mark(service: CaseService, number: str, actor: Actor, basis: str) -> None:
    """Mark chain application ``number`` as a key project (绿色通道) on ``basis``."""
    if actor.role not in MAY_MARK:
        raise ActionRefused("forbidden", gettext("绿色通道由综合受理窗口或效能监察标记"))
    basis = " ".join(basis.split())[:200]
    if not basis:
        raise ActionRefused("invalid", gettext("请填写列入重点项目的依据（如重点项目名单的文件名称）"))
    row = chain_service.application_row(service, number)
    if row.state != "open":
        raise ActionRefused("not_allowed", gettext("链条申请已办结或终止"))
    now = service.clock.now()
    with service.db.begin() as conn:
        done = conn.execute(
            update(_T)
            .where(_T.c.number == number, _T.c.green_channel.is_(False))
            .values(green_channel=True, green_basis=basis, green_by=actor.username, green_at=iso(now))
        ).rowcount
    if done != 1:
        raise ActionRefused("not_allowed", gettext("本申请已列入绿色通道"))


def _departments(service: CaseService, stage: dict[str, Any]) -> tuple[tuple[str, str], ...]:
    depts = {d["id"]: d for d in (service.catalogue.center or {}).get("departments", [])}
    seen: list[str] = []
    for code in stage["items"]:
        item = service.catalogue.items.get(code)
        dept = item.data["department"] if item else ""
        if dept and dept not in seen:
            seen.append(dept)
    return tuple(
        (str(depts.get(d, {}).get("name") or d), str(depts.get(d, {}).get("chief_representative") or "")) for d in seen
    )


def card(service: CaseService, number: str) -> Card | None:
    """The supervision card of a green-channel chain application (None if it is not one)."""
    row = chain_service.application_row(service, number)
    if not row.green_channel:
        return None
    chain = json.loads(row.chain)
    st = chain_service.state(service, number)
    start = datetime.fromisoformat(row.created_at)
    path = chains.critical_path(service.catalogue, chain)
    now = service.clock.now()
    warning = _warning_days(service)
    with read_only(service.db) as conn:
        ended = dict(
            conn.execute(
                select(tables.cases.c.number, tables.cases.c.ended_at).where(tables.cases.c.chain_number == number)
            ).all()
        )
    stages, minutes = [], 0
    for i, (stage, timing) in enumerate(zip(chain["stages"], path.stages, strict=True)):
        minutes += timing.minutes
        try:
            due: datetime | None = clock.due(
                start, {"value": math.ceil(minutes / MINUTES_PER_WORKING_DAY), "unit": "working_day"}, service.calendar
            )
        except LookupError:
            due = None
        members = st.members.get(stage["id"], [])
        status = chain_service.stage_status(st, i, stage["id"])
        ends = [ended.get(n) for _, n, _ in members]
        ended_at = max((datetime.fromisoformat(e) for e in ends if e), default=None) if status == "done" else None
        light = "none"
        if status in ("open", "waiting"):
            light, _left = worklist.light(due, now, service.calendar, warning, False)
        stages.append(
            CardStage(
                stage["id"], stage["name"], stage["mode"], _departments(service, stage), due, status, ended_at, light
            )
        )
    data = loads(row.data)
    applicant = data.get("applicant", {}) if isinstance(data.get("applicant"), dict) else {}
    return Card(
        number=number,
        chain_name=str(chain["name"]),
        applicant=str(applicant.get("name") or ""),
        basis=str(row.green_basis or ""),
        marked_by=str(row.green_by or ""),
        marked_at=datetime.fromisoformat(row.green_at) if row.green_at else start,
        materials=tuple(sorted(loads(row.uploads))),
        due=st.due,
        state=st.state,
        stages=tuple(stages),
    )


def _warning_days(service: CaseService) -> int:
    return Thresholds.of(service.catalogue.center).warning_working_days


def tracked(service: CaseService, limit: int = 200) -> list[Card]:
    """Every green-channel chain application still running, then the latest ended, for the dashboard."""
    with read_only(service.db) as conn:
        numbers = [
            r.number
            for r in conn.execute(
                select(_T.c.number)
                .where(_T.c.green_channel.is_(True))
                .order_by((_T.c.state == "open").desc(), _T.c.created_at.desc())
                .limit(limit)
            )
        ]
    return [c for c in (card(service, n) for n in numbers) if c is not None]
