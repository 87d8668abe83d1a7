"""What a fee schedule (收费标准, ``fees/<id>.yaml``) says, read without application data: its
line kinds, the money it is written in (integer fen, never floats), numbers and bands in words,
the labels of the fields it reads and where it reads them, and the errors an assessment raises."""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from decimal import Decimal
from typing import Any

from engine.base import conditions
from engine.base.result import Path

KINDS = ("fixed", "per_unit", "tiered", "percentage")
NUMERIC_TYPES = ("integer", "number", "money")
CHOICE_TYPES = ("select", "radio", "checkbox")
_MONEY = re.compile(r"[0-9]+(\.[0-9]{1,2})?\Z")


class FeeDataError(ValueError):
    """The application data cannot be assessed: a field is missing, not a number, or out of range."""


class FeeNotInForce(FeeDataError):
    """The assessment date is outside the schedule's effective period."""


def to_fen(money: int | str | Decimal) -> int:
    """Convert a YAML money value (integer yuan, or a string such as "12.50") to integer fen.

    Floats are refused: 0.1 + 0.2 is not 0.3 in binary, and money must be exact.

    >>> to_fen(80), to_fen("12.50"), to_fen("0.05")
    (8000, 1250, 5)
    >>> to_fen(0.1)
    Traceback (most recent call last):
    TypeError: money must be integer yuan or a string like "12.50", not 0.1
    """
    if isinstance(money, bool) or isinstance(money, float):
        raise TypeError(f'money must be integer yuan or a string like "12.50", not {money!r}')
    if isinstance(money, int):
        return money * 100
    if isinstance(money, str):
        text = money.strip()
        negative = text.startswith("-")
        if not _MONEY.match(text.removeprefix("-")):
            raise ValueError(f'{money!r} is not an amount in yuan with at most two decimals, such as "12.50"')
        fen = int((Decimal(text.removeprefix("-")) * 100).to_integral_value())
        return -fen if negative else fen
    if isinstance(money, Decimal):
        if not money.is_finite() or money != money.quantize(Decimal("0.01")):
            raise ValueError(f"{money} is not an amount in yuan with at most two decimals")
        return int(money * 100)
    raise TypeError(f'money must be integer yuan or a string like "12.50", not {money!r}')


def format_fen(fen: int) -> str:
    """Format integer fen as yuan with two decimals.

    >>> format_fen(8000), format_fen(5), format_fen(-27500)
    ('80.00 元', '0.05 元', '-275.00 元')
    """
    sign = "-" if fen < 0 else ""
    whole, cents = divmod(abs(fen), 100)
    return f"{sign}{whole}.{cents:02d} 元"


def decimal_of(value: Any) -> Decimal:
    """A schema-valid decimal or money value from a schedule (int or numeric string)."""
    return Decimal(str(value).strip())


def num_text(value: Decimal) -> str:
    """A plain number without exponent or trailing zeros: 3, 120.5, 0.025."""
    text = format(value, "f")
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return text or "0"


def span_text(lower: Decimal | None, upper: Decimal | None, unit: str) -> str:
    """A tier's span in a schedule's words: 不超过 10吨, 超过 10吨 至 50吨, 超过 50吨."""
    if lower is None and upper is None:
        return "全部"
    if lower is None:
        return f"不超过 {num_text(upper or Decimal(0))}{unit}"
    if upper is None:
        return f"超过 {num_text(lower)}{unit}"
    return f"超过 {num_text(lower)}{unit} 至 {num_text(upper)}{unit}"


def field_labels(schedule: Mapping[str, Any]) -> dict[str, str]:
    """Labels for ``conditions.describe``: field name -> label, and ``=value`` -> option label."""
    out: dict[str, str] = {}
    for name, decl in (schedule.get("fields") or {}).items():
        if not isinstance(decl, Mapping):
            continue
        if isinstance(decl.get("label"), str):
            out[name] = decl["label"]
        for option in decl.get("options") or ():
            if isinstance(option, Mapping) and "value" in option and "label" in option:
                out.setdefault(f"={option['value']}", str(option["label"]))
    return out


def referenced_fields(schedule: Mapping[str, Any]) -> Iterator[tuple[Path, str]]:
    """Yield (path inside the schedule, field name) for every form field the schedule reads.

    Covers line quantities and bases, and every condition on lines, exemptions and
    reductions. The ``fields`` declarations themselves are not references.
    """
    lines = schedule.get("lines")
    for i, line in enumerate(lines if isinstance(lines, list) else ()):
        if not isinstance(line, Mapping):
            continue
        if isinstance(line.get("when"), Mapping):
            yield from conditions.referenced_fields(line["when"], ("lines", i, "when"))
        for key in ("quantity", "base"):
            if isinstance(line.get(key), str):
                yield ("lines", i, key), line[key]
    for section in ("exemptions", "reductions"):
        reliefs = schedule.get(section)
        for i, relief in enumerate(reliefs if isinstance(reliefs, list) else ()):
            if isinstance(relief, Mapping) and isinstance(relief.get("when"), Mapping):
                yield from conditions.referenced_fields(relief["when"], (section, i, "when"))
