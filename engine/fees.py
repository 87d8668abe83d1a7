"""Fee schedules (收费标准): exact, itemised assessment with its legal basis.

A schedule (``fees/<id>.yaml``, checked by ``schema/fee.schema.json``) has fee
lines of four kinds, plus exemptions (免收) and reductions (减收)::

    fixed       amount                      80 yuan per case
    per_unit    rate × (quantity − free)    10 yuan per certificate, first copy free
    tiered      bands of a numeric field    progressive (分段累计, like tax) or whole
    percentage  percent of a money field    with optional minimum and maximum

Money is exact: amounts in YAML are integer yuan or strings with at most two
decimals, held here as integer fen (1 yuan = 100 fen) and never as floats.

Rounding rule (one rule everywhere): each line is computed exactly in Decimal
and rounded once, half up, to the fen (0.005 yuan and above rounds up). A
progressive tiered line adds its exact band parts first and rounds the sum.
Minimum and maximum apply after rounding. A reduction by a percentage rounds
the amount still payable on each line half up to the fen; the relief is the
difference. The total is the exact sum of the rounded lines and reliefs.

Reliefs: an exemption sets the lines it applies to (default: all) to zero. A
reduction lowers a line that no exemption took; when several reductions hold
for one line they do not stack — the line gets the single most favourable one.

Library code: nothing here prints or exits.
"""

from __future__ import annotations

import difflib
import re
import unicodedata
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation, localcontext
from pathlib import PurePath
from typing import Any, Literal

from engine import conditions
from engine.result import Finding, Path

__all__ = [
    "AppliedRelief",
    "AssessedLine",
    "Assessment",
    "FeeDataError",
    "FeeNotInForce",
    "assess",
    "check_fee_schedule",
    "describe_schedule",
    "field_labels",
    "format_fen",
    "referenced_fields",
    "render_assessment",
    "to_fen",
]

KINDS = ("fixed", "per_unit", "tiered", "percentage")
NUMERIC_TYPES = ("integer", "number", "money")
CHOICE_TYPES = ("select", "radio", "checkbox")
_MONEY = re.compile(r"[0-9]+(\.[0-9]{1,2})?\Z")
_NUMBER = re.compile(r"[+-]?([0-9]+(\.[0-9]*)?|\.[0-9]+)\Z")
_HUNDRED = Decimal(100)


class FeeDataError(ValueError):
    """The application data cannot be assessed: a field is missing, not a number, or out of range."""


class FeeNotInForce(FeeDataError):
    """The assessment date is outside the schedule's effective period."""


# --- money -----------------------------------------------------------------------------


def to_fen(money: int | str | Decimal) -> int:
    """Convert a YAML money value (integer yuan, or a string such as "12.50") to integer fen.

    Floats are refused: 0.1 + 0.2 is not 0.3 in binary, and money must be exact.
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
    """Format integer fen as yuan with two decimals: ``8000`` -> ``"80.00 元"``."""
    sign = "-" if fen < 0 else ""
    whole, cents = divmod(abs(fen), 100)
    return f"{sign}{whole}.{cents:02d} 元"


def _round_fen(yuan: Decimal) -> int:
    """Exact yuan -> integer fen, rounded half up (the one rounding rule)."""
    return int((yuan * _HUNDRED).quantize(Decimal(1), rounding=ROUND_HALF_UP))


def _yuan(fen: int) -> Decimal:
    return Decimal(fen) / _HUNDRED


def _dec(value: Any) -> Decimal:
    """A schema-valid decimal or money value from a schedule (int or numeric string)."""
    return Decimal(str(value).strip())


def _num_text(value: Decimal) -> str:
    """A plain number without exponent or trailing zeros: 3, 120.5, 0.025."""
    text = format(value, "f")
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return text or "0"


def _yuan_text(yuan: Decimal) -> str:
    """Exact yuan as text: two decimals when fen-exact, every digit otherwise (0.025 元)."""
    if yuan == yuan.quantize(Decimal("0.01")):
        return format_fen(int(yuan * _HUNDRED))
    return f"{_num_text(yuan)} 元"


# --- results ---------------------------------------------------------------------------


@dataclass(frozen=True)
class AssessedLine:
    """One fee line that applies, with how its amount was reached."""

    id: str
    name: str
    kind: str
    #: the quantity or base value read from the form (None for a fixed line)
    quantity: Decimal | None
    unit: str | None
    #: the rate, band or percentage in words, e.g. "10.00 元/本，首 1 本免收"
    rate: str
    amount_fen: int
    basis: list[dict[str, Any]]
    note: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "name": self.name,
            "kind": self.kind,
            "quantity": None if self.quantity is None else _num_text(self.quantity),
            "unit": self.unit,
            "rate": self.rate,
            "amount_fen": self.amount_fen,
            "amount": format_fen(self.amount_fen),
            "basis": self.basis,
            "note": self.note,
        }


@dataclass(frozen=True)
class AppliedRelief:
    """An exemption or reduction that changed the assessment; ``amount_fen`` is negative (or 0)."""

    id: str
    name: str
    kind: Literal["exemption", "reduction"]
    amount_fen: int
    basis: list[dict[str, Any]]
    #: ids of the lines it changed
    lines: tuple[str, ...] = ()
    note: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "name": self.name,
            "kind": self.kind,
            "amount_fen": self.amount_fen,
            "amount": format_fen(self.amount_fen),
            "lines": list(self.lines),
            "basis": self.basis,
            "note": self.note,
        }


@dataclass(frozen=True)
class Assessment:
    """The itemised fee for one application: lines, reliefs and the exact total in fen."""

    schedule_id: str
    schedule_name: str
    lines: tuple[AssessedLine, ...]
    reliefs: tuple[AppliedRelief, ...]
    total_fen: int
    basis: list[dict[str, Any]]
    on: date | None = None

    def as_dict(self) -> dict[str, Any]:
        return {
            "schedule_id": self.schedule_id,
            "schedule_name": self.schedule_name,
            "on": self.on.isoformat() if self.on else None,
            "lines": [line.as_dict() for line in self.lines],
            "reliefs": [relief.as_dict() for relief in self.reliefs],
            "total_fen": self.total_fen,
            "total": format_fen(self.total_fen),
            "basis": self.basis,
        }


# --- assessment ------------------------------------------------------------------------


def _as_date(value: Any) -> date | None:
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    if isinstance(value, str):
        try:
            return date.fromisoformat(value)
        except ValueError:
            return None
    return None


def _in_force(effective: Any, on: date) -> bool:
    if not isinstance(effective, Mapping):
        return True
    start, end = _as_date(effective.get("from")), _as_date(effective.get("until"))
    return (start is None or start <= on) and (end is None or on <= end)


def _period_text(effective: Mapping[str, Any]) -> str:
    start, end = effective.get("from"), effective.get("until")
    return f"from {start} until {end}" if end else f"from {start} (open-ended)"


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


class _Reader:
    """Reads and checks the form values a schedule needs, with errors that name the field."""

    def __init__(self, schedule: Mapping[str, Any], data: Mapping[str, Any]) -> None:
        self.fields: Mapping[str, Any] = schedule.get("fields") or {}
        self.data = data

    def label(self, name: str) -> str:
        decl = self.fields.get(name)
        label = decl.get("label") if isinstance(decl, Mapping) else None
        return f"{name} ({label})" if label else name

    def type_of(self, name: str) -> str | None:
        decl = self.fields.get(name)
        kind = decl.get("type") if isinstance(decl, Mapping) else None
        return kind if isinstance(kind, str) else None

    def check_declared(self) -> None:
        """Required fields are present; choice fields hold one of their options."""
        for name, decl in self.fields.items():
            if not isinstance(decl, Mapping):
                continue
            value = conditions.lookup(self.data, name)
            absent = value is None or value == "" or value == [] or value == {}
            if absent:
                if decl.get("required"):
                    raise FeeDataError(f"{self.label(name)} is missing; the fee cannot be assessed without it")
                continue
            if decl.get("type") in CHOICE_TYPES and decl.get("options"):
                allowed = [str(o.get("value")) for o in decl["options"] if isinstance(o, Mapping)]
                values = value if isinstance(value, list) else [value]
                for v in values:
                    if str(v) not in allowed:
                        raise FeeDataError(
                            f"{self.label(name)} is {v!r}, which is not one of its options: {', '.join(allowed)}"
                        )

    def number(self, name: str, line: Mapping[str, Any]) -> Decimal:
        """A non-negative number from the data, as an exact Decimal."""
        what = f"line {line.get('id')!r} ({line.get('name')})"
        value = conditions.lookup(self.data, name)
        if value is None or value == "":
            raise FeeDataError(f"{self.label(name)} is missing; {what} needs it to compute the fee")
        if isinstance(value, bool):
            raise FeeDataError(f"{self.label(name)} must be a number, not {value!r}; {what} needs it")
        number: Decimal | None
        if isinstance(value, Decimal):
            number = value
        elif isinstance(value, int):
            number = Decimal(value)
        elif isinstance(value, float):
            number = Decimal(repr(value))
        elif isinstance(value, str) and _NUMBER.match(value.strip()):
            number = Decimal(value.strip())
        else:
            number = None
        if number is None or not number.is_finite():
            raise FeeDataError(f"{self.label(name)} must be a number, not {value!r}; {what} needs it")
        if number < 0:
            raise FeeDataError(f"{self.label(name)} must not be negative (got {_num_text(number)})")
        kind = self.type_of(name)
        if kind == "integer" and number != number.to_integral_value():
            raise FeeDataError(f"{self.label(name)} must be a whole number, not {_num_text(number)}")
        if kind == "money" and number != number.quantize(Decimal("0.01")):
            raise FeeDataError(
                f"{self.label(name)} is an amount in yuan with at most two decimals, not {_num_text(number)}"
            )
        return number


def _line_basis(schedule: Mapping[str, Any], line: Mapping[str, Any]) -> list[dict[str, Any]]:
    basis = line.get("basis") or schedule.get("basis") or []
    return [dict(b) for b in basis if isinstance(b, Mapping)]


def _clamp(fen: int, line: Mapping[str, Any]) -> tuple[int, str]:
    if line.get("minimum") is not None:
        low = to_fen(line["minimum"])
        if fen < low:
            return low, f"，低于最低收费，按 {format_fen(low)} 收取"
    if line.get("maximum") is not None:
        high = to_fen(line["maximum"])
        if fen > high:
            return high, f"，超过最高收费，按 {format_fen(high)} 收取"
    return fen, ""


def _band_charge(band: Mapping[str, Any], part: Decimal, unit: str) -> tuple[Decimal, str]:
    """The exact charge of one band on ``part`` of the value, and its description."""
    if "amount" in band:
        amount = _yuan(to_fen(band["amount"]))
        return amount, f"{_yuan_text(amount)}"
    if "rate" in band:
        rate = _yuan(to_fen(band["rate"]))
        charge = part * rate
        per = unit.strip() or "单位"
        return charge, f"{_num_text(part)}{unit} × {_yuan_text(rate)}/{per} = {_yuan_text(charge)}"
    percent = _dec(band["percent"])
    charge = part * percent / _HUNDRED
    return charge, f"{_num_text(part)}{unit} × {_num_text(percent)}% = {_yuan_text(charge)}"


def _tiered(line: Mapping[str, Any], value: Decimal, reader: _Reader, name: str) -> tuple[Decimal, str]:
    bands: Sequence[Mapping[str, Any]] = line["bands"]
    unit = f" {line['unit']}" if line.get("unit") else ""
    value_text = f"{_num_text(value)}{unit}"
    if line.get("mode") == "whole":
        lower: Decimal | None = None
        for i, band in enumerate(bands, 1):
            upper = band.get("up_to")
            if upper is None or value <= _dec(upper):
                span = _span_text(lower, None if upper is None else _dec(upper), unit)
                charge, how = _band_charge(band, value, unit)
                return charge, f"{value_text}，适用第 {i} 档（{span}）：{how}"
            lower = _dec(upper)
        raise FeeDataError(
            f"{reader.label(name)} is {value_text}, above the highest band of line {line.get('id')!r} "
            f"(up to {_num_text(lower or Decimal(0))}{unit}); check the value"
        )
    total = Decimal(0)
    parts: list[str] = []
    lower_bound = Decimal(0)
    for i, band in enumerate(bands):
        upper = band.get("up_to")
        upper_bound = None if upper is None else _dec(upper)
        if i > 0 and value <= lower_bound:
            break
        part = value - lower_bound if upper_bound is None else min(value, upper_bound) - lower_bound
        part = max(part, Decimal(0))
        charge, how = _band_charge(band, part, unit)
        total += charge
        span = _span_text(None if i == 0 else lower_bound, upper_bound, unit)
        parts.append(f"{span}：{how}" if "amount" in band else f"{span}部分 {how}")
        if upper_bound is None:
            break
        lower_bound = upper_bound
    else:
        if value > lower_bound:
            raise FeeDataError(
                f"{reader.label(name)} is {value_text}, above the highest band of line {line.get('id')!r} "
                f"(up to {_num_text(lower_bound)}{unit}); check the value"
            )
    return total, f"{value_text}，分段累计：" + "；".join(parts)


def _span_text(lower: Decimal | None, upper: Decimal | None, unit: str) -> str:
    if lower is None and upper is None:
        return "全部"
    if lower is None:
        return f"不超过 {_num_text(upper or Decimal(0))}{unit}"
    if upper is None:
        return f"超过 {_num_text(lower)}{unit}"
    return f"超过 {_num_text(lower)}{unit} 至 {_num_text(upper)}{unit}"


def _assess_line(schedule: Mapping[str, Any], line: Mapping[str, Any], reader: _Reader) -> AssessedLine:
    kind = line.get("kind")
    unit = line.get("unit")
    quantity: Decimal | None = None
    if kind == "fixed":
        fen = to_fen(line["amount"])
        rate = f"{format_fen(fen)}/{unit}" if unit else format_fen(fen)
    elif kind == "per_unit":
        quantity = reader.number(line["quantity"], line)
        rate_yuan = _yuan(to_fen(line["rate"]))
        free = Decimal(int(line.get("free_units") or 0))
        charged = max(quantity - free, Decimal(0))
        fen = _round_fen(charged * rate_yuan)
        rate = f"{_yuan_text(rate_yuan)}/{unit}"
        if free:
            rate += f"，首 {_num_text(free)} {unit}免收，计费 {_num_text(charged)} {unit}"
    elif kind == "tiered":
        quantity = reader.number(line["base"], line)
        exact, rate = _tiered(line, quantity, reader, line["base"])
        fen, clamp_text = _clamp(_round_fen(exact), line)
        rate += clamp_text
    elif kind == "percentage":
        quantity = reader.number(line["base"], line)
        percent = _dec(line["percent"])
        exact = quantity * percent / _HUNDRED
        fen, clamp_text = _clamp(_round_fen(exact), line)
        rate = f"{_yuan_text(quantity)} × {_num_text(percent)}% = {_yuan_text(exact)}{clamp_text}"
        unit = unit or "元"
    else:
        raise FeeDataError(f"line {line.get('id')!r} has unknown kind {kind!r}; expected one of {', '.join(KINDS)}")
    return AssessedLine(
        id=str(line["id"]),
        name=str(line["name"]),
        kind=str(kind),
        quantity=quantity,
        unit=None if unit is None else str(unit),
        rate=rate,
        amount_fen=fen,
        basis=_line_basis(schedule, line),
        note=line.get("note"),
    )


def _reduced(fen: int, reduction: Mapping[str, Any]) -> int:
    """What is still payable on a line of ``fen`` after one reduction (never more than ``fen``)."""
    if "pay_amount" in reduction:
        return min(fen, to_fen(reduction["pay_amount"]))
    percent = min(max(_dec(reduction.get("reduce_percent", 0)), Decimal(0)), _HUNDRED)
    return min(fen, _round_fen(_yuan(fen) * (_HUNDRED - percent) / _HUNDRED))


def assess(schedule: Mapping[str, Any], data: Mapping[str, Any], on: date | None = None) -> Assessment:
    """Assess a schema-valid fee schedule against application data on a date (default today).

    Raises ``FeeNotInForce`` when ``on`` is outside the schedule's effective period and
    ``FeeDataError`` (naming the field) when a value the fee depends on is missing or invalid.
    """
    on = on or date.today()
    effective = schedule.get("effective") or {}
    if not _in_force(effective, on):
        raise FeeNotInForce(
            f"fee schedule {schedule.get('id')!r} ({schedule.get('name')}) is in force "
            f"{_period_text(effective)}; {on.isoformat()} is outside that period"
        )
    reader = _Reader(schedule, data)
    with localcontext() as ctx:
        ctx.prec = 60
        reader.check_declared()
        lines = [
            _assess_line(schedule, line, reader)
            for line in schedule.get("lines") or ()
            if not line.get("when") or conditions.evaluate(line["when"], data)
        ]
        payable = {line.id: line.amount_fen for line in lines}
        order = [line.id for line in lines]

        def active(relief: Mapping[str, Any]) -> bool:
            return _in_force(relief.get("effective"), on) and conditions.evaluate(relief["when"], data)

        def targets(relief: Mapping[str, Any]) -> list[str]:
            wanted = relief.get("applies_to")
            return order if not wanted else [i for i in order if i in wanted]

        reliefs: list[AppliedRelief] = []
        exempted: set[str] = set()
        for exemption in schedule.get("exemptions") or ():
            if not active(exemption):
                continue
            hit = [i for i in targets(exemption) if i not in exempted]
            if not hit:
                continue
            amount = -sum(payable[i] for i in hit)
            for i in hit:
                payable[i] = 0
                exempted.add(i)
            reliefs.append(_relief(schedule, exemption, "exemption", amount, hit))

        reductions = [r for r in schedule.get("reductions") or () if active(r)]
        effect: dict[int, list[tuple[str, int]]] = {}
        for line_id in order:
            if line_id in exempted or payable[line_id] <= 0:
                continue
            best: tuple[int, int] | None = None  # (payable after, reduction index)
            for index, reduction in enumerate(reductions):
                if line_id in targets(reduction):
                    after = _reduced(payable[line_id], reduction)
                    if after < payable[line_id] and (best is None or after < best[0]):
                        best = (after, index)
            if best is not None:
                effect.setdefault(best[1], []).append((line_id, best[0] - payable[line_id]))
                payable[line_id] = best[0]
        for index, reduction in enumerate(reductions):
            if index in effect:
                changes = effect[index]
                reliefs.append(
                    _relief(schedule, reduction, "reduction", sum(c for _, c in changes), [i for i, _ in changes])
                )
    total = sum(line.amount_fen for line in lines) + sum(r.amount_fen for r in reliefs)
    return Assessment(
        schedule_id=str(schedule.get("id")),
        schedule_name=str(schedule.get("name")),
        lines=tuple(lines),
        reliefs=tuple(reliefs),
        total_fen=total,
        basis=[dict(b) for b in schedule.get("basis") or () if isinstance(b, Mapping)],
        on=on,
    )


def _relief(
    schedule: Mapping[str, Any],
    relief: Mapping[str, Any],
    kind: Literal["exemption", "reduction"],
    amount: int,
    lines: list[str],
) -> AppliedRelief:
    return AppliedRelief(
        id=str(relief["id"]),
        name=str(relief["name"]),
        kind=kind,
        amount_fen=amount,
        basis=[dict(b) for b in relief.get("basis") or schedule.get("basis") or () if isinstance(b, Mapping)],
        lines=tuple(lines),
        note=relief.get("note"),
    )


# --- rendering -------------------------------------------------------------------------


def _width(text: str) -> int:
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def _row(left: str, right: str, width: int = 78) -> str:
    gap = max(width - _width(left) - _width(right), 2)
    return f"{left}{' ' * gap}{right}"


def _basis_text(basis: Sequence[Mapping[str, Any]]) -> str:
    parts = []
    for ref in basis:
        law, article = str(ref.get("law", "")), str(ref.get("article", ""))
        parts.append(law if article in ("", "全文") else f"{law} {article}")
    return "；".join(parts)


def render_assessment(a: Assessment) -> str:
    """Itemised text for the command line: lines with quantity, rate, amount and basis; reliefs; total."""
    out = [f"收费标准：{a.schedule_name}（{a.schedule_id}）" + (f"  核定日期：{a.on.isoformat()}" if a.on else "")]
    if a.basis:
        out.append(f"收费依据：{_basis_text(a.basis)}")
    out.append("收费项目：")
    if not a.lines:
        out.append("  （无适用的收费项目）")
    for n, line in enumerate(a.lines, 1):
        out.append(_row(f"  {n}. {line.name}", format_fen(line.amount_fen)))
        if line.quantity is not None and line.kind == "per_unit":
            out.append(f"     数量：{_num_text(line.quantity)} {line.unit or ''}".rstrip())
        out.append(f"     标准：{line.rate}")
        if line.basis:
            out.append(f"     依据：{_basis_text(line.basis)}")
        if line.note:
            out.append(f"     备注：{line.note}")
    if a.reliefs:
        out.append("减免：")
        for relief in a.reliefs:
            word = "免收" if relief.kind == "exemption" else "减收"
            out.append(_row(f"  - {word}：{relief.name}", format_fen(relief.amount_fen)))
            names = {line.id: line.name for line in a.lines}
            out.append(f"     适用项目：{'、'.join(names.get(i, i) for i in relief.lines)}")
            if relief.basis:
                out.append(f"     依据：{_basis_text(relief.basis)}")
    out.append(_row("合计：", format_fen(a.total_fen)))
    return "\n".join(out) + "\n"


def _band_standard(band: Mapping[str, Any], unit: str) -> str:
    if "amount" in band:
        return format_fen(to_fen(band["amount"]))
    if "rate" in band:
        return f"{format_fen(to_fen(band['rate']))}/{unit.strip() or '单位'}"
    return f"{_num_text(_dec(band['percent']))}%"


def _line_standard(line: Mapping[str, Any], words: Mapping[str, str]) -> str:
    """The published standard of one line in words (no application data needed)."""
    kind = line.get("kind")
    unit = str(line.get("unit") or "")
    if kind == "fixed":
        fen = format_fen(to_fen(line["amount"]))
        return f"每{unit} {fen}" if unit else fen
    if kind == "per_unit":
        text = f"每{unit} {format_fen(to_fen(line['rate']))}"
        if line.get("free_units"):
            text += f"，首 {line['free_units']} {unit}免收"
        return text + f"，按{words.get(line['quantity'], line['quantity'])}计"
    if kind == "tiered":
        spaced = f" {unit}" if unit else ""
        base = words.get(line["base"], line["base"])
        parts = []
        lower: Decimal | None = None
        for band in line["bands"]:
            upper = None if band.get("up_to") is None else _dec(band["up_to"])
            span = _span_text(lower, upper, spaced)
            tail = "的部分" if line.get("mode") != "whole" and lower is not None and "amount" not in band else ""
            parts.append(f"{span}{tail}：{_band_standard(band, unit)}")
            lower = upper
        how = "分段累计" if line.get("mode") != "whole" else "所在档次"
        text = f"按{base}{how}——" + "；".join(parts)
    elif kind == "percentage":
        text = f"按{words.get(line['base'], line['base'])}的 {_num_text(_dec(line['percent']))}%"
    else:
        return ""
    if line.get("minimum") is not None:
        text += f"，最低 {format_fen(to_fen(line['minimum']))}"
    if line.get("maximum") is not None:
        text += f"，最高 {format_fen(to_fen(line['maximum']))}"
    return text


def describe_schedule(schedule: Mapping[str, Any], labels: Mapping[str, str] | None = None) -> list[str]:
    """The schedule in words for guides and one-time notices: one string per line and relief.

    ``labels`` (field -> label, ``=value`` -> option label, as for ``conditions.describe``)
    usually come from the item's form; the schedule's own ``fields`` fill any gaps.
    """
    words = {**field_labels(schedule), **(labels or {})}
    names = {str(line.get("id")): str(line.get("name")) for line in schedule.get("lines") or ()}
    out: list[str] = []
    for line in schedule.get("lines") or ():
        text = f"{line.get('name')}：{_line_standard(line, words)}"
        if line.get("when"):
            text += f"（{conditions.describe(line['when'], words)}时收取）"
        if line.get("basis"):
            text += f"；依据：{_basis_text(line['basis'])}"
        out.append(text)
    for section, word in (("exemptions", "免收"), ("reductions", "减收")):
        for relief in schedule.get(section) or ():
            scope = "、".join(names.get(i, i) for i in relief.get("applies_to") or ()) or "全部收费项目"
            if "reduce_percent" in relief:
                effect = f"{scope}减收 {_num_text(_dec(relief['reduce_percent']))}%"
            elif "pay_amount" in relief:
                effect = f"{scope}减按 {format_fen(to_fen(relief['pay_amount']))}收取"
            else:
                effect = f"免收{scope}"
            text = f"{word}：{relief.get('name')}——{conditions.describe(relief['when'], words)}时，{effect}"
            effective = relief.get("effective")
            if isinstance(effective, Mapping):
                until = f"至 {effective['until']}" if effective.get("until") else "起"
                text += f"（{effective.get('from')} {until}）"
            if relief.get("basis"):
                text += f"；依据：{_basis_text(relief['basis'])}"
            out.append(text)
    if schedule.get("basis"):
        out.append(f"收费依据：{_basis_text(schedule['basis'])}")
    return out


# --- fields a schedule reads -----------------------------------------------------------


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


# --- semantic checks -------------------------------------------------------------------


def _suggest(word: str, choices: Sequence[str]) -> str:
    match = difflib.get_close_matches(word, list(choices), n=1, cutoff=0.6)
    return f"; did you mean {match[0]!r}?" if match else ""


def _decimal_or_none(value: Any) -> Decimal | None:
    if isinstance(value, bool) or value is None:
        return None
    try:
        number = Decimal(str(value).strip())
    except (InvalidOperation, ValueError):
        return None
    return number if number.is_finite() else None


def _money_or_none(value: Any) -> int | None:
    try:
        return to_fen(value)
    except (TypeError, ValueError):
        return None


def _conditions_with_paths(schedule: Mapping[str, Any]) -> Iterator[tuple[Path, Mapping[str, Any]]]:
    """Every leaf comparison ({field: ..., op: value}) with its path."""

    def walk(cond: Any, path: Path) -> Iterator[tuple[Path, Mapping[str, Any]]]:
        if not isinstance(cond, Mapping):
            return
        for key in ("all", "any"):
            if isinstance(cond.get(key), list):
                for i, sub in enumerate(cond[key]):
                    yield from walk(sub, (*path, key, i))
        if "not" in cond:
            yield from walk(cond["not"], (*path, "not"))
        if isinstance(cond.get("field"), str):
            yield path, cond

    for section in ("lines", "exemptions", "reductions"):
        entries = schedule.get(section)
        for i, entry in enumerate(entries if isinstance(entries, list) else ()):
            if isinstance(entry, Mapping) and "when" in entry:
                yield from walk(entry["when"], (section, i, "when"))


def check_fee_schedule(file: str, data: Mapping[str, Any]) -> list[Finding]:
    """Semantic checks beyond the schema; never raises on schema-valid input.

    Kinds: ``fee-id`` (id differs from the file name), ``fee-dates`` (from after until, or
    not a real date), ``duplicate-id``, ``unknown-line`` (applies_to names no line),
    ``fee-tiers`` (bands not strictly increasing, or a middle band without up_to),
    ``fee-range`` (minimum above maximum, a reduction above 100 %), ``unknown-field``
    (a field read but not declared under ``fields``), ``field-type`` (a quantity read
    from a non-numeric field), ``unknown-value`` (a condition compares with a value the
    field's options do not have).
    """
    findings: list[Finding] = []

    def add(path: Path, kind: str, message: str, on_key: bool = False) -> None:
        findings.append(Finding(file, path, kind, message, on_key))

    if not isinstance(data, Mapping):
        return findings

    # id equals the file name
    stem = PurePath(file).name
    for suffix in (".yaml", ".yml"):
        stem = stem.removesuffix(suffix)
    if isinstance(data.get("id"), str) and data["id"] != stem:
        add(
            ("id",),
            "fee-id",
            f"schedule id {data['id']!r} must equal the file name {stem!r}: "
            f"rename the file to {data['id']}.yaml or set id: {stem}",
        )

    # effective periods
    def check_period(effective: Any, path: Path) -> None:
        if not isinstance(effective, Mapping):
            return
        dates: dict[str, date | None] = {}
        for key in ("from", "until"):
            if effective.get(key) is None:
                continue
            dates[key] = _as_date(effective[key])
            if dates[key] is None:
                add((*path, key), "fee-dates", f"{effective[key]!r} is not a real date; write YYYY-MM-DD")
        start, end = dates.get("from"), dates.get("until")
        if start and end and start > end:
            add(
                (*path, "until"),
                "fee-dates",
                f"until {end.isoformat()} is before from {start.isoformat()}; swap them or correct the dates",
            )

    check_period(data.get("effective"), ("effective",))

    # lines
    raw_lines = data.get("lines")
    lines: list[Any] = raw_lines if isinstance(raw_lines, list) else []
    line_ids: list[str] = []
    seen: dict[str, int] = {}
    for i, line in enumerate(lines):
        if not isinstance(line, Mapping):
            continue
        line_id = line.get("id")
        if isinstance(line_id, str):
            if line_id in seen:
                add(
                    ("lines", i, "id"),
                    "duplicate-id",
                    f"line id {line_id!r} is already used by line {seen[line_id] + 1}; give each line its own id",
                )
            else:
                seen[line_id] = i
                line_ids.append(line_id)
        low, high = _money_or_none(line.get("minimum")), _money_or_none(line.get("maximum"))
        if low is not None and high is not None and low > high:
            add(
                ("lines", i, "maximum"),
                "fee-range",
                f"maximum {format_fen(high)} is below minimum {format_fen(low)}; "
                "the maximum must be at least the minimum",
            )
        bands = line.get("bands")
        if line.get("kind") == "tiered" and isinstance(bands, list):
            previous: Decimal | None = None
            for j, band in enumerate(bands):
                if not isinstance(band, Mapping):
                    continue
                upper = _decimal_or_none(band.get("up_to"))
                if band.get("up_to") is None:
                    if j < len(bands) - 1:
                        add(
                            ("lines", i, "bands", j),
                            "fee-tiers",
                            f"band {j + 1} has no up_to but is not the last band; only the last band may be "
                            "open-ended — add up_to or move it to the end",
                        )
                    continue
                if upper is None:
                    continue
                if previous is not None and upper <= previous:
                    add(
                        ("lines", i, "bands", j, "up_to"),
                        "fee-tiers",
                        f"band {j + 1} up_to {_num_text(upper)} must be greater than the previous band's "
                        f"{_num_text(previous)}; list bands in strictly increasing order",
                    )
                previous = upper if previous is None or upper > previous else previous

    # reliefs
    relief_seen: dict[str, tuple[str, int]] = {}
    for section in ("exemptions", "reductions"):
        reliefs = data.get(section)
        for i, relief in enumerate(reliefs if isinstance(reliefs, list) else ()):
            if not isinstance(relief, Mapping):
                continue
            relief_id = relief.get("id")
            if isinstance(relief_id, str):
                if relief_id in relief_seen:
                    other, n = relief_seen[relief_id]
                    add(
                        (section, i, "id"),
                        "duplicate-id",
                        f"id {relief_id!r} is already used in {other} "
                        f"entry {n + 1}; give each exemption and reduction "
                        "its own id",
                    )
                else:
                    relief_seen[relief_id] = (section, i)
            applies = relief.get("applies_to")
            for j, target in enumerate(applies if isinstance(applies, list) else ()):
                if isinstance(target, str) and target not in line_ids:
                    add(
                        (section, i, "applies_to", j),
                        "unknown-line",
                        f"applies_to names {target!r}, which is not a line of this schedule"
                        f"{_suggest(target, line_ids) or '; lines: ' + ', '.join(line_ids)}",
                    )
            check_period(relief.get("effective"), (section, i, "effective"))
            percent = _decimal_or_none(relief.get("reduce_percent"))
            if percent is not None and percent > 100:
                add(
                    (section, i, "reduce_percent"),
                    "fee-range",
                    f"reduce_percent {_num_text(percent)} is more than 100; "
                    "write 50 to halve, 100 to take all off (or use an exemption)",
                )

    # fields
    raw_fields = data.get("fields")
    declared: Mapping[str, Any] = raw_fields if isinstance(raw_fields, Mapping) else {}
    names = [str(n) for n in declared]
    for path, name in referenced_fields(data):
        if name not in declared:
            add(
                path,
                "unknown-field",
                f"field {name!r} is read here but not declared under fields:; declare it with its label and "
                f"type so item forms can provide it{_suggest(name, names)}",
            )
            continue
        decl = declared[name]
        kind = decl.get("type") if isinstance(decl, Mapping) else None
        if path[-1] in ("quantity", "base") and isinstance(kind, str):
            line = lines[path[1]] if isinstance(path[1], int) else {}
            percentage = isinstance(line, Mapping) and line.get("kind") == "percentage"
            wanted = ("money",) if percentage else NUMERIC_TYPES
            if kind not in wanted:
                add(
                    path,
                    "field-type",
                    f"field {name!r} is declared as {kind} but this line computes with it; "
                    f"declare it as {' or '.join(wanted)}",
                )
    for path, cond in _conditions_with_paths(data):
        decl = declared.get(cond["field"])
        if not isinstance(decl, Mapping):
            continue
        options = decl.get("options")
        if decl.get("type") in CHOICE_TYPES and isinstance(options, list):
            allowed = [str(o.get("value")) for o in options if isinstance(o, Mapping)]
            for op in ("eq", "ne", "in"):
                if op not in cond:
                    continue
                values = cond[op] if isinstance(cond[op], list) else [cond[op]]
                for j, value in enumerate(values):
                    if str(value) not in allowed:
                        where = (*path, op, j) if isinstance(cond[op], list) else (*path, op)
                        add(
                            where,
                            "unknown-value",
                            f"{value!r} is not an option of {cond['field']!r}; options: {', '.join(allowed)}"
                            f"{_suggest(str(value), allowed)}",
                        )
        elif decl.get("type") == "boolean":
            for op in ("eq", "ne"):
                if op in cond and not isinstance(cond[op], bool):
                    add(
                        (*path, op),
                        "unknown-value",
                        f"{cond['field']!r} is a yes/no field; compare it with true or false, not {cond[op]!r}",
                    )
    return findings
