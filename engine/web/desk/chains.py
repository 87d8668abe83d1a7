"""The front desk's chain applications (统一受理) and the green channel's supervision cards.

``/desk/chains`` lists the chain applications waiting for unified acceptance — accepted with one
click, optionally straight into the green channel — and the running ones with the stage holding
each up, its promised date and light. A running application can be put in the green channel
later (a project named a key project after it applied). ``/desk/chains/{number}/card`` is the
printable supervision card (效能督办卡, engine.service.green_channel).
"""

from __future__ import annotations

from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from engine.base import wording
from engine.base.i18n import N_, gettext
from engine.rules.cases.model import ActionRefused
from engine.service import chains as chain_service
from engine.service import green_channel
from engine.service.cases import UnknownCase
from engine.web.deps import deps
from engine.web.desk.staff import Staff, show, staff_route

NO_SUCH_CHAIN = N_("没有这份链条申请。")


def listing(request: Request, staff: Staff, status: int = 200, **extra: Any) -> Response:
    """The chain applications waiting for unified acceptance and the running ones."""
    service = deps(request).service
    return show(
        request, staff, "desk/chains.html", status, rows=chain_service.waiting(service),
        running=chain_service.running(service), chains=service.catalogue.chains, local=wording.local_time,
        **{"flash": "", "error": "", "error_number": "", **extra},
    )  # fmt: skip


def refused(request: Request, staff: Staff, number: str, exc: ActionRefused) -> Response:
    status = 403 if exc.code == "forbidden" else 422
    return listing(request, staff, status, error=exc.message, error_number=number)


async def chain_list(request: Request, staff: Staff) -> Response:
    """``GET /desk/chains``."""
    flash = request.query_params.get("done", "")  # the template words it
    return await run_in_threadpool(listing, request, staff, 200, flash=flash)


async def chain_accept(request: Request, staff: Staff) -> Response:
    """``POST /desk/chains/NUMBER/accept``: unified acceptance, optionally into the green channel."""
    form = await request.form(max_files=0, max_fields=200)
    return await run_in_threadpool(accept_now, request, staff, form)


def accept_now(request: Request, staff: Staff, form: FormData) -> Response:
    service, number = deps(request).service, request.path_params["number"]
    green = form.get("green_channel") == "yes"
    basis = str(form.get("green_basis", ""))
    try:
        if green and not " ".join(basis.split()):  # checked before anything changes
            raise ActionRefused("invalid", gettext("请填写列入重点项目的依据（如重点项目名单的文件名称）"))
        chain_service.accept(service, number, staff.actor)
        if green:
            green_channel.mark(service, number, staff.actor, basis)
    except ActionRefused as exc:
        return refused(request, staff, number, exc)
    except UnknownCase:
        raise HTTPException(404, gettext(NO_SUCH_CHAIN)) from None
    return RedirectResponse(f"/desk/chains?done={'green' if green else 'accepted'}", status_code=303)


async def chain_green(request: Request, staff: Staff) -> Response:
    """``POST /desk/chains/NUMBER/green-channel``: a running application into the green channel."""
    form = await request.form(max_files=0, max_fields=200)
    return await run_in_threadpool(green_now, request, staff, form)


def green_now(request: Request, staff: Staff, form: FormData) -> Response:
    service, number = deps(request).service, request.path_params["number"]
    try:
        green_channel.mark(service, number, staff.actor, str(form.get("green_basis", "")))
    except ActionRefused as exc:
        return refused(request, staff, number, exc)
    except UnknownCase:
        raise HTTPException(404, gettext(NO_SUCH_CHAIN)) from None
    return RedirectResponse("/desk/chains?done=green", status_code=303)


async def chain_card(request: Request, staff: Staff) -> Response:
    """``GET /desk/chains/NUMBER/card``: the printable supervision card of a green-channel application."""
    number = request.path_params["number"]
    try:
        found = await run_in_threadpool(green_channel.card, deps(request).service, number)
    except UnknownCase:
        raise HTTPException(404, gettext(NO_SUCH_CHAIN)) from None
    if found is None:
        raise HTTPException(404, gettext("这份链条申请不在绿色通道中，没有效能督办卡。"))
    return show(request, staff, "desk/card.html", card=found, local=wording.local_time)


ROUTES: list[Route] = [  # who may use each: engine.service.access.ROUTES
    staff_route("GET", "/desk/chains", chain_list),
    staff_route("POST", "/desk/chains/{number}/accept", chain_accept),
    staff_route("POST", "/desk/chains/{number}/green-channel", chain_green),
    staff_route("GET", "/desk/chains/{number}/card", chain_card),
]
