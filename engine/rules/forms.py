"""Server-side checking of an application against its item: every error at once.

Application data is ``{section: {field: value}}`` (flat ``{"section.field": value}``
is accepted too). Values come from a web form (strings) or JSON; ``normalise`` turns
them into typed values per field type and drops the fields the applicant was not
asked (a section or field whose ``when`` does not hold), so hidden conditional
fields never reach a case. ``validate`` returns the normalised data and a list of
``FieldError`` with Chinese messages that say what to do. Nothing here prints.

Typed values: integer → int; number → decimal text ("12.5"); money → decimal text in the
field's unit (元, or 万元: engine.base.money) exact to the fen, with two decimals at least ("80.00",
"1200.00" for 1200 万元, "1234.5678" 万元; never a float); boolean → bool; checkbox → list of
option values; select/radio → the option value (int when the option's value is an
int); date → "YYYY-MM-DD"; everything else → stripped text.
"""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass, replace
from dataclasses import field as _field
from decimal import Decimal, InvalidOperation
from typing import Any

from engine.base import delivery, identifiers, regions, stated
from engine.base.conditions import evaluate
from engine.base.i18n import N_, gettext
from engine.base.money import MONEY_UNITS, YUAN, places
from engine.catalogue.fields import FieldInfo, item_fields
from engine.catalogue.model import Catalogue, Document

MATERIALS = "materials"
CENT = Decimal("0.01")
TRUE_WORDS = frozenset({"true", "on", "1", "yes", "y", "是"})
FALSE_WORDS = frozenset({"false", "off", "0", "no", "n", "否"})
_DATE = re.compile(r"([0-9]{4})[-/.年]([0-9]{1,2})[-/.月]([0-9]{1,2})日?")
_INTEGER = re.compile(r"[+-]?[0-9]+")
_DECIMAL = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)")


Params = tuple[tuple[str, "str | int | tuple[str, ...]"], ...]
"""A message's parameters: labels and figures as written; a tuple is a list joined by the language's 、."""


def _fill(words: str, params: Params, translate: bool) -> str:
    """``words`` (a catalogue msgid with %(name)s parameters) filled in, in Chinese or the request's language."""
    sep = gettext("、") if translate else "、"
    values = {k: sep.join(v) if isinstance(v, tuple) else v for k, v in params}
    return (gettext(words) if translate else words) % values


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
        return _fill(self.words, self.params, True) if self.words else self.message

    def translated(self) -> FieldError:
        """This error with its message in the request's language, for templates that read ``message``."""
        return replace(self, message=self.text())


def field_error(field: str, code: str, words: str, **params: str | int | tuple[str, ...]) -> FieldError:
    """A FieldError whose Chinese message is ``words`` filled with ``params`` and that pages translate."""
    items = tuple(params.items())
    return FieldError(field, _fill(words, items, False), code, words, items)


class _Invalid(Exception):
    def __init__(self, code: str, words: str, **params: str | int | tuple[str, ...]) -> None:
        self.code, self.words, self.params = code, words, tuple(params.items())
        self.message = _fill(words, self.params, False)
        super().__init__(self.message)

    def error(self, field: str) -> FieldError:
        return FieldError(field, self.message, self.code, self.words, self.params)


# ---------------------------------------------------------------- the item's form


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


def _empty(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip()) or value == [] or value == {}


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
            if spec.get("type") == "delivery":  # the item's own methods, as catalogue.fields.item_fields asks them
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


def _text(value: Any, label: str) -> str:
    if isinstance(value, bool) or not isinstance(value, str | int | Decimal):
        raise _Invalid("invalid_option", N_("%(label)s应填写一段文字，请重新填写"), label=label)
    return str(value).strip()


MAX_DIGITS = 20
"""Digits a number field takes: every real figure fits (a price of 10^15 元 to the fen has 17), and
Decimal's default context (28 digits) rounds or refuses longer ones."""


def _decimal(value: Any, label: str) -> Decimal:
    if isinstance(value, bool):
        raise _Invalid("not_a_number", N_("%(label)s应为数字，请填写数字"), label=label)
    if isinstance(value, float):
        value = repr(value)  # the shortest text that reads back as this float: 0.1 → "0.1"
    if isinstance(value, int | Decimal):
        value = str(value)
    text = unicodedata.normalize("NFKC", value).strip().replace(",", "") if isinstance(value, str) else ""
    if not _DECIMAL.fullmatch(text):
        raise _Invalid("not_a_number", N_("%(label)s应为数字，请只填写数字（可带小数点）"), label=label)
    if sum(ch.isdigit() for ch in text) > MAX_DIGITS:  # past Decimal's 28-digit context: quantize would fail
        raise _Invalid(
            "not_a_number",
            N_("%(label)s的数字过长（至多 %(digits)s 位），请核对后重新填写"),
            label=label,
            digits=MAX_DIGITS,
        )
    try:
        return Decimal(text)
    except InvalidOperation:  # pragma: no cover - the pattern already rules this out
        raise _Invalid("not_a_number", N_("%(label)s应为数字，请只填写数字"), label=label) from None


def _coerce(spec: Mapping[str, Any], value: Any) -> Any:
    """A submitted value as its field type's typed value; raises _Invalid with a message."""
    kind, label = spec["type"], spec["label"]
    if kind == "integer":
        number = _decimal(value, label)
        if number != number.to_integral_value():
            raise _Invalid("not_a_number", N_("%(label)s应为整数，请填写不带小数的数字"), label=label)
        return int(number)
    if kind == "number":
        return _plain(_decimal(value, label))
    if kind == "money":
        amount, unit = _decimal(value, label), str(spec.get("unit", YUAN))
        exact = Decimal(1).scaleb(-places(unit))  # one fen in this unit: 0.01 元, 0.000001 万元
        if amount != amount.quantize(exact):
            raise _Invalid(
                "not_a_number",
                N_("%(label)s以%(unit)s为单位，最多保留%(places)s位小数（精确到分），请重新填写"),
                label=label,
                unit=unit,
                places=places(unit),
            )
        if amount == amount.quantize(CENT):
            return _plain(amount.quantize(CENT))
        return _plain(amount.normalize())  # 1234.5678 万元: every digit that counts, no trailing zeros
    if kind == "boolean":
        if isinstance(value, bool):
            return value
        word = str(value).strip().lower()
        if word in TRUE_WORDS:
            return True
        if word in FALSE_WORDS:
            return False
        raise _Invalid("invalid_option", N_("%(label)s请选择“是”或“否”"), label=label)
    if kind in ("select", "radio"):
        return _option(spec, value)
    if kind == "checkbox":
        values = value if isinstance(value, list | tuple) else [value]
        chosen: list[Any] = []
        for v in values:
            if not _empty(v) and (option := _option(spec, v)) not in chosen:
                chosen.append(option)
        return chosen
    if kind == "date":
        return _date(value, label)
    text = _text(value, label)
    if kind in ("id_card", "uscc", "area", "phone"):
        text = unicodedata.normalize("NFKC", text).upper()
    if kind == "phone":
        text = text.replace(" ", "")
    if kind == "email":
        text = unicodedata.normalize("NFKC", text)
    return text


def _plain(number: Decimal) -> str:
    text = format(number, "f")
    return "0" + text[2:] if text.startswith("-0") and Decimal(text) == 0 else text


def _option(spec: Mapping[str, Any], value: Any) -> Any:
    given = str(value).strip() if not isinstance(value, bool) else None
    for option in spec.get("options", []):
        if given is not None and str(option["value"]) == given:
            return option["value"]
    allowed = tuple(str(o["label"]) for o in spec.get("options", []))
    raise _Invalid(
        "invalid_option",
        N_("%(label)s的选项无效，请从以下选项中选择：%(allowed)s"),
        label=spec["label"],
        allowed=allowed,
    )


def _date(value: Any, label: str) -> str:
    if isinstance(value, dt.datetime):
        value = value.date()
    if isinstance(value, dt.date):
        return value.isoformat()
    match = _DATE.fullmatch(unicodedata.normalize("NFKC", value).strip()) if isinstance(value, str) else None
    if match is not None:
        try:
            return dt.date(*(int(g) for g in match.groups())).isoformat()
        except ValueError:
            pass
    raise _Invalid("invalid_date", N_("%(label)s不是有效日期，请按 年-月-日 填写，如 2026-01-05"), label=label)


def _check(spec: Mapping[str, Any], value: Any) -> None:
    """Rules beyond the type: checksums, bounds, lengths."""
    kind, label = spec["type"], spec["label"]
    if kind in _IDENTIFIERS:
        problem = _IDENTIFIERS[kind](value)
        if problem is not None:
            raise _Invalid(f"invalid_{kind}", problem, label=label)
    if kind == "area":  # a county-level code from the shipped list, inside the field's ``within`` if any
        found = regions.problem_words(str(value), label, spec.get("within"))
        if found is not None:
            raise _Invalid("invalid_area", found[0], **found[1])
    if kind in ("number", "integer", "money"):
        number, unit = Decimal(str(value)), spec.get("unit", "")
        if kind == "money" and "min" not in spec and number < 0:
            raise _Invalid("too_small", N_("%(label)s不能为负数，请填写 0 或正数金额"), label=label)
        if "min" in spec and number < Decimal(str(spec["min"])):
            words = N_("%(label)s不能小于 %(min)s%(unit)s，请核对后重新填写")
            raise _Invalid("too_small", words, label=label, min=str(spec["min"]), unit=unit)
        if "max" in spec and number > Decimal(str(spec["max"])):
            words = N_("%(label)s不能大于 %(max)s%(unit)s，请核对后重新填写")
            raise _Invalid("too_large", words, label=label, max=str(spec["max"]), unit=unit)
    if isinstance(value, str) and "max_length" in spec and len(value) > spec["max_length"]:
        words = N_("%(label)s最多 %(max)s 个字，当前 %(count)s 个字，请删减")
        raise _Invalid("too_long", words, label=label, max=spec["max_length"], count=len(value))


def _id_card_problem(value: str) -> str | None:
    """The msgid (with %(label)s) of what is wrong with an ID card number; None if nothing."""
    if identifiers.valid_id_card(value):
        return None
    if not re.fullmatch(r"[0-9]{17}[0-9X]", value):
        return N_("%(label)s应为 18 位：前 17 位是数字，最后一位是数字或 X，请核对后重新填写")
    if identifiers.id_card_birth_date(value) is None:
        return N_("%(label)s中的出生日期（第 7 至 14 位）不是有效日期，请核对后重新填写")
    return N_("%(label)s校验位不正确，请核对后重新填写")


def _uscc_problem(value: str) -> str | None:
    if identifiers.valid_uscc(value):
        return None
    if len(value) != 18 or any(c not in identifiers.USCC_ALPHABET for c in value):
        return N_("%(label)s应为 18 位数字或大写字母（不含 I、O、S、V、Z），请按营业执照或登记证书填写")
    return N_("%(label)s校验位不正确，请按营业执照或登记证书核对后重新填写")


def _simple(check: Any, words: str) -> Any:
    def problem(value: str) -> str | None:
        return None if check(value) else words

    return problem


_IDENTIFIERS: dict[str, Any] = {
    "id_card": _id_card_problem,
    "uscc": _uscc_problem,
    "phone": _simple(
        identifiers.valid_phone, N_("%(label)s格式不正确，请填写 11 位手机号码或带区号的固定电话，如 0452-1234567")
    ),
    "email": _simple(identifiers.valid_email, N_("%(label)s格式不正确，请填写如 name@example.com 的电子邮箱地址")),
}


# ---------------------------------------------------------------- visibility and the public API


def _typed(fields: Mapping[str, FieldInfo], nested: Mapping[str, Mapping[str, Any]]) -> dict[str, Any]:
    """Flat {section.field: typed value} of every known, non-empty, coercible field (no visibility)."""
    out: dict[str, Any] = {}
    for name, info in fields.items():
        section, _, key = name.partition(".")
        value = nested.get(section, {}).get(key)
        if _empty(value):
            continue
        try:
            typed = _coerce(info.spec, value)
        except _Invalid:
            typed = value.strip() if isinstance(value, str) else value  # conditions still see it
        if not _empty(typed):
            out[name] = typed
    return out


def _shown(
    fields: Mapping[str, FieldInfo], section_when: Mapping[str, Any], typed: Mapping[str, Any]
) -> list[FieldInfo]:
    """Fields whose section and field conditions hold, with hidden fields' values taken away.

    A condition may name a field that is itself hidden; dropping hidden values and
    re-evaluating until nothing changes makes such a chain consistent.
    """
    current = dict(typed)
    shown: list[FieldInfo] = []
    for _ in range(len(fields) + 1):
        shown = []
        for name, info in fields.items():
            section_cond = section_when.get(name.partition(".")[0])
            if (section_cond is None or evaluate(section_cond, current)) and (
                "when" not in info.spec or evaluate(info.spec["when"], current)
            ):
                shown.append(info)
        names = {f.name for f in shown}
        kept = {k: v for k, v in typed.items() if k in names}
        if kept == current:
            break
        current = kept
    return shown


def _prepare(
    cat: Catalogue, item_doc: Document, data: Mapping[str, Any]
) -> tuple[dict[str, FieldInfo], list[FieldInfo], dict[str, Any], dict[str, dict[str, Any]], list[str]]:
    fields, section_when = _form(cat, item_doc)
    nested, odd = _nest(data)
    typed = _typed(fields, nested)
    shown = _shown(fields, section_when, typed)
    return fields, shown, {f.name: typed[f.name] for f in shown if f.name in typed}, nested, odd


def visible_fields(cat: Catalogue, item_doc: Document, data: Mapping[str, Any]) -> list[FieldInfo]:
    """The fields the applicant is asked, in form order: section ``when`` and field ``when`` hold."""
    return _prepare(cat, item_doc, data)[1]


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
    fields, shown, flat, nested, odd = _prepare(cat, item_doc, data)
    sections = {name.partition(".")[0] for name in fields}
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
            if f"{section}.{key}" not in fields:
                words = N_("本事项表单的该分组没有“%(key)s”字段，请删除后重新提交")
                errors.append(field_error(f"{section}.{key}", "unknown_field", words, key=key))
    for info in shown:
        spec, label = info.spec, info.spec["label"]
        section, _, key = info.name.partition(".")
        raw = nested.get(section, {}).get(key)
        if info.name not in flat:
            rule = spec.get("required", False)
            if rule is True or (isinstance(rule, Mapping) and evaluate(rule, flat)):
                words = N_("请选择%(label)s") if spec["type"] in _CHOSEN else N_("请填写%(label)s")  # chosen, not typed
                errors.append(field_error(info.name, "required", words, label=label))
            continue
        try:
            typed = _coerce(spec, raw)
            _check(spec, typed)
        except _Invalid as exc:
            errors.append(exc.error(info.name))
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
