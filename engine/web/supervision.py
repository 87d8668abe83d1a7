"""The supervision pages (监察): the dashboard of lights by department with drill-down lists,
trends as SVG charts, anomalies and the correction rate of a month, corrections and
follow-ups; and the answers departments give to them.

Supervisors and administrators see everything; a department head answers the corrections and
follow-ups of their own department from the same pages. Every figure comes from indexed
queries (engine.supervision.sweep, engine.supervision.corrections); nothing here reads cases one by one.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

from markupsafe import Markup
from sqlalchemy import and_, case, func, select
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from engine.base import input_guard, wording
from engine.base.dates import TZ
from engine.base.i18n import gettext as _
from engine.ledger import tables
from engine.ledger.db import iso, read_only
from engine.rules import clock
from engine.rules.cases.model import Actor
from engine.rules.cases.steps import steps_of
from engine.rules.lights import Thresholds
from engine.service import access, bookings_desk, green_channel
from engine.service import chains as chain_service
from engine.service.cases import CaseService
from engine.supervision import corrections
from engine.supervision.appeal_counts import appeal_counts
from engine.supervision.counts import ANOMALY_LABELS, anomaly_counts, event_counts, max_visits_of, open_counts
from engine.web import charts
from engine.web.deps import deps, reader
from engine.web.desk.staff import Staff, show, staff_route

DAYS = 30


def _day_bounds(day: date) -> tuple[str, str]:
    start = datetime(day.year, day.month, day.day, tzinfo=TZ)
    return iso(start), iso(start + timedelta(days=1))


def trends(db: Any, today: date, days: int = DAYS) -> dict[str, Any]:
    """Per day of the last ``days``: applications received, cases completed, completed on time, and
    lights recorded by kind — one small indexed query per day and measure."""
    e, s, c = tables.events, tables.supervision_events, tables.cases
    labels, received, completed, on_time_rate = [], [], [], []
    lights: dict[str, list[float | None]] = {k: [] for k in ("warning", "abnormal", "violation")}
    with read_only(db) as conn:
        for k in range(days - 1, -1, -1):
            day = today - timedelta(days=k)
            lo, hi = _day_bounds(day)
            labels.append(day.strftime("%m-%d"))
            received.append(
                conn.execute(select(func.count()).where(e.c.action == "submit", e.c.at >= lo, e.c.at < hi)).scalar_one()
            )
            done, punctual = conn.execute(
                select(func.count(), func.sum(case((c.c.ended_at <= c.c.due_promised, 1), else_=0))).where(
                    and_(c.c.ended_at >= lo, c.c.ended_at < hi, c.c.state == "completed")
                )
            ).one()
            completed.append(done)
            on_time_rate.append((punctual or 0) / done if done else None)
            counts: dict[str, int] = dict(
                conn.execute(select(s.c.kind, func.count()).where(s.c.at >= lo, s.c.at < hi).group_by(s.c.kind)).all()
            )
            for kind, values in lights.items():
                values.append(counts.get(kind, 0))
    return {"labels": labels, "received": received, "completed": completed, "on_time": on_time_rate, "lights": lights}


def charts_for(t: dict[str, Any]) -> dict[str, Markup]:
    labels = t["labels"]
    volume = charts.line_chart(
        [charts.Series(_("收件"), t["received"]), charts.Series(_("办结"), t["completed"])],
        title=_("近30日办件量"),
        x_labels=labels,
        y_label=_("件"),
    )
    light_bars = charts.bar_chart(
        [
            charts.Series(_("黄灯"), t["lights"]["warning"], "warning"),
            charts.Series(_("异常"), t["lights"]["abnormal"], "abnormal"),
            charts.Series(_("红灯"), t["lights"]["violation"], "violation"),
        ],
        title=_("近30日每日亮灯"),
        x_labels=labels,
        stacked=True,
        y_label=_("次"),
    )
    punctual = charts.line_chart(
        [charts.Series(_("按期办结率"), [None if v is None else 100 * v for v in t["on_time"]], "ok")],
        title=_("近30日按期办结率"),
        x_labels=labels,
        y_format=charts.format_percent,
        y_min=0,
        y_max=100,
    )
    return {"volume": Markup(volume), "lights": Markup(light_bars), "on_time": Markup(punctual)}


def departments(service: CaseService) -> dict[str, Any]:
    return {d["id"]: d for d in (service.catalogue.center or {}).get("departments", [])}


def scope_of(actor: Actor) -> str | None:
    """Whose corrections and follow-ups this person sees and answers: all (supervisors), or their department's."""
    return None if access.holds(actor, access.SUPERVISORS) else actor.department


def month_of(request: Request) -> tuple[str, datetime, datetime]:
    """The month asked for (``?month=YYYY-MM``, this month by default) and its bounds."""
    now = clock.local_date(deps(request).service.clock.now())
    text = request.query_params.get("month", f"{now.year:04d}-{now.month:02d}")
    try:
        year, mon = (int(x) for x in text.split("-"))
        start = datetime(year, mon, 1, tzinfo=TZ)
    except ValueError:
        raise HTTPException(400, _("月份格式为 YYYY-MM，例如 2026-03。")) from None
    end = datetime(year + (mon == 12), 1 if mon == 12 else mon + 1, 1, tzinfo=TZ)
    return f"{year:04d}-{mon:02d}", start, end


def chain_summary(service: CaseService) -> dict[str, dict[str, Any]]:
    """Running chain applications by chain: how many show each light, and the stages holding
    them up (by stage name, with how many applications each holds)."""
    out: dict[str, dict[str, Any]] = {}
    for st in chain_service.running(service):
        doc = service.catalogue.chains.get(st.chain_id)
        chain: dict[str, Any] = doc.data if doc is not None else {"name": st.chain_id, "stages": []}
        row = out.setdefault(st.chain_id, {"name": chain["name"], "lights": {}, "holding": {}})
        row["lights"][st.light] = row["lights"].get(st.light, 0) + 1
        stage = next((s["name"] for s in chain["stages"] if s["id"] == st.holding), st.holding or "")
        row["holding"][stage] = row["holding"].get(stage, 0) + 1
    return out


def dashboard_data(service: CaseService, start: datetime, end: datetime) -> dict[str, Any]:
    db = service.db
    today = clock.local_date(service.clock.now())
    return {
        "open": open_counts(db),
        "events": event_counts(db, start, end),
        "anomalies": anomaly_counts(db, start, end, max_visits_of(service.catalogue)),
        "rate": corrections.rate(db, start, end),
        "charts": charts_for(trends(db, today)),
        "chain_summary": chain_summary(service),
        "cards": green_channel.tracked(service),
        "appeals": appeal_counts(db, start, end) if service.catalogue.appeals is not None else None,
        # appointments per window's department in the month (engine.service.bookings_desk)
        "booking_figures": bookings_desk.figures(
            db, clock.local_date(start), clock.local_date(end - timedelta(microseconds=1)), today
        ),
    }


async def dashboard(request: Request, staff: Staff) -> Response:
    """``GET /supervision``: a month's lights, anomalies and corrections, trends, chains and green channel."""
    service = reader(request)
    month, start, end = month_of(request)
    data = await run_in_threadpool(dashboard_data, service, start, end)
    return show(
        request, staff, "supervision/dashboard.html", month=month, departments=departments(service),
        local=wording.local_time, anomaly_labels=ANOMALY_LABELS, **data,
    )  # fmt: skip


def in_progress(service: CaseService, light: str, department: str) -> list[Any]:
    """The cases in progress showing ``light`` (any with ""), of ``department`` (any with ""), by next due."""
    c = tables.cases
    query = select(
        c.c.number, c.c.item_code, c.c.department, c.c.light, c.c.step_overdue, c.c.legal_overdue,
        c.c.due_next, c.c.due_promised, c.c.current_step, c.c.provisional_from,
    ).where(c.c.state == "in_progress")  # fmt: skip
    if light in ("green", "warning", "violation"):
        query = query.where(c.c.light == light)
    elif light == "abnormal":
        query = query.where(c.c.step_overdue.is_(True))
    elif light == "legal_overdue":
        query = query.where(c.c.legal_overdue.is_(True))
    if department:
        query = query.where(c.c.department == department)
    with read_only(service.db) as conn:
        return list(conn.execute(query.order_by(c.c.due_next.is_(None), c.c.due_next).limit(500)))


async def case_list(request: Request, staff: Staff) -> Response:
    """``GET /supervision/cases?light=…&department=…``: the dashboard's drill-down."""
    service = reader(request)
    cat = service.catalogue
    light = request.query_params.get("light", "")
    department = request.query_params.get("department", "")
    rows = await run_in_threadpool(in_progress, service, light, department)
    return show(
        request,
        staff,
        "supervision/cases.html",
        rows=rows,
        light=light,
        department=department,
        departments=departments(service),
        items=cat.items,
        parse=_parse,
        local=wording.local_time,
        step_text=lambda code, value: (
            wording.step_text(steps_of(cat.items[code].data), value) if code in cat.items else value or ""
        ),
        filters=_light_filters(),
    )


async def corrections_page(
    request: Request, staff: Staff, status: int = 200, error: str = "", scope: str | None = None
) -> Response:
    """The corrections and open follow-ups of ``scope`` (a department; None: all), with ``error`` if any."""
    service = deps(request).service
    rows = await run_in_threadpool(corrections.listing, service.db, scope)
    followups = await run_in_threadpool(corrections.open_followups, service.db, scope)
    return show(
        request, staff, "supervision/corrections.html", status, rows=rows, followups=followups,
        departments=departments(service), error=error,
        can_issue=access.rule_for("POST", "/supervision/corrections").allows(staff.actor),
        days=Thresholds.of(service.catalogue.center).correction_working_days,
    )  # fmt: skip


async def correction_list(request: Request, staff: Staff) -> Response:
    """``GET /supervision/corrections``: what this person sees (all, or their department's)."""
    return await corrections_page(request, staff, scope=scope_of(staff.actor))


async def correction_issue(request: Request, staff: Staff) -> Response:
    """``POST /supervision/corrections``: a supervisor orders a department to correct (the page again, 422,
    with why not)."""
    service = deps(request).service
    form = await request.form()
    number = str(form.get("case_number", "")).strip() or None
    th = Thresholds.of(service.catalogue.center)
    days = str(form.get("days", str(th.correction_working_days)))
    try:
        await run_in_threadpool(
            lambda: corrections.issue(
                service.db,
                department=str(form.get("department", "")),
                card=str(form.get("card", "")),
                reason=str(form.get("reason", "")),
                issued_by=staff.actor.username,
                now=service.clock.now(),
                calendar=service.calendar,
                working_days=input_guard.whole(days) or 0,
                case_number=number,
            )
        )
    except corrections.CorrectionError as exc:
        return await corrections_page(request, staff, 422, str(exc))
    return RedirectResponse("/supervision/corrections?done=issued", status_code=303)


async def correction_respond(request: Request, staff: Staff) -> Response:
    """``POST /supervision/corrections/ID/respond``: the department answers a correction."""
    service = deps(request).service
    form = await request.form()
    ident = input_guard.whole(request.path_params["id"], 9)  # a correction's row id; anything else: none
    if ident is None:
        raise HTTPException(404, _("没有这条纠错记录。"))
    try:
        await run_in_threadpool(
            lambda: corrections.respond(
                service.db,
                ident,
                department=scope_of(staff.actor),
                response=str(form.get("response", "")),
                by=staff.actor.username,
                now=service.clock.now(),
            )
        )
    except (corrections.CorrectionError, ValueError) as exc:
        raise HTTPException(422, str(exc)) from None
    return RedirectResponse("/supervision/corrections?done=answered", status_code=303)


async def followup_answer(request: Request, staff: Staff) -> Response:
    """``POST /supervision/followups/NUMBER/answer``: the department answers a bad rating's follow-up."""
    service = deps(request).service
    form = await request.form()
    try:
        await run_in_threadpool(
            lambda: corrections.answer_followup(
                service.db,
                request.path_params["number"],
                department=scope_of(staff.actor),
                answer=str(form.get("answer", "")),
                by=staff.actor.username,
                now=service.clock.now(),
            )
        )
    except corrections.CorrectionError as exc:
        raise HTTPException(422, str(exc)) from None
    return RedirectResponse("/supervision/corrections?done=followup", status_code=303)


ROUTES: list[Route] = [  # who may use each: engine.service.access.ROUTES (supervisors; a department head answers)
    staff_route("GET", "/supervision", dashboard),
    staff_route("GET", "/supervision/cases", case_list),
    staff_route("GET", "/supervision/corrections", correction_list),
    staff_route("POST", "/supervision/corrections", correction_issue),
    staff_route("POST", "/supervision/corrections/{id}/respond", correction_respond),
    staff_route("POST", "/supervision/followups/{number}/answer", followup_answer),
]


def _parse(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value else None


def _light_filters() -> dict[str, str]:
    """The case list's filters (``?light=``) in words, as the dashboard links them."""
    return {
        "green": _("绿灯"),
        "warning": _("黄灯"),
        "violation": _("红灯"),
        "abnormal": _("异常"),
        "legal_overdue": _("超法定期限"),
    }
