"""The catalogue's own pages: the home page (items by department, and search), an item's guide
(办事指南, the same ``engine.rules.notice`` data as ``yangguang show``) and an approval chain's page.

Handlers are module-level functions; they reach the catalogue version serving the request through
``engine.web.deps.deps(request)``.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from markupsafe import Markup
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response

from engine.base import i18n
from engine.base.i18n import gettext as _
from engine.catalogue.model import Catalogue, Document
from engine.rules import chains, notice, slots
from engine.rules.clock import local_date
from engine.supervision.search import MAX_QUERY
from engine.web.deps import Render, deps
from engine.web.flowchart import flowchart_svg
from engine.web.portal.application import withdrawn_message


def departments(cat: Catalogue) -> list[dict[str, Any]]:
    """Each department of the center that has items, with its items in code order."""
    groups = []
    for dept in (cat.center or {}).get("departments", []):
        own = (d.data for d in cat.items.values() if d.data["department"] == dept["id"])
        items = sorted(own, key=lambda d: d["code"])
        if items:
            groups.append({"dept": dept, "items": items})
    return groups


async def home(request: Request) -> Response:
    d = deps(request)
    cat = d.service.catalogue
    q = request.query_params.get("q", "").strip()[:MAX_QUERY]
    if not q or d.index is None:
        groups = departments(cat)
        return d.render(
            "home.html",
            groups=groups,
            results=None,
            q=q,
            count=sum(len(g["items"]) for g in groups),
            version=cat.version,
            chains=sorted((c.data for c in cat.chains.values()), key=lambda c: c["id"]),
            booking=bool(cat.appointments),
        )
    hits = await run_in_threadpool(d.index.search, q)
    dept_by_id = {dept["id"]: dept for dept in (cat.center or {}).get("departments", [])}
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
    return d.render(
        "home.html", groups=[], results=results, q=q, count=len(results) - found_chains,
        found_chains=found_chains, version=cat.version, booking=bool(cat.appointments),
    )  # fmt: skip


def booking_counter(cat: Catalogue, doc: Document) -> str | None:
    """Where the item is booked online (engine.rules.slots.Rules.for_item): its own counter or its
    department's window in appointments.yaml; None when there is none (the guide then offers no booking)."""
    if not cat.appointments:
        return None
    departments = (cat.center or {}).get("departments", [])
    department = str(doc.data.get("department", ""))
    rules = slots.rules_of(cat.appointments, departments, {doc.data["code"]: department})
    found = rules.for_item(doc.data["code"], department)
    return found[0].id if found else None


def guide_page(cat: Catalogue, doc: Document, render: Render, on: date | None = None) -> bytes:
    """An item's guide (办事指南) as served at /items/CODE (and previewed at /admin/items/CODE); ``on``
    (the clock's local date) decides which fee reliefs are shown as in force."""
    chart = Markup(flowchart_svg(doc.data))
    n = notice.build(cat, doc, on)
    return bytes(render("item.html", n=n, item=doc.data, flowchart=chart, booking=booking_counter(cat, doc)).body)


async def item_page(request: Request) -> Response:
    """A guide page depends only on the catalogue version (fixed for these Deps), the language and the
    date (fee reliefs in force): rendered once into ``Deps.memo``, then served from memory in the event loop."""
    d = deps(request)
    cat = d.service.catalogue
    doc = cat.items.get(request.path_params["code"])
    if doc is None:
        why = withdrawn_message(cat, request.path_params["code"])
        raise HTTPException(404, why or _("没有这个事项。"))
    today = local_date(d.service.clock.now())
    key = (doc.data["code"], i18n.language(), today)
    guides: dict[tuple[str, str, date], bytes] = d.memo.setdefault("home.guides", {})
    if key not in guides:
        if any(k[2] != today for k in guides):
            guides.clear()  # yesterday's pages are never served again
        guides[key] = guide_page(cat, doc, d.render, today)
    return Response(guides[key], media_type="text/html; charset=utf-8")


async def chain_page(request: Request) -> Response:
    d = deps(request)
    cat = d.service.catalogue
    doc = cat.chains.get(request.path_params["chain"])
    if doc is None:
        raise HTTPException(404, _("没有这个审批链条。"))
    chain = doc.data
    path = chains.critical_path(cat, chain)
    return d.render(
        "chain.html",
        chain=chain,
        path=path,
        stages=list(zip(chain["stages"], path.stages, strict=True)),
        form=chains.merged_form(cat, chain),
        items=cat.items,
        days_text=chains.days_text,
    )


__all__ = ["chain_page", "departments", "guide_page", "home", "item_page"]
