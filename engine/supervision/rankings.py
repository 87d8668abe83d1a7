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

Then a deduction, not a measure: each complaint found justified against a department in the month (a
kind listed in appeals/kinds.yaml ``ranking.kinds``, by default every kind with ``verdict``; counted in
the month of its last finding, against the department it names — one naming none counts against
nobody) takes ``ranking.justified_weight`` points off the department's score, down to 0. A deduction
rather than a seventh weighted measure because a justified complaint is a fault found, not a rate: one
must cost the same however many cases the department handled, and a department with none keeps its
score (a measure with no data would drop out of the mean instead). Staff scores take none: a complaint
is found against a department.

Shown beside them, not scored: ``immediate_share`` — completed immediate items (即办件: promised
limit 0, in any unit) ÷ completed cases.

The score is the weighted mean of the measures that have data (a department with no ratings
is not punished or rewarded for satisfaction). Ties rank by cases handled, then by name.
Staff are ranked on the cases they acted on that ended in the period, with the same measures
except corrections (which are issued to departments).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from sqlalchemy import Engine, and_, case, func, select

from engine.base.dates import TZ
from engine.ledger import tables
from engine.ledger.db import iso, read_only
from engine.rules import clock
from engine.rules.calendar import WorkCalendar
from engine.rules.cases import model as case_model
from engine.supervision.appeal_counts import justified_against

RATING_SCORE = case_model.RATING_SCORE
LIGHT_KINDS = ("warning", "abnormal", "violation", "legal_overdue")
MEASURES = ("on_time_rate", "early_rate", "time_used", "satisfaction", "lights", "corrections")
_C, _E = tables.cases, tables.events


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
    rating_sum: int = 0  # of RATING_SCORE points
    rating_count: int = 0
    lights: int = 0
    corrections: int = 0
    justified: int = 0  # complaints found justified against the department in the period
    deduction: float = 0.0  # the points they took off the score
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
            "satisfaction": round(self.rating_sum / self.rating_count, 2) if self.rating_count else None,
            "ratings": self.rating_count,
            "lights": self.lights,
            "corrections": self.corrections,
            "immediate_share": _ratio(self.immediate, self.completed),
            "justified_complaints": self.justified,
            "complaint_deduction": round(self.deduction, 2),
        }


def _ratio(a: int, b: int) -> float | None:
    return round(a / b, 4) if b else None


def weights_of(center: Mapping[str, Any] | None) -> dict[str, int]:
    configured = ((center or {}).get("supervision", {}).get("ranking") or {}).get("weights")
    if not configured:
        return {"on_time_rate": 1}  # a center without a ranking formula is ranked on punctuality alone
    return {k: int(v) for k, v in configured.items() if k in MEASURES}


@dataclass(frozen=True, slots=True)
class ComplaintRule:
    """How complaints found justified count (appeals/kinds.yaml ``ranking``): points off per complaint, and
    the kinds that count."""

    weight: float = 0.0
    kinds: frozenset[str] = frozenset()


def complaint_rule(appeals: Mapping[str, Any] | None) -> ComplaintRule:
    """The rule of an appeals file's data (None or no ``ranking``: complaints take nothing off)."""
    ranking = (appeals or {}).get("ranking") or {}
    if not appeals or not ranking:
        return ComplaintRule()
    kinds = ranking.get("kinds")
    if kinds is None:  # unset: every kind whose closing needs a finding
        kinds = [k["id"] for k in appeals.get("kinds", []) if k.get("verdict")]
    return ComplaintRule(float(ranking.get("justified_weight", 0)), frozenset(str(k) for k in kinds))


_MONTH = re.compile(r"[0-9]{4}-(0[1-9]|1[0-2])")
MIN_YEAR, MAX_YEAR = 1000, 9998  # a month whose bounds datetime and ledger.iso can both hold


def month_bounds(month: str) -> tuple[datetime, datetime]:
    """[first instant, first instant of the next month) of ``YYYY-MM`` in Beijing time.
    ValueError for anything else: ASCII digits only (int() takes full-width ones), and a year whose
    instants stored in UTC stay inside datetime's range (0001-01 in Beijing is before year 1 in UTC)."""
    if not _MONTH.fullmatch(month) or not MIN_YEAR <= int(month[:4]) <= MAX_YEAR:
        raise ValueError(f"not a month YYYY-MM from {MIN_YEAR}-01 to {MAX_YEAR}-12: {month!r}")
    year, mon = (int(x) for x in month.split("-"))
    start = datetime(year, mon, 1, tzinfo=TZ)
    end = datetime(year + (mon == 12), 1 if mon == 12 else mon + 1, 1, tzinfo=TZ)
    return start, end


def _day(value: str) -> date:
    return clock.local_date(datetime.fromisoformat(value))


def _score(row: Row, weights: Mapping[str, int], per_complaint: float = 0.0) -> None:
    m: dict[str, float] = {}
    if row.completed:
        m["on_time_rate"] = 100 * row.on_time / row.completed
        m["early_rate"] = 100 * row.early / row.completed
    if row.promised_days:
        m["time_used"] = max(0.0, 100 * (1 - row.used_days / row.promised_days))
    if row.rating_count:
        m["satisfaction"] = row.rating_sum / row.rating_count
    if row.handled:
        m["lights"] = max(0.0, 100 * (1 - row.lights / row.handled))
        if row.scope == "department":
            m["corrections"] = max(0.0, 100 * (1 - row.corrections / row.handled))
    row.measures = {k: round(v, 2) for k, v in m.items()}
    used = {k: w for k, w in weights.items() if k in m and w > 0}
    total = sum(used.values())
    row.score = sum(m[k] * w for k, w in used.items()) / total if total else None
    if row.score is not None and row.justified and per_complaint:
        # the deduction, not below 0 (a score stays 0–100); an unscored department stays unscored
        row.deduction = min(row.score, per_complaint * row.justified)
        row.score -= row.deduction


def _rank(rows: list[Row]) -> list[Row]:
    rows.sort(key=lambda r: (r.score is None, -(r.score or 0), -r.handled, r.name))
    for i, r in enumerate(rows, 1):
        r.rank = i
    return rows


def _figures(table: Any, completed: Any) -> tuple[Any, ...]:
    """The SQL totals of a ranking row over ``cases`` or ``case_staff`` (same figure columns)."""
    c = table.c
    return (
        func.count().label("handled"),
        func.sum(case((completed, 1), else_=0)).label("completed"),
        func.sum(case((and_(completed, c.on_time.is_(True)), 1), else_=0)).label("on_time"),
        func.sum(case((and_(completed, c.early.is_(True)), 1), else_=0)).label("early"),
        func.sum(case((and_(completed, c.immediate.is_(True)), 1), else_=0)).label("immediate"),
        func.sum(c.used_days).label("used_days"),
        func.sum(c.promised_days).label("promised_days"),
        func.count(c.used_days).label("with_days"),
    )


def _totals(row: Row, t: Any) -> None:
    row.handled, row.completed = int(t.handled), int(t.completed or 0)
    row.on_time, row.early, row.immediate = int(t.on_time or 0), int(t.early or 0), int(t.immediate or 0)
    row.used_days, row.promised_days = int(t.used_days or 0), int(t.promised_days or 0)
    row.completed_with_days = int(t.with_days or 0)


def _ratings(conn: Any, lo: str, hi: str, staff_in_month: Any) -> tuple[Sequence[Any], Sequence[Any]]:
    """The month's ratings by department and by member of staff: (name, points, count) rows."""
    cs = tables.case_staff
    # ratings given this month, from the case rows (points and time stored by the engine)
    rated = and_(_C.c.rated_at >= lo, _C.c.rated_at < hi)
    ratings = conn.execute(
        select(_C.c.department, func.sum(_C.c.rating_score), func.count(_C.c.rating_score))
        .where(rated)
        .group_by(_C.c.department)
    ).all()
    # grouped, so the database cannot flatten it into a scan of the month's case_staff rows:
    # the join is driven by the month's ratings (thousands), not by everyone's cases
    month_rated = (
        select(_C.c.id, func.max(_C.c.rating_score).label("rating_score"))
        .where(rated)
        .group_by(_C.c.id)
        .subquery("rated")
    )
    staff_ratings = conn.execute(  # on the cases they worked on that ended this month
        select(cs.c.actor, func.sum(month_rated.c.rating_score), func.count(month_rated.c.rating_score))
        .join(cs, cs.c.case_id == month_rated.c.id)
        .where(staff_in_month)
        .group_by(cs.c.actor)
    ).all()
    return ratings, staff_ratings


def _lights(conn: Any, lo: str, hi: str, staff_in_month: Any) -> tuple[Sequence[Any], Sequence[Any]]:
    """The month's lights by department and by member of staff: (name, count) rows."""
    s, cs = tables.supervision_events, tables.case_staff
    light_window = and_(s.c.kind.in_(LIGHT_KINDS), s.c.at >= lo, s.c.at < hi)
    lights = conn.execute(select(s.c.department, func.count()).where(light_window).group_by(s.c.department)).all()
    per_case = select(s.c.case_id, func.count().label("n")).where(light_window).group_by(s.c.case_id).subquery()
    staff_lights = conn.execute(  # driven by the month's few lights, not by every case of the month
        select(cs.c.actor, func.sum(per_case.c.n))
        .join(cs, cs.c.case_id == per_case.c.case_id)
        .where(staff_in_month)
        .group_by(cs.c.actor)
    ).all()
    return lights, staff_lights


def month(
    db: Engine,
    cal: WorkCalendar,
    center: Mapping[str, Any] | None,
    period: str,
    appeals: Mapping[str, Any] | None = None,
) -> dict[str, list[Row]]:
    """The rankings of ``period`` (YYYY-MM): {"department": [...], "staff": [...]}, best first.
    ``appeals`` is appeals/kinds.yaml's data (the catalogue's ``appeals.data``), whose ``ranking``
    says what a complaint found justified costs; None: nothing.

    Aggregated in SQL from the figures each case stored when it ended (``cases.on_time`` …, read
    from the covering index ``ix_cases_ended_ranking``) and from ``case_staff`` (who acted on it,
    with the same figures, from ``ix_case_staff_ended_ranking``); Python only scores the totals. ``cal``
    is kept for callers; the working days were counted when each case ended."""
    del cal
    start, end = month_bounds(period)
    lo, hi = iso(start), iso(end)
    weights = weights_of(center)
    rule = complaint_rule(appeals)
    k, cs = tables.corrections, tables.case_staff
    figures = _figures(_C, _C.c.state == "completed")
    staff_figures = _figures(cs, cs.c.completed.is_(True))
    in_month = and_(_C.c.ended_at >= lo, _C.c.ended_at < hi)
    staff_in_month = and_(cs.c.ended_at >= lo, cs.c.ended_at < hi)
    with read_only(db) as conn:
        by_department = conn.execute(select(_C.c.department, *figures).where(in_month).group_by(_C.c.department)).all()
        by_staff = conn.execute(
            select(cs.c.actor, func.min(cs.c.department).label("department"), *staff_figures)
            .where(staff_in_month)
            .group_by(cs.c.actor)
        ).all()
        ratings, staff_ratings = _ratings(conn, lo, hi, staff_in_month)
        lights, staff_lights = _lights(conn, lo, hi, staff_in_month)
        corrections = conn.execute(
            select(k.c.department, func.count()).where(k.c.issued_at >= lo, k.c.issued_at < hi).group_by(k.c.department)
        ).all()
        justified = justified_against(conn, lo, hi, rule.kinds) if rule.kinds else {}
    departments: dict[str, Row] = {}
    staff: dict[str, Row] = {}

    def dept(name: str | None) -> Row:
        return departments.setdefault(name or "", Row("department", name or ""))

    for t in by_department:
        _totals(dept(t.department), t)
    for t in by_staff:
        _totals(staff.setdefault(t.actor, Row("staff", t.actor, t.department)), t)
    for name, total, n in ratings:
        dept(name).rating_sum, dept(name).rating_count = int(total or 0), int(n)
    for actor, total, n in staff_ratings:
        if actor in staff:
            staff[actor].rating_sum, staff[actor].rating_count = int(total or 0), int(n)
    for name, n in lights:
        dept(name).lights = int(n)
    for actor, n in staff_lights:
        if actor in staff:
            staff[actor].lights = int(n)
    for name, n in corrections:
        dept(name).corrections = int(n)
    for name, n in justified.items():
        dept(name).justified = n
    for row in departments.values():
        _score(row, weights, rule.weight)
    for row in staff.values():
        _score(row, weights)
    return {"department": _rank(list(departments.values())), "staff": _rank(list(staff.values()))}
