"""A case's row in the query table: what the worklists, supervision and the rankings read without
folding its events (state, open steps and their roles, every deadline, the ranking facts fixed
when it ends). Written in the same transaction as every event (engine.service.cases)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from engine.rules import clock
from engine.rules.calendar import CalendarYearMissing, WorkCalendar
from engine.rules.cases.model import RATING_SCORE, Case
from engine.rules.cases.steps import open_steps, steps_of
from engine.service import provisional
from engine.service.deadlines import Deadlines, clock_stopped

# every column :func:`columns` sets, and ``state``: what an action's write reads back first, so that only
# the columns whose value changes are written (engine.ledger.events.append_event, ``current``)
WRITTEN = (
    "state", "due_next", "current_step", "assignee_role", "due_completeness", "due_promised", "due_legal",
    "due_step", "due_delivery", "provisional_from", "paused", "accepted_at", "ended_at", "decision",
    "applicant_name", "applicant_type", "minute_limit", "immediate", "on_time", "early", "used_days",
    "promised_days", "rating_score", "rated_at",
)  # fmt: skip


def columns(case: Case, item: Mapping[str, Any], due: Deadlines, calendar: WorkCalendar) -> dict[str, Any]:
    """The query-table columns for ``case`` under ``item``, with its deadlines ``due``."""
    steps = open_steps(case, item)
    if case.state in ("submitted", "awaiting_supplement"):
        first = steps_of(item)[0]
        current, roles = [first["id"]], [first["role"]]
    else:
        current, roles = [s["id"] for s in steps], list(dict.fromkeys(s["role"] for s in steps))
    step_dues = [d for d in due.steps.values() if d is not None]
    completeness = due.completeness if case.state == "submitted" else None
    nearest = [d for d in (min(step_dues) if step_dues else None, due.promised, due.delivery) if d is not None]
    step_due = min(step_dues) if step_dues else None
    return {
        "due_next": completeness if case.state == "submitted" else (min(nearest) if nearest else None),
        "current_step": ",".join(current) or None,
        "assignee_role": ",".join(roles) or None,
        "due_completeness": completeness,
        "due_promised": due.promised,
        "due_legal": due.legal,
        "due_step": step_due,
        "due_delivery": due.delivery,
        "provisional_from": provisional.since(calendar, completeness, due.promised, due.legal, step_due, due.delivery),
        "paused": clock_stopped(case, item),
        "accepted_at": case.accepted_at,
        "ended_at": case.ended_at,
        "decision": case.decision,
        "applicant_name": _applicant(case.data, "name"),
        "applicant_type": _applicant(case.data, "type"),
        "minute_limit": item["time_limit"]["promised"].get("unit") == "minute",
        "immediate": item["time_limit"]["promised"]["value"] == 0,  # 即办件, whatever the unit
        **_ranking_facts(case, due.promised, item, calendar),
        "rating_score": RATING_SCORE.get(case.evaluation["rating"]) if case.evaluation else None,
        "rated_at": case.rated_at,
    }


def _ranking_facts(
    case: Case, promised: datetime | None, item: Mapping[str, Any], calendar: WorkCalendar
) -> dict[str, Any]:
    """What a completed case adds to the rankings (engine.supervision.rankings), fixed when it ends."""
    if case.state != "completed" or case.ended_at is None or promised is None or case.accepted_at is None:
        return {"on_time": None, "early": None, "used_days": None, "promised_days": None}
    facts: dict[str, Any] = {
        "on_time": case.ended_at <= promised,
        "early": clock.local_date(case.ended_at) < clock.local_date(promised),
        "used_days": None,
        "promised_days": None,
    }
    if item["time_limit"]["promised"].get("unit") != "minute":
        start = clock.local_date(case.accepted_at)
        try:
            facts["used_days"] = calendar.working_days_between(start, clock.local_date(case.ended_at))
            facts["promised_days"] = calendar.working_days_between(start, clock.local_date(promised))
        except CalendarYearMissing:
            pass
    return facts


def _applicant(data: Mapping[str, Any], key: str) -> str | None:
    """The applicant's name or type from the common applicant section (None when the form has none)."""
    section = data.get("applicant")
    value = section.get(key) if isinstance(section, Mapping) else None
    return str(value)[:200] if value not in (None, "") else None
