"""The web app: lists the catalogue's items and shows each item's guide (办事指南).

Pages are rendered from the same ``engine.rules.notice`` data as ``yangguang show``.
Over HTTP every error has one shape: JSON ``{"error": {"status", "code", "message"}}``
under /api/, an HTML page elsewhere; never a traceback.

``create_app`` returns an ``engine.service.reload.LiveApp``: it owns the database, the key, the lifespan
and the background tasks, and dispatches each request to the app built by ``_version`` for the
live catalogue version. Everything that depends on the catalogue is built there, once per
version, so live reload swaps it whole (see engine.service.reload).
"""

from __future__ import annotations

import dataclasses
import functools
import logging
import os
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from importlib.resources import files
from pathlib import Path
from typing import Any

from jinja2 import Environment, PackageLoader, select_autoescape
from markupsafe import Markup, escape
from sqlalchemy import Engine
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import FileResponse, HTMLResponse, JSONResponse, Response
from starlette.routing import Match, Mount, Route
from starlette.staticfiles import StaticFiles

from engine.base import i18n, keys, wording
from engine.base.i18n import LocaleMiddleware
from engine.base.input_guard import InputGuard
from engine.base.result import Problem
from engine.catalogue.cache import FileCache
from engine.catalogue.model import Catalogue, Document
from engine.check.pipeline import load
from engine.ledger.db import open_engine
from engine.ledger.migrations import migrate
from engine.ledger.transparency import transparency_routes
from engine.rules import chains, notice
from engine.rules.calendar import WorkCalendar
from engine.rules.clock import Clock, SystemClock, local_date
from engine.service import provisional, reload
from engine.service.cases import CaseService
from engine.service.reload import LiveApp, Version
from engine.service.upload_limits import Limits, limits_from_env
from engine.supervision.search import MAX_QUERY, ItemIndex
from engine.web import admin, supervision
from engine.web.admin import PreviewKit
from engine.web.api import api_routes, bad_text_error, error_response
from engine.web.deps import Deps
from engine.web.desk import cases as desk_cases
from engine.web.desk import chains as desk_chains
from engine.web.desk import login as desk_login
from engine.web.desk.staff import signed_in
from engine.web.flowchart import flowchart_svg
from engine.web.portal import apply, progress
from engine.web.portal.application import withdrawn_message
from engine.web.portal.progress import local as progress_local
from engine.web.public import public_routes
from engine.web.security import SecurityHeaders

_env = Environment(
    loader=PackageLoader("engine.web", "templates"),
    autoescape=select_autoescape(["html"]),
    extensions=["jinja2.ext.i18n"],
)
# the request's language (engine.base.i18n.LocaleMiddleware); the source text is Chinese
_env.install_gettext_callables(i18n.gettext, i18n.ngettext, newstyle=True)  # type: ignore[attr-defined]
_env.globals["current_language"] = i18n.language
_env.globals["languages"] = i18n.LANGUAGES
# after a deadline: tentative(date, first provisional year[, full]) marks it 暂定 (engine.service.provisional)
_env.globals["tentative"] = provisional.mark
# every time a person reads: local time (engine.base.wording.local_time), ``{{ at|local }}``
_env.filters["local"] = wording.local_time
_env.filters["local_day"] = wording.local_day

# A number never parts from its unit at a line end ("500平方/米", "10万/元"): ``{{ text|units }}``.
_UNIT = re.compile(
    r"\d[\d,.]*\s?(?:平方米|平方公里|立方米|万元|亿元|元|个工作日|个自然日|工作日|自然日|日|天|小时|分钟|千米|公里|米|吨|千伏|千瓦|MB|％|%)"
)


def keep_units(text: Any) -> Markup:
    """``text`` escaped, each number with its unit in a ``span.nw`` (white-space:nowrap, base.html)."""
    return Markup(_UNIT.sub(lambda m: f'<span class="nw">{m.group(0)}</span>', str(escape(text))))


_env.filters["units"] = keep_units
_STATIC = Path(str(files("engine.web") / "static"))  # package data, as the /static mount reads it


async def favicon(request: Request) -> Response:
    """Browsers ask /favicon.ico whatever a page links (base.html links static/favicon.svg)."""
    return FileResponse(_STATIC / "favicon.ico", media_type="image/x-icon", headers={"Cache-Control": "max-age=86400"})


class CatalogueNotClean(RuntimeError):
    pass


SWEEP_SECONDS = 60.0
"""How often the server applies the timed rules: Art. 32 deemed acceptance and supervision's
lights, overruns, follow-ups and escalations (engine.supervision.sweep.sweep)."""

log = logging.getLogger("yangguang.web")
Render = Callable[..., HTMLResponse]  # a template name, a status and the context


def create_app(
    catalog: Path | str,
    db: Path | str,
    catalogue: Catalogue | None = None,
    *,
    clock: Clock | None = None,
    sweep_seconds: float = SWEEP_SECONDS,
    reload_seconds: float | None = None,
    warnings: tuple[Problem, ...] = (),
    upload_limits: Limits | None = None,
) -> LiveApp:
    """The web app. ``clock`` defaults to the system clock (tests pass a ManualClock);
    every ``sweep_seconds`` (and once at start-up, for what fell due while the server was
    down) the engine's timed rules run in a worker thread; 0 turns that off. Every
    ``reload_seconds`` (default ``$YANGGUANG_RELOAD_SECONDS``, else 2; 0 off) the catalogue
    files are looked at, and an edit that checks clean goes live (engine.service.reload). ``warnings`` are the
    given ``catalogue``'s check warnings (/admin lists them); a catalogue loaded here brings its own.
    ``upload_limits`` default to the environment's (engine.service.uploads.limits_from_env: ValueError
    naming a bad variable)."""
    root = Path(catalog)
    if reload_seconds is None:
        reload_seconds = reload.seconds_from_env()
    if upload_limits is None:
        upload_limits = limits_from_env(os.environ)
    if catalogue is None:
        result = load(root, FileCache(root))  # the cache makes the watcher's first re-load cheap
        if not result.ok:
            raise CatalogueNotClean(f"catalogue {catalog} has {len(result.errors)} error(s); run yangguang check")
        catalogue, warnings = result.catalogue, tuple(result.warnings)
    key = keys.load_or_create(Path(db).parent / "secret.key")
    cases_db = open_engine(Path(db))
    migrate(cases_db)
    reload.record(cases_db, catalogue, root)  # the store keeps every catalogue version it served
    site = _Site(Path(db).parent, key, cases_db, clock or SystemClock(), upload_limits)
    return LiveApp(
        catalogue,
        root=root,
        db=cases_db,
        clock=site.clock,
        build=functools.partial(_version, site),
        sweep_seconds=sweep_seconds,
        reload_seconds=reload_seconds,
        warnings=warnings,
    )


@dataclass(frozen=True, slots=True)
class _Site:
    """What every catalogue version of one server shares."""

    var: Path  # the database's directory: uploads/, open-data/
    key: bytes
    db: Engine
    clock: Clock
    limits: Limits  # uploads per draft, case and client address (engine.service.uploads)


def renderer(cat: Catalogue, calendar: WorkCalendar | None = None) -> Render:
    """Render a template as a page of ``cat``'s center (its name heads every page). ``since`` in
    every page is ``calendar``'s first provisional year: a deadline computed on the page is 暂定
    from that year on (``tentative(date, since)``)."""
    since = calendar.provisional_from if calendar is not None else None

    def render(name: str, status: int = 200, **ctx: Any) -> HTMLResponse:
        ctx.setdefault("since", since)
        ctx.setdefault("center", cat.center or {})
        ctx.setdefault("wording", wording)
        ctx.setdefault("actor", None)
        ctx.setdefault("local", progress_local)
        return HTMLResponse(_env.get_template(name).render(**ctx), status_code=status)

    return render


def _allowed(request: Request) -> str:
    """Every method the request's path answers: the router's 405 names only the first route that
    matched the path, and a path may have one route per method (e.g. GET and POST /desk/login)."""
    methods: set[str] = set()
    for route in request.app.routes:
        if isinstance(route, Route) and route.methods and route.matches(request.scope)[0] != Match.NONE:
            methods |= route.methods
    return ", ".join(sorted(methods))


def guide_page(cat: Catalogue, doc: Document, render: Render, on: date | None = None) -> bytes:
    """An item's guide (办事指南) as served at /items/CODE (and previewed at /admin/items/CODE); ``on``
    (the clock's local date) decides which fee reliefs are shown as in force."""
    chart = Markup(flowchart_svg(doc.data))
    return bytes(render("item.html", n=notice.build(cat, doc, on), item=doc.data, flowchart=chart).body)


def _version(site: _Site, cat: Catalogue, live: LiveApp) -> Version:
    """Everything built from one catalogue version: its service, caches and routes, as one app.
    Runs at start-up and, for a re-loaded catalogue, in the watcher's worker thread."""
    calendar = WorkCalendar.from_documents([d.data for d in cat.calendars.values()])
    service = CaseService(cat, site.db, site.clock, calendar)
    render = renderer(cat, calendar)
    uploads_dir = site.var / "uploads"
    for private in (uploads_dir, site.var / "open-data"):  # applicants' files: owner only (files are 0600)
        private.mkdir(mode=0o700, parents=True, exist_ok=True)

    def departments() -> list[dict[str, Any]]:
        groups = []
        for dept in (cat.center or {}).get("departments", []):
            items = sorted(
                (d.data for d in cat.items.values() if d.data["department"] == dept["id"]), key=lambda d: d["code"]
            )
            if items:
                groups.append({"dept": dept, "items": items})
        return groups

    index = ItemIndex(cat)  # FTS5, built once per catalogue version
    dept_by_id = {d["id"]: d for d in (cat.center or {}).get("departments", [])}

    async def home(request: Request) -> Response:
        q = request.query_params.get("q", "").strip()[:MAX_QUERY]
        if not q:
            groups = departments()
            count = sum(len(g["items"]) for g in groups)
            return render(
                "home.html",
                groups=groups,
                results=None,
                q=q,
                count=count,
                version=cat.version,
                chains=sorted((d.data for d in cat.chains.values()), key=lambda c: c["id"]),
            )
        hits = await run_in_threadpool(index.search, q)
        results = [
            {
                "item": cat.items[h.code].data,
                "snippet": h.snippet,
                "dept": dept_by_id.get(cat.items[h.code].data["department"], {}),
            }
            if h.kind == "item"
            else {"chain": cat.chains[h.code].data, "snippet": h.snippet}
            for h in hits
            if h.code in (cat.items if h.kind == "item" else cat.chains)
        ]
        found_chains = sum(1 for r in results if "chain" in r)
        return render(
            "home.html", groups=[], results=results, q=q, count=len(results) - found_chains,
            found_chains=found_chains, version=cat.version,
        )  # fmt: skip

    # A guide page depends only on the catalogue version (fixed for this app) and the language:
    # rendered once, then served from memory in the event loop.
    guides: dict[tuple[str, str, date], bytes] = {}

    async def item_page(request: Request) -> Response:
        doc = cat.items.get(request.path_params["code"])
        if doc is None:
            why = withdrawn_message(cat, request.path_params["code"])
            raise HTTPException(404, why or "没有这个事项 / No such item")
        today = local_date(site.clock.now())  # fee reliefs in force change with the date
        key = (doc.data["code"], i18n.language(), today)
        if key not in guides:
            if any(k[2] != today for k in guides):
                guides.clear()  # yesterday's pages are never served again
            guides[key] = guide_page(cat, doc, render, today)
        return Response(guides[key], media_type="text/html; charset=utf-8")

    async def chain_page(request: Request) -> Response:
        doc = cat.chains.get(request.path_params["chain"])
        if doc is None:
            raise HTTPException(404, "没有这个审批链条 / No such approval chain")
        chain = doc.data
        path = chains.critical_path(cat, chain)
        return render(
            "chain.html",
            chain=chain,
            path=path,
            stages=list(zip(chain["stages"], path.stages, strict=True)),
            form=chains.merged_form(cat, chain),
            items=cat.items,
            days_text=chains.days_text,
        )

    async def api_items(request: Request) -> Response:
        return JSONResponse(
            {
                "version": cat.version,
                "items": [
                    {
                        "code": d.data["code"],
                        "name": d.data["name"],
                        "department": d.data["department"],
                        "type": d.data["type"],
                        "promised": d.data["time_limit"]["promised"],
                    }
                    for d in sorted(cat.items.values(), key=lambda d: d.data["code"])
                ],
            }
        )

    async def api_item(request: Request) -> Response:
        doc = cat.items.get(request.path_params["code"])
        if doc is None:
            raise HTTPException(404, f"no item with code {request.path_params['code']!r}")
        # the guide (办事指南) as the page and `yangguang show` word it: every element, 未说明 where the
        # published guide does not state one, and why it cannot be applied for (unavailable) if so
        guide = dataclasses.asdict(notice.build(cat, doc, local_date(site.clock.now())))
        return JSONResponse({"version": cat.version, "file": doc.file, "item": doc.data, "guide": guide})

    async def healthz(request: Request) -> Response:
        return JSONResponse(
            {
                "status": "ok",
                "catalogue_version": cat.version,
                "items": len(cat.items),
                # the files on disk are newer than this version and do not check clean
                "pending_errors": live.pending_errors,
            }
        )

    async def http_error(request: Request, exc: Exception) -> Response:
        status = exc.status_code if isinstance(exc, HTTPException) else 500
        detail = exc.detail if isinstance(exc, HTTPException) else "服务器内部错误 / Internal error"
        code = {404: "not_found", 405: "method_not_allowed", 400: "bad_request"}.get(status, "error")
        headers = dict(exc.headers or {}) if isinstance(exc, HTTPException) else {}  # Allow on a 405 (RFC 9110)
        if status == 405 and "Allow" in headers:  # the router's words are English only
            headers["Allow"] = _allowed(request) or headers["Allow"]
            api = "不支持此请求方法 / method not allowed; use " + headers["Allow"]
            detail = api if request.url.path.startswith("/api/") else i18n.gettext("此网址不支持这种请求方法。")
        if request.url.path.startswith("/api/"):
            response: Response = error_response(status, code, detail)
        else:
            response = render("error.html", status=status, code=status, message=detail)
        response.headers.update(headers)
        return response

    async def bad_text(request: Request, field: str) -> Response:  # engine.base.input_guard refused the request
        if request.url.path.startswith("/api/"):
            e = bad_text_error(field)
            return error_response(e.status, e.code, e.message, e.fields)
        message = i18n.gettext("“{field}”含有无法识别的字符，请检查后重新输入。").format(field=field)
        return render("error.html", status=400, code=400, message=message)

    kit = PreviewKit(renderer=renderer, guide=guide_page)
    app = Starlette(
        routes=[
            *api_routes(service, uploads_dir, site.limits, site.key),
            *apply.ROUTES,
            *progress.ROUTES,
            *desk_login.ROUTES,
            *desk_cases.ROUTES,
            *desk_chains.ROUTES,
            *supervision.ROUTES,
            *public_routes(service, render, index, site.var / "open-data"),
            *transparency_routes(site.db),
            *admin.ROUTES,
            Mount("/static", StaticFiles(packages=[("engine.web", "static")]), name="static"),
            Route("/", home),
            Route("/items/{code}", item_page),
            Route("/chains/{chain}", chain_page),
            Route("/api/items", api_items),
            Route("/api/items/{code}", api_item),
            Route("/healthz", healthz),
            Route("/favicon.ico", favicon),
        ],
        exception_handlers={HTTPException: http_error, Exception: http_error},
        middleware=[Middleware(SecurityHeaders), Middleware(LocaleMiddleware), Middleware(InputGuard, bad_text)],
    )
    app.state.deps = Deps(
        service=service,
        render=render,
        key=site.key,
        uploads_dir=uploads_dir,
        limits=site.limits,
        staff_of=signed_in,
        index=index,
        open_data_dir=site.var / "open-data",
        extra={"live": live, "kit": kit},
    )
    # built here (in the watcher's thread on a re-load), not on the version's first request
    app.middleware_stack = app.build_middleware_stack()
    return Version(cat, service, app, site.clock.now())
