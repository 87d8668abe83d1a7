"""The one table from exceptions to HTTP answers: every handler raises, this module answers.

Under ``/api/`` an error is JSON in one shape::

    {"error": {"status": 422, "code": "invalid", "message": "...", "fields": [{"field", "code", "message"}]}}

(``fields`` only for field errors); elsewhere it is the HTML error page (``error.html``) with the
same status and message. Messages are in the request's language (engine.web.middleware.LocaleMiddleware:
``?lang=``, the cookie, Accept-Language; Chinese by default); the machine ``code`` never changes.

:data:`TABLE` says what each exception answers: HTTPException by its status, the API's
:class:`ApiError`, the input guard's refusal (:func:`bad_text`), CSRF refusals (an HTTPException 403
from engine.web.csrf), and the service refusals a handler does not turn into a page of its own
(version conflicts, unknown cases, throttling, refused uploads, invalid submissions, refused actions).
Anything else is a 500 whose message says nothing about the cause; it is logged here with its
traceback (:class:`LastResort`), and no traceback reaches the client.

Install it with ``Starlette(exception_handlers=HANDLERS, middleware=[…, Middleware(LastResort)])``
and ``InputGuard(app, bad_text)``.
"""

from __future__ import annotations

import http
import logging
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from markupsafe import escape
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.routing import Match, Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from engine.base.i18n import N_
from engine.base.i18n import gettext as _
from engine.ledger.errors import VersionConflict
from engine.rules.cases.model import ActionRefused, FeeMismatch
from engine.rules.forms import FieldError
from engine.service import auth, drafts, filing_limits, query_codes
from engine.service.cases import ItemUnavailable, SubmissionInvalid, UnknownCase
from engine.service.upload_limits import Refused

log = logging.getLogger("yangguang.web")

INTERNAL = N_("服务器内部错误，请稍后再试。")
NOT_FOUND = N_("没有这个网址。")
METHOD_API = N_("不支持此请求方法，请使用 {allow}。")
METHOD_PAGE = N_("此网址不支持这种请求方法。")
BAD_TEXT_API = N_("{field} 含有无法识别的字符（须为 UTF-8 文本）。")
BAD_TEXT_PAGE = N_("“{field}”含有无法识别的字符，请检查后重新输入。")
DRAFT_FILED = N_("此草稿已提交为申请 {number}；补正材料请以 ?case= 上传，新申请请另开草稿。")
INVALID = N_("申请有 {count} 处需要修改。")
NO_CASE = N_("没有找到这份办件或事项，请核对编号。")
CONFLICT = N_("办件已被他人更新（读取时为第 {expected} 版，现为第 {actual} 版），请重新读取后再操作。")

#: the machine code of an HTTPException's status (the API's ``code``); "error" for any other status
STATUS_CODE = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    429: "too_many_requests",
}


class ApiError(Exception):
    """A refusal a handler raises with its own status, machine code and (translated) message."""

    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        fields: list[FieldError] | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status, self.code, self.message, self.fields = status, code, message, fields
        self.headers = dict(headers or {})


class BadText(Exception):
    """Input that is not text (engine.base.input_guard): ``field`` names where it was found."""

    def __init__(self, field: str) -> None:
        super().__init__(field)
        self.field = field


@dataclass(frozen=True, slots=True)
class Answer:
    """What an exception answers: the same under /api (JSON) and on a page (HTML)."""

    status: int
    code: str
    message: str
    fields: list[FieldError] | None = None
    headers: dict[str, str] = field(default_factory=dict)
    #: what the HTML page says when it differs from the API's message (the API names a field or methods)
    page_message: str | None = None


def _retry(seconds: int | float) -> dict[str, str]:
    return {"Retry-After": str(max(1, math.ceil(seconds)))}


def _http(exc: HTTPException) -> Answer:
    status = exc.status_code
    detail = str(exc.detail)
    if detail == http.HTTPStatus(status).phrase:  # Starlette's own English words (the router's 404 and 405)
        detail = _(METHOD_PAGE) if status == 405 else _(NOT_FOUND) if status == 404 else detail
    return Answer(status, STATUS_CODE.get(status, "error"), detail, headers=dict(exc.headers or {}))


def _api(exc: ApiError) -> Answer:
    return Answer(exc.status, exc.code, exc.message, exc.fields, exc.headers)


def _bad_text(exc: BadText) -> Answer:
    message = _(BAD_TEXT_API).format(field=exc.field)
    page = _(BAD_TEXT_PAGE).format(field=exc.field)
    return Answer(400, "bad_request", message, [FieldError(exc.field, message, "invalid_text")], page_message=page)


def _refused_upload(exc: Refused) -> Answer:
    headers = _retry(exc.retry_after) if exc.retry_after is not None else {}
    return Answer(exc.status, exc.code, exc.message, headers=headers)  # in the request's language


def _conflict(exc: VersionConflict) -> Answer:
    return Answer(409, "version_conflict", _(CONFLICT).format(expected=exc.expected, actual=exc.actual))


def _refused_action(exc: ActionRefused) -> Answer:
    if isinstance(exc, FeeMismatch):
        return Answer(422, "fee_mismatch", exc.message)
    return Answer({"forbidden": 403, "conflict": 409}.get(exc.code, 422), exc.code, exc.message)


def _internal(exc: Exception) -> Answer:
    return Answer(500, "internal_error", _(INTERNAL))


# The one table. A lookup walks the exception's classes from the most specific (LoginThrottled before
# AuthError, FeeMismatch is an ActionRefused). Other modules' exceptions are worded in the request's
# language when raised (engine.base.i18n), so their messages are answered as they are.
TABLE: dict[type[Exception], Callable[[Any], Answer]] = {
    HTTPException: _http,
    ApiError: _api,
    BadText: _bad_text,
    query_codes.Throttled: lambda e: Answer(429, "too_many_requests", str(e), headers=_retry(e.seconds)),
    filing_limits.TooMany: lambda e: Answer(429, "too_many_requests", str(e), headers=_retry(e.seconds)),
    auth.LoginThrottled: lambda e: Answer(
        429, "too_many_requests", str(e), headers=_retry(e.retry_after.total_seconds())
    ),
    auth.AuthError: lambda e: Answer(401, "unauthorized", str(e)),
    drafts.Filed: lambda e: Answer(409, "draft_filed", _(DRAFT_FILED).format(number=e.number)),
    Refused: _refused_upload,
    SubmissionInvalid: lambda e: Answer(422, "invalid", _(INVALID).format(count=len(e.errors)), list(e.errors)),
    UnknownCase: lambda e: Answer(404, "not_found", _(NO_CASE)),  # its own text is for logs: English
    ItemUnavailable: lambda e: Answer(409, "item_unavailable", str(e)),
    VersionConflict: _conflict,
    ActionRefused: _refused_action,
    Exception: _internal,
}


def answer(exc: Exception) -> Answer:
    """What ``exc`` answers, from :data:`TABLE` (anything not in it: 500)."""
    for cls in type(exc).__mro__:
        found = TABLE.get(cls)
        if found is not None:
            return found(exc)
    return _internal(exc)  # a BaseException that is not an Exception never gets here (Starlette re-raises it)


def is_api(request: Request) -> bool:
    """Whether ``request`` is the JSON API's (its errors are JSON)."""
    return request.url.path.startswith("/api/")


def allowed(request: Request) -> str:
    """Every method the request's path answers: the router's 405 names only the first route that
    matched the path, and a path may have one route per method (e.g. GET and POST /desk/login)."""
    methods: set[str] = set()
    for route in request.app.routes:
        if isinstance(route, Route) and route.methods and route.matches(request.scope)[0] != Match.NONE:
            methods |= route.methods
    return ", ".join(sorted(methods))


def json_error(a: Answer) -> JSONResponse:
    body: dict[str, Any] = {"status": a.status, "code": a.code, "message": a.message}
    if a.fields is not None:
        body["fields"] = [{"field": f.field, "code": f.code, "message": f.text()} for f in a.fields]
    return JSONResponse({"error": body}, status_code=a.status)


def html_error(request: Request, a: Answer) -> Response:
    """The error page of the catalogue version serving ``request`` (a bare page on an app without one)."""
    message = a.page_message or a.message
    deps = getattr(request.app.state, "deps", None) if "app" in request.scope else None
    if deps is None:
        return HTMLResponse(f"<!doctype html><h1>{a.status}</h1><p>{escape(message)}</p>", status_code=a.status)
    response: Response = deps.render("error.html", status=a.status, code=a.status, message=message)
    return response


def respond(request: Request, exc: Exception) -> Response:
    """The answer to ``exc`` raised while serving ``request``: JSON under /api/, the error page elsewhere."""
    a = answer(exc)
    headers = dict(a.headers)
    if a.status == 405 and "Allow" in headers:  # Allow on a 405 (RFC 9110): every method of the path
        headers["Allow"] = allowed(request) or headers["Allow"]
        a = Answer(405, a.code, _(METHOD_API).format(allow=headers["Allow"]), page_message=_(METHOD_PAGE))
    response = json_error(a) if is_api(request) else html_error(request, a)
    response.headers.update(headers)
    return response


async def handle(request: Request, exc: Exception) -> Response:
    """Starlette's exception handler for every class of :data:`TABLE` (see :data:`HANDLERS`)."""
    return respond(request, exc)


async def bad_text(request: Request, field: str) -> Response:
    """engine.web.middleware.InputGuard's answer: a URL or form that is not UTF-8 text (400)."""
    return respond(request, BadText(field))


#: ``Starlette(exception_handlers=HANDLERS)``. ``Exception`` is left out: Starlette hands it to its
#: outermost middleware, which re-raises after answering; :class:`LastResort` answers it instead.
HANDLERS: dict[Any, Callable[[Request, Exception], Any]] = {cls: handle for cls in TABLE if cls is not Exception}


class LastResort:
    """ASGI middleware (the innermost): an exception no handler took is logged with its traceback
    and answered 500 through :func:`respond` in the request's language; a response already under
    way cannot be replaced, so then it is re-raised for the server to close the connection."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def sender(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, receive, sender)
        except Exception as exc:
            if started:
                raise
            request = Request(scope)
            log.exception("unexpected error in %s %s", request.method, request.url.path)
            await respond(request, exc)(scope, receive, send)


__all__ = [
    "HANDLERS",
    "TABLE",
    "Answer",
    "ApiError",
    "BadText",
    "LastResort",
    "allowed",
    "answer",
    "bad_text",
    "handle",
    "respond",
]
