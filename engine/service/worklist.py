"""Worklists from the case rows' worklist columns (no events replayed): whose turn it is, what
is due when, and the light supervision shows for it.

Lights (电子监察): red — past the deadline; yellow — due within the center's warning period
(``supervision.warning_working_days`` in center.yaml; ``warning_minutes`` for minute limits
is applied by the supervision issue); green — otherwise; grey — the clock is paused.
The deadline a worklist row is judged by is the nearest one that applies: the Art. 32
completeness deadline while awaiting acceptance, else the earliest open step's limit or the
promised deadline, whichever comes first.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Engine, or_, select

from engine.base import masking
from engine.ledger import tables
from engine.ledger.db import read_only
from engine.rules import clock
from engine.rules.calendar import WorkCalendar
from engine.rules.cases.model import Actor
from engine.service import access
from engine.service.access import CENTER_WIDE as CENTER_WIDE  # who sees every department's work (re-exported)

OPEN_STATES = ("submitted", "awaiting_supplement", "in_progress")


@dataclass(frozen=True, slots=True)
class Row:
    number: str
    item_code: str
    state: str
    department: str | None
    current_step: str | None
    assignee_role: str | None
    due: datetime | None  # the deadline this row is judged by
    due_kind: str  # completeness | step | promised | ""
    paused: bool
    light: str  # red | yellow | green | grey | none
    days_left: int | None  # working days left (negative: overdue)
    updated_at: str
    #: the row's deadlines are provisional (暂定) from this year on (engine.service.provisional); None: all exact
    provisional_from: int | None = None
    #: who applied, as the worklist shows it: a natural person's name masked (engine.base.masking), a
    #: legal person's in full — the full name is on the case page, for the person handling it
    applicant: str = ""


def _parse(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value else None


def light(
    due: datetime | None, now: datetime, cal: WorkCalendar, warning_days: int, paused: bool
) -> tuple[str, int | None]:
    """(light, working days left) for one deadline."""
    if paused:
        return "grey", None
    if due is None:
        return "none", None
    try:  # into a year without its file, counted provisionally (the deadline shows 暂定)
        left = clock.remaining_working_days(due, now, cal)
    except LookupError:  # a year no rule counts (before the first file): judge by the instant alone
        return ("red" if now > due else "green"), None
    if now > due:
        return "red", left
    return ("yellow" if left <= warning_days else "green"), left


def _judged_by(row: Any) -> tuple[datetime | None, str]:
    if row["state"] == "submitted" and row["due_completeness"]:
        return _parse(row["due_completeness"]), "completeness"
    candidates = [
        (d, k) for d, k in ((_parse(row["due_step"]), "step"), (_parse(row["due_promised"]), "promised")) if d
    ]
    return min(candidates, key=lambda c: c[0]) if candidates else (None, "")


def waits_on(assignee_role: str | None, actor: Actor) -> bool:
    """Whether a case assigned to ``assignee_role`` (roles joined by commas) waits on this person:
    their role or the one they back up."""
    return bool(set((assignee_role or "").split(",")) & {r for r in (actor.role, actor.backup_role) if r})


def for_actor(
    db: Engine,
    actor: Actor,
    now: datetime,
    cal: WorkCalendar,
    warning_days: int = 1,
    *,
    item_code: str | None = None,
    states: Sequence[str] = OPEN_STATES,
    limit: int = 500,
) -> list[Row]:
    """Open cases waiting on this person's role (or the role they back up) in their department;
    everything open for supervisors and administrators. Sorted by deadline, most urgent first."""
    c = tables.cases
    columns = (
        c.c.number, c.c.item_code, c.c.state, c.c.department, c.c.current_step, c.c.assignee_role,
        c.c.due_completeness, c.c.due_step, c.c.due_promised, c.c.paused, c.c.updated_at, c.c.due_next,
        c.c.provisional_from, c.c.applicant_name, c.c.applicant_type,
    )  # fmt: skip
    # NULLs (no deadline: paused, or none known) last. One ordered, limited subquery per state,
    # each read in order from (department, state, due_next IS NULL, due_next, number) — or
    # (state, …) center-wide — so only ``limit`` rows per state are read, never every open case.
    order = (c.c.due_next.is_(None), c.c.due_next, c.c.number)
    roles = [r for r in (actor.role, actor.backup_role) if r]
    everything = access.center_wide(actor)  # the same people who may open every case (engine.service.access)
    parts = []
    for state in states:
        query = select(*columns).where(c.c.state == state)
        if not everything:
            query = query.where(
                c.c.department == actor.department, or_(*[c.c.assignee_role.like(f"%{r}%") for r in roles])
            )
        if item_code:
            query = query.where(c.c.item_code == item_code)
        parts.append(query.order_by(*order).limit(limit))
    with read_only(db) as conn:
        found: list[Any] = []
        for part in parts:  # each uses its index; merged below (a few hundred rows at most)
            found.extend(conn.execute(part).mappings().all())
    found.sort(key=lambda r: (r["due_next"] is None, r["due_next"] or "", r["number"]))
    found = found[:limit]
    rows: list[Row] = []
    for r in found:
        if not everything and not waits_on(r["assignee_role"], actor):
            continue  # LIKE matched a longer role name
        due, kind = _judged_by(r)
        colour, left = light(due, now, cal, warning_days, bool(r["paused"]))
        rows.append(
            Row(
                r["number"],
                r["item_code"],
                r["state"],
                r["department"],
                r["current_step"],
                r["assignee_role"],
                due,
                kind,
                bool(r["paused"]),
                colour,
                left,
                r["updated_at"],
                r["provisional_from"],
                masking.mask_applicant(r["applicant_name"], r["applicant_type"]),
            )
        )
    return rows
