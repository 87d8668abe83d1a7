"""The supervision pages (监察): the dashboard of lights by department with drill-down lists,
trends as SVG charts, anomalies and the correction rate of a month, corrections and
follow-ups; and the answers departments give to them.

Supervisors and administrators see everything; a department head answers the corrections and
follow-ups of their own department from the same pages. Every figure comes from indexed
queries (engine.supervision.sweep, engine.supervision.corrections); nothing here reads cases one by one.
"""

from __future__ import annotations

from collections.abc import Callable
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
from engine.base.i18n import gettext as _
from engine.ledger import ledger
from engine.rules import clock
from engine.rules.cases.model import Actor
from engine.rules.cases.steps import steps_of
from engine.service import access, green_channel
from engine.service import chains as chain_service
from engine.service.cases import CaseService
from engine.supervision import corrections
from engine.supervision import sweep as supervision
from engine.supervision.counts import ANOMALY_LABELS, anomaly_counts, event_counts, max_visits_of, open_counts
from engine.web import charts, desk_nav
from engine.web.desk import guarded_route, staff_csrf
from engine.web.progress import local

Render = Callable[..., Response]
DAYS = 30


def _day_bounds(day: date) -> tuple[str, str]:
    start = datetime(day.year, day.month, day.day, tzinfo=clock.TZ)
    return ledger.iso(start), ledger.iso(start + timedelta(days=1))


def trends(db: Any, today: date, days: int = DAYS) -> dict[str, Any]:
    """Per day of the last ``days``: applications received, cases completed, completed on time, and
    lights recorded by kind — one small indexed query per day and measure."""
    e, s, c = ledger.events, ledger.supervision_events, ledger.cases
    labels, received, completed, on_time_rate = [], [], [], []
    lights: dict[str, list[float | None]] = {k: [] for k in ("warning", "abnormal", "violation")}
    with ledger.read_only(db) as conn:
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


def supervision_routes(service: CaseService, render: Render, key: bytes) -> list[Route]:
    cat, db = service.catalogue, service.db
    departments = {d["id"]: d for d in (cat.center or {}).get("departments", [])}
    th = supervision.Thresholds.of(cat.center)

    def show(template: str, token: str, status: int = 200, **ctx: Any) -> Response:
        nav = desk_nav.links(service, ctx.get("actor"))
        response = render(template, status=status, csrf=staff_csrf(key, token), nav=nav, **ctx)
        response.headers["Cache-Control"] = "no-store"
        return response

    def month_of(request: Request) -> tuple[str, datetime, datetime]:
        now = clock.local_date(service.clock.now())
        text = request.query_params.get("month", f"{now.year:04d}-{now.month:02d}")
        try:
            year, mon = (int(x) for x in text.split("-"))
            start = datetime(year, mon, 1, tzinfo=clock.TZ)
        except ValueError:
            raise HTTPException(400, "月份格式为 YYYY-MM，例如 2026-03。") from None
        end = datetime(year + (mon == 12), 1 if mon == 12 else mon + 1, 1, tzinfo=clock.TZ)
        return f"{year:04d}-{mon:02d}", start, end

    def chain_summary() -> dict[str, dict[str, Any]]:
        """Running chain applications by chain: how many show each light, and the stages holding
        them up (by stage name, with how many applications each holds)."""
        out: dict[str, dict[str, Any]] = {}
        for st in chain_service.running(service):
            doc = cat.chains.get(st.chain_id)
            chain: dict[str, Any] = doc.data if doc is not None else {"name": st.chain_id, "stages": []}
            row = out.setdefault(st.chain_id, {"name": chain["name"], "lights": {}, "holding": {}})
            row["lights"][st.light] = row["lights"].get(st.light, 0) + 1
            stage = next((s["name"] for s in chain["stages"] if s["id"] == st.holding), st.holding or "")
            row["holding"][stage] = row["holding"].get(stage, 0) + 1
        return out

    async def dashboard(request: Request, actor: Actor, token: str) -> Response:
        month, start, end = month_of(request)

        def work() -> dict[str, Any]:
            today = clock.local_date(service.clock.now())
            return {
                "open": open_counts(db),
                "events": event_counts(db, start, end),
                "anomalies": anomaly_counts(db, start, end, max_visits_of(cat)),
                "rate": corrections.rate(db, start, end),
                "charts": charts_for(trends(db, today)),
                "chain_summary": chain_summary(),
                "cards": green_channel.tracked(service),
            }

        data = await run_in_threadpool(work)
        return show(
            "supervision/dashboard.html",
            token,
            actor=actor,
            month=month,
            departments=departments,
            local=local,
            anomaly_labels=ANOMALY_LABELS,
            **data,
        )

    async def case_list(request: Request, actor: Actor, token: str) -> Response:
        light = request.query_params.get("light", "")
        department = request.query_params.get("department", "")
        c = ledger.cases
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

        def work() -> list[Any]:
            with ledger.read_only(db) as conn:
                return list(conn.execute(query.order_by(c.c.due_next.is_(None), c.c.due_next).limit(500)))

        rows = await run_in_threadpool(work)
        return show(
            "supervision/cases.html",
            token,
            actor=actor,
            rows=rows,
            light=light,
            department=department,
            departments=departments,
            items=cat.items,
            parse=_parse,
            local=local,
            step_text=lambda code, value: (
                wording.step_text(steps_of(cat.items[code].data), value) if code in cat.items else value or ""
            ),
            filters=_light_filters(),
        )

    async def correction_list(request: Request, actor: Actor, token: str) -> Response:
        scope = None if access.holds(actor, access.SUPERVISORS) else actor.department
        rows = await run_in_threadpool(corrections.listing, db, scope)
        followups = await run_in_threadpool(corrections.open_followups, db, scope)
        return show(
            "supervision/corrections.html",
            token,
            actor=actor,
            rows=rows,
            followups=followups,
            departments=departments,
            error="",
            can_issue=access.rule_for("POST", "/supervision/corrections").allows(actor),
            days=th.correction_working_days,
        )

    async def correction_issue(request: Request, actor: Actor, token: str) -> Response:
        form = await request.form()
        number = str(form.get("case_number", "")).strip() or None
        days = str(form.get("days", str(th.correction_working_days)))
        try:
            await run_in_threadpool(
                lambda: corrections.issue(
                    db,
                    department=str(form.get("department", "")),
                    card=str(form.get("card", "")),
                    reason=str(form.get("reason", "")),
                    issued_by=actor.username,
                    now=service.clock.now(),
                    calendar=service.calendar,
                    working_days=input_guard.whole(days) or 0,
                    case_number=number,
                )
            )
        except corrections.CorrectionError as exc:
            rows = await run_in_threadpool(corrections.listing, db, None)
            followups = await run_in_threadpool(corrections.open_followups, db, None)
            return show(
                "supervision/corrections.html",
                token,
                422,
                actor=actor,
                rows=rows,
                followups=followups,
                departments=departments,
                error=str(exc),
                can_issue=True,
                days=th.correction_working_days,
            )
        return RedirectResponse("/supervision/corrections?done=issued", status_code=303)

    async def correction_respond(request: Request, actor: Actor, token: str) -> Response:
        form = await request.form()
        ident = input_guard.whole(request.path_params["id"], 9)  # a correction's row id; anything else: none
        if ident is None:
            raise HTTPException(404, _("没有这条纠错记录。"))
        scope = None if access.holds(actor, access.SUPERVISORS) else actor.department
        try:
            await run_in_threadpool(
                lambda: corrections.respond(
                    db,
                    ident,
                    department=scope,
                    response=str(form.get("response", "")),
                    by=actor.username,
                    now=service.clock.now(),
                )
            )
        except (corrections.CorrectionError, ValueError) as exc:
            raise HTTPException(422, str(exc)) from None
        return RedirectResponse("/supervision/corrections?done=answered", status_code=303)

    async def followup_answer(request: Request, actor: Actor, token: str) -> Response:
        form = await request.form()
        scope = None if access.holds(actor, access.SUPERVISORS) else actor.department
        try:
            await run_in_threadpool(
                lambda: corrections.answer_followup(
                    db,
                    request.path_params["number"],
                    department=scope,
                    answer=str(form.get("answer", "")),
                    by=actor.username,
                    now=service.clock.now(),
                )
            )
        except corrections.CorrectionError as exc:
            raise HTTPException(422, str(exc)) from None
        return RedirectResponse("/supervision/corrections?done=followup", status_code=303)

    return [  # who may use each: engine.service.access.ROUTES (supervisors; a department head answers)
        guarded_route(service, key, "GET", "/supervision", dashboard),
        guarded_route(service, key, "GET", "/supervision/cases", case_list),
        guarded_route(service, key, "GET", "/supervision/corrections", correction_list),
        guarded_route(service, key, "POST", "/supervision/corrections", correction_issue),
        guarded_route(service, key, "POST", "/supervision/corrections/{id}/respond", correction_respond),
        guarded_route(service, key, "POST", "/supervision/followups/{number}/answer", followup_answer),
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
