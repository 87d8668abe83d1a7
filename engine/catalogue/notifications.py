"""The center's notification templates (notifications/templates.yaml): the words of each message an
applicant or a staff member is sent when something they care about happens.

One template per event (accepted, supplement requested, paused, …, the staff daily digest), each with a
subject, a body and optionally a short SMS text, in Chinese and in English. A text names the values it
shows as ``{placeholder}``; every event has a closed list of them (:data:`PLACEHOLDERS`), and a template
naming another is a ``yangguang check`` error with its line. Rendering is plain substitution — never
``eval`` nor ``str.format`` (which reaches attributes) — so a template cannot run anything. ``{{`` and
``}}`` write a brace.

A county catalogue without its own file uses its parent's (engine.catalogue.reading keeps the nearest
layer's file), so a county changes the words only by keeping a whole file of its own.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from engine.base.result import Finding

__all__ = ["CASE_EVENTS", "EVENTS", "LANGUAGES", "PLACEHOLDERS", "check", "names_in", "render"]

LANGUAGES = ("zh", "en")

_CASE = ("case_number", "item_name", "department", "center", "applicant", "date")
#: event -> the placeholders its texts may use (the schema's descriptions list them for administrators)
PLACEHOLDERS: dict[str, tuple[str, ...]] = {
    "accepted": (*_CASE, "due_date"),
    "supplement_requested": (*_CASE, "missing"),
    "paused": (*_CASE, "reason"),
    "extended": (*_CASE, "reason", "due_date"),
    "decided": (*_CASE, "decision", "reason"),
    "ready_to_collect": (*_CASE, "delivery"),
    "complaint_answered": ("complaint_number", "center", "applicant", "answer", "date"),
    "appointment_reminder": ("booking_number", "center", "applicant", "date", "time", "place"),
    "staff_digest": ("staff", "center", "date", "yellow_count", "red_count", "cases", "complaints"),
}
EVENTS = tuple(PLACEHOLDERS)
#: the events a case's own record produces (engine.service.notifications tails the events for them)
CASE_EVENTS = ("accepted", "supplement_requested", "paused", "extended", "decided", "ready_to_collect")
_TEXTS = ("subject", "body", "sms")
_TOKEN = re.compile(r"\{\{|\}\}|\{([^{}]*)\}|[{}]")


def names_in(text: str) -> tuple[list[str], bool]:
    """The placeholders a text names, and whether it has a brace that opens or closes none."""
    names: list[str] = []
    stray = False
    for m in _TOKEN.finditer(text):
        token = m.group(0)
        if token in ("{{", "}}"):
            continue
        if m.group(1) is None:
            stray = True
        else:
            names.append(m.group(1).strip())
    return names, stray


def render(text: str, values: Mapping[str, Any]) -> str:
    """``text`` with each ``{name}`` replaced by ``values[name]`` (missing: empty) and ``{{``/``}}`` by braces."""

    def one(m: re.Match[str]) -> str:
        token = m.group(0)
        if token in ("{{", "}}"):
            return token[0]
        if m.group(1) is None:
            return token
        value = values.get(m.group(1).strip())
        return "" if value is None else str(value)

    return _TOKEN.sub(one, text)


def check(file: str, data: Mapping[str, Any]) -> list[Finding]:
    """What the schema cannot see: a placeholder the event does not offer, or a stray brace."""
    out: list[Finding] = []
    for event, template in (data.get("templates") or {}).items():
        allowed = PLACEHOLDERS.get(event)
        if allowed is None or not isinstance(template, Mapping):
            continue  # the schema reports an unknown event
        for part in _TEXTS:
            for lang, text in (template.get(part) or {}).items():
                if not isinstance(text, str):
                    continue
                names, stray = names_in(text)
                path = ("templates", event, part, lang)
                for name in dict.fromkeys(names):
                    if name not in allowed:
                        why = f"{{{name}}} is no placeholder of {event}; it may use {', '.join(allowed)}"
                        out.append(Finding(file, path, "placeholder", why))
                if stray:
                    why = "a lone { or }: write {{ or }} for a brace, {name} for a value"
                    out.append(Finding(file, path, "placeholder", why))
    return out
