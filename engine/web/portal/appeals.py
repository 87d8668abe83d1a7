"""The portal's requests and complaints (诉求): filing one (``/appeals/new``, with how to be told of the answer
and up to five files, checked as a case's materials are) and following it with its number and query code
(``/appeals/follow``), where the person reads the answer, downloads their files and rates the answer.

The kinds and whether each may be anonymous come from appeals/kinds.yaml (engine.service.appeals files it);
the query code is checked as cases' are (engine.service.query_codes: wrong codes limited, 429 past the
limit), and travels only in the posted form, never in a URL. Forms carry the browser's CSRF token
(purpose ``progress``, engine.web.csrf); every field has a length limit.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData, UploadFile
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import FileResponse, Response
from starlette.routing import Route

from engine.base import addresses, wording
from engine.base.i18n import N_, gettext
from engine.rules import appeals as rules
from engine.rules.cases.model import ActionRefused
from engine.rules.forms import FieldError
from engine.service import appeals as appeal_service
from engine.service import filing_limits, query_codes, uploads
from engine.service.upload_limits import Owner, Refused, client, page_message
from engine.web import csrf
from engine.web.deps import deps
from engine.web.portal.browser import TOO_LARGE, RequestTooLarge, browser_token, remember_browser, throttled
from engine.web.portal.materials import FILE_PROBLEM, file_error

#: after filing_limits.TooMany's why and how long: the form keeps the text typed, not the files chosen
TOO_OFTEN = N_("您填写的内容已保留，附件需要重新选择；如情况紧急，请到窗口或打电话反映。")
NOT_FOUND = N_("没有与此编号和查询码相符的诉求，请核对后重新输入。")
STATES = {
    "open": N_("待办理"),
    "assigned": N_("办理中"),
    "answered": N_("已答复"),
    "closed": N_("已办结"),
}
FIELDS = ("kind", "subject", "body", "filer_name", "contact", "case_number", "item_code", "named_department",
          "named_staff", "notify", "email", "language")  # fmt: skip


def _show(request: Request, template: str, status: int = 200, **ctx: Any) -> Response:
    d = deps(request)
    browser, new = browser_token(request)
    response = d.render(template, status=status, csrf=csrf.token(d.key, csrf.PROGRESS, browser), **ctx)
    response.headers["Cache-Control"] = "no-store"
    return remember_browser(response, request, browser) if new else response


async def _form(request: Request, files: bool = False) -> FormData:
    d = deps(request)
    browser, _ = browser_token(request)
    if files:  # the filing form: its files, at most MAX_BODY bytes in all
        form = await limited_form(request)
    else:
        form = await request.form(max_files=0, max_fields=20)
    csrf.check(request, form, d.key, csrf.PROGRESS, browser)
    return form


#: a filing's whole body: its files at their largest, and its text
MAX_BODY = appeal_service.MAX_UPLOADS * uploads.MAX_UPLOAD + 256 * 1024
TOO_MANY_FILES = N_("最多附 %(max)s 个文件。")
ATTACHMENT = N_("附件")
#: what an appeal's files may be (a case's materials may also be plain zips; an appeal's may not)
FORMATS = ("pdf", "ofd", "jpg", "png", "doc", "docx", "xls", "xlsx")


async def limited_form(request: Request) -> FormData:
    """A filing form with its files (the portal's and the clerk's): 413 past :data:`MAX_BODY` bytes; one
    file more than :data:`MAX_UPLOADS` is still read, so that :func:`sent_files` can say what is wrong."""
    try:
        limited = uploads.limited(request, MAX_BODY, RequestTooLarge)  # a Content-Length past it: at once
        return await limited.form(max_files=appeal_service.MAX_UPLOADS + 1, max_fields=40)
    except RequestTooLarge:
        raise HTTPException(413, gettext(TOO_LARGE)) from None


async def sent_files(form: FormData) -> tuple[list[tuple[str, bytes, str]], str]:
    """The files of the form's ``files`` field — (name, content, sniffed type) — each checked as a case's
    materials are (engine.web.portal.materials.file_error: not empty, within the size, an accepted type by
    its content, no web-page markup), or what is wrong with them in the page's language."""
    sent = [v for v in form.getlist("files") if isinstance(v, UploadFile) and v.filename]
    if len(sent) > appeal_service.MAX_UPLOADS:
        return [], gettext(TOO_MANY_FILES) % {"max": appeal_service.MAX_UPLOADS}
    checked = []
    for value in sent:
        name = uploads.safe_name(value.filename)
        content = await value.read(uploads.MAX_UPLOAD + 1)
        found = file_error("files", name, content, {"name": gettext(ATTACHMENT), "formats": FORMATS})
        if isinstance(found, FieldError):
            return [], found.text()
        checked.append((name, content, found))
    return checked, ""


def storer(request: Request, files: list[tuple[str, bytes, str]], owner: Owner) -> Callable[[list[str]], None]:
    """What stores a filing's checked files once the filing is found right (engine.service.appeals.file's
    ``attach``), under the uploads' limits: a limit reached refuses the filing with its message."""
    d = deps(request)

    def store(ids: list[str]) -> None:
        for name, content, content_type in files:
            at = d.service.clock.now()
            try:
                row = uploads.store(d.service.db, d.uploads_dir, content, name, content_type, at, owner, d.limits)
            except Refused as e:
                raise ActionRefused("invalid", FILE_PROBLEM, name=name, why=page_message(e, d.limits)) from None
            ids.append(row.id)

    return store


def item_choices(service: Any) -> list[dict[str, Any]]:
    """The items a filing may name, for the forms' select: by department (in the center's order), each
    department's items by name — ``[{"name": department, "items": [(code, name), …]}, …]``."""
    catalogue = service.catalogue
    by_department: dict[str, list[tuple[str, str]]] = {}
    for code, doc in catalogue.items.items():
        data = catalogue.data(doc) or {}
        by_department.setdefault(str(data.get("department") or ""), []).append((code, str(data.get("name") or code)))
    groups = []
    for d in (catalogue.center or {}).get("departments", []):
        if d["id"] in by_department:
            groups.append({"name": d["name"], "items": sorted(by_department[d["id"]], key=lambda i: i[1])})
    return groups


def _new_page(request: Request, status: int = 200, error: str = "", values: dict[str, str] | None = None) -> Response:
    service = deps(request).service
    departments = (service.catalogue.center or {}).get("departments", [])
    return _show(
        request, "portal/appeal_new.html", status, kinds=list(service.catalogue.appeal_kinds().values()),
        departments=departments, items=item_choices(service), error=error, values=values or {},
        limits=appeal_service.LIMITS, **FILES_FORM,
    )  # fmt: skip


#: what the forms' file field says and accepts (the portal's and the clerk's)
FILES_FORM = {
    "max_files": appeal_service.MAX_UPLOADS,
    "max_mb": uploads.MAX_UPLOAD // 2**20,
    "accept": ",".join(uploads.ACCEPT_OF[f] for f in FORMATS),
}


async def new(request: Request) -> Response:
    """``GET /appeals/new``: the form (the kind preselected by ``?kind=``)."""
    if deps(request).service.catalogue.appeals is None:
        return _show(
            request, "portal/appeal_new.html", 404, kinds=[], departments=[], items=[], error="", values={}, limits={}
        )
    return _new_page(request, values={"kind": request.query_params.get("kind", "")[:32]})


async def submit(request: Request) -> Response:
    """``POST /appeals/new``: file it; the page with its number and query code."""
    form = await _form(request, files=True)
    values = {k: str(form.get(k, ""))[:5000] for k in FIELDS}
    filing = appeal_service.Filing(**values)
    service = deps(request).service
    files, problem = await sent_files(form)
    if problem:
        return _new_page(request, 422, problem, values)
    attach = storer(request, files, Owner(client=client(request)))
    filer = filing_limits.of(request, deps(request).limits)  # the address's filings, cases and appeals alike
    try:
        number, code = await run_in_threadpool(appeal_service.file, service, filing, None, attach, filer)
    except ActionRefused as exc:
        return _new_page(request, 422, exc.message, values)
    except filing_limits.TooMany as exc:  # the form again, as typed (its files were not kept: say so)
        refused = _new_page(request, 429, str(exc) + gettext(TOO_OFTEN), values)
        refused.headers["Retry-After"] = str(exc.seconds)
        return refused
    kind = service.catalogue.appeal_kinds()[filing.kind]
    return _show(request, "portal/appeal_done.html", number=number, code=code, kind=kind)


async def follow_page(request: Request) -> Response:
    """``GET /appeals/follow``: asks for the number and the query code."""
    return _show(request, "portal/appeal_follow.html", number=request.query_params.get("number", "")[:32], error="")


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
    found = await _followed(request, number, code)
    return found if isinstance(found, Response) else _appeal_page(request, found, code)


async def _followed(request: Request, number: str, code: str) -> appeal_service.Appeal | Response:
    """The appeal for the holder of its query code, or the page that says why not (not found, too many tries)."""
    try:
        found = await run_in_threadpool(
            appeal_service.follow, deps(request).service, number, code, addresses.of(request)
        )
    except query_codes.Throttled as exc:
        return throttled(request, exc)
    if found is None:
        return _show(request, "portal/appeal_follow.html", 404, number=number, error=gettext(NOT_FOUND))
    return found


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
        return throttled(request, exc)
    except ActionRefused as exc:
        again = await run_in_threadpool(appeal_service.follow, service, number, code, addresses.of(request))
        if again is None:
            return _show(request, "portal/appeal_follow.html", 404, number=number, error=gettext(NOT_FOUND))
        return _appeal_page(request, again, code, error=exc.message)
    if found is None:
        return _show(request, "portal/appeal_follow.html", 404, number=number, error=gettext(NOT_FOUND))
    return _appeal_page(request, found, code, done=gettext("感谢您的评价。"))


def file_response(appeal: appeal_service.Appeal, upload_id: str, db: Any) -> Response:
    """One of the appeal's files as an attachment named 附件 (numbered), with the sniffed type's extension,
    served as that type with ``nosniff``: never under the sender's name or type, never shown in the page."""
    found = appeal_service.attachment(appeal, upload_id, db)
    if found is None:
        raise HTTPException(404, gettext("这件诉求没有这个文件。"))
    row, index = found
    name = uploads.served_name(gettext(ATTACHMENT), row.content_type, index)
    response = FileResponse(row.path, media_type=uploads.served_type(row.content_type))
    response.headers["Content-Disposition"] = uploads.content_disposition(name, f"{upload_id}.{row.format}")
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Cache-Control"] = "no-store"
    return response


async def download(request: Request) -> Response:
    """``POST /appeals/NUMBER/files/UPLOAD``: a file of the appeal, for the holder of its query code (in the form)."""
    form = await _form(request)
    number = request.path_params["number"][:32]
    code = str(form.get("query_code", ""))[: query_codes.MAX_TYPED + 1]
    found = await _followed(request, number, code)
    if isinstance(found, Response):
        return found
    return await run_in_threadpool(file_response, found, request.path_params["upload"][:64], deps(request).service.db)


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
    Route("/appeals/{number}/files/{upload}", download, methods=["POST"]),
]
