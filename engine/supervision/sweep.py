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
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Engine, and_, func, insert, select, update
from sqlalchemy.exc import IntegrityError

from engine.base import stated
from engine.base.i18n import N_, gettext
from engine.ledger import tables, transparency
from engine.ledger.db import iso, read_only
from engine.rules import clock
from engine.rules.calendar import CalendarYearMissing, WorkCalendar
from engine.rules.lights import Thresholds
from engine.service import chains as chain_service  # chains are run by the same sweep
from engine.service import drafts, filing_limits, provisional, query_codes, recount, uploads
from engine.service.cases import CaseService

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
    tick()
    sweep_delivery(service.db, now, report)
    tick()
    if purged := uploads.purge_unclaimed(service.db, now):  # files no application claimed (engine.service.uploads)
        report.other["uploads_purged"] = purged
    tick()
    if ended := drafts.purge(service.db, now):  # then the drafts untouched for a week (engine.service.drafts)
        report.other["drafts_purged"] = ended
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
    return report


SWEEP_PHASES = 12


def open_counts(db: Engine) -> dict[str, dict[str, int]]:
    """Running cases by department: how many show each light, and how many are abnormal — one
    GROUP BY answered from the covering index (state, department, light, step_overdue)."""
    with read_only(db) as conn:
        rows = conn.execute(
            select(_C.c.department, _C.c.light, _C.c.step_overdue, func.count())
            .where(_C.c.state == "in_progress")
            .group_by(_C.c.department, _C.c.light, _C.c.step_overdue)
        ).all()
    out: dict[str, dict[str, int]] = {}
    for department, light, abnormal, n in rows:
        counts = out.setdefault(department or "", {"green": 0, "warning": 0, "violation": 0, "abnormal": 0})
        counts[light] = counts.get(light, 0) + int(n)
        if abnormal:
            counts["abnormal"] += int(n)
    return out


def event_counts(db: Engine, start: datetime, end: datetime) -> dict[str, dict[str, int]]:
    """Supervision events in [start, end) by department and kind — exact and repeatable."""
    with read_only(db) as conn:
        rows = conn.execute(
            select(_S.c.department, _S.c.kind, func.count())
            .where(and_(_S.c.at >= _iso(start), _S.c.at < _iso(end)))
            .group_by(_S.c.department, _S.c.kind)
        ).all()
    out: dict[str, dict[str, int]] = {}
    for department, kind, n in rows:
        out.setdefault(department or "", {})[kind] = int(n)
    return out


#: case events that are anomalies of their month: a deemed consent (视为同意) is a department that let a joint
#: review's shared deadline pass without an opinion, as a deemed acceptance is a window that let Art. 32's pass
ANOMALY_ACTIONS = ("fee_anomaly", "refuse", "deemed_accept", "deemed_consent", "extend", "start_special_procedure")
#: every kind ``anomaly_counts`` reports, in the order the dashboard lists them, with its label (translated where shown)
ANOMALY_LABELS = {
    "fee_anomaly": N_("收费异常"),
    "refuse": N_("不予受理"),
    "deemed_accept": N_("视为受理"),
    "deemed_consent": N_("联审视为同意"),
    "extend": N_("延期"),
    "start_special_procedure": N_("特别程序"),
    "special_procedure_overrun": N_("特别程序超时"),
    "visits_exceeded": N_("超过到现场次数"),
    "correction_escalated": N_("纠错逾期未答复"),
    "followup_overdue": N_("回访逾期"),
    "delivery_overdue": N_("发证送达超期"),
    query_codes.GUESSING: N_("查询码被猜测"),
    filing_limits.FLOOD: N_("同一地址大量提交申请"),
}
#: the supervision events the sweep records that count as anomalies of their month
_SWEEP_ANOMALIES = ("special_procedure_overrun", "correction_escalated", "followup_overdue", "delivery_overdue")
#: every kind of ``supervision_events`` row (``event_counts``), with its label
EVENT_LABELS = {
    "warning": N_("黄灯"),
    "abnormal": N_("异常"),
    "violation": N_("红灯"),
    "legal_overdue": N_("超法定期限"),
    "light_cleared": N_("灯色解除"),
    "abnormal_cleared": N_("异常解除"),
    "special_procedure_overrun": N_("特别程序超时"),
    "correction_escalated": N_("纠错逾期未答复"),
    "followup_overdue": N_("回访逾期"),
    "delivery_overdue": N_("发证送达超期"),
    # wrong query codes reached a limit (engine.service.query_codes): per case (with its department) or per
    # client address (no department); once per case or client and window
    query_codes.GUESSING: N_("查询码被猜测"),
    # one client address filed its hour's or day's applications (engine.service.filing_limits); no department
    filing_limits.FLOOD: N_("同一地址大量提交申请"),
}


def labels() -> dict[str, str]:
    """Every kind the period's lights and anomalies are counted by, with its label in the request's language."""
    return {kind: gettext(label) for kind, label in {**EVENT_LABELS, **ANOMALY_LABELS}.items()}


def visits_exceeded(db: Engine, max_visits: Mapping[str, int], start: datetime, end: datetime) -> dict[str, list[str]]:
    """Cases with an in-person visit in [start, end) whose visits so far exceed the item's
    ``visits.max`` (staff mark an action done with the applicant at the window), by department."""
    e = tables.events
    with read_only(db) as conn:
        touched = conn.execute(
            select(e.c.case_id)
            .where(e.c.at >= _iso(start), e.c.at < _iso(end), e.c.payload.like('%"in_person":true%'))
            .distinct()
        ).all()
        ids = [r.case_id for r in touched]
        rows = (
            conn.execute(
                select(_C.c.number, _C.c.item_code, _C.c.department, func.count(e.c.id))
                .join(e, e.c.case_id == _C.c.id)
                .where(_C.c.id.in_(ids), e.c.payload.like('%"in_person":true%'))
                .group_by(_C.c.id)
            ).all()
            if ids
            else []
        )
    out: dict[str, list[str]] = {}
    for number, item_code, department, visits in rows:
        if visits > max_visits.get(item_code, 99):
            out.setdefault(department or "", []).append(number)
    return out


def anomaly_counts(
    db: Engine, start: datetime, end: datetime, max_visits: Mapping[str, int] | None = None
) -> dict[str, dict[str, int]]:
    """Anomalies the record shows in [start, end) by department: fee anomalies, refusals, deemed
    acceptances, deemed consents in joint reviews, extensions and special procedures (from the case
    events), plus the supervision events (overruns, escalations, overdue follow-ups)."""
    e = tables.events
    with read_only(db) as conn:
        rows = conn.execute(
            select(_C.c.department, e.c.action, func.count())
            .join(_C, _C.c.id == e.c.case_id)
            .where(e.c.action.in_(ANOMALY_ACTIONS), e.c.at >= _iso(start), e.c.at < _iso(end))
            .group_by(_C.c.department, e.c.action)
        ).all()
        # Art. 32: an acceptance recorded by staff after the completeness period is an acceptance
        # from receipt by law, exactly like the sweep's deemed acceptance
        late_accepts = conn.execute(
            select(_C.c.department, func.count())
            .join(_C, _C.c.id == e.c.case_id)
            .where(
                e.c.action == "accept",
                e.c.payload.like('%"as_of_receipt":true%'),
                e.c.at >= _iso(start),
                e.c.at < _iso(end),
            )
            .group_by(_C.c.department)
        ).all()
    out: dict[str, dict[str, int]] = {}
    for department, action, n in rows:
        out.setdefault(department or "", {})[action] = int(n)
    for department, n in late_accepts:
        counts = out.setdefault(department or "", {})
        counts["deemed_accept"] = counts.get("deemed_accept", 0) + int(n)
    for department, kinds in event_counts(db, start, end).items():
        for kind in (*_SWEEP_ANOMALIES, query_codes.GUESSING, filing_limits.FLOOD):
            if kind in kinds:
                out.setdefault(department, {})[kind] = kinds[kind]
    if max_visits is not None:
        for department, numbers in visits_exceeded(db, max_visits, start, end).items():
            out.setdefault(department, {})["visits_exceeded"] = len(numbers)
    return out


def max_visits_of(catalogue: Any) -> dict[str, int]:
    """Each item's ``visits.max`` (the most in-person visits it may need)."""
    out = {code: stated.visits_max(doc.data) for code, doc in catalogue.items.items()}
    return {code: most for code, most in out.items() if most is not None}  # 未说明: nothing to exceed


def lights_of(db: Engine, number: str) -> list[dict[str, Any]]:
    """A case's supervision events, oldest first (for its timeline)."""
    with read_only(db) as conn:
        rows = conn.execute(
            select(_S.c.kind, _S.c.at, _S.c.detail)
            .join(_C, _C.c.id == _S.c.case_id)
            .where(_C.c.number == number)
            .order_by(_S.c.at, _S.c.id)
        ).all()
    return [{"kind": r.kind, "at": datetime.fromisoformat(r.at), "detail": json.loads(r.detail)} for r in rows]


__all__ = [
    "ANOMALY_LABELS",
    "EVENT_LABELS",
    "LIGHT_KINDS",
    "SEVERITY",
    "SweepReport",
    "anomaly_counts",
    "event_counts",
    "labels",
    "lights_of",
    "max_visits_of",
    "open_counts",
    "sweep",
    "visits_exceeded",
]
