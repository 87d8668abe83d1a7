"""Refuse input that is not text before any handler sees it (issue 15: bad input never answers 500).

Two things a client can send crashed handlers or were silently changed:

* JSON nested thousands deep: ``json.loads`` hits Python's recursion limit (RecursionError → 500).
  :func:`too_deep` counts brackets outside strings before parsing; bodies deeper than ``MAX_DEPTH``
  are refused (400). No request of this API needs more than a few levels.
* Text that cannot be encoded: a JSON escape ``"\\ud800"`` (a lone UTF-16 surrogate) parses to a Python
  string that fails the moment it is written to the database, hashed or answered (UnicodeEncodeError
  → 500). :func:`bad_text` walks a parsed body once and names the first such field. In URLs and
  url-encoded forms the same thing arrives as percent-encoded bytes that are not UTF-8 (``%ED%A0%80``,
  ``%FF``): Starlette replaced them with U+FFFD, so a query code or username silently became another
  one. :class:`InputGuard` refuses those before routing.

Every refusal is a 400 naming the field, in the one error shape (``respond`` is given by engine.web.app).
Multipart text fields are not checked here: Starlette decodes them as Latin-1 when they are not UTF-8
(the text changes, nothing crashes), and the upload handler keeps no client text but a sanitised name.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from itertools import accumulate
from typing import Any
from urllib.parse import unquote_to_bytes

from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

MAX_DEPTH = 32
"""The deepest nesting of arrays and objects a JSON body may have (the API's own bodies use 4)."""
MAX_FORM_SCAN = 2 * 1024 * 1024
"""A url-encoded form body up to this size is checked for bad text; larger ones are passed on
unchecked (the handlers' own limits refuse them)."""

_STRING = re.compile(rb'"(?:[^"\\]++|\\.)*+"', re.DOTALL)  # possessive: linear on any input
_NOT_BRACKET = bytes(b for b in range(256) if b not in b"[]{}")
_STEP = {ord("["): 1, ord("{"): 1, ord("]"): -1, ord("}"): -1}
_SURROGATE = re.compile("[\ud800-\udfff]")


def too_deep(raw: bytes, limit: int = MAX_DEPTH) -> bool:
    """Whether the JSON text ``raw`` nests arrays/objects more than ``limit`` deep (brackets inside
    strings do not count). Cheap: two C-speed passes and one sum over the brackets alone."""
    brackets = _STRING.sub(b"", raw).translate(None, _NOT_BRACKET)
    if len(brackets) <= 2 * limit:
        return False
    return max(accumulate(_STEP[b] for b in brackets)) > limit


def bad_text(value: Any, path: str = "") -> str | None:
    """The dotted name of the first string (or object key) in a parsed JSON value that is not
    encodable text, else None. Iterative, so no nesting can exhaust the stack."""
    stack: list[tuple[str, Any]] = [(path, value)]
    while stack:
        where, node = stack.pop()
        if isinstance(node, str):
            if _SURROGATE.search(node):
                return where or "body"
        elif isinstance(node, dict):
            for key, child in node.items():
                if _SURROGATE.search(key):  # the key itself cannot be shown: name its object
                    return where or "body"
                stack.append((f"{where}.{key}" if where else key, child))
        elif isinstance(node, list):
            stack.extend((f"{where}[{i}]", child) for i, child in enumerate(node))
    return None


def _bad_pairs(raw: bytes) -> str | None:
    """The name of the first ``name=value`` pair of a query string or url-encoded form whose name or
    value, once percent-decoded, is not UTF-8."""
    for pair in raw.split(b"&"):
        name, _, value = pair.partition(b"=")
        name_bytes = unquote_to_bytes(name.replace(b"+", b" "))
        try:
            name_bytes.decode("utf-8")
            unquote_to_bytes(value.replace(b"+", b" ")).decode("utf-8")
        except UnicodeDecodeError:
            return name_bytes.decode("utf-8", "replace") or "query"
    return None


def url_problem(scope: Scope) -> str | None:
    """``path`` when the URL's path is not UTF-8 once percent-decoded, else the first bad query
    parameter's name, else None."""
    raw_path = scope.get("raw_path")
    if raw_path is not None:
        try:
            unquote_to_bytes(raw_path).decode("utf-8")
        except UnicodeDecodeError:
            return "path"
    elif _SURROGATE.search(scope.get("path", "")):
        return "path"
    return _bad_pairs(scope.get("query_string", b""))


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
                field = _bad_pairs(b"".join(m.get("body", b"") for m in received if m["type"] == "http.request"))
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


def whole(text: str, max_digits: int = 12) -> int | None:
    """``text`` as a whole number when it is one as a client writes it — ASCII digits only, at most
    ``max_digits`` of them — else None. ``str.isdigit`` also takes ², ١ and other digits ``int``
    refuses, and ``int`` refuses 4,300 digits or more: both were a 500."""
    if not text or len(text) > max_digits or not text.isascii() or not text.isdigit():
        return None
    return int(text)
