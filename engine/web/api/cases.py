"""Cases: ``POST /api/cases`` (file an application), ``GET /api/cases/{number}`` (staff see the whole
case, the holder of its query code the applicant's view) and ``POST /api/cases/{number}/actions``
(an action on the case at the version the client read; engine.rules.cases judges it).
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Mapping, Sequence
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from engine.base import stated
from engine.base.i18n import N_
from engine.base.i18n import gettext as _
from engine.base.money import amounts
from engine.ledger.db import dumps, read_only
from engine.ledger.events import events_of
from engine.rules import forms
from engine.rules.cases.steps import open_steps
from engine.rules.forms import FieldError
from engine.service import chains as chain_service
from engine.service import filing_limits
from engine.service import uploads as uploads_
from engine.service.cases import CaseService, SubmissionInvalid
from engine.service.upload_limits import Owner
from engine.web.api.common import (
    APPLICANT,
    APPLICANT_ACTIONS,
    SYSTEM_ACTIONS,
    application,
    bearer,
    check_query_code,
    field_errors,
    iso,
    json_body,
    refuse,
    staff_may_see,
    staff_of,
    string,
    uploads_map,
)
from engine.web.api.uploads import claimed
from engine.web.deps import deps
from engine.web.errors import ApiError

log = logging.getLogger("yangguang.api")

NO_ITEM = N_("没有这个事项：{code}")
NEED_VERSION = N_("请提供读取时的 version（整数）。")
PAYLOAD_OBJECT = N_("payload 须为对象。")
SYSTEM_ONLY = N_("视为受理由系统按时限自动作出。")
APPLICANT_ONLY = N_("申请人只能补正或评价。")
SUPPLEMENT_ONLY = N_("补正只能提交材料（uploads）、更正的表单（data）和说明（note）。")
#: the same words as a portal submission naming a material the item does not have (engine.rules.forms)
NO_MATERIAL = N_("本事项没有“%(material)s”这项材料，请删除该上传后重新提交")
_PLAIN = (
    "state version deemed_accepted paused missing assessment paid_fen decision decision_reason "
    "refusal_reason extended evaluation"
).split()


def _deadlines(service: CaseService, case: Any, snap: Mapping[str, Any], number: str) -> dict[str, Any]:
    try:
        dl = service.deadlines(case, snap)
    except LookupError:  # a year no rule counts (before the first calendar file); say so in the log
        log.warning("no calendar for a deadline of case %s", number, exc_info=True)
        return {"completeness": None, "promised": None, "legal": None, "delivery": None, "provisional": []}
    dates = {"completeness": dl.completeness, "promised": dl.promised, "legal": dl.legal}
    dates["delivery"] = dl.delivery  # Art. 44: issue or deliver a granted licence by then
    # the dates counted by the provisional holiday rule (暂定: next year's notice is not out yet)
    marked = [k for k, v in dates.items() if dl.is_provisional(v)]
    return {k: iso(v) for k, v in dates.items()} | {"provisional": marked}


def view(service: CaseService, number: str, staff: bool) -> dict[str, Any]:
    """The case as JSON: the applicant's view, or with ``staff`` its data, uploads and fee anomalies too."""
    case, snap = service.load(number)
    item = snap["item"]
    with read_only(service.db) as conn:
        records = events_of(conn, number)
    out: dict[str, Any] = {
        "number": case.number,
        "item": {"code": item["code"], "name": item["name"], "department": item["department"]},
        **{k: getattr(case, k) for k in _PLAIN},
        "received_at": iso(case.received_at),
        "accepted_at": iso(case.accepted_at),
        "open_steps": [{k: s.get(k) for k in ("id", "name", "role")} for s in open_steps(case, item)],
        "deadlines": _deadlines(service, case, snap, number),
        "events": [
            {"action": r.action, "at": iso(r.at_datetime), "role": r.role} | ({"actor": r.actor} if staff else {})
            for r in records
        ],
    }
    if staff:
        out.update(data=case.data, uploads=case.uploads, fee_anomalies=case.fee_anomalies)
        out["money"] = amounts(case.data, forms.money_units(item, snap.get("forms", {})))
        out["areas"] = forms.area_answers(case.data, item, snap.get("forms", {}))  # a name beside each code
    return json.loads(json.dumps(out, ensure_ascii=False, default=str))  # type: ignore[no-any-return]


def upload_errors(
    service: CaseService,
    materials: Sequence[Mapping[str, Any]],
    uploads: Mapping[str, list[str]],
    owner: Owner,
) -> list[FieldError]:
    return uploads_.material_errors(service.db, materials, uploads, owner)


async def case_create(request: Request) -> Response:
    body = await json_body(request)
    item_code = string(body, "item", 128)
    key, data, uploads = application(body)
    d = deps(request)
    service, cat = d.service, d.service.catalogue

    def work() -> Any:  # one worker thread for the whole request: each hop costs under load
        actor = (staff_of(request) if bearer(request) else None) or APPLICANT
        owner, draft_key = claimed(request, body, uploads)
        doc = cat.items.get(item_code)
        if doc is None:
            raise ApiError(404, "not_found", _(NO_ITEM).format(code=item_code))
        service.ensure_available(item_code)  # suspended, cancelled, or its materials not stated: 409
        bad = upload_errors(service, stated.materials(cat.data(doc)), uploads, owner)
        if bad:
            _valid, errors = forms.validate(cat, doc, data, uploads)
            raise SubmissionInvalid([*errors, *bad])
        # the key is scoped to the request: a retry finds its case, nobody else's key reveals one;
        # a draft files one application, under its own key (the sweep keeps a filed draft's files)
        scope = dumps({"key": key, "item": item_code, "data": data, "up": uploads, "by": actor.username})
        scoped = draft_key or "api:" + hashlib.sha256(scope.encode()).hexdigest()
        filer = filing_limits.of(request, d.limits) if actor is APPLICANT else None  # staff: not limited
        return service.submit(item_code, data, uploads, actor, scoped, filer=filer)

    done = await run_in_threadpool(work)
    return JSONResponse(
        {"number": done.number, "query_code": done.query_code, "version": done.version},
        status_code=201 if done.created else 200,
    )


async def case_get(request: Request) -> Response:
    number = request.path_params["number"]
    service = deps(request).service
    staff = await run_in_threadpool(staff_of, request)
    query_code = request.query_params.get("query_code")

    def work() -> dict[str, Any]:
        if staff_may_see(service, staff, number):
            return view(service, number, True)
        if not query_code:  # staff of another department: as if there were no such case
            raise refuse(staff)
        check_query_code(request, number, query_code)  # whoever holds the code reads the applicant's view
        return view(service, number, False)

    return JSONResponse(await run_in_threadpool(work))


async def _action_request(request: Request) -> tuple[str, int, dict[str, Any], dict[str, Any]]:
    """(action, version, payload, body) of an action's body, or 422 for each bad part."""
    body = await json_body(request)
    action = string(body, "action", 64)
    version = body.get("version")
    if not isinstance(version, int) or isinstance(version, bool):
        raise field_errors(("version", "required", _(NEED_VERSION)))
    payload = body.get("payload", {})
    if not isinstance(payload, dict):
        raise field_errors(("payload", "invalid", _(PAYLOAD_OBJECT)))
    return action, version, payload, body


async def case_action(request: Request) -> Response:
    number = request.path_params["number"]
    action, version, payload, body = await _action_request(request)
    service = deps(request).service
    found = await run_in_threadpool(staff_of, request)
    # staff act only on cases they may see (engine.service.access); cases.decide judges the action itself
    staff = found if await run_in_threadpool(staff_may_see, service, found, number) else None
    if action in SYSTEM_ACTIONS:
        raise ApiError(403, "forbidden", _(SYSTEM_ONLY))
    if staff is None:
        query_code = body.get("query_code")
        if not isinstance(query_code, str) or not query_code:
            raise refuse(found)
        await run_in_threadpool(check_query_code, request, number, query_code)
        if action not in APPLICANT_ACTIONS:
            raise ApiError(403, "forbidden", _(APPLICANT_ONLY))
    actor = staff or APPLICANT

    def work() -> dict[str, Any]:
        p = dict(payload)
        if action == "supplement":
            p = checked_supplement(service, number, p)
        chain_service.after_member_action(service, service.act(number, action, actor, p, version))
        return view(service, number, staff is not None)

    return JSONResponse(await run_in_threadpool(work))


def checked_supplement(service: CaseService, number: str, payload: dict[str, Any]) -> dict[str, Any]:
    """A supplement's payload: only uploads, data and note; its uploads made for this case."""
    extra = sorted(set(payload) - {"uploads", "note", "data"})
    if extra:
        raise field_errors(*((f"payload.{k}", "unknown_field", _(SUPPLEMENT_ONLY)) for k in extra))
    uploads = uploads_map(payload.get("uploads"), "payload.uploads")
    _case, snap = service.load(number)
    materials = stated.materials(snap["item"])
    known = {m["id"] for m in materials}
    errors = [
        forms.field_error(f"{forms.MATERIALS}.{k}", "unknown_field", NO_MATERIAL, material=k)
        for k in uploads
        if k not in known
    ]
    errors += upload_errors(service, materials, uploads, Owner(case=number))  # uploaded for this case
    if errors:
        raise SubmissionInvalid(errors)
    return {
        "uploads": uploads,
        **({"note": str(payload["note"])} if "note" in payload else {}),
        **({"data": payload["data"]} if "data" in payload else {}),
    }
