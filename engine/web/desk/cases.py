"""The staff desk (工作台): the worklist, a case's page, and acting on it.

Which actions a person is offered is decided by the engine's own rules (engine.web.desk.actions).
Every page is a staff page (engine.web.desk.staff): signed in, role-checked, every form carrying
the session's CSRF token; a case the person may not see is answered as one that does not exist.
Handlers reach the catalogue version through ``engine.web.deps.deps(request)``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import FileResponse, HTMLResponse, RedirectResponse, Response
from starlette.routing import Route

from engine.base import input_guard, stated, wording
from engine.base.i18n import gettext
from engine.ledger.db import read_only
from engine.ledger.errors import VersionConflict
from engine.ledger.events import events_of
from engine.rules.cases.law import completeness_lapsed
from engine.rules.cases.model import ActionRefused, Actor, Case, FeeMismatch, Timing
from engine.rules.cases.steps import open_steps, steps_of
from engine.rules.forms import field_specs
from engine.service import access, appeal_lists, documents, uploads, worklist
from engine.service import chains as chain_service
from engine.service.cases import CaseService, SubmissionInvalid, UnknownCase
from engine.supervision.counts import lights_of
from engine.web.deps import deps
from engine.web.desk.actions import available, payload_from
from engine.web.desk.staff import Staff, show, staff_route
from engine.web.desk.words import (
    accept_hint,
    decide_hint,
    done_text,
    step_hints,
    typed_input,
    unticked_reasons,
    what_next,
)
from engine.web.portal.form_view import answer_text


def warning_days(service: CaseService) -> int:
    """How many working days before a deadline its light turns yellow (the center's supervision)."""
    return int((service.catalogue.center or {}).get("supervision", {}).get("warning_working_days", 1))


def departments(service: CaseService) -> dict[str, Any]:
    return {d["id"]: d for d in (service.catalogue.center or {}).get("departments", [])}


async def worklist_page(request: Request, staff: Staff) -> Response:
    """``GET /desk``: the open cases waiting on this person, by item and state."""
    service = deps(request).service
    item = request.query_params.get("item", "") or None
    state = request.query_params.get("state", "")
    states = [state] if state in worklist.OPEN_STATES else list(worklist.OPEN_STATES)
    rows = await run_in_threadpool(
        worklist.for_actor, service.db, staff.actor, service.clock.now(), service.calendar, warning_days(service),
        item_code=item, states=states,
    )  # fmt: skip
    mine = sorted({r.item_code for r in rows} | ({item} if item else set()))
    return show(
        request, staff, "desk/worklist.html", rows=rows, items=service.catalogue.items, chosen_item=item or "",
        chosen_state=state, states={k: wording.state(k) for k in wording.STATES}, open_states=worklist.OPEN_STATES,
        item_codes=mine, local=wording.local_time, wording=wording, departments=departments(service),
    )  # fmt: skip


def visible(service: CaseService, actor: Actor, number: str) -> tuple[Case, dict[str, Any]]:
    """The case and its snapshot if this person may see it (engine.service.access); a case they may
    not see is answered as one that does not exist, so its number tells them nothing."""
    try:
        case, snap = service.load(number)
    except UnknownCase:
        raise HTTPException(404, gettext("没有这个办件。")) from None
    if not access.may_see(actor, case):
        raise HTTPException(404, gettext("没有这个办件。"))
    return case, snap


def data_rows(case: Case, snap: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The case's answers as the applicant saw them on the check page: labels, and amounts in their unit."""
    frozen = field_specs(snap["item"], snap.get("forms", {}))  # the form the case was filed under
    return [
        {
            "section": section,
            "label": str(frozen[f"{section}.{k}"]["label"]) if f"{section}.{k}" in frozen else k,
            "value": answer_text(frozen[f"{section}.{k}"], v) if f"{section}.{k}" in frozen else v,
        }
        for section, values in case.data.items()
        for k, v in (values.items() if isinstance(values, Mapping) else [])
    ]


def case_context(service: CaseService, actor: Actor, number: str) -> dict[str, Any]:
    """Everything the case page shows this person: the case, its record, deadlines, files, documents,
    lights, and the actions they may take now."""
    case, snap = visible(service, actor, number)
    item = snap["item"]
    with read_only(service.db) as conn:
        records = events_of(conn, number)
    try:
        due = service.deadlines(case, snap)
    except LookupError:
        due = None
    now = service.clock.now()
    timing = Timing(due.completeness, due.legal) if due else None
    steps = steps_of(item)
    actions = available(case, item, actor, now, timing)
    delivery = worklist.light(due.delivery if due else None, now, service.calendar, warning_days(service), False)
    return {
        "step_names": wording.step_names(steps),
        "hints": step_hints(steps),
        "accept_hint": accept_hint(steps),
        "decide_hint": decide_hint(steps),
        "what_next": what_next(case, item, actions),
        "case": case,
        "item": item,
        "state": wording.state(case.state),
        "records": records,
        "due": due,
        "local": wording.local_time,
        "wording": wording,
        "data_rows": data_rows(case, snap),
        "files": uploads.fetch(service.db, access.case_uploads(case, records)),
        "materials": {m["id"]: m for m in stated.materials(item)},
        "open_steps": open_steps(case, item),
        "actions": actions,
        "lapsed": completeness_lapsed(case, timing, now),
        "delivery_light": delivery[0],
        "documents": documents.documents_for(case, snap, service.catalogue.center, due, records),
        "lights": lights_of(service.db, number),
        "department": departments(service).get(case.department, {}),
        # requests and complaints naming this case (engine.service.appeals): listed; opened by who may see them
        "appeals": [
            {
                **a,
                "kind_label": service.catalogue.appeal_kinds().get(a["kind"], {}).get("label", a["kind"]),
                "open": access.may_see_appeal(actor, a["handler"], service.catalogue.appeals_office()),
            }
            for a in appeal_lists.for_case(service, number)
        ],
    }


async def case_page(request: Request, staff: Staff) -> Response:
    """``GET /desk/cases/NUMBER``: the case, and the forms of what this person may do to it now."""
    number = request.path_params["number"]
    ctx = await run_in_threadpool(case_context, deps(request).service, staff.actor, number)
    done = request.query_params.get("done", "")
    flash = done_text(done, ctx["records"], ctx["step_names"]) if done in wording.ACTIONS else ""
    return show(request, staff, "desk/case.html", **ctx, flash=flash, error="", typed={})


async def act(request: Request, staff: Staff) -> Response:
    """``POST /desk/cases/NUMBER/act``: one action on the case, then its page (with why not, if refused)."""
    form = await request.form(max_files=0, max_fields=200)
    return await run_in_threadpool(act_now, request, staff, form)


def act_now(request: Request, staff: Staff, form: FormData) -> Response:
    """The action of ``form`` on the case (in a worker thread): to the case page, or it again with the
    refusal and what the person typed."""
    service = deps(request).service
    number, actor = request.path_params["number"], staff.actor
    action, version = str(form.get("action", "")), str(form.get("version", ""))
    _, snap = visible(service, actor, number)  # before anything about the form is said
    if input_guard.whole(version) is None:
        raise HTTPException(400, gettext("表单缺少办件版本，请刷新页面后重试。"))
    payload = payload_from(action, form, snap["item"])
    status, error = 200, ""
    unused = unticked_reasons(action, form, snap["item"])
    try:
        if action == "decide" and payload["outcome"] not in ("approve", "deny"):
            raise ActionRefused("invalid", gettext("请选择决定：“准予”或“不予准予”，再提交。"))
        if unused:
            raise ActionRefused(
                "invalid",
                gettext("未勾选的材料填写的说明未被采用：%(names)s。请勾选这些材料，或删去其说明后再发出补正告知。")
                % {"names": "、".join(unused)},
            )
        chain_service.after_member_action(service, service.act(number, action, actor, payload, int(version)))
        return RedirectResponse(f"/desk/cases/{number}?done={action}", status_code=303)
    except VersionConflict:
        status, error = 409, gettext("本件刚刚被他人办理，页面已更新为最新状态，请核对后再操作。")
    except FeeMismatch as exc:
        status, error = 422, str(exc)
    except ActionRefused as exc:
        status = 403 if exc.code == "forbidden" else 422
        error = str(exc)
    except SubmissionInvalid as exc:
        status, error = 422, gettext("；").join(e.text() for e in exc.errors)  # in the page's language
    ctx = case_context(service, actor, number)
    return show(request, staff, "desk/case.html", status, **ctx, flash="", error=error, typed=typed_input(form))


def find_file(service: CaseService, actor: Actor, number: str, upload_id: str) -> Response:
    """An uploaded file of the case, if this person may fetch it (engine.service.access), as an attachment
    named after its material (never the client's name, e.g. evil.html) with the sniffed type's extension,
    served as that type: nothing uploaded renders in the desk."""
    case, snap = visible(service, actor, number)
    with read_only(service.db) as conn:
        records = events_of(conn, number)
    allowed = access.may_fetch_upload(actor, case, records, upload_id)
    row = uploads.fetch(service.db, {upload_id}).get(upload_id) if allowed else None
    if row is None:
        raise HTTPException(404, gettext("本件没有这个文件。"))
    materials = {m["id"]: m for m in stated.materials(snap["item"])}
    given = [case.uploads] + [r.payload.get("uploads", {}) for r in records if r.action == "supplement"]
    material, index = next(
        ((m, ids.index(upload_id)) for sent in given for m, ids in sent.items() if upload_id in ids), ("", 0)
    )
    label = str(materials.get(material, {}).get("name") or material or gettext("材料"))
    name = uploads.served_name(label, row.content_type, index)
    response = FileResponse(row.path, media_type=uploads.served_type(row.content_type))
    response.headers["Content-Disposition"] = uploads.content_disposition(name, f"{upload_id}.{row.format}")
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response


async def file(request: Request, staff: Staff) -> Response:
    """``GET /desk/cases/NUMBER/files/UPLOAD``: a file the applicant sent."""
    number, upload_id = request.path_params["number"], request.path_params["upload"]
    return await run_in_threadpool(find_file, deps(request).service, staff.actor, number, upload_id)


async def document(request: Request, staff: Staff) -> Response:
    """``GET /desk/cases/NUMBER/documents/INDEX``: one of the case's documents (notices, decisions)."""
    service = deps(request).service
    number, index = request.path_params["number"], request.path_params["index"]
    ctx = await run_in_threadpool(case_context, service, staff.actor, number)
    docs = ctx["documents"]
    at = input_guard.whole(index)
    if at is None or not 0 <= at < len(docs):
        raise HTTPException(404, gettext("没有这份文书。"))
    return HTMLResponse(documents.render(docs[int(index)], service.catalogue.center))


async def proxy(request: Request, staff: Staff) -> Response:
    """``GET /desk/proxy?item=CODE``: file for an applicant (代办) on the portal's own pages."""
    code = request.query_params.get("item", "")
    if code not in deps(request).service.catalogue.items:
        raise HTTPException(404, gettext("没有这个事项。"))
    return RedirectResponse(f"/apply/{code}", status_code=303)


ROUTES: list[Route] = [  # who may use each: engine.service.access.ROUTES
    staff_route("GET", "/desk/proxy", proxy),
    staff_route("GET", "/desk", worklist_page),
    staff_route("GET", "/desk/cases/{number}", case_page),
    staff_route("POST", "/desk/cases/{number}/act", act),
    staff_route("GET", "/desk/cases/{number}/files/{upload}", file),
    staff_route("GET", "/desk/cases/{number}/documents/{index}", document),
]
