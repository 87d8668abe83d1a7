"""The server's logs: one JSON object per line for a log collector, or readable text on a terminal,
every line logged while a request is served carrying that request's id.

``yangguang serve --log-format json|text`` picks the format (default: text when standard error is a
terminal, JSON otherwise; ``YANGGUANG_LOG_FORMAT``). :func:`config` is the ``logging.config`` dictionary
uvicorn applies in each of its processes (``log_config=``), so its own lines go through the same
handler; uvicorn's access log is off and :class:`engine.web.middleware.Observe` writes one line per
request instead, with the route template and without the query string (query codes travel there).

A JSON line holds ``time`` (ISO 8601 with the offset of the server's time zone, milliseconds),
``level``, ``logger``, ``message``, ``request_id`` (while a request is served) and, on the request
line, ``method``, ``route``, ``path``, ``status`` and ``duration_ms``; an exception adds
``exception`` (the traceback stays in the log, never in an answer).

The request id is :data:`REQUEST_ID`, a context variable: the handlers' worker threads copy the
context, so whatever they log carries it too. An incoming ``X-Request-ID`` (a proxy's) is kept when
it is well-formed (:func:`request_id`: 1–64 letters, digits and ``-_.:``), else a new one is made;
the answer echoes it in ``X-Request-ID``.
"""

from __future__ import annotations

import json
import logging
import re
import uuid
from contextvars import ContextVar
from datetime import datetime
from typing import Any, TextIO

REQUEST_ID: ContextVar[str | None] = ContextVar("yangguang_request_id", default=None)
HEADER = "x-request-id"
FORMATS = ("json", "text")
ENV = "YANGGUANG_LOG_FORMAT"
#: what a client may name its request: enough for a UUID or a proxy's id, nothing that could forge
#: a second log line or smuggle markup (no spaces, quotes, control characters)
_WELL_FORMED = re.compile(r"[A-Za-z0-9._:-]{1,64}")
#: the request line's fields, in the order a JSON line lists them after the common ones
REQUEST_FIELDS = ("method", "route", "path", "status", "duration_ms")


def request_id(incoming: str | None) -> str:
    """The id of a request: the incoming ``X-Request-ID`` when well-formed, else a new random one."""
    if incoming is not None and _WELL_FORMED.fullmatch(incoming):
        return incoming
    return uuid.uuid4().hex


_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")
SHOWN = 300
"""Characters of a client's text (a path) a log line shows."""


def printable(text: str) -> str:
    """A client's text as a log line may show it: control characters (a newline would forge a second
    text line) escaped, at most :data:`SHOWN` characters."""
    shown = _CONTROL.sub(lambda m: f"\\x{ord(m.group()):02x}", text[:SHOWN])
    return shown + ("…" if len(text) > SHOWN else "")


def default_format(stream: TextIO) -> str:
    """``text`` for a person at a terminal, ``json`` for a collector reading a pipe or a file."""
    try:
        return "text" if stream.isatty() else "json"
    except (AttributeError, ValueError):  # a closed or unusual stream: a collector's format
        return "json"


def _time(record: logging.LogRecord) -> str:
    """The record's time in the server's time zone with its offset (``2026-03-06T09:00:00.123+08:00``)."""
    return datetime.fromtimestamp(record.created).astimezone().isoformat(timespec="milliseconds")


class JsonFormatter(logging.Formatter):
    """One JSON object per line (non-ASCII kept: the messages may be Chinese)."""

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "time": _time(record),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        rid = getattr(record, "request_id", None) or REQUEST_ID.get()
        if rid is not None:
            line["request_id"] = rid
        for name in REQUEST_FIELDS:
            if hasattr(record, name):
                line[name] = getattr(record, name)
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
        elif record.stack_info:
            line["stack"] = self.formatStack(record.stack_info)
        return json.dumps(line, ensure_ascii=False, default=str)


class TextFormatter(logging.Formatter):
    """``TIME LEVEL LOGGER [REQUEST_ID] message``: the same facts, for reading."""

    def format(self, record: logging.LogRecord) -> str:
        rid = getattr(record, "request_id", None) or REQUEST_ID.get()
        text = f"{_time(record)} {record.levelname:<7} {record.name}{f' [{rid}]' if rid else ''} {record.getMessage()}"
        if record.exc_info:
            text += "\n" + self.formatException(record.exc_info)
        return text


def config(fmt: str, level: str = "INFO") -> dict[str, Any]:
    """The ``logging.config.dictConfig`` dictionary for ``fmt`` (one of :data:`FORMATS`): one handler on
    standard error at the root; uvicorn's loggers and ours propagate to it. ValueError for another format."""
    if fmt not in FORMATS:
        raise ValueError(f"the log format is one of {', '.join(FORMATS)}, not {fmt!r}")
    formatter = JsonFormatter if fmt == "json" else TextFormatter
    return {
        "version": 1,
        "disable_existing_loggers": False,
        # uvicorn sets use_colors on these two names when asked to; they are ours here
        "formatters": {
            name: {"()": f"{formatter.__module__}.{formatter.__qualname__}"} for name in ("default", "access")
        },
        "handlers": {
            "default": {"class": "logging.StreamHandler", "formatter": "default", "stream": "ext://sys.stderr"}
        },
        "root": {"handlers": ["default"], "level": level},
        "loggers": {
            name: {"handlers": [], "propagate": True} for name in ("uvicorn", "uvicorn.error", "uvicorn.access")
        },
    }


__all__ = [
    "ENV",
    "FORMATS",
    "HEADER",
    "REQUEST_FIELDS",
    "REQUEST_ID",
    "JsonFormatter",
    "TextFormatter",
    "config",
    "default_format",
    "printable",
    "request_id",
]
