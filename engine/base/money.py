"""The units a money field of a form is asked in, and its stored amount as exact fen.

A money field (``type: money``) names its ``unit`` in the form YAML: 元 (the default), 万元, or
元/月 and 元/年 for an amount per month or year (schema/form.schema.json). The application stores
the amount as the applicant typed it, in that unit, as decimal text exact to the fen —
``"1200.00"`` for 1200 万元 (``engine.rules.forms``) — and the unit comes with the form section pinned
in the case's snapshot, so every page shows the amount as typed. Whatever computes with it
converts exactly: 1200 万元 is 12 000 000.00 元 (``engine.rules.fees.assess`` with
``engine.rules.forms.money_units``). Never floats.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import Any

#: each unit a money field may be asked in, and how many yuan one of it is (元/月, 元/年: yuan, per
#: month or year, as a contribution base or an income is asked)
MONEY_UNITS: dict[str, int] = {"元": 1, "万元": 10_000, "元/月": 1, "元/年": 1}
YUAN = "元"


def places(unit: str) -> int:
    """The decimals an amount in ``unit`` may have and still be a whole number of fen (元 2, 万元 6)."""
    return 2 + len(str(MONEY_UNITS[unit])) - 1


def money_fen(value: Any, unit: str = YUAN) -> int:
    """A stored money amount (decimal text in ``unit``) as exact integer fen: ``money_fen("1200.00",
    "万元")`` is 1 200 000 000 (12 000 000.00 元). ValueError unless it is a whole number of fen."""
    amount = Decimal(str(value).strip()) * MONEY_UNITS[unit] * 100
    if not amount.is_finite() or amount != amount.to_integral_value():
        raise ValueError(f"{value} {unit} is not a whole number of fen")
    return int(amount)


def amounts(data: Mapping[str, Any], units: Mapping[str, str]) -> dict[str, dict[str, Any]]:
    """Each money answer of an application as filed — ``value`` in the ``unit`` its form asked it in — and
    exactly in fen: ``{"project.investment": {"value": "1200.00", "unit": "万元", "fen": 1200000000}}``."""
    out: dict[str, dict[str, Any]] = {}
    for name, unit in units.items():
        section, _, key = name.partition(".")
        value = data.get(section, {}).get(key) if isinstance(data.get(section), Mapping) else None
        if value not in (None, ""):
            out[name] = {"value": str(value), "unit": unit, "fen": money_fen(value, unit)}
    return out
