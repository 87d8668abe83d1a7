"""The front desk's chain applications (统一受理) and the green channel's supervision cards.

``/desk/chains`` lists the chain applications waiting for unified acceptance — accepted with one
click, optionally straight into the green channel — and the running ones with the stage holding
each up, its promised date and light. A running application can be put in the green channel
later (a project named a key project after it applied). ``/desk/chains/{number}/card`` is the
printable supervision card (效能督办卡, engine.service.green_channel).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from engine.rules.cases.model import ActionRefused, Actor
from engine.service import chains as chain_service
from engine.service import green_channel
from engine.service.cases import CaseService, UnknownCase
from engine.web import desk_nav
from engine.web.desk import guarded_route, staff_csrf
from engine.web.progress import local

Render = Callable[..., Response]


def desk_chain_routes(service: CaseService, render: Render, key: bytes) -> list[Route]:
    cat = service.catalogue

    def show(template: str, token: str, status: int = 200, **ctx: Any) -> Response:
        nav = desk_nav.links(service, ctx.get("actor"))
        response = render(template, status=status, csrf=staff_csrf(key, token), nav=nav, **ctx)
        response.headers["Cache-Control"] = "no-store"
        return response

    def listing(actor: Actor, token: str, status: int = 200, **extra: Any) -> Response:
        return show(
            "desk/chains.html", token, status, actor=actor, rows=chain_service.waiting(service),
            running=chain_service.running(service), chains=cat.chains, local=local,
            **{"flash": "", "error": "", "error_number": "", **extra},
        )  # fmt: skip

    async def chain_list(request: Request, actor: Actor, token: str) -> Response:
        flash = request.query_params.get("done", "")  # the template words it
        return await run_in_threadpool(listing, actor, token, 200, flash=flash)

    def refused(actor: Actor, token: str, number: str, exc: ActionRefused) -> Response:
        status = 403 if exc.code == "forbidden" else 422
        return listing(actor, token, status, error=str(exc).split(" / ")[0], error_number=number)

    async def chain_accept(request: Request, actor: Actor, token: str) -> Response:
        number = request.path_params["number"]
        form = await request.form(max_files=0, max_fields=200)
        green = form.get("green_channel") == "yes"
        basis = str(form.get("green_basis", ""))

        def work() -> Response:
            try:
                if green and not " ".join(basis.split()):  # checked before anything changes
                    raise ActionRefused("invalid", "请填写列入重点项目的依据（如重点项目名单的文件名称）")
                chain_service.accept(service, number, actor)
                if green:
                    green_channel.mark(service, number, actor, basis)
            except ActionRefused as exc:
                return refused(actor, token, number, exc)
            except UnknownCase:
                raise HTTPException(404, "没有这份链条申请。") from None
            return RedirectResponse(f"/desk/chains?done={'green' if green else 'accepted'}", status_code=303)

        return await run_in_threadpool(work)

    async def chain_green(request: Request, actor: Actor, token: str) -> Response:
        number = request.path_params["number"]
        form = await request.form(max_files=0, max_fields=200)

        def work() -> Response:
            try:
                green_channel.mark(service, number, actor, str(form.get("green_basis", "")))
            except ActionRefused as exc:
                return refused(actor, token, number, exc)
            except UnknownCase:
                raise HTTPException(404, "没有这份链条申请。") from None
            return RedirectResponse("/desk/chains?done=green", status_code=303)

        return await run_in_threadpool(work)

    async def chain_card(request: Request, actor: Actor, token: str) -> Response:
        number = request.path_params["number"]
        try:
            found = await run_in_threadpool(green_channel.card, service, number)
        except UnknownCase:
            raise HTTPException(404, "没有这份链条申请。") from None
        if found is None:
            raise HTTPException(404, "这份链条申请不在绿色通道中，没有效能督办卡。")
        return show("desk/card.html", token, actor=actor, card=found, local=local)

    return [  # who may use each: engine.service.access.ROUTES
        guarded_route(service, key, "GET", "/desk/chains", chain_list),
        guarded_route(service, key, "POST", "/desk/chains/{number}/accept", chain_accept),
        guarded_route(service, key, "POST", "/desk/chains/{number}/green-channel", chain_green),
        guarded_route(service, key, "GET", "/desk/chains/{number}/card", chain_card),
    ]
