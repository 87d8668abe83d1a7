"""An item's time limits: the promised limit within the legal one, and the steps (parallel ones counted
once, at their longest) within the promise; an immediate item's steps in minutes."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from engine.base.durations import MINUTES_PER_WORKING_DAY, duration_minutes
from engine.base.result import Path
from engine.catalogue.fields import FieldInfo
from engine.catalogue.model import Document
from engine.check.context import Cross, hint


def _unit_word(d: Mapping[str, Any]) -> str:
    return {"working_day": "working days", "natural_day": "natural days", "minute": "minutes"}[d["unit"]]


def _text(d: Mapping[str, Any]) -> str:
    return f"{d['value']} {_unit_word(d)}"


def time_limits(cross: Cross, doc: Document, fields: Mapping[str, FieldInfo]) -> None:
    data = doc.data
    tl = data["time_limit"]
    legal, promised = tl["legal"], tl["promised"]
    _promise_within_legal(cross, doc, legal, promised)
    steps = data.get("steps", "standard")
    if steps == "standard":
        return
    ids = _step_ids(cross, doc, steps)
    fee = data["fee"]
    if isinstance(fee, dict) and "assess_at" in fee and fee["assess_at"] not in ids:
        cross.add(
            doc.file,
            ("fee", "assess_at"),
            "unknown-step",
            f"assess_at names {fee['assess_at']!r}, which is not a step of this item"
            f"{hint(fee['assess_at'], sorted(ids))}",
        )
    _steps_within_promise(cross, doc, steps, promised)


def _promise_within_legal(cross: Cross, doc: Document, legal: Mapping[str, Any], promised: Mapping[str, Any]) -> None:
    lm, pm = duration_minutes(legal), duration_minutes(promised)
    if pm is not None and lm is not None and pm > lm:
        cross.add(
            doc.file,
            ("time_limit", "promised", "value"),
            "time-limit",
            f"promised limit {_text(promised)} is longer than the legal limit {_text(legal)}; "
            "the promised limit may never exceed the legal one",
            # in an overlay the two limits may be set in different layers: report both lines
            related=((doc.file, ("time_limit", "legal", "value"), "legal limit"),),
        )


def _step_ids(cross: Cross, doc: Document, steps: list[dict[str, Any]]) -> dict[str, int]:
    """Each step id with the index of its first step; a repeated id and a ``parallel_with`` naming no
    other step are reported."""
    ids: dict[str, int] = {}
    for i, step in enumerate(steps):
        if step["id"] in ids:
            cross.add(doc.file, ("steps", i, "id"), "duplicate-id", f"step id {step['id']!r} is used twice")
        ids.setdefault(step["id"], i)
    for i, step in enumerate(steps):
        other = step.get("parallel_with")
        if other is not None and (other not in ids or other == step["id"]):
            cross.add(
                doc.file,
                ("steps", i, "parallel_with"),
                "unknown-step",
                f"parallel_with names {other!r}, which is not another step of this item{hint(other, sorted(ids))}",
            )
    return ids


def _steps_within_promise(
    cross: Cross, doc: Document, steps: list[dict[str, Any]], promised: Mapping[str, Any]
) -> None:
    """An immediate item's steps are in minutes, and the steps together fit the promise; when a lower
    layer changed the promise under the parent's steps, that is where it is reported."""
    immediate = promised["value"] == 0
    budget = MINUTES_PER_WORKING_DAY if immediate else duration_minutes(promised)
    promised_at: Path = ("time_limit", "promised", "value")
    promise = (promised_at, ("time_limit", "promised", "unit"))
    lower_promise = cross.written_lower(doc, promise, (("steps",),))
    immediate_misfit = immediate and any(step["limit"]["unit"] != "minute" for step in steps)
    if immediate_misfit and lower_promise is not None:
        # a lower layer made the item immediate over the parent's day-long steps: report it there
        cross.add(
            doc.file,
            lower_promise,
            "step-limits",
            "promised 0 makes this an immediate item, whose step limits are in minutes, but the parent's "
            "steps are not; override the step limits too, or promise working days",
            related=((doc.file, ("steps",), "steps"),),
        )
        return
    if immediate:
        for i, step in enumerate(steps):
            if step["limit"]["unit"] != "minute":
                cross.add(
                    doc.file,
                    ("steps", i, "limit", "unit"),
                    "step-limits",
                    "this is an immediate item (promised 0), so step limits are in minutes",
                )
    total = _serial_total(steps)
    if budget is None or total <= budget:
        return
    steps_at: Path = ("steps",)
    message = (
        f"the steps add up to {_minutes_text(total)}, more than the promised limit "
        f"{'of one working day for an immediate item' if immediate else _text(promised)}; "
    )
    if lower_promise is not None:
        # a lower layer shortened the promise below the parent's steps: report it there
        cross.add(
            doc.file,
            lower_promise,
            "step-limits",
            message + "promise no less than the steps take, or override the step limits too",
            related=((doc.file, steps_at, "steps"),),
        )
    else:
        cross.add(
            doc.file,
            steps_at,
            "step-limits",
            message + "shorten the step limits",
            on_key=True,
            related=((doc.file, promised_at, "promised limit"),),
        )


def _serial_total(steps: list[dict[str, Any]]) -> int:
    """The steps' limits in minutes, one after another: steps joined by parallel_with form one group
    that counts once, at its longest."""
    parent = {step["id"]: step["id"] for step in steps}

    def find(x: str) -> str:
        while parent[x] != x:
            x = parent[x]
        return x

    for step in steps:
        other = step.get("parallel_with")
        if other is not None and other in parent and find(other) != find(step["id"]):
            parent[find(step["id"])] = find(other)
    longest: dict[str, int] = {}
    for step in steps:
        g = find(step["id"])
        longest[g] = max(longest.get(g, 0), duration_minutes(step["limit"]) or 0)
    return sum(longest.values())


def _minutes_text(minutes: int) -> str:
    days, rest = divmod(minutes, MINUTES_PER_WORKING_DAY)
    if rest == 0:
        return f"{days} working days"
    if days:  # in the promised limit's terms too (a working day counted as 8 hours)
        return f"{minutes} minutes ({days} working days and {rest} minutes)"
    return f"{minutes} minutes"
