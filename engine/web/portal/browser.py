"""What every applicant page reads from a request: this browser's token (a cookie binding its drafts
and the CSRF tokens of its forms, engine.web.csrf) and a form read within the page's size limits.

The portal's application pages, the progress pages and the staff login all use both; the pages that
take a query code answer too many wrong ones with :func:`throttled`.
"""

from __future__ import annotations

import secrets

from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import Response

from engine.base.i18n import N_, gettext
from engine.service import query_codes, uploads
from engine.web.deps import deps

BROWSER_COOKIE = "yg_browser"
MAX_REQUEST = 100 * 1024 * 1024  # one materials page, all files together
MAX_FILES = 40


TOO_LARGE = N_("上传的文件合计太大，请分几次上传。")
"""What a page answers (413) to a form past :data:`MAX_REQUEST`."""


class RequestTooLarge(Exception):
    pass


def browser_token(request: Request) -> tuple[str, bool]:
    """This browser's token (from its cookie, or a new one) and whether it is new."""
    token = request.cookies.get(BROWSER_COOKIE, "")
    if 20 <= len(token) <= 64 and token.isalnum():
        return token, False
    return secrets.token_hex(16), True


def remember_browser(response: Response, request: Request, token: str) -> Response:
    response.set_cookie(
        BROWSER_COOKIE,
        token,
        max_age=30 * 86400,
        httponly=True,
        samesite="lax",
        secure=request.url.scheme == "https",
        path="/",
    )
    return response


async def limited_form(request: Request, multipart: bool) -> FormData:
    """The posted form, refused with :class:`RequestTooLarge` past :data:`MAX_REQUEST` bytes; files only
    on a page that takes them (``multipart``: the materials page, a supplement)."""
    limited = uploads.limited(request, MAX_REQUEST, RequestTooLarge)
    if multipart:
        return await limited.form(max_files=MAX_FILES, max_fields=200)
    return await limited.form(max_files=0, max_fields=500)


__all__ = [
    "BROWSER_COOKIE",
    "MAX_FILES",
    "MAX_REQUEST",
    "TOO_LARGE",
    "RequestTooLarge",
    "browser_token",
    "limited_form",
    "remember_browser",
]


def throttled(request: Request, exc: query_codes.Throttled) -> Response:
    """The page (429, with Retry-After) for a client or number past its limit of wrong query codes."""
    message = gettext("查询码输错次数过多，请 {minutes} 分钟后再试。").format(minutes=exc.minutes)
    refused = deps(request).render("error.html", status=429, code=429, message=message)
    refused.headers["Retry-After"] = str(exc.seconds)
    refused.headers["Cache-Control"] = "no-store"
    return refused
