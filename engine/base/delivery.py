"""How the applicant receives the result (Art. 44: the licence is issued or delivered): the methods an
item offers (``result.delivery``), and the form field that lets the applicant choose one of them.

A form field of ``type: delivery`` (e.g. ``contact.delivery`` in ``forms/contact.yaml``) is one
reusable definition for every item: on each item's form it becomes a radio choice among exactly
the methods that item's ``result.delivery`` offers — an item that only issues electronic licences
never offers 邮寄 — and it is not asked at all when the item states no method. The chosen value is
what the decision document prints (engine.service.documents reads it through engine.rules.forms.field_specs).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from engine.base.i18n import N_

#: result.delivery methods in words (the labels the applicant chooses from, and documents print):
#: Chinese, marked for the catalogue; a page says them in its language (engine.web.form_view)
METHOD_LABELS: dict[str, str] = {
    "window": N_("窗口领取"),
    "courier": N_("邮寄送达"),
    "online": N_("网上送达（电子证照）"),
}


def offered(item: Mapping[str, Any]) -> list[str]:
    """The delivery methods the item offers, in its order (empty when its guide states none)."""
    result = item.get("result")
    methods = result.get("delivery", []) if isinstance(result, Mapping) else []
    return [m for m in methods if m in METHOD_LABELS] if isinstance(methods, list) else []


def field_for(spec: Mapping[str, Any], item: Mapping[str, Any]) -> dict[str, Any] | None:
    """A ``type: delivery`` field as this item asks it: a radio choice among the item's methods, or
    None when the item offers none (the field is then not asked)."""
    methods = offered(item)
    if not methods:
        return None
    return {
        **spec,
        "type": "radio",
        "delivery": True,
        "options": [{"value": m, "label": METHOD_LABELS[m]} for m in methods],
    }
