"""Server-side checking of an application against its item: every error at once.

Application data is ``{section: {field: value}}`` (flat ``{"section.field": value}``
is accepted too). Values come from a web form (strings) or JSON; ``normalise`` turns
them into typed values per field type and drops the fields the applicant was not
asked (a section or field whose ``when`` does not hold), so hidden conditional
fields never reach a case. ``validate`` returns the normalised data and a list of
``FieldError`` with Chinese messages that say what to do. Nothing here prints.

Each value is read as its field type's typed value and checked by engine.rules.form_values.
"""

from __future__ import annotations

import operator
from collections.abc import Mapping
from dataclasses import dataclass, replace
from dataclasses import field as _field
from typing import Any

from engine.base import delivery, regions, stated
from engine.base.conditions import evaluate
from engine.base.i18n import N_
from engine.base.money import MONEY_UNITS, YUAN
from engine.catalogue.fields import FieldInfo, item_fields
from engine.catalogue.model import Catalogue, Document
from engine.rules.form_values import Converter, Invalid, Params, check, checked, converter, empty, fill

MATERIALS = "materials"


@dataclass(frozen=True)
class FieldError:
    field: str  # "section.field" or "materials.<id>"
    message: str  # Chinese, says what to do (the API answers with it)
    code: str  # required, invalid_id_card, invalid_uscc, invalid_phone, invalid_option, not_a_number,
    # too_small, too_large, too_long, invalid_date, invalid_email, invalid_area, unknown_field, missing_material
    # the catalogue msgid ``message`` was filled from ("" when it is not from the catalogue) and its parameters;
    # not compared: two errors that say the same thing are equal however they were made
    words: str = _field(default="", compare=False)
    params: Params = _field(default=(), compare=False)

    def text(self) -> str:
        """The message in the request's language: pages show this (Chinese: ``message`` itself)."""
        return fill(self.words, self.params, True) if self.words else self.message

    def translated(self) -> FieldError:
        """This error with its message in the request's language, for templates that read ``message``."""
        return replace(self, message=self.text())


def field_error(field: str, code: str, words: str, **params: str | int | tuple[str, ...]) -> FieldError:
    """A FieldError whose Chinese message is ``words`` filled with ``params`` and that pages translate."""
    items = tuple(params.items())
    return FieldError(field, fill(words, items, False), code, words, items)


# ---------------------------------------------------------------- the item's form, compiled once


@dataclass(frozen=True, slots=True)
class _Slot:
    """One field of a compiled form: where its value sits and the conditions that show it."""

    info: FieldInfo
    section: str
    key: str
    conditions: tuple[Any, ...]  # the section's ``when`` and the field's own, those that are set
    convert: Converter  # engine.rules.form_values.coerce for this field's type
    checked: bool  # engine.rules.form_values.check has rules for it


@dataclass(frozen=True, slots=True)
class _Compiled:
    """An item's form prepared once: the fields in form order, their conditions, the section ids.

    ``anchors`` are the item's and its sections' data objects it was built from; a catalogue
    that holds other objects under the same version and code (a test's synthetic item, a
    snapshot read again) compiles its own."""

    fields: dict[str, FieldInfo]
    slots: tuple[_Slot, ...]
    sections: frozenset[str]
    conditional: bool  # any field or section has a ``when``: visibility needs the fixed point
    anchors: tuple[Any, ...]


_COMPILED: dict[tuple[str, str], _Compiled] = {}
_COMPILED_MAX = 512  # item forms kept (a center has a few hundred items; a reload compiles again)


def _anchors(cat: Catalogue, item: Any) -> tuple[Any, ...]:
    """The data objects a form is built from: the item's, then each named section's (None when unknown)."""
    named = [e for e in item.get("form", {}).get("sections", []) if isinstance(e, str)]
    return (item, *(cat.data(cat.forms[e]) if e in cat.forms else None for e in named))


def _compiled(cat: Catalogue, item_doc: Document) -> _Compiled:
    """The item's compiled form, from the cache when built from these very objects (why: the form of
    a catalogue version never changes, and building it was a third of checking an application)."""
    item = cat.data(item_doc) or {}
    key = (cat.version, str(item.get("code", item_doc.file)))
    anchors = _anchors(cat, item)
    found = _COMPILED.get(key)
    if found is not None and len(found.anchors) == len(anchors) and all(map(operator.is_, found.anchors, anchors)):
        return found
    fields, section_when = _form(cat, item_doc)
    slots = []
    for name, info in fields.items():
        section, _, field_key = name.partition(".")
        conditions = (section_when.get(section), info.spec.get("when"))
        shown_when = tuple(c for c in conditions if c is not None)
        slots.append(_Slot(info, section, field_key, shown_when, converter(info.spec["type"]), checked(info.spec)))
    compiled = _Compiled(
        fields,
        tuple(slots),
        frozenset(s.section for s in slots),
        any(s.conditions for s in slots),
        anchors,
    )
    if len(_COMPILED) >= _COMPILED_MAX:
        _COMPILED.clear()
    _COMPILED[key] = compiled
    return compiled


def _form(cat: Catalogue, item_doc: Document) -> tuple[dict[str, FieldInfo], dict[str, Any]]:
    """(fields by section.field, section show-conditions by section id) of an item's form."""
    item = cat.data(item_doc) or {}
    for entry in item.get("form", {}).get("sections", []):  # item_fields reads form data directly
        if isinstance(entry, str) and entry in cat.forms:
            cat.data(cat.forms[entry])
    fields = item_fields(item_doc, cat.forms)
    section_when: dict[str, Any] = {}
    for entry in item.get("form", {}).get("sections", []):
        section = (cat.forms[entry].data if entry in cat.forms else None) if isinstance(entry, str) else entry
        if section is not None:
            section_when.setdefault(section["id"], section.get("when"))
    return fields, section_when


def _nest(data: Mapping[str, Any]) -> tuple[dict[str, dict[str, Any]], list[str]]:
    """Nested {section: {field: value}} from nested or flat data, and the keys that fit neither."""
    nested: dict[str, dict[str, Any]] = {}
    odd: list[str] = []
    for key, value in data.items():
        key = str(key)
        if "." in key:
            section, _, name = key.partition(".")
            nested.setdefault(section, {})[name] = value
        elif isinstance(value, Mapping):
            nested.setdefault(key, {}).update({str(k): v for k, v in value.items()})
        else:
            odd.append(key)
    return nested, odd


_CHOSEN = frozenset({"select", "radio", "checkbox", "boolean", "delivery"})  # fields answered by choosing


def field_specs(item: Mapping[str, Any], sections: Mapping[str, Any]) -> dict[str, Mapping[str, Any]]:
    """Every field of an item's form as ``section.field`` -> its YAML spec, from plain data: the item and
    its reusable sections by id (a case's pinned snapshot: ``snap["item"]``, ``snap["forms"]``)."""
    out: dict[str, Mapping[str, Any]] = {}
    for entry in item.get("form", {}).get("sections", []):
        section = sections.get(entry) if isinstance(entry, str) else entry
        if not isinstance(section, Mapping):
            continue
        for spec in section.get("fields", []):
            if spec.get("type") == "delivery":  # the item's own methods, as crossref.item_fields asks them
                spec = delivery.field_for(spec, item) or spec
            out.setdefault(f"{section['id']}.{spec['id']}", spec)
    return out


def money_units(item: Mapping[str, Any], sections: Mapping[str, Any]) -> dict[str, str]:
    """The unit every money field of the form is asked in (元 or 万元), for engine.rules.fees.assess."""
    specs = field_specs(item, sections)
    return {name: str(spec.get("unit", YUAN)) for name, spec in specs.items() if spec["type"] == "money"}


def area_answers(data: Mapping[str, Any], item: Mapping[str, Any], sections: Mapping[str, Any]) -> dict[str, Any]:
    """``{section.field: {"code", "name"}}`` of every region answered (the API keeps the code in ``data``
    and gives the name beside it: 230202 → 黑龙江省齐齐哈尔市龙沙区)."""
    out: dict[str, Any] = {}
    for name, spec in field_specs(item, sections).items():
        section, _, key = name.partition(".")
        given = data.get(section)
        if spec["type"] == "area" and isinstance(given, Mapping):
            found = regions.answer(given.get(key))
            if found is not None:
                out[name] = found
    return out


def money_text(value: Any, unit: str) -> str:
    """A stored amount as the applicant typed it, in its unit: ``1200.00 万元``."""
    return f"{value} {unit if unit in MONEY_UNITS else YUAN}"


# ---------------------------------------------------------------- coercion per field type


# ---------------------------------------------------------------- visibility and the public API


class _Typed:
    """An application's values read once per field: typed values (or the stripped value as given, for
    conditions, when it cannot be read) and the error each unreadable field gave."""

    __slots__ = ("invalid", "values")

    def __init__(self, form: _Compiled, nested: Mapping[str, Mapping[str, Any]]) -> None:
        self.values: dict[str, Any] = {}  # flat {section.field: typed value}, non-empty only (no visibility)
        self.invalid: dict[str, Invalid] = {}
        for slot in form.slots:
            value = nested.get(slot.section, {}).get(slot.key)
            if empty(value):
                continue
            try:
                typed = slot.convert(slot.info.spec, value)
            except Invalid as exc:
                self.invalid[slot.info.name] = exc
                typed = value.strip() if isinstance(value, str) else value  # conditions still see it
            if not empty(typed):
                self.values[slot.info.name] = typed


def _shown(form: _Compiled, typed: Mapping[str, Any]) -> list[_Slot]:
    """Fields whose section and field conditions hold, with hidden fields' values taken away.

    A condition may name a field that is itself hidden; dropping hidden values and
    re-evaluating until nothing changes makes such a chain consistent.
    """
    if not form.conditional:
        return list(form.slots)
    current = dict(typed)
    shown: list[_Slot] = []
    for _ in range(len(form.slots) + 1):
        shown = [s for s in form.slots if all(evaluate(c, current) for c in s.conditions)]
        names = {s.info.name for s in shown}
        kept = {k: v for k, v in typed.items() if k in names}
        if kept == current:
            break
        current = kept
    return shown


def _prepare(
    cat: Catalogue, item_doc: Document, data: Mapping[str, Any]
) -> tuple[_Compiled, list[_Slot], dict[str, Any], dict[str, dict[str, Any]], list[str], _Typed]:
    form = _compiled(cat, item_doc)
    nested, odd = _nest(data)
    typed = _Typed(form, nested)
    shown = _shown(form, typed.values)
    flat = {s.info.name: typed.values[s.info.name] for s in shown if s.info.name in typed.values}
    return form, shown, flat, nested, odd, typed


def visible_fields(cat: Catalogue, item_doc: Document, data: Mapping[str, Any]) -> list[FieldInfo]:
    """The fields the applicant is asked, in form order: section ``when`` and field ``when`` hold."""
    return [slot.info for slot in _prepare(cat, item_doc, data)[1]]


def _to_nested(flat: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    out: dict[str, dict[str, Any]] = {}
    for name, value in flat.items():
        section, _, key = name.partition(".")
        out.setdefault(section, {})[key] = value
    return out


def normalise(cat: Catalogue, item_doc: Document, data: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    """Typed values of the visible, filled-in fields as ``{section: {field: value}}``.

    Values that cannot be read as their type are kept stripped, as given, for
    ``validate`` to report; unknown and hidden fields are dropped.
    """
    return _to_nested(_prepare(cat, item_doc, data)[2])


def required_materials(cat: Catalogue, item_doc: Document, data: Mapping[str, Any]) -> list[dict[str, Any]]:
    """Materials required for this application, in item order.

    Each is ``{id, name, required: True, shared, produced_by}``; shared materials (data
    sharing) and those produced by another item are listed but need no upload.
    """
    return _materials(cat, item_doc, _prepare(cat, item_doc, data)[2])


def _materials(cat: Catalogue, item_doc: Document, flat: Mapping[str, Any]) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for material in stated.materials(cat.data(item_doc) or {}):
        rule = material["required"]
        if rule is True or (isinstance(rule, Mapping) and evaluate(rule, flat)):
            out.append(
                {
                    "id": material["id"],
                    "name": material["name"],
                    "required": True,
                    "shared": bool(material.get("shared", False)),
                    "produced_by": material.get("produced_by"),
                }
            )
    return out


def validate(
    cat: Catalogue,
    item_doc: Document,
    data: Mapping[str, Any],
    uploads: Mapping[str, list[str]] | None = None,
) -> tuple[dict[str, dict[str, Any]], list[FieldError]]:
    """(normalised data, every error) for an application; no errors means it can be accepted.

    ``uploads`` maps material id → upload ids; ``None`` skips the material checks (a form
    saved before its uploads), ``{}`` checks them with nothing uploaded.
    """
    form, shown, flat, nested, odd, typed = _prepare(cat, item_doc, data)
    sections = form.sections
    errors = [
        field_error(key, "unknown_field", N_("“%(key)s”应按表单分组逐项填写，请重新提交"), key=key)
        if key in sections
        else field_error(
            key, "unknown_field", N_("申请数据中的“%(key)s”不是本事项表单的分组，请删除后重新提交"), key=key
        )
        for key in odd
    ]
    for section, values in nested.items():
        if section not in sections:
            words = N_("本事项表单没有“%(section)s”分组，请删除这部分内容后重新提交")
            errors.append(field_error(section, "unknown_field", words, section=section))
            continue
        for key in values:
            if f"{section}.{key}" not in form.fields:
                words = N_("本事项表单的该分组没有“%(key)s”字段，请删除后重新提交")
                errors.append(field_error(f"{section}.{key}", "unknown_field", words, key=key))
    for slot in shown:
        info, spec = slot.info, slot.info.spec
        if info.name not in flat:
            rule = spec.get("required", False)
            if rule is True or (isinstance(rule, Mapping) and evaluate(rule, flat)):
                words = N_("请选择%(label)s") if spec["type"] in _CHOSEN else N_("请填写%(label)s")  # chosen, not typed
                errors.append(field_error(info.name, "required", words, label=spec["label"]))
            continue
        failed = typed.invalid.get(info.name)  # read once in _Typed: the same value gives the same error
        if failed is None and slot.checked:
            try:
                check(spec, flat[info.name])
            except Invalid as exc:
                failed = exc
        if failed is not None:
            errors.append(FieldError(info.name, failed.message, failed.code, failed.words, failed.params))
    if uploads is not None:
        errors.extend(_material_errors(cat, item_doc, flat, uploads))
    return _to_nested(flat), errors


def _material_errors(
    cat: Catalogue, item_doc: Document, flat: Mapping[str, Any], uploads: Mapping[str, list[str]]
) -> list[FieldError]:
    errors: list[FieldError] = []
    known = {m["id"] for m in stated.materials(cat.data(item_doc) or {})}
    for material_id in uploads:
        if material_id not in known:
            words = N_("本事项没有“%(material)s”这项材料，请删除该上传后重新提交")
            errors.append(field_error(f"{MATERIALS}.{material_id}", "unknown_field", words, material=material_id))
    for material in _materials(cat, item_doc, flat):
        if material["shared"] or material["produced_by"]:
            continue
        if not [u for u in uploads.get(material["id"]) or [] if u]:
            words = N_("请上传%(name)s")
            errors.append(
                field_error(f"{MATERIALS}.{material['id']}", "missing_material", words, name=material["name"])
            )
    return errors
