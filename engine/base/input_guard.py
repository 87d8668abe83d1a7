"""What is not text: the rules that refuse it before any handler sees it (issue 15: bad input never
answers 500). Pure functions over bytes and parsed values; the web applies them (the API to JSON bodies,
engine.web.middleware.InputGuard to URLs and url-encoded forms).

Two things a client can send crashed handlers or were silently changed:

* JSON nested thousands deep: ``json.loads`` hits Python's recursion limit (RecursionError → 500).
  :func:`too_deep` counts brackets outside strings before parsing; bodies deeper than ``MAX_DEPTH``
  are refused (400). No request of this API needs more than a few levels.
* Text that cannot be encoded: a JSON escape ``"\\ud800"`` (a lone UTF-16 surrogate) parses to a Python
  string that fails the moment it is written to the database, hashed or answered (UnicodeEncodeError
  → 500). :func:`bad_text` walks a parsed body once and names the first such field. In URLs and
  url-encoded forms the same thing arrives as percent-encoded bytes that are not UTF-8 (``%ED%A0%80``,
  ``%FF``): :func:`decoded_text` and :func:`bad_pairs` find them.

Every refusal is a 400 naming the field, in the one error shape (engine.web.errors).
"""

from __future__ import annotations

import re
from itertools import accumulate
from typing import Any
from urllib.parse import unquote_to_bytes

MAX_DEPTH = 32
"""The deepest nesting of arrays and objects a JSON body may have (the API's own bodies use 4)."""

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


def decoded_text(raw: bytes) -> bool:
    """Whether ``raw`` (a URL's path) is UTF-8 text once percent-decoded."""
    try:
        unquote_to_bytes(raw).decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def bad_pairs(raw: bytes) -> str | None:
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


def whole(text: str, max_digits: int = 12) -> int | None:
    """``text`` as a whole number when it is one as a client writes it — ASCII digits only, at most
    ``max_digits`` of them — else None. ``str.isdigit`` also takes ², ١ and other digits ``int``
    refuses, and ``int`` refuses 4,300 digits or more: both were a 500."""
    if not text or len(text) > max_digits or not text.isascii() or not text.isdigit():
        return None
    return int(text)
