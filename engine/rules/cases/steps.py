"""An item's steps as the state machine routes them: in order, in groups (a step with
``parallel_with`` is worked together with the step it names), and which are open now."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from engine.rules.cases.model import STANDARD_STEPS, Case

# item mapping id -> (the item, its steps, its groups); the item is kept so an id is never reused
_PLANS: dict[int, tuple[Mapping[str, Any], list[dict[str, Any]], list[list[dict[str, Any]]]]] = {}


def _plan(item: Mapping[str, Any]) -> tuple[list[dict[str, Any]], list[list[dict[str, Any]]]]:
    """The item's steps and their groups, worked out once per item mapping (callers only read them:
    an item is never edited in place; a changed item is a new mapping under a new catalogue version)."""
    hit = _PLANS.get(id(item))
    if hit is not None and hit[0] is item:
        return hit[1], hit[2]
    raw = item.get("steps", "standard")
    steps = [dict(s) for s in (STANDARD_STEPS if raw == "standard" else raw)]
    groups: list[list[dict[str, Any]]] = []
    where: dict[str, int] = {}
    for step in steps:  # a step with ``parallel_with`` joins the group of the step it names
        other = step.get("parallel_with")
        if other in where:
            groups[where[other]].append(step)
            where[step["id"]] = where[other]
        else:
            where[step["id"]] = len(groups)
            groups.append([step])
    if len(_PLANS) > 10_000:
        _PLANS.clear()
    _PLANS[id(item)] = (item, steps, groups)
    return steps, groups


def steps_of(item: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The item's steps in order (shared: read, do not modify)."""
    return _plan(item)[0]


def step_groups(item: Mapping[str, Any]) -> list[list[dict[str, Any]]]:
    """Steps in order, where a step with ``parallel_with`` joins the group of the step it names
    (the flowchart draws exactly these groups)."""
    return _plan(item)[1]


def open_steps(case: Case, item: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The steps that may be worked now: the first group with unfinished steps (parallel steps together)."""
    if case.state != "in_progress":
        return []
    for group in step_groups(item):
        todo = [s for s in group if s["id"] not in case.done_steps]
        if todo:
            return todo
    return []


def step_role(item: Mapping[str, Any], step_id: str) -> str:
    """The role that works ``step_id`` (the decider's when the item has no such step)."""
    for s in steps_of(item):
        if s["id"] == step_id:
            return str(s["role"])
    return "decider"
