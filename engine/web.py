"""The web app: lists the catalogue's items and shows each item's guide (办事指南).

Pages are rendered from the same ``engine.notice`` data as ``yangguang show``.
Over HTTP every error has one shape: JSON ``{"error": {"status", "code", "message"}}``
under /api/, an HTML page elsewhere; never a traceback.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

from jinja2 import Environment, PackageLoader, select_autoescape
from markupsafe import Markup
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from engine import chains, i18n, keys, ledger, notice, supervision, wording
from engine.api import api_routes
from engine.calendar import WorkCalendar
from engine.catalogue import Catalogue, load
from engine.clock import Clock, SystemClock
from engine.desk import desk_routes, staff_from_cookie
from engine.desk_chains import desk_chain_routes
from engine.flowchart import flowchart_svg
from engine.i18n import LocaleMiddleware
from engine.portal import portal_routes
from engine.progress import local as progress_local
from engine.progress import progress_routes
from engine.public import public_routes
from engine.search import MAX_QUERY, ItemIndex
from engine.security import SecurityHeaders
from engine.service import CaseService
from engine.supervision_web import supervision_routes

_env = Environment(
    loader=PackageLoader("engine", "templates"),
    autoescape=select_autoescape(["html"]),
    extensions=["jinja2.ext.i18n"],
)
# the request's language (engine.i18n.LocaleMiddleware); the source text is Chinese
_env.install_gettext_callables(i18n.gettext, i18n.ngettext, newstyle=True)  # type: ignore[attr-defined]
_env.globals["current_language"] = i18n.language
_env.globals["languages"] = i18n.LANGUAGES


class CatalogueNotClean(RuntimeError):
    pass


SWEEP_SECONDS = 60.0
"""How often the server applies the timed rules: Art. 32 deemed acceptance and supervision's
lights, overruns, follow-ups and escalations (engine.supervision.sweep)."""

log = logging.getLogger("yangguang.web")


def create_app(
    catalog: Path | str,
    db: Path | str,
    catalogue: Catalogue | None = None,
    *,
    clock: Clock | None = None,
    sweep_seconds: float = SWEEP_SECONDS,
) -> Starlette:
    """The web app. ``clock`` defaults to the system clock (tests pass a ManualClock);
    every ``sweep_seconds`` (and once at start-up, for what fell due while the server was
    down) the engine's timed rules run in a worker thread; 0 turns that off."""
    if catalogue is None:
        result = load(Path(catalog))
        if not result.ok:
            raise CatalogueNotClean(f"catalogue {catalog} has {len(result.problems)} problem(s); run yangguang check")
        catalogue = result.catalogue
    cat: Catalogue = catalogue
    key = keys.load_or_create(Path(db).parent / "secret.key")
    cases_db = ledger.open_engine(Path(db))
    ledger.migrate(cases_db)
    with cases_db.begin() as conn:  # the store keeps every catalogue version it served
        ledger.record_catalogue(conn, cat.version, str(Path(catalog).resolve()), len(cat.items), SystemClock().now())
    calendar = WorkCalendar.from_documents([d.data for d in cat.calendars.values()])
    service = CaseService(cat, cases_db, clock or SystemClock(), calendar)

    async def sweeper() -> None:
        while True:
            try:
                report = await run_in_threadpool(supervision.sweep, service)
                if report.deemed_accepted:
                    log.info("deemed accepted (Art. 32): %s", ", ".join(report.deemed_accepted))
                if report.lights or report.other:
                    log.info("supervision: %s %s", report.lights, report.other)
            except Exception:  # keep sweeping; a bug here must not stop the timed rules for good
                log.exception("the timed-rules sweep failed; retrying in %s s", sweep_seconds)
            await asyncio.sleep(sweep_seconds)

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        task = asyncio.create_task(sweeper()) if sweep_seconds > 0 else None
        try:
            yield
        finally:
            if task is not None:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
            cases_db.dispose()

    def render(name: str, status: int = 200, **ctx: Any) -> HTMLResponse:
        ctx.setdefault("center", cat.center or {})
        ctx.setdefault("wording", wording)
        ctx.setdefault("actor", None)
        ctx.setdefault("local", progress_local)
        return HTMLResponse(_env.get_template(name).render(**ctx), status_code=status)

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
            for h in hits
            if h.code in cat.items
        ]
        return render("home.html", groups=[], results=results, q=q, count=len(results), version=cat.version)

    # A guide page depends only on the catalogue version (fixed for this app) and the language:
    # rendered once, then served from memory in the event loop.
    guides: dict[tuple[str, str], bytes] = {}

    async def item_page(request: Request) -> Response:
        doc = cat.items.get(request.path_params["code"])
        if doc is None:
            raise HTTPException(404, "没有这个事项 / No such item")
        key = (doc.data["code"], i18n.language())
        if key not in guides:
            chart = Markup(flowchart_svg(doc.data))
            guides[key] = bytes(render("item.html", n=notice.build(cat, doc), item=doc.data, flowchart=chart).body)
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
        return JSONResponse({"version": cat.version, "file": doc.file, "item": doc.data})

    async def healthz(request: Request) -> Response:
        return JSONResponse({"status": "ok", "catalogue_version": cat.version, "items": len(cat.items)})

    async def http_error(request: Request, exc: Exception) -> Response:
        status = exc.status_code if isinstance(exc, HTTPException) else 500
        detail = exc.detail if isinstance(exc, HTTPException) else "服务器内部错误 / Internal error"
        code = {404: "not_found", 405: "method_not_allowed", 400: "bad_request"}.get(status, "error")
        if request.url.path.startswith("/api/"):
            return JSONResponse({"error": {"status": status, "code": code, "message": detail}}, status_code=status)
        return render("error.html", status=status, code=status, message=detail)

    app = Starlette(
        routes=[
            *api_routes(service, Path(db).parent / "uploads"),
            *portal_routes(service, Path(db).parent / "uploads", render, staff_from_cookie(service)),
            *progress_routes(service, Path(db).parent / "uploads", render, key),
            *desk_routes(service, render, key),
            *desk_chain_routes(service, render, key),
            *supervision_routes(service, render, key),
            *public_routes(service, render, index, Path(db).parent / "open-data"),
            Mount("/static", StaticFiles(packages=[("engine", "static")]), name="static"),
            Route("/", home),
            Route("/items/{code}", item_page),
            Route("/chains/{chain}", chain_page),
            Route("/api/items", api_items),
            Route("/api/items/{code}", api_item),
            Route("/healthz", healthz),
        ],
        exception_handlers={HTTPException: http_error, Exception: http_error},
        lifespan=lifespan,
        middleware=[Middleware(SecurityHeaders), Middleware(LocaleMiddleware)],
    )
    app.state.catalogue = cat
    app.state.service = service
    return app
