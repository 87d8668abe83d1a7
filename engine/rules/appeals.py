"""The rules of requests and complaints (诉求), pure: who handles one, when its answer is due, its light,
when it escalates, and which action each state allows.

A kind comes from appeals/kinds.yaml (engine.catalogue.model.Catalogue.appeal_kinds). States:
``open`` (with its handling department) → ``assigned`` (to a member of staff) → ``answered`` →
``closed`` (with the person's satisfaction); a transfer sends it back to ``open`` in another department.
The limit runs on the working-day clock from the day it is filed, like a case's promised limit, and its
light is judged like a case's (engine.supervision.sweep): yellow from ``warning_working_days`` before
the deadline, red past it; an answer stops the clock.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

from engine.rules import clock
from engine.rules.calendar import CalendarYearMissing, WorkCalendar

__all__ = [
    "ACTIONS",
    "OPEN_STATES",
    "RATINGS",
    "VERDICTS",
    "allowed",
    "due",
    "escalation_point",
    "handler_of",
    "light",
]

OPEN_STATES = ("open", "assigned")  # the clock runs: not answered yet
VERDICTS = ("justified", "not_justified")
RATINGS = ("非常满意", "满意", "基本满意", "不满意", "非常不满意")  # DOMAIN.md's five levels
#: action -> the states it may be taken in
ACTIONS: Mapping[str, tuple[str, ...]] = {
    "assign": ("open", "assigned"),
    "transfer": ("open", "assigned"),
    "answer": ("open", "assigned"),
    "escalate": ("open", "assigned"),
    "verdict": ("answered",),
    "close": ("answered",),
}


def allowed(action: str, state: str) -> bool:
    return state in ACTIONS.get(action, ())


def handler_of(kind: Mapping[str, Any], office: str, named_department: str | None) -> str:
    """The department that handles a new appeal of ``kind``: the office, or for ``handled_by: named``
    the department it names (that of a case it names), else the office."""
    if kind.get("handled_by") == "named" and named_department:
        return named_department
    return office


def _add(cal: WorkCalendar, start: datetime, days: int) -> datetime:
    try:
        return clock.end_of_day(cal.add_working_days(clock.local_date(start), days))
    except CalendarYearMissing:  # a year no rule counts (before the first calendar file): calendar days
        return clock.end_of_day(clock.local_date(start) + timedelta(days=days))


def due(filed: datetime, kind: Mapping[str, Any], cal: WorkCalendar) -> datetime:
    """The end of the ``limit_working_days``-th working day after the day it was filed."""
    return _add(cal, filed, int(kind["limit_working_days"]))


def escalation_point(deadline: datetime, kind: Mapping[str, Any], cal: WorkCalendar) -> datetime | None:
    """The instant after which an unanswered appeal escalates (None: the kind never escalates)."""
    rule = kind.get("escalation")
    if not rule:
        return None
    after = int(rule["after_working_days"])
    return deadline if after == 0 else _add(cal, deadline, after)


def light(deadline: datetime, now: datetime, warning_boundary: datetime) -> str:
    """``violation`` past the deadline, ``warning`` when it falls by ``warning_boundary`` (the end of the
    center's ``warning_working_days``-th working day from today), else ``green``."""
    if deadline < now:
        return "violation"
    if deadline <= warning_boundary:
        return "warning"
    return "green"
