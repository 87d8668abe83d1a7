"""Monthly performance rankings of departments and staff (绩效排名, published in the 阳光日志).

Every figure comes from the record with indexed queries for one period; the weights come from
center.yaml (``supervision.ranking.weights``), never from code. Measures, each scored 0–100:

* ``on_time_rate`` — completed cases completed by their promised deadline / completed cases;
* ``early_rate`` — completed before the day of the promised deadline / completed cases;
* ``time_used`` — 100 × (1 − mean working days used ÷ mean promised working days), ≥ 0
  (cases with day limits; used = working days from acceptance to completion);
* ``satisfaction`` — mean rating, 非常满意 = 100 … 非常不满意 = 0 (ratings given in the period);
* ``lights`` — 100 × (1 − lights recorded in the period ÷ cases handled), ≥ 0;
* ``corrections`` — 100 × (1 − corrections issued in the period ÷ cases handled), ≥ 0.

The score is the weighted mean of the measures that have data (a department with no ratings
is not punished or rewarded for satisfaction). Ties rank by cases handled, then by name.
Staff are ranked on the cases they acted on that ended in the period, with the same measures
except corrections (which are issued to departments).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from sqlalchemy import Engine, func, select

from engine import clock, ledger
from engine.calendar import CalendarYearMissing, WorkCalendar

RATING_SCORE = {"非常满意": 100, "满意": 75, "基本满意": 50, "不满意": 25, "非常不满意": 0}
LIGHT_KINDS = ("warning", "abnormal", "violation", "legal_overdue")
MEASURES = ("on_time_rate", "early_rate", "time_used", "satisfaction", "lights", "corrections")
_C, _E = ledger.cases, ledger.events


@dataclass(slots=True)
class Row:
    scope: str  # department | staff
    name: str  # department id or username
    department: str | None = None
    handled: int = 0  # cases that ended in the period (completed or refused)
    completed: int = 0
    on_time: int = 0
    early: int = 0
    immediate: int = 0
    used_days: int = 0
    promised_days: int = 0
    completed_with_days: int = 0  # completed cases with day limits (time_used needs them)
    ratings: list[int] = field(default_factory=list)
    lights: int = 0
    corrections: int = 0
    measures: dict[str, float] = field(default_factory=dict)
    score: float | None = None
    rank: int = 0

    def as_dict(self) -> dict[str, Any]:
        return {
            "scope": self.scope,
            "name": self.name,
            "department": self.department,
            "rank": self.rank,
            "score": None if self.score is None else round(self.score, 2),
            "handled": self.handled,
            "completed": self.completed,
            "on_time_rate": _ratio(self.on_time, self.completed),
            "early_rate": _ratio(self.early, self.completed),
            "avg_used_working_days": _ratio(self.used_days, self.completed_with_days),
            "avg_promised_working_days": _ratio(self.promised_days, self.completed_with_days),
            "satisfaction": round(sum(self.ratings) / len(self.ratings), 2) if self.ratings else None,
            "ratings": len(self.ratings),
            "lights": self.lights,
            "corrections": self.corrections,
            "immediate_share": _ratio(self.immediate, self.completed),
        }


def _ratio(a: int, b: int) -> float | None:
    return round(a / b, 4) if b else None


def weights_of(center: Mapping[str, Any] | None) -> dict[str, int]:
    configured = ((center or {}).get("supervision", {}).get("ranking") or {}).get("weights")
    if not configured:
        return {"on_time_rate": 1}  # a center without a ranking formula is ranked on punctuality alone
    return {k: int(v) for k, v in configured.items() if k in MEASURES}


def month_bounds(month: str) -> tuple[datetime, datetime]:
    """[first instant, first instant of the next month) of ``YYYY-MM`` in Beijing time."""
    year, mon = (int(x) for x in month.split("-"))
    start = datetime(year, mon, 1, tzinfo=clock.TZ)
    end = datetime(year + (mon == 12), 1 if mon == 12 else mon + 1, 1, tzinfo=clock.TZ)
    return start, end


def _day(value: str) -> date:
    return clock.local_date(datetime.fromisoformat(value))


def _fold_case(row: Row, case: Any, cal: WorkCalendar) -> None:
    row.handled += 1
    if case.state != "completed" or case.due_promised is None:
        return
    row.completed += 1
    row.immediate += bool(case.minute_limit)
    ended, due = datetime.fromisoformat(case.ended_at), datetime.fromisoformat(case.due_promised)
    row.on_time += ended <= due
    row.early += _day(case.ended_at) < _day(case.due_promised)
    if not case.minute_limit and case.accepted_at:
        try:
            used = cal.working_days_between(_day(case.accepted_at), _day(case.ended_at))
            promised = cal.working_days_between(_day(case.accepted_at), _day(case.due_promised))
        except CalendarYearMissing:
            return
        row.used_days += used
        row.promised_days += promised
        row.completed_with_days += 1


def _score(row: Row, weights: Mapping[str, int]) -> None:
    m: dict[str, float] = {}
    if row.completed:
        m["on_time_rate"] = 100 * row.on_time / row.completed
        m["early_rate"] = 100 * row.early / row.completed
    if row.promised_days:
        m["time_used"] = max(0.0, 100 * (1 - row.used_days / row.promised_days))
    if row.ratings:
        m["satisfaction"] = sum(row.ratings) / len(row.ratings)
    if row.handled:
        m["lights"] = max(0.0, 100 * (1 - row.lights / row.handled))
        if row.scope == "department":
            m["corrections"] = max(0.0, 100 * (1 - row.corrections / row.handled))
    row.measures = {k: round(v, 2) for k, v in m.items()}
    used = {k: w for k, w in weights.items() if k in m and w > 0}
    total = sum(used.values())
    row.score = sum(m[k] * w for k, w in used.items()) / total if total else None


def _rank(rows: list[Row]) -> list[Row]:
    rows.sort(key=lambda r: (r.score is None, -(r.score or 0), -r.handled, r.name))
    for i, r in enumerate(rows, 1):
        r.rank = i
    return rows


def month(db: Engine, cal: WorkCalendar, center: Mapping[str, Any] | None, period: str) -> dict[str, list[Row]]:
    """The rankings of ``period`` (YYYY-MM): {"department": [...], "staff": [...]}, best first."""
    start, end = month_bounds(period)
    lo, hi = ledger.iso(start), ledger.iso(end)
    weights = weights_of(center)
    cols = (_C.c.id, _C.c.department, _C.c.state, _C.c.accepted_at, _C.c.ended_at, _C.c.due_promised,
            _C.c.minute_limit)  # fmt: skip
    with ledger.read_only(db) as conn:
        ended = conn.execute(select(*cols).where(_C.c.ended_at >= lo, _C.c.ended_at < hi)).all()
        ratings = conn.execute(
            select(_C.c.department, _E.c.case_id, _E.c.payload)
            .join(_C, _C.c.id == _E.c.case_id)
            .where(_E.c.action == "evaluate", _E.c.at >= lo, _E.c.at < hi)
        ).all()
        lights = conn.execute(
            select(ledger.supervision_events.c.department, ledger.supervision_events.c.case_id)
            .where(ledger.supervision_events.c.kind.in_(LIGHT_KINDS))
            .where(ledger.supervision_events.c.at >= lo, ledger.supervision_events.c.at < hi)
        ).all()
        corrections = conn.execute(
            select(ledger.corrections.c.department, func.count())
            .where(ledger.corrections.c.issued_at >= lo, ledger.corrections.c.issued_at < hi)
            .group_by(ledger.corrections.c.department)
        ).all()
        ended_ids = [c.id for c in ended]
        actors = (
            conn.execute(
                select(_E.c.case_id, _E.c.actor)
                .where(_E.c.case_id.in_(ended_ids), _E.c.role.notin_(("applicant", "system")))
                .distinct()
            ).all()
            if ended_ids
            else []
        )
    departments: dict[str, Row] = {}
    staff: dict[str, Row] = {}
    by_case = {c.id: c for c in ended}
    acted: dict[int, set[str]] = defaultdict(set)
    for case_id, actor in actors:
        acted[case_id].add(actor)
    for case in ended:
        dept = departments.setdefault(case.department or "", Row("department", case.department or ""))
        _fold_case(dept, case, cal)
        for username in acted.get(case.id, ()):
            _fold_case(staff.setdefault(username, Row("staff", username, case.department)), case, cal)
    for department, case_id, payload in ratings:
        score = RATING_SCORE.get(ledger.loads(payload).get("rating"))
        if score is None:
            continue
        departments.setdefault(department or "", Row("department", department or "")).ratings.append(score)
        for username in acted.get(case_id, ()) if case_id in by_case else ():
            staff[username].ratings.append(score)
    for department, case_id in lights:
        departments.setdefault(department or "", Row("department", department or "")).lights += 1
        for username in acted.get(case_id, ()):
            staff[username].lights += 1
    for department, n in corrections:
        departments.setdefault(department, Row("department", department)).corrections += int(n)
    for row in [*departments.values(), *staff.values()]:
        _score(row, weights)
    return {"department": _rank(list(departments.values())), "staff": _rank(list(staff.values()))}
