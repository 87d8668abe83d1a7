"""What supervision counts, for the dashboard, its API and the monthly report: running cases by light,
the supervision events and anomalies of a period, in-person visits past an item's maximum, and one
case's lights — indexed queries over the rows the sweep (engine.supervision.sweep) and the case
service write."""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import Engine, and_, func, select

from engine.base import stated
from engine.base.i18n import N_, gettext
from engine.ledger import tables
from engine.ledger.db import iso, read_only
from engine.service import filing_limits, query_codes

_C = tables.cases
_S = tables.supervision_events


def _iso(value: datetime) -> str:
    return iso(value)


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
    # requests and complaints (engine.supervision.appeal_sweep), by their handling department
    "appeal_warning": N_("诉求黄灯"),
    "appeal_violation": N_("诉求红灯"),
    "appeal_escalated": N_("诉求超期升级"),
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
