"""The applicant portal (网上办事): apply for an item page by page, upload materials, check
the answers, submit, and follow the case with its number and query code.

Every page is generated from the item's YAML (engine.web.portal.form_view); the server is the source of
truth for validation (engine.rules.forms) and works without JavaScript. An application in
progress is a draft bound to this browser (engine.service.drafts): nothing typed or uploaded is lost
when a page has errors. Forms that change anything carry a CSRF token keyed with the server key
and bound to the browser's cookie token (engine.web.csrf; the cookie is HttpOnly and SameSite=Lax).

Each handler finds the catalogue version's service, renderer, key, limits and staff lookup with
``engine.web.deps.deps(request)``. A signed-in member of staff may file for an applicant (代办):
the case is recorded as filed by them. :data:`ROUTES` serves items at ``/apply/CODE`` and chains' one
applications at ``/chains/CODE/apply`` (engine.web.portal.application).
"""

from __future__ import annotations

import math
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.routing import Route

from engine.base import i18n, stated
from engine.base.i18n import N_
from engine.catalogue.model import Document
from engine.rules import forms
from engine.rules.cases.model import Actor
from engine.rules.forms import FieldError
from engine.service import chains as chain_service
from engine.service import drafts, filing_limits, upload_limits
from engine.service.cases import SubmissionInvalid
from engine.web import csrf
from engine.web.deps import deps
from engine.web.portal import form_view
from engine.web.portal.application import CHAIN_APPLICATION, applied_for, draft_key, urls
from engine.web.portal.browser import TOO_LARGE, RequestTooLarge, browser_token, limited_form, remember_browser
from engine.web.portal.form_view import CHECK_PAGE, MATERIALS_PAGE
from engine.web.portal.materials import save_materials
from engine.web.portal.pages import (
    PLACEHOLDER,
    blank_page,
    csrf_token,
    errors_by_field,
    next_url,
    page_context,
    render_page,
    show,
)

APPLICANT = Actor("applicant", "applicant")
NO_SUCH_DRAFT = N_("找不到这份申请草稿（可能已过期，或不是在这个浏览器中填写的），请重新开始。")


def load_draft(request: Request, code: str, browser: str, draft_id: str | None) -> drafts.Draft | None:
    """This browser's draft ``draft_id`` of the application (None without an id; 404 if it is not theirs)."""
    if not draft_id:
        return None
    draft = drafts.get(deps(request).service.db, draft_id, browser, draft_key(applied_for(request, code)))
    if draft is None:
        raise HTTPException(404, i18n.gettext(NO_SUCH_DRAFT))
    return draft


async def new_draft(request: Request, doc: Document, browser: str) -> drafts.Draft:
    """A draft for this browser; an address that began its hour's drafts (portal and API alike,
    engine.service.upload_limits.Limits) is refused with 429 — a signed-in member of staff filing for others is not."""
    d = deps(request)
    staff = await run_in_threadpool(d.staff_of, request)
    client = None if staff is not None else upload_limits.client(request)
    now = d.service.clock.now()
    try:
        return await run_in_threadpool(
            drafts.create, d.service.db, draft_key(doc), browser, now, client, d.limits.client_drafts_per_hour
        )
    except drafts.TooMany as exc:
        seconds = exc.retry_after(now)
        message = i18n.gettext("新建申请过于频繁，请 {minutes} 分钟后再试。").format(minutes=math.ceil(seconds / 60))
        raise HTTPException(429, message, headers={"Retry-After": str(seconds)}) from None


async def start(request: Request) -> Response:
    """``GET /apply/CODE``: to the application's first page."""
    doc = applied_for(request, request.path_params["code"])
    first = form_view.pages(deps(request).service.catalogue, doc, {})[0]
    return RedirectResponse(f"{urls(doc)['base']}/{first.id}", status_code=303)


async def page_get(request: Request) -> Response:
    """``GET /apply/CODE/PAGE``: a page of the application, blank or with the browser's draft."""
    code, page_id = request.path_params["code"], request.path_params["page"]
    doc = applied_for(request, code)
    browser, new = browser_token(request)
    draft_id = request.query_params.get("draft")
    if not draft_id:  # served from memory, in the event loop: no database, no worker thread
        html = blank_page(request, doc, page_id).replace(PLACEHOLDER, csrf_token(request, browser))
        response = HTMLResponse(html, headers={"Cache-Control": "no-store"})
        return remember_browser(response, request, browser) if new else response
    draft = await run_in_threadpool(load_draft, request, code, browser, draft_id)
    if draft is not None and draft.case_number:
        return RedirectResponse(f"{urls(doc)['base']}/done?draft={draft.id}", status_code=303)
    ctx = page_context(request, doc, draft, page_id)
    return await run_in_threadpool(render_page, request, doc, ctx, browser, new, {}, 200)


async def page_post(request: Request) -> Response:
    """``POST /apply/CODE/PAGE``: save a page's answers (or files) in the draft, made on the first."""
    code, page_id = request.path_params["code"], request.path_params["page"]
    doc = applied_for(request, code)
    browser, new = browser_token(request)
    try:
        form = await limited_form(request, multipart=page_id == MATERIALS_PAGE)
    except RequestTooLarge:
        raise HTTPException(413, i18n.gettext(TOO_LARGE)) from None
    try:
        csrf.check(request, form, deps(request).key, csrf.APPLY, browser)
        draft_id = form.get("draft")
        draft = await run_in_threadpool(
            load_draft, request, code, browser, draft_id if isinstance(draft_id, str) else None
        )
        if draft is not None and draft.case_number:
            return RedirectResponse(f"{urls(doc)['base']}/done?draft={draft.id}", status_code=303)
        if draft is None:
            draft = await new_draft(request, doc, browser)
        ctx = page_context(request, doc, draft, page_id)
        if page_id == MATERIALS_PAGE:
            return await save_materials(request, doc, ctx, draft, form, browser, new)
        if page_id == CHECK_PAGE:
            raise HTTPException(405, i18n.gettext("请使用“提交申请”按钮。"))
        return await run_in_threadpool(save_section, request, doc, ctx, draft, form, browser, new)
    except drafts.TooLarge:
        raise HTTPException(413, i18n.gettext("填写的内容太长，请删减后重新提交。")) from None
    finally:
        await form.close()


def save_section(
    request: Request, doc: Document, ctx: dict[str, Any], draft: drafts.Draft, form: FormData, browser: str, new: bool
) -> Response:
    """Keep a section's answers (even with errors), then the next page or this one with its errors."""
    service = deps(request).service
    cat = service.catalogue
    section = ctx["page"].id
    shown = form_view.widgets(cat, doc, section, draft.data, {})
    draft.data[section] = form_view.section_of_page(form, section, shown)
    drafts.save(service.db, draft, service.clock.now())  # kept even when there are errors
    _, errors = forms.validate(cat, doc, draft.data, None)
    mine = [e for e in errors if e.field.partition(".")[0] == section]
    if mine:
        return render_page(request, doc, ctx, browser, new, errors_by_field(mine), 422)
    return_to = form.get("return_to")
    url = next_url(cat, doc, draft, section, return_to if isinstance(return_to, str) else "")
    response = RedirectResponse(url, status_code=303)
    return remember_browser(response, request, browser) if new else response


async def submit(request: Request) -> Response:
    """``POST /apply/CODE/submit``: file the draft as a case (or a chain application), once."""
    code = request.path_params["code"]
    doc = applied_for(request, code)
    browser, new = browser_token(request)
    form = await limited_form(request, multipart=False)
    csrf.check(request, form, deps(request).key, csrf.APPLY, browser)
    draft_id = form.get("draft")
    draft = await run_in_threadpool(load_draft, request, code, browser, draft_id if isinstance(draft_id, str) else "x")
    assert draft is not None
    if draft.case_number:
        return RedirectResponse(f"{urls(doc)['base']}/done?draft={draft.id}", status_code=303)
    return await run_in_threadpool(file_draft, request, doc, draft, browser, new)


def file_draft(request: Request, doc: Document, draft: drafts.Draft, browser: str, new: bool) -> Response:
    """Submit ``draft`` (in a worker thread): to the done page, or the check page again with why not."""
    d = deps(request)
    service, code = d.service, str(doc.data["code"])
    actor = d.staff_of(request) or APPLICANT
    # an applicant's filing counts against the address's limit; staff filing for one (代办) do not
    filer = filing_limits.of(request, d.limits) if actor is APPLICANT else None
    try:
        if doc.kind == CHAIN_APPLICATION:  # one set of materials, by name, for every member
            names = {m["id"]: m["name"] for m in stated.materials(doc.data)}
            by_name = {names[k]: v for k, v in draft.uploads.items() if k in names}
            once = f"draft:{draft.id}"  # the draft's idempotency key (engine.service.drafts.key)
            sub: Any = chain_service.submit(service, code, draft.data, by_name, actor, once, filer)
        else:
            sub = service.submit(code, draft.data, draft.uploads, actor, f"draft:{draft.id}", filer=filer)
    except SubmissionInvalid as exc:
        ctx = page_context(request, doc, draft, CHECK_PAGE)
        return render_page(request, doc, ctx, browser, new, errors_by_field(exc.errors), 422, exc.errors)
    except filing_limits.TooMany as exc:  # the check page again, as it was: the draft keeps everything
        ctx, why = page_context(request, doc, draft, CHECK_PAGE), [FieldError("submit", exc.page_message(), "too_many")]
        page = render_page(request, doc, ctx, browser, new, {}, 429, why)
        page.headers["Retry-After"] = str(exc.seconds)
        return page
    draft.case_number, draft.query_code = sub.number, sub.query_code
    drafts.save(service.db, draft, service.clock.now())
    return RedirectResponse(f"{urls(doc)['base']}/done?draft={draft.id}", status_code=303)


async def done(request: Request) -> Response:
    """``GET /apply/CODE/done``: the case number, query code and deadline of a submitted draft."""
    d = deps(request)
    service, code = d.service, request.path_params["code"]
    doc = applied_for(request, code)
    browser, new = browser_token(request)
    draft = await run_in_threadpool(load_draft, request, code, browser, request.query_params.get("draft") or "x")
    assert draft is not None
    if not draft.case_number:
        return RedirectResponse(f"{urls(doc)['base']}/{CHECK_PAGE}?draft={draft.id}", status_code=303)
    deadline, chain = None, None
    if doc.kind == CHAIN_APPLICATION:
        chain = await run_in_threadpool(chain_service.state, service, draft.case_number)
    else:
        case, snap = await run_in_threadpool(service.load, draft.case_number)
        deadline = await run_in_threadpool(service.deadlines, case, snap)
    staff = await run_in_threadpool(d.staff_of, request)
    return show(
        request, "portal/done.html", browser, new, item=service.catalogue.data(doc), guide=urls(doc)["guide"],
        draft=draft, deadline=deadline, chain=chain, staff=staff,
    )  # fmt: skip


ROUTES: list[Route] = [
    Route(prefix + path, endpoint, methods=[method])
    for prefix in ("/apply/{code}", "/chains/{code}/apply")
    for path, endpoint, method in (
        ("", start, "GET"),
        ("/submit", submit, "POST"),
        ("/done", done, "GET"),
        ("/{page}", page_get, "GET"),
        ("/{page}", page_post, "POST"),
    )
]
"""Every application page, for items and chains alike."""
