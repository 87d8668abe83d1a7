"""``GET /api/supervision/summary``: electronic supervision's figures for a period, for supervisors and
administrators (a bearer token): open cases, lights, anomalies, corrections and the month's rankings."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from engine.base.dates import TZ
from engine.base.i18n import N_
from engine.base.i18n import gettext as _
from engine.service import access
from engine.supervision import corrections, rankings
from engine.supervision.counts import anomaly_counts, event_counts, labels, max_visits_of, open_counts
from engine.web.api.common import MONTH, full_date, iso, staff_of
from engine.web.deps import reader
from engine.web.errors import ApiError

NEED_SUPERVISOR = N_("请提供监察人员的登录令牌。")
SUPERVISORS_ONLY = N_("只有监察人员和管理员可以导出监察数据。")
BAD_DATES = N_("from 和 to 须为 YYYY-MM-DD 格式的日期。")
BAD_PERIOD = N_("期间须从 from 到 to（不含 to），且至多一年。")
BAD_MONTH = N_("month 须为 YYYY-MM 格式的月份。")


def _period(request: Request) -> tuple[date, date, str]:
    """(from, to, month) of the query, or 400 saying which is wrong."""
    try:  # RFC 3339 full-date only, as the document says
        start, end = (full_date(request.query_params.get(k, "")) for k in ("from", "to"))
    except ValueError:
        raise ApiError(400, "bad_request", _(BAD_DATES)) from None
    if not start < end or (end - start).days > 366:
        raise ApiError(400, "bad_request", _(BAD_PERIOD))
    month = request.query_params.get("month") or f"{start.year:04d}-{start.month:02d}"
    try:
        if not MONTH.fullmatch(month):
            raise ValueError(month)
        rankings.month_bounds(month)
    except ValueError:
        raise ApiError(400, "bad_request", _(BAD_MONTH)) from None
    return start, end, month


async def summary(request: Request) -> Response:
    staff = await run_in_threadpool(staff_of, request)
    if staff is None:
        raise ApiError(401, "unauthorized", _(NEED_SUPERVISOR))
    if not access.rule_for("GET", "/api/supervision/summary").allows(staff):  # the one decision
        raise ApiError(403, "forbidden", _(SUPERVISORS_ONLY))
    start, end, month = _period(request)
    service = reader(request)
    db, cat = service.db, service.catalogue

    def work() -> dict[str, Any]:
        lo = datetime(start.year, start.month, start.day, tzinfo=TZ)
        hi = datetime(end.year, end.month, end.day, tzinfo=TZ)
        appeals = cat.appeals.data if cat.appeals is not None else None  # justified complaints' weight
        ranked = rankings.month(db, service.calendar, cat.center, month, appeals)
        return {
            "center": (cat.center or {}).get("name", ""),
            "generated_at": iso(service.clock.now()),
            "period": {"from": start.isoformat(), "to": end.isoformat()},
            "open": open_counts(db),
            "lights": event_counts(db, lo, hi),
            "anomalies": anomaly_counts(db, lo, hi, max_visits_of(cat)),
            "labels": labels(),
            "corrections": corrections.rate(db, lo, hi),
            "rankings": {"month": month, **{k: [r.as_dict() for r in v] for k, v in ranked.items()}},
        }

    return JSONResponse(await run_in_threadpool(work))
