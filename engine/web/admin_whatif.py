"""The administrator's what-if of an item (/admin/items/CODE/whatif): before an edit on disk goes live,
its on-time rate, lights and working days under the live catalogue and under the catalogue on disk,
simulated on the center's recorded load of the last working days (synthetic when nothing is recorded),
as ``yangguang simulate --what-if`` computes them (engine.supervision.foresight), with bounded work."""

from __future__ import annotations

import logging
from datetime import date
from typing import TYPE_CHECKING, Any

from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response

from engine.base.i18n import N_
from engine.base.i18n import gettext as _
from engine.catalogue.cache import FileCache
from engine.check.pipeline import load as load_catalogue
from engine.rules import clock, foresight
from engine.service.cases import CaseService
from engine.supervision import foresight as whatif
from engine.web.deps import deps
from engine.web.desk.staff import Staff, show

if TYPE_CHECKING:
    from engine.web.reload import LiveApp

log = logging.getLogger("yangguang.admin")

#: the recorded working days replayed, and at most this many cases simulated per catalogue (a page's work)
LAST_DAYS = 20
MOST_CASES = 2000
SYNTHETIC_PER_DAY = 50
#: the figures shown, in order, with their labels
FIGURES = (
    ("on_time", N_("按时办结率（%）")),
    ("yellow", N_("亮黄灯件数")),
    ("red", N_("亮红灯件数")),
    ("step_overdue", N_("环节超时件数")),
    ("mean_days", N_("平均办理用时（工作日）")),
    ("p90_days", N_("90%的件在此用时内办结（工作日）")),
    ("cases", N_("模拟件数")),
)


def _load(service: CaseService, current: foresight.Catalog) -> tuple[foresight.Load, dict[str, Any]]:
    window = whatif.window_of(service.db, service.calendar, LAST_DAYS, None, None)
    if window is not None:
        load = whatif.recorded_load(service.db, current, service.calendar, window)
        if load.arrivals:
            capped = whatif.capped(load, MOST_CASES)
            return capped, {"recorded": True, "since": window.since, "until": window.until}
    today = clock.local_date(service.clock.now())
    days = MOST_CASES // SYNTHETIC_PER_DAY
    load = whatif.synthetic_load(current, service.calendar, today, days, SYNTHETIC_PER_DAY, 1)
    return load, {"recorded": False, "per_day": SYNTHETIC_PER_DAY, "days": days}


def _rows(current: dict[str, float] | None, changed: dict[str, float] | None) -> list[dict[str, Any]]:
    rows = []
    for key, label in FIGURES:
        a = None if current is None else current.get(key)
        b = None if changed is None else changed.get(key)
        diff = None if a is None or b is None else round(b - a, 2)
        rows.append({"label": _(label), "current": _num(a), "changed": _num(b), "difference": _signed(diff)})
    return rows


def _num(value: float | None) -> str:
    if value is None:
        return "—"
    return str(int(value)) if float(value).is_integer() else f"{value:g}"


def _signed(value: float | None) -> str:
    if value is None:
        return "—"
    return ("+" if value > 0 else "") + _num(value) if value else "0"


def comparison(live: LiveApp, service: CaseService, code: str) -> dict[str, Any]:
    """The page's context: the item under the live catalogue and under the one on disk."""
    disk = load_catalogue(live.root, FileCache(live.root)).catalogue
    cat = live.current.catalogue
    if code not in disk.items and code not in cat.items:
        raise HTTPException(404, _("线上目录和磁盘上最新的目录里都没有这个事项。"))
    current, changed = whatif.catalog_of(cat), whatif.catalog_of(disk)
    load, about = _load(service, current)
    result = whatif.what_if(current, changed, load, service.calendar, 1)
    doc = disk.items.get(code) or cat.items[code]
    data = disk.data(doc)
    dept = str(data["department"])
    department = (disk.department(dept) or {}).get("name", "")
    return {
        "code": code,
        "item_name": data.get("name", ""),
        "department": department,
        "item_rows": _rows(result.current.items.get(code), result.changed.items.get(code)),
        "dept_rows": _rows(result.current.departments.get(dept), result.changed.departments.get(dept)),
        "same": disk.version == cat.version,
        "about": about,
        "cases": result.cases,
        "since": _day(about.get("since")),
        "until": _day(about.get("until")),
    }


def _day(value: date | None) -> str:
    return "" if value is None else value.isoformat()  # local dates, as every page shows them


async def item_what_if(request: Request, staff: Staff) -> Response:
    """``GET /admin/items/CODE/whatif``."""
    d = deps(request)
    live = (d.extra or {})["live"]
    try:
        ctx = await run_in_threadpool(comparison, live, d.service, request.path_params["code"])
    except HTTPException:
        raise
    except Exception as exc:  # a catalogue on disk whose item refers to a broken file: no figures
        log.info("no what-if for %s: %s: %s", request.path_params["code"], type(exc).__name__, exc)
        raise HTTPException(422, _("这个事项引用的文件有错误，修正 /admin 列出的错误后才能预测。")) from None
    return show(request, staff, "admin/whatif.html", links=False, **ctx)
