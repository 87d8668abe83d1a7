"""Approval chains: ``POST /api/chains`` (one application for every item of a chain, engine.service.chains)
and ``GET /api/chains/{number}`` (its state, stage by stage)."""

from __future__ import annotations

import hashlib
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from engine.base.i18n import N_
from engine.base.i18n import gettext as _
from engine.ledger.db import dumps
from engine.service import access, filing_limits, provisional
from engine.service import chains as chain_service
from engine.service.cases import SubmissionInvalid, UnknownCase
from engine.web.api.cases import upload_errors
from engine.web.api.common import (
    APPLICANT,
    NOT_FOUND_FOR_APPLICANT,
    application,
    bearer,
    check_query_code,
    iso,
    json_body,
    refuse,
    staff_of,
    string,
)
from engine.web.api.uploads import claimed
from engine.web.deps import deps
from engine.web.errors import ApiError

NO_CHAIN = N_("没有这个审批链条：{chain}")


async def chain_create(request: Request) -> Response:
    body = await json_body(request)
    chain_id = string(body, "chain", 64)
    key, data, files = application(body)  # chain uploads are keyed by material name
    d = deps(request)
    service = d.service

    def work() -> Any:
        actor = (staff_of(request) if bearer(request) else None) or APPLICANT
        owner, draft_key = claimed(request, body, files, chain=True)
        if chain_id not in service.catalogue.chains:
            raise ApiError(404, "not_found", _(NO_CHAIN).format(chain=chain_id))
        bad = upload_errors(service, [{"id": k, "name": k} for k in files], files, owner)
        if bad:
            raise SubmissionInvalid(bad)
        scope = dumps({"key": key, "chain": chain_id, "by": actor.username})
        scoped = draft_key or hashlib.sha256(scope.encode()).hexdigest()
        filer = filing_limits.of(request, d.limits) if actor is APPLICANT else None  # staff: not limited
        return chain_service.submit(service, chain_id, data, files, actor, scoped, filer)

    done = await run_in_threadpool(work)
    return JSONResponse(
        {"number": done.number, "query_code": done.query_code, "members": list(done.members)}, status_code=201
    )


async def chain_get(request: Request) -> Response:
    number = request.path_params["number"]
    service = deps(request).service
    staff = await run_in_threadpool(staff_of, request)

    def work() -> dict[str, Any]:
        code = request.query_params.get("query_code", "")
        if not access.may_see_chain(staff):
            if not code:
                raise refuse(staff)
            check_query_code(request, number, code)  # before the look-up: numbers cannot be probed
        try:
            st = chain_service.state(service, number)
        except UnknownCase:  # the same answer as a wrong query code: numbers cannot be probed
            raise ApiError(404, "not_found", _(NOT_FOUND_FOR_APPLICANT)) from None
        return {
            "number": st.number,
            "chain": st.chain_id,
            "state": st.state,
            "stage": st.stage,
            "due": iso(st.due),
            "provisional": ["due"] if provisional.is_provisional(st.due, service.calendar.provisional_from) else [],
            "light": st.light,
            "holding_stage": st.holding,
            "stages": [
                {"id": sid, "cases": [{"item": c, "number": n, "state": s} for c, n, s in members]}
                for sid, members in st.members.items()
            ],
        }

    return JSONResponse(await run_in_threadpool(work))
