"""The portal's requests and complaints (诉求): filing one (``/appeals/new``) and following it with its number
and query code (``/appeals/follow``), where the person reads the answer and rates it when it is answered.

The kinds and whether each may be anonymous come from appeals/kinds.yaml (engine.service.appeals files it);
the query code is checked as cases' are (engine.service.query_codes: wrong codes limited, 429 past the
limit), and travels only in the posted form, never in a URL. Forms carry the browser's CSRF token
(purpose ``progress``, engine.web.csrf); every field has a length limit.
"""

from __future__ import annotations

from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from engine.base import addresses, wording
from engine.base.i18n import N_, gettext
from engine.rules import appeals as rules
from engine.rules.cases.model import ActionRefused
from engine.service import appeals as appeal_service
from engine.service import query_codes
from engine.web import csrf
from engine.web.deps import deps
from engine.web.portal.browser import browser_token, remember_browser

NOT_FOUND = N_("没有与此编号和查询码相符的诉求，请核对后重新输入。")
STATES = {
    "open": N_("待办理"),
    "assigned": N_("办理中"),
    "answered": N_("已答复"),
    "closed": N_("已办结"),
}
FIELDS = ("kind", "subject", "body", "filer_name", "contact", "case_number", "named_department", "named_staff")


def _show(request: Request, template: str, status: int = 200, **ctx: Any) -> Response:
    d = deps(request)
    browser, new = browser_token(request)
    response = d.render(template, status=status, csrf=csrf.token(d.key, csrf.PROGRESS, browser), **ctx)
    response.headers["Cache-Control"] = "no-store"
    return remember_browser(response, request, browser) if new else response


async def _form(request: Request) -> FormData:
    d = deps(request)
    browser, _ = browser_token(request)
    form = await request.form(max_files=0, max_fields=20)
    csrf.check(request, form, d.key, csrf.PROGRESS, browser)
    return form


def _new_page(request: Request, status: int = 200, error: str = "", values: dict[str, str] | None = None) -> Response:
    service = deps(request).service
    departments = (service.catalogue.center or {}).get("departments", [])
    return _show(
        request, "portal/appeal_new.html", status, kinds=list(service.catalogue.appeal_kinds().values()),
        departments=departments, error=error, values=values or {}, limits=appeal_service.LIMITS,
    )  # fmt: skip


async def new(request: Request) -> Response:
    """``GET /appeals/new``: the form (the kind preselected by ``?kind=``)."""
    if deps(request).service.catalogue.appeals is None:
        return _show(request, "portal/appeal_new.html", 404, kinds=[], departments=[], error="", values={}, limits={})
    return _new_page(request, values={"kind": request.query_params.get("kind", "")[:32]})


async def submit(request: Request) -> Response:
    """``POST /appeals/new``: file it; the page with its number and query code."""
    form = await _form(request)
    values = {k: str(form.get(k, ""))[:5000] for k in FIELDS}
    filing = appeal_service.Filing(**values)
    service = deps(request).service
    try:
        number, code = await run_in_threadpool(appeal_service.file, service, filing)
    except ActionRefused as exc:
        return _new_page(request, 422, exc.message, values)
    kind = service.catalogue.appeal_kinds()[filing.kind]
    return _show(request, "portal/appeal_done.html", number=number, code=code, kind=kind)


async def follow_page(request: Request) -> Response:
    """``GET /appeals/follow``: asks for the number and the query code."""
    return _show(request, "portal/appeal_follow.html", number=request.query_params.get("number", "")[:32], error="")


def _throttled(request: Request, exc: query_codes.Throttled) -> Response:
    message = gettext("查询码输错次数过多，请 {minutes} 分钟后再试。").format(minutes=exc.minutes)
    refused = deps(request).render("error.html", status=429, code=429, message=message)
    refused.headers["Retry-After"] = str(exc.seconds)
    refused.headers["Cache-Control"] = "no-store"
    return refused


def _appeal_page(request: Request, appeal: appeal_service.Appeal, code: str, **extra: Any) -> Response:
    history = [
        {"at": wording.local_time(e.at_datetime), "what": event_words(e.action)}
        for e in appeal.history
        if e.action != "verdict"  # the finding is the office's; the person reads the answer
    ]
    return _show(
        request, "portal/appeal.html", appeal=appeal, row=appeal.row, kind=appeal.kind, code=code,
        state=gettext(STATES.get(str(appeal.row["state"]), str(appeal.row["state"]))), history=history,
        answer=appeal.answer(), ratings=rules.RATINGS, due=wording.local_time(appeal.row["due"]),
        **{"done": "", "error": "", **extra},
    )  # fmt: skip


async def follow(request: Request) -> Response:
    """``POST /appeals/follow``: the appeal's page for the holder of its query code."""
    form = await _form(request)
    number = str(form.get("number", "")).strip().upper()[:32]
    code = str(form.get("query_code", ""))[: query_codes.MAX_TYPED + 1]
    service = deps(request).service
    try:
        found = await run_in_threadpool(appeal_service.follow, service, number, code, addresses.of(request))
    except query_codes.Throttled as exc:
        return _throttled(request, exc)
    if found is None:
        return _show(request, "portal/appeal_follow.html", 404, number=number, error=gettext(NOT_FOUND))
    return _appeal_page(request, found, code)


async def close(request: Request) -> Response:
    """``POST /appeals/NUMBER/close``: the person rates the answer (the query code is in the form)."""
    form = await _form(request)
    number = request.path_params["number"][:32]
    code = str(form.get("query_code", ""))[: query_codes.MAX_TYPED + 1]
    rating = str(form.get("rating", ""))[:16]
    service = deps(request).service
    try:
        found = await run_in_threadpool(
            appeal_service.close_by_person, service, number, code, addresses.of(request), rating
        )
    except query_codes.Throttled as exc:
        return _throttled(request, exc)
    except ActionRefused as exc:
        again = await run_in_threadpool(appeal_service.follow, service, number, code, addresses.of(request))
        if again is None:
            return _show(request, "portal/appeal_follow.html", 404, number=number, error=gettext(NOT_FOUND))
        return _appeal_page(request, again, code, error=exc.message)
    if found is None:
        return _show(request, "portal/appeal_follow.html", 404, number=number, error=gettext(NOT_FOUND))
    return _appeal_page(request, found, code, done=gettext("感谢您的评价。"))


#: an appeal event's words, as the person and the staff read them
EVENTS = {
    "filed": N_("登记诉求"),
    "assigned": N_("分派办理人"),
    "transferred": N_("转交其他部门办理"),
    "answered": N_("答复"),
    "escalated": N_("超期升级督办"),
    "verdict": N_("认定是否属实"),
    "closed": N_("办结并评价"),
}


def event_words(action: str) -> str:
    return gettext(EVENTS[action]) if action in EVENTS else action


ROUTES: list[Route] = [  # who may use each: engine.service.access.ROUTES
    Route("/appeals/new", new, methods=["GET"]),
    Route("/appeals/new", submit, methods=["POST"]),
    Route("/appeals/follow", follow_page, methods=["GET"]),
    Route("/appeals/follow", follow, methods=["POST"]),
    Route("/appeals/{number}/close", close, methods=["POST"]),
]
