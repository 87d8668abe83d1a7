"""Staff sessions: ``POST /api/session`` (log in: a bearer token) and ``DELETE /api/session`` (log out).

Applicants have no accounts: they submit without a token and reach their case with its query code.
"""

from __future__ import annotations

import functools

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from engine.base import addresses
from engine.base.i18n import N_
from engine.base.i18n import gettext as _
from engine.service import auth
from engine.web.api.common import bearer, iso, json_body, staff_of, string
from engine.web.deps import deps
from engine.web.errors import ApiError

NO_TOKEN = N_("请在 Authorization 中发送登录令牌（Bearer）。")


async def session_create(request: Request) -> Response:
    body = await json_body(request)
    username, password = string(body, "username", 64), string(body, "password", 1024)
    service = deps(request).service
    start = functools.partial(auth.start_session, client=addresses.of(request))
    s = await run_in_threadpool(start, service.db, username, password, service.clock.now())
    a = s.actor
    session = {"token": s.token, "username": a.username, "role": a.role, "department": a.department}
    return JSONResponse(session | {"backup_for": a.backup_role, "expires_at": iso(s.expires_at)})


async def session_delete(request: Request) -> Response:
    token = bearer(request)
    if token is None:
        raise ApiError(401, "unauthorized", _(NO_TOKEN))
    await run_in_threadpool(staff_of, request)  # an unknown or expired token: 401, as everywhere
    await run_in_threadpool(auth.logout, deps(request).service.db, token)
    return Response(status_code=204)


async def session(request: Request) -> Response:
    """One route for the path, so a 405 answers Allow with both of its methods."""
    return await (session_delete if request.method == "DELETE" else session_create)(request)
