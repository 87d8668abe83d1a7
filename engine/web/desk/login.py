"""Signing in and out of the staff side (/desk/login, /desk/logout).

The login form's CSRF token is bound to the browser's cookie token (login CSRF: nobody can sign a
victim into the attacker's account from another site); a signed-in person lands on their own work
(engine.web.desk.nav) or the page they had asked for, never on another site.
"""

from __future__ import annotations

import functools
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from engine.base import addresses
from engine.service import auth
from engine.web import csrf
from engine.web.deps import deps
from engine.web.desk import nav
from engine.web.desk.staff import STAFF_COOKIE, Staff, staff_route
from engine.web.portal.browser import browser_token, remember_browser


def safe_next(target: str) -> str:
    """Only a path on this site (no scheme, no //host): never an open redirect."""
    return target if target.startswith("/") and not target.startswith("//") and "\\" not in target else ""


def login_form(request: Request, status: int = 200, **ctx: Any) -> Response:
    """The login page, its CSRF token tied to the browser cookie."""
    d = deps(request)
    browser, new = browser_token(request)
    response = d.render("desk/login.html", status=status, csrf=csrf.token(d.key, csrf.LOGIN, browser), **ctx)
    response.headers["Cache-Control"] = "no-store"
    return remember_browser(response, request, browser) if new else response


async def login_page(request: Request) -> Response:
    """``GET /desk/login``."""
    return login_form(request, next=safe_next(request.query_params.get("next", "")), error="")


async def login(request: Request) -> Response:
    """``POST /desk/login``: a session cookie and on to the person's work, or the form again with why not
    (401; 429 while the account or address is throttled, engine.service.auth)."""
    d = deps(request)
    form = await request.form(max_files=0, max_fields=10)
    browser, _ = browser_token(request)
    csrf.check(request, form, d.key, csrf.LOGIN, browser)
    username, password = str(form.get("username", ""))[:64], str(form.get("password", ""))[:1024]
    target = safe_next(str(form.get("next", "")))
    client = addresses.of(request)
    try:
        start = functools.partial(auth.start_session, client=client)
        session = await run_in_threadpool(start, d.service.db, username, password, d.service.clock.now())
    except auth.AuthError as exc:
        status = 429 if isinstance(exc, auth.LoginThrottled) else 401
        message = str(exc)
        return login_form(request, status, next=target, error=message, username=username)
    response = RedirectResponse(target or nav.landing(session.actor), status_code=303)
    response.set_cookie(
        STAFF_COOKIE,
        session.token,
        httponly=True,
        samesite="strict",
        secure=request.url.scheme == "https",
        path="/",
    )
    return response


async def logout(request: Request, staff: Staff) -> Response:
    """``POST /desk/logout``: the session ends and its cookie goes."""
    await run_in_threadpool(auth.logout, deps(request).service.db, staff.token)
    response = RedirectResponse("/desk/login", status_code=303)
    response.delete_cookie(STAFF_COOKIE, path="/")
    return response


ROUTES: list[Route] = [
    Route("/desk/login", login_page, methods=["GET"]),
    Route("/desk/login", login, methods=["POST"]),
    staff_route("POST", "/desk/logout", logout),
]
