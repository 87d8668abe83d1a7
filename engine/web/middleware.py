"""The ASGI middleware every app of the site runs (engine.web.app, engine.web.api.standalone), outermost
first: what is observed of each request, the request's language, then the input guard. The rules
they apply are HTTP-free and live in engine.base: the language choice in engine.base.i18n, what is
not text in engine.base.input_guard.

* :class:`Observe` gives each request its id (engine.web.logs.request_id: a well-formed incoming
  ``X-Request-ID``, else a new one), which every line logged while it is served carries and the answer
  echoes; then counts it in the metrics by route template and status with its duration
  (engine.web.metrics) and logs one line for it (``yangguang.access``, in place of uvicorn's access log).

* :class:`LocaleMiddleware` picks the language of each request — ``?lang=en`` (remembered in a
  cookie), the cookie, the browser's Accept-Language, else Chinese (engine.base.i18n.choose) — and
  translates in it while the request is served, so templates and code running for that request
  (even in worker threads, which copy the context) translate without passing anything around.
* :class:`InputGuard` refuses a URL or url-encoded form that is not UTF-8 text before routing
  (issue 15: bad input never answers 500). Percent-encoded bytes that are not UTF-8 (``%ED%A0%80``,
  ``%FF``) reached Starlette, which replaced them with U+FFFD, so a query code or username silently
  became another one. The refusal is a 400 naming the field, in the one error shape (``respond`` is
  engine.web.errors.bad_text). Multipart text fields are not checked: Starlette decodes them as
  Latin-1 when they are not UTF-8 (the text changes, nothing crashes), and the upload handler keeps
  no client text but a sanitised name. JSON bodies are checked by the API (engine.web.api.common).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable

from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from engine.base import i18n
from engine.base.input_guard import bad_pairs, bad_text, decoded_text
from engine.web import logs, metrics

MAX_FORM_SCAN = 2 * 1024 * 1024
"""A url-encoded form body up to this size is checked for bad text; larger ones are passed on
unchecked (the handlers' own limits refuse them)."""


access_log = logging.getLogger("yangguang.access")


def route_of(scope: Scope) -> str:
    """The template of the route that answered (``/desk/cases/{number}``), set on the scope by the
    router; :data:`engine.web.metrics.UNMATCHED` when none did."""
    route = scope.get("route")
    path = getattr(route, "path", None)
    return path if isinstance(path, str) else metrics.UNMATCHED


class Observe:
    """ASGI middleware, outermost: the request id, the metrics and the request's log line."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        incoming = next((v for k, v in scope.get("headers", []) if k.lower() == b"x-request-id"), None)
        rid = logs.request_id(incoming.decode("latin-1") if incoming is not None else None)
        status = 500  # what the client gets if the answer never starts (the server's own 500)

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message["headers"] = [*message.get("headers", []), (b"x-request-id", rid.encode())]
            await send(message)

        token = logs.REQUEST_ID.set(rid)
        started = time.perf_counter()
        try:
            await self.app(scope, receive, send_with_id)
        finally:
            seconds = time.perf_counter() - started
            route, method = route_of(scope), logs.printable(scope.get("method", ""))
            metrics.observe_request(method, route, status, seconds)
            path = logs.printable(scope.get("path", ""))  # no query string: query codes and search words travel there
            access_log.info(
                "%s %s %s %.1f ms", method, path, status, seconds * 1000,
                extra={"method": method, "route": route, "path": path, "status": status,
                       "duration_ms": round(seconds * 1000, 3)},
            )  # fmt: skip
            logs.REQUEST_ID.reset(token)


class LocaleMiddleware:
    """ASGI middleware: each HTTP request is served in its language, which the answer names
    (Content-Language) and, when chosen with ``?lang=``, remembers (a cookie for a year)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope.get("headers", [])}
        lang, remember = i18n.choose(
            scope.get("query_string", b"").decode("latin-1"),
            headers.get("cookie", ""),
            headers.get("accept-language", ""),
        )

        async def send_with_cookie(message: Message) -> None:
            if message["type"] == "http.response.start":
                extra = [(b"content-language", lang.replace("_", "-").encode())]
                if remember:
                    cookie = f"{i18n.COOKIE}={lang}; Max-Age=31536000; Path=/; SameSite=Lax"
                    extra.append((b"set-cookie", cookie.encode()))
                message["headers"] = [*message.get("headers", []), *extra]
            await send(message)

        with i18n.speaking(lang):
            await self.app(scope, receive, send_with_cookie)


def url_problem(scope: Scope) -> str | None:
    """``path`` when the URL's path is not UTF-8 once percent-decoded, else the first bad query
    parameter's name, else None."""
    raw_path = scope.get("raw_path")
    if raw_path is not None:
        if not decoded_text(raw_path):
            return "path"
    elif bad_text(scope.get("path", "")) is not None:  # no raw path: the decoded one, as the server gave it
        return "path"
    return bad_pairs(scope.get("query_string", b""))


Respond = Callable[[Request, str], Awaitable[Response]]


class InputGuard:
    """ASGI middleware: a URL or url-encoded form that is not UTF-8 text is answered by
    ``respond(request, field)`` (a 400) before routing; everything else passes unchanged."""

    def __init__(self, app: ASGIApp, respond: Respond) -> None:
        self.app, self.respond = app, respond

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        field = url_problem(scope)
        if field is None and _is_urlencoded(scope):
            received: list[Message] = []
            size, more = 0, True
            while more and size <= MAX_FORM_SCAN:
                message = await receive()
                received.append(message)
                if message["type"] != "http.request":
                    break
                size += len(message.get("body", b""))
                more = bool(message.get("more_body", False))
            if not more:
                field = bad_pairs(b"".join(m.get("body", b"") for m in received if m["type"] == "http.request"))
            receive = _replay(received, receive)
        if field is not None:
            response = await self.respond(Request(scope), field)
            await response(scope, receive, send)
            return
        await self.app(scope, receive, send)


def _is_urlencoded(scope: Scope) -> bool:
    for key, value in scope.get("headers", []):
        if key.lower() == b"content-type":
            return value.split(b";")[0].strip().lower() == b"application/x-www-form-urlencoded"
    return False


def _replay(received: list[Message], receive: Receive) -> Receive:
    """A ``receive`` that gives back the messages already read, then reads on."""
    pending = list(received)

    async def again() -> Message:
        if pending:
            return pending.pop(0)
        return await receive()

    return again


__all__ = ["MAX_FORM_SCAN", "InputGuard", "LocaleMiddleware", "Observe", "Respond", "route_of", "url_problem"]
