"""The administrator's page (/admin): the health of the catalogue being served, and a preview of
each item's guide and application form from the newest catalogue on disk.

The page shows the live version and where it came from, what the last re-load from disk found
(every problem with its file:line:column, grouped by file, while the live version stays the
last good one), and the working-day calendars still to add. Administrators and supervisors may
read it; staff sign in at the desk, as for every staff page.

A preview is rendered by the same code and templates as the public pages — ``/items/CODE``
through ``engine.web.app.guide_page``, ``/apply/CODE/PAGE`` through the portal's own page handler,
served from a small app of the portal's routes whose ``Deps`` are the preview's — from the newest
catalogue loaded (while a re-load fails, the failing catalogue: items whose own file is valid are
in it). ``admin/preview.html`` extends the public template and adds the banner, so what is
previewed is exactly what the public will get. A preview's forms carry no valid CSRF token:
nothing can be submitted from one.

The handlers find the live app (engine.web.reload.LiveApp) and how the public pages are made
(:class:`PreviewKit`) in the version's ``Deps.extra`` (``live``, ``kit``), set by engine.web.app.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import TYPE_CHECKING, Any

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.routing import BaseRoute, Route

from engine.base import i18n, wording
from engine.base.i18n import gettext as _
from engine.base.result import Problem
from engine.catalogue.model import Catalogue, Document
from engine.rules import clock
from engine.rules.calendar import missing_years
from engine.service.cases import CaseService
from engine.web import admin_whatif, csrf
from engine.web.deps import Deps, Render, deps
from engine.web.desk.staff import Staff, show, staff_route
from engine.web.portal import apply, form_view
from engine.web.portal.browser import BROWSER_COOKIE

if TYPE_CHECKING:
    from engine.web.reload import LiveApp

#: the browser token a preview's form pages are rendered for; its CSRF token is then replaced,
#: so a form submitted from a preview is refused by the live portal
_PREVIEW_BROWSER = "preview" + "0" * 25
_NOT_SUBMITTABLE = "preview-not-submittable"

log = logging.getLogger("yangguang.admin")


@dataclass(frozen=True, slots=True)
class PreviewKit:
    """How the public pages are made (engine.web.app), handed over so a preview uses the same code."""

    renderer: Callable[[Catalogue], Render]  # render a template as a page of this catalogue
    guide: Callable[[Catalogue, Document, Render, date | None], bytes]  # /items/CODE on a local date


class _Preview:
    """The public pages of one catalogue version, with the preview banner."""

    def __init__(self, cat: Catalogue, live_version: str, kit: PreviewKit, live: Deps) -> None:
        self.cat = cat
        self._csrf = csrf.token(live.key, csrf.APPLY, _PREVIEW_BROWSER)  # what the preview's portal puts in its forms
        self.differs = cat.version != live_version
        base = kit.renderer(cat)
        banner = {"version": cat.version, "live": live_version, "differs": self.differs}

        def render(name: str, status: int = 200, **ctx: Any) -> HTMLResponse:
            return base("admin/preview.html", status, page_template=name, preview=banner, **ctx)

        self._render = render
        self._kit = kit
        self._guides: dict[tuple[str, str, date], bytes] = {}
        self._clock = live.service.clock
        # The form pages without chains: a chain with errors must not keep every item's form
        # from being previewed. The live calendar and database: rendering a blank page reads neither.
        self.portal_cat = dataclasses.replace(cat, chains={})
        service = live.service
        preview_service = CaseService(self.portal_cat, service.db, service.clock, service.calendar)
        # The portal's own handlers on an app of their own, whose Deps are the preview's: they find
        # this catalogue and the banner's renderer where they find the live ones.
        self._app = Starlette(routes=apply.ROUTES)
        self._app.state.deps = dataclasses.replace(live, service=preview_service, render=render, extra=None)
        self._page = _endpoint(self._app.routes, "/apply/{code}/{page}")

    def guide(self, doc: Document) -> bytes:
        today = clock.local_date(self._clock.now())  # as the public guide: fee reliefs and the notice's date
        key = (str(doc.data["code"]), i18n.language(), today)
        if key not in self._guides:
            self._guides[key] = self._kit.guide(self.cat, doc, self._render, today)
        return self._guides[key]

    async def form(self, request: Request, doc: Document, page: str) -> Response:
        code = str(doc.data["code"])
        scope = {
            **request.scope,
            "app": self._app,
            "path": f"/apply/{code}/{page}",
            "raw_path": f"/apply/{code}/{page}".encode(),
            "query_string": b"",  # never a draft: the blank page, as the public first sees it
            "path_params": {"code": code, "page": page},
            "headers": [
                *[(k, v) for k, v in request.scope["headers"] if k != b"cookie"],
                (b"cookie", f"{BROWSER_COOKIE}={_PREVIEW_BROWSER}".encode()),
            ],
        }
        response = await self._page(Request(scope, request.receive))
        body = bytes(response.body).replace(self._csrf.encode(), _NOT_SUBMITTABLE.encode())
        return HTMLResponse(body, status_code=response.status_code, headers={"Cache-Control": "no-store"})


def _endpoint(routes: Sequence[BaseRoute], path: str) -> Callable[[Request], Awaitable[Response]]:
    for route in routes:
        if isinstance(route, Route) and route.path == path and "GET" in (route.methods or set()):
            return route.endpoint  # type: ignore[return-value]
    raise LookupError(f"the portal has no GET {path}")


def _when(moment: datetime | None) -> str:
    return wording.local_time(moment, seconds=True)


def _by_file(problems: tuple[Problem, ...]) -> list[tuple[str, list[Problem]]]:
    groups: dict[str, list[Problem]] = {}
    for p in problems:
        groups.setdefault(p.file, []).append(p)
    return list(groups.items())


def preview(request: Request) -> _Preview:
    """The public pages of the newest catalogue loaded, kept in the live version's ``Deps.memo``
    (only the newest is ever asked for: a newer one replaces it)."""
    live_deps = deps(request)
    live: LiveApp = (live_deps.extra or {})["live"]
    previews: dict[tuple[str, str], _Preview] = live_deps.memo.setdefault("admin.previews", {})
    newest, live_version = live.preview(), live.current.catalogue.version
    k = (newest.version, live_version)
    if k not in previews:
        built = _Preview(newest, live_version, (live_deps.extra or {})["kit"], live_deps)
        previews.clear()
        previews[k] = built
    return previews[k]


def _items(newest: Catalogue, cat: Catalogue) -> list[dict[str, Any]]:
    """The newest catalogue's items, each new, changed or the same as live; what was edited first."""
    center = newest.center or cat.center or {}
    dept_names = {d["id"]: d.get("name", d["id"]) for d in center.get("departments", [])}
    items = []
    for code in sorted(newest.items):
        doc, was = newest.items[code], cat.items.get(code)
        status = "new" if was is None else ("changed" if was.key != doc.key else "same")
        data = doc.data or {}
        items.append(
            {"code": code, "name": data.get("name", code), "department": dept_names.get(data.get("department"), ""),
             "status": status}
        )  # fmt: skip
    items.sort(key=lambda r: (r["status"] == "same", r["code"]))
    return items


def overview(live: LiveApp, today: date) -> dict[str, Any]:
    """What /admin shows: the live version, the last re-load and its problems, calendar and check
    warnings, and the newest catalogue's items against the live ones."""
    current, last, newest = live.current, live.last, live.preview()
    cat = current.catalogue
    failing = last is not None and last.failing
    # A live item missing from the newest load was deleted, or its file has errors: known by
    # its code when the file still parsed, else by the file it was live from.
    broken_files = {p.file for p in last.problems} if failing and last is not None else set()
    missing = [
        {
            "code": code,
            "name": cat.items[code].data.get("name", code),
            "file": newest.broken_items.get(code)
            or (cat.items[code].file if cat.items[code].file in broken_files else ""),
        }
        for code in sorted(set(cat.items) - set(newest.items))
    ]
    return {
        "cat": cat,
        "live_since": _when(current.live_since),
        "sources": [str(p) for p in cat.sources] or [str(live.root)],
        "counts": [
            (_("事项数"), len(cat.items)),
            (_("收费标准数"), len(cat.fees)),
            (_("表单分组数"), len(cat.forms)),
            (_("审批链条数"), len(cat.chains)),
            (_("工作日历年数"), len(cat.calendars)),
        ],
        "years": sorted(cat.calendars),
        "reload_seconds": live.reload_seconds,
        "last": last,
        "last_at": _when(last.at if last else None),
        "groups": _by_file(last.problems) if failing and last is not None else [],
        "problem_count": len(last.problems) if failing and last is not None else 0,
        "warnings": missing_years(cat.calendars, today),
        # the live catalogue's check warnings (未说明 elements, data-quality rules): it serves with them
        "check_warnings": _by_file(live.warnings),
        "warning_count": len(live.warnings),
        "items": _items(newest, cat),
        "missing": missing,
        "newest": newest.version,
        "differs": newest.version != cat.version,
    }


async def index(request: Request, staff: Staff) -> Response:
    """``GET /admin``."""
    d = deps(request)
    today = clock.local_date(d.service.clock.now())
    ctx = await run_in_threadpool(overview, (d.extra or {})["live"], today)
    return show(request, staff, "admin/index.html", links=False, **ctx)


def item_of(pv: _Preview, code: str) -> Document:
    doc = pv.cat.items.get(code)
    if doc is None:
        raise HTTPException(404, _("磁盘上最新的目录里没有这个事项（或它的文件有错误）。"))
    return doc


def unpreviewable(code: str, exc: Exception) -> HTTPException:
    # An item whose own file is valid can still refer to a form section or fee schedule that
    # is broken; its pages cannot be made until the errors listed on /admin are fixed.
    log.info("cannot preview %s: %s: %s", code, type(exc).__name__, exc)
    return HTTPException(422, _("这个事项引用的文件有错误，修正 /admin 列出的错误后才能预览。"))


async def item_preview(request: Request, staff: Staff) -> Response:
    """``GET /admin/items/CODE``: the item's guide from the newest catalogue, as the public will see it."""
    code = request.path_params["code"]
    try:
        pv = await run_in_threadpool(preview, request)
        doc = item_of(pv, code)
        body = await run_in_threadpool(pv.guide, doc)
    except HTTPException:
        raise
    except Exception as exc:
        raise unpreviewable(code, exc) from None
    return Response(body, media_type="text/html; charset=utf-8", headers={"Cache-Control": "no-store"})


async def form_preview(request: Request, staff: Staff) -> Response:
    """``GET /admin/items/CODE/form?page=…``: a blank page of the item's application form from the newest
    catalogue, as the public will see it (nothing can be submitted from it)."""
    code = request.path_params["code"]
    try:
        pv = await run_in_threadpool(preview, request)
        doc = item_of(pv, code)
        ids = [p.id for p in await run_in_threadpool(form_view.pages, pv.portal_cat, doc, {})]
        page = request.query_params.get("page", "") or ids[0]
        if page not in ids:
            raise HTTPException(404, _("这个申请表没有这一页。"))
        return await pv.form(request, doc, page)
    except HTTPException:
        raise
    except Exception as exc:
        raise unpreviewable(code, exc) from None


ROUTES: list[Route] = [  # who may use each: engine.service.access.ROUTES
    staff_route("GET", "/admin", index),
    staff_route("GET", "/admin/items/{code}", item_preview),
    staff_route("GET", "/admin/items/{code}/form", form_preview),
    staff_route("GET", "/admin/items/{code}/whatif", admin_whatif.item_what_if),
]
