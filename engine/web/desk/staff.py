"""Who is signed in on the staff side, and the one way every staff page is guarded and rendered.

The session is an HttpOnly, SameSite=Strict cookie (:data:`STAFF_COOKIE`) holding the opaque token of
engine.service.auth. Every staff page — the desk, the chain applications, supervision, admin — is
routed with :func:`staff_route`: without a session the visitor is sent to the login page; every POST
must carry the session's CSRF token (engine.web.csrf, purpose ``staff``); and the role that
engine.service.access.ROUTES names for the route is required (403). A rule about a case is the
handler's to apply, with the case (``access.may_see``).
"""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from engine.base.i18n import gettext
from engine.rules.cases.model import Actor
from engine.service import access, auth, uploads
from engine.service.cases import CaseService
from engine.web import csrf
from engine.web.deps import deps
from engine.web.desk import nav

STAFF_COOKIE = "yg_staff"


@dataclass(frozen=True, slots=True)
class Staff:
    """The signed-in member of staff a guarded handler serves."""

    actor: Actor
    token: str  # the session's token: their forms' CSRF tokens are bound to it


StaffHandler = Callable[[Request, Staff], Awaitable[Response]]
Endpoint = Callable[[Request], Awaitable[Response]]


def session(service: CaseService, request: Request) -> Staff | None:
    """The signed-in staff member of a request, or None."""
    token = request.cookies.get(STAFF_COOKIE, "")
    actor = auth.actor_for_token(service.db, token, service.clock.now()) if token else None
    return Staff(actor, token) if actor is not None else None


def signed_in(request: Request) -> Actor | None:
    """The signed-in staff member of a request, for other parts of the site: ``Deps.staff_of`` (the
    portal's proxy filing, 代办)."""
    found = session(deps(request).service, request)
    return found.actor if found else None


class _TooLarge(Exception):
    pass


def guarded(handler: StaffHandler, rule: access.Rule | None = None, files: int = 0) -> Endpoint:
    """``handler`` behind a signed-in session (else to the login page), the CSRF token on every POST,
    and — with a role ``rule`` of engine.service.access — the role it names (else 403). A form of a route
    that takes ``files`` files is read with them, at most ``files`` × the uploads' file size (else 413)."""

    @functools.wraps(handler)
    async def endpoint(request: Request) -> Response:
        d = deps(request)
        found = await run_in_threadpool(session, d.service, request)
        if found is None:
            target = quote(request.url.path + (f"?{request.url.query}" if request.url.query else ""))
            return RedirectResponse(f"/desk/login?next={target}", status_code=303)
        if rule is not None and rule.roles is not None and not rule.allows(found.actor):
            raise HTTPException(403, gettext("您的角色无权查看此页面。"))
        if request.method == "POST" and files:
            try:
                request = uploads.limited(request, files * uploads.MAX_UPLOAD + 256 * 1024, _TooLarge)
                form = await request.form(max_files=files, max_fields=200)  # kept: the handler reads it again
            except _TooLarge:
                raise HTTPException(413, gettext("上传的文件合计太大，请分几次上传。")) from None
            csrf.check(request, form, d.key, csrf.STAFF, found.token)
        elif request.method == "POST":
            form = await request.form(max_files=0, max_fields=200)  # kept by Starlette: the handler reads it again
            csrf.check(request, form, d.key, csrf.STAFF, found.token)
        return await handler(request, found)

    return endpoint


def staff_route(method: str, path: str, handler: StaffHandler, files: int = 0) -> Route:
    """A staff page's route, guarded by its rule in engine.service.access.ROUTES (KeyError: give the
    route a rule there first); a form that takes files says how many (``files``)."""
    return Route(path, guarded(handler, access.rule_for(method, path), files), methods=[method])


def show(
    request: Request, staff: Staff, template: str, status: int = 200, *, links: bool = True, **ctx: Any
) -> Response:
    """A staff page: the signed-in person, their forms' CSRF token, the links to their work heading the
    page (engine.web.desk.nav; none with ``links=False``), never cached."""
    d = deps(request)
    if links:
        ctx["nav"] = nav.links(d.service, staff.actor)
    token = csrf.token(d.key, csrf.STAFF, staff.token)  # bound to the session (engine.web.csrf)
    response = d.render(template, status=status, csrf=token, actor=staff.actor, **ctx)
    response.headers["Cache-Control"] = "no-store"
    return response


__all__ = [
    "STAFF_COOKIE",
    "Staff",
    "StaffHandler",
    "guarded",
    "session",
    "show",
    "signed_in",
    "staff_route",
]
