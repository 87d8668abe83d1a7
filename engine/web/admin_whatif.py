"""The administrator's what-if of an item (/admin/items/CODE/whatif): before a change goes live, its
on-time rate, lights, working days, load per role and chain stages under the live catalogue and under
either a change proposed on the page's form (engine.web.admin_proposal: limits and staff, nothing written)
or the catalogue on disk, simulated on the center's recorded load of the last working days (synthetic
when nothing is recorded), as ``yangguang simulate --what-if`` computes them (engine.supervision.foresight)."""

from __future__ import annotations

from dataclasses import replace
from datetime import date
from typing import TYPE_CHECKING, Any

from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response

from engine.base.i18n import N_
from engine.base.i18n import gettext as _
from engine.catalogue.cache import FileCache
from engine.catalogue.model import Catalogue
from engine.check.pipeline import load as load_catalogue
from engine.rules import clock, foresight
from engine.rules.calendar import CalendarYearMissing, WorkCalendar
from engine.rules.cases.steps import steps_of
from engine.rules.guide_words import ROLE_NAMES
from engine.service.cases import CaseService
from engine.supervision import foresight as whatif
from engine.web import admin_proposal as proposing
from engine.web.deps import deps
from engine.web.desk.staff import Staff, show

if TYPE_CHECKING:
    from engine.web.reload import LiveApp

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
ROLE_FIGURES = (("mean", N_("平均每个工作日接手的环节数")), ("peak", N_("最多的一天接手的环节数")))


def _load(service: CaseService, current: foresight.Catalog) -> tuple[foresight.Load, dict[str, Any]]:
    window = whatif.window_of(service.db, service.calendar, LAST_DAYS, None, None)
    if window is not None:
        load = whatif.recorded_load(service.db, current, service.calendar, window)
        if load.arrivals:
            cut = whatif.capped(load, current, MOST_CASES)
            until = window.until if cut is load else whatif.working_days(service.calendar, cut.start, cut.days)[-1]
            return cut, {"recorded": True, "since": window.since, "until": until}
    today = clock.local_date(service.clock.now())
    days = MOST_CASES // SYNTHETIC_PER_DAY
    load = whatif.synthetic_load(current, service.calendar, today, days, SYNTHETIC_PER_DAY, 1)
    load = whatif.capped(load, current, MOST_CASES)  # the chains' member cases count too
    return load, {"recorded": False, "per_day": SYNTHETIC_PER_DAY, "days": load.days}


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


def _role_rows(
    dept: str, roles: list[str], current: dict[str, dict[str, float]], changed: dict[str, dict[str, float]]
) -> list[dict[str, Any]]:  # fmt: skip
    """Per role of the department: steps taken up per working day, now and changed."""
    rows = []
    for role in roles:
        a, b = current.get(f"{dept}/{role}"), changed.get(f"{dept}/{role}")
        for key, label in ROLE_FIGURES:
            x, y = None if a is None else a[key], None if b is None else b[key]
            diff = None if x is None or y is None else round(y - x, 2)
            name = _("%(role)s：%(figure)s") % {"role": _role(role), "figure": _(label)}
            rows.append({"label": name, "current": _num(x), "changed": _num(y), "difference": _signed(diff)})
    return rows


def _stage_rows(cat: Catalogue, code: str, current: dict[str, Any], changed: dict[str, Any]) -> list[dict[str, Any]]:
    """The stages of the chains the item belongs to: p90 working days against the limit, and critical or not."""
    rows = []
    for cid, doc in sorted(cat.chains.items()):
        data = cat.data(doc)
        if not any(code in stage["items"] for stage in data["stages"]):
            continue
        for stage in data["stages"]:
            key = f"{cid}/{stage['id']}"
            a, b = current.get(key), changed.get(key)
            rows.append({
                "label": _("%(chain)s：%(stage)s") % {"chain": data["name"], "stage": stage["name"]},
                "current": _stage(a), "changed": _stage(b),
                "becomes": bool(b and b["critical"] and not (a and a["critical"])),
            })  # fmt: skip
    return rows


def _stage(figures: dict[str, float] | None) -> str:
    if figures is None:
        return "—"
    text = _("%(p90)s / 时限 %(limit)s") % {"p90": _num(figures["p90_days"]), "limit": _num(figures["limit_days"])}
    return text + (_("（关键）") if figures["critical"] else "")


def _role(role: str) -> str:
    return _(ROLE_NAMES[role]) if role in ROLE_NAMES else role


def dept_roles(cat: Catalogue, dept: str) -> list[str]:
    """The roles the department's items give steps to, in the order they first appear."""
    roles: dict[str, None] = {}
    for doc in cat.items.values():
        data = cat.data(doc)
        if data["department"] == dept:
            roles.update((str(s["role"]), None) for s in steps_of(data))
    return list(roles)


def _form(data: dict[str, Any], query: dict[str, str], p: proposing.Proposal, staff: dict[str, int]) -> dict[str, Any]:
    """The form's fields: what was sent (to correct it), else the live values; each with its messages."""

    def entry(name: str, value: Any, unit: str | None, **more: Any) -> dict[str, Any]:
        return {
            "name": name, "id": "f-" + name.replace(".", "-"), "value": str(query.get(name, value))[:40],
            "unit": query.get(name + proposing.UNIT, unit), "errors": p.errors.get(name, []),
            "refused": p.refused.get(name, []), **more,
        }  # fmt: skip

    promised = data["time_limit"]["promised"]
    steps = []
    if data.get("steps", "standard") != "standard":
        for s in steps_of(data):
            label = _("%(step)s（%(role)s）") % {"step": s["name"], "role": _role(str(s["role"]))}
            limit = s["limit"]
            steps.append(entry(proposing.STEP + str(s["id"]), limit["value"], str(limit["unit"]), label=label))
    return {
        "promised": entry(proposing.PROMISED, promised["value"], str(promised["unit"])),
        "steps": steps,
        "staff": [entry(proposing.STAFF + r, n, None, label=_role(r)) for r, n in staff.items()],
        "units": [(u, _(proposing.UNIT_LABELS[u])) for u in proposing.UNITS],
        "general": p.errors.get("form", []) + p.refused.get("form", []),
    }


def calendar_of(other: Catalogue, cat: Catalogue, cal: WorkCalendar) -> WorkCalendar:
    """The working-day calendar of ``other``: ``cal`` (``cat``'s) when their calendar files are the same, else
    one built from ``other``'s own files (a year file added on disk counts in the changed run)."""
    mine = {year: cat.data(doc) for year, doc in cat.calendars.items()}
    theirs = {year: other.data(doc) for year, doc in other.calendars.items()}
    return cal if mine == theirs else WorkCalendar.from_documents(list(theirs.values()))


def comparison(live: LiveApp, service: CaseService, code: str, query: dict[str, str]) -> dict[str, Any]:
    """The page's context: the item under the live catalogue and under the proposal on the form, or
    the catalogue on disk when nothing is proposed. Nothing is simulated, and ``why`` says why not, when
    the proposal is refused, the disk catalogue does not check or lacks the item, or a calendar year is missing."""
    cat = live.current.catalogue
    checked = load_catalogue(live.root, FileCache(live.root))
    disk = checked.catalogue
    if code not in cat.items:
        if code not in disk.items:
            broken = "" if checked.ok else _("磁盘上的目录有错误（列在 /admin），这个事项的文件可能是其中之一。")
            raise HTTPException(404, _("线上目录和磁盘上最新的目录里都没有这个事项。") + broken)
        query = {}  # a new item on disk: nothing live to propose a change to
    current = whatif.catalog_of(cat)
    why: dict[str, Any] | None = None
    try:
        load, about = _load(service, current)
    except CalendarYearMissing as exc:  # the load's own days (today's year) have no calendar
        load, about, why = foresight.Load(date.min, 0, (), foresight.Pace()), {}, {"kind": "calendar", "year": exc.year}
    ctx: dict[str, Any] = {"proposal": None, "commands": [], "form": None}
    changed, changed_load, other, shown = None, None, disk, "disk"
    if code in cat.items:
        data = cat.data(cat.items[code])
        dept = str(data["department"])
        staff = {r: load.pace.staff.get((dept, r), load.pace.default_staff) for r in dept_roles(cat, dept)}
        p = proposing.read(query, data, staff)
        proposing.check(p, cat, code)
        ctx.update(form=_form(data, query, p, staff), proposal=p)
        if p.asked:
            other, shown = cat, "proposal"
            changed = replace(current, items={**current.items, code: p.data or data})
            ctx["commands"] = proposing.changes(code, data, p) if p.ok else []
            if p.ok and p.staff:
                people = {**load.pace.staff, **{(dept, r): n for r, n in p.staff.items()}}
                changed_load = replace(load, pace=replace(load.pace, staff=people))
            if not p.ok and why is None:
                why = {"kind": "proposal"}
    ctx["shown"] = shown
    if shown == "disk" and not checked.ok:  # the CLI refuses a catalogue that does not check: so does the page
        why = {"kind": "disk", "errors": len(checked.errors)}
    elif shown == "disk" and code not in disk.items:
        why = {"kind": "gone"}
    if why is None:
        try:
            cals = (service.calendar, calendar_of(other, cat, service.calendar))
            result = whatif.what_if(
                current, changed or whatif.catalog_of(disk), load, cals[0], 1, changed_load, changed_cal=cals[1]
            )
        except CalendarYearMissing as exc:  # a deadline reaching a year neither file nor rule covers
            why = {"kind": "calendar", "year": exc.year}
    ctx["why"] = why
    if why is not None:
        ctx.update(_figures(cat, other, code, None, about, 0))
        return ctx
    ctx.update(_figures(cat, other, code, result, about, result.cases))
    ctx["same"] = shown == "disk" and disk.version == cat.version
    return ctx


def _figures(
    cat: Catalogue, other: Catalogue, code: str, result: whatif.WhatIf | None, about: dict[str, Any], cases: int
) -> dict[str, Any]:  # fmt: skip
    doc = cat.items.get(code) or other.items[code]
    data = (cat if code in cat.items else other).data(doc)
    dept = str(data["department"])
    out: dict[str, Any] = {
        "code": code, "item_name": data.get("name", ""), "department": (cat.department(dept) or {}).get("name", ""),
        "about": about, "cases": cases, "since": _day(about.get("since")), "until": _day(about.get("until")),
        "same": False, "simulated": result is not None, "most": f"{MOST_CASES:,}",
    }  # fmt: skip
    if result is None:
        return out
    a, b = result.current, result.changed
    out.update(
        item_rows=_rows(a.items.get(code), b.items.get(code)),
        dept_rows=_rows(a.departments.get(dept), b.departments.get(dept)),
        role_rows=_role_rows(dept, dept_roles(cat, dept) or dept_roles(other, dept), a.roles, b.roles),
        stage_rows=_stage_rows(other, code, a.stages, b.stages),
    )
    return out


def _day(value: date | None) -> str:
    return "" if value is None else value.isoformat()  # local dates, as every page shows them


async def item_what_if(request: Request, staff: Staff) -> Response:
    """``GET /admin/items/CODE/whatif``. The failures the page expects are explained on it (``why``); any
    other exception is a bug and reaches the app's error handler (a 500 page, logged with its traceback)."""
    d = deps(request)
    live = (d.extra or {})["live"]
    query = dict(request.query_params)
    ctx = await run_in_threadpool(comparison, live, d.service, request.path_params["code"], query)
    return show(request, staff, "admin/whatif.html", links=False, **ctx)
