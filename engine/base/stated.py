"""Unknown is not none: what an item's published guide states, and what it leaves unstated.

An element a guide does not state is written ``not_stated`` (where the schema requires the element:
``fee``, ``materials``, ``visits``, ``result``, ``conditions``, ``online``, ``effective``; the shared
definition is ``common.schema.json#/definitions/not_stated``) or simply left out (an optional element:
a material's ``copies`` or ``paper``). A list of materials the guide gives only in part carries
``materials_incomplete``. Nothing built from an item may claim what it does not say: every reader of
those keys goes through the helpers here, and ``findings`` reports each gap as ``warning[not-stated]``
at its line (``yangguang check --strict`` makes them errors).

Time limits cannot be ``not_stated``: the engine's deadlines need them, and the law gives them.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from engine.base.result import Finding

NOT_STATED = "not_stated"

#: element -> (its name in the guide, what the engine and the guide do about it)
NOT_STATED_ELEMENTS: dict[str, tuple[str, str]] = {
    "fee": (
        "收费",
        "the guide says 收费情况未说明，请向窗口咨询 and no fee can be assessed or collected; write free, "
        "{free: true, basis: …} or {schedule: ID} once the fee is known",
    ),
    "materials": (
        "申请材料",
        "the item cannot be applied for online (the portal and the API give the window and phone instead) and "
        "the one-time notice lists nothing; list the materials once they are known",
    ),
    "conditions": ("受理条件", "the guide says 未说明，请向窗口咨询; write the conditions once they are known"),
    "visits": (
        "到现场次数",
        "the guide says 未说明 and supervision cannot flag cases with more visits than the item needs",
    ),
    "online": ("网上办理", "the guide says 未说明"),
    "result": ("审批结果", "the guide says 未说明 and the decision document names no result or delivery method"),
    "effective": ("有效期间", "the guide says 未说明"),
}

#: a finer service object -> the applicant kind (``applicants``) it refines
SERVICE_OBJECT_KIND = {
    "natural_person": "natural_person",
    "enterprise_legal_person": "legal_person",
    "public_institution": "legal_person",
    "social_organisation": "legal_person",
    "unincorporated_enterprise": "legal_person",
    "individual_business": "legal_person",
    "government_agency": "legal_person",
    "other_organisation": "legal_person",
}


def is_stated(value: Any) -> bool:
    return value != NOT_STATED


def materials(item: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The item's materials; none when the guide does not state them (see ``materials_stated``)."""
    found = item.get("materials", [])
    return found if isinstance(found, list) else []


def materials_stated(item: Mapping[str, Any]) -> bool:
    return isinstance(item.get("materials", []), list)


def materials_complete(item: Mapping[str, Any]) -> bool:
    """The list is the whole list: stated, and not marked ``materials_incomplete``."""
    return materials_stated(item) and not item.get("materials_incomplete")


def section(item: Mapping[str, Any], key: str) -> dict[str, Any]:
    """A mapping element (``result``, ``visits``, ``online``, ``effective``); empty when not stated."""
    found = item.get(key)
    return found if isinstance(found, dict) else {}


def conditions(item: Mapping[str, Any]) -> list[str]:
    found = item.get("conditions", [])
    return found if isinstance(found, list) else []


def fee_stated(item: Mapping[str, Any]) -> bool:
    return is_stated(item.get("fee"))


def visits_max(item: Mapping[str, Any]) -> int | None:
    """The most in-person visits the item needs, or None when the guide does not say."""
    value = section(item, "visits").get("max")
    return int(value) if isinstance(value, int) else None


def unavailable(item: Mapping[str, Any]) -> str | None:
    """Why the item cannot be applied for (online, by API or by proxy), or None when it can:
    ``suspended`` / ``cancelled`` (its ``state``), or ``materials`` (the guide does not list them,
    so no complete application exists)."""
    state = item.get("state", "in_use")
    if state in ("suspended", "cancelled"):
        return str(state)
    if not materials_stated(item):
        return "materials"
    return None


def findings(file: str, item: Mapping[str, Any]) -> Iterator[Finding]:
    """``warning[not-stated]`` at each element recorded as not stated, and ``service-objects``
    errors where the finer service objects and ``applicants`` disagree."""
    for key, (name, effect) in NOT_STATED_ELEMENTS.items():
        if item.get(key) == NOT_STATED:
            yield Finding(file, (key,), "not-stated", f"the published guide does not state {key} ({name}): {effect}")
    if isinstance(item.get("materials_incomplete"), str):
        yield Finding(
            file,
            ("materials_incomplete",),
            "not-stated",
            "the published list of materials (申请材料) is incomplete: the one-time notice says the list is as "
            "published and may be incomplete, not that it is every material; complete the list and remove "
            "materials_incomplete once the window confirms it",
            on_key=True,
        )
    yield from _service_objects(file, item)


def _service_objects(file: str, item: Mapping[str, Any]) -> Iterator[Finding]:
    objects = item.get("service_objects")
    if not isinstance(objects, list):
        return
    applicants = list(item.get("applicants", []))
    for i, obj in enumerate(objects):
        kind = SERVICE_OBJECT_KIND.get(obj)
        if kind is not None and kind not in applicants:
            yield Finding(
                file,
                ("service_objects", i),
                "service-objects",
                f"service object {obj!r} refines the applicant kind {kind!r}, which applicants does not list; "
                f"add {kind} to applicants or remove {obj} here",
            )
    covered = {SERVICE_OBJECT_KIND.get(obj) for obj in objects}
    for j, kind in enumerate(applicants):
        if kind not in covered:
            finer = "natural_person" if kind == "natural_person" else "an organisation (enterprise_legal_person, …)"
            yield Finding(
                file,
                ("applicants", j),
                "service-objects",
                f"applicants lists {kind!r}, but service_objects names none of that kind; add {finer} to "
                "service_objects, or remove it from applicants",
            )
