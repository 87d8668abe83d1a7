"""The applicant's view of a case (办件查询): with its number and query code the applicant sees
the timeline, the current step, the deadline, whether the clock is paused, what is missing,
the fee to pay; supplements the missing materials once; and rates the service at the end.

The query code is checked once (``POST /progress``, engine.service.query_codes: wrong codes are
limited per client and per case, 429 past the limit); the browser then holds a signed cookie
for that case only (engine.web.portal.grants), so the code never travels in a URL. Wrong number
and wrong code get the same answer, so case numbers cannot be probed. Forms carry CSRF tokens of
engine.web.csrf. Handlers reach the catalogue version through ``engine.web.deps.deps(request)``.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.routing import Route

from engine.base import addresses, input_guard, stated, wording
from engine.base.i18n import N_, gettext
from engine.ledger.db import read_only
from engine.ledger.errors import VersionConflict
from engine.ledger.events import events_of
from engine.rules import forms
from engine.rules.cases.model import RATINGS, TERMINAL, ActionRefused
from engine.rules.cases.steps import open_steps, steps_of
from engine.rules.forms import FieldError
from engine.service import chains as chain_service
from engine.service import device_grants, documents, joint_decision, query_codes, uploads
from engine.service.cases import CaseService, SubmissionInvalid, UnknownCase
from engine.web import csrf
from engine.web.deps import deps
from engine.web.portal.apply import APPLICANT
from engine.web.portal.browser import (
    TOO_LARGE,
    RequestTooLarge,
    browser_token,
    limited_form,
    remember_browser,
    throttled,
)  # fmt: skip
from engine.web.portal.grants import (
    GRANT_COOKIE,
    GRANT_SECONDS,
    device,
    grant_value,
    granted,
    is_chain,
    remembered_cases,
)
from engine.web.portal.materials import reason_text, supplement_files

NOT_FOUND = N_("没有与此办件编号和查询码相符的办件，请核对后重新输入。")
NO_SUCH_DOCUMENT = N_("没有这份文书。")
#: the message a page shows after ``?done=ACTION``
DONE = {"supplement": N_("补正材料已提交，窗口将审查后决定是否受理。"), "evaluate": N_("感谢您的评价。")}


def local(moment: datetime | None) -> str:
    """A stored instant as the applicant reads it: local time, minutes (engine.base.wording.local_time)."""
    return wording.local_time(moment)


def show(request: Request, template: str, browser: str, new: bool, status: int = 200, **ctx: Any) -> Response:
    """A progress page with the browser's CSRF token (purpose ``progress``), never cached."""
    d = deps(request)
    response = d.render(template, status=status, csrf=csrf.token(d.key, csrf.PROGRESS, browser), **ctx)
    response.headers["Cache-Control"] = "no-store"
    return remember_browser(response, request, browser) if new else response


async def find(request: Request, error: str = "", status: int = 200, number: str | None = None) -> Response:
    """``GET /progress``: the form asking for a case number and its query code, and the remembered cases."""
    browser, new = browser_token(request)
    number = request.query_params.get("number", "")[:32] if number is None else number
    remembered = await run_in_threadpool(remembered_cases, request)
    forgot = request.query_params.get("forgot") == "1"
    return show(
        request, "portal/progress_find.html", browser, new, status,
        number=number, error=error, remembered=remembered, forgot=forgot,
    )  # fmt: skip


async def forget(request: Request) -> Response:
    """``POST /progress/forget`` ("Forget this device"): every grant of this browser is revoked at once,
    and its cookies go."""
    d = deps(request)
    browser, new = browser_token(request)
    form = await request.form(max_files=0, max_fields=10)
    csrf.check(request, form, d.key, csrf.PROGRESS, browser)
    found = device(request)
    had = await run_in_threadpool(device_grants.forget, d.service.db, found, d.service.clock.now()) if found else []
    response = RedirectResponse("/progress?forgot=1", status_code=303)
    secure = request.url.scheme == "https"
    response.delete_cookie(device_grants.COOKIE, path="/progress", secure=secure, httponly=True, samesite="lax")
    for number in had:
        response.delete_cookie(GRANT_COOKIE + number, path="/progress", secure=secure, httponly=True, samesite="lax")
    return remember_browser(response, request, browser) if new else response


async def lookup(request: Request) -> Response:
    """``POST /progress``: check the query code once; the case's page, with a grant cookie for it."""
    d = deps(request)
    browser, new = browser_token(request)
    form = await request.form(max_files=0, max_fields=10)
    csrf.check(request, form, d.key, csrf.PROGRESS, browser)
    number = str(form.get("number", "")).strip().upper()[:32]
    code = str(form.get("query_code", ""))[: query_codes.MAX_TYPED + 1]
    client = addresses.of(request)
    try:
        found = await run_in_threadpool(query_codes.check, d.service.db, number, code, client, d.service.clock.now())
    except query_codes.Throttled as exc:
        return throttled(request, exc)
    if not found:
        return await find(request, gettext(NOT_FOUND), 404, number)
    response = RedirectResponse(f"/progress/{number}", status_code=303)
    secure = request.url.scheme == "https"
    if form.get("remember") == "1":  # opt-in: a long-lived, revocable grant for this browser
        kept = device(request) or device_grants.new_device()
        await run_in_threadpool(device_grants.remember, d.service.db, kept, number, d.service.clock.now())
        response.set_cookie(
            device_grants.COOKIE, device_grants.cookie_value(d.key, kept), max_age=device_grants.DAYS * 86400,
            httponly=True, samesite="lax", secure=secure, path="/progress",
        )  # fmt: skip
    else:
        response.set_cookie(
            GRANT_COOKIE + number, grant_value(request, number, browser), max_age=GRANT_SECONDS,
            httponly=True, samesite="lax", secure=secure, path="/progress",
        )  # fmt: skip
    return remember_browser(response, request, browser) if new else response


def view(service: CaseService, number: str) -> dict[str, Any]:
    """What the progress page of case ``number`` shows."""
    case, snap = service.load(number)
    item = snap["item"]
    try:
        due = service.deadlines(case, snap)
    except LookupError:  # the calendar lacks a year: no date rather than a wrong one
        due = None
    with read_only(service.db) as conn:
        records = events_of(conn, number)
    materials = {m["id"]: m for m in stated.materials(item)}
    names = {s["id"]: s["name"] for s in steps_of(item)}
    timeline = [
        {
            "at": local(r.at_datetime),
            "what": wording.action(r.action)
            + (gettext("：") + names.get(r.payload.get("step"), "") if r.action == "complete_step" else ""),
            "who": wording.role(r.role),
        }
        for r in records
    ]
    paused = next((p for p in case.pauses if p["end"] is None), None)
    return {
        "case": case,
        "item": item,
        "state": wording.state(case.state),
        "open_steps": [s["name"] for s in open_steps(case, item)],
        "timeline": timeline,
        "due": due,
        "local": local,
        "paused": paused
        and (
            wording.special_procedure(paused["kind"])
            if paused["kind"] in wording.SPECIAL_PROCEDURES
            else gettext("补正材料")
        ),
        "missing": [
            {
                **m,
                "reason": reason_text(str(m.get("reason", ""))),
                "spec": materials.get(m["material"], {}),
                "accept": uploads.accept_attribute(materials.get(m["material"], {})),
            }
            for m in case.missing
        ]
        if case.state == "awaiting_supplement"
        else [],
        "assessment": case.assessment,
        "ratings": RATINGS,
        "can_rate": case.state in TERMINAL and case.evaluation is None,
        "decision": wording.decision(case.decision),
        "documents": documents.documents_for(case, snap, service.catalogue.center, due, records),
    }


def chain_view(service: CaseService, number: str) -> dict[str, Any]:
    """What the progress page of chain application ``number`` shows: its stages, members and services."""
    st = chain_service.state(service, number)
    chain = chain_service.pinned(service, number)
    names = {code: service.catalogue.items[code].data["name"] for code in service.catalogue.items}
    decided = joint_decision.decided_stages(service, number)
    stages = []
    for i, stage in enumerate(chain["stages"]):
        members = [
            {"code": code, "name": names.get(code, code), "number": case_number, "state": wording.state(state_)}
            for code, case_number, state_ in st.members.get(stage["id"], [])
        ]
        status = chain_service.stage_status(st, i, stage["id"])
        stages.append({**stage, "members": members, "status": status, "document": stage["id"] in decided})
    asked = chain_service.services_asked(service, number)
    services = [
        {"name": names.get(code, code), "number": case_number, "state": wording.state(state_) if state_ else ""}
        | {"asked": code in asked}
        for code, _after, case_number, state_ in st.services
    ]
    return {"chain": chain, "st": st, "stages": stages, "services": services, "local": local, "number": number}


async def page(request: Request) -> Response:
    """``GET /progress/NUMBER``: a case's (or chain application's) page, for a browser granted it."""
    service = deps(request).service
    number = request.path_params["number"]
    browser, new = browser_token(request)
    if not await run_in_threadpool(granted, request, number, browser):
        return RedirectResponse(f"/progress?number={number}", status_code=303)
    if is_chain(number):
        try:
            ctx = await run_in_threadpool(chain_view, service, number)
        except UnknownCase:
            raise HTTPException(404, gettext(NOT_FOUND)) from None
        return show(request, "portal/chain_progress.html", browser, new, **ctx)
    try:
        ctx = await run_in_threadpool(view, service, number)
    except UnknownCase:
        raise HTTPException(404, gettext(NOT_FOUND)) from None
    done = DONE.get(request.query_params.get("done", ""))
    said = gettext(done) if done else ""
    return show(request, "portal/progress.html", browser, new, **ctx, flash=said, errors={}, summary=[])


async def act(request: Request) -> Response:
    """``POST /progress/NUMBER/ACTION``: the applicant supplements the missing materials or rates the
    service; the page again with what is wrong."""
    service = deps(request).service
    number, action = request.path_params["number"], request.path_params["action"]
    browser, new = browser_token(request)
    allowed = await run_in_threadpool(granted, request, number, browser)
    if action not in ("supplement", "evaluate") or not allowed:
        raise HTTPException(403, gettext("请先用办件编号和查询码查询本件。"))
    try:
        form = await limited_form(request, multipart=action == "supplement")
    except RequestTooLarge:
        raise HTTPException(413, gettext(TOO_LARGE)) from None
    try:
        csrf.check(request, form, deps(request).key, csrf.PROGRESS, browser)
        version = str(form.get("version", ""))
        if input_guard.whole(version) is None:
            raise HTTPException(400, gettext("表单缺少办件版本，请刷新页面后重试。"))
        errors: list[FieldError] = []
        if action == "supplement":
            payload, errors = await supplement_files(request, number, form)
        else:
            payload = {"rating": str(form.get("rating", "")), "comment": str(form.get("comment", ""))[:500]}
        if not errors:
            try:
                await run_in_threadpool(service.act, number, action, APPLICANT, payload, int(version))
                return RedirectResponse(f"/progress/{number}?done={action}", status_code=303)
            except SubmissionInvalid as exc:
                errors = exc.errors
            except ActionRefused as exc:
                refusal = str(exc.args[0] if exc.args else exc)
                errors = [FieldError(action, refusal, exc.code)]
            except VersionConflict:
                moved_on = N_("办件刚刚有了新进展，请查看最新状态后再操作。")
                errors = [forms.field_error(action, "conflict", moved_on)]
        ctx = await run_in_threadpool(view, service, number)
        errors = [e.translated() for e in errors]  # engine.rules.forms errors in the page's language
        by_field = {e.field: e.message for e in errors}
        return show(
            request, "portal/progress.html", browser, new, 422, **ctx, flash="", errors=by_field, summary=errors
        )
    finally:
        await form.close()


async def document(request: Request) -> Response:
    """``GET /progress/NUMBER/documents/INDEX``: one of the case's documents (a chain's: a joint decision)."""
    service = deps(request).service
    number, index = request.path_params["number"], request.path_params["index"]
    browser, _ = browser_token(request)
    if not await run_in_threadpool(granted, request, number, browser):
        return RedirectResponse(f"/progress?number={number}", status_code=303)
    if is_chain(number):  # a chain's documents are its joint decisions, by stage id
        found = await run_in_threadpool(joint_decision.joint_decision, service, number, index)
        if found is None:
            raise HTTPException(404, gettext(NO_SUCH_DOCUMENT))
        response = HTMLResponse(documents.render(found, service.catalogue.center))
        response.headers["Cache-Control"] = "no-store"
        return response
    ctx = await run_in_threadpool(view, service, number)
    docs = ctx["documents"]
    at = input_guard.whole(index)
    if at is None or not 0 <= at < len(docs):
        raise HTTPException(404, gettext(NO_SUCH_DOCUMENT))
    response = HTMLResponse(documents.render(docs[int(index)], service.catalogue.center))
    response.headers["Cache-Control"] = "no-store"
    return response


ROUTES: list[Route] = [
    Route("/progress/{number}/documents/{index}", document, methods=["GET"]),
    Route("/progress/forget", forget, methods=["POST"]),
    Route("/progress", find, methods=["GET"]),
    Route("/progress", lookup, methods=["POST"]),
    Route("/progress/{number}", page, methods=["GET"]),
    Route("/progress/{number}/{action}", act, methods=["POST"]),
]
"""The progress pages."""
