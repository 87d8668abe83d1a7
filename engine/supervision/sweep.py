"""Electronic supervision (电子监察): lights on every open case, recorded as they change, and the
timed rules around them — computed from the case rows' worklist columns with indexed queries.

Lights (``cases.light`` keeps the case's light, ``cases.step_overdue`` the abnormal mark):

* ``warning`` (黄灯) — the promised deadline is within the center's threshold: on or before
  the end of the ``warning_working_days``-th working day from today (center.yaml; default 1,
  so the working day before the deadline day and the deadline day itself), or within
  ``warning_minutes`` for items whose limits are in minutes;
* ``abnormal`` (异常) — an open step is past its own limit while the case is still on time;
* ``violation`` (红灯) — the case is past its promised deadline;
* ``legal_overdue`` — past the legal deadline (a separate mark, ``cases.legal_overdue``).

A paused case keeps its lights (the clock is stopped; its deadlines are unknown until it runs).
Every change is a row of ``supervision_events`` with a unique key (kind, case, deadline), in
the same transaction as a guarded update of the case row (``WHERE light = <what we saw>``), so
a sweep run twice, or by two processes at once, records each light once. The same sweep
records special procedures running past their maximum, escalates corrections nobody answered
in time, and opens and watches the follow-ups of dissatisfied ratings.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Engine, insert, select, update
from sqlalchemy.exc import IntegrityError

from engine.ledger import tables, transparency
from engine.ledger.db import iso, read_only
from engine.rules import clock
from engine.rules.calendar import CalendarYearMissing, WorkCalendar
from engine.rules.lights import Thresholds
from engine.service import bookings_desk, drafts, provisional, recount, uploads
from engine.service import chains as chain_service  # chains are run by the same sweep
from engine.service.cases import CaseService
from engine.supervision.appeal_sweep import sweep_appeals

log = logging.getLogger("yangguang.supervision")

SEVERITY = {"green": 0, "warning": 1, "violation": 2}
LIGHT_KINDS = ("warning", "abnormal", "violation", "legal_overdue")
_C = tables.cases
_S = tables.supervision_events


@dataclass(slots=True)
class SweepReport:
    deemed_accepted: list[str] = field(default_factory=list)
    lights: dict[str, int] = field(default_factory=dict)  # kind -> changes recorded
    other: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0  # how long the sweep took (the server's sweep-duration metric)

    def count(self, bucket: dict[str, int], kind: str) -> None:
        bucket[kind] = bucket.get(kind, 0) + 1


def _iso(value: datetime) -> str:
    return iso(value)


def _parse(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value else None


def warning_boundary(now: datetime, cal: WorkCalendar, days: int) -> datetime:
    """The latest promised deadline that already lights yellow at ``now`` (day limits); into a
    year without its file, counted provisionally like the deadlines themselves."""
    try:
        return clock.end_of_day(cal.add_working_days(clock.local_date(now), days))
    except CalendarYearMissing:  # a year no rule counts (before the first file): calendar days
        return clock.end_of_day(clock.local_date(now) + timedelta(days=days))


def desired(row: Any, now: datetime, day_boundary: datetime, minute_boundary: datetime) -> tuple[str, bool, bool]:
    """(light, abnormal, legal overdue) a running case should show at ``now``; a case whose clock is
    stopped keeps what it shows."""
    if row.paused:
        return str(row.light), bool(row.step_overdue), bool(row.legal_overdue)
    promised, step, legal = _parse(row.due_promised), _parse(row.due_step), _parse(row.due_legal)
    boundary = minute_boundary if row.minute_limit else day_boundary
    if promised is not None and promised < now:
        light = "violation"
    elif promised is not None and promised <= boundary:
        light = "warning"
    else:
        light = "green"
    abnormal = light != "violation" and step is not None and step < now
    return light, abnormal, legal is not None and legal < now


def _record(
    conn: Any, case_id: int | None, department: str | None, kind: str, key: str, at: datetime, detail: Mapping[str, Any]
) -> bool:
    """Insert one supervision event unless its key is known (idempotent across sweeps and processes)."""
    exists = conn.execute(select(_S.c.id).where(_S.c.key == key)).first()
    if exists is not None:
        return False
    try:
        with conn.begin_nested():
            conn.execute(
                insert(_S).values(
                    case_id=case_id,
                    department=department,
                    kind=kind,
                    key=key,
                    at=_iso(at),
                    detail=json.dumps(detail, ensure_ascii=False, sort_keys=True, default=str),
                )
            )
    except IntegrityError:  # another process recorded it between our read and write
        return False
    return True


def _judged(deadline: str | None, since: int | None) -> dict[str, Any]:
    """A light's detail: the deadline it was judged by, with the provisional year when that is 暂定."""
    marked = provisional.is_provisional(_parse(deadline), since)
    return {"deadline": deadline, **({"provisional_from": since} if marked else {})}


def sweep_lights(db: Engine, now: datetime, cal: WorkCalendar, th: Thresholds, report: SweepReport) -> None:
    day_boundary = warning_boundary(now, cal, th.warning_working_days)
    minute_boundary = now + timedelta(minutes=th.warning_minutes)
    now_iso, bound_iso = _iso(now), _iso(max(day_boundary, minute_boundary))
    cols = (
        _C.c.id, _C.c.number, _C.c.department, _C.c.light, _C.c.step_overdue, _C.c.legal_overdue, _C.c.paused,
        _C.c.due_promised, _C.c.due_step, _C.c.due_legal, _C.c.minute_limit, _C.c.provisional_from,
    )  # fmt: skip
    open_ = _C.c.state == "in_progress"
    with read_only(db) as conn:  # candidates only, each from an index; nothing else is read
        candidates = {
            r.id: r
            for q in (
                select(*cols).where(open_, _C.c.due_promised <= bound_iso),
                select(*cols).where(open_, _C.c.due_step < now_iso),
                select(*cols).where(open_, _C.c.due_legal < now_iso),
                select(*cols).where(open_, _C.c.light != "green"),
                select(*cols).where(open_, _C.c.step_overdue.is_(True)),
            )
            for r in conn.execute(q)
        }
    for row in candidates.values():
        light, abnormal, legal = desired(row, now, day_boundary, minute_boundary)
        seen = (str(row.light), bool(row.step_overdue), bool(row.legal_overdue))
        if (light, abnormal, legal) == seen:
            continue
        changes: list[tuple[str, str, dict[str, Any]]] = []  # (kind, key, detail)
        if light != seen[0]:
            kind = light if SEVERITY[light] > SEVERITY[seen[0]] else "light_cleared"
            changes.append((kind, f"{kind}:{row.id}:{row.due_promised}:{seen[0]}", {"from": seen[0], "to": light,
                            **_judged(row.due_promised, row.provisional_from)}))  # fmt: skip
        if abnormal != seen[1]:
            kind = "abnormal" if abnormal else "abnormal_cleared"
            changes.append((kind, f"{kind}:{row.id}:{row.due_step}", _judged(row.due_step, row.provisional_from)))
        if legal and not seen[2]:
            detail = _judged(row.due_legal, row.provisional_from)
            changes.append(("legal_overdue", f"legal_overdue:{row.id}:{row.due_legal}", detail))
        with db.begin() as conn:
            changed = conn.execute(
                update(_C)
                .where(
                    _C.c.id == row.id,
                    _C.c.light == seen[0],
                    _C.c.step_overdue.is_(seen[1]),
                    _C.c.legal_overdue.is_(seen[2]),
                )
                .values(
                    light=light,
                    step_overdue=abnormal,
                    legal_overdue=legal or seen[2],
                    **({"light_since": now_iso} if light != seen[0] else {}),
                )
            ).rowcount
            if changed != 1:  # another sweep got there first
                continue
            for kind, key, detail in changes:
                if _record(conn, row.id, row.department, kind, key, now, detail):
                    report.count(report.lights, kind)


def sweep_special_procedures(service: CaseService, now: datetime, report: SweepReport) -> None:
    """A special procedure still running past its declared maximum is an anomaly (recorded once)."""
    e = tables.events
    with read_only(service.db) as conn:  # open cases that ever started a special procedure
        started = conn.execute(
            select(_C.c.number)
            .join(e, e.c.case_id == _C.c.id)
            .where(e.c.action == "start_special_procedure", _C.c.state == "in_progress")
            .distinct()
        ).all()
    for (number,) in started:
        case, snap = service.load(number)
        limits = {sp["kind"]: sp for sp in snap["item"].get("special_procedures", [])}
        for pause in case.pauses:
            spec = limits.get(pause["kind"])
            if pause["end"] is not None or spec is None or "max" not in spec:
                continue
            try:
                due = clock.due(pause["start"], spec["max"], service.calendar)
            except CalendarYearMissing:
                continue
            if now > due:
                with service.db.begin() as conn:
                    case_id = conn.execute(select(_C.c.id).where(_C.c.number == number)).scalar_one()
                    key = f"special_procedure_overrun:{case_id}:{pause['kind']}:{_iso(pause['start'])}"
                    detail = {"kind": pause["kind"], "started": pause["start"], "max_due": due}
                    if _record(conn, case_id, case.department, "special_procedure_overrun", key, now, detail):
                        report.count(report.other, "special_procedure_overrun")


def sweep_followups(service: CaseService, now: datetime, th: Thresholds, report: SweepReport) -> None:
    """Record a follow-up that passes its deadline unanswered (once). Follow-ups are opened with the
    dissatisfied rating itself (engine.service.cases), so nothing here reads ratings."""
    f = tables.followups
    with read_only(service.db) as conn:
        late = conn.execute(
            select(f.c.case_id, f.c.department, f.c.due).where(f.c.answered_at.is_(None), f.c.due < _iso(now))
        ).all()
    for overdue in late:
        key = f"followup_overdue:{overdue.case_id}"
        with service.db.begin() as conn:
            if _record(conn, overdue.case_id, overdue.department, "followup_overdue", key, now, {"due": overdue.due}):
                report.count(report.other, "followup_overdue")


def sweep_corrections(db: Engine, now: datetime, report: SweepReport) -> None:
    """A correction not answered by its deadline escalates (once)."""
    c = tables.corrections
    with db.begin() as conn:
        late = conn.execute(
            select(c.c.id, c.c.department, c.c.case_number, c.c.respond_by).where(
                c.c.responded_at.is_(None), c.c.escalated_at.is_(None), c.c.respond_by < _iso(now)
            )
        ).all()
        for r in late:
            done = conn.execute(
                update(c).where(c.c.id == r.id, c.c.escalated_at.is_(None)).values(escalated_at=_iso(now))
            ).rowcount
            detail = {"correction": r.id, "case": r.case_number, "respond_by": r.respond_by}
            key = f"correction_escalated:{r.id}"
            if done == 1 and _record(conn, None, r.department, "correction_escalated", key, now, detail):
                report.count(report.other, "correction_escalated")


def sweep_delivery(db: Engine, now: datetime, report: SweepReport) -> None:
    """Art. 44: a granted licence not issued or delivered within 10 working days of the decision is
    an anomaly (recorded once per deadline; ``cases.due_delivery`` is kept by every action)."""
    with read_only(db) as conn:
        late = conn.execute(
            select(_C.c.id, _C.c.department, _C.c.due_delivery).where(
                _C.c.state == "in_progress", _C.c.due_delivery < _iso(now)
            )
        ).all()
    for row in late:
        key = f"delivery_overdue:{row.id}:{row.due_delivery}"
        with db.begin() as conn:
            if _record(conn, row.id, row.department, "delivery_overdue", key, now, {"deadline": row.due_delivery}):
                report.count(report.other, "delivery_overdue")


def sweep(service: CaseService, progress: Callable[[int, int], None] | None = None) -> SweepReport:
    """Everything time moves: deemed acceptance (Art. 32), lights, overruns, follow-ups, escalations,
    and the next stage of every approval chain whose open stage has ended.
    Idempotent: a second run at the same time changes nothing. ``progress(done, 12)`` is called
    after each of its twelve phases (``yangguang sweep`` draws a bar from it: engine.cli.progress)."""
    phase = iter(range(1, SWEEP_PHASES + 1))
    tick = (lambda: progress(next(phase), SWEEP_PHASES)) if progress is not None else (lambda: None)
    started = time.perf_counter()  # the cost of the sweep, not the law's time: not the service's clock
    now = service.clock.now()
    th = Thresholds.of(service.catalogue.center)
    recounted = recount.provisional_deadlines(service)  # first: the lights below judge the recounted deadlines
    tick()
    report = SweepReport(deemed_accepted=service.sweep())
    tick()
    if recounted:
        report.other["provisional_recounted"] = recounted
    sweep_lights(service.db, now, service.calendar, th, report)
    tick()
    sweep_special_procedures(service, now, report)
    tick()
    sweep_followups(service, now, th, report)
    tick()
    sweep_corrections(service.db, now, report)
    # requests and complaints: their lights and escalations (engine.supervision.appeal_sweep), in this phase
    boundary = warning_boundary(now, service.calendar, th.warning_working_days)
    for kind, n in sweep_appeals(service, now, boundary, _record).items():
        report.other[kind] = report.other.get(kind, 0) + n
    tick()
    sweep_delivery(service.db, now, report)
    tick()
    if purged := uploads.purge_unclaimed(service.db, now):  # files no application claimed (engine.service.uploads)
        report.other["uploads_purged"] = purged
    tick()
    if ended := drafts.purge(service.db, now):  # then the drafts untouched for a week (engine.service.drafts)
        report.other["drafts_purged"] = ended
    # appointments of past days nobody came to (and days closed since, arrivals never called)
    if missed := bookings_desk.mark_no_shows(service.db, now, service.calendar):
        report.other["booking_no_shows"] = missed
    tick()
    consented = chain_service.sweep_joint_reviews(service)
    if consented:
        report.other["deemed_consent"] = len(consented)
    tick()
    filed = chain_service.advance_all(service)
    if filed:
        report.other["chain_cases_filed"] = len(filed)
    tick()
    if transparency.sweep(service.db, service.catalogue.center, now):  # last: it covers what this sweep wrote
        report.other["checkpoint_signed"] = 1
    tick()
    report.seconds = time.perf_counter() - started
    return report


SWEEP_PHASES = 12


__all__ = [
    "LIGHT_KINDS",
    "SEVERITY",
    "SweepReport",
    "sweep",
]
