"""The catalogue, read-only: ``GET /api/items`` (every item), ``GET /api/items/{code}`` (one item and
its guide, 办事指南, as the page and ``yangguang show`` word it) and ``GET /api/items/{code}/form``
(the generated form: sections, fields and materials)."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Mapping
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from engine.base import stated
from engine.base.i18n import gettext as _
from engine.base.money import YUAN
from engine.catalogue.fields import item_fields
from engine.catalogue.model import Catalogue, Document
from engine.rules import notice
from engine.rules.clock import local_date
from engine.web.api.cases import NO_ITEM
from engine.web.deps import deps
from engine.web.errors import ApiError

_FIELD_KEYS = ("label", "type", "when", "options", "hint", "unit", "min", "max", "max_length", "default")
_MATERIAL_KEYS = ("formats", "max_size_mb", "kind", "originals", "copies", "paper", "note")


def _item(request: Request) -> tuple[Catalogue, Document]:
    cat = deps(request).service.catalogue
    code = request.path_params["code"]
    doc = cat.items.get(code)
    if doc is None:
        raise ApiError(404, "not_found", _(NO_ITEM).format(code=code))
    return cat, doc


async def items(request: Request) -> Response:
    cat = deps(request).service.catalogue
    return JSONResponse(
        {
            "version": cat.version,
            "items": [
                {
                    "code": d.data["code"],
                    "name": d.data["name"],
                    "department": d.data["department"],
                    "type": d.data["type"],
                    "promised": d.data["time_limit"]["promised"],
                }
                for d in sorted(cat.items.values(), key=lambda d: d.data["code"])
            ],
        }
    )


async def item(request: Request) -> Response:
    cat, doc = _item(request)
    # the guide (办事指南) as the page and `yangguang show` word it: every element, 未说明 where the
    # published guide does not state one, and why it cannot be applied for (unavailable) if so
    guide = dataclasses.asdict(notice.build(cat, doc, local_date(deps(request).service.clock.now())))
    return JSONResponse({"version": cat.version, "file": doc.file, "item": doc.data, "guide": guide})


def _sections(cat: Catalogue, item: Mapping[str, Any]) -> list[dict[str, Any]]:
    sections = []
    for entry in item.get("form", {}).get("sections", []):
        section = cat.data(cat.forms[entry]) if isinstance(entry, str) and entry in cat.forms else entry
        if isinstance(section, Mapping):
            sections.append({k: section.get(k) for k in ("id", "title", "hint", "when")})
    return sections


async def item_form(request: Request) -> Response:
    cat, doc = _item(request)
    item = cat.data(doc)
    fields = [
        {"name": name, "required": info.spec.get("required", False)}
        | ({"unit": YUAN} if info.spec["type"] == "money" else {})  # an amount's unit is always said
        | {k: info.spec[k] for k in _FIELD_KEYS if k in info.spec}
        for name, info in item_fields(doc, cat.forms).items()
    ]
    materials = [
        {
            "id": m["id"],
            "name": m["name"],
            "required": m["required"],
            "shared": bool(m.get("shared", False)),
            "produced_by": m.get("produced_by"),
        }
        | {k: m[k] for k in _MATERIAL_KEYS if k in m}
        for m in stated.materials(item)
    ]
    out = {
        "item": request.path_params["code"],
        "name": item["name"],
        "sections": _sections(cat, item),
        "fields": fields,
        "materials": materials,
    }
    return JSONResponse(json.loads(json.dumps(out, ensure_ascii=False, default=str)))
