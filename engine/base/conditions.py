"""The closed condition vocabulary used by fields, materials and fee lines.

A condition is data, never an expression string::

    {field: applicant.type, eq: legal_person}
    {all: [...]}, {any: [...]}, {not: {...}}
    operators: eq ne in gt gte lt lte present

The same vocabulary is evaluated by the browser later (engine/web/static), so keep
the semantics small and explicit: a missing or empty field is "absent"; every
comparison with an absent field is false except ``ne`` (true) and
``present: false`` (true).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Mapping
from decimal import Decimal, InvalidOperation
from typing import Any

from engine.base.i18n import N_

Condition = Mapping[str, Any]
OPERATORS = ("eq", "ne", "in", "gt", "gte", "lt", "lte", "present")


def lookup(data: Mapping[str, Any], field: str) -> Any:
    """Return the value of ``section.field`` in application data, or None when absent.

    Data may be nested (``{"applicant": {"type": ...}}``) or flat
    (``{"applicant.type": ...}``).
    """
    if field in data:
        return data[field]
    value: Any = data
    for part in field.split("."):
        if not isinstance(value, Mapping) or part not in value:
            return None
        value = value[part]
    return value


def _absent(value: Any) -> bool:
    return value is None or value == "" or value == [] or value == {}


_DIGIT = re.compile("[0-9]").search
_NUMBER_WORDS = frozenset(f"{sign}{word}" for sign in ("", "+", "-") for word in ("inf", "infinity", "nan", "snan"))


def _number(value: Any) -> Decimal | None:
    if isinstance(value, bool):
        return None
    if type(value) is str and value.isascii() and _DIGIT(value) is None and value.strip().lower() not in _NUMBER_WORDS:
        # no digit and no Infinity or NaN: Decimal would refuse it, but only by raising, which costs
        # more than the rest of a comparison (most of a fee schedule's are of words, e.g. a type)
        return None
    try:
        return Decimal(str(value))
    except (InvalidOperation, ValueError):
        return None


def _equal(actual: Any, expected: Any) -> bool:
    if isinstance(actual, list):  # a checkbox group holds when any ticked value matches
        return any(_equal(a, expected) for a in actual)
    if isinstance(expected, bool) or isinstance(actual, bool):
        return actual is expected or str(actual).lower() == str(expected).lower()
    if actual == expected:
        return True
    a, e = _number(actual), _number(expected)
    if a is not None and e is not None:
        return a == e
    return str(actual) == str(expected)


def evaluate(condition: Condition, data: Mapping[str, Any]) -> bool:
    """Evaluate a schema-valid condition against application data.

    >>> evaluate({"field": "applicant.type", "eq": "legal_person"}, {"applicant": {"type": "legal_person"}})
    True
    >>> big = {"any": [{"field": "site.area", "gt": 100}, {"field": "site.floors", "gte": 3}]}
    >>> evaluate(big, {"site": {"area": "80", "floors": 3}})  # form text compares as a number
    True

    An absent field fails every comparison except ``ne``:

    >>> evaluate({"field": "applicant.phone", "eq": "110"}, {}), evaluate({"field": "applicant.phone", "ne": "110"}, {})
    (False, True)
    """
    if "all" in condition:
        return all(evaluate(c, data) for c in condition["all"])
    if "any" in condition:
        return any(evaluate(c, data) for c in condition["any"])
    if "not" in condition:
        return not evaluate(condition["not"], data)
    actual = lookup(data, condition["field"])
    if "present" in condition:
        return (not _absent(actual)) is bool(condition["present"])
    if "ne" in condition:
        return _absent(actual) or not _equal(actual, condition["ne"])
    if _absent(actual):
        return False
    if "eq" in condition:
        return _equal(actual, condition["eq"])
    if "in" in condition:
        return any(_equal(actual, v) for v in condition["in"])
    a = _number(actual)
    for op in ("gt", "gte", "lt", "lte"):
        if op in condition:
            b = _number(condition[op])
            if a is None or b is None:
                return False
            return {"gt": a > b, "gte": a >= b, "lt": a < b, "lte": a <= b}[op]
    raise ValueError(f"not a condition: {dict(condition)!r}")


def leaves(condition: Any, path: tuple[str | int, ...] = ()) -> Iterator[tuple[tuple[str | int, ...], Condition]]:
    """Yield (path, comparison) for every ``{field: …, op: …}`` inside a condition.

    Tolerates shapes a schema would reject (so checks can run on anything)."""
    if not isinstance(condition, Mapping):
        return
    for key in ("all", "any"):
        if isinstance(condition.get(key), list):
            for i, sub in enumerate(condition[key]):
                yield from leaves(sub, (*path, key, i))
    if "not" in condition:
        yield from leaves(condition["not"], (*path, "not"))
    if isinstance(condition.get("field"), str):
        yield path, condition


def referenced_fields(
    condition: Condition, path: tuple[str | int, ...] = ()
) -> Iterator[tuple[tuple[str | int, ...], str]]:
    """Yield (path-to-the-field-key, field name) for every field a condition names."""
    for leaf_path, leaf in leaves(condition, path):
        yield (*leaf_path, "field"), leaf["field"]


def _same(words: str) -> str:
    return words


def describe(
    condition: Condition, labels: Mapping[str, str] | None = None, translate: Callable[[str], str] = _same
) -> str:
    """Spell a condition out in words for guides and one-time notices: Chinese, or with ``translate``
    (engine.base.i18n.gettext) in the request's language; labels (catalogue data) stay as written.

    >>> labels = {"applicant.type": "申请人类型", "=legal_person": "法人", "site.area": "建筑面积"}
    >>> firm_and_big = {"all": [{"field": "applicant.type", "eq": "legal_person"}, {"field": "site.area", "gt": 100}]}
    >>> describe(firm_and_big, labels)
    '申请人类型为法人并且建筑面积大于100'
    """
    labels = labels or {}
    t = translate

    def value_text(v: Any) -> str:
        if isinstance(v, bool):
            return t(N_("是")) if v else t(N_("否"))
        return labels.get(f"={v}", str(v))

    def part(c: Condition) -> str:
        return (
            t(N_("（%(condition)s）")) % {"condition": describe(c, labels, t)}
            if _compound(c)
            else describe(c, labels, t)
        )

    if "all" in condition:
        return t(N_("并且")).join(part(c) for c in condition["all"])
    if "any" in condition:
        return t(N_("或者")).join(part(c) for c in condition["any"])
    if "not" in condition:
        return t(N_("并非（%(condition)s）")) % {"condition": describe(condition["not"], labels, t)}
    name = labels.get(condition["field"], condition["field"])
    if "present" in condition:
        return t(N_("已填写%(name)s") if condition["present"] else N_("未填写%(name)s")) % {"name": name}
    for op, words in (
        ("eq", N_("%(name)s为%(value)s")),
        ("ne", N_("%(name)s不为%(value)s")),
        ("gt", N_("%(name)s大于%(value)s")),
        ("gte", N_("%(name)s不小于%(value)s")),
        ("lt", N_("%(name)s小于%(value)s")),
        ("lte", N_("%(name)s不大于%(value)s")),
    ):
        if op in condition:
            return t(words) % {"name": name, "value": value_text(condition[op])}
    if "in" in condition:
        values = t(N_("、")).join(value_text(v) for v in condition["in"])
        return t(N_("%(name)s为%(values)s之一")) % {"name": name, "values": values}
    raise ValueError(f"not a condition: {dict(condition)!r}")


def _compound(condition: Condition) -> bool:
    return "all" in condition or "any" in condition
