"""The desk's requests and complaints (诉求): the worklist with lights (``/desk/appeals``), one appeal's page with
its history and the actions the signed-in person may take (``/desk/appeals/NUMBER``), and a window clerk
recording one taken by phone or at the counter (``/desk/appeals/record``).

Who sees and does what is engine.service.access's (may_see_appeal, may_handle_appeal, may_record_appeal):
an appeal a person may not see is answered 404, as one that does not exist. The person who filed a report
(举报) is masked on these pages for everybody but the complaints office (engine.base.masking).
"""

from __future__ import annotations

from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from engine.base import masking, wording
from engine.base.i18n import N_, gettext
from engine.rules import appeals as rules
from engine.rules.cases.model import ActionRefused
from engine.service import access, appeal_lists
from engine.service import appeals as appeal_service
from engine.service.upload_limits import Owner
from engine.web.deps import deps
from engine.web.desk.staff import Staff, show, staff_route
from engine.web.portal.appeals import (
    FIELDS,
    FILES_FORM,
    STATES,
    event_words,
    file_response,
    item_choices,
    sent_files,
    storer,
)

LIGHTS = {"violation": N_("红灯：已超期"), "warning": N_("黄灯：即将到期"), "green": N_("绿灯")}
CHANNELS = {"portal": N_("网上提交"), "phone": N_("电话"), "visit": N_("现场")}
VERDICTS = {"justified": N_("属实"), "not_justified": N_("不属实")}
DONE = {
    "assign": N_("已分派"),
    "transfer": N_("已转交"),
    "answer": N_("已答复"),
    "escalate": N_("已升级督办"),
    "verdict": N_("已认定"),
    "close": N_("已办结"),
}


def _words(service: Any) -> dict[str, Any]:
    """What every appeals page shows as words, never as codes."""
    listed = (service.catalogue.center or {}).get("departments", [])
    departments = {d["id"]: d.get("short_name") or d["name"] for d in listed}
    departments["supervision"] = gettext("效能监察")
    return {
        "kinds": service.catalogue.appeal_kinds(),
        "departments": departments,
        "states": {k: gettext(v) for k, v in STATES.items()},
        "lights": {k: gettext(v) for k, v in LIGHTS.items()},
        "channels": {k: gettext(v) for k, v in CHANNELS.items()},
        "verdicts": {k: gettext(v) for k, v in VERDICTS.items()},
        "local": wording.local_time,
    }


async def listing(request: Request, staff: Staff) -> Response:
    """``GET /desk/appeals``: the appeals this person may see, the most urgent first."""
    service = deps(request).service
    closed = request.query_params.get("closed") == "1"
    total = await run_in_threadpool(appeal_lists.count, service, staff.actor, closed)
    pages = max(1, -(-total // appeal_lists.PAGE))
    page = min(max(_int(request.query_params.get("page", "1")), 1), pages)
    rows = await run_in_threadpool(appeal_lists.worklist, service, staff.actor, closed, page)
    may_record = access.may_record_appeal(staff.actor)
    return show(
        request, staff, "desk/appeals.html", rows=rows, closed=closed, may_record=may_record, total=total,
        page=page, pages=pages, first=(page - 1) * appeal_lists.PAGE + 1, **_words(service),
    )  # fmt: skip


def _int(text: str) -> int:
    return int(text[:6]) if text[:6].isdigit() else 1


def _page(request: Request, staff: Staff, number: str, status: int = 200, error: str = "", done: str = "") -> Response:
    service = deps(request).service
    office = service.catalogue.appeals_office()
    appeal = appeal_service.load(service, number)
    if appeal is None or not access.may_see_appeal(staff.actor, appeal.row["handler"], office):
        raise HTTPException(404, gettext(appeal_service.NO_SUCH_APPEAL))
    row = appeal.row
    state = str(row["state"])
    actions = [
        a for a in rules.ACTIONS
        if rules.allowed(a, state) and a != "close" and access.may_handle_appeal(staff.actor, a, row["handler"], office)
    ]  # fmt: skip
    if "verdict" in actions and not appeal.kind.get("verdict"):
        actions.remove("verdict")
    filer, contact = row["filer_name"], row["contact"]
    if appeal.kind.get("anonymous") and staff.actor.department != office:  # a reporter is known to the office only
        filer = masking.mask_name(filer, "natural_person") if filer else None
        contact = masking.mask_phone(contact) if contact else None
    notify_words = _notify_words(row, masked=bool(appeal.kind.get("anonymous")) and staff.actor.department != office)
    words = _words(service)
    history = [_step(e, words["departments"]) for e in appeal.history]
    staff_of_handler = appeal_lists.staff_of(service, str(row["handler"])) if "assign" in actions else []
    return show(
        request, staff, "desk/appeal.html", status, appeal=appeal, row=row, kind=appeal.kind, filer=filer,
        contact=contact, history=history, actions=actions, error=error,
        done=gettext(DONE[done]) if done in DONE else "",
        ratings=rules.RATINGS, staff_of_handler=staff_of_handler, notify_words=notify_words, **words,
    )  # fmt: skip


#: who acted, for the roles that are not a member of staff's account (a username is shown as it is)
ACTORS = {"applicant": N_("诉求人"), "system": N_("系统")}


def _step(e: Any, departments: dict[str, str]) -> dict[str, Any]:
    """One line of the history in words: who (never a role code), and where a transfer or escalation sent it."""
    role_word = ACTORS.get(e.role) or ACTORS.get(e.actor)
    where = e.payload.get("to") if e.action == "escalated" else e.payload.get("handler")
    return {
        "at": wording.local_time(e.at_datetime),
        "what": event_words(e.action),
        "who": gettext(role_word) if role_word else e.actor,
        "where": departments.get(str(where), str(where)) if where and e.action in ("transferred", "escalated") else "",
        "payload": e.payload,
    }


NOTIFY = {"none": N_("不需要通知"), "sms": N_("短信"), "email": N_("电子邮件")}


def _notify_words(row: Any, masked: bool) -> str:
    """How the person asked to be told of the answer, in words (the address masked where the filer is)."""
    how = str(row.get("notify") or "none")
    words = gettext(NOTIFY.get(how, NOTIFY["none"]))
    if how == "email" and row.get("notify_email"):
        address = str(row["notify_email"])
        words += " " + (masking.mask_text(address) if masked else address)
    if how != "none" and row.get("notify_language") == "en":
        words += gettext("（英文）")
    return words


async def page(request: Request, staff: Staff) -> Response:
    """``GET /desk/appeals/NUMBER``."""
    number = request.path_params["number"][:32]
    done = request.query_params.get("done", "")
    return await run_in_threadpool(_page, request, staff, number, 200, "", done)


def _file(service: Any, actor: Any, number: str, upload_id: str) -> Response:
    appeal = appeal_service.load(service, number)
    if appeal is None or not access.may_see_appeal(actor, appeal.row["handler"], service.catalogue.appeals_office()):
        raise HTTPException(404, gettext(appeal_service.NO_SUCH_APPEAL))
    return file_response(appeal, upload_id, service.db)


async def download(request: Request, staff: Staff) -> Response:
    """``GET /desk/appeals/NUMBER/files/UPLOAD``: a file sent with the appeal, for those who may see it."""
    number, upload_id = request.path_params["number"][:32], request.path_params["upload"][:64]
    return await run_in_threadpool(_file, deps(request).service, staff.actor, number, upload_id)


async def act(request: Request, staff: Staff) -> Response:
    """``POST /desk/appeals/NUMBER/act``: one action, with the version the page showed."""
    number = request.path_params["number"][:32]
    form = await request.form(max_files=0, max_fields=200)
    action = str(form.get("action", ""))[:16]
    try:
        version = int(str(form.get("version", ""))[:9])
    except ValueError:
        version = -1
    data = {k: str(form.get(k, ""))[:5000] for k in ("assignee", "department", "text", "verdict", "rating")}
    service = deps(request).service
    try:
        await run_in_threadpool(appeal_service.act, service, number, staff.actor, action, version, data)
    except ActionRefused as exc:
        if exc.code == "not_found":
            raise HTTPException(404, exc.message) from None
        status = {"forbidden": 403, "conflict": 409}.get(exc.code, 422)
        return await run_in_threadpool(_page, request, staff, number, status, exc.message)
    return RedirectResponse(f"/desk/appeals/{number}?done={action}", status_code=303)


def _record_page(request: Request, staff: Staff, status: int = 200, error: str = "", **ctx: Any) -> Response:
    service = deps(request).service
    if not access.may_record_appeal(staff.actor):
        raise HTTPException(403, gettext("您的角色不能登记诉求。"))
    return show(
        request, staff, "desk/appeal_record.html", status, error=error, limits=appeal_service.LIMITS,
        items=item_choices(service), **{"values": {}, "number": "", "code": "", **ctx, **_words(service), **FILES_FORM},
    )  # fmt: skip


async def record_form(request: Request, staff: Staff) -> Response:
    """``GET /desk/appeals/record``: the form a window clerk fills while on the phone or at the counter."""
    return await run_in_threadpool(_record_page, request, staff)


async def record(request: Request, staff: Staff) -> Response:
    """``POST /desk/appeals/record``: file it for the person; the number and query code to tell them."""
    form = await request.form()  # read by the staff guard already, files and all (staff_route's ``files``)
    values = {k: str(form.get(k, ""))[:5000] for k in (*FIELDS, "channel")}
    service = deps(request).service
    files, problem = await sent_files(form)
    if problem:
        return await run_in_threadpool(_record_page, request, staff, 422, problem, values=values)
    attach = storer(request, files, Owner())  # staff: an office shares one address, so no address limits
    try:
        number, code = await run_in_threadpool(
            appeal_service.file, service, appeal_service.Filing(**values), staff.actor, attach
        )
    except ActionRefused as exc:
        status = 403 if exc.code == "forbidden" else 422
        return await run_in_threadpool(_record_page, request, staff, status, exc.message, values=values)
    return await run_in_threadpool(_record_page, request, staff, 200, "", number=number, code=code)


ROUTES: list[Route] = [  # who may use each: engine.service.access.ROUTES
    staff_route("GET", "/desk/appeals", listing),
    staff_route("GET", "/desk/appeals/record", record_form),
    staff_route("POST", "/desk/appeals/record", record, files=appeal_service.MAX_UPLOADS + 1),
    staff_route("GET", "/desk/appeals/{number}", page),
    staff_route("POST", "/desk/appeals/{number}/act", act),
    staff_route("GET", "/desk/appeals/{number}/files/{upload}", download),
]
