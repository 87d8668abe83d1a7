"""One submitted value as its field type's typed value, and the rules beyond the type (checksums,
bounds, lengths, regions): ``coerce`` and ``check`` raise :class:`Invalid` with the translation
catalogue's message, which engine.rules.forms turns into a ``FieldError`` for the field.

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
from collections.abc import Callable, Mapping
from decimal import Decimal, InvalidOperation
from typing import Any

from engine.base import identifiers, regions
from engine.base.i18n import N_, gettext
from engine.base.money import YUAN, places

CENT = Decimal("0.01")
TRUE_WORDS = frozenset({"true", "on", "1", "yes", "y", "是"})
FALSE_WORDS = frozenset({"false", "off", "0", "no", "n", "否"})
_DATE = re.compile(r"([0-9]{4})[-/.年]([0-9]{1,2})[-/.月]([0-9]{1,2})日?")
_INTEGER = re.compile(r"[+-]?[0-9]+")
_DECIMAL = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)")


Params = tuple[tuple[str, "str | int | tuple[str, ...]"], ...]
"""A message's parameters: labels and figures as written; a tuple is a list joined by the language's 、."""


def fill(words: str, params: Params, translate: bool) -> str:
    """``words`` (a catalogue msgid with %(name)s parameters) filled in, in Chinese or the request's language."""
    sep = gettext("、") if translate else "、"
    values = {k: sep.join(v) if isinstance(v, tuple) else v for k, v in params}
    return (gettext(words) if translate else words) % values


class Invalid(Exception):
    def __init__(self, code: str, words: str, **params: str | int | tuple[str, ...]) -> None:
        self.code, self.words, self.params = code, words, tuple(params.items())
        self.message = fill(words, self.params, False)
        super().__init__(self.message)

    def text(self) -> str:
        """The message in the request's language."""
        return fill(self.words, self.params, True)


def empty(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip()) or value == [] or value == {}


def _text(value: Any, label: str) -> str:
    if isinstance(value, bool) or not isinstance(value, str | int | Decimal):
        raise Invalid("invalid_option", N_("%(label)s应填写一段文字，请重新填写"), label=label)
    return str(value).strip()


MAX_DIGITS = 20
"""Digits a number field takes: every real figure fits (a price of 10^15 元 to the fen has 17), and
Decimal's default context (28 digits) rounds or refuses longer ones."""


def _decimal(value: Any, label: str) -> Decimal:
    if isinstance(value, bool):
        raise Invalid("not_a_number", N_("%(label)s应为数字，请填写数字"), label=label)
    if isinstance(value, float):
        value = repr(value)  # the shortest text that reads back as this float: 0.1 → "0.1"
    if isinstance(value, int | Decimal):
        value = str(value)
    text = unicodedata.normalize("NFKC", value).strip().replace(",", "") if isinstance(value, str) else ""
    if not _DECIMAL.fullmatch(text):
        raise Invalid("not_a_number", N_("%(label)s应为数字，请只填写数字（可带小数点）"), label=label)
    if sum(ch.isdigit() for ch in text) > MAX_DIGITS:  # past Decimal's 28-digit context: quantize would fail
        raise Invalid(
            "not_a_number",
            N_("%(label)s的数字过长（至多 %(digits)s 位），请核对后重新填写"),
            label=label,
            digits=MAX_DIGITS,
        )
    try:
        return Decimal(text)
    except InvalidOperation:  # pragma: no cover - the pattern already rules this out
        raise Invalid("not_a_number", N_("%(label)s应为数字，请只填写数字"), label=label) from None


def coerce(spec: Mapping[str, Any], value: Any) -> Any:
    """A submitted value as its field type's typed value; raises Invalid with a message."""
    return converter(spec["type"])(spec, value)


def converter(kind: str) -> Converter:
    """The function ``coerce`` applies to a field of type ``kind`` (a compiled form keeps it per field)."""
    return _CONVERTERS.get(kind, _to_text)


def _to_integer(spec: Mapping[str, Any], value: Any) -> Any:
    number = _decimal(value, spec["label"])
    if number != number.to_integral_value():
        raise Invalid("not_a_number", N_("%(label)s应为整数，请填写不带小数的数字"), label=spec["label"])
    return int(number)


def _to_number(spec: Mapping[str, Any], value: Any) -> Any:
    return _plain(_decimal(value, spec["label"]))


def _to_money(spec: Mapping[str, Any], value: Any) -> Any:
    label = spec["label"]
    amount, unit = _decimal(value, label), str(spec.get("unit", YUAN))
    exact = Decimal(1).scaleb(-places(unit))  # one fen in this unit: 0.01 元, 0.000001 万元
    if amount != amount.quantize(exact):
        raise Invalid(
            "not_a_number",
            N_("%(label)s以%(unit)s为单位，最多保留%(places)s位小数（精确到分），请重新填写"),
            label=label,
            unit=unit,
            places=places(unit),
        )
    if amount == amount.quantize(CENT):
        return _plain(amount.quantize(CENT))
    return _plain(amount.normalize())  # 1234.5678 万元: every digit that counts, no trailing zeros


def _to_boolean(spec: Mapping[str, Any], value: Any) -> Any:
    if isinstance(value, bool):
        return value
    word = str(value).strip().lower()
    if word in TRUE_WORDS:
        return True
    if word in FALSE_WORDS:
        return False
    raise Invalid("invalid_option", N_("%(label)s请选择“是”或“否”"), label=spec["label"])


def _to_checkbox(spec: Mapping[str, Any], value: Any) -> Any:
    values = value if isinstance(value, list | tuple) else [value]
    chosen: list[Any] = []
    for v in values:
        if not empty(v) and (option := _option(spec, v)) not in chosen:
            chosen.append(option)
    return chosen


def _to_date(spec: Mapping[str, Any], value: Any) -> Any:
    return _date(value, spec["label"])


def _to_text(spec: Mapping[str, Any], value: Any) -> Any:
    kind, text = spec["type"], _text(value, spec["label"])
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
    raise Invalid(
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
    raise Invalid("invalid_date", N_("%(label)s不是有效日期，请按 年-月-日 填写，如 2026-01-05"), label=label)


Converter = Callable[[Mapping[str, Any], Any], Any]
_CONVERTERS: dict[str, Converter] = {
    "integer": _to_integer,
    "number": _to_number,
    "money": _to_money,
    "boolean": _to_boolean,
    "select": _option,
    "radio": _option,
    "checkbox": _to_checkbox,
    "date": _to_date,
}


def checked(spec: Mapping[str, Any]) -> bool:
    """Whether ``check`` has anything to check for this field (most text fields: nothing)."""
    return spec["type"] in _CHECKED or "max_length" in spec


def check(spec: Mapping[str, Any], value: Any) -> None:
    """Rules beyond the type: checksums, bounds, lengths."""
    kind, label = spec["type"], spec["label"]
    if kind in _IDENTIFIERS:
        problem = _IDENTIFIERS[kind](value)
        if problem is not None:
            raise Invalid(f"invalid_{kind}", problem, label=label)
    if kind == "area":  # a county-level code from the shipped list, inside the field's ``within`` if any
        found = regions.problem_words(str(value), label, spec.get("within"))
        if found is not None:
            raise Invalid("invalid_area", found[0], **found[1])
    if kind in ("number", "integer", "money"):
        number, unit = Decimal(str(value)), spec.get("unit", "")
        if kind == "money" and "min" not in spec and number < 0:
            raise Invalid("too_small", N_("%(label)s不能为负数，请填写 0 或正数金额"), label=label)
        if "min" in spec and number < Decimal(str(spec["min"])):
            words = N_("%(label)s不能小于 %(min)s%(unit)s，请核对后重新填写")
            raise Invalid("too_small", words, label=label, min=str(spec["min"]), unit=unit)
        if "max" in spec and number > Decimal(str(spec["max"])):
            words = N_("%(label)s不能大于 %(max)s%(unit)s，请核对后重新填写")
            raise Invalid("too_large", words, label=label, max=str(spec["max"]), unit=unit)
    if isinstance(value, str) and "max_length" in spec and len(value) > spec["max_length"]:
        words = N_("%(label)s最多 %(max)s 个字，当前 %(count)s 个字，请删减")
        raise Invalid("too_long", words, label=label, max=spec["max_length"], count=len(value))


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
_CHECKED = frozenset({*_IDENTIFIERS, "area", "number", "integer", "money"})  # types ``check`` has rules for
